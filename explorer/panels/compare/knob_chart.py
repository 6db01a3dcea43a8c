"""The "quality for variety" chart: precision against recall, one line per family with a knob (guidance scale,
truncation ψ, sampling temperature), each point labelled with the knob's value, real faces as a star; its key
above it and what it says under it."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from explorer import texts
from explorer.family_views import Figures, view_of
from explorer.panels.compare.knob_reading import knob_of, knob_reading, point_label, real_point
from explorer.widgets.chart_labels import Box, Frame
from explorer.widgets.metric_bars import bar_families

REAL_COLOUR = "#222222"
TIP = texts.COMPARE_KNOBS


class KnobChart(pg.PlotWidget):
    """Precision (y) against recall (x); `curves` holds what is drawn (family -> its knob_curve)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumSize(260, 300)
        self.setToolTip(TIP)
        self.showGrid(x=True, y=True, alpha=0.15)
        self._axis_labels()
        for side in ("left", "bottom"):
            self.getAxis(side).enableAutoSIPrefix(False)
        self.setXRange(0, 1, padding=0)
        self.setYRange(0, 1, padding=0)
        self.curves: dict[str, dict] = {}
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.labels: dict[str, list[pg.TextItem]] = {}
        self.real: tuple[float, float] | None = None  # (recall, precision) of real faces
        self.message: pg.TextItem | None = None
        self.real_label: pg.TextItem | None = None
        self.x_span, self.y_span = (0.0, 1.0), (0.0, 1.0)
        self._items: list = []
        self.getViewBox().sigResized.connect(lambda _: self._place_labels())

    def _axis_labels(self) -> None:
        """The axes' names in the chart's own type size (pyqtgraph's are smaller, unreadable on a projector)."""
        size = f"{self.font().pointSizeF():.0f}pt"
        self.setLabel("bottom", "recall: variety →", **{"font-size": size})
        self.setLabel("left", "precision: realism →", **{"font-size": size})

    def sizeHint(self) -> QSize:
        return QSize(420, 340)

    def wheelEvent(self, event) -> None:
        event.ignore()  # the tab scrolls, the chart does not zoom

    def set_figures(self, figures: dict[str, Figures], empty: str = "") -> None:
        """figures: family -> evaluate figures; those with a knob_curve get a line. `empty`: said in the chart when
        none has one."""
        for item in self._items:
            self.removeItem(item)
        self._items, self.lines, self.labels, self.message, self.real_label = [], {}, {}, None, None
        self.curves = {f: figures[f]["knob_curve"] for f in bar_families(figures)
                       if f in figures and isinstance(figures[f].get("knob_curve"), dict)}
        for family, curve in self.curves.items():
            colour = view_of(family).colour
            points = sorted(zip(curve["values"], curve["recall"], curve["precision"]))
            line = pg.PlotDataItem([p[1] for p in points], [p[2] for p in points],
                                   pen=pg.mkPen(colour, width=2.5), symbol="o", symbolSize=8,
                                   symbolBrush=colour, symbolPen=pg.mkPen("w", width=1),
                                   name=view_of(family).title)
            self.lines[family] = line
            self._items.append(line)
            self.labels[family] = []
            for value, recall, precision in points:
                text = pg.TextItem(point_label(curve, value), color=colour, anchor=(0, 1),
                                   fill=pg.mkBrush(255, 255, 255, 190))
                text.setFont(self.font())
                text.textItem.document().setDocumentMargin(1)
                text.setPos(recall, precision)
                text.setZValue(10)
                self.labels[family].append(text)
                self._items.append(text)
        self.real = real_point(figures)
        if self.real is not None:
            star = pg.ScatterPlotItem([self.real[0]], [self.real[1]], symbol="star", size=18,
                                      brush=pg.mkBrush(REAL_COLOUR), pen=pg.mkPen("w", width=1))
            label = self.real_label = pg.TextItem("real faces", color=REAL_COLOUR, anchor=(1, 1),
                                                  fill=pg.mkBrush(255, 255, 255, 190))
            label.setFont(self.font())
            label.setPos(*self.real)
            self._items += [star, label]
        if not self.curves and empty:
            self.message = pg.TextItem(empty, color="#666666", anchor=(0.5, 0.5))
            self.message.setFont(self.font())
            self.message.setPos(0.5, 0.5)  # the middle of the empty chart's unit square
            self._items.append(self.message)
        for item in self._items:
            self.addItem(item)
        self._fit_range()
        self._place_labels()

    def _fit_range(self) -> None:
        """The part of the unit square the points and the star are in, to the nearest tenth, with room round them:
        the curves of models that are all fairly good would otherwise be squeezed into a corner."""
        xs = [x for c in self.curves.values() for x in c["recall"]] + ([self.real[0]] if self.real else [])
        ys = [y for c in self.curves.values() for y in c["precision"]] + ([self.real[1]] if self.real else [])
        if not xs:
            self.x_span, self.y_span = (0.0, 1.0), (0.0, 1.0)
        else:
            def span(values: list[float]) -> tuple[float, float]:
                low, high = math.floor((min(values) - 0.05) * 10) / 10, math.ceil((max(values) + 0.05) * 10) / 10
                return max(0.0, low), min(1.05, max(high, low + 0.3))
            self.x_span, self.y_span = span(xs), span(ys)
        self.setXRange(*self.x_span, padding=0)
        self.setYRange(*self.y_span, padding=0)

    def _place_labels(self) -> None:
        """Each text beside its point, on whichever side (above or below, right or left) covers the fewest other
        points and texts and stays inside the plot: the curves cross and crowd near the best corner."""
        view = self.getViewBox()
        width, height = view.width(), view.height()
        if width < 1 or height < 1:
            return
        frame = Frame(width, height, self.x_span, self.y_span)
        texts = [(t, x, y) for f in self.curves for t, (x, y) in zip(self.labels[f], self._points(f))]
        if self.real is not None and self.real_label is not None:
            texts.insert(0, (self.real_label, *self.real))
        dot = 5.0
        taken = [Box(frame.px(x) - dot, frame.py(y) - dot, frame.px(x) + dot, frame.py(y) + dot)
                 for _, x, y in texts]
        for item, x, y in texts:
            rect = item.textItem.boundingRect()
            w, h = rect.width(), rect.height()
            px, py = frame.px(x), frame.py(y)
            best, best_cost = None, float("inf")
            for right, above in ((True, True), (False, True), (True, False), (False, False)):
                left = px + 4 if right else px - 4 - w
                top = py - 4 - h if above else py + 4
                box = Box(left, top, left + w, top + h)
                outside = w * h - max(0.0, min(box.right, width) - max(box.left, 0.0)) * max(
                    0.0, min(box.bottom, height) - max(box.top, 0.0))
                cost = 4 * outside + sum(box.overlap_area(other) for other in taken)
                if cost < best_cost:
                    best, best_cost = box, cost
            taken.append(best)
            item.setAnchor((0, 0))
            item.setPos(frame.data_x(best.left), frame.data_y(best.top))

    def _points(self, family: str) -> list[tuple[float, float]]:
        """The (recall, precision) points of a family's curve, in the order of its knob's values."""
        curve = self.curves[family]
        return [(r, p) for _, r, p in sorted(zip(curve["values"], curve["recall"], curve["precision"]))]

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presenter mode: the point labels follow the larger font
            for item in getattr(self, "_items", ()):  # (Qt calls this while pyqtgraph is still being set up)
                if isinstance(item, pg.TextItem):
                    item.setFont(self.font())
            self._axis_labels()
            self._place_labels()


class KnobBox(QGroupBox):
    """The chart with its colour key over it and its reading under it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Quality for variety: each family's knob", parent)
        self.setToolTip(TIP)
        self.key = QLabel("")
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.key.setWordWrap(True)
        self.chart = KnobChart()
        self.reading = QLabel("")
        self.reading.setTextFormat(Qt.TextFormat.RichText)
        self.reading.setWordWrap(True)
        self.reading.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addWidget(self.key)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.reading)

    def set_figures(self, figures: dict[str, Figures], empty: str) -> None:
        self.chart.set_figures(figures, empty)
        curves = self.chart.curves
        self.key.setText("  ".join(
            f"<span style='color:{view_of(f).colour}'>━●</span>&nbsp;{view_of(f).title}: {knob_of(c).name}"
            for f, c in curves.items())
            + ("  <span style='color:%s'>★</span>&nbsp;real faces" % REAL_COLOUR if self.chart.real else ""))
        said = knob_reading(curves, self.chart.real)
        self.reading.setText("<br>".join(said) if said else empty)
