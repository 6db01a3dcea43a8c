"""Latent directions for the Explore sliders: principal directions, attribute directions, raw dimensions.

Every family is reduced to the same question: given latents z (N, *latent_shape) and what they look like
(image features, attribute labels), which straight lines through latent space change what? Regressions run
on "codes" L = T(z), a linear view of the latents. A family whose Family.directions is "encoder" (the VAE) gives
the posterior means of real faces, whose labels are known; one whose directions come from "samples" gives the
latents it drew from: a flat latent (the GAN's z) as it is, and a latent shaped like an image (diffusion's start
noise x_T) summed over 8x8 blocks per channel (a low-pass view: coarse noise decides a diffusion sample's colours
and layout, and 192 numbers are well-posed for ~1,000 samples where 3*H*W are not).
A coefficient vector w on the codes is lifted back by T's transpose (identity, or nearest-neighbour upsampling),
so z . lift(w) = L . w: sliding z along lift(w) moves exactly the quantity the regression saw.
An attribute's w is the way the codes move as the attribute grows (direction_fitting.pattern), which is
what a decoder follows, and a principal direction's w is the regression of the codes on its PCA score.

Then every direction is checked on faces (models/direction_effects.py): faces moved along it are decoded and
measured. A main direction is named by what it measurably changes most, and a named (attribute) direction is
shown only if it was measured to move its attribute.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from models.atomic_file import describe_os_error
from models.data import ImageSet
from models.direction_effects import (
    EFFECT_AMOUNT,
    EFFECT_FACES,
    MIN_ATTRIBUTE_CHANGE,
    Effect,
    effect_batches,
    effect_meta,
    measure_effects,
    moves_its_attribute,
    read_effect,
    real_spread,
    reference_faces,
    telling,
    unique_words,
)
from models.direction_fitting import attribute_fit, block_sums, lift_blocks, pca
from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES
from models.family import family_of
from models.feature_net import FeatureNet
from models.generative import Decoding, GenerativeModel
from models.progress import Progress
from models.safetensors_file import (
    SafetensorsFileError,
    UnreadableFile,
    read_header,
    read_json_metadata,
    read_tensors,
    shown_name,
    write_safetensors,
)

MAX_PRINCIPAL = 10
BLOCK_GRID = 8  # a latent shaped like an image is summed over a BLOCK_GRID x BLOCK_GRID grid of blocks per channel
# DDIM steps of a family that decodes in steps: enough for a sample's layout and colours, all the regressions use
DIFFUSION_STEPS = 10
BATCH = 64
MIN_R2 = 0.05  # an attribute direction predicting less than this on held-out latents is not even measured
ANALYSIS_FORMAT = 2  # 2: measured effects of every direction, and the attributes that have no slider
ANALYSIS_KIND = "latent_analysis"
# What the app studies to find a model's directions, and ship_model for the shipped ones alike: a family whose
# directions come from its encoder (the VAE) encodes ANALYSIS_FACES held-out faces (data.HELD_OUT_SEED); one whose
# directions come from samples (GAN, diffusion) draws ANALYSIS_SAMPLES faces.
ANALYSIS_FACES = 2000
ANALYSIS_SAMPLES = 1024


@dataclass
class Direction:
    key: str  # "attr:smile", "pc:0", "dim:5"
    label: str  # "Smile", "Direction 1", "Dimension 5"
    vector: torch.Tensor  # float32 CPU, shape = model.latent_shape, unit L2 norm
    scale: float  # latent distance of one slider unit: the std of the latents projected on `vector`
    low_words: str = ""  # what negative values look like
    high_words: str = ""
    score: float | None = None  # PCA: fraction of variance explained; attributes: held-out R² (glasses: accuracy)
    # What moving along it measurably does, largest first (an attribute's own effect first); see direction_effects.
    effects: list[Effect] = field(default_factory=list)
    effect_faces: int = 0  # how many faces the effects were measured on (0: not measured)
    effect_amount: float = 0.0  # the effects compare faces at -effect_amount and +effect_amount slider units


@dataclass
class LatentAnalysis:
    family: str
    principal: list[Direction]  # up to 10, most important first
    attributes: list[Direction]  # one per attribute that could be found (may be empty)
    dim_order: list[int]  # raw dimensions in display order (VAE: by KL, highest first; GAN: 0..n-1; diffusion: [])
    dim_kl: list[float]  # VAE: mean KL (nats) per dimension, indexed by dimension; [] otherwise
    recon_errors: list[float]  # VAE: sorted per-face mean squared reconstruction errors of the data faces
    notes: list[str]  # plain-language caveats for the GUI
    info: dict[str, Any] = field(default_factory=dict)  # how it was computed: samples, seed, labels, seconds
    # Attributes (labels, lower case) with no slider: no straight line predicts them, or the one that did was
    # measured not to move them. Empty when no attribute could be tried (no labels).
    missing_attributes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- directions

@dataclass
class Codes:
    """The latents as regression inputs: codes = T(z) (N, d), and lift = T transposed, back to latent_shape."""

    codes: torch.Tensor
    lift: Callable[[torch.Tensor], torch.Tensor]
    labels: torch.Tensor | None  # attributes (N, 15) in their units, or None
    white: bool = False  # codes drawn from a white prior (directions from samples) rather than an encoder's means

    def direction(self, w: torch.Tensor, key: str, label: str, score: float | None,
                  words: tuple[str, str] = ("", "")) -> Direction:
        full = self.lift(w)
        norm = float(full.norm().clamp_min(1e-30))
        scale = float((self.codes.double() @ w.double()).std()) / norm
        return Direction(key, label, (full / norm).float().contiguous(), max(scale, 1e-12), *words, score)


def principal_from_codes(space: Codes) -> list[Direction]:
    """PCA of the codes themselves (VAE posterior means); their words come from measuring them (name_principal)."""
    components, explained, _ = pca(space.codes, MAX_PRINCIPAL)
    return [space.direction(c, f"pc:{i}", f"Direction {i + 1}", float(e))
            for i, (c, e) in enumerate(zip(components, explained))]


def principal_from_features(space: Codes, features: torch.Tensor) -> list[Direction]:
    """GANSpace: PCA of what was generated, then the codes regressed on each principal score."""
    _, explained, scores = pca(features, MAX_PRINCIPAL)
    codes = space.codes.double() - space.codes.double().mean(0)
    # Scores are uncorrelated, so the multiple regression of the codes on them splits into one per score.
    coefs = (scores.T @ codes) / scores.pow(2).sum(0).clamp_min(1e-30)[:, None]
    return [space.direction(w, f"pc:{i}", f"Direction {i + 1}", float(e))
            for i, (w, e) in enumerate(zip(coefs, explained))]


def attribute_directions(space: Codes, seed: int = 0) -> tuple[list[Direction], list[str]]:
    """One direction per attribute the codes predict (held-out R² >= MIN_R2), and the labels of those they don't."""
    found, missing = [], []
    for i, attribute in enumerate(ATTRIBUTES):
        w, r2, score = attribute_fit(space.codes, space.labels[:, i], attribute.binary, space.white, seed=seed)
        if r2 < MIN_R2 or not torch.isfinite(w).all() or float(w.norm()) == 0.0:
            missing.append(attribute.label.lower())
            continue
        found.append(space.direction(w, f"attr:{attribute.name}", attribute.label, score,
                                     (attribute.low_words, attribute.high_words)))
    return found, missing


# --------------------------------------------------------------------------------------------- gathering

def _fit_size(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def _pixel_features(images: torch.Tensor) -> torch.Tensor:
    """Without a feature network, GANSpace looks at the images themselves, shrunk to 16x16."""
    return _fit_size(images, 16).flatten(1).cpu()


@torch.no_grad()
def _encoder_batch(model: GenerativeModel, images: torch.Tensor, feature_net: FeatureNet | None,
                   decoding: Decoding) -> dict[str, torch.Tensor]:
    """What the encoder makes of a batch: posterior means, KL per dimension, reconstruction errors (and labels).
    A family whose directions come from its encoder has a Gaussian posterior: model.posterior(images) -> (mu, sigma)."""
    images = images.to(model.device)
    mu, sigma = model.posterior(images)
    recon = model.decode(mu, decoding)
    logvar = 2 * sigma.clamp_min(1e-30).log()
    out = {"mu": mu, "kl": 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0 - logvar),
           "err": (recon - images).pow(2).flatten(1).mean(1)}
    if feature_net is not None:
        out["labels"] = feature_net.predict(images)
    return {k: v.double().cpu() for k, v in out.items()}


def _has_truth(faces: ImageSet | None) -> bool:
    return faces is not None and tuple(faces.attribute_names) == ATTRIBUTE_NAMES


def _encoder_gather(model, faces, feature_net, samples, seed, decoding, parts):
    """Posterior means (and KL, errors, labels) of the faces, or of images sampled from the prior."""
    n = len(faces) if faces is not None else samples
    labeller = None if _has_truth(faces) else feature_net
    for start in range(0, n, BATCH):
        stop = min(start + BATCH, n)
        if faces is not None:
            images = _fit_size(faces.batch(range(start, stop)), model.image_size)
        else:
            images = model.decode(model.latents_for_seeds(range(seed + start, seed + stop)), decoding)
        parts.append(_encoder_batch(model, images, labeller, decoding))
        yield f"Encoding {stop:,} of {n:,} {'faces' if faces is not None else 'samples'}", stop - start


@torch.no_grad()
def _describe_images(images: torch.Tensor, feature_net: FeatureNet | None) -> dict[str, torch.Tensor]:
    if feature_net is None:
        return {"features": _pixel_features(images)}
    return {"features": feature_net.features(images).cpu(), "labels": feature_net.predict(images).double().cpu()}


def _spatial(model: GenerativeModel) -> bool:
    """Whether the latents are shaped like an image (C, H, W), so that their codes are block sums. This follows from
    the shape rather than from how the family decodes: a flat latent cannot be summed over blocks, whatever the
    decoder, and an image-shaped one is too big to regress on as it is, whatever the decoder."""
    return len(model.latent_shape) > 1


def _generated_gather(model, feature_net, samples, seed, decoding, parts):
    """Sample latents from the prior, generate, and describe what was generated; one work unit per decoding step."""
    spatial = _spatial(model)
    for start in range(0, samples, BATCH):
        stop = min(start + BATCH, samples)
        z = model.latents_for_seeds(range(seed + start, seed + stop))
        images = None
        for progress in model.decode_steps(z, decoding):
            images = progress.image
            steps = f" (step {progress.done} of {progress.total})" if progress.total > 1 else ""
            yield f"Generating {stop:,} of {samples:,} samples{steps}", 1
        parts.append({"codes": block_sums(z.cpu(), block_grid(z.shape)) if spatial else z.double().cpu(),
                      **_describe_images(images, feature_net)})


def block_grid(shape: tuple[int, ...]) -> int:
    """Blocks per side a spatial latent is summed over: BLOCK_GRID, or one per position of a smaller latent (a
    latent diffusion model's may be 8 x 8 or, in tests, 4 x 4). The side must be a multiple of it."""
    side = int(shape[-1])
    return BLOCK_GRID if side % BLOCK_GRID == 0 else side


def _cat(parts: list[dict[str, torch.Tensor]], key: str) -> torch.Tensor | None:
    return torch.cat([p[key] for p in parts]) if parts and key in parts[0] else None


# --------------------------------------------------------------------------------------------- analysis

def _encoder_space(model, faces, parts, notes) -> tuple[Codes, list[Direction], dict[str, Any]]:
    mu = _cat(parts, "mu")
    labels = faces.attributes.double() if _has_truth(faces) else _cat(parts, "labels")
    space = Codes(mu, lambda w: w, labels)
    dim_kl = _cat(parts, "kl").mean(0)
    if faces is None:
        notes.append("No face images were given, so the directions come from images the model itself drew, "
                     "and there is no reconstruction error to compare a face with.")
    return space, principal_from_codes(space), {
        "dim_order": [int(i) for i in dim_kl.argsort(descending=True)], "dim_kl": dim_kl.tolist(),
        "recon_errors": sorted(_cat(parts, "err").tolist()) if faces is not None else []}


def _generated_space(model, parts, notes) -> tuple[Codes, list[Direction], dict[str, Any]]:
    spatial, shape = _spatial(model), tuple(model.latent_shape)
    grid = block_grid(shape)
    lift = (lambda w: lift_blocks(w, shape, grid)) if spatial else (lambda w: w)
    space = Codes(_cat(parts, "codes"), lift, _cat(parts, "labels"), white=True)
    if spatial:
        what = "starting noise" if family_of(model).iterative else "latents"
        notes.append(f"Directions change the coarse pattern of the {what} ({grid}x{grid} blocks "
                     "per colour), which decides a sample's colours and layout; fine details have no single direction.")
    if space.labels is None:
        notes.append("The principal directions were found from the pixels, since no feature network was available.")
    return space, principal_from_features(space, _cat(parts, "features")), {
        "dim_order": [] if spatial else list(range(shape[0])), "dim_kl": [], "recon_errors": []}


def _candidates(model, space: Codes, seed: int, notes: list[str]) -> tuple[list[Direction], list[str]]:
    """Attribute directions worth measuring, and the labels of the attributes no straight line predicts."""
    if space.labels is None:
        how = ("it has no encoder to read the faces' own labels from, and " if family_of(model).encoding != "encoder"
               else "no labelled Synthetic Faces were given, and ")
        notes.append(f"No attribute sliders: {how}the feature network that could label its images is not available.")
        return [], []
    found, missing = attribute_directions(space, seed)
    if missing:
        notes.append(f"No straight line in this model's latent space predicts {', '.join(missing)}, "
                     "so those have no slider.")
    return found, missing


def name_principal(principal: list[Direction]) -> None:
    """Words for each main direction from what it measurably changes most; no two directions get the same."""
    for d, (low, high) in zip(principal, unique_words([d.effects for d in principal]), strict=True):
        d.low_words, d.high_words = low, high


def keep_measured(attributes: list[Direction], faces: int, notes: list[str],
                  measurable: bool = True) -> tuple[list[Direction], list[str]]:
    """The attribute directions measured to move their attribute, and the labels of those that did not."""
    moves = [measurable and moves_its_attribute(d.effects, d.key.split(":", 1)[1]) for d in attributes]
    kept = [d for d, ok in zip(attributes, moves) if ok]
    failed = [d.label.lower() for d, ok in zip(attributes, moves) if not ok]
    if failed and not measurable:
        notes.append("The named sliders are hidden: without the feature network nobody can check that they "
                     "change what their names say.")
    elif failed:
        notes.append(f"Tried on {faces} of the model's own faces, the lines found for {', '.join(failed)} hardly "
                     f"changed them (less than {MIN_ATTRIBUTE_CHANGE:g}× the spread of real faces from "
                     f"−{EFFECT_AMOUNT:g} to +{EFFECT_AMOUNT:g}), "
                     "so those have no slider either.")
    return kept, failed


def _measure_directions(model, principal: list[Direction], candidates: list[Direction], feature_net: FeatureNet | None,
                        seeds: range, decoding: Decoding, regions: bool) -> Iterator[tuple[str, int]]:
    """Measure what every direction does (direction_effects) and keep it on the direction; (message, units) steps."""
    yield "Drawing real faces to measure against", 0
    spread = real_spread(reference_faces(model.image_size), feature_net, model.image_size, regions)
    directions = principal + candidates
    measured = yield from measure_effects(model, directions, feature_net, spread, seeds=seeds, batch=BATCH,
                                          decoding=decoding, regions=regions)
    for i, (d, found) in enumerate(zip(directions, measured, strict=True)):
        own = d.key.split(":", 1)[1] if i >= len(principal) else None  # an attribute's own effect goes first
        d.effects, d.effect_faces, d.effect_amount = telling(found, own), len(seeds), EFFECT_AMOUNT


def analyse_latent_space(model: GenerativeModel, *, faces: ImageSet | None, feature_net: FeatureNet | None,
                         samples: int = ANALYSIS_SAMPLES, seed: int = 0, diffusion_steps: int = DIFFUSION_STEPS,
                         effect_faces: int = EFFECT_FACES, regions: bool = True) -> Iterator[Progress]:
    """Find the Explore tab's directions, one step per batch; the last step's `result` is the LatentAnalysis.

    faces: held-out Synthetic Faces for a family whose directions come from its encoder (ground-truth labels), any
    size; diffusion_steps: the DDIM steps of a family that decodes in steps; feature_net labels
    generated images and measures what each direction does to effect_faces faces (seeds seed, seed+1, ...).
    regions: the model draws Synthetic Faces, so the colours of their background, skin, hair and shirt are
    measured too (a model of other pictures has none of those places).
    Stop early by not asking for the next step (or closing the generator).
    """
    start_time = time.perf_counter()
    family, parts, notes = family_of(model), [], []
    by_encoder = family.directions == "encoder"
    decoding = Decoding(sampler="ddim", steps=diffusion_steps)  # a one-pass decoder ignores it
    per_batch = diffusion_steps if family.iterative else 1  # decoding steps per batch of faces
    if by_encoder:
        n = len(faces) if faces is not None else samples
        total, work = n, _encoder_gather(model, faces, feature_net, samples, seed, decoding, parts)
    else:
        total = -(-samples // BATCH) * per_batch
        work = _generated_gather(model, feature_net, samples, seed, decoding, parts)
    most = effect_batches(MAX_PRINCIPAL + len(ATTRIBUTES), effect_faces, BATCH) * per_batch  # checking, at most
    done = 0
    for message, units in work:
        done += units
        yield Progress(done, total + most + 1, message)
    yield Progress(done, total + most + 1, "Finding directions")
    space, principal, dims = (_encoder_space(model, faces, parts, notes) if by_encoder
                              else _generated_space(model, parts, notes))
    candidates, missing = _candidates(model, space, seed, notes)

    checked = time.perf_counter()
    total = done + effect_batches(len(principal) + len(candidates), effect_faces, BATCH) * per_batch + 1
    seeds = range(seed, seed + effect_faces)
    for message, units in _measure_directions(model, principal, candidates, feature_net, seeds, decoding, regions):
        done += units
        yield Progress(done, total, message)
    name_principal(principal)
    attributes, failed = keep_measured(candidates, effect_faces, notes, measurable=feature_net is not None)

    result = LatentAnalysis(family.name, principal, attributes, notes=notes, missing_attributes=missing + failed,
                            **dims)
    # "diffusion_steps" keeps its name, so that analyses saved before read the same
    result.info = {"samples": len(faces) if by_encoder and faces is not None else samples, "seed": seed,
                   "labels": "ground truth" if by_encoder and _has_truth(faces)
                   else "feature network" if feature_net is not None else "none",
                   "diffusion_steps": diffusion_steps if family.iterative else None,
                   "effect_faces": effect_faces, "effect_amount": EFFECT_AMOUNT,
                   "min_attribute_change": MIN_ATTRIBUTE_CHANGE,
                   "effect_seconds": round(time.perf_counter() - checked, 2),
                   "seconds": round(time.perf_counter() - start_time, 2)}
    yield Progress(total, total, "Done", result=result)


# --------------------------------------------------------------------------------------------- saving

class AnalysisError(ValueError):
    """A saved analysis that cannot be used (damaged, or for another model); callers recompute it."""


def _direction_meta(d: Direction) -> dict[str, Any]:
    return {"key": d.key, "label": d.label, "scale": d.scale, "low_words": d.low_words,
            "high_words": d.high_words, "score": d.score, "effects": [effect_meta(e) for e in d.effects],
            "effect_faces": d.effect_faces, "effect_amount": d.effect_amount}


def save_analysis(path: str | os.PathLike, analysis: LatentAnalysis) -> Path:
    """Write an analysis atomically: vectors in safetensors, everything else as JSON metadata."""
    path = Path(path)
    banks = {"principal": analysis.principal, "attributes": analysis.attributes}
    tensors = {f"{bank}.{i}": d.vector.detach().float().cpu().contiguous()
               for bank, directions in banks.items() for i, d in enumerate(directions)}
    shape = next((list(t.shape) for t in tensors.values()), [])
    meta = {"format_version": ANALYSIS_FORMAT, "kind": ANALYSIS_KIND, "family": analysis.family,
            "latent_shape": shape, **{bank: [_direction_meta(d) for d in ds] for bank, ds in banks.items()},
            "dim_order": analysis.dim_order, "dim_kl": analysis.dim_kl, "recon_errors": analysis.recon_errors,
            "notes": analysis.notes, "info": analysis.info, "missing_attributes": analysis.missing_attributes}
    try:
        return write_safetensors(path, tensors, meta)
    except OSError as exc:
        raise AnalysisError(f"Could not save '{path.name}': {describe_os_error(exc)}.") from None


def _numbers(values: Any) -> list[float]:
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise ValueError
    return [float(v) for v in values]


def _direction(meta: dict[str, Any], vector: torch.Tensor, shape: list[int], attribute: bool) -> Direction:
    texts = [meta[k] for k in ("key", "label", "low_words", "high_words")]
    score, faces = meta["score"], meta["effect_faces"]
    if (not all(isinstance(t, str) for t in texts) or list(vector.shape) != shape
            or not torch.isfinite(vector).all() or abs(float(vector.norm()) - 1) > 1e-3
            or not (score is None or isinstance(score, (int, float)))
            or not isinstance(meta["effects"], list) or isinstance(faces, bool) or not isinstance(faces, int)):
        raise ValueError
    scale, amount = _numbers([meta["scale"], meta["effect_amount"]])
    effects = [read_effect(e) for e in meta["effects"]]
    if scale <= 0 or faces < 0 or amount < 0 or (effects and (faces < 1 or amount <= 0)):
        raise ValueError
    # A named slider is shown because it was measured to move its attribute: its own effect comes first.
    if attribute and (not effects or effects[0].quantity != texts[0].split(":", 1)[-1] or effects[0].values is None):
        raise ValueError
    return Direction(texts[0], texts[1], vector.float(), scale, texts[2], texts[3],
                     None if score is None else float(score), effects, faces, amount)


def load_analysis(path: str | os.PathLike, latent_shape: tuple[int, ...] | None = None) -> LatentAnalysis:
    """Read and validate a saved analysis (optionally for a model with this latent shape), or AnalysisError."""
    path = Path(path)
    try:
        header = read_header(path, "latent analysis")  # a regular file, a capped header, an exact size
        meta = read_json_metadata(header, "latent analysis")
        if meta["kind"] != ANALYSIS_KIND or meta["format_version"] != ANALYSIS_FORMAT:
            raise ValueError
        shape = meta["latent_shape"]
        if not isinstance(shape, list) or not all(isinstance(n, int) and 0 < n <= 1 << 20 for n in shape):
            raise ValueError
        tensors = read_tensors(header, "latent analysis")
        banks = {bank: [_direction(m, tensors[f"{bank}.{i}"], shape, bank == "attributes")
                        for i, m in enumerate(meta[bank])] for bank in ("principal", "attributes")}
        if len(tensors) != sum(len(b) for b in banks.values()):
            raise ValueError
        dim_kl = _numbers(meta["dim_kl"])
        dim_order = [int(i) for i in _numbers(meta["dim_order"])]
        if dim_kl and sorted(dim_order) != list(range(len(dim_kl))):
            raise ValueError
        missing = meta["missing_attributes"]
        if (not all(isinstance(n, str) for n in meta["notes"]) or not isinstance(meta["info"], dict)
                or not isinstance(missing, list) or not all(isinstance(n, str) for n in missing)):
            raise ValueError
        analysis = LatentAnalysis(str(meta["family"]), banks["principal"], banks["attributes"], dim_order, dim_kl,
                                  _numbers(meta["recon_errors"]), list(meta["notes"]), meta["info"], list(missing))
    except UnreadableFile as exc:
        raise AnalysisError(f"A saved latent analysis cannot be read: {exc}") from None
    except SafetensorsFileError as exc:
        raise AnalysisError(f"A saved latent analysis is damaged or not one of ours: {exc}") from None
    except Exception:  # noqa: BLE001 - whatever a damaged file provokes (RecursionError...): recomputed all the same
        raise AnalysisError(f"The saved latent analysis '{shown_name(path)}' is damaged or not one of ours.") from None
    if latent_shape is not None and shape and list(latent_shape) != shape:
        raise AnalysisError(f"The saved latent analysis '{shown_name(path)}' was made for a model with other "
                            "latents.")
    return analysis
