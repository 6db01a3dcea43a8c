"""The first stage of latent diffusion: an autoencoder whose latent is itself a small image (Rombach et al. 2022).

The encoder turns a 64 px face into a `latent_channels` x 16 x 16 (or x 8 x 8) grid of numbers, the decoder turns
the grid back into the face. It is KL-regularised as in CompVis latent-diffusion: the encoder gives a mean and a
spread per number, training decodes a sample and adds a KL term with a tiny weight, which only keeps the latent
from drifting to huge or collapsed values; the diffusion model then works on latents scaled to unit variance (its
`scale_factor`). Optionally an adversarial term on the decoder (a patch discriminator, weighted adaptively as in
Esser et al. 2021) sharpens what a pixel error blurs: the VAE-GAN idea again, on a spatial latent.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.generative import building_shapes_only


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a skip: norm, SiLU, conv, twice (no time embedding: the autoencoder has none)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.body = nn.Sequential(_norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1),
                                  _norm(c_out), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


def level_channels(base: int, levels: int) -> list[int]:
    """Channels of each resolution from the image's own down to the latent's: doubled at each halving, at most 4x."""
    return [base * min(2**i, 4) for i in range(levels)]


class SpatialEncoder(nn.Module):
    """(N, 3, H, W) in [-1, 1] -> mean and log-variance, each (N, latent_channels, H/f, W/f)."""

    def __init__(self, base: int, halvings: int, latent_channels: int):
        super().__init__()
        ch = level_channels(base, halvings + 1)
        layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 3, padding=1)]
        for i, c in enumerate(ch):
            layers.append(ResBlock(ch[max(0, i - 1)] if i else ch[0], c))
            if i < halvings:
                layers.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        layers += [_norm(ch[-1]), nn.SiLU(), nn.Conv2d(ch[-1], 2 * latent_channels, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.layers(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)  # an outlier image cannot make exp(logvar) overflow


class SpatialDecoder(nn.Module):
    """(N, latent_channels, h, w) -> (N, 3, h*f, w*f), unbounded (clamp for display)."""

    def __init__(self, base: int, halvings: int, latent_channels: int):
        super().__init__()
        ch = level_channels(base, halvings + 1)[::-1]
        layers: list[nn.Module] = [nn.Conv2d(latent_channels, ch[0], 3, padding=1), ResBlock(ch[0], ch[0])]
        for i, c in enumerate(ch[1:]):
            layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(ch[i], ch[i], 3, padding=1),
                       ResBlock(ch[i], c)]
        layers += [_norm(ch[-1]), nn.SiLU(), nn.Conv2d(ch[-1], 3, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    @property
    def last(self) -> nn.Parameter:
        """The output layer's weight: where the adaptive weight compares the two gradients."""
        return self.layers[-1].weight

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


class PatchDiscriminator(nn.Module):
    """A small spectrally normalised PatchGAN (Isola et al. 2017): one real/fake logit per patch of the image."""

    def __init__(self, base: int, layers: int = 3):
        super().__init__()
        # Spectral norm starts from a power iteration over the weights' values; a shapes-only model has none.
        sn = nn.utils.parametrizations.spectral_norm if not building_shapes_only() else (lambda m: m)
        blocks: list[nn.Module] = []
        c_in = 3
        for i in range(layers):
            c_out = base * 2**i
            blocks += [sn(nn.Conv2d(c_in, c_out, 4, stride=2 if i < layers - 1 else 1, padding=1)), nn.LeakyReLU(0.2)]
            c_in = c_out
        blocks.append(sn(nn.Conv2d(c_in, 1, 4, padding=1)))
        self.layers = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) summed over each image's latent, averaged over the batch (nats)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1).mean()


def hinge_discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
