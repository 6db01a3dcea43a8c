"""Exported pictures remember how they were made: the app's state rides in a PNG text chunk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.image_io import read_png_text, save_png

STATE_KEY = "latent-explorer-state"
FORMAT = 1


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


def read_state(path: str | Path) -> dict | None:
    """The state saved in one of our PNGs, or None for any other image (or an unreadable one)."""
    if Path(path).suffix.lower() != ".png" or not Path(path).is_file():  # opening a pipe would never return
        return None
    try:
        raw = read_png_text(path).get(STATE_KEY)
    except Exception:  # noqa: BLE001 - not a PNG we can read: treat it as a plain image, whose loader says why
        return None
    if raw is None:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) and state.get("format") == FORMAT else None
