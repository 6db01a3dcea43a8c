"""Where the background, skin, hair and shirt are in a Synthetic Face, found from the renderer itself.

A region is where the pixels change when only that region's colour attribute is redrawn (counterfactual
redraws of the same faces): the pixels that change in nearly every face, and with no other region's colour.
Faces differ in width, tilt and hair length, so what is left is each region's dependable core: background
around the head, skin of the lower face, hair on the crown, the shirt below the neck.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES, face_rng, random_attributes, render_face

# Each region and the attribute that sets its colour.
REGIONS: dict[str, str] = {"background": "background_hue", "skin": "skin_tone", "hair": "hair_color",
                           "shirt": "shirt_hue"}
MASK_SIZE = 64  # regions are found at this size and resized to a model's: where they are does not depend on it
MASK_FACES = 48  # enough for a stable mask: a pixel kept in 95 % of 48 faces is one that nearly always is
MASK_SEED = 7_000_003  # a Synthetic Faces seed of its own, used for nothing else
CHANGED = 24  # a redraw changed a pixel when some channel moved by more than this (of 255)
ALWAYS, NEVER = 0.95, 0.05  # a region's pixel changes with its colour in >= 95 % of faces, with others' in <= 5 %


def _redrawn(attributes: np.ndarray, name: str) -> np.ndarray:
    """The same attributes with `name` moved half its range on (wrapping round): a clearly different colour."""
    i = ATTRIBUTE_NAMES.index(name)
    a, out = ATTRIBUTES[i], attributes.copy()
    span = a.high - a.low
    out[i] = a.low + (attributes[i] - a.low + span / 2) % span
    return out


@functools.lru_cache(maxsize=8)
def _masks_at(size: int) -> torch.Tensor:
    changed = np.zeros((len(REGIONS), size, size))
    for k in range(MASK_FACES):
        attributes = random_attributes(face_rng(MASK_SEED, k))
        base = np.asarray(render_face(attributes, size), np.int16)
        for r, name in enumerate(REGIONS.values()):
            other = np.asarray(render_face(_redrawn(attributes, name), size), np.int16)
            changed[r] += np.abs(other - base).max(-1) > CHANGED
    share = changed / MASK_FACES
    masks = [(share[r] >= ALWAYS) & (np.delete(share, r, axis=0) <= NEVER).all(0) for r in range(len(REGIONS))]
    return torch.from_numpy(np.stack(masks).astype(np.float32))


def region_weights(size: int) -> torch.Tensor:
    """(R, size, size) float weights summing to 1 per region, in the order of REGIONS."""
    masks = _masks_at(MASK_SIZE)[None]
    if size != MASK_SIZE:
        mode = "area" if size < MASK_SIZE else "nearest"
        masks = F.interpolate(masks, size=(size, size), mode=mode)
    masks = masks[0]
    if size < MASK_SIZE:  # a small face: keep only pixels mostly inside the region, as at full size
        masks = masks * (masks >= 0.5)
    empty = masks.flatten(1).sum(1) <= 0
    if empty.any():  # a face too small for the core of a region: its best pixel stands in
        best = _masks_at(MASK_SIZE)[None]
        best = F.interpolate(best, size=(size, size), mode="area")[0].flatten(1)
        hot = F.one_hot(best.argmax(1), size * size).float().view(-1, size, size)
        masks = torch.where(empty[:, None, None], hot, masks)
    return masks / masks.flatten(1).sum(1)[:, None, None]


def region_colours(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean colour of each region: images (N, 3, H, W) in [-1, 1] -> (N, R, 3) RGB in [0, 1]."""
    rgb = (images.float().clamp(-1, 1) + 1) / 2
    return torch.einsum("nchw,rhw->nrc", rgb, weights.to(rgb))
