"""What guidance buys and costs, what each family's "quality for variety" knob does, and how many steps are enough.

- Hit rates (issue 16): for wanted attributes ("smiling", "glasses") and guidance scales, how often the feature
  network finds every wanted attribute in the guided samples, against the same judgement on unguided samples (the
  base rate), and what it costs in variety (recall against real faces, models/metrics.py).
- The knob curve: each family's way of trading variety for quality, as precision against recall: a guided family's
  guidance scale, a GAN's truncation ψ, a VAE's sampling temperature.
- The steps curve: Fréchet distance against the number of sampling steps, for DDIM and DPM-Solver++.

Every measure is a generator of Progress (models/progress.py) that returns its figures and also puts them in its
last step's `result`, so the app can show it and stop, and `evaluate` can nest it. The figures are the card's
(models/ship_model.py) as they are.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np
import torch

from models.data import HELD_OUT_SEED, ImageSet, synthetic_faces
from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES
from models.family import Family, family_of
from models.feature_net import FeatureNet
from models.generative import DEFAULT_GUIDE, Decoding, GenerativeModel
from models.metrics import METRIC_DECODING, features_of, frechet_distance, precision_recall
from models.progress import Progress

Wants = Sequence[tuple[str, float]]
DEFAULT_WANTS: tuple[tuple[str, float], ...] = (("smile", 1.0), ("glasses", 1.0))
GUIDANCE_SCALES = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0)  # 8: past the default guide's default (6), where faces collapse
KNOB_VALUES = {"guidance": GUIDANCE_SCALES, "truncation": (0.4, 0.6, 0.8, 1.0), "temperature": (0.5, 0.75, 1.0, 1.25)}
STEP_COUNTS = (5, 10, 20, 50)
STEP_SAMPLERS = ("ddim", "dpm++")
# A hit for a continuous attribute: within this share of the attribute's range of the wanted value (a quarter: for
# smile, -1..1, within 0.5). Glasses is yes or no: the network's probability on the wanted side of one half.
HIT_TOLERANCE = 0.25
BATCH = 25  # images decoded together: sampling in steps is slow, so smaller batches report progress more often

_BY_NAME = {a.name: (i, a) for i, a in enumerate(ATTRIBUTES)}


# --------------------------------------------------------------------------------------------------- judging hits
def check_wants(wants: Wants) -> tuple[tuple[str, float], ...]:
    """The wanted attributes as (name, float) pairs, each a known attribute with a value in its range; a mistake is
    a ValueError whose message is one sentence."""
    checked = []
    for name, value in wants:
        if name not in _BY_NAME:
            raise ValueError(f"'{name}' is not an attribute the faces have; the attributes are "
                             f"{', '.join(ATTRIBUTE_NAMES)}.")
        attribute = _BY_NAME[name][1]
        value = float(value)
        if attribute.binary and value not in (0.0, 1.0):
            raise ValueError(f"{name} is yes or no: give 1 or 0, not {value:g}.")
        if not attribute.low <= value <= attribute.high:
            raise ValueError(f"{name} goes from {attribute.low:g} to {attribute.high:g}; {value:g} is outside it.")
        checked.append((name, value))
    return tuple(checked)


def judge_hits(readings: torch.Tensor | np.ndarray, wants: Wants) -> np.ndarray:
    """Whether each sample has each wanted attribute: bool (N, len(wants)).

    readings: the feature network's attribute readings (N, 15) in the attributes' own units (FeatureNet.predict;
    glasses as a probability). A continuous attribute wanted at v is a hit within HIT_TOLERANCE of its range of v;
    glasses wanted 1 is a hit at a reading of 0.5 or more, wanted 0 below 0.5."""
    values = readings.detach().cpu().numpy() if isinstance(readings, torch.Tensor) else np.asarray(readings)
    values = values.astype(np.float64)
    hits = np.zeros((values.shape[0], len(wants)), dtype=bool)
    for j, (name, value) in enumerate(check_wants(wants)):
        i, attribute = _BY_NAME[name]
        if attribute.binary:
            hits[:, j] = values[:, i] >= 0.5 if value >= 0.5 else values[:, i] < 0.5
        else:
            # A hair of slack, so that a reading exactly at the edge (0.5 from 1.0 on smile) counts however it rounds.
            hits[:, j] = np.abs(values[:, i] - value) <= HIT_TOLERANCE * (attribute.high - attribute.low) + 1e-9
    return hits


def hit_rates(readings: torch.Tensor | np.ndarray, wants: Wants) -> dict:
    """{"all": share of samples with every wanted attribute, "per_attribute": {name: share with it}}."""
    hits = judge_hits(readings, wants)
    return {"all": float(hits.all(axis=1).mean()) if len(hits) else 0.0,
            "per_attribute": {name: float(hits[:, j].mean()) if len(hits) else 0.0
                              for j, (name, _) in enumerate(wants)}}


def knob_of(family: Family) -> str | None:
    """The family's quality-for-variety knob: "guidance" (guided), "truncation" (ψ), "temperature" (a one-pass
    decoder of a prior's latents), or None (pixel diffusion has none that the app offers)."""
    if family.guided:
        return "guidance"
    if family.truncation:
        return "truncation"
    if not family.iterative:
        return "temperature"
    return None


# ---------------------------------------------------------------------------------------------------- plumbing
def _batches(n: int, batch: int = BATCH) -> int:
    return -(-n // batch)


class _Counter:
    """Numbers the steps of one measure against its total."""

    def __init__(self, total: int):
        self.done, self.total = 0, total

    def step(self, message: str, result: dict | None = None) -> Progress:
        self.done += 1
        return Progress(self.done, self.total, message, result=result)


def _draw(model: GenerativeModel, n: int, seed: int, decoding_for: Callable[[int, int], Decoding],
          counter: _Counter, what: str, temperature: float = 1.0) -> Generator[Progress, None, torch.Tensor]:
    """n images from seeds seed..seed+n-1 (the same latents for every call with that seed), in batches, one step
    each; decoding_for(start, count) gives a batch's Decoding (per-image wants for the batch's faces)."""
    out = []
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        z = model.sample_latents(m, seed + start) * temperature
        with torch.no_grad():
            out.append(model.decode(z, decoding_for(start, m)).cpu())
        yield counter.step(f"{what}: {start + m:,} of {n:,} images")
    return torch.cat(out)


def _real_faces(real: ImageSet | None, samples: int, size: int) -> ImageSet:
    """Held-out faces, at least 2 * samples: set A (the first samples) and set B (the next), as `evaluate` uses."""
    if real is not None and len(real) >= 2 * samples and real.image_size == size:
        return real
    return synthetic_faces(2 * samples, size, HELD_OUT_SEED)


def _real_features(net: FeatureNet, real: ImageSet | None, samples: int, size: int
                   ) -> tuple[ImageSet, np.ndarray, np.ndarray]:
    """The held-out faces (_real_faces) and the feature network's features of set A and of set B."""
    faces = _real_faces(real, samples, size)
    f_a, f_b = (features_of(faces.batch(r), net.features) for r in (range(samples), range(samples, 2 * samples)))
    return faces, f_a, f_b


def _check_samples(samples: int) -> None:
    if samples < 10:  # the k-nearest-neighbour manifolds of precision and recall need neighbours
        raise ValueError(f"measuring needs at least 10 samples, not {samples}.")


# ------------------------------------------------------------------------------------------------ guidance hits
def guidance_scales_measured(scales: Sequence[float], scale: float) -> list[float]:
    """The scales a hit-rate measure draws: those asked for and the family's default, sorted, each once."""
    return sorted({float(s) for s in scales} | {float(scale)})


def guidance_hits_step_count(samples: int, scales: Sequence[float], scale: float) -> int:
    guided = [s for s in guidance_scales_measured(scales, scale) if s != 0.0]
    return 1 + (1 + len(guided)) * _batches(samples) + 1


def _default_scale(model: GenerativeModel, guide: str) -> float:
    """The family's own scale for the guide (a guided family's `guidance_of` reads Decoding.guidance None so)."""
    return float(model.guidance_of(Decoding(guide=guide, guidance=None)))


def guidance_hits_steps(model: GenerativeModel, net: FeatureNet, wants: Wants = DEFAULT_WANTS,
                        guide: str = DEFAULT_GUIDE,
                        scales: Sequence[float] = GUIDANCE_SCALES, samples: int = 200, seed: int = 0,
                        decoding: Decoding = METRIC_DECODING,
                        real: ImageSet | None = None) -> Generator[Progress, None, dict]:
    """Hit rates of guided samples at each scale, against unguided ones (the base rate), and their precision and
    recall against real faces. The same latents at every scale, so the scales differ only by the guidance."""
    if not family_of(model).guided:
        raise ValueError(f"the {model.family} family cannot be guided toward attributes.")
    _check_samples(samples)
    wants = check_wants(wants)
    if not wants:
        raise ValueError("name at least one wanted attribute to measure guidance.")
    scale = _default_scale(model, guide)
    measured = guidance_scales_measured(scales, scale)
    counter = _Counter(guidance_hits_step_count(samples, scales, scale))
    yield Progress(0, counter.total, f"drawing {2 * samples:,} held-out faces")
    faces, f_a, f_b = _real_features(net, real, samples, model.image_size)
    features = net.features
    precision_real, recall_real = precision_recall(f_a, f_b, k=3)
    yield counter.step("held-out faces ready")
    unguided = dataclasses.replace(decoding, attributes=(), attributes_each=(), guidance=None)

    def measure(images: torch.Tensor) -> dict:
        with torch.no_grad():
            readings = torch.cat([net.predict(images[i:i + 250]).cpu() for i in range(0, len(images), 250)])
        precision, recall = precision_recall(f_a, features_of(images, features), k=3)
        return {**hit_rates(readings, wants), "precision": precision, "recall": recall}

    base = measure((yield from _draw(model, samples, seed, lambda *_: unguided, counter, "unguided")))
    by_scale = {}
    for s in measured:
        if s == 0.0:  # scale 0 is the unconditional model's prediction alone: the unguided samples themselves
            by_scale[s] = base
            continue
        guided = dataclasses.replace(unguided, attributes=wants, guidance=s, guide=guide)
        images = yield from _draw(model, samples, seed, lambda *_: guided, counter, f"guidance {s:g} ({guide})")
        by_scale[s] = measure(images)
    at = by_scale[scale]
    result = {
        "wants": [[name, value] for name, value in wants], "guide": guide, "scale": scale, "samples": samples,
        "all": at["all"], "base_rate": base["all"],
        "per_attribute": at["per_attribute"], "base_per_attribute": base["per_attribute"],
        "recall": at["recall"], "recall_unguided": base["recall"],
        "precision": at["precision"], "precision_unguided": base["precision"],
        "precision_real": precision_real, "recall_real": recall_real,
        "scales": measured, "all_by_scale": [by_scale[s]["all"] for s in measured],
        "recall_by_scale": [by_scale[s]["recall"] for s in measured],
        "precision_by_scale": [by_scale[s]["precision"] for s in measured],
        "per_attribute_by_scale": {name: [by_scale[s]["per_attribute"][name] for s in measured] for name, _ in wants},
    }
    yield counter.step("done", result)
    return result


# ---------------------------------------------------------------------------------------------------- knob curve
def knob_curve_step_count(samples: int, values: Sequence[float]) -> int:
    return 1 + len(values) * _batches(samples) + 1


def knob_curve_steps(model: GenerativeModel, net: FeatureNet, samples: int = 500, seed: int = 0,
                     values: Sequence[float] | None = None, decoding: Decoding = METRIC_DECODING,
                     real: ImageSet | None = None) -> Generator[Progress, None, dict]:
    """Precision and recall against real set A at each setting of the family's knob (knob_of). Guidance: sample i
    is conditioned (classifier-free) on every attribute of held-out face i of set B, so the wanted faces are as
    varied as real ones and only the scale changes; truncation ψ; temperature: latents times T."""
    knob = knob_of(family_of(model))
    if knob is None:
        raise ValueError(f"the {model.family} family has no quality-for-variety knob to measure.")
    _check_samples(samples)
    values = [float(v) for v in (KNOB_VALUES[knob] if values is None else values)]
    counter = _Counter(knob_curve_step_count(samples, values))
    yield Progress(0, counter.total, f"drawing {2 * samples:,} held-out faces")
    faces, f_a, f_b = _real_features(net, real, samples, model.image_size)
    features = net.features
    precision_real, recall_real = precision_recall(f_a, f_b, k=3)
    yield counter.step("held-out faces ready")
    base = dataclasses.replace(decoding, attributes=(), attributes_each=(), guidance=None)
    wants_b = tuple(tuple((name, float(v)) for name, v in zip(ATTRIBUTE_NAMES, row.tolist()))
                    for row in faces.attributes[samples:2 * samples])
    precisions, recalls = [], []
    for value in values:
        temperature = value if knob == "temperature" else 1.0
        if knob == "truncation":
            chosen = dataclasses.replace(base, truncation=value)
            decoding_for = lambda *_, d=chosen: d  # noqa: E731
        elif knob == "guidance" and value != 0.0:
            def decoding_for(start: int, m: int, value: float = value) -> Decoding:
                return dataclasses.replace(base, attributes_each=wants_b[start:start + m], guidance=value,
                                           guide="free")
        else:  # temperature, or guidance 0: the unconditional model, which needs no wants
            decoding_for = lambda *_: base  # noqa: E731
        images = yield from _draw(model, samples, seed, decoding_for, counter, f"{knob} {value:g}",
                                  temperature=temperature)
        precision, recall = precision_recall(f_a, features_of(images, features), k=3)
        precisions.append(precision)
        recalls.append(recall)
    result = {"knob": knob, "values": values, "precision": precisions, "recall": recalls, "samples": samples,
              "precision_real": precision_real, "recall_real": recall_real}
    if knob == "guidance":
        result["guide"] = "free"
    yield counter.step("done", result)
    return result


# --------------------------------------------------------------------------------------------------- steps curve
def steps_curve_step_count(samples: int, counts: Sequence[int], samplers: Sequence[str]) -> int:
    return 1 + len(counts) * len(samplers) * _batches(samples) + 1


def steps_curve_steps(model: GenerativeModel, net: FeatureNet, samples: int = 500, seed: int = 0,
                      counts: Sequence[int] = STEP_COUNTS, samplers: Sequence[str] = STEP_SAMPLERS,
                      real: ImageSet | None = None) -> Generator[Progress, None, dict]:
    """Fréchet distance of unguided samples against real set A for each sampler and step count (the same latents
    throughout), beside real set B's (the floor), and the seconds per image each took here."""
    from models.diffusion import SAMPLERS

    if not family_of(model).iterative:
        raise ValueError(f"the {model.family} family draws in one pass; it has no sampling steps to measure.")
    _check_samples(samples)
    for sampler in samplers:
        if sampler not in SAMPLERS:
            raise ValueError(f"'{sampler}' is not a sampler; choose from {', '.join(SAMPLERS)}.")
    counter = _Counter(steps_curve_step_count(samples, counts, samplers))
    yield Progress(0, counter.total, f"drawing {2 * samples:,} held-out faces")
    _, f_a, f_b = _real_features(net, real, samples, model.image_size)
    features = net.features
    yield counter.step("held-out faces ready")
    curves: dict[str, dict[str, float]] = {}
    seconds: dict[str, dict[str, float]] = {}
    for sampler in samplers:
        curves[sampler], seconds[sampler] = {}, {}
        for count in counts:
            chosen = Decoding(sampler=sampler, steps=int(count), seed=seed)
            start = time.perf_counter()
            images = yield from _draw(model, samples, seed, lambda *_, d=chosen: d, counter,
                                      f"{sampler.upper()}-{count}")
            seconds[sampler][str(count)] = (time.perf_counter() - start) / samples
            curves[sampler][str(count)] = frechet_distance(f_a, features_of(images, features))
    result = {"samples": samples, "fd_real": frechet_distance(f_a, f_b), "curves": curves,
              "seconds_per_image": seconds}
    yield counter.step("done", result)
    return result
