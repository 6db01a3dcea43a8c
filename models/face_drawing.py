"""Drawing helpers for the face renderer: colours, curves and a pen that draws
shapes given in unit coordinates, rotated about a pivot.

Pure Pillow + NumPy (no torch): renderer worker processes import this.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw


def palette(colours: np.ndarray, t: float) -> tuple[int, int, int]:
    """Linear interpolation along a palette, t in [0, 1]."""
    x = min(max(t, 0.0), 1.0) * (len(colours) - 1)
    i = min(int(x), len(colours) - 2)
    c = colours[i] + (colours[i + 1] - colours[i]) * (x - i)
    return tuple(int(round(v)) for v in c)


def shade(rgb, f: float) -> tuple[int, int, int]:
    """A colour made darker (f < 1) or lighter (f > 1)."""
    return tuple(int(min(255, round(v * f))) for v in rgb[:3])


def mix(a, b, t: float) -> tuple[int, int, int]:
    """The colour a fraction t of the way from a to b."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a[:3], b[:3]))


def hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    """An RGB colour from hue, saturation and value, each in [0, 1]."""
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


# Unit circles (n, 2), starting at the right and running clockwise on screen
# (y points down): index n/2 is the left, 3n/4 the top.
CIRCLE = {n: np.stack([np.cos(np.linspace(0, 2 * np.pi, n, endpoint=False)),
                       np.sin(np.linspace(0, 2 * np.pi, n, endpoint=False))], 1)
          for n in (24, 48)}


def ellipse_points(cx, cy, rx, ry, n=48) -> np.ndarray:
    """n points (n, 2) around an ellipse, in CIRCLE's order."""
    return CIRCLE[n] * (rx, ry) + (cx, cy)


class Pen:
    """Draws shapes given in unit coordinates (0..1 of the canvas), optionally
    rotated around a pivot; RGBA fills blend, so alpha gives soft shading."""

    def __init__(self, image: Image.Image, supersample: int, pivot=(0.5, 0.5), degrees: float = 0.0):
        self.opaque = ImageDraw.Draw(image)
        self.blend = ImageDraw.Draw(image, "RGBA")  # slower: only for translucent fills
        self.scale = float(image.size[0])
        self.supersample = supersample
        a = math.radians(degrees)  # positive = clockwise on screen (y points down)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        pivot = np.array(pivot, np.float64)
        # Rotation about the pivot and scaling to pixels, folded into p @ m + offset.
        self.m = rot.T * self.scale
        self.offset = (pivot - pivot @ rot.T) * self.scale

    def _xy(self, pts) -> list[float]:
        return (np.asarray(pts, np.float64) @ self.m + self.offset).ravel().tolist()

    def px(self, width: float, minimum: float = 0.0) -> int:
        """A unit-coordinate width in canvas pixels, but at least `minimum` output
        pixels: at 32 px the lines that make a face (mouth, brows) must not fade."""
        return max(1, int(round(max(width * self.scale, minimum * self.supersample))))

    def unit(self, pixels: float) -> float:
        """Canvas pixels back to unit coordinates."""
        return pixels / self.scale

    def _draw(self, fill) -> ImageDraw.ImageDraw:
        return self.blend if len(fill) == 4 else self.opaque

    def polygon(self, pts, fill):
        self._draw(fill).polygon(self._xy(pts), fill=fill)

    def ellipse(self, cx, cy, rx, ry, fill, n=48):
        self._draw(fill).polygon(self._xy(ellipse_points(cx, cy, rx, ry, n)), fill=fill)

    def line(self, pts, width: int, fill, caps: bool = True):
        """A polyline of `width` canvas pixels, with round ends if `caps`."""
        # No joint="curve": Pillow does that in slow Python, and our polylines
        # are dense enough that the joints show no notches.
        xy, draw = self._xy(pts), self._draw(fill)
        draw.line(xy, fill=fill, width=width)
        if caps:
            r = width / 2.0
            for x, y in ((xy[0], xy[1]), (xy[-2], xy[-1])):
                draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _catmull_rom_basis(n: int) -> np.ndarray:
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    return 0.5 * np.hstack([-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3,
                            t + 4 * t**2 - 3 * t**3, -t**2 + t**3])  # (n, 4)


_BASIS = {n: _catmull_rom_basis(n) for n in (4, 5, 6)}


def smooth(points, per_segment: int = 6) -> np.ndarray:
    """A Catmull-Rom curve through the points (K,2) -> smooth polyline ((K-1)*per_segment+1, 2)."""
    p = np.asarray(points, np.float64)
    p = np.vstack([p[:1], p, p[-1:]])
    windows = p[np.arange(len(p) - 3)[:, None] + np.arange(4)]  # (K-1, 4, 2)
    curve = np.einsum("tj,sjd->std", _BASIS[per_segment], windows).reshape(-1, 2)
    return np.vstack([curve, p[-2:-1]])


