"""models/metrics.py sharpness: blur reads clearly lower, real faces read 1, and the figure is the same however the
faces are ordered or batched."""

import pytest
import torch
import torch.nn.functional as F

from models.data import HELD_OUT_SEED, synthetic_faces
from models.metrics import high_frequency_share, sharpness


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of sigma pixels, the borders reflected: (N, 3, H, W) -> the same shape."""
    radius = int(3 * sigma)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-taps**2 / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).repeat(3, 1, 1)  # (3, 1, K): one per channel
    x = F.pad(images, (radius,) * 4, mode="reflect")
    x = F.conv2d(x, kernel[:, :, None, :], groups=3)
    return F.conv2d(x, kernel[:, :, :, None], groups=3)


@pytest.fixture(scope="module")
def real():
    """evaluate's two real sets for a 32 px model at 2,000 samples: held-out faces 0-1999 and 2000-3999."""
    faces = synthetic_faces(4000, 32, HELD_OUT_SEED)
    return faces.batch(range(2000)), faces.batch(range(2000, 4000))


def test_two_real_sets_of_2000_faces_read_one(real):
    a, b = real
    # Measured: 0.997 here (1.004 at 64 px); disjoint pairs of 1,000 faces read 0.985 and 1.037.
    assert sharpness(b, a) == pytest.approx(1.0, abs=0.05)


def test_blurred_real_faces_read_clearly_lower(real):
    a, b = real
    # Measured: 0.031 for sigma = 1 px and 0.48 for sigma = 0.5 px (0.031 and 0.49 at 64 px).
    one_pixel = sharpness(gaussian_blur(b[:500], 1.0), a)
    half_pixel = sharpness(gaussian_blur(b[:500], 0.5), a)
    assert one_pixel < 0.2
    assert one_pixel < half_pixel < 0.7


def test_noise_reads_above_real_and_contrast_does_not_count(real):
    _, b = real
    faces = b[:300]
    noisy = (faces + 0.05 * torch.randn(faces.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    assert sharpness(noisy, faces) > 1.01  # noise is fine energy too: above 1 is not "more detail"
    # Half the contrast about each channel's mean: the same faces, the same figure.
    paler = faces.mean(dim=(-2, -1), keepdim=True) + 0.5 * (faces - faces.mean(dim=(-2, -1), keepdim=True))
    assert sharpness(paler, faces) == pytest.approx(1.0, abs=1e-9)


def test_the_figure_does_not_depend_on_order_or_batching(real):
    a, b = real
    faces = b[:600]
    order = torch.randperm(600, generator=torch.Generator().manual_seed(1))
    shares = high_frequency_share(faces, batch=250)
    assert high_frequency_share(faces[order], batch=7) == pytest.approx(shares[order.numpy()], rel=1e-12)
    assert sharpness(faces[order], a[:100]) == pytest.approx(sharpness(faces, a[:100]), rel=1e-12)


def test_a_flat_image_has_no_detail_and_sizes_must_match(real):
    a, _ = real
    assert high_frequency_share(torch.zeros(2, 3, 32, 32)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="same size"):
        sharpness(torch.zeros(2, 3, 64, 64), a[:2])
