"""The VAE's view of a face: the heat map's colour bar has numbers and units; the anomaly score is explained."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.panels.explore.encoded_face_view import EncodedFaceView, anomaly_words
from explorer.pictures.heat_map import ERROR_SCALE_TOP


def report(percentile: float | None, faces: int = 2000, mse: float = 0.01) -> dict:
    face = np.full((16, 16, 3), 128, np.uint8)
    return {"original": face, "reconstruction": face, "heat_map": face, "samples": np.stack([face] * 3),
            "mse": mse, "percentile": percentile, "faces_compared": faces}


@pytest.fixture()
def view(qtbot):
    widget = EncodedFaceView()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    return widget


def test_the_heat_map_has_a_colour_bar_with_numbers_and_units(view, qtbot):
    view.show_report(report(50.0))
    qtbot.waitExposed(view)
    bar = view.colour_bar
    assert bar.isVisible() and bar.width() >= 12 and bar.height() >= 40
    assert (bar.low, bar.high) == ("0 %", f"≥ {ERROR_SCALE_TOP:.0f} %")
    assert "% of the full colour range" in bar.toolTip()
    picture = bar.grab().toImage()
    rect = bar.bar_rect()
    top, bottom = picture.pixelColor(rect.center().x(), rect.top() + 2), picture.pixelColor(rect.center().x(),
                                                                                            rect.bottom() - 2)
    assert top.red() > 200 and top.green() > 200  # bright yellow: the top of the scale
    assert bottom.red() < 60 and bottom.green() < 60  # near black: no error
    texts = [label.text() for label in view.findChildren(type(view.anomaly))]
    assert any("% of the full colour range" in text for text in texts)  # the unit, under the map


def test_the_anomaly_sentence_says_what_the_percentile_means(view):
    view.show_report(report(87.4))
    text = view.anomaly.text()
    assert "larger than that of 87 % of 2,000 faces the model never trained on" in text
    assert "1 in 8 faces is this unusual" in text
    assert "5.0 % of the full colour range" in text  # mean squared error 0.01 = 5 % RMS


@pytest.mark.parametrize("percentile, words", [
    (99.95, "1 in 2,000 faces is this unusual"),
    (100.0, "none of them was rebuilt this badly"),
    (30.0, "70 % of them were rebuilt less well than this one"),
    (60.0, "40 % of them were rebuilt less well than this one"),  # a typical face gets no "1 in 2 is this unusual"
    (None, "no held-out faces to compare it with"),
])
def test_rare_and_common_faces_are_described_plainly(percentile, words):
    assert words in anomaly_words(0.01, percentile, 2000)
