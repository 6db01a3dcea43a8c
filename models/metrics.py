"""How good a generative model is, measured on the feature network's features (no downloads, no Inception).

- Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017), beside the floor of
  two disjoint real sets of the same size: the figure's noise level for this many samples.
- Precision and recall from k-NN manifolds (Kynkäänniemi et al. 2019, k = 3): the fraction of generated
  samples inside the real manifold, and of real samples inside the generated one.
- Density and coverage (Naeem et al. 2020, k = 5): like precision and recall, robust to outliers.
- Perceptual path length (Karras et al. 2019): how much the features change for a tiny step in latent
  space, the 1st-99th percentiles kept; a smaller figure means a smoother space.
- Sharpness: the share of each image's energy above half the Nyquist frequency, against real faces of the
  same size (see `high_frequency_share`). The feature network was trained to tell attributes apart, not
  crisp from soft, so precision does not see blur; this does.
- Reconstruction error: encode then decode held-out faces with the family's own way of encoding, and
  measure the mean squared error per pixel value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import numpy as np
import torch

from models.generative import DEFAULT_DECODING, Decoding, Encoding, GenerativeModel

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


# Half the Nyquist frequency, in cycles per pixel: the same share of the spectrum at 32 and 64 px, where a Gaussian
# blur of one pixel keeps 3 % of real faces' energy (exp(-4 pi^2 sigma^2 f^2) = 0.085 at the cutoff, less above).
SHARPNESS_CUTOFF = 0.25


def high_frequency_share(images: torch.Tensor, cutoff: float = SHARPNESS_CUTOFF, batch: int = 250) -> np.ndarray:
    """Per image, the share of its energy at spatial frequencies above `cutoff` cycles per pixel: (N,) in [0, 1].

    images: (N, 3, H, W) float in [-1, 1]. Why this figure and not the mean gradient magnitude:
    - It is a ratio within each image, so it does not depend on contrast: a model that draws paler or darker
      faces is not called blurry for it. The mean gradient scales with contrast, and on the shipped 64 px models
      it rated the VAE's soft faces 1.03x real and the GAN's 1.14x, where this figure reads 0.84x and 0.94x.
    - It sees a band of frequencies, not only one-pixel steps, so it is less ruled by the last pixel's noise.
    - Noise counts as detail in any such figure: a GAN's speckle or checkerboard, or a diffusion model's
      leftover noise, push it up (Gaussian noise of 0.05 gives 1.05x real). So the reading is "closer to 1 is
      better"; above 1 means more fine energy than real faces have, not more real detail.
    - The cutoff is in cycles per pixel, and the reference is real faces at the same size, so the figure means
      the same at 32 and 64 px. Each channel's mean is removed first (no DC term) and a Hann window tapers the
      borders, whose wrap-around jump would otherwise add high frequencies that are not in the picture.
    Computed in float64 one image at a time in effect (each FFT is per image), so batching does not change it.
    """
    out = []
    for start in range(0, len(images), batch):
        x = images[start:start + batch].detach().cpu().double()
        x = x - x.mean(dim=(-2, -1), keepdim=True)
        h, w = x.shape[-2:]
        x = x * (torch.hann_window(h, periodic=False, dtype=torch.float64)[:, None]
                 * torch.hann_window(w, periodic=False, dtype=torch.float64)[None, :])
        power = torch.fft.fft2(x).abs().pow(2).sum(1)  # (B, H, W), the three channels together
        fy, fx = torch.fft.fftfreq(h, dtype=torch.float64), torch.fft.fftfreq(w, dtype=torch.float64)
        high = (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt() > cutoff
        total = power.sum((-2, -1))
        # A flat image has no energy at all: it has no detail either.
        out.append(torch.where(total > 0, (power * high).sum((-2, -1)) / total.clamp(min=1e-300), 0.0))
    return torch.cat(out).numpy() if out else np.zeros(0)


def mean_high_frequency_share(images: torch.Tensor, cutoff: float = SHARPNESS_CUTOFF) -> float:
    """The mean of `high_frequency_share` over the images, summed exactly (the same in any order)."""
    shares = high_frequency_share(images, cutoff)
    if not len(shares):
        raise ValueError("sharpness needs at least one image")
    return math.fsum(shares.tolist()) / len(shares)


def sharpness(images: torch.Tensor, real: torch.Tensor, cutoff: float = SHARPNESS_CUTOFF) -> float:
    """How much fine detail `images` have as a ratio to `real` faces of the same size: 1 like real faces, below 1
    blurrier, above 1 more fine energy (noise, artefacts) than real faces. Both (N, 3, H, W) in [-1, 1]."""
    if images.shape[-2:] != real.shape[-2:]:
        raise ValueError(f"sharpness compares faces of the same size, not {tuple(images.shape[-2:])} with "
                         f"{tuple(real.shape[-2:])}")
    return sharpness_against(images, mean_high_frequency_share(real, cutoff), cutoff)


def sharpness_against(images: torch.Tensor, real_share: float, cutoff: float = SHARPNESS_CUTOFF) -> float:
    """`sharpness` against real faces whose mean_high_frequency_share is already known (taken once for several
    sets)."""
    return mean_high_frequency_share(images, cutoff) / real_share


def reconstruction_error_steps(model: GenerativeModel, images: torch.Tensor, encoding: Encoding,
                               decoding: Decoding, batch: int = 64) -> Generator[float, None, float]:
    """Encode then decode `images` (N, 3, H, W) in [-1, 1] with the model's own encoding; returns the mean squared
    error per pixel value on the [-1, 1] scale (the scale inversion lowers and the Explore tab's anomaly reads).

    Yields the fraction done (0-1) after every inner step, since a GAN's search and DDIM inversion take minutes:
    within a batch the encoding is the first half and the decoding the second.
    """
    n = len(images)
    if n < 1:
        raise ValueError("reconstruction needs at least one face")
    squared, batches = 0.0, -(-n // batch)
    for index, start in enumerate(range(0, n, batch)):
        x = images[start:start + batch].to(model.device)
        latents = None
        for progress in model.encode_steps(x, encoding):
            latents = progress.state
            yield (index + 0.5 * _fraction(progress)) / batches
        recon = None
        # No no_grad block around a yield here: it would stay switched on in the caller while this one is paused.
        # Every family's decode_steps already runs without gradients.
        for progress in model.decode_steps(latents, decoding):
            recon = progress.image
            yield (index + 0.5 + 0.5 * _fraction(progress)) / batches
        squared += float((recon.detach().double().cpu() - x.detach().double().cpu()).pow(2).sum())
    return squared / images.numel()


def _fraction(progress) -> float:
    """How far one step generator is: done of total, or halfway when it does not know its total."""
    return min(1.0, progress.done / progress.total) if progress.total > 0 else 0.5
