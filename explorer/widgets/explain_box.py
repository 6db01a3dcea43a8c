"""The "What is happening?" panel every tab has: plain words tied to what is on screen, foldable.

In presenter mode (compact) it is one line — the heading and the start of the text — that opens on a click:
a projector's few pixels go to the pictures.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QBoxLayout, QScrollArea, QToolButton, QVBoxLayout, QWidget

from explorer.widgets.folding_text import FoldingText

HEADING = "What is happening?"


class _TextScroll(QScrollArea):
    """Scrolls its text where the layout gives it less room than the text needs, and asks for all of it."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        body = self.widget()
        if body is None:
            return hint
        needed = body.heightForWidth(max(self.viewport().width(), 120))
        return QSize(hint.width(), needed if needed > 0 else body.sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # a new width wraps the text into another height


class ExplainBox(QWidget):
    def __init__(self, text: str = "", parent: QWidget | None = None, heading: str = HEADING):
        super().__init__(parent)
        self._text = text
        self._heading = heading
        self._compact = False
        self.toggle = QToolButton()
        self.toggle.setText(heading)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.toggle.setStyleSheet("QToolButton { border: none; font-weight: bold; }")
        self.body = FoldingText(text)
        self.body.setStyleSheet("QLabel { background: palette(alternate-base); padding: 8px; border-radius: 4px; }")
        # Where the window leaves less room than the text needs (a small screen), it scrolls rather than being cut.
        self.scroll = _TextScroll()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.scroll)
        self.toggle.toggled.connect(self._toggled)
        self.body.folded_changed.connect(self._folded_changed)

    def _toggled(self, shown: bool) -> None:
        self.scroll.setVisible(shown or self._compact)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _folded_changed(self, folded: bool) -> None:
        """Folded, the box is exactly one line high; open, it takes what the layout gives and scrolls past it."""
        self.scroll.setMaximumHeight(self.body.sizeHint().height() if folded else 16777215)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if folded
                                               else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.updateGeometry()

    def set_text(self, text: str) -> None:
        self._text = text
        self.body.set_text(self._body_text())

    def text(self) -> str:
        return self._text

    def _body_text(self) -> str:
        return f"<b>{self._heading}</b> {self._text}" if self._compact else self._text

    def set_compact(self, compact: bool) -> None:
        """Presenter mode: one line that unfolds on a click, instead of the heading and the whole text."""
        self._compact = compact
        self.toggle.setVisible(not compact)
        self.body.set_text(self._body_text())
        self.body.set_foldable(compact)
        self._toggled(self.toggle.isChecked())

    def move_for_presenter(self, on: bool, under: QBoxLayout, beside: QBoxLayout, width: int, stretch: int = 0) -> None:
        """Presenter mode: one line across the foot of `under`; else a column `width` wide at the end of `beside`."""
        self.set_compact(on)
        self.setMaximumWidth(16777215 if on else width)
        if on:
            under.addWidget(self)
        else:
            beside.addWidget(self, stretch, Qt.AlignmentFlag.AlignTop)

    def is_folded(self) -> bool:
        return self._compact and self.body.is_folded() or not self._compact and not self.toggle.isChecked()
