"""The metrics behave as their papers say on cases whose answer is known."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from models.generative import DEFAULT_DECODING, Decoding
from models.metrics import (
    density_coverage,
    frechet_distance,
    path_length,
    precision_recall,
    seconds_per_image,
)


def gaussian(n, d=8, seed=0, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).standard_normal((n, d)) * scale + shift


def test_frechet_distance_of_known_gaussians():
    assert frechet_distance(gaussian(4000, seed=1), gaussian(4000, seed=2)) < 0.1
    # Means apart by 2 in every one of 8 dimensions: |mu_a - mu_b|^2 = 32; equal covariances add nothing.
    assert frechet_distance(gaussian(4000, seed=1), gaussian(4000, seed=2, shift=2.0)) == pytest.approx(32, rel=0.05)
    # Scales 1 and 2 per dimension: (1 + 4 - 2 * 2) = 1 per dimension.
    assert frechet_distance(gaussian(4000, seed=1), gaussian(4000, seed=2, scale=2.0)) == pytest.approx(8, rel=0.1)


def test_same_distribution_gives_high_precision_and_recall():
    p, r = precision_recall(gaussian(1000, seed=1), gaussian(1000, seed=2))
    assert p > 0.8 and r > 0.8
    density, coverage = density_coverage(gaussian(1000, seed=1), gaussian(1000, seed=2))
    assert 0.8 < density < 1.2 and coverage > 0.9  # density's expected value is 1 for identical distributions


def test_one_repeated_sample_has_precision_but_no_recall():
    real = gaussian(1000, seed=1)
    fake = np.repeat(gaussian(1, seed=3) * 0.1, 1000, axis=0) + 1e-6 * gaussian(1000, seed=4)
    p, r = precision_recall(real, fake)
    assert p > 0.9 and r < 0.05
    _, coverage = density_coverage(real, fake)
    assert coverage < 0.05


def test_a_far_away_generator_has_neither():
    p, r = precision_recall(gaussian(500, seed=1), gaussian(500, seed=2, shift=10.0))
    assert p == 0 and r == 0


class Line(torch.nn.Module):
    """A toy 'model' whose images are a fixed linear map of z: its path length is known in closed form."""

    family = "gan"

    def __init__(self, gain):
        super().__init__()
        self.gain = gain

    def sample_latents(self, n, seed=0):
        return torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))

    def decode(self, z, decoding=DEFAULT_DECODING):
        return (self.gain * z).view(-1, 1, 2, 2).expand(-1, 3, 2, 2)


def test_path_length_grows_with_the_steepness_of_the_map():
    flat = lambda images: images.flatten(1)
    smooth, steep = path_length(Line(1.0), flat, n=64), path_length(Line(3.0), flat, n=64)
    assert steep == pytest.approx(9 * smooth, rel=0.05)  # squared distances: 3x the slope, 9x the length


def test_seconds_per_image_is_the_mean_decode_time_after_the_warm_up(monkeypatch):
    """A fake clock that only moves inside decode: the first (warm-up) call costs 5 s and must not count; the
    others cost 0.25 s each, so the answer is exactly 0.25, whatever the machine is doing."""
    from models import metrics

    clock = {"now": 100.0, "calls": 0}

    class Timed(Line):
        def decode(self, z, decoding=DEFAULT_DECODING):
            assert z.shape[0] == 1 and decoding == Decoding(steps=3)  # one image at a time, the decoding passed on
            clock["now"] += 5.0 if clock["calls"] == 0 else 0.25
            clock["calls"] += 1
            return super().decode(z, decoding)

    monkeypatch.setattr(metrics, "time", SimpleNamespace(perf_counter=lambda: clock["now"]))
    assert seconds_per_image(Timed(1.0), n=4, decoding=Decoding(steps=3)) == pytest.approx(0.25)
    assert clock["calls"] == 5  # the warm-up and four timed images
