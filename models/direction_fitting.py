"""Fitting straight directions to latents: PCA, attribute patterns, and the block view of diffusion noise.

Pure tensor functions (float64 inside, for stable solves on ~1,000 samples); models/directions.py turns
their results into the Explore tab's sliders.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

RIDGE = 1e-3  # ridge penalty relative to the codes' mean variance: only keeps the solve well-posed


def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (N, d) -> components (k', d) unit rows, explained variance fractions (k',), scores (N, k'); k' <= k."""
    xc = x.double() - x.double().mean(0)
    u, s, vh = torch.linalg.svd(xc, full_matrices=False)
    var = s.pow(2)
    explained = var / var.sum().clamp_min(1e-30)
    k = min(k, int((explained > 1e-6).sum()))  # a dead direction is no direction
    return vh[:k], explained[:k], u[:, :k] * s[:k]


def line_fit(p: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Least-squares line y ~ slope * p + intercept for p, y (N,)."""
    p, y = p.double(), y.double()
    pc = p - p.mean()
    slope = float(pc @ (y - y.mean()) / pc.pow(2).sum().clamp_min(1e-30))
    return slope, float(y.mean()) - slope * float(p.mean())


def r2_score(predicted: torch.Tensor, truth: torch.Tensor) -> float:
    """Coefficient of determination; 1 is perfect, 0 is no better than predicting the mean."""
    predicted, truth = predicted.double(), truth.double()
    return float(1 - (predicted - truth).pow(2).sum() / (truth - truth.mean()).pow(2).sum().clamp_min(1e-30))


def ridge_fit(x: torch.Tensor, y: torch.Tensor, penalty: float = RIDGE) -> torch.Tensor:
    """The readout w of a ridge regression y ~ x w + b: x (N, d), y (N,) -> w (d,) float64."""
    x, y = x.double(), y.double()
    xc = x - x.mean(0)
    gram = xc.T @ xc
    lam = penalty * gram.trace() / x.shape[1] + 1e-12
    return torch.linalg.solve(gram + lam * torch.eye(x.shape[1], dtype=x.dtype), xc.T @ (y - y.mean()))


def pattern(x: torch.Tensor, y: torch.Tensor, white: bool = False) -> torch.Tensor:
    """The direction in which the codes x (N, d) move as y (N,) grows: Cov(x) w for the readout w of y ~ x.

    This, not the readout w itself, is the direction to walk: a readout also leans on dimensions that only
    cancel unrelated variation (Haufe et al. 2014), and a VAE decoder barely responds to those. When the
    codes are known to be white (GAN z, blocks of diffusion noise: Cov = I or b I), Cov(x) w is w, and
    the (ridge) readout estimates it with less sampling noise than the covariance Cov(x, y) does.
    """
    if white:
        return ridge_fit(x, y)
    x, y = x.double(), y.double()
    yc = y - y.mean()
    return (x - x.mean(0)).T @ yc / yc.pow(2).sum().clamp_min(1e-30)


def attribute_fit(codes: torch.Tensor, y: torch.Tensor, binary: bool = False, white: bool = False,
                  holdout: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, float, float]:
    """An attribute's direction in the codes (N, d): (pattern (d,) from all data, held-out R², held-out score).

    R² and score judge the slider itself: the attribute predicted by a line fit on the projection onto the
    direction, on a held-out fifth. The score is the R², or for a binary attribute the accuracy at 0.5.
    """
    order = torch.randperm(len(codes), generator=torch.Generator().manual_seed(seed))
    cut = max(1, int(len(codes) * holdout))
    test, train = order[:cut], order[cut:]
    direction = pattern(codes[train], y[train], white)
    slope, intercept = line_fit(codes[train].double() @ direction, y[train])
    predicted = (codes[test].double() @ direction) * slope + intercept
    r2 = r2_score(predicted, y[test])
    score = float(((predicted >= 0.5) == (y[test] >= 0.5)).double().mean()) if binary else r2
    return pattern(codes, y, white), r2, score


def block_sums(latents: torch.Tensor, grid: int) -> torch.Tensor:
    """latents (N, C, H, W) -> (N, C * grid * grid): sums over grid x grid blocks."""
    block = latents.shape[-1] // grid
    return F.avg_pool2d(latents.double(), block).flatten(1) * block * block


def lift_blocks(w: torch.Tensor, shape: tuple[int, ...], grid: int) -> torch.Tensor:
    """The transpose of block_sums: w (C * grid * grid,) -> (C, H, W), constant on each block."""
    block = shape[-1] // grid
    return w.view(shape[0], grid, grid).repeat_interleave(block, 1).repeat_interleave(block, 2)
