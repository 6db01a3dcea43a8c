"""A latent flow: flow matching (models/flow_matching.py) in the latent of the latent diffusion family's autoencoder.

face -> encoder -> latent x scale_factor -> a velocity field carries it to noise and back -> / scale_factor ->
decoder -> face. The U-Net is latent diffusion's, the same size and shape (models/latent_space.py); only what it
learns (a velocity instead of the noise) and how sampling uses it differ. Between the latent and the noise the map
is exact and invertible (an ODE run forwards or backwards; its steps undone exactly by flow_invert); between the
face and the latent it is the autoencoder's, which loses what the reconstruction loses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch

from models.config_check import Choice, Whole
from models.flow_matching import METHODS, TIME_UNITS, flow_invert, flow_path, flow_sample, log_likelihood
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, Decoding, Encoding
from models.latent_space import LatentSpaceConfig, LatentSpaceModel
from models.progress import Progress


@dataclass
class LatentFlowConfig(LatentSpaceConfig):
    sampler: str = "heun"  # the ODE solver a Decoding gets unless it names one of METHODS
    steps: int = 20  # the steps a Decoding gets unless it says

    RANGES: ClassVar[dict] = LatentSpaceConfig.RANGES | {
        "sampler": Choice(METHODS),
        "steps": Whole(1, 1000),
    }


class StraightPath:
    """The flow's forward process in the terms the Diffusion tab asks of a noise schedule: at time step t of
    TIME_UNITS, x_t = (1 - t/T) x_0 + (t/T) noise: the signal falls and the noise rises in straight lines."""

    timesteps = TIME_UNITS

    def fraction(self, t: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(t, dtype=torch.float32) / self.timesteps

    def signal_and_noise(self) -> tuple[torch.Tensor, torch.Tensor]:
        """How much data and how much noise x_t holds at every t = 0 .. T-1."""
        s = self.fraction(torch.arange(self.timesteps))
        return 1 - s, s

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return flow_path(x0, noise, self.fraction(t).to(x0.device))[0]


class LatentFlow(LatentSpaceModel):
    family = "flow"
    time_units = TIME_UNITS  # the U-Net's time input is t in [0, 1] times this, the scale of diffusion's steps

    def __init__(self, config: LatentFlowConfig | None = None):
        super().__init__(config or LatentFlowConfig())
        self.schedule = StraightPath()

    def velocity(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The learnt velocity at latents z (N, C, h, w) and times t (N,) in [0, 1] (0: data, 1: noise)."""
        return self.unet(z, t * self.time_units)

    def method_of(self, decoding: Decoding) -> tuple[str, int]:
        """The solver and step count a Decoding asks of a flow: its sampler where it names a flow solver ("euler",
        "heun"), else the model's own (a diffusion sampler's name means nothing here); its steps, else the model's."""
        method = decoding.sampler if decoding.sampler in METHODS else self.config.sampler
        return method, int(decoding.steps or self.config.steps)

    def latent_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        method, steps = self.method_of(decoding)
        return flow_sample(self.velocity, latents, steps, method)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        """The encoder, then the flow run backwards with encoding.decoding's solver and steps: decoding the result
        with the same Decoding gives the latent back (to the inversion's tolerance) and so the autoencoder's copy of
        the face. Each step's `image` is the latent at that step, decoded."""
        with torch.no_grad():
            z0 = self.to_latent(images)
        method, steps = self.method_of(encoding.decoding)
        for p in flow_invert(self.velocity, z0, steps, method):
            with torch.no_grad():
                yield dataclasses.replace(p, image=self.from_latent(p.state))

    def log_likelihood_steps(self, images: torch.Tensor, steps: int = 32, probes: int = 4,
                             generator: torch.Generator | None = None) -> Iterator[Progress]:
        """log p of each face's latent (the encoder's mean, scaled) under the flow, in nats: the last step's
        `result`. A density of the latent, not of the pixels: the autoencoder has none to give."""
        with torch.no_grad():
            z0 = self.to_latent(images)
        return log_likelihood(self.velocity, z0, steps, probes, generator)
