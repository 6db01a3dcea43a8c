"""Live loss curves with pyqtgraph: each loss raw (faint) and smoothed (bold), in the plots of the family's view
(explorer/family_views: which losses share a plot, their names, which are not drawn)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from explorer.family_views import FamilyView, LossPlot, view_of
from models.family import families

ALL_LOSSES = LossPlot("Losses", (), "loss", "What the model reports at every step.")  # a view that groups none
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
# Thick antialiased lines are what Qt draws slowest: 2,000 points of a 2.5 px smoothed curve took 37 ms to paint
# (370 ms for 20,000), long enough to freeze the window during a training run. The smoothed curve is therefore
# averaged down to at most this many points (it is smooth, so nothing visible is lost) and drawn without
# antialiasing; the thin raw curve keeps it (Qt's fast path) and is thinned by pyqtgraph's peak downsampling.
SMOOTH_POINTS = 400
# The axes (tick labels, grid) cost more to paint than the curves. They are cached as pixmaps, and their ranges
# change in round strides rather than with every step (see LossPlots._manage), so they are painted again only now
# and then: both GAN plots then paint in about 5 ms instead of 24 ms.
NICE = (1, 1.5, 2, 3, 4, 5, 6, 8, 10)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 4, 5, 6, 8 times a power of ten that is at least `value` (at least 10)."""
    value = max(float(value), 10.0)
    scale = 10 ** np.floor(np.log10(value))
    return float(next(m * scale for m in NICE if value <= m * scale * (1 + 1e-9)))


def binned(x: np.ndarray, y: np.ndarray, points: int = SMOOTH_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) averaged in `points` consecutive bins of equal count (unchanged when already that short)."""
    if len(x) <= points:
        return x, y
    edges = np.linspace(0, len(x), points + 1).astype(int)
    counts = np.diff(edges)
    return (np.add.reduceat(x.astype(float), edges[:-1]) / counts, np.add.reduceat(y, edges[:-1]) / counts)


class LossPlots(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.family = ""
        self.view: FamilyView | None = None
        self.plots: list[pg.PlotWidget] = []
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.steps: dict[str, list[int]] = {}
        self.values: dict[str, list[float]] = {}
        self.smoothed: dict[str, list[float]] = {}
        self.smoothing = 0.8
        self._ranges: dict[tuple[int, int], tuple[float, float]] = {}  # (plot, axis) -> the range last set here
        self._plot_keys: dict[int, list[str]] = {}  # plot -> the losses drawn in it
        self.setup(families()[0].name)  # the chooser's first family: the plots the tab opens with

    def setup(self, family: str) -> None:
        """Empty plots for a family's losses, as its view groups them (a family without a view: one plot)."""
        for plot in self.plots:
            self.layout_.removeWidget(plot)
            plot.deleteLater()
        self.family, self.plots, self.curves, self._ranges, self._plot_keys = family, [], {}, {}, {}
        self.view = view_of(family)
        self.steps, self.values, self.smoothed = {}, {}, {}
        for group in self.view.loss_plots or (ALL_LOSSES,):
            plot = pg.PlotWidget(title=group.title)
            plot.setToolTip(group.tip)
            plot.setLabel("bottom", "step")
            plot.setLabel("left", group.axis)
            plot.getAxis("left").enableAutoSIPrefix(False)  # "score (x0.001)" puzzles more than it helps
            for side in ("left", "bottom"):
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.addLegend(offset=(-10, 10), brush=(255, 255, 255, 90))
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMinimumSize(220, 140)
            self.layout_.addWidget(plot, 1)
            self.plots.append(plot)
            for key in group.keys:
                self._add_curve(plot, key)

    def _add_curve(self, plot: pg.PlotWidget, key: str) -> None:
        colour = COLOURS[len(self.curves) % len(COLOURS)]
        raw = plot.plot([], [], pen=pg.mkPen(pg.mkColor(colour).lighter(170), width=1))
        raw.setDownsampling(auto=True, method="peak")
        raw.setClipToView(True)
        smoothed = plot.plot([], [], pen=pg.mkPen(colour, width=2.5), name=self.view.loss_names.get(key, key), antialias=False)
        self.curves[key] = (raw, smoothed)
        self._plot_keys.setdefault(id(plot), []).append(key)
        self.steps[key], self.values[key], self.smoothed[key] = [], [], []

    def add(self, step: int, losses: dict[str, float], redraw: bool = True) -> None:
        for key, value in losses.items():
            if key not in self.curves:
                if key in self.view.hidden_losses:
                    continue
                self._add_curve(self.plots[0], key)
            self.steps[key].append(step)
            self.values[key].append(float(value))
            # an exponential moving average with start-up bias correction (TensorBoard's smoothing),
            # one point at a time: cheap however long the run
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
                smoothed.setData(*binned(x, np.asarray(self.smoothed[key])))
        last = max((steps[-1] for steps in self.steps.values() if steps), default=None)
        if last is None:
            return
        for plot in self.plots:
            keys = [k for k in self._plot_keys.get(id(plot), ()) if self.values.get(k)]
            values = np.concatenate([self.values[k] for k in keys]) if keys else np.empty(0)
            finite = values[np.isfinite(values)]
            self._manage(plot, 0, (0.0, nice_ceiling(last)))
            if finite.size:
                self._manage(plot, 1, (float(finite.min()), float(finite.max())), snap=True)

    def _manage(self, plot: pg.PlotWidget, axis: int, wanted: tuple[float, float], snap: bool = False) -> None:
        """Set a plot's range on one axis (0 = steps, 1 = values) only when the data needs it: the values' range
        is widened to round numbers when the data leaves it, and narrowed when the data fills less than 40 % of it,
        so the axis is not painted again at every redraw. Left alone once the person zooms or pans that plot
        themselves (its "A" button, which turns auto-range back on, hands it back)."""
        box = plot.getViewBox()
        key = (id(plot), axis)
        ours = self._ranges.get(key)
        if not (box.autoRangeEnabled()[axis] or (ours is not None and np.allclose(box.viewRange()[axis], ours))):
            return
        low, high = wanted
        if snap:
            if ours is not None and ours[0] <= low and high <= ours[1] and high - low >= 0.4 * (ours[1] - ours[0]):
                return
            span = high - low if high > low else max(abs(high), 1.0) * 0.1
            unit = 10 ** np.floor(np.log10(span)) / 2
            low, high = float(np.floor(low / unit) * unit), float(np.ceil(high / unit) * unit)
            if high <= low:
                high = low + unit
        elif ours is not None and np.allclose(ours, wanted):
            return
        if axis == 0:
            plot.setXRange(low, high, padding=0)
        else:
            plot.setYRange(low, high, padding=0.02)
        self._ranges[key] = tuple(box.viewRange()[axis])

    def point_count(self, key: str) -> int:
        return len(self.values.get(key, []))
