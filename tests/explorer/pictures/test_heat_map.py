"""The "Where it fails" map: a per-pixel colour error in % of the full range, on one scale for every face."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.pictures.heat_map import ERROR_SCALE_TOP, HEAT_STOPS, error_heat_map, pixel_error_percent, rms_percent


def face_with_error(percent: float, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """An original (3, size, size) in [-1, 1] and a rebuild whose every pixel is `percent` % of the range off."""
    original = np.zeros((3, size, size), np.float32)
    return original + percent / 100 * 2, original


def brightness(image: np.ndarray) -> float:
    return float(image.astype(float).sum(-1).mean())


def test_the_error_is_in_percent_of_the_range_from_black_to_white():
    white, black = np.ones((3, 4, 4), np.float32), -np.ones((3, 4, 4), np.float32)
    assert np.allclose(pixel_error_percent(black, white), 100.0)
    assert np.allclose(pixel_error_percent(*face_with_error(10)), 10.0)
    assert rms_percent(0.04) == pytest.approx(10.0)  # mean squared error 0.04 on the -1...1 scale = 10 % RMS


def test_maps_of_different_faces_share_one_scale():
    good, bad = error_heat_map(*face_with_error(2)), error_heat_map(*face_with_error(20))
    # On each map's own scale both would be the brightest colour everywhere; on the shared one a face rebuilt
    # well stays dark and a face rebuilt badly glows.
    assert brightness(good) < brightness(bad) / 3
    assert np.array_equal(error_heat_map(*face_with_error(2 * ERROR_SCALE_TOP))[0, 0], HEAT_STOPS[-1])
    assert np.array_equal(error_heat_map(*face_with_error(0))[0, 0], HEAT_STOPS[0])
