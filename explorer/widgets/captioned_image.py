"""A PixelImage of several pictures side by side, each named above its column (which model is which)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from explorer.widgets.pixel_image import PixelImage, fitted_rect


class CaptionedPixelImage(PixelImage):
    """The image is split into len(captions) equal columns; each caption is drawn centred above its column."""

    def __init__(self, placeholder: str = "", minimum: int = 96, parent: QWidget | None = None):
        super().__init__(placeholder, minimum, parent)
        self._captions: tuple[str, ...] = ()

    def set_captions(self, captions: Sequence[str]) -> None:
        self._captions = tuple(captions)
        self.setToolTip("  ·  ".join(self._captions))
        self.update()

    def captions(self) -> tuple[str, ...]:
        return self._captions

    def _band(self) -> int:
        return self.fontMetrics().height() + 6 if self._captions else 0

    def target_rect(self) -> QRect:
        """The image's place: the caption band and the image, centred together."""
        array = self.image()
        if array is None:
            return QRect()
        band = self._band()
        fitted = fitted_rect(array.shape[1], array.shape[0], self.rect().adjusted(0, band, 0, 0))
        top = (self.height() - fitted.height() - band) // 2 + band
        return QRect(fitted.x(), top, fitted.width(), fitted.height())

    def caption_rects(self) -> list[QRect]:
        """Where each caption is drawn: above its column of the image."""
        target, band = self.target_rect(), self._band()
        if target.isEmpty() or not self._captions:
            return []
        if len(self._captions) == 1:  # one picture: its caption may be wider than it
            return [QRect(0, target.y() - band, self.width(), band)]
        width = target.width() / len(self._captions)
        return [QRect(round(target.x() + i * width), target.y() - band, round(width), band)
                for i in range(len(self._captions))]

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        rects = self.caption_rects()
        if not rects:
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        metrics = QFontMetrics(bold)
        for rect, caption in zip(rects, self._captions):
            text = metrics.elidedText(caption, Qt.TextElideMode.ElideRight, rect.width() - 4)
            painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, text)
        painter.end()
