"""Colour a per-pixel error map (dark = rebuilt well, bright yellow = where the model fails)."""

from __future__ import annotations

import numpy as np

# A short 'inferno'-like ramp: readable on a projector and for the common colour-vision deficiencies.
_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float32)


def heat_map(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """float (H, W) >= 0 -> uint8 (H, W, 3); vmax (default: the map's own maximum) maps to the brightest colour."""
    values = np.asarray(values, dtype=np.float32)
    top = float(vmax) if vmax is not None else float(values.max(initial=0.0))
    scaled = np.clip(values / top, 0.0, 1.0) if top > 0 else np.zeros_like(values)
    position = scaled * (len(_STOPS) - 1)
    low = np.floor(position).astype(int).clip(0, len(_STOPS) - 2)
    frac = (position - low)[..., None]
    colours = _STOPS[low] * (1 - frac) + _STOPS[low + 1] * frac
    return colours.round().astype(np.uint8)
