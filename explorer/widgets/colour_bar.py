"""A small vertical colour bar: what the colours of a heat map mean, with the numbers at its ends."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.widgets.pixel_image import PixelImage

BAR_WIDTH = 12


class ColourBar(QWidget):
    """The ramp `stops` (uint8-valued (K, 3), low to high) from bottom to top, `high` and `low` beside its ends."""

    def __init__(self, stops: np.ndarray, low: str, high: str, unit: str, beside: PixelImage | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._stops = np.asarray(stops, dtype=np.float32)
        self._beside = beside  # the bar spans the height of this image, as drawn
        self.low, self.high, self.unit = low, high, unit
        self.setToolTip(f"The colours of the map: {low} at the bottom to {high} at the top, in {unit}.")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        text = max(metrics.horizontalAdvance(self.low), metrics.horizontalAdvance(self.high))
        return QSize(BAR_WIDTH + 4 + text + 2, 3 * metrics.height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def bar_rect(self) -> QRect:
        half = self.fontMetrics().height() // 2
        top, bottom = half, self.height() - half
        image = self._beside.target_rect() if self._beside is not None else QRect()
        if not image.isEmpty():
            top = max(top, self.mapFromGlobal(self._beside.mapToGlobal(image.topLeft())).y())
            bottom = min(bottom, self.mapFromGlobal(self._beside.mapToGlobal(image.bottomLeft())).y())
        return QRect(0, top, BAR_WIDTH, max(1, bottom - top))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        bar = self.bar_rect()
        gradient = QLinearGradient(0, bar.bottom(), 0, bar.top())
        for i, (r, g, b) in enumerate(self._stops):
            gradient.setColorAt(i / (len(self._stops) - 1), QColor(int(r), int(g), int(b)))
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        height = self.fontMetrics().height()
        x = bar.right() + 4
        painter.drawText(QRect(x, bar.top() - height // 2, self.width() - x, height),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.high)
        painter.drawText(QRect(x, bar.bottom() - height // 2, self.width() - x, height),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.low)
        painter.end()
