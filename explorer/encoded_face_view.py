"""The VAE's view of a face brought into Explore: original, reconstruction, where it fails, posterior draws."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from explorer.pixel_image import PixelImage
from models.image_io import make_grid


def _captioned(image: PixelImage, caption: str, tooltip: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(image, 1)
    label = QLabel(caption)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(label)
    box.setToolTip(tooltip)
    return box


class EncodedFaceView(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Your face, as the VAE sees it", parent)
        self.original = PixelImage("", 72)
        self.reconstruction = PixelImage("", 72)
        self.heat = PixelImage("", 72)
        self.samples = PixelImage("", 48)
        row = QHBoxLayout()
        row.addWidget(_captioned(self.original, "What went in", "The face, shrunk to the model's size."))
        row.addWidget(_captioned(self.reconstruction, "What came back",
                                 "The decoder's redrawing of the encoder's mean numbers (μ)."))
        row.addWidget(_captioned(self.heat, "Where it fails",
                                 "Bright = the VAE could not rebuild this part. Unusual faces light up."))
        layout = QGridLayout(self)
        layout.addLayout(row, 0, 0)
        self.anomaly = QLabel("")
        self.anomaly.setWordWrap(True)
        layout.addWidget(self.anomaly, 1, 0)
        layout.addWidget(_captioned(self.samples, "Several draws from the same face's cloud of numbers",
                                    "The encoder gives a mean and a spread for every number, not one point: "
                                    "each of these faces is decoded from a different draw inside that spread."),
                         2, 0)
        self.hide()

    def show_report(self, report: dict) -> None:
        self.original.set_image(report["original"])
        self.reconstruction.set_image(report["reconstruction"])
        self.heat.set_image(report["heat_map"])
        self.samples.set_image(make_grid(np.asarray(report["samples"]), columns=len(report["samples"]), padding=1))
        percentile = report.get("percentile")
        mse = report["mse"]
        if percentile is None:
            self.anomaly.setText(f"Rebuild error: {mse:.4f} (mean squared, per pixel).")
        else:
            verdict = ("an unusual face for this model" if percentile >= 95 else
                       "a typical face for this model" if percentile <= 80 else "a somewhat unusual face")
            self.anomaly.setText(f"<b>Anomaly score:</b> rebuild error {mse:.4f}, higher than for "
                                 f"{percentile:.0f}% of the data set's faces — {verdict}.")
        self.show()
