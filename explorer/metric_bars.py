"""One small pyqtgraph bar chart per metric: the three families side by side, real faces' figure as a line."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

FAMILIES = ("vae", "gan", "diffusion")
LABELS = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}
COLOURS = {"vae": "#4c78a8", "gan": "#e45756", "diffusion": "#54a24b"}


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    better: str  # "higher" or "lower"
    subtitle: str  # what the figure stands for, and which way is better
    tip: str
    reference: str | None = None  # the real-vs-real figure drawn as a dashed line
    scale: float = 1.0  # shown value = figure * scale
    unit: str = ""
    log: bool = False


METRICS = (
    Metric("fd", "Fréchet distance", "lower", "overall · lower is better",
           "How far the model's faces are from real ones, all things together (0 = indistinguishable). The dashed "
           "line is two sets of real faces: the best any model can do with this many samples.", "fd_real"),
    Metric("precision", "Precision", "higher", "realism · higher is better",
           "The share of the model's faces that fall among real faces. The dashed line: real faces against real.",
           "precision_real"),
    Metric("recall", "Recall", "higher", "variety · higher is better",
           "The share of real faces that the model's faces reach: low when it makes only some kinds of face.",
           "recall_real"),
    Metric("density", "Density", "near 1", "crowding · about 1 is real",
           "How crowded real faces are around the model's faces (about 1 for real faces; above 1: the model "
           "keeps to the most typical faces).", "density_real"),
    Metric("coverage", "Coverage", "higher", "variety · higher is better",
           "The share of real faces that have one of the model's faces close by; robust to stray faces.",
           "coverage_real"),
    Metric("ppl", "Path length", "lower", "smoothness · lower is smoother",
           "How much the face changes for a tiny step along a morph between two random faces. Lower: smoother."),
    Metric("seconds_per_image", "Time per face", "lower", "speed · lower is faster",
           "Milliseconds to draw one face on this computer (diffusion: 50 DDIM steps). Log scale.",
           scale=1000.0, unit=" ms", log=True),
)


def _fmt(value: float, unit: str) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    if abs(value) >= 10:
        return f"{value:.1f}{unit}"
    return f"{value:.2f}{unit}"


class MetricChart(pg.PlotWidget):
    def __init__(self, metric: Metric):
        super().__init__()
        # Short titles with the direction underneath: the charts stay narrow enough for four in a row.
        self.setTitle(f"{metric.title}<br><span style='color:#666'>{metric.subtitle}</span>", size="9pt")
        # Not `self.metric`: that would hide QPaintDevice.metric(), which Qt calls when fonts change (a crash).
        self.spec = metric
        self.setToolTip(metric.tip)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumSize(150, 150)
        self.getAxis("bottom").setTicks([[(i, LABELS[f]) for i, f in enumerate(FAMILIES)]])
        self.getAxis("left").enableAutoSIPrefix(False)
        self.showGrid(y=True, alpha=0.15)
        self.values: dict[str, float] = {}
        self.reference_value: float | None = None
        self._items: list = []

    def set_figures(self, figures: dict[str, dict]) -> None:
        """figures: family -> evaluate results; families without figures get no bar."""
        for item in self._items:
            self.removeItem(item)
        self._items = []
        self.values = {f: float(figures[f][self.spec.key]) * self.spec.scale
                       for f in FAMILIES if f in figures and self.spec.key in figures[f]}
        top = 0.0
        # Log bars stand on a baseline a third below the smallest value, so every bar has some height.
        bottom = math.log10(min(self.values.values()) / 3) if self.spec.log and self.values else 0.0
        for i, family in enumerate(FAMILIES):
            if family not in self.values:
                continue
            value = self.values[family]
            shown = math.log10(max(value, 1e-6)) if self.spec.log else value
            bar = pg.BarGraphItem(x=[i], height=[shown - bottom], y0=[bottom], width=0.6,
                                  brush=COLOURS[family], pen=pg.mkPen(None))
            label = pg.TextItem(_fmt(value, self.spec.unit), color="k", anchor=(0.5, 1.0))
            label.setPos(i, shown)
            self._items += [bar, label]
            top = max(top, shown)
        refs = [float(figures[f][self.spec.reference]) for f in FAMILIES
                if self.spec.reference and f in figures and self.spec.reference in figures[f]]
        self.reference_value = sum(refs) / len(refs) if refs else None
        if self.reference_value is not None:
            # The line's label goes over the bar whose top is farthest from the line, so it never covers a
            # bar's value; a pale backing keeps it legible where it crosses a bar.
            shown_ref = math.log10(max(self.reference_value, 1e-6)) if self.spec.log else self.reference_value
            tops = {i: (math.log10(max(v, 1e-6)) if self.spec.log else v)
                    for i, f in enumerate(FAMILIES) if (v := self.values.get(f)) is not None}
            slot = max(tops, key=lambda i: abs(tops[i] - shown_ref)) if tops else len(FAMILIES) - 1
            line = pg.InfiniteLine(pos=self.reference_value, angle=0,
                                   pen=pg.mkPen("#555555", width=1.5, style=Qt.PenStyle.DashLine),
                                   label="real faces",
                                   labelOpts={"position": (slot + 0.6) / (len(FAMILIES) + 0.2), "color": "#555555",
                                              "fill": pg.mkBrush(255, 255, 255, 210),
                                              "anchors": [(0.5, 1), (0.5, 1)]})
            self._items.append(line)
            top = max(top, self.reference_value)
        for item in self._items:
            self.addItem(item)
        if self.spec.log:
            # Bars are drawn on log10 of the value (diffusion is hundreds of times slower than the others);
            # the axis says the plain values, "1 ms", "10 ms", … rather than pyqtgraph's "10^1".
            ticks = [(k, f"{10.0**k:,g}{self.spec.unit}") for k in range(-2, 7)]
            self.getAxis("left").setTicks([ticks, []])
        self.setXRange(-0.6, len(FAMILIES) - 0.4, padding=0)
        if self.values and not self.spec.log:
            self.setYRange(0, top * 1.25 if top > 0 else 1, padding=0)
        elif self.values:
            self.setYRange(bottom, top + 0.5, padding=0)


class MetricBars(QWidget):
    """All the metric charts in a grid."""

    def __init__(self, columns: int = 4, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.charts = {m.key: MetricChart(m) for m in METRICS}
        for i, chart in enumerate(self.charts.values()):
            layout.addWidget(chart, i // columns, i % columns)

    def set_figures(self, figures: dict[str, dict]) -> None:
        for chart in self.charts.values():
            chart.set_figures(figures)
