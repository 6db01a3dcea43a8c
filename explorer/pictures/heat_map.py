"""Colour a per-pixel error map (dark = rebuilt well, bright yellow = where the model fails), on a fixed scale.

The unit is the colour error of a pixel in % of the full range from black to white: the root mean square, over
red, green and blue, of (rebuilt - original), where the full range (2 on the models' -1...1 scale) is 100 %.
A pixel that should be white but came back black is 100 % off; one that is 5 % off looks right at a glance.
"""

from __future__ import annotations

import numpy as np

# A short 'inferno'-like ramp: readable on a projector and for the common colour-vision deficiencies.
HEAT_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float32)

# The top of the scale, in % of the full range, the same for every face and every model so that maps can be
# compared: a bright map means a badly rebuilt face, never merely "this face's worst pixel". The shipped 64 px VAE
# rebuilds held-out faces with a median pixel error of 1 %, 3 % at the 90th percentile and 10 % at the 99th
# (edges and eyes); colour-inverted faces come back 30-60 % off. At 25 % a typical face is dark with a few warm
# edges and an unusual one glows.
ERROR_SCALE_TOP = 25.0
ERROR_UNIT = "% of the full colour range"


def heat_map(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """float (H, W) >= 0 -> uint8 (H, W, 3); vmax (default: the map's own maximum) maps to the brightest colour."""
    values = np.asarray(values, dtype=np.float32)
    top = float(vmax) if vmax is not None else float(values.max(initial=0.0))
    scaled = np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)
    position = scaled * (len(HEAT_STOPS) - 1)
    low = np.floor(position).astype(int).clip(0, len(HEAT_STOPS) - 2)
    frac = (position - low)[..., None]
    colours = HEAT_STOPS[low] * (1 - frac) + HEAT_STOPS[low + 1] * frac
    return colours.round().astype(np.uint8)


def pixel_error_percent(rebuilt: np.ndarray, original: np.ndarray) -> np.ndarray:
    """rebuilt, original: float (3, H, W) in [-1, 1] -> float (H, W): each pixel's colour error, % of full range."""
    difference = np.asarray(rebuilt, dtype=np.float32) - np.asarray(original, dtype=np.float32)
    return np.sqrt(np.mean(difference ** 2, axis=0)) / 2.0 * 100.0


def error_heat_map(rebuilt: np.ndarray, original: np.ndarray) -> np.ndarray:
    """rebuilt, original: float (3, H, W) in [-1, 1] -> uint8 (H, W, 3) on the fixed scale 0...ERROR_SCALE_TOP."""
    return heat_map(pixel_error_percent(rebuilt, original), vmax=ERROR_SCALE_TOP)


def rms_percent(mse: float) -> float:
    """A mean squared error on the -1...1 scale as a root-mean-square colour error, % of full range."""
    return float(np.sqrt(max(mse, 0.0))) / 2.0 * 100.0
