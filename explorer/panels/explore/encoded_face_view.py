"""The VAE's view of a face brought into Explore: original, reconstruction, where it fails, posterior draws."""

from __future__ import annotations

import math

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

from explorer.pictures.heat_map import (
    ERROR_SCALE_TOP,
    ERROR_UNIT,
    HEAT_STOPS,
    rms_percent,
)
from explorer.widgets.colour_bar import ColourBar
from explorer.widgets.pixel_image import PixelImage
from models.image_io import make_grid


def anomaly_words(mse: float, percentile: float | None, faces: int) -> str:
    """The anomaly score in plain words: what the percentile means, and how rare such a face is."""
    error = f"{rms_percent(mse):.1f} %"
    if percentile is None or faces <= 0:
        return (f"<b>Rebuild error:</b> {error} of the full colour range (root mean square over the pixels). "
                "There are no held-out faces to compare it with for this model.")
    verdict = ("an unusual face for this model" if percentile >= 95 else
               "a typical face for this model" if percentile <= 80 else "a somewhat unusual face")
    share = 1 - percentile / 100  # of those faces, the share rebuilt at least this badly
    if share <= 0:
        rarity = "none of them was rebuilt this badly"
    elif percentile > 80:  # only an unusual face gets a rarity: "1 in 2 faces is this unusual" says nothing
        rarity = f"1 in {round(1 / share):,} faces is this unusual"
    else:
        rarity = f"{100 - math.floor(percentile)} % of them were rebuilt less well than this one"
    return (f"<b>Anomaly score: {verdict}.</b> Its rebuild error ({error} of the full colour range) is larger than "
            f"that of {math.floor(percentile)} % of {faces:,} faces the model never trained on — {rarity}.")


def _captioned(image: QWidget, caption: str, tooltip: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(image, 1)
    label = QLabel(caption)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(label)
    box.setToolTip(tooltip)
    return box


# Named after the family whose encoder made the report: the VAE's, or any other family's with an encoder (a VAE-GAN).
TITLE = "Your face, as the {encoder} sees it"


class EncodedFaceView(QGroupBox):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(TITLE.format(encoder="model"), parent)
        self.original = PixelImage("", 72)
        self.reconstruction = PixelImage("", 72)
        self.heat = PixelImage("", 72)
        self.samples = PixelImage("", 48)
        row = QHBoxLayout()
        row.addWidget(_captioned(self.original, "What went in", "The face, shrunk to the model's size."))
        row.addWidget(_captioned(self.reconstruction, "What came back",
                                 "The decoder's redrawing of the encoder's mean numbers (μ)."))
        heat_with_scale = QWidget()
        heat_row = QHBoxLayout(heat_with_scale)
        heat_row.setContentsMargins(0, 0, 0, 0)
        heat_row.addWidget(self.heat, 1)
        self.colour_bar = ColourBar(HEAT_STOPS, "0 %", f"≥ {ERROR_SCALE_TOP:.0f} %", ERROR_UNIT, beside=self.heat)
        heat_row.addWidget(self.colour_bar)
        row.addWidget(_captioned(heat_with_scale, f"Where it fails\n(error, {ERROR_UNIT})",
                                 "How far each rebuilt pixel's colour is from the original, in % of the range from "
                                 f"black to white (root mean square over red, green and blue). The scale is the same "
                                 f"for every face, so maps can be compared: a typical face stays dark, an unusual "
                                 f"one lights up; {ERROR_SCALE_TOP:.0f} % or more is the brightest yellow."))
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

    def show_report(self, report: dict, encoder: str = "model") -> None:
        """The report of the model whose family title is `encoder` ("VAE", "VAE-GAN")."""
        self.setTitle(TITLE.format(encoder=encoder))
        self.original.set_image(report["original"])
        self.reconstruction.set_image(report["reconstruction"])
        self.heat.set_image(report["heat_map"])
        self.colour_bar.update()
        self.samples.set_image(make_grid(np.asarray(report["samples"]), columns=len(report["samples"]), padding=1))
        self.anomaly.setText(anomaly_words(report["mse"], report.get("percentile"), report.get("faces_compared", 0)))
        self.show()
