"""Choose one end of an interpolation: a seed, a data-set face or an image file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QWidget,
)

from explorer.worker.requests import Endpoint
from models.setting_ranges import SEED

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)"


class EndpointPicker(QGroupBox):
    changed = Signal()

    def __init__(self, title: str, seed: int, parent: QWidget | None = None):
        super().__init__(title, parent)
        self.kind = QComboBox()
        self.kind.addItem("Random seed", "seed")
        self.kind.addItem("Data-set face", "face")
        self.kind.addItem("Image file", "image")
        self.kind.setToolTip("A seed gives each model its own random numbers; a face or an image is first "
                             "found in each model's space, so every model aims at the same face.")
        self.number = QSpinBox()
        self.number.setRange(SEED.low, SEED.high)
        self.number.setValue(seed)
        self.choose = QPushButton("Choose…")
        self.path = ""
        layout = QHBoxLayout(self)
        layout.addWidget(self.kind)
        layout.addWidget(self.number)
        layout.addWidget(self.choose)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.number.valueChanged.connect(lambda _: self.changed.emit())
        self.choose.clicked.connect(self._choose)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.number.setVisible(kind != "image")
        self.choose.setVisible(kind == "image")
        self.number.setPrefix("seed " if kind == "seed" else "face #")
        if kind == "image" and not self.path:
            self.choose.setText("Choose…")
        self.changed.emit()

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a face image", str(Path(self.path).parent)
                                              if self.path else "", IMAGE_FILTER)
        if path:
            self.set_image(path)

    def set_image(self, path: str) -> None:
        self.path = path
        self.choose.setText(Path(path).name)
        self.kind.setCurrentIndex(self.kind.findData("image"))
        self.changed.emit()

    def endpoint(self) -> Endpoint | None:
        kind = self.kind.currentData()
        if kind == "image":
            return Endpoint("image", path=self.path) if self.path else None
        return Endpoint(kind, seed=self.number.value())

    def to_dict(self) -> dict:
        return {"kind": self.kind.currentData(), "seed": self.number.value(), "path": self.path}

    def restore(self, data: dict) -> None:
        self.path = data.get("path", "")
        self.number.setValue(int(data.get("seed", 0)))
        self.kind.setCurrentIndex(max(0, self.kind.findData(data.get("kind", "seed"))))
        if self.path:
            self.choose.setText(Path(self.path).name)
