"""What a slider direction measurably does to faces, and the plain words for it.

The same faces (EFFECT_FACES seeds) are decoded at -2 and +2 slider units along a direction (2 x its scale)
and measured: the feature network's 15 attributes (a yes/no one such as glasses as the share of faces it
sees it on) and, per region of a Synthetic Face (models/face_regions.py), the mean colour as lightness and
hue. Every change is divided by the spread (standard deviation) of the same measure over real faces, so a
smile and a hair colour share one scale: 1.0 means the faces at +2 differ from those at -2 as much as real
faces typically differ from one another.

Colours are judged from the measured pixels, never from an attribute's words: the colour attributes run
round the hue circle (red ... purple), so "more of the attribute" can mean yellow, or blue.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from models.data import ImageSet, synthetic_faces
from models.face_regions import REGIONS, region_colours, region_weights
from models.face_renderer import ATTRIBUTES
from models.feature_net import FeatureNet
from models.generative import DEFAULT_DECODING, Decoding

EFFECT_FACES = 16  # faces moved along each direction: the same faces at both ends, so few are enough
EFFECT_AMOUNT = 2.0  # slider units either side of each face
REFERENCE_FACES = 400  # real faces whose spread is the yardstick (fewer than 500 are drawn in-process)
REFERENCE_SEED = 1  # the held-out Synthetic Faces, which no shipped model trained on
# A named slider is shown only if going from -2 to +2 moves its own attribute, in the right direction, by at least
# the spread of that attribute among real faces: a change a person sees. Measured on the three shipped models (16
# faces): random directions of the same length move a given attribute by 0.12 / 0.33 / 0.43 spreads on average
# (diffusion / GAN / VAE), 0.23 / 0.65 / 0.97 at the 90th percentile; the sliders shown move theirs by 1.1-4.0, and
# the VAE's line for eyebrow angle, which visibly does nothing, by 0.3.
MIN_ATTRIBUTE_CHANGE = 1.0
NAME_MIN = 0.5  # a main direction whose largest effect is below this has no words: it changes little we can measure
DIFFER_MIN = 0.25  # an effect that tells two alike directions apart must be at least this large
# Some colours hardly vary among real faces (a background's lightness: spread 0.026); dividing by so small a spread
# would make a barely visible change look large, so a colour's spread counts as at least 0.08 (20 of 255 levels).
COLOUR_SPREAD_FLOOR = 0.08
GREY = 0.08  # HSV saturation below which a region's mean colour has no hue worth naming
# Hue names by HSV hue in degrees (upper bounds), and how a colour "more like it" is said.
HUES = ((15, "red"), (40, "orange"), (70, "yellow"), (160, "green"), (195, "turquoise"), (255, "blue"),
        (290, "purple"), (345, "pink"), (360, "red"))
MORE = {"red": "redder", "orange": "more orange", "yellow": "yellower", "green": "greener",
        "turquoise": "more turquoise", "blue": "bluer", "purple": "more purple", "pink": "pinker", "grey": "greyer"}
# Words for a change of attribute where its own words do not say what changes ("small" what?): a main direction
# named "small eyes <-> large eyes" needs no label to be understood.
WORDS = {"smile": ("frown", "smile"), "mouth_open": ("closed mouth", "open mouth"),
         "hair_length": ("short hair", "long hair"), "face_width": ("narrow face", "wide face"),
         "eye_size": ("small eyes", "large eyes"), "eye_spacing": ("close-set eyes", "wide-set eyes"),
         "eyebrow_angle": ("worried brows", "angry brows"), "nose_size": ("small nose", "large nose")}
_REGION_ATTRIBUTES = frozenset(REGIONS.values())  # their colour is named from pixels, not from their words


@dataclass(frozen=True)
class Effect:
    """One measured change along a direction, from -amount to +amount slider units."""

    quantity: str  # an attribute's name ("smile"), or "REGION.lightness" / "REGION.colour"
    label: str  # for people: "smile", "hair lightness", "background colour"
    size: float  # |change| in spreads of real faces (>= 0)
    low_words: str  # what the -amount end shows, compared with the other end ("frown", "darker hair")
    high_words: str
    values: tuple[float, float, float] | None = None  # attributes: mean at -amount, 0, +amount (colours: None)
    share: bool = False  # values are shares of faces (a yes/no attribute: glasses)
    scale: str = ""  # what the values mean: "from frown (-1) to broad smile (1)"

    @property
    def rises(self) -> bool:
        """The attribute is larger at +amount than at -amount (attributes only)."""
        return self.values is not None and self.values[2] > self.values[0]


# --------------------------------------------------------------------------------------------- measuring

@torch.no_grad()
def _measure(images: torch.Tensor, feature_net: FeatureNet | None, weights: torch.Tensor | None) -> torch.Tensor:
    """images (N, 3, H, W) in [-1, 1] -> (N, Q) float64: attributes, then per region lightness and two hue axes
    (no regions when `weights` is None: a model of other pictures than Synthetic Faces)."""
    columns = []
    if feature_net is not None:
        attributes = feature_net.predict(images).double().cpu()
        binary = torch.tensor([a.binary for a in ATTRIBUTES])
        columns.append(torch.where(binary, (attributes >= 0.5).double(), attributes))
    if weights is None:
        return torch.cat(columns, 1)
    rgb = region_colours(images.cpu(), weights).double()  # (N, R, 3)
    r, g, b = rgb.unbind(-1)
    # Lightness and the two axes of the hue plane (red-cyan, green-blue), a linear and invertible view of RGB.
    colour = torch.stack([(r + g + b) / 3, r - (g + b) / 2, (g - b) * math.sqrt(3) / 2], -1)
    columns.append(colour.flatten(1))
    return torch.cat(columns, 1)


def reference_faces(size: int) -> ImageSet:
    """The real faces whose spread is the yardstick (drawn once, then read from the cache)."""
    return synthetic_faces(REFERENCE_FACES, size, REFERENCE_SEED)


def real_spread(faces: ImageSet, feature_net: FeatureNet | None, size: int, regions: bool = True) -> torch.Tensor:
    """(Q,) standard deviation of every measure over real faces; a region's two hue axes share one spread."""
    images = faces.batch(range(len(faces)))
    if images.shape[-1] != size:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                                                 align_corners=False)
    measured = _measure(images.to(_device(feature_net)), feature_net, region_weights(size) if regions else None)
    spread = measured.std(0)
    if regions:
        colours = spread[-3 * len(REGIONS):].view(len(REGIONS), 3)
        colours[:, 1:] = colours[:, 1:].pow(2).mean(1, keepdim=True).sqrt()
        colours.clamp_(min=COLOUR_SPREAD_FLOOR)
    return spread.clamp_min(1e-6)


def _device(feature_net: FeatureNet | None) -> torch.device:
    return next(feature_net.parameters()).device if feature_net is not None else torch.device("cpu")


def measure_effects(model, directions: Sequence, feature_net: FeatureNet | None, spread: torch.Tensor, *,
                    seeds: Sequence[int], amount: float = EFFECT_AMOUNT, batch: int = 64,
                    decoding: Decoding = DEFAULT_DECODING, regions: bool = True) -> Iterator[tuple[str, int]]:
    """Decode the faces of `seeds` at -amount, 0 and +amount along each direction (.vector, .scale) and measure them.

    A generator of (message, work units: one per decoding step of a batch); it returns one list of Effects per
    direction, largest first. Faces are decoded `batch` at a time whatever direction they belong to (a CPU draws
    64 faces in half the time per face that it draws 16). `decoding` goes to model.decode_steps (a family that
    decodes in steps: the analysis's DDIM steps).
    """
    weights = region_weights(model.image_size) if regions else None
    z = model.latents_for_seeds(seeds)
    moved = [z] + [z + sign * (d.vector * (d.scale * amount)).to(z) for d in directions for sign in (-1, 1)]
    latents = torch.cat(moved)
    parts = []
    for start in range(0, len(latents), batch):
        stop = min(start + batch, len(latents))
        what = f"Checking the directions on {len(seeds)} faces: {stop:,} of {len(latents):,} drawn"
        images = None
        for progress in model.decode_steps(latents[start:stop], decoding):
            images = progress.image
            yield what + (f" (step {progress.done} of {progress.total})" if progress.total > 1 else ""), 1
        parts.append(_measure(images, feature_net, weights))
    measured = torch.cat(parts).view(len(moved), len(z), -1)  # (1 + 2 * directions, faces, Q)
    return [effects(measured[1 + 2 * i], measured[0], measured[2 + 2 * i], spread, feature_net is not None, regions)
            for i in range(len(directions))]


def effect_batches(directions: int, faces: int, batch: int = 64) -> int:
    """How many batches measure_effects decodes."""
    return -(-(1 + 2 * directions) * faces // batch)


# --------------------------------------------------------------------------------------------- words

def hue_name(rgb: Sequence[float]) -> str:
    """A colour's hue in one word ("red", "blue", ... or "grey"): rgb in [0, 1]."""
    h, s, _ = colorsys.rgb_to_hsv(*(min(max(float(c), 0.0), 1.0) for c in rgb))
    if s < GREY:
        return "grey"
    return next(name for top, name in HUES if h * 360 < top)


def _rgb(colour: torch.Tensor) -> list[float]:
    """The inverse of _measure's colour view: (lightness, c1, c2) -> RGB."""
    light, c1, c2 = (float(v) for v in colour)
    return [light + 2 * c1 / 3, light - c1 / 3 + c2 / math.sqrt(3), light - c1 / 3 - c2 / math.sqrt(3)]


def colour_words(region: str, low_rgb: Sequence[float], high_rgb: Sequence[float]) -> tuple[str, str]:
    """How the two ends' mean colours of a region differ: ("bluer background", "yellower background")."""
    low, high = hue_name(low_rgb), hue_name(high_rgb)
    if low != high:
        return f"{MORE[low]} {region}", f"{MORE[high]} {region}"
    if low == "grey":
        return "", ""
    saturation = [colorsys.rgb_to_hsv(*(min(max(c, 0.0), 1.0) for c in rgb))[1] for rgb in (low_rgb, high_rgb)]
    more = f"{MORE[low]} {region}"
    return (more, f"paler {region}") if saturation[0] > saturation[1] else (f"paler {region}", more)


def effects(low: torch.Tensor, base: torch.Tensor, high: torch.Tensor, spread: torch.Tensor,
            attributes: bool = True, regions: bool = True) -> list[Effect]:
    """Effects from measures (N, Q) at -amount, 0 and +amount (attribute columns first when `attributes`, then
    the regions' colours when `regions`)."""
    lo, mid, hi = low.mean(0), base.mean(0), high.mean(0)
    found, column = [], 0
    if attributes:
        for a in ATTRIBUTES:
            rising = float(hi[column]) >= float(lo[column])
            low_words, high_words = WORDS.get(a.name, (a.low_words, a.high_words))
            words = (low_words, high_words) if rising else (high_words, low_words)
            scale = "" if a.binary else f"from {a.low_words} ({a.low:g}) to {a.high_words} ({a.high:g})"
            found.append(Effect(a.name, a.label.lower(), float((hi[column] - lo[column]).abs() / spread[column]),
                                *words, (float(lo[column]), float(mid[column]), float(hi[column])), a.binary, scale))
            column += 1
    for region in REGIONS if regions else ():
        light = slice(column, column + 1)
        change = float(hi[column] - lo[column])
        words = (f"darker {region}", f"lighter {region}") if change >= 0 else (f"lighter {region}", f"darker {region}")
        found.append(Effect(f"{region}.lightness", f"{region} lightness",
                            abs(change) / float(spread[light]), *words))
        hue = slice(column + 1, column + 3)
        size = float((hi[hue] - lo[hue]).norm() / spread[hue][0])
        words = colour_words(region, _rgb(lo[column:column + 3]), _rgb(hi[column:column + 3]))
        found.append(Effect(f"{region}.colour", f"{region} colour", size, *words))
        column += 3
    return sorted(found, key=lambda e: -e.size)


def telling(effects_: Sequence[Effect], own: str | None = None) -> list[Effect]:
    """The effects worth showing, largest first: colours from pixels, not from the colour attributes' words.

    For an attribute's own direction (`own`), its own attribute comes first whatever it is.
    """
    first = [e for e in effects_ if e.quantity == own]
    rest = [e for e in effects_ if e.quantity != own and e.quantity not in _REGION_ATTRIBUTES
            and e.low_words and e.high_words]
    return first + rest


def _joined(parts: Sequence[Effect]) -> tuple[str, str]:
    return ", ".join(e.low_words for e in parts), ", ".join(e.high_words for e in parts)


def unique_words(effect_lists: Sequence[Sequence[Effect]]) -> list[tuple[str, str]]:
    """(low, high) words for each direction, from its largest effect; never the same pair twice.

    When a direction's words are already taken, the effect that best tells it apart is added: its largest one
    that is not among the leading effects of the direction that took them.
    """
    taken: dict[frozenset[str], Sequence[Effect]] = {}
    out = []
    for found in effect_lists:
        found = [e for e in found if e.low_words and e.high_words]
        if not found or found[0].size < NAME_MIN:
            out.append(("", ""))
            continue
        parts = [found[0]]
        while frozenset(_joined(parts)) in taken:
            rival = {e.quantity for e in taken[frozenset(_joined(parts))][:3]}
            spare = [e for e in found if e not in parts]
            extra = next((e for e in spare if e.size >= DIFFER_MIN and e.quantity not in rival), None)
            extra = extra or next(iter(spare), None)
            if extra is None:
                parts = []
                break
            parts.append(extra)
        words = _joined(parts) if parts else ("", "")
        if parts:
            taken[frozenset(words)] = found
        out.append(words)
    return out


def moves_its_attribute(effects_: Sequence[Effect], attribute: str) -> bool:
    """The measured change of `attribute` along its own direction is large enough and in the right direction."""
    own = next((e for e in effects_ if e.quantity == attribute), None)
    return own is not None and own.rises and own.size >= MIN_ATTRIBUTE_CHANGE


# --------------------------------------------------------------------------------------------- saving

def effect_meta(e: Effect) -> dict[str, Any]:
    """An Effect as JSON-able metadata."""
    return {"quantity": e.quantity, "label": e.label, "size": e.size, "low_words": e.low_words,
            "high_words": e.high_words, "values": None if e.values is None else list(e.values), "share": e.share,
            "scale": e.scale}


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError
    return float(value)


def read_effect(meta: Any) -> Effect:
    """An Effect from its metadata; ValueError (or KeyError, TypeError) when anything is off."""
    texts = [meta[k] for k in ("quantity", "label", "low_words", "high_words", "scale")]
    values, share = meta["values"], meta["share"]
    if not all(isinstance(t, str) for t in texts) or not texts[0] or not isinstance(share, bool):
        raise ValueError
    size = _finite(meta["size"])
    if size < 0 or not (values is None or (isinstance(values, list) and len(values) == 3)):
        raise ValueError
    values = None if values is None else tuple(_finite(v) for v in values)
    if share and (values is None or not all(0.0 <= v <= 1.0 for v in values)):
        raise ValueError
    return Effect(texts[0], texts[1], size, texts[2], texts[3], values, share, texts[4])
