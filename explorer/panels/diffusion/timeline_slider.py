"""A slider through the frames of a morph or the steps of a diffusion run, which a presentation clicker drives.

Clickers send Page Down for "next" and Page Up for "back"; a plain QSlider takes Page Down as "smaller" and jumps
a tenth of its range. Here Page Down is the next frame and Page Up the one before, and the window passes the
same keys on to the tab's timeline when nothing that uses them has the focus (MainWindow.keyPressEvent).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QSlider, QWidget


class TimelineSlider(QSlider):
    """stepped(+1 / -1): Page Down / Page Up while it has the focus; its panel steps (and may pause a playback)."""

    stepped = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setPageStep(1)

    def step(self, delta: int) -> None:
        """One frame on (+1) or back (-1), stopping at the ends."""
        if self.isEnabled():
            self.setValue(min(max(self.value() + delta, self.minimum()), self.maximum()))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        delta = {Qt.Key.Key_PageDown: 1, Qt.Key.Key_PageUp: -1}.get(event.key())
        if delta is None:
            super().keyPressEvent(event)
            return
        self.stepped.emit(delta)
        event.accept()
