"""Procedural cartoon faces: the attribute table and drawing one face.

Pure Pillow + NumPy, no torch, so that the worker processes that render the
Synthetic Faces data set start fast (importing torch costs seconds each).

Every face is fully described by its attribute vector: `render_face` is a pure
function of it. The face is drawn at `supersample` times the size and reduced
with a box filter, which anti-aliases every edge. The head is tilted by rotating
the *points* of every shape around the neck before drawing, so the head stays
as crisp as an upright one and the background never rotates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .face_drawing import CIRCLE, Pen, ellipse_points, hsv, mix, palette, shade, smooth

# Bump whenever the pixels of any face change: it is part of the cache key.
RENDERER_VERSION = 2


@dataclass(frozen=True)
class Attribute:
    """One ground-truth property of a face, with words for the GUI."""

    name: str
    label: str
    low: float
    high: float
    low_words: str
    high_words: str
    binary: bool = False


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("smile", "Smile", -1.0, 1.0, "frown", "broad smile"),
    Attribute("mouth_open", "Mouth open", 0.0, 1.0, "closed", "wide open"),
    Attribute("skin_tone", "Skin tone", 0.0, 1.0, "light", "dark"),
    Attribute("hair_color", "Hair colour", 0.0, 1.0, "black", "grey"),
    Attribute("hair_length", "Hair length", 0.0, 1.0, "very short", "down to the shoulders"),
    Attribute("face_width", "Face width", 0.0, 1.0, "narrow", "wide"),
    Attribute("eye_size", "Eye size", 0.0, 1.0, "small", "large"),
    Attribute("eye_spacing", "Eye spacing", 0.0, 1.0, "close together", "far apart"),
    Attribute("gaze", "Gaze", -1.0, 1.0, "looking left", "looking right"),
    Attribute("eyebrow_angle", "Eyebrow angle", -1.0, 1.0, "worried", "angry"),
    Attribute("glasses", "Glasses", 0.0, 1.0, "no glasses", "glasses", binary=True),
    Attribute("head_tilt", "Head tilt", -1.0, 1.0, "tilted left", "tilted right"),
    # Hue is circular; stopping at purple keeps low and high visibly different.
    Attribute("background_hue", "Background colour", 0.0, 0.8, "red", "purple"),
    Attribute("shirt_hue", "Shirt colour", 0.0, 0.8, "red", "purple"),
    Attribute("nose_size", "Nose size", 0.0, 1.0, "small", "large"),
)
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES)

_LOW = np.array([a.low for a in ATTRIBUTES], dtype=np.float32)
_HIGH = np.array([a.high for a in ATTRIBUTES], dtype=np.float32)
_INDEX = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}
GLASSES_PROBABILITY = 0.3
MAX_TILT_DEGREES = 15.0


def face_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of face `index` of data set `seed` (same on every machine)."""
    # SeedSequence hashes the pair, so neighbouring indices give unrelated streams
    # and no face depends on how many faces were drawn before it.
    return np.random.default_rng([int(seed), int(index)])


def random_attributes(rng: np.random.Generator) -> np.ndarray:
    """Draw one attribute vector: float32 (A,), each value within its attribute's range."""
    # Only rng.random() is used, a fixed 2 numbers per attribute: it is the most
    # stable stream NumPy offers, and adding an attribute at the end keeps the
    # earlier values of every face unchanged.
    u = rng.random((len(ATTRIBUTES), 2))
    t = u[:, 0].copy()  # position within each range, uniform by default
    # Most heads only lean a little: a triangular distribution centred on upright.
    t[_INDEX["head_tilt"]] = u[_INDEX["head_tilt"]].mean()
    # Slightly more closed mouths than open ones; they read better as "a face".
    t[_INDEX["mouth_open"]] = u[_INDEX["mouth_open"], 0] ** 1.4
    t[_INDEX["glasses"]] = float(u[_INDEX["glasses"], 0] < GLASSES_PROBABILITY)
    return (_LOW + t.astype(np.float32) * (_HIGH - _LOW)).astype(np.float32)


# ---------------------------------------------------------------- colours

SKIN = np.array([(255, 228, 206), (244, 203, 168), (226, 174, 132),
                 (192, 134, 94), (146, 94, 62), (98, 62, 44)], np.float32)
# Black -> browns -> auburn/red -> blonde -> grey, interpolated.
HAIR = np.array([(30, 26, 28), (72, 46, 32), (118, 76, 44), (150, 64, 36),
                 (196, 100, 46), (224, 182, 104), (236, 214, 156), (176, 174, 172),
                 (214, 214, 216)], np.float32)
IRIS = np.array([(84, 52, 32), (110, 74, 42), (96, 110, 60), (64, 112, 160),
                 (98, 122, 140)], np.float32)
INK = (40, 30, 34)


# ---------------------------------------------------------------- the face

CX, CY, HALF_HEIGHT = 0.5, 0.43, 0.245  # head centre and half height, canvas units


def render_face(attributes: np.ndarray, size: int = 64, supersample: int = 4) -> Image.Image:
    """Draw one face from an attribute vector (A,) -> RGB PIL image size x size."""
    values = np.asarray(attributes, np.float64).reshape(-1)
    if values.shape != (len(ATTRIBUTES),) or not np.isfinite(values).all():
        raise ValueError(f"expected {len(ATTRIBUTES)} finite attribute values, got {values.tolist()}")
    if size < 1 or supersample < 1:
        raise ValueError(f"size and supersample must be positive, got {size} and {supersample}")
    values = np.clip(values, _LOW, _HIGH)  # e.g. a model's prediction slightly out of range
    a = dict(zip(ATTRIBUTE_NAMES, values.tolist()))
    canvas = int(size) * int(supersample)
    image = _background(canvas, a["background_hue"])
    face = _Geometry(a)
    _body(Pen(image, supersample), face, a)
    head = Pen(image, supersample, pivot=(CX, CY + HALF_HEIGHT * 0.8), degrees=MAX_TILT_DEGREES * a["head_tilt"])
    _ears(head, face)  # behind the back hair: long hair covers them
    _hair_back(head, face, a)
    _head(head, face)
    _eyes(head, face, a)
    _brows(head, face, a)
    _nose(head, face, a)
    _mouth(head, face, a)
    _hair_front(head, face, a)
    if a["glasses"] >= 0.5:
        _glasses(head, face)
    # A box filter over each supersample x supersample block: exact anti-aliasing.
    return image.reduce(int(supersample)) if supersample > 1 else image


class _Geometry:
    """Positions and colours shared by the drawing steps (canvas units)."""

    def __init__(self, a: dict):
        self.hw = 0.17 + 0.075 * a["face_width"]  # head half width
        self.hh = HALF_HEIGHT
        self.skin = palette(SKIN, a["skin_tone"])
        self.skin_line = shade(self.skin, 0.70)
        self.hair = palette(HAIR, a["hair_color"])
        self.hair_line = shade(self.hair, 0.62) if sum(self.hair) > 150 else (12, 10, 12)
        self.iris = palette(IRIS, a["hair_color"] ** 0.8)
        self.eye_r = 0.030 + 0.026 * a["eye_size"]  # eye white half height
        self.eye_y = CY + 0.015
        wide = self.eye_r * 1.22
        dx = 0.5 * wide + self.hw * (0.22 + 0.30 * a["eye_spacing"])
        # Far-apart eyes must still sit inside the head.
        self.eye_dx = min(max(dx, wide + 0.006), self.hw - wide - 0.018)
        self.mouth_y = CY + 0.13


def _background(canvas: int, hue: float) -> Image.Image:
    """Soft vertical gradient of the background hue, lighter at the top."""
    top = np.array(hsv(hue, 0.22, 0.97), np.float32)
    bottom = np.array(hsv(hue, 0.48, 0.80), np.float32)
    t = np.linspace(0.0, 1.0, canvas, dtype=np.float32)[:, None, None]
    column = np.round(top + (bottom - top) * t).astype(np.uint8)  # (canvas, 1, 3)
    # Stretching a one-pixel-wide column is faster than filling the square in NumPy.
    return Image.fromarray(column).resize((canvas, canvas), Image.Resampling.NEAREST)


def _body(pen: Pen, f: _Geometry, a: dict):
    """Neck and shoulders in a shirt; these never tilt."""
    shirt = hsv(a["shirt_hue"], 0.55, 0.78)
    dark = shade(shirt, 0.72)
    neck = 0.065 + 0.03 * a["face_width"]  # neck half width
    line = pen.unit(pen.px(0.006, 0.5))
    pen.ellipse(0.5, 1.06, 0.47, 0.26, dark)
    pen.ellipse(0.5, 1.06 + line, 0.47 - line, 0.26 - line, shirt)
    # A round neckline: a U-shaped edge of darker shirt where the neck goes in.
    pen.ellipse(0.5, 0.80, neck + 0.022, 0.04, dark)
    pen.ellipse(0.5, 0.795, neck + 0.006, 0.03, f.skin)
    pen.polygon([(0.5 - neck - line, 0.55), (0.5 + neck + line, 0.55),
                 (0.5 + neck + line, 0.79), (0.5 - neck - line, 0.79)], f.skin_line)
    pen.polygon([(0.5 - neck, 0.55), (0.5 + neck, 0.55), (0.5 + neck, 0.8), (0.5 - neck, 0.8)], f.skin)
    pen.ellipse(0.5, 0.64, neck * 1.05, 0.035, (0, 0, 0, 40))  # shadow under the chin


def _head_outline(f: _Geometry, grow: float = 0.0) -> np.ndarray:
    """Egg-shaped head: an ellipse whose lower half narrows towards the chin."""
    c = CIRCLE[48]
    taper = 1.0 - 0.2 * np.clip(c[:, 1], 0, None) ** 2
    return np.stack([CX + (f.hw + grow) * c[:, 0] * taper, CY + (f.hh + grow) * c[:, 1]], 1)


def _back_hair_shape(half: float, top: float, bottom: float) -> np.ndarray:
    """Top half of an ellipse (left, over the top, to the right), then straight
    sides down to `bottom`, rounded corners and a gently curved lower edge."""
    arc = ellipse_points(CX, CY - 0.01, half, top, 48)[24:]  # left -> top -> right
    bottom = max(bottom, CY - 0.01)
    r = min(0.07, bottom - (CY - 0.01))
    corner = CIRCLE[24][:7] * r  # a quarter circle, right -> down
    right = corner + (CX + half - r, bottom - r)
    left = (corner * (-1, 1) + (CX - half + r, bottom - r))[::-1]
    sag = np.array([(CX + 0.5 * half, bottom + 0.075 * r), (CX, bottom + 0.12 * r),
                    (CX - 0.5 * half, bottom + 0.075 * r)])
    return np.vstack([arc, [(CX + half, CY - 0.01)], right, sag, left])


def _hair_back(pen: Pen, f: _Geometry, a: dict):
    """Hair behind the head: volume at the top, and down to the shoulders when long."""
    length = a["hair_length"]
    bottom = CY - 0.06 + 0.47 * length
    # Short hair hugs the head so the ears show; long hair is fuller and hides them.
    half = f.hw * (1.0 + 0.14 * length) + 0.01 + 0.03 * length
    line = pen.unit(pen.px(0.008, 0.6))
    pen.polygon(_back_hair_shape(half, f.hh * 1.09, bottom), f.hair_line)
    pen.polygon(_back_hair_shape(half - line, f.hh * 1.09 - line, bottom - line), f.hair)


def _ears(pen: Pen, f: _Geometry):
    """Outlined ears with a shaded inside."""
    line = pen.unit(pen.px(0.007, 0.6))
    for s in (-1, 1):
        ex = CX + s * f.hw * 0.97
        pen.ellipse(ex, CY + 0.03, 0.034 + line, 0.05 + line, f.skin_line)
        pen.ellipse(ex, CY + 0.03, 0.034, 0.05, f.skin)
        pen.ellipse(ex + s * 0.006, CY + 0.03, 0.016, 0.028, shade(f.skin, 0.85))


def _head(pen: Pen, f: _Geometry):
    """The outlined egg-shaped head and rosy cheeks."""
    line = pen.unit(pen.px(0.007, 0.6))
    pen.polygon(_head_outline(f, line), f.skin_line)
    pen.polygon(_head_outline(f), f.skin)
    for s in (-1, 1):  # a hint of rosy cheeks
        pen.ellipse(CX + s * (f.eye_dx + 0.01), f.mouth_y - 0.035, 0.04, 0.024, (235, 90, 90, 45), 24)


def _eyes(pen: Pen, f: _Geometry, a: dict):
    """Whites, irises that follow the gaze, pupils, a glint and an upper lid."""
    r, rx = f.eye_r, f.eye_r * 1.22
    line = pen.unit(pen.px(0.006, 0.5))
    for s in (-1, 1):
        ex = CX + s * f.eye_dx
        pen.ellipse(ex, f.eye_y, rx + line, r + line, INK)
        pen.ellipse(ex, f.eye_y, rx, r, (252, 252, 250))
        ix = ex + a["gaze"] * 0.5 * r  # the iris stays inside the white
        pen.ellipse(ix, f.eye_y + 0.05 * r, 0.64 * r, 0.64 * r, f.iris, 24)
        pen.ellipse(ix, f.eye_y + 0.05 * r, 0.3 * r, 0.3 * r, (10, 8, 10), 24)
        pen.ellipse(ix - 0.22 * r, f.eye_y - 0.2 * r, 0.13 * r, 0.13 * r, (255, 255, 255), 24)
        # A thicker line along the upper edge reads as lid and lashes.
        lid = ellipse_points(ex, f.eye_y, rx + line * 0.5, r + line * 0.5, 48)[26:47]
        pen.line(lid, pen.px(0.009, 0.6), INK)


def _brows(pen: Pen, f: _Geometry, a: dict):
    """Eyebrows: inner ends up = worried, inner ends down = angry."""
    tilt = a["eyebrow_angle"]
    y = f.eye_y - f.eye_r - 0.035
    colour = shade(f.hair, 0.55) if sum(f.hair) > 200 else f.hair_line
    for s in (-1, 1):
        inner = (CX + s * (f.eye_dx - f.eye_r * 1.1), y + 0.03 * tilt)
        middle = (CX + s * (f.eye_dx + f.eye_r * 0.1), y - 0.008)
        outer = (CX + s * (f.eye_dx + f.eye_r * 1.35), y + 0.006 - 0.018 * tilt)
        pen.line(smooth([inner, middle, outer], 5), pen.px(0.018, 1.0), colour)


def _nose(pen: Pen, f: _Geometry, a: dict):
    """A rounded nose: a shaded ball with a darker underside and a highlight."""
    n = 0.012 + 0.04 * a["nose_size"]
    y = CY + 0.068
    pen.ellipse(CX, y + n * 0.12, n, n * 0.8, shade(f.skin, 0.62))
    pen.ellipse(CX, y, n * 0.92, n * 0.72, shade(f.skin, 0.84))
    pen.ellipse(CX - n * 0.3, y - n * 0.25, n * 0.4, n * 0.28, mix(f.skin, (255, 255, 255), 0.35), 24)


_MOUTH_T = np.linspace(-1.0, 1.0, 25)


def _mouth(pen: Pen, f: _Geometry, a: dict):
    """Curves up (smile) or down (frown); opens to show a dark inside, teeth and tongue."""
    smile, opening = a["smile"], a["mouth_open"]
    w = 0.06 + 0.014 * smile + 0.12 * (f.hw - 0.17)
    t = _MOUTH_T
    bend = 1.0 - t**2
    x = CX + w * t
    upper = f.mouth_y + 0.042 * smile * (bend - 0.5) - 0.012 * opening * bend
    lower = upper + 0.075 * opening * bend**0.6
    lip = mix(f.skin_line, (150, 40, 55), 0.55)
    loop = np.vstack([np.stack([x, upper], 1), np.stack([x, lower], 1)[::-1]])
    pen.line(loop, pen.px(0.011, 0.9), lip)
    if opening > 0.03:
        pen.polygon(loop, (86, 24, 36))
        gap = lower - upper
        teeth = upper + np.minimum(0.016, 0.45 * gap)
        m = np.abs(t) <= 0.8
        pen.polygon(np.vstack([np.stack([x[m], upper[m]], 1), np.stack([x[m], teeth[m]], 1)[::-1]]),
                    (250, 250, 244))
        m = np.abs(t) <= 0.6
        tongue = np.maximum(lower - 0.4 * gap, teeth)
        pen.polygon(np.vstack([np.stack([x[m], tongue[m]], 1), np.stack([x[m], lower[m]], 1)[::-1]]),
                    (214, 96, 104))


def _hair_front(pen: Pen, f: _Geometry, a: dict):
    """The hair on top of the head: a cap ending in a side-swept fringe."""
    length = a["hair_length"]
    half, top = f.hw * 1.06 + 0.006, f.hh * 1.07
    temple = CY - 0.05 + 0.06 * length  # where the hair meets the sides of the face
    fringe = CY - 0.175 + 0.05 * length  # how low the fringe comes
    phi = math.asin(max(-1.0, min(1.0, (temple - CY) / top)))
    theta = np.linspace(math.pi - phi, 2 * math.pi + phi, 40)
    cap = np.stack([CX + half * np.cos(theta), CY + top * np.sin(theta)], 1)
    hw = f.hw
    hairline = smooth([
        cap[-1], (CX + 0.9 * hw, temple - 0.05), (CX + 0.7 * hw, fringe - 0.01),
        (CX + 0.3 * hw, fringe + 0.02), (CX - 0.1 * hw, fringe + 0.032),
        (CX - 0.5 * hw, fringe + 0.01), (CX - 0.85 * hw, temple - 0.04), cap[0]], 5)
    shape = np.vstack([cap, hairline[1:-1]])
    pen.line(np.vstack([shape, shape[:1]]), pen.px(0.012, 0.8), f.hair_line)
    pen.polygon(shape, f.hair)
    # A few strands give the hair texture when there is room to see them.
    strand = pen.px(0.006, 0.0)
    for k in (-0.45, 0.0, 0.4):
        pen.line(smooth([(CX + k * hw, CY - top * 0.92), (CX + (k - 0.12) * hw, fringe - 0.04)], 4),
                 strand, f.hair_line, caps=False)


def _glasses(pen: Pen, f: _Geometry):
    """Rounded-square rims around the eyes, a bridge and arms to the ears."""
    rx = min(max(f.eye_r * 1.22 + 0.02, 0.05), f.eye_dx - 0.012)
    ry = max(f.eye_r + 0.018, 0.045)
    c = CIRCLE[48]
    squircle = np.sign(c) * np.abs(c) ** 0.6
    rim, colour = pen.px(0.011, 0.9), (34, 28, 36)
    for s in (-1, 1):
        ex = CX + s * f.eye_dx
        lens = squircle * (rx, ry) + (ex, f.eye_y)
        pen.polygon(lens, (255, 255, 255, 50))
        pen.line(np.vstack([lens, lens[:1]]), rim, colour)
        pen.line([(ex + s * rx, f.eye_y - 0.3 * ry), (CX + s * f.hw, f.eye_y - 0.2 * ry)],
                 rim, colour)
    pen.line(smooth([(CX - f.eye_dx + rx, f.eye_y - 0.2 * ry), (CX, f.eye_y - 0.45 * ry),
                      (CX + f.eye_dx - rx, f.eye_y - 0.2 * ry)], 4), rim, colour)


def render_range(seed: int, start: int, stop: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Faces start..stop-1 of data set `seed`: uint8 (n, 3, size, size), float32 (n, A)."""
    # Lives here, not in data.py, so that worker processes never import torch.
    n = stop - start
    images = np.empty((n, 3, size, size), np.uint8)
    attributes = np.empty((n, len(ATTRIBUTES)), np.float32)
    for k in range(n):
        attributes[k] = random_attributes(face_rng(seed, start + k))
        images[k] = np.asarray(render_face(attributes[k], size)).transpose(2, 0, 1)
    return images, attributes
