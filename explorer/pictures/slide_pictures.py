"""Exported pictures fit for a slide: a title line over rows or columns of faces enlarged with crisp pixels, each
row or column named. Plain NumPy and Pillow, no Qt: the app's exports and `python main.py interpolate` share it."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FACE_SIZES = (256, 512, 768, 1024)  # px per face offered for export
DEFAULT_FACE_SIZE = 512
MAX_SIDE = 16_384  # px: common image viewers and slide programs refuse larger pictures
MODE_WORDS = {"lerp": "straight line (lerp)", "slerp": "great circle (slerp)"}

INK = (25, 25, 25)
SOFT_INK = (95, 95, 95)
PAPER = (255, 255, 255)

# Pillow's built-in font is the same on every machine and needs no system fonts, but it has only ASCII and a few
# signs: typographic characters are written out, accents dropped, anything else shown as '?'.
_SPELLED_OUT = {"—": "-", "–": "-", "→": "to", "↔": "<->", "×": "x", "≥": ">=", "≤": "<=", "η": "eta",
                "ψ": "psi", "σ": "sigma", "μ": "mu", "β": "beta", "ε": "epsilon", "≈": "~"}


@dataclass(frozen=True)
class Label:
    """The name of one row or column: a large name ("VAE") and a smaller line under it (size and step)."""
    name: str
    detail: str = ""


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _glyph(ch: str) -> bytes:
    canvas = Image.new("L", (40, 40))
    ImageDraw.Draw(canvas).text((4, 4), ch, font=font(20), fill=255)
    return canvas.tobytes()


@functools.lru_cache(maxsize=4096)
def _drawable(ch: str) -> bool:
    return ch == " " or _glyph(ch) != _glyph("\U000f0000")  # a private-use character: the font's 'missing' box


def plain_text(text: str) -> str:
    """`text` in the characters the built-in font can draw ('Diffusion · 32 px', 'x0', 'eta', 'Jose.png')."""
    text = "".join(_SPELLED_OUT.get(c, c) for c in text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if _drawable(c) else "?" for c in text)


def _lines(text: str, size: int, width: int) -> list[str]:
    """`text` broken into lines no wider than `width` px (at word breaks, or inside a word too long for a line)."""
    f, lines, line = font(size), [], ""
    for word in plain_text(text).split():
        while f.getlength(word) > width and len(word) > 1:  # a long file name: break it where it must
            cut = 1
            while cut < len(word) and f.getlength(word[:cut + 1]) <= width:
                cut += 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        trial = f"{line} {word}".strip()
        if line and f.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines or [""]


@dataclass(frozen=True)
class _Text:
    """Lines of one size and colour, laid out: `height` px tall, `width` px wide at most."""
    lines: tuple[str, ...]
    size: int
    colour: tuple[int, int, int]

    @property
    def line_height(self) -> int:
        return round(self.size * 1.25)

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines) if any(self.lines) else 0

    @property
    def width(self) -> int:
        return max((round(font(self.size).getlength(line)) for line in self.lines), default=0)

    def draw(self, draw: ImageDraw.ImageDraw, x: int, y: int, centred: bool = False) -> int:
        """Draw at (x, y), the top left (or the top middle when centred); returns the y under the last line."""
        for line in self.lines:
            draw.text((x, y), line, font=font(self.size), fill=self.colour, anchor="ma" if centred else "la")
            y += self.line_height
        return y


def _text(text: str, size: int, width: int, colour=INK) -> _Text:
    return _Text(tuple(_lines(text, size, max(width, size))) if text else (), size, colour)


def _label(label: Label, name_size: int, width: int) -> list[_Text]:
    return [_text(label.name, name_size, width), _text(label.detail, max(10, name_size * 4 // 7), width, SOFT_INK)]


def enlarge(face: np.ndarray, size: int) -> np.ndarray:
    """uint8 (h, w, 3) -> uint8 (size, size, 3), every source pixel a crisp block (no smoothing)."""
    if face.shape[:2] == (size, size):
        return face
    return np.asarray(Image.fromarray(np.ascontiguousarray(face, dtype=np.uint8)).resize((size, size), Image.NEAREST))


def slide_picture(faces: Sequence[Sequence[np.ndarray]], face_size: int, title: str,
                  row_labels: Sequence[Label] = (), column_labels: Sequence[Label] = (),
                  caption: str = "") -> np.ndarray:
    """faces[row][column]: uint8 (h, w, 3) -> uint8 (H, W, 3): the title line(s), the column labels, the rows of
    faces enlarged to `face_size` px with their labels at the left, and a caption line under them.

    Text sizes follow the face size and the picture's width, so they stay readable when the picture fills a
    slide. A picture that would be wider or taller than MAX_SIDE px gets smaller faces instead."""
    rows, columns = len(faces), max(len(row) for row in faces)
    margin, gap = max(8, face_size // 16), max(2, face_size // 64)
    name_size = max(12, face_size // 8)
    row_text = [_label(label, name_size, face_size) for label in row_labels]
    label_width = max((t.width for block in row_text for t in block), default=0)
    label_width += margin if label_width else 0
    grid_width = columns * face_size + (columns - 1) * gap
    width = 2 * margin + label_width + grid_width
    title_text = _text(title, max(14, face_size // 12, width // 64), width - 2 * margin)
    column_text = [_label(label, name_size, face_size) for label in column_labels]
    column_height = max((sum(t.height for t in block) for block in column_text), default=0)
    caption_text = _text(caption, max(12, face_size // 14), width - 2 * margin, SOFT_INK)
    height = (2 * margin + title_text.height + margin // 2 + column_height + rows * face_size + (rows - 1) * gap
              + (caption_text.height + margin // 2 if caption else 0))
    if max(width, height) > MAX_SIDE and face_size > 16:
        smaller = max(16, int(face_size * MAX_SIDE / max(width, height)) - 1)
        return slide_picture(faces, smaller, title, row_labels, column_labels, caption)

    canvas = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(canvas)
    y = title_text.draw(draw, margin, margin) + margin // 2
    left = margin + label_width
    for c, block in enumerate(column_text):
        top = y
        for text in block:
            top = text.draw(draw, left + c * (face_size + gap) + face_size // 2, top, centred=True)
    y += column_height
    for r, row in enumerate(faces):
        top = y + r * (face_size + gap)
        if r < len(row_text):
            block_y = top + (face_size - sum(t.height for t in row_text[r])) // 2
            for text in row_text[r]:
                block_y = text.draw(draw, margin, block_y)
        for c, face in enumerate(row):
            canvas.paste(Image.fromarray(enlarge(face, face_size)), (left + c * (face_size + gap), top))
    if caption:
        caption_text.draw(draw, margin, y + rows * face_size + (rows - 1) * gap + margin // 2)
    return np.asarray(canvas)


def morph_title(models: Sequence[str], a: str, b: str, mode: str, frames: int) -> str:
    """'VAE, GAN and Diffusion: seed 1 to seed 2 - great circle (slerp), 8 frames'."""
    who = models[0] if len(models) == 1 else f"{', '.join(models[:-1])} and {models[-1]}"
    return f"{who}: {a} to {b} - {MODE_WORDS.get(mode, mode)}, {frames} frames"


def morph_strip(strips: Sequence[np.ndarray], labels: Sequence[Label], title: str, face_size: int) -> np.ndarray:
    """A morph as one picture: each model's frames (uint8 (F, h, w, 3)) in a row, named at its left when there
    are several models (one model is named in the title)."""
    return slide_picture([list(s) for s in strips], face_size, title, row_labels=labels if len(strips) > 1 else ())


def morph_frames(strips: Sequence[np.ndarray], labels: Sequence[Label], title: str,
                 face_size: int) -> list[np.ndarray]:
    """A morph as animation frames: frame i of every model side by side, each column named when there are
    several models."""
    count = min(len(s) for s in strips)
    names = labels if len(strips) > 1 else ()
    return [slide_picture([[s[i] for s in strips]], face_size, title, column_labels=names) for i in range(count)]
