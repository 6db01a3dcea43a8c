"""The "Export size" choice beside a tab's save buttons: how many pixels each face gets in a saved picture."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from explorer.pictures.slide_pictures import DEFAULT_FACE_SIZE, FACE_SIZES


class ExportSizeBox(QComboBox):
    size_chosen = Signal(int)  # px per face

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        for size in FACE_SIZES:
            self.addItem(f"{size} px per face", size)
        self.setToolTip("How large each face is in a saved strip, GIF or picture. A model draws small faces (a "
                        "few dozen pixels across): they are enlarged with crisp square pixels, and the titles and labels grow with "
                        "them, so the picture stays sharp and readable on a slide.")
        self.set_face_size(DEFAULT_FACE_SIZE)
        self.currentIndexChanged.connect(lambda _: self.size_chosen.emit(self.face_size()))

    def face_size(self) -> int:
        return int(self.currentData())

    def set_face_size(self, size: int) -> None:
        """Choose `size` px (an unknown size, e.g. from an old settings file, is ignored), without signalling."""
        index = self.findData(int(size)) if str(size).isdigit() else -1
        if index >= 0:
            self.blockSignals(True)
            self.setCurrentIndex(index)
            self.blockSignals(False)
