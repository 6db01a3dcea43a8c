"""Paths and edits in latent space: linear and spherical interpolation, truncation."""

from __future__ import annotations

import torch


def lerp(a: torch.Tensor, b: torch.Tensor, frames: int) -> torch.Tensor:
    """Straight line from a to b (same shape S): (frames, *S), the first frame a and the last b."""
    w = torch.linspace(0.0, 1.0, frames, dtype=a.dtype, device=a.device).view(-1, *([1] * a.dim()))
    return (1 - w) * a + w * b


def slerp(a: torch.Tensor, b: torch.Tensor, frames: int) -> torch.Tensor:
    """Great-circle path from a to b (same shape S): (frames, *S).

    Gaussian latents live near a sphere; a straight line cuts inside it, through latents with a smaller
    norm than the model ever saw, while the great circle stays where the model was trained.
    The norm is interpolated linearly so endpoints of different lengths are met exactly.
    """
    fa, fb = a.flatten().double(), b.flatten().double()
    na, nb = fa.norm(), fb.norm()
    if na == 0 or nb == 0:
        return lerp(a, b, frames)
    ua, ub = fa / na, fb / nb
    omega = torch.arccos((ua @ ub).clamp(-1.0, 1.0))
    w = torch.linspace(0.0, 1.0, frames, dtype=torch.float64, device=a.device)[:, None]
    if omega.abs() < 1e-6:  # (nearly) the same direction: the straight line is the arc
        return lerp(a, b, frames)
    so = torch.sin(omega)
    direction = (torch.sin((1 - w) * omega) * ua + torch.sin(w * omega) * ub) / so
    norms = (1 - w) * na + w * nb
    return (direction * norms).to(a.dtype).view(frames, *a.shape)


def interpolate(a: torch.Tensor, b: torch.Tensor, frames: int, mode: str = "slerp") -> torch.Tensor:
    """lerp or slerp by name."""
    if mode == "lerp":
        return lerp(a, b, frames)
    if mode == "slerp":
        return slerp(a, b, frames)
    raise ValueError(f"unknown interpolation {mode!r}; choose lerp or slerp")


def truncate(z: torch.Tensor, psi: float, mean: torch.Tensor | None = None) -> torch.Tensor:
    """The truncation trick: pull latents toward the mean (zero for a normal prior) by psi in [0, 1].

    psi < 1 trades variety for typical, cleaner faces; psi = 0 gives the 'average' face.
    """
    centre = torch.zeros_like(z) if mean is None else mean
    return centre + psi * (z - centre)
