"""The small surface every model family shares; the GUI, the CLI and the metrics use only this.

Shapes and ranges, for every family:
- images: float (N, 3, H, W) in [-1, 1], on the model's device.
- latents: float (N, *latent_shape), drawn from a standard normal prior:
  VAE and GAN (N, latent_dim); diffusion (N, 3, H, W), the noise x_T that sampling starts from.
- decode(latents, Decoding) -> images; encode(images, Encoding) -> latents. The options are typed and mean the same
  in every family; a family reads those that apply to it (its models.family.Family says which) and ignores the rest.
  VAE: decoder / posterior mean. GAN: generator / inversion by optimising z under a fixed budget.
  Diffusion: deterministic DDIM (eta = 0) sampling / DDIM inversion, so encode then decode is a round trip.
- decode_steps / encode_steps are generators of `Progress` (models/progress.py), one per step, so a caller can show a
  preview and stop early by simply not asking for the next step. The last one's `state` and `image` are the answer.
"""

from __future__ import annotations

import dataclasses
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from models.progress import Progress


# Guidance toward attributes (Decoding.attributes), in every family that takes it (Family.guided): the two ways to
# steer, how hard by default and at most.
GUIDES = ("free", "classifier")  # classifier-free guidance; a noise-aware classifier's gradient
# Measured on the shipped latent diffusion model (200 samples toward smile=1 and glasses=1, DDIM-50; both found in
# 2.5 % unguided, recall 0.81): classifier-free guidance found both in 46 % at scale 3 (precision 0.83, recall 0.90),
# 70 % at 4.5 (0.76, 0.85), 79 % at 6 (0.67, 0.82), 86 % at 8 (0.50, 0.06) and 94 % at 10 (0.38, 0.03); the
# classifier's gradient in 53 % at 3 (0.87, 0.69), 67 % at 5 (0.86, 0.14), 77 % at 10 (0.70, 0.10). Classifier-free
# guidance keeps far more variety for its hits, so it is the default, at 6: past it the faces collapse into a few
# (recall 0.82 at 6, 0.06 at 8), which a default must not do. (On the model shipped before, with an autoencoder
# that lost most smiles, the classifier's gradient had been the better of the two.)
DEFAULT_GUIDE = "free"
DEFAULT_GUIDANCE = {"free": 6.0, "classifier": 5.0}
MAX_GUIDANCE = 20.0


@dataclass(frozen=True)
class Decoding:
    """How latents become images.

    sampler, steps, eta and seed concern a family whose decoder works in steps (Family.iterative); a one-pass decoder
    ignores them, so callers pass the same Decoding to every family. truncation (ψ) pulls latents towards the prior's
    centre before decoding, in a family that offers it (Family.truncation).
    """

    sampler: str = "ddim"  # "ddim" (deterministic when eta is 0), "ddpm" or "dpm++" (DPM-Solver++ 2M)
    steps: int | None = None  # sampling steps; None: the sampler's own (DDIM 50, DPM-Solver++ 20, DDPM all)
    eta: float = 0.0  # DDIM: 0 deterministic ... 1 as noisy as DDPM
    seed: int = 0  # the noise a stochastic sampler adds
    truncation: float = 1.0  # ψ: 1 leaves latents alone, 0 draws the average face
    # Guidance toward wanted attributes, in a family that takes it (Family.guided): (attribute name, value in the
    # attribute's own units) pairs, how hard to steer (None: the family's default for the guide), and how:
    # "free" (classifier-free guidance) or "classifier" (an attribute classifier's gradient).
    attributes: tuple[tuple[str, float], ...] = ()
    guidance: float | None = None
    guide: str = DEFAULT_GUIDE
    # Per-image wants instead of one set for all: one tuple of (name, value) pairs per latent decoded (its length is
    # the batch's). The guidance trade-off curve conditions each sample on a real face's attributes this way.
    attributes_each: tuple[tuple[tuple[str, float], ...], ...] = ()


@dataclass(frozen=True)
class Encoding:
    """How images become latents.

    decoding: the sampling an inversion must mirror (DDIM inversion runs the same steps backwards, so decoding the
    result with the same Decoding gives the image back). search_steps, restarts and seed concern a family that
    finds latents by search (optimiser steps on z, several random starts); an encoder network ignores all of it.
    """

    decoding: Decoding = Decoding()
    search_steps: int = 200
    restarts: int = 4
    seed: int = 0


DEFAULT_DECODING = Decoding()
DEFAULT_ENCODING = Encoding()


def seed_latents(seeds: Sequence[int], shape: Sequence[int]) -> torch.Tensor:
    """One standard-normal latent per seed, float (N, *shape) on the CPU, identical on every machine.

    Each seed has its own generator so that "seed 42" is the same face whether it is drawn alone or in a grid.
    """
    rows = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        rows.append(torch.randn(tuple(shape), generator=gen))
    return torch.stack(rows) if rows else torch.empty(0, *shape)


def last(steps: Iterator[Progress]) -> Progress:
    """Run a step generator to its end and return its final step."""
    final = None
    for final in steps:
        pass
    if final is None:
        raise RuntimeError("the computation produced no steps")
    return final


class GenerativeModel(nn.Module, ABC):
    """Base of the VAE, GAN and diffusion models. Subclasses set `family` and keep a config dataclass."""

    family: ClassVar[str]

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    @property
    def image_size(self) -> int:
        return int(self.config.image_size)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    @abstractmethod
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent, without the batch dimension."""

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def sample_latents(self, n: int = 1, seed: int = 0) -> torch.Tensor:
        """Latents for seeds seed, seed+1, ..., seed+n-1: float (n, *latent_shape) on the model's device."""
        return self.latents_for_seeds(range(seed, seed + n))

    def latents_for_seeds(self, seeds: Sequence[int]) -> torch.Tensor:
        """One latent per seed: float (N, *latent_shape) on the model's device."""
        return seed_latents(seeds, self.latent_shape).to(self.device)

    @abstractmethod
    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """Latents (N, *latent_shape) -> steps whose last `image` is the result, (N, 3, H, W) in [-1, 1]."""

    @abstractmethod
    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        """Images (N, 3, H, W) in [-1, 1] -> steps whose last `state` is the latents (N, *latent_shape)."""

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> torch.Tensor:
        """Latents -> images (N, 3, H, W) in [-1, 1]."""
        return last(self.decode_steps(latents, decoding)).image

    def encode(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> torch.Tensor:
        """Images (N, 3, H, W) in [-1, 1] -> latents (N, *latent_shape)."""
        return last(self.encode_steps(images, encoding)).state

    def sample(self, n: int = 1, seed: int = 0, decoding: Decoding = DEFAULT_DECODING) -> torch.Tensor:
        """n images from seeds seed..seed+n-1: (n, 3, H, W) in [-1, 1]."""
        return self.decode(self.sample_latents(n, seed), decoding)


def conv_levels(image_size: int, min_size: int = 4) -> int:
    """How many stride-2 stages take image_size down to min_size (image_size must be min_size * 2^k)."""
    levels, size = 0, image_size
    while size > min_size:
        if size % 2:
            break
        size //= 2
        levels += 1
    if size != min_size:
        raise ValueError(f"image size {image_size} is not {min_size} times a power of two (e.g. 32, 64, 128)")
    return levels


# ------------------------------------------------------------------------------------------ shapes without memory
# Initialisers only set values, and a tensor on the meta device has none. Skipping them matters for time too: the
# first meta normal_ (or spectral norm's power iteration) in a process imports PyTorch's compiler, 2.5 s.
_INITIALISERS = frozenset({
    "normal_", "uniform_", "trunc_normal_", "kaiming_normal_", "kaiming_uniform_", "xavier_normal_",
    "xavier_uniform_", "orthogonal_", "sparse_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "fill_", "zero_",
    "bernoulli_", "exponential_", "log_normal_", "cauchy_", "geometric_", "random_"})
_shapes_only = threading.local()


class _SkipInitialisers(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        target = args[0] if args else next(iter(kwargs.values()), None)
        if getattr(func, "__name__", "") in _INITIALISERS and isinstance(target, torch.Tensor) and target.is_meta:
            return target
        return func(*args, **kwargs)


@contextmanager
def shapes_only() -> Iterator[None]:
    """Modules built inside have the shapes of their weights and no memory (the meta device), and no values."""
    _shapes_only.active = True
    try:
        with torch.device("meta"), _SkipInitialisers():
            yield
    finally:
        _shapes_only.active = False


def building_shapes_only() -> bool:
    """True inside shapes_only() on this thread: a layout computed from weight values can be left out."""
    return getattr(_shapes_only, "active", False)
