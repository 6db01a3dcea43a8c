"""What latent diffusion and the latent flow share: a first-stage autoencoder whose latent is a small image
(models/latent_autoencoder.py), that latent scaled to unit variance, and a U-Net that works on it.

The two families differ only in what the U-Net learns (the noise of a diffusion process, or the velocity of a
flow) and how sampling uses it, so that their comparison is a comparison of objectives and samplers, not of
networks. Both train in two stages of one model (`stage`): "autoencoder" trains the encoder and decoder; "denoiser",
usually started with `--init-from` the first stage's checkpoint, freezes them and trains the U-Net.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch

from models.config_check import IMAGE_SIZE, Choice, ConfigError, Number, Whole, Wholes, check_ranges
from models.diffusion_unet import UNet
from models.generative import DEFAULT_DECODING, Decoding, GenerativeModel
from models.latent_autoencoder import PatchDiscriminator, SpatialDecoder, SpatialEncoder
from models.progress import Progress

STAGES = ("autoencoder", "denoiser")


@dataclass
class LatentSpaceConfig:
    image_size: int = 64
    # The first stage: the latent is latent_channels x (image_size / latent_factor)^2.
    latent_channels: int = 4
    latent_factor: int = 4
    autoencoder_channels: int = 32  # at the full image size; doubled at each halving (at most 4x)
    kl_weight: float = 1e-6  # CompVis's: just enough to keep the latent bounded
    adversarial_weight: float = 0.0  # the patch discriminator's push on the decoder, relative to reconstruction's
    discriminator_start: int = 500  # autoencoder steps before the discriminator has a say
    discriminator_channels: int = 32
    # The U-Net on the latent (models/diffusion_unet.py).
    base_channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    res_blocks: int = 1
    attention_resolutions: tuple[int, ...] = (8,)  # latent sizes at which blocks also attend globally
    dropout: float = 0.0
    heads: int = 4
    stage: str = "denoiser"

    RANGES: ClassVar[dict] = {
        "image_size": IMAGE_SIZE,
        "latent_channels": Whole(1, 64),
        "latent_factor": Whole(4, 8, lambda n: n in (4, 8), "4 or 8"),
        "autoencoder_channels": Whole(8, 256, lambda n: n % 8 == 0, "a multiple of 8"),
        "kl_weight": Number(0.0, 1.0),
        "adversarial_weight": Number(0.0, 100.0),
        "discriminator_start": Whole(0, 1_000_000),
        "discriminator_channels": Whole(8, 256, lambda n: n % 8 == 0, "a multiple of 8"),
        "base_channels": Whole(8, 512, lambda n: n % 8 == 0, "a multiple of 8"),
        "channel_mults": Wholes(Whole(1, 8), 1, 5),
        "res_blocks": Whole(1, 8),
        "attention_resolutions": Wholes(Whole(1, 64), 0, 5),
        "dropout": Number(0.0, 1.0, high_open=True),
        "heads": Whole(1, 64),
        "stage": Choice(STAGES),
    }

    def __post_init__(self):
        check_ranges(self)  # a subclass's RANGES include its own fields
        if self.image_size // self.latent_factor < 2:
            raise ConfigError(f"setting 'latent_factor' {self.latent_factor} leaves a latent smaller than 2 x 2 "
                              f"for {self.image_size} px images")
        levels = len(self.channel_mults)
        if self.latent_size >> (levels - 1) < 2:
            raise ConfigError(f"setting 'channel_mults' has {levels} levels, too many for a {self.latent_size} x "
                              f"{self.latent_size} latent (each level after the first halves it, down to 2)")

    @property
    def latent_size(self) -> int:
        return self.image_size // self.latent_factor

    @property
    def halvings(self) -> int:
        return self.latent_factor.bit_length() - 1


class LatentSpaceModel(GenerativeModel):
    """The autoencoder, its discriminator (training only), the U-Net and the scale factor. A subclass sets
    `condition_dim` (the width of the U-Net's condition; 0: none) and says how it samples in the latent
    (`latent_steps`) and how a face goes back to its starting noise (`encode_steps`)."""

    condition_dim: ClassVar[int] = 0

    def __init__(self, config: LatentSpaceConfig):
        super().__init__(config)
        c = self.config
        self.encoder = SpatialEncoder(c.autoencoder_channels, c.halvings, c.latent_channels)
        self.decoder = SpatialDecoder(c.autoencoder_channels, c.halvings, c.latent_channels)
        self.unet = UNet(c, channels=c.latent_channels, size=c.latent_size, condition_dim=self.condition_dim)
        self.discriminator = PatchDiscriminator(c.discriminator_channels)
        # 1 / the standard deviation of the first stage's latents, measured when the denoiser's training starts
        # (0 until then); saved with the weights.
        self.register_buffer("scale_factor", torch.zeros(()))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        c = self.config
        return (c.latent_channels, c.latent_size, c.latent_size)

    @property
    def scale(self) -> torch.Tensor:
        return torch.where(self.scale_factor > 0, self.scale_factor, torch.ones_like(self.scale_factor))

    def first_stage(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, H, W) in [-1, 1] -> the encoder's mean and spread of the latent, unscaled."""
        mean, logvar = self.encoder(images)
        return mean, (0.5 * logvar).exp()

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        """images -> the clean latent z_0 the U-Net works on (the encoder's mean, scaled to unit variance)."""
        return self.first_stage(images)[0] * self.scale

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """A clean (or predicted clean) latent in the U-Net's units -> images (N, 3, H, W) in [-1, 1]."""
        return self.decoder(z / self.scale).clamp(-1.0, 1.0)

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first stage's latent of images, in the U-Net's units: (mean, spread), each (N, C, h, w)."""
        mean, spread = self.first_stage(images)
        return mean * self.scale, spread * self.scale

    @abstractmethod
    def latent_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """Sampling in the latent from the starting noise `latents` (N, C, h, w): steps whose `state` is the
        latent at that step and `image` the guess of the clean latent (not decoded)."""

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """Sampling from the starting noise; every step's guess of the clean latent is decoded into `image` (a
        preview of the face); the latent itself is `state`."""
        for p in self.latent_steps(latents, decoding):
            with torch.no_grad():
                yield dataclasses.replace(p, image=self.from_latent(p.image))

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> torch.Tensor:
        """Latents -> images, decoding only the final latent (a step's preview costs a decoder pass)."""
        final = None
        for final in self.latent_steps(latents, decoding):
            pass
        return self.from_latent(final.image)
