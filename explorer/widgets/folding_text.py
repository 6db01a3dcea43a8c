"""Text that is shown whole or folded to one line: the explanations a projector has no room for.

Folded, it shows its first line cut to the width it has ("…" at the end) and a click unfolds it; its size
hints are then those of one short line, so long text never makes a window wider or taller than the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QTextDocument
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

FOLDED_MIN_WIDTH = 80


def plain_text(rich: str) -> str:
    """Rich text as one line of plain text (line breaks become spaces)."""
    document = QTextDocument()
    document.setHtml(rich)
    return " ".join(document.toPlainText().split())


class FoldingText(QLabel):
    folded_changed = Signal(bool)

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._rich = text
        self._folded = False
        self._foldable = False
        self.setProperty("elided", False)  # the layout check knows a folded line is cut on purpose
        self._show()

    def text_whole(self) -> str:
        return self._rich

    def set_text(self, text: str) -> None:
        self._rich = text
        self._show()

    def is_folded(self) -> bool:
        return self._folded

    def set_foldable(self, foldable: bool) -> None:
        """Foldable text starts folded and unfolds (and folds again) on a click."""
        self._foldable = foldable
        self.setCursor(Qt.CursorShape.PointingHandCursor if foldable else Qt.CursorShape.ArrowCursor)
        self.set_folded(foldable)

    def set_folded(self, folded: bool) -> None:
        if folded == self._folded:
            return
        self._folded = folded
        self._show()
        self.folded_changed.emit(folded)

    def _show(self) -> None:
        self.setProperty("elided", self._folded)
        self.setWordWrap(not self._folded)
        self.setSizePolicy(QSizePolicy.Policy.Ignored if self._folded else QSizePolicy.Policy.Preferred,
                           QSizePolicy.Policy.Fixed if self._folded else QSizePolicy.Policy.Preferred)
        self.setToolTip("Click to read it all." if self._folded else ("Click to fold." if self._foldable else ""))
        if self._folded:
            self._elide()
        else:
            super().setText(("▾ " if self._foldable else "") + self._rich)
        self.updateGeometry()

    def _elide(self) -> None:
        line = "▸ " + plain_text(self._rich)
        width = max(FOLDED_MIN_WIDTH, self.contentsRect().width())
        super().setText(self.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._folded:
            self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if self._folded and event.type() == event.Type.FontChange:
            self._elide()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._foldable and event.button() == Qt.MouseButton.LeftButton and not self.hasSelectedText():
            self.set_folded(not self._folded)
        super().mouseReleaseEvent(event)

    # Folded, the label holds one line (padding from a style sheet included): its own hints give the height,
    # and the width is whatever the layout can spare.
    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(FOLDED_MIN_WIDTH, hint.height()) if self._folded else hint

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(FOLDED_MIN_WIDTH * 3, hint.height()) if self._folded else hint
