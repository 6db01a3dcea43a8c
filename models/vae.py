"""Variational autoencoder: a convolutional encoder to (mu, log sigma^2), a reparameterised sample, a decoder.

Loss = reconstruction + beta * KL (beta-VAE). The reconstruction term is the squared error summed over
pixels (a Gaussian likelihood), so beta = 1 is the classic VAE; a larger beta pulls the latents harder
toward the prior and leaves more dimensions unused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from models.config_check import IMAGE_SIZE, LATENT_DIM, Number, Whole, check_ranges, group_norm_friendly
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, Decoding, Encoding, GenerativeModel, conv_levels
from models.progress import Progress

# GroupNorm(min(8, c), c) splits c channels into groups: every level's count (base doubled, capped) must divide.
_BASE = Whole(1, 512, lambda n: n in (1, 2, 4) or n % 8 == 0, "1, 2, 4 or a multiple of 8")
_MAX = Whole(1, 1024, group_norm_friendly, "8 or less, or a multiple of 8")


@dataclass
class VAEConfig:
    image_size: int = 64
    latent_dim: int = 32
    base_channels: int = 32  # channels at the full image size; doubled at each halving
    max_channels: int = 256
    beta: float = 1.0

    RANGES: ClassVar[dict] = {
        "image_size": IMAGE_SIZE,
        "latent_dim": LATENT_DIM,
        "base_channels": _BASE,
        "max_channels": _MAX,
        "beta": Number(0.0, 100.0),
    }

    def __post_init__(self):
        check_ranges(self)


def _channels(config: VAEConfig) -> list[int]:
    """Channels from the full-size level down to the 4x4 level."""
    levels = conv_levels(config.image_size)
    return [min(config.base_channels * 2**i, config.max_channels) for i in range(levels + 1)]


def _norm(channels: int) -> nn.GroupNorm:
    # GroupNorm rather than BatchNorm: the app decodes one latent at a time, and a batch statistic
    # would make the image depend on what else is in the batch.
    return nn.GroupNorm(min(8, channels), channels)


class Encoder(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        ch = _channels(config)
        layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 3, padding=1), _norm(ch[0]), nn.SiLU()]
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), _norm(c_out), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch[-1] * 16, 2 * config.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 3, H, W) in [-1, 1] -> mu, logvar, each (N, latent_dim)."""
        h = self.head(self.features(x).flatten(1))
        mu, logvar = h.chunk(2, dim=1)
        # Clamped so an outlier image cannot make exp(logvar) overflow.
        return mu, logvar.clamp(-30.0, 20.0)


class Decoder(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        ch = _channels(config)[::-1]  # from the 4x4 level up to full size
        self.start_channels = ch[0]
        self.project = nn.Linear(config.latent_dim, ch[0] * 16)
        layers: list[nn.Module] = [_norm(ch[0]), nn.SiLU()]
        for c_in, c_out in zip(ch[:-1], ch[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), _norm(c_out), nn.SiLU()]
        layers.append(nn.Conv2d(ch[-1], 3, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, latent_dim) -> images (N, 3, H, W), unbounded (clamp for display)."""
        return self.layers(self.project(z).view(-1, self.start_channels, 4, 4))


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per latent dimension, averaged over the batch: (latent_dim,) in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean(dim=0)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A sample z = mu + sigma * eps, differentiable in mu and logvar."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + (0.5 * logvar).exp() * eps


def vae_loss(x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
    """reconstruction + beta * KL, per image averaged over the batch.

    Returns (loss, {"loss", "reconstruction", "kl"} as floats, KL per dimension (latent_dim,) detached).
    """
    reconstruction = F.mse_loss(recon, x, reduction="none").flatten(1).sum(1).mean()
    kl_dims = kl_per_dimension(mu, logvar)
    kl = kl_dims.sum()
    loss = reconstruction + beta * kl
    parts = {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}
    return loss, parts, kl_dims.detach()


class VAE(GenerativeModel):
    family = "vae"

    def __init__(self, config: VAEConfig | None = None):
        super().__init__(config or VAEConfig())
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (N, 3, H, W) -> reconstruction (N, 3, H, W), mu, logvar (N, latent_dim)."""
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterise(mu, logvar)), mu, logvar

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        """Training loss for a batch x (N, 3, H, W) in [-1, 1]; see vae_loss."""
        return vae_loss(x, *self(x), beta=self.config.beta)

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, H, W) in [-1, 1] -> (mu, sigma), each (N, latent_dim)."""
        mu, logvar = self.encoder(images)
        return mu, (0.5 * logvar).exp()

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        with torch.no_grad():
            image = self.decoder(latents).clamp(-1.0, 1.0)
        yield Progress(1, 1, state=latents, image=image)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        with torch.no_grad():
            mu, _ = self.encoder(images)
            image = self.decoder(mu).clamp(-1.0, 1.0)
        yield Progress(1, 1, state=mu, image=image)
