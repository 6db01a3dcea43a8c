"""How good a generative model is, measured on the feature network's features (no downloads, no Inception).

- Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017), beside the floor of
  two disjoint real sets of the same size: the figure's noise level for this many samples.
- Precision and recall from k-NN manifolds (Kynkäänniemi et al. 2019, k = 3): the fraction of generated
  samples inside the real manifold, and of real samples inside the generated one.
- Density and coverage (Naeem et al. 2020, k = 5): like precision and recall, robust to outliers.
- Perceptual path length (Karras et al. 2019): how much the features change for a tiny step in latent
  space, the 1st-99th percentiles kept; a smaller figure means a smoother space.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import numpy as np
import torch

from models.generative import DEFAULT_DECODING, Decoding, GenerativeModel

Features = Callable[[torch.Tensor], torch.Tensor]  # images (N, 3, H, W) in [-1, 1] -> (N, D)
T = TypeVar("T")


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to features a (N, D) and b (M, D)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr sqrt(A B) = tr sqrt(sqrt(A) B sqrt(A)), whose matrix is symmetric: eigh is exact and stable there.
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.linalg.eigvalsh((middle + middle.T) / 2).clip(min=0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (N, M) between rows of a and b."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return torch.cdist(a, b).numpy()


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row to its k-th nearest other row (N,)."""
    d = _distances(features, features)
    return np.sort(d, axis=1)[:, k]  # column 0 is the row itself


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al.: share of fake inside the real k-NN manifold, and of real inside the fake one."""
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    d = _distances(fake, real)  # (fakes, reals)
    precision = (d <= real_radii[None, :]).any(axis=1).mean()
    recall = (d.T <= fake_radii[None, :]).any(axis=1).mean()
    return float(precision), float(recall)


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Naeem et al.: how many real neighbourhoods each fake falls in (/k), and the share of reals covered."""
    radii = knn_radii(real, k)
    d = _distances(fake, real)
    inside = d <= radii[None, :]
    density = inside.sum() / (k * len(fake))
    coverage = (d.min(axis=0) <= radii).mean()
    return float(density), float(coverage)


@torch.no_grad()
def features_of(images: torch.Tensor, features: Features, batch: int = 250) -> np.ndarray:
    return torch.cat([features(images[i:i + batch]).double().cpu() for i in range(0, len(images), batch)]).numpy()


# How every metric samples: deterministic DDIM in 50 steps for a family that decodes in steps; a one-pass decoder
# ignores it (models/generative.py), so every family is measured with the same one.
METRIC_DECODING = Decoding(sampler="ddim", steps=50)


def generate_steps(model: GenerativeModel, n: int, seed: int = 0, batch: int = 100,
                   decoding: Decoding = DEFAULT_DECODING) -> Generator[int, None, torch.Tensor]:
    """Like `generate`, yielding the number of images made after every batch (progress, and a place to stop)."""
    out = []
    for start in range(0, n, batch):
        z = model.sample_latents(min(batch, n - start), seed + start)
        with torch.no_grad():
            out.append(model.decode(z, decoding).cpu())
        yield start + len(out[-1])
    return torch.cat(out)


def drain(steps: Generator[Any, None, T]) -> T:
    """Run a step generator to its end and give back its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def generate(model: GenerativeModel, n: int, seed: int = 0, batch: int = 100,
             decoding: Decoding = DEFAULT_DECODING) -> torch.Tensor:
    """n images from seeds seed..seed+n-1, on the CPU: (n, 3, H, W) in [-1, 1]."""
    return drain(generate_steps(model, n, seed, batch, decoding))


def path_length_steps(model: GenerativeModel, features: Features, n: int = 256, epsilon: float = 1e-4,
                      seed: int = 0, batch: int = 64,
                      decoding: Decoding = DEFAULT_DECODING) -> Generator[int, None, float]:
    """Perceptual path length: E[|f(G(slerp(z1, z2, t))) - f(G(slerp(z1, z2, t + eps)))|^2] / eps^2.

    Feature distance stands in for LPIPS (nothing can be downloaded here); the 1st and 99th percentiles
    are cut as in Karras et al., because a few steps across a fold of the space would dominate the mean.
    Yields the number of pairs measured after every batch.
    """
    gen = torch.Generator().manual_seed(seed)
    values = []
    for start in range(0, n, batch):
        m = min(batch, n - start)
        z1 = model.sample_latents(m, seed + 2 * start)
        z2 = model.sample_latents(m, seed + 2 * start + m)
        t = torch.rand(m, generator=gen)
        a = torch.stack([_slerp_at(z1[i], z2[i], float(t[i])) for i in range(m)])
        b = torch.stack([_slerp_at(z1[i], z2[i], float(t[i]) + epsilon) for i in range(m)])
        with torch.no_grad():
            fa = features(model.decode(a, decoding)).double()
            fb = features(model.decode(b, decoding)).double()
        values.append(((fa - fb) ** 2).sum(1).cpu() / epsilon**2)
        yield start + m
    v = torch.cat(values).numpy()
    low, high = np.percentile(v, [1, 99])
    kept = v[(v >= low) & (v <= high)]
    return float(kept.mean())


def path_length(model: GenerativeModel, features: Features, n: int = 256, epsilon: float = 1e-4, seed: int = 0,
                batch: int = 64, decoding: Decoding = DEFAULT_DECODING) -> float:
    return drain(path_length_steps(model, features, n, epsilon, seed, batch, decoding))


def _slerp_at(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """The point at fraction t of the great circle from a to b."""
    fa, fb = a.flatten().double(), b.flatten().double()
    na, nb = fa.norm(), fb.norm()
    omega = torch.arccos((fa @ fb / (na * nb)).clamp(-1, 1))
    so = torch.sin(omega)
    if so.abs() < 1e-8:
        point = (1 - t) * fa + t * fb
    else:
        point = (torch.sin((1 - t) * omega) * fa / na + torch.sin(t * omega) * fb / nb) / so * ((1 - t) * na + t * nb)
    return point.to(a.dtype).view(a.shape)


def seconds_per_image(model: GenerativeModel, n: int = 8, decoding: Decoding = DEFAULT_DECODING) -> float:
    """Wall-clock seconds to generate one image, one image at a time, after a warm-up."""
    z = model.sample_latents(n + 1, 10_000)
    with torch.no_grad():
        model.decode(z[:1], decoding)
        start = time.perf_counter()
        for i in range(1, n + 1):
            model.decode(z[i:i + 1], decoding)
    return (time.perf_counter() - start) / n
