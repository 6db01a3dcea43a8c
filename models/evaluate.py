"""Every metric of one model against the same held-out Synthetic Faces, with the real-vs-real floor beside it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

from models.data import HELD_OUT_SEED, synthetic_faces
from models.face_renderer import ATTRIBUTES, render_range
from models.family import family_of
from models.feature_net import FeatureNet
from models.generative import DEFAULT_GUIDE, Decoding, Encoding, GenerativeModel
from models.guidance_measures import (
    DEFAULT_WANTS,
    GUIDANCE_SCALES,
    KNOB_VALUES,
    STEP_COUNTS,
    STEP_SAMPLERS,
    guidance_hits_step_count,
    guidance_hits_steps,
    knob_curve_step_count,
    knob_curve_steps,
    knob_of,
    steps_curve_step_count,
    steps_curve_steps,
)
from models.metrics import (
    METRIC_DECODING,
    density_coverage,
    features_of,
    frechet_distance,
    generate_steps,
    mean_high_frequency_share,
    path_length_steps,
    precision_recall,
    reconstruction_error_steps,
    seconds_per_image,
    sharpness_against,
)
from models.progress import Progress
from models.setting_ranges import EVAL_SAMPLES

Report = Callable[[str], None]
T = TypeVar("T")
# Held-out faces encoded and decoded, by how a family encodes: as many as keep the reconstruction a modest part of
# `evaluate` on a CPU. Measured on the shipped 64 px models on two cores shared with a training run: the VAE's encoder
# does 64 in 2 s; the GAN's search (200 Adam steps, 4 starts) 64 in 250 s, so 16 in about a minute; DDIM inversion
# (50 steps, 4 refinements each, then 50 back) 4 in 210 s, a third of the rest of its evaluation.
RECONSTRUCTION_FACES = {"encoder": 64, "search": 16, "inversion": 4}
RECONSTRUCTION_SLOTS = 20  # progress steps the reconstruction is shown in, whatever the family's inner steps


# The reconstructed faces start after the two real sets of the largest evaluation, so that they are the same faces
# whatever the sample count (Compare's 500, a card's 2,000) and every family's first faces are the same ones: a
# family that encodes 4 faces and one that encodes 64 share those 4.
RECONSTRUCTION_START = 2 * EVAL_SAMPLES.high


def faces_to_reconstruct(count: int, size: int) -> torch.Tensor:
    """Held-out faces RECONSTRUCTION_START .. + count - 1, disjoint from the two sets any evaluation measures samples
    against: (count, 3, size, size) in [-1, 1]. Drawn directly, since only a few are needed and each depends only on
    its index."""
    images, _ = render_range(HELD_OUT_SEED, RECONSTRUCTION_START, RECONSTRUCTION_START + count, size)
    return torch.from_numpy(images).float().div_(127.5).sub_(1.0)


def attribute_statistics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, dict[str, float]]:
    """Per attribute: means, spreads and the 1-D Wasserstein distance between generated and real, as a
    fraction of the attribute's range (0 = the same distribution)."""
    stats = {}
    for i, attribute in enumerate(ATTRIBUTES):
        fake, real = np.sort(predicted[:, i]), np.sort(truth[:, i])
        quantiles = np.linspace(0, 1, 101)
        w1 = np.abs(np.quantile(fake, quantiles) - np.quantile(real, quantiles)).mean()
        stats[attribute.name] = {"real_mean": float(real.mean()), "fake_mean": float(fake.mean()),
                                 "real_std": float(real.std()), "fake_std": float(fake.std()),
                                 "w1": float(w1 / (attribute.high - attribute.low))}
    return stats


@dataclass(frozen=True)
class Extras:
    """The measures beyond the common figures, each only for a family with the feature it measures (Family flags).

    - guidance hit rates (guided families): `guidance_samples` samples (0 leaves them out) guided toward `wants`
      with `guide`, at `guidance_scales` and the guide's default scale, beside the same latents unguided;
    - with `curves`: the quality-for-variety knob curve (guidance, truncation or temperature: every family with a
      knob) and, for a family that samples in steps, Fréchet distance against step count for DDIM and DPM-Solver++,
      each on `curve_samples` samples."""

    wants: tuple[tuple[str, float], ...] = DEFAULT_WANTS
    guide: str = DEFAULT_GUIDE
    guidance_scales: tuple[float, ...] = (0.0,)  # with the guide's default always added: unguided and the default
    guidance_samples: int = 200
    curves: bool = False
    curve_samples: int = 500


# None of them: what a caller that does not ask gets (Compare's evaluation stays as fast as before).
NO_EXTRAS = Extras(guidance_samples=0)
# `python main.py evaluate` without flags: hit rates at the guide's default scale and unguided only.
QUICK_EXTRAS = Extras()
# A model card: hit rates at every scale and every curve the family's features call for.
CARD_EXTRAS = Extras(guidance_scales=GUIDANCE_SCALES, curves=True)


def _extra_measures(model: GenerativeModel, net: FeatureNet, extras: Extras, samples: int, seed: int) -> list:
    """(card key, words, step count, start) of each extra measure the family's features call for; start(real)
    begins it on the held-out faces `evaluate` drew (ImageSet), so they are not drawn again."""
    family = family_of(model)
    knob = knob_of(family)
    # Never more than the evaluation's own samples: a quick look at 40 samples is not made slow by 200 guided ones.
    extras = dataclasses.replace(extras, guidance_samples=min(extras.guidance_samples, samples),
                                 curve_samples=min(extras.curve_samples, samples))
    # Refused here, before an evaluation of hours, rather than when the measure finally starts.
    asked = ((extras.guidance_samples if family.guided else 0, "guidance samples"),
             (extras.curve_samples if extras.curves and (knob or family.iterative) else 0, "curve samples"))
    for count, what in asked:
        if 0 < count < 10:
            raise ValueError(f"{count} {what} are too few: precision and recall need at least 10 (or 0 for none).")
    measures = []
    if family.guided and extras.guidance_samples > 0:
        scale = model.guidance_of(Decoding(guide=extras.guide))
        measures.append(("guidance", "guidance hit rates",
                         guidance_hits_step_count(extras.guidance_samples, extras.guidance_scales, scale),
                         lambda real: guidance_hits_steps(model, net, extras.wants, extras.guide,
                                                          extras.guidance_scales, extras.guidance_samples, seed,
                                                          METRIC_DECODING, real)))
    if extras.curves and knob is not None:
        measures.append(("knob_curve", f"the {knob} curve", knob_curve_step_count(extras.curve_samples,
                                                                                  KNOB_VALUES[knob]),
                         lambda real: knob_curve_steps(model, net, extras.curve_samples, seed, real=real)))
    if extras.curves and family.iterative:
        measures.append(("steps_curve", "Fréchet distance against steps",
                         steps_curve_step_count(extras.curve_samples, STEP_COUNTS, STEP_SAMPLERS),
                         lambda real: steps_curve_steps(model, net, extras.curve_samples, seed, real=real)))
    return measures


def evaluate_steps(model: GenerativeModel, net: FeatureNet, samples: int = 2000, seed: int = 0,
                   ppl_samples: int | None = None,
                   reconstruction_faces: int | None = None,
                   extras: Extras = NO_EXTRAS) -> Generator[Progress, None, dict]:
    """`evaluate` as a generator: yields progress between batches (so the app can show it and stop), and
    returns the figures. reconstruction_faces: None for the family's RECONSTRUCTION_FACES, 0 to leave it out.
    extras: the measures a family's features call for (Extras); their figures under their card keys
    ("guidance", "knob_curve", "steps_curve"), absent for a family without the feature."""
    decoding = METRIC_DECODING
    family = family_of(model)
    iterative = family.iterative
    if reconstruction_faces is None:
        reconstruction_faces = RECONSTRUCTION_FACES[family.encoding]
    batch = 25 if iterative else 100  # batches decoded in steps are slow: smaller ones report more often
    n_ppl = ppl_samples or (min(samples, 128) if iterative else min(samples, 1000))
    gen_steps, ppl_steps = -(-samples // batch), -(-n_ppl // 64)
    recon_steps = 1 + RECONSTRUCTION_SLOTS if reconstruction_faces > 0 else 0
    measures = _extra_measures(model, net, extras, samples, seed)
    total = 1 + gen_steps + 1 + ppl_steps + recon_steps + sum(m[2] for m in measures) + (2 if iterative else 1)
    done = 0

    def step(message: str) -> Progress:
        nonlocal done
        done += 1
        return Progress(done, total, message)

    yield Progress(0, total, f"drawing {2 * samples:,} held-out faces")
    real = synthetic_faces(2 * samples, model.image_size, HELD_OUT_SEED)
    real_a, real_b = real.batch(range(samples)), real.batch(range(samples, 2 * samples))
    def relay(inner: Generator[int, None, T], words: Callable[[int], str]) -> Generator[Progress, None, T]:
        """Pass an inner step generator's counts on as progress, and give back what it returns."""
        while True:
            try:
                count = next(inner)
            except StopIteration as stop:
                return stop.value
            yield step(words(count))

    yield step(f"generating {samples:,} images")
    fake = yield from relay(generate_steps(model, samples, seed, batch, decoding),
                            lambda made: f"generated {made:,} of {samples:,} images")
    features = net.features
    f_a, f_b, f_fake = (features_of(x, features) for x in (real_a, real_b, fake))
    precision, recall = precision_recall(f_a, f_fake, k=3)
    precision_real, recall_real = precision_recall(f_a, f_b, k=3)
    density, coverage = density_coverage(f_a, f_fake, k=5)
    density_real, coverage_real = density_coverage(f_a, f_b, k=5)
    with torch.no_grad():
        predicted = torch.cat([net.predict(fake[i:i + 250]).cpu() for i in range(0, samples, 250)]).numpy()
    yield step(f"path length over {n_ppl:,} pairs")
    ppl = yield from relay(path_length_steps(model, features, n=n_ppl, seed=seed, decoding=decoding),
                           lambda pairs: f"path length: {pairs:,} of {n_ppl:,} pairs")
    # Both against real set A (its spectra taken once), so real set B's figure is the noise level of the model's.
    detail_a = mean_high_frequency_share(real_a)
    sharpness, sharpness_real = sharpness_against(fake, detail_a), sharpness_against(real_b, detail_a)
    if reconstruction_faces > 0:
        yield step(f"reconstructing {reconstruction_faces} held-out faces ({family.encoding})")
        faces = faces_to_reconstruct(reconstruction_faces, model.image_size)
        recon = reconstruction_error_steps(model, faces, Encoding(decoding=decoding), decoding)
        shown = 0
        while True:
            try:
                fraction = next(recon)
            except StopIteration as stop:
                error = stop.value
                break
            while shown < int(fraction * RECONSTRUCTION_SLOTS) and shown < RECONSTRUCTION_SLOTS - 1:
                shown += 1
                yield step(f"reconstructed {fraction:.0%} of {reconstruction_faces} held-out faces")
        for _ in range(RECONSTRUCTION_SLOTS - shown):  # the slots the last inner step did not fill
            yield step(f"reconstructed all {reconstruction_faces} of {reconstruction_faces} held-out faces")
    result = {
        "family": model.family, "samples": samples, "image_size": model.image_size,
        "fd": frechet_distance(f_a, f_fake), "fd_real": frechet_distance(f_a, f_b),
        "precision": precision, "recall": recall, "precision_real": precision_real, "recall_real": recall_real,
        "density": density, "coverage": coverage, "density_real": density_real, "coverage_real": coverage_real,
        "ppl": ppl, "attributes": attribute_statistics(predicted, real.attributes[:samples].numpy()),
        "sharpness": sharpness, "sharpness_real": sharpness_real,
    }
    if reconstruction_faces > 0:
        result["reconstruction_error"], result["reconstruction_faces"] = error, reconstruction_faces
    for key, words, count, start in measures:
        offset = done
        for inner in start(real):
            if inner.done == 0:
                continue  # its own "drawing held-out faces": they are given, already drawn
            done = offset + inner.done
            message = f"{words}: {inner.message}" if inner.done not in (1, count) else (
                f"measuring {words}" if inner.done == 1 else f"{words} measured")
            yield Progress(done, total, message)
            if inner.result is not None:
                result[key] = inner.result
        done = offset + count
    result["seconds_per_image"] = seconds_per_image(model, decoding=decoding)
    if iterative:  # the keys keep their names, so that results saved before read the same
        yield step("timing DDPM-1000")
        result["sampler"] = f"{decoding.sampler}-{decoding.steps}"
        result["seconds_per_image_ddpm"] = seconds_per_image(model, n=1, decoding=Decoding(sampler="ddpm"))
    yield step("done")
    return result


def evaluate(model: GenerativeModel, net: FeatureNet, samples: int = 2000, seed: int = 0,
             ppl_samples: int | None = None, report: Report = lambda _: None,
             reconstruction_faces: int | None = None, extras: Extras = NO_EXTRAS) -> dict:
    """All figures for `model`: fd, fd_real, precision, recall, density, coverage and their _real floors,
    ppl, seconds_per_image (and for a family that decodes in steps seconds_per_image_ddpm: DDPM's every step),
    attribute statistics, and
    - sharpness: the mean share of image energy above half the Nyquist frequency (models/metrics.py
      high_frequency_share) of the model's samples, divided by that of real set A. 1: as much fine detail as real
      faces; below 1 blurrier; above 1 more fine energy than real faces (noise, artefacts). Closer to 1 is better.
    - sharpness_real: the same figure of real set B against real set A, its noise level (about 1 +- 0.02).
    - reconstruction_error: held-out faces (after the 2 * samples the others use) encoded with the family's own
      encoding (encoder, search or DDIM inversion) and decoded with METRIC_DECODING: the mean squared error per
      pixel value, images on the [-1, 1] scale (0 perfect; 0.01 is a root-mean-square error of 5 % of the range).
      Lower is better. reconstruction_faces: how many faces (RECONSTRUCTION_FACES by the family's encoding unless
      given; both keys absent when 0).
    - guidance (guided families), knob_curve and steps_curve (with extras.curves; every family with a knob, and
      families that sample in steps): models/guidance_measures.py's figures, as the card holds them."""
    steps = evaluate_steps(model, net, samples, seed, ppl_samples, reconstruction_faces, extras)
    while True:
        try:
            progress = next(steps)
        except StopIteration as stop:
            return stop.value
        if " of " not in progress.message and progress.message != "done":  # stages, not every batch
            report(progress.message)
