"""Guidance hit rates: for each guided family, how often the feature network finds what guidance asked for (all
wanted attributes together, then each alone) against how often unguided faces have it by chance, and the variety it
costs. Shown only while a guided family is loaded."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer import texts
from explorer.family_views import Figures, view_of
from explorer.panels.compare.knob_reading import HitRow, guidance_reading, hit_rows

BASE_COLOUR = "#9a9a9a"
TIP = texts.COMPARE_GUIDANCE


class RateBars(QWidget):
    """Two horizontal bars on a 0–100 % scale: the guided rate in the family's colour over the unguided one in
    grey, each with its percentage."""

    def __init__(self, row: HitRow, colour: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.row, self.colour = row, colour
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(150)
        self.setToolTip(f"Guided: {100 * row.guided:.0f} %"
                        + (f"; unguided: {100 * row.base:.0f} %" if row.base is not None else ""))

    def _line(self) -> int:
        return self.fontMetrics().height() + 2

    def sizeHint(self) -> QSize:
        return QSize(220, 2 * self._line() + 2)

    def minimumSizeHint(self) -> QSize:
        return QSize(150, 2 * self._line() + 2)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        metrics = self.fontMetrics()
        room = max(self.width() - metrics.horizontalAdvance(" 100 % ") - 2, 10)  # the text stays right of the bar
        line = self._line()
        rows = [(self.row.guided, self.colour, "")]
        if self.row.base is not None:
            rows.append((self.row.base, BASE_COLOUR, " unguided"))
        for i, (rate, colour, words) in enumerate(rows):
            top = i * line + 1
            width = max(room * min(max(rate, 0.0), 1.0), 1.0)
            painter.fillRect(QRectF(0, top + 2, width, line - 4), QColor(colour))
            painter.setPen(QColor("#222222"))
            painter.drawText(QRectF(width + 4, top, self.width() - width - 4, line),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             f"{100 * rate:.0f} %{words}")
        painter.end()


class GuidanceHits(QGroupBox):
    """One block per guided family: its rows of bars and a sentence; `rows` holds what is shown (family ->
    HitRow list), for the tests."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Guidance: does the face follow?", parent)
        self.setToolTip(TIP)
        self.rows: dict[str, list[HitRow]] = {}
        self.shown: tuple[str, ...] = ()  # the families with a block, measured or not
        self.layout_ = QVBoxLayout(self)
        self.layout_.addStretch(1)  # the blocks stay at the top when the knob chart beside them is taller
        self._blocks: list[QWidget] = []
        self.hide()

    def set_figures(self, figures: dict[str, Figures], guided: tuple[str, ...]) -> None:
        """guided: the loaded guided families (in the app's order); one without figures is said to be waiting."""
        for block in self._blocks:
            self.layout_.removeWidget(block)
            block.deleteLater()
        self._blocks, self.rows, self.shown = [], {}, tuple(guided)
        for family in guided:
            guidance = figures.get(family, {}).get("guidance")
            block = QWidget()
            grid = QGridLayout(block)
            grid.setContentsMargins(0, 0, 0, 6)
            grid.setColumnStretch(1, 1)
            title = QLabel(f"<b style='color:{view_of(family).colour}'>■</b> <b>{view_of(family).title}</b>")
            grid.addWidget(title, 0, 0, 1, 2)
            if not isinstance(guidance, dict):
                note = QLabel("Not measured yet: Recompute measures it." if family in figures else
                              "Waiting for its figures.")
                note.setWordWrap(True)
                grid.addWidget(note, 1, 0, 1, 2)
            else:
                self.rows[family] = hit_rows(guidance)
                for i, row in enumerate(self.rows[family], start=1):
                    want = QLabel(row.want if i > 1 else f"<b>{row.want}</b>")
                    want.setWordWrap(True)
                    want.setMaximumWidth(170)
                    grid.addWidget(want, i, 0)
                    grid.addWidget(RateBars(row, view_of(family).colour), i, 1)
                said = QLabel(guidance_reading(family, guidance))
                said.setWordWrap(True)
                said.setTextFormat(Qt.TextFormat.RichText)
                grid.addWidget(said, len(self.rows[family]) + 1, 0, 1, 2)
            self.layout_.insertWidget(self.layout_.count() - 1, block)
            self._blocks.append(block)
        self.setVisible(bool(guided))
