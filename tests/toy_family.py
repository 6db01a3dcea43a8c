"""A fifth model family, whole in this one file, added through the public API only: models.family.register_family.

A tiny deterministic autoencoder (fully connected, no convolutions): an encoder that squeezes a face into a few
numbers and a decoder that draws a face from them, trained on reconstruction error, with a light pull of the codes
towards the prior so that random numbers draw faces too. It has no view in explorer/family_views: the app shows it
with the default one. tests/toy_plug_in.py registers it when imported: named as a plug-in
(LATENT_EXPLORER_FAMILIES=tests.toy_plug_in), a training run that the Train tab starts in a child process knows it too.
Importing this file registers nothing, so a test that does not ask for the family never sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from models.config_check import IMAGE_SIZE, Whole, check_ranges
from models.family import Family, Option, register_family, unregister_family
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, Decoding, Encoding, GenerativeModel
from models.progress import Progress
from models.trainer import NextBatch, OneOptimiserTrainer, StepResult

NAME = "toy"


@dataclass
class ToyConfig:
    image_size: int = 16
    latent_dim: int = 6
    hidden: int = 32

    RANGES: ClassVar[dict] = {"image_size": IMAGE_SIZE, "latent_dim": Whole(1, 64), "hidden": Whole(4, 256)}

    def __post_init__(self):
        check_ranges(self)


class ToyAutoencoder(GenerativeModel):
    family = NAME

    def __init__(self, config: ToyConfig | None = None):
        super().__init__(config or ToyConfig())
        pixels, hidden, latent = 3 * self.image_size ** 2, self.config.hidden, self.config.latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden), nn.Tanh(), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, pixels), nn.Tanh())

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def draw(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents).view(-1, 3, self.image_size, self.image_size)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encoder(images)
        return self.draw(codes), codes

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A deterministic encoder: the mean is the code, the spread nothing."""
        codes = self.encoder(images)
        return codes, torch.zeros_like(codes)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        with torch.no_grad():
            yield Progress(1, 1, state=latents, image=self.draw(latents))

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        with torch.no_grad():
            codes = self.encoder(images)
            yield Progress(1, 1, state=codes, image=self.draw(codes))


class ToyTrainer(OneOptimiserTrainer):
    @classmethod
    def default_lr(cls, config: ToyConfig) -> float:
        return 3e-3

    def step(self, next_batch: NextBatch) -> StepResult:
        self.model.train()
        x = next_batch()
        drawn, codes = self.net(x)
        reconstruction = (drawn - x).pow(2).mean()
        prior = codes.pow(2).mean(0).sub(1).pow(2).mean()  # each code number's spread towards the prior's
        loss = reconstruction + 0.01 * prior
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return StepResult({"reconstruction": reconstruction.item(), "prior": prior.item()})


FAMILY = Family(
    name=NAME, title="Toy", noun="a toy autoencoder", model_class=ToyAutoencoder, config_class=ToyConfig,
    trainer_class=ToyTrainer, presets=lambda image_size, channels: {"hidden": channels} if channels else {},
    options=(Option("latent_dim", "Latent numbers", "size of the code"),
             Option("hidden", "Hidden units", "width of the one hidden layer")),
    losses=("reconstruction", "prior"), encoding="encoder", directions="samples", order=50)


def register() -> None:
    register_family(FAMILY)


def unregister() -> None:
    unregister_family(NAME)
