"""Every metric of one model against the same held-out Synthetic Faces, with the real-vs-real floor beside it."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

import numpy as np
import torch

from models.data import HELD_OUT_SEED, synthetic_faces
from models.face_renderer import ATTRIBUTES
from models.family import family_of
from models.feature_net import FeatureNet
from models.generative import Decoding, GenerativeModel
from models.metrics import (
    METRIC_DECODING,
    density_coverage,
    features_of,
    frechet_distance,
    generate_steps,
    path_length_steps,
    precision_recall,
    seconds_per_image,
)
from models.progress import Progress

Report = Callable[[str], None]
T = TypeVar("T")


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


def evaluate_steps(model: GenerativeModel, net: FeatureNet, samples: int = 2000, seed: int = 0,
                   ppl_samples: int | None = None) -> Generator[Progress, None, dict]:
    """`evaluate` as a generator: yields progress between batches (so the app can show it and stop), and
    returns the figures."""
    decoding = METRIC_DECODING
    iterative = family_of(model).iterative
    batch = 25 if iterative else 100  # batches decoded in steps are slow: smaller ones report more often
    n_ppl = ppl_samples or (min(samples, 128) if iterative else min(samples, 1000))
    gen_steps, ppl_steps = -(-samples // batch), -(-n_ppl // 64)
    total = 1 + gen_steps + 1 + ppl_steps + (2 if iterative else 1)
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
    result = {
        "family": model.family, "samples": samples, "image_size": model.image_size,
        "fd": frechet_distance(f_a, f_fake), "fd_real": frechet_distance(f_a, f_b),
        "precision": precision, "recall": recall, "precision_real": precision_real, "recall_real": recall_real,
        "density": density, "coverage": coverage, "density_real": density_real, "coverage_real": coverage_real,
        "ppl": ppl, "attributes": attribute_statistics(predicted, real.attributes[:samples].numpy()),
    }
    result["seconds_per_image"] = seconds_per_image(model, decoding=decoding)
    if iterative:  # the keys keep their names, so that results saved before read the same
        yield step("timing DDPM-1000")
        result["sampler"] = f"{decoding.sampler}-{decoding.steps}"
        result["seconds_per_image_ddpm"] = seconds_per_image(model, n=1, decoding=Decoding(sampler="ddpm"))
    yield step("done")
    return result


def evaluate(model: GenerativeModel, net: FeatureNet, samples: int = 2000, seed: int = 0,
             ppl_samples: int | None = None, report: Report = lambda _: None) -> dict:
    """All figures for `model`: fd, fd_real, precision, recall, density, coverage and their _real floors,
    ppl, seconds_per_image (and for a family that decodes in steps seconds_per_image_ddpm: DDPM's every step),
    attribute statistics."""
    steps = evaluate_steps(model, net, samples, seed, ppl_samples)
    while True:
        try:
            progress = next(steps)
        except StopIteration as stop:
            return stop.value
        if " of " not in progress.message and progress.message != "done":  # stages, not every batch
            report(progress.message)
