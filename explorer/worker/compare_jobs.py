"""The Compare tab's jobs: measuring each loaded model, and same-seed sample grids.

Measuring a model means `models.evaluate` on held-out Synthetic Faces: minutes on a CPU, so the figures are
kept per checkpoint (by the file's hash) in the user's cache, and a shipped model's card (`NAME.card.json`
beside it) supplies the figures measured when it was made. "Recompute" measures again regardless.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.worker.inference_jobs import (
    Control,
    ModelStore,
    interpolate_models,
    shared_feature_net,
)
from explorer.worker.requests import Interpolate, Request, Result, Step
from models.atomic_file import atomic_write_bytes
from models.checkpoint import card_path
from models.cache import (
    cached_path,
    feature_net_digest,
    feature_net_tag,
    read_cached,
    write_cached,
)
from models.family import family_of
from models.generative import Decoding
from models.guidance_measures import guidance_hits_steps, knob_curve_steps, knob_of
from models.image_io import to_uint8
from models.progress import Progress

# Bump when the figures' definitions change, so old cached figures are not shown. 2: sharpness, sharpness_real,
# reconstruction_error and reconstruction_faces added (a shipped card without them is still shown: the tab says
# where they are missing, and Recompute measures them).
METRICS_VERSION = 2
# Faces per setting when the knob curve and the guidance hit rates are measured in the app (every setting is a
# separate batch of samples: five guidance scales of an iterative model at 2,000 would take far longer than the
# rest). 100 faces give precision and recall within about ±0.1 (1/sqrt(n)): enough to see the trade's direction,
# which is what the chart is for; the shipped cards' curves are measured on more.
KNOB_SAMPLES = 100
GUIDANCE_SAMPLES = 100
# Figures that older measurements lack; when present they must be numbers, else they are dropped as not measured.
LATER_FIGURES = ("sharpness", "sharpness_real", "reconstruction_error", "reconstruction_faces")


# ------------------------------------------------------------------------------------------------ requests
@dataclass(frozen=True)
class Measure(Request):
    """Every metric of one model. `recompute`: ignore cached and shipped figures."""
    model: str
    samples: int = 500
    recompute: bool = False
    slot_by = "model"  # the models are measured one after another, not instead of one another


@dataclass(frozen=True)
class StoredFigures(Request):
    """Figures measured before for this exact file, if any: quick, so it does not wait behind long jobs."""
    model: str
    slot_by = "model"


@dataclass(frozen=True)
class SampleGrid(Request):
    """The same seeds drawn by several models."""
    models: tuple[str, ...]
    seeds: tuple[int, ...]
    steps: int = 50  # diffusion: DDIM steps, as in the metrics


@dataclass(frozen=True)
class CompareMorph(Interpolate):
    """The Interpolate job under its own slot, so the Compare tab and the Interpolate tab never cancel each other."""


# ------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Measured(Result):
    model: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # where the figures come from, in words: "measured just now", "cached", "model card"


@dataclass(frozen=True)
class Sampled(Result):
    images: dict[str, np.ndarray] = field(default_factory=dict)  # model key -> uint8 (N, H, W, 3)


# -------------------------------------------------------------------------------------------------- caching
def cache_path(digest: str) -> Path:
    return cached_path("metrics", METRICS_VERSION, digest, ".json", feature_net_tag())


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _finite(value: Any) -> bool:
    """A real number: Python's json reads NaN and Infinity, which a chart or a sentence would show as "nan×"."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float (JSON allows any number of digits)
        return False


def _share(value: Any) -> bool:
    """A precision, recall or hit rate: a finite number from 0 to 1 (anything else would stretch a chart's axes
    off the page or overflow them)."""
    return _finite(value) and 0.0 <= value <= 1.0


def _usable(figures: Any) -> bool:
    keys = ("fd", "fd_real", "precision", "recall", "density", "coverage", "ppl", "seconds_per_image")
    return isinstance(figures, dict) and all(_finite(figures.get(k)) for k in keys)


def _numbers_only(figures: dict) -> dict:
    """The figures without a later figure that is not a finite number (a hand-edited or damaged card): the charts
    and the reading then treat it as not measured instead of failing on it or showing "nan"."""
    kept = {k: v for k, v in figures.items() if k not in LATER_FIGURES or _finite(v)}
    for key, clean in (("knob_curve", clean_knob_curve), ("guidance", clean_guidance)):
        if key in kept:
            value = clean(kept.pop(key))
            if value is not None:
                kept[key] = value
    return kept


def clean_knob_curve(curve: Any) -> dict | None:
    """A card's knob curve if it can be drawn — a knob's name and as many finite values, precisions and recalls,
    at least one — else None (not measured). A damaged real-faces point is dropped alone."""
    if not isinstance(curve, dict) or not isinstance(curve.get("knob"), str):
        return None
    lists = [curve.get(k) for k in ("values", "precision", "recall")]
    if not all(isinstance(v, list) and v for v in lists) or len({len(v) for v in lists}) != 1:
        return None
    values, shares = lists[0], lists[1] + lists[2]
    if not all(_finite(x) and abs(x) <= 1e6 for x in values) or not all(_share(x) for x in shares):
        return None
    if not _finite(curve.get("samples", 0)):
        return None
    return {k: v for k, v in curve.items() if k not in ("precision_real", "recall_real") or _share(v)}


def clean_guidance(guidance: Any) -> dict | None:
    """A card's guidance hit rates if they can be shown: wanted (name, value) pairs, the scale and the hit rate of
    them all; a damaged optional figure (base rate, recall, one attribute's rate) is dropped alone."""
    if not isinstance(guidance, dict) or not _finite(guidance.get("scale")) or not _share(guidance.get("all")):
        return None
    wants = guidance.get("wants")
    if not isinstance(wants, list) or not wants or not all(
            isinstance(w, (list, tuple)) and len(w) == 2 and isinstance(w[0], str) and _finite(w[1]) for w in wants):
        return None
    kept = {k: v for k, v in guidance.items()
            if k not in ("base_rate", "recall", "recall_unguided", "samples")
            or (_finite(v) if k == "samples" else _share(v))}
    for key in ("per_attribute", "base_per_attribute"):
        rates = kept.get(key)
        kept[key] = {n: r for n, r in rates.items() if _share(r)} if isinstance(rates, dict) else {}
    return kept


def stored_figures(checkpoint: Path, digest: str) -> tuple[dict | None, str]:
    """Figures measured before for exactly this file, through the current feature network: the user's cache
    first, then the model card."""
    net = feature_net_digest()
    for path, words in ((cache_path(digest), "measured earlier on this computer"),
                        (card_path(checkpoint), "from the model's card")):
        data = read_cached(path, _read_json)  # None when missing or damaged: measured again instead
        figures = data.get("evaluate") if isinstance(data, dict) else None
        if (isinstance(data, dict) and data.get("checkpoint_sha256") == digest
                and data.get("feature_net_sha256") == net and _usable(figures)):
            return _numbers_only(figures), words
    return None, ""


def save_figures(digest: str, figures: dict) -> None:
    text = json.dumps({"checkpoint_sha256": digest, "feature_net_sha256": feature_net_digest(),
                       "metrics_version": METRICS_VERSION, "evaluate": figures})
    write_cached(cache_path(digest), lambda path: atomic_write_bytes(path, text.encode("utf-8")), "metrics")


# ----------------------------------------------------------------------------------------------------- jobs
def measure(store: ModelStore, req: Measure, control: Control) -> Iterator[Result]:
    from models.evaluate import evaluate_steps
    start = time.perf_counter()
    entry = store.get(req.model)
    path = Path(entry.checkpoint.path)
    digest = entry.file_digest()  # None: the file is not the one loaded any more, and nothing is read or kept
    if not req.recompute and digest is not None:
        figures, words = stored_figures(path, digest)
        if figures is not None:
            yield Measured(req.id, req.slot, created=req.created, model=req.model, figures=figures, source=words)
            return
    if not entry.info.synthetic_faces:
        yield Measured(req.id, req.slot, created=req.created, model=req.model,
                       error="This model was trained on your own pictures; the measures compare with Synthetic "
                             "Faces, so they would say nothing about it.")
        return
    net = shared_feature_net()
    if net is None:
        yield Measured(req.id, req.slot, created=req.created, model=req.model,
                       error="The feature network in resources/ is missing or damaged, so nothing can be measured.")
        return
    net = net.to(store.device).eval()
    steps = evaluate_steps(entry.model, net, samples=req.samples)
    while True:
        if control.stop_requested():
            steps.close()
            yield Measured(req.id, req.slot, created=req.created, model=req.model, error="Stopped.")
            return
        try:
            progress = next(steps)
        except StopIteration as done:
            figures = done.value
            break
        words = progress.message[:1].upper() + progress.message[1:] + "…"
        yield Step(req.id, req.slot, progress=Progress(progress.done, progress.total, words))
    knobs = yield from knob_figures(entry.model, net, req, control)
    if knobs is None:
        yield Measured(req.id, req.slot, created=req.created, model=req.model, error="Stopped.")
        return
    figures.update(knobs)
    figures["device"] = str(store.device)
    figures["seconds_to_measure"] = round(time.perf_counter() - start, 1)
    if digest is not None:
        save_figures(digest, figures)
    yield Measured(req.id, req.slot, seconds=time.perf_counter() - start, created=req.created, model=req.model,
                   figures=figures, source=f"measured just now on {req.samples:,} samples")


def knob_figures(model, net, req: Measure, control: Control) -> Generator[Result, None, dict | None]:
    """The "quality for variety" curve of a family with a knob, and a guided family's hit rates, measured live on
    fewer faces than the other figures (KNOB_SAMPLES, GUIDANCE_SAMPLES; a shipped card's were measured on more).
    Yields progress; returns the figures to add (none for a family without a knob), or None when stopped."""
    family = family_of(model)
    found: dict[str, Any] = {}
    jobs = []
    if knob_of(family) is not None:
        n = min(req.samples, KNOB_SAMPLES)
        jobs.append(("knob_curve", "quality-for-variety curve", lambda n=n: knob_curve_steps(model, net, samples=n)))
    if family.guided:
        n = min(req.samples, GUIDANCE_SAMPLES)
        jobs.append(("guidance", "guidance hit rates", lambda n=n: guidance_hits_steps(model, net, samples=n)))
    for key, words, start in jobs:
        steps = start()
        while True:
            if control.stop_requested():
                steps.close()
                return None
            try:
                progress = next(steps)
            except StopIteration as done:
                found[key] = done.value
                break
            yield Step(req.id, req.slot, progress=Progress(progress.done, progress.total,
                                                           f"{words[:1].upper() + words[1:]}: {progress.message}…"))
    return found


def stored(store: ModelStore, req: StoredFigures, control: Control) -> Iterator[Result]:
    """Measured with empty figures when nothing was stored: the caller then asks for a Measure."""
    entry = store.get(req.model)
    digest = entry.file_digest()
    figures, words = stored_figures(Path(entry.checkpoint.path), digest) if digest is not None else (None, "")
    yield Measured(req.id, req.slot, created=req.created, model=req.model, figures=figures or {}, source=words)


def sample_grid(store: ModelStore, req: SampleGrid, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    images: dict[str, np.ndarray] = {}
    for i, key in enumerate(req.models):
        model = store.get(key).model
        yield Step(req.id, req.slot, progress=Progress(i, len(req.models), f"Drawing {len(req.seeds)} faces…"))
        # One seed at a time, exactly as Explore draws that seed, so a face here can be found again there.
        z = model.latents_for_seeds(req.seeds)
        with torch.no_grad():
            images[key] = to_uint8(model.decode(z, Decoding(sampler="ddim", steps=req.steps)))
        if control.stop_requested():
            break
    yield Sampled(req.id, req.slot, seconds=time.perf_counter() - start, created=req.created, images=images)


JOBS = {StoredFigures: stored, Measure: measure, SampleGrid: sample_grid, CompareMorph: interpolate_models}
