"""One small pyqtgraph bar chart per metric: every family side by side, real faces' figure as a line.

Each chart sits in a card: the metric's name (with a plain-words tooltip) over it, one line saying what the
figure means under it. Where the texts go inside the plot is worked out by `chart_labels`, in pixels, every
time the figures or the chart's size change, so that no text covers another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from explorer.family_views import view_of
from explorer.widgets.chart_labels import Frame, lay_out
from models.family import family_names

LINE_TEXT = "real faces"
BAR_WIDTH = 0.6  # in data units: one family per unit
# Pixels to spare before the titles under a chart go back to a roomier layout (see MetricChart._fit_titles).
TITLE_SLACK = 12.0
# In a chart whose figure none of the shown models has: figures measured before that metric existed.
NOT_MEASURED_TEXT = "not measured yet:\nRecompute measures it"


def bar_families(figures: dict[str, dict] | None = None) -> tuple[str, ...]:
    """The families a chart has a place for, in the app's order: every registered one, then any measured family
    the registry no longer knows (its figures still get a bar)."""
    names = family_names()
    return names + tuple(f for f in (figures or {}) if f not in names)


def x_range(count: int) -> tuple[float, float]:
    """The x range that shows `count` bars at 0, 1, … with the same margins at both ends (wider in a chart too
    narrow for the end bars' titles: MetricChart._fit_titles)."""
    return -0.6, count - 0.4


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    better: str  # "higher" or "lower"
    subtitle: str  # what the figure stands for, and which way is better
    tip: str  # the name's tooltip, in plain words
    meaning: str  # one line under the chart: what the figure means
    reference: str | None = None  # the real-vs-real figure drawn as a dashed line
    scale: float = 1.0  # shown value = figure * scale
    unit: str = ""
    log: bool = False


METRICS = (
    Metric("fd", "Fréchet distance", "lower", "overall · lower is better",
           "How far the model's faces are from real ones, all things together (0 = indistinguishable). The dashed "
           "line is two sets of real faces: the best any model can do with this many samples.",
           "How different the model's faces are from real ones, all in one number.", "fd_real"),
    Metric("precision", "Precision", "higher", "realism · higher is better",
           "The share of the model's faces that fall among real faces. The dashed line: real faces against real.",
           "Of the model's faces, how many look like a real face.", "precision_real"),
    Metric("sharpness", "Sharpness", "near 1", "fine detail · closer to 1 is better",
           "How much fine detail the model's faces have, as a ratio to real faces' (1: as sharp as real faces; "
           "below 1: blurrier; above 1: noisier than real faces, which is not sharper). Precision cannot see blur: "
           "this can. The dashed line is a second set of real faces.",
           "How crisp the model's faces are, against real faces' detail.", "sharpness_real"),
    Metric("recall", "Recall", "higher", "variety · higher is better",
           "The share of real faces that the model's faces reach: low when it makes only some kinds of face.",
           "Of all the kinds of real face, how many the model can make.", "recall_real"),
    Metric("coverage", "Coverage", "higher", "variety · higher is better",
           "The share of real faces that have one of the model's faces close by; robust to stray faces.",
           "Of the real faces, how many have a model face close by.", "coverage_real"),
    Metric("density", "Density", "near 1", "crowding · about 1 is real",
           "How crowded real faces are around the model's faces (about 1 for real faces; above 1: the model "
           "keeps to the most typical faces).",
           "How tightly the model's faces crowd round typical real faces.", "density_real"),
    Metric("ppl", "Path length", "lower", "smoothness · lower is smoother",
           "How much the face changes for a tiny step along a morph between two random faces. Lower: smoother.",
           "How much a face jumps for a tiny step on a morph."),
    Metric("reconstruction_error", "Redrawing error", "lower", "held-out faces · lower is better",
           "How far a face the model never saw is from the model's redrawing of it, once the model has found that "
           "face's numbers: with its encoder in one pass, by a search, or by running the model backwards.",
           "How closely the model can redraw a face brought in from outside."),
    Metric("seconds_per_image", "Time per face", "lower", "log scale · lower is faster",
           "Milliseconds to draw one face on this computer (diffusion: 50 DDIM steps). The scale is logarithmic: "
           "each grid line is ten times the one below, so a slow model still leaves the others visible.",
           "How long this computer takes to draw one face.",
           scale=1000.0, unit=" ms", log=True),
)


def format_metric(value: float, unit: str) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    if abs(value) >= 10:
        return f"{value:.1f}{unit}"
    if 0 < abs(value) < 0.1:  # a small error (0.0123) keeps two digits that differ between models
        return f"{value:.2g}{unit}"
    return f"{value:.2f}{unit}"


def _text(words: str, colour: str, font) -> pg.TextItem:
    # A pale backing keeps a text legible where it crosses a bar or the dashed line, which it is drawn over.
    item = pg.TextItem(words, color=colour, anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 215))
    item.setFont(font)
    item.textItem.document().setDocumentMargin(1)  # the box is the text: the layout packs boxes, not margins
    item.setZValue(10)
    return item


class MetricChart(pg.PlotWidget):
    def __init__(self, metric: Metric):
        super().__init__()
        # Not `self.metric`: that would hide QPaintDevice.metric(), which Qt calls when fonts change (a crash).
        self.spec = metric
        self.setToolTip(metric.tip)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumSize(200, 130)  # narrower, five families' titles leave no room for the bars
        self.families: tuple[str, ...] = ()  # where each family's bar stands: see _place_families
        self._place_families(bar_families())
        self.getAxis("left").enableAutoSIPrefix(False)
        if metric.log:
            # Bars are drawn on log10 of the value (diffusion is hundreds of times slower than the others);
            # the axis says the plain values, "1 ms", "10 ms", … rather than pyqtgraph's "10^1".
            ticks = [(k, f"{10.0**k:,g}{metric.unit}") for k in range(-2, 7)]
            self.getAxis("left").setTicks([ticks, []])
        self.showGrid(y=True, alpha=0.15)
        self.values: dict[str, float] = {}
        self.not_measured: pg.TextItem | None = None
        self.reference_value: float | None = None
        self.value_labels: dict[str, pg.TextItem] = {}
        self.line_label: pg.TextItem | None = None
        self._items: list = []
        self._bottom = 0.0
        self.getViewBox().sigResized.connect(lambda _: self._lay_out())

    def sizeHint(self) -> QSize:
        # A QGraphicsView asks for 640x480 or so; the tab's scroll area sizes its page by what its widgets ask for,
        # and nine such charts made a page several screens tall. This is about what a chart needs to be read.
        return QSize(240, 200)

    def wheelEvent(self, event) -> None:
        event.ignore()  # the charts do not zoom: the wheel scrolls the tab they are in, wherever the pointer is

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presenter mode: larger texts, which need other places
            extra = [t for t in (self.line_label, self.not_measured) if t is not None]
            for item in [*self.value_labels.values(), *extra]:
                item.setFont(self.font())
            self._title_mode = None  # the titles' widths changed with the font
            self._fix_axis_width()
            self._lay_out()

    def _place_families(self, names: tuple[str, ...]) -> None:
        """A place on the x axis for each family, its title under it."""
        self.families = names
        self.x_range = x_range(len(names))
        self._staggered: bool | None = None
        self._title_mode: tuple[int, bool] | None = None  # (lines staggered over, a word a line) shown
        self._fit_titles()

    def _fit_titles(self) -> None:
        """The families' titles under their bars, set so that neighbours never run into each other: on one line
        when there is room; else every other title a line lower (four families in a narrow chart: "VAE-GAN" is
        wider than its share of the axis), as well a title of several words a word a line ("Latent diffusion"
        beside "GAN"); in a chart too narrow even for that, none: more lines would leave the bars no room, and
        the colour key over the charts (ComparePanel.colour_key) and the chart's tooltip name the families."""
        titles = [view_of(f).title for f in self.families]
        axis = self.getAxis("bottom")
        metrics = QFontMetrics(axis.style["tickFont"] or axis.font())
        width = self.getViewBox().width()
        space = metrics.horizontalAdvance(" ")
        n = len(titles)
        modes = ((1, False), (2, False), (2, True))
        current = modes.index(self._title_mode) if self._title_mode in modes else 0  # none yet: no slack
        for index, (levels, wrapped) in enumerate(modes):
            # A roomier way than the one shown must fit with pixels to spare: each way changes the axes' sizes, and
            # so the plot's width a little, which without this slack can flip two ways back and forth for ever.
            slack = TITLE_SLACK if index < current else 0.0
            lines = [t.split(" ") if wrapped else [t] for t in titles]
            widths = [max(metrics.horizontalAdvance(line) for line in words) for words in lines]
            # The end bars stand further in when their titles would run past the axis's ends, where pyqtgraph
            # drops them: a margin of m bars, with the half title h in pixels, needs m * width / (n - 1 + 2m) >= h.
            half = max(widths[:1] + widths[-1:], default=0) / 2 + 3
            needed = half * (n - 1) / (width - 2 * half) if width > 2 * half + 1 else 0.0
            margin = max(0.6, math.ceil(needed * 8) / 8)  # in eighths: a few steps, exact in binary, as it grows
            shown = -self.x_range[0]
            if (levels, wrapped) == self._title_mode and margin <= shown <= margin + 0.25:
                # Kept while it is enough and not much more: the margin moves the bars, the bars move the value
                # labels, they the y axis's numbers and so its width, and so the plot's: without this, a margin an
                # eighth apart at each of two widths flipped back and forth for ever (the tab never stopped drawing).
                margin = shown
            span = (-margin, n - 1 + margin) if n else x_range(0)
            per_bar = width / (span[1] - span[0]) if width > 1 else float("inf")
            # titles on the same line are `levels` bars apart
            if not any((widths[i] + widths[i + levels]) / 2 + space + slack > levels * per_bar
                       for i in range(n - levels)):
                break
        else:  # no titles
            levels, wrapped, span, lines = 0, False, x_range(n), [[] for _ in titles]
        self.x_range = span
        mode = (levels, wrapped)
        if mode == self._title_mode:
            return
        self._title_mode, self._staggered = mode, levels > 1
        # Each level starts under the tallest title of the levels above it.
        tallest = [max((len(lines[i]) for i in range(level, n, levels)), default=0) for level in range(levels)]
        starts = [sum(tallest[:level]) for level in range(levels)]
        axis.setTicks([[(i, "\n" * starts[i % levels] + "\n".join(words)) for i, words in enumerate(lines)]
                       if levels else []])
        rows = sum(tallest) or 1
        # pyqtgraph sizes the axis for one line of text; more lines need room of their own
        axis.setHeight(rows * metrics.lineSpacing() + 14 if rows > 1 else None)

    def _shown(self, value: float) -> float:
        return math.log10(max(value, 1e-6)) if self.spec.log else value

    def set_figures(self, figures: dict[str, dict]) -> None:
        """figures: family -> evaluate results; families without figures get no bar."""
        for item in self._items:
            self.removeItem(item)
        self._items, self.value_labels, self.line_label, self.not_measured = [], {}, None, None
        self._place_families(bar_families(figures))  # a family registered since the chart was made gets a place
        self.values = {f: float(figures[f][self.spec.key]) * self.spec.scale
                       for f in self.families if f in figures and self.spec.key in figures[f]}
        # Log bars stand on a baseline a third below the smallest value, so every bar has some height.
        self._bottom = math.log10(min(self.values.values()) / 3) if self.spec.log and self.values else 0.0
        for i, family in enumerate(self.families):
            if family in self.values:
                bar = pg.BarGraphItem(x=[i], height=[self._shown(self.values[family]) - self._bottom],
                                      y0=[self._bottom], width=BAR_WIDTH, brush=view_of(family).colour,
                                      pen=pg.mkPen(None))
                shown = format_metric(self.values[family], self.spec.unit)
                self.value_labels[family] = _text(shown, "k", self.font())
                self._items += [bar, self.value_labels[family]]
        refs = [float(figures[f][self.spec.reference]) for f in self.families
                if self.spec.reference and f in figures and self.spec.reference in figures[f]]
        self.reference_value = sum(refs) / len(refs) if refs else None
        tip = self.spec.tip
        if self.reference_value is not None:
            line = pg.InfiniteLine(pos=self._shown(self.reference_value), angle=0,
                                   pen=pg.mkPen("#555555", width=1.5, style=Qt.PenStyle.DashLine))
            line.setZValue(5)
            self.line_label = _text(LINE_TEXT, "#555555", self.font())
            self._items += [line, self.line_label]
            real = format_metric(self.reference_value * self.spec.scale, self.spec.unit)
            tip += f" Two sets of real faces score {real}."
        if figures and not self.values:
            self.not_measured = pg.TextItem(NOT_MEASURED_TEXT, color="#666666", anchor=(0.5, 0.5))
            self.not_measured.setFont(self.font())
            self._items.append(self.not_measured)
            tip += " The figures shown were measured before this one existed."
        self.setToolTip(tip)
        self._fix_axis_width()
        for item in self._items:
            self.addItem(item)
        self._lay_out()

    def _fix_axis_width(self) -> None:
        """The y axis as wide as its widest possible number, whatever the y range. Left to pyqtgraph it fits the
        numbers shown, which change with the range, which the value labels' places set, which depend on the plot's
        width, which the axis's width takes from: with five families that circle never came to rest."""
        axis = self.getAxis("left")
        metrics = QFontMetrics(axis.style["tickFont"] or axis.font())
        if self.spec.log and self.values:
            low = math.floor(self._bottom)
            high = math.ceil(math.log10(max(self.values.values())))
            texts = [f"{10.0**k:,g}{self.spec.unit}" for k in range(low, high + 1)]
        else:
            top = max([abs(v) for v in self.values.values()] + [abs(self.reference_value or 0.0), 1.0])
            texts = [f"{top * 1.3:,.0f}", "0.000"]  # pyqtgraph's ticks here: whole numbers, or up to 3 decimals
        axis.setWidth(max(metrics.horizontalAdvance(t) for t in texts) + 12)

    def _lay_out(self) -> None:
        """The y range and every text's place, for the plot's present size in pixels."""
        self._fit_titles()
        if not self.values:
            self.setXRange(*self.x_range, padding=0)
            if self.not_measured is not None:
                self.setYRange(0, 1, padding=0)
                self.not_measured.setPos(sum(self.x_range) / 2, 0.5)
            return
        view = self.getViewBox()
        width, height = view.width(), view.height()
        if width < 1 or height < 1:
            return
        present = [(i, f) for i, f in enumerate(self.families) if f in self.values]
        bars = [(float(i), self._shown(self.values[f])) for i, f in present]
        sizes = [self._size(self.value_labels[f]) for _, f in present]
        line = self._shown(self.reference_value) if self.reference_value is not None else None
        line_size = self._size(self.line_label) if self.line_label is not None else None
        layout = lay_out(width, height, self.x_range, self._bottom, bars, sizes, line, line_size,
                         headroom=0.15 if self.spec.log else 0.08, bar_width=BAR_WIDTH)
        self.setXRange(*self.x_range, padding=0)
        self.setYRange(*layout.y_range, padding=0)
        frame = Frame(width, height, self.x_range, layout.y_range)
        for (_, family), box in zip(present, layout.values):
            self.value_labels[family].setPos(frame.data_x(box.left), frame.data_y(box.top))
        if self.line_label is not None:
            # Left out where it would cover a bar or squash them all; the colour key above the charts says it.
            self.line_label.setVisible(layout.line_label is not None)
            if layout.line_label is not None:
                self.line_label.setPos(frame.data_x(layout.line_label.left), frame.data_y(layout.line_label.top))

    @staticmethod
    def _size(item: pg.TextItem) -> tuple[float, float]:
        rect = item.textItem.boundingRect()  # in pixels: a TextItem is drawn unscaled by the view
        return rect.width(), rect.height()


class MetricCard:
    """A chart, its name over it and what it means under it: three rows of the grid, so that the charts of a
    row line up whatever the length of their texts."""

    def __init__(self, metric: Metric):
        self.name = QLabel(f"<b>{metric.title}</b><br><span style='color:#666'>{metric.subtitle}</span>")
        self.name.setToolTip(metric.tip)
        self.chart = MetricChart(metric)
        self.meaning = QLabel(f"<span style='color:#444'>{metric.meaning}</span>")
        self.meaning.setWordWrap(True)
        self.meaning.setToolTip(metric.tip)
        self.meaning.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.meaning.setContentsMargins(0, 0, 0, 10)  # apart from the next row's names


class MetricBars(QWidget):
    """All the metric charts in a grid."""

    def __init__(self, columns: int = 4, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setVerticalSpacing(2)
        self.cards = {m.key: MetricCard(m) for m in METRICS}
        self.charts = {key: card.chart for key, card in self.cards.items()}
        for i, card in enumerate(self.cards.values()):
            row, column = 3 * (i // columns), i % columns
            layout.addWidget(card.name, row, column)
            layout.addWidget(card.chart, row + 1, column)
            layout.addWidget(card.meaning, row + 2, column)
            layout.setRowStretch(row + 1, 1)

    def set_figures(self, figures: dict[str, dict]) -> None:
        for chart in self.charts.values():
            chart.set_figures(figures)
