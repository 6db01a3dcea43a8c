"""Exported pictures remember how they were made: the app's state rides in a PNG text chunk.

Reading it runs on the GUI thread (a dropped file), so it reads no more than it must: chunk headers, the state's
own chunk when it is no larger than MOST_STATE_BYTES, and nothing of the pixels. A 41 MB state chunk is refused
from its header in 0.5 ms (it used to freeze the window for 0.54 s: read whole, parsed, decoded); the largest state
the app writes (2.1 MB) is read and checked in about 12 ms, and any chunk under the cap in under 25 ms.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from explorer.pictures.picture_state import FORMAT, PictureState, StateError, parse_state
from models.image_io import save_png
from models.safetensors_file import open_regular

STATE_KEY = "latent-explorer-state"
# A state is at most about 2.1 MB (the largest latent, twice in base64: picture_state.MOST_NUMBERS); parsing 4 MB
# of it takes about 10 ms.
MOST_STATE_BYTES = 4 * 1024**2
MOST_CHUNKS = 1000  # chunks looked at before the pixels: a PNG has a handful; each costs a read and a seek
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def export_png(path: str | Path, image: np.ndarray, state: dict | None) -> Path:
    """Save uint8 (H, W, 3) enlarged with crisp pixels to at least 256 px, with the state (model, latent, seed,
    sliders) as JSON in an iTXt chunk, plus a human-readable description."""
    scale = max(1, 256 // max(image.shape[:2]))
    text = {"Software": "Latent Explorer"}
    if state is not None:
        text[STATE_KEY] = json.dumps({"format": FORMAT, **state})
        model = state.get("model", {})
        text["Description"] = (f"{model.get('label', 'a model')}, seed {state['seed']}" if "seed" in state
                               else f"Latent Explorer, {state.get('tab', '')} tab")
        if state.get("title"):  # the title line drawn on an exported strip or picture
            text["Title"] = str(state["title"])
    return save_png(path, image, text, scale=scale)


def read_state(path: str | Path) -> PictureState | None:
    """The state saved in one of our PNGs; None for any other picture (or one that cannot be read: its loader says
    why). A state that this app did not write raises StateError."""
    text = _state_text(Path(path))
    return None if text is None else parse_state(text)


def _state_text(path: Path) -> str | None:
    if path.suffix.lower() != ".png":
        return None
    try:
        # Only a regular file, opened without waiting: open() on a FIFO (also one swapped in after a check) would
        # block the window for ever. Missing, not a regular file, refused: the image loader says why.
        with open_regular(path, "picture") as file:
            return _find_state(file)
    except OSError:
        return None


def _find_state(file) -> str | None:
    """Walk the chunks before the pixels (where save_png writes text) for ours, skipping every other one unread."""
    if file.read(8) != PNG_SIGNATURE:
        return None
    key = STATE_KEY.encode("latin-1") + b"\0"
    for _ in range(MOST_CHUNKS):
        header = file.read(8)
        if len(header) < 8:
            return None
        length, kind = struct.unpack(">I4s", header)
        if kind in (b"IDAT", b"IEND"):
            return None
        start = file.read(min(length, len(key))) if kind in TEXT_CHUNKS else b""
        if start != key:
            file.seek(length - len(start) + 4, os.SEEK_CUR)  # the rest of the chunk and its CRC
            continue
        if length > MOST_STATE_BYTES:
            raise StateError(f"its saved state is too large ({length / 1024**2:,.1f} MB; this app writes at most "
                             f"{MOST_STATE_BYTES // 1024**2} MB)")
        body = file.read(length - len(key))
        crc = file.read(4)
        if len(body) != length - len(key) or crc != struct.pack(">I", zlib.crc32(kind + key + body)):
            raise StateError("its saved state is damaged (cut short, or changed after it was written)")
        return _chunk_text(kind, body)
    return None


def _chunk_text(kind: bytes, body: bytes) -> str:
    """The text of a tEXt (Latin-1), zTXt (compressed Latin-1) or iTXt (UTF-8, maybe compressed) chunk, after its
    keyword."""
    if kind == b"tEXt":
        return body.decode("latin-1")
    if kind == b"zTXt":
        return _inflate(body[1:]).decode("latin-1")
    compressed = body[:1] == b"\1"
    parts = body[2:].split(b"\0", 2)  # language tag, translated keyword, text
    if len(parts) != 3:
        raise StateError("its saved state is damaged (cut short, or changed after it was written)")
    text = _inflate(parts[2]) if compressed else parts[2]
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise StateError("its saved state is not UTF-8 text") from None


def _inflate(data: bytes) -> bytes:
    """Decompress at most MOST_STATE_BYTES: a few kilobytes can inflate to gigabytes."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, MOST_STATE_BYTES)
    except zlib.error:
        raise StateError("its saved state is damaged (its compressed text cannot be read)") from None
    if inflater.unconsumed_tail or len(text) >= MOST_STATE_BYTES:
        raise StateError(f"its saved state is too large (over {MOST_STATE_BYTES // 1024**2} MB unpacked; this app "
                         f"writes at most {MOST_STATE_BYTES // 1024**2} MB)")
    return text
