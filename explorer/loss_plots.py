"""Live loss curves with pyqtgraph: each loss raw (faint) and smoothed (bold), grouped per family."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

# (plot title, loss keys, y-axis label, tooltip) per family; keys a family reports that are not listed go to its first plot
GROUPS = {
    "vae": (("Reconstruction error", ("reconstruction",), "error",
             "How far the redrawn faces are from the real ones: should fall."),
            ("KL divergence", ("kl",), "nats", "How far the codes stray from the bell curve: rises, then settles.")),
    "gan": (("Losses", ("d_loss", "g_loss"), "loss",
             "Discriminator against generator: a steady tug-of-war is healthy."),
            ("D(real) and D(fake)", ("d_real", "d_fake"), "score",
             "The discriminator's verdict on real and made-up faces.")),
    "diffusion": (("Noise-prediction error", ("loss",), "error", "How well the model guesses the added noise."),),
}
NAMES = {"reconstruction": "reconstruction", "kl": "KL", "d_loss": "discriminator", "g_loss": "generator",
         "d_real": "D(real)", "d_fake": "D(fake)", "loss": "noise error"}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
SKIP = {"loss"}  # the VAE's and GAN's total is the sum of what is shown


def smooth(values: np.ndarray, weight: float = 0.8) -> np.ndarray:
    """Exponential moving average with start-up bias correction (TensorBoard's smoothing)."""
    out = np.empty(len(values))
    acc = 0.0
    for i, v in enumerate(values):
        acc = weight * acc + (1 - weight) * v
        out[i] = acc / (1 - weight ** (i + 1))
    return out


class LossPlots(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.family = ""
        self.plots: list[pg.PlotWidget] = []
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.steps: dict[str, list[int]] = {}
        self.values: dict[str, list[float]] = {}
        self.smoothed: dict[str, list[float]] = {}
        self.smoothing = 0.8
        self.setup("vae")

    def setup(self, family: str) -> None:
        """Empty plots for a family's losses."""
        for plot in self.plots:
            self.layout_.removeWidget(plot)
            plot.deleteLater()
        self.family, self.plots, self.curves = family, [], {}
        self.steps, self.values, self.smoothed = {}, {}, {}
        for title, keys, unit, tip in GROUPS[family]:
            plot = pg.PlotWidget(title=title)
            plot.setToolTip(tip)
            plot.setLabel("bottom", "step")
            plot.setLabel("left", unit)
            plot.getAxis("left").enableAutoSIPrefix(False)  # "score (x0.001)" puzzles more than it helps
            plot.addLegend(offset=(-10, 10), brush=(255, 255, 255, 90))
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMinimumSize(220, 140)
            self.layout_.addWidget(plot, 1)
            self.plots.append(plot)
            for key in keys:
                self._add_curve(plot, key)

    def _add_curve(self, plot: pg.PlotWidget, key: str) -> None:
        colour = COLOURS[len(self.curves) % len(COLOURS)]
        raw = plot.plot([], [], pen=pg.mkPen(pg.mkColor(colour).lighter(170), width=1))
        smoothed = plot.plot([], [], pen=pg.mkPen(colour, width=2.5), name=NAMES.get(key, key))
        self.curves[key] = (raw, smoothed)
        self.steps[key], self.values[key], self.smoothed[key] = [], [], []

    def add(self, step: int, losses: dict[str, float], redraw: bool = True) -> None:
        for key, value in losses.items():
            if key not in self.curves:
                if key in SKIP and self.family != "diffusion":
                    continue
                self._add_curve(self.plots[0], key)
            self.steps[key].append(step)
            self.values[key].append(float(value))
            # the same EMA as smooth(), one point at a time: cheap however long the run
            w, n = self.smoothing, len(self.values[key])
            previous = self.smoothed[key][-1] * (1 - w ** (n - 1)) if n > 1 else 0.0
            self.smoothed[key].append((w * previous + (1 - w) * float(value)) / (1 - w ** n))
        if redraw:
            self.redraw()

    def redraw(self) -> None:
        for key, (raw, smoothed) in self.curves.items():
            if self.steps[key]:
                x = np.asarray(self.steps[key])
                raw.setData(x, np.asarray(self.values[key]))
                smoothed.setData(x, np.asarray(self.smoothed[key]))

    def point_count(self, key: str) -> int:
        return len(self.values.get(key, []))
