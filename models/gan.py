"""DCGAN-style generator and discriminator, the four classic losses, and inversion of an image to z.

Losses (`GANConfig.loss`):
- "minimax": the original game, the generator minimises log(1 - D(G(z))). Its gradient vanishes while
  the discriminator easily wins, which is why it is rarely used as is.
- "non-saturating": the generator maximises log D(G(z)) instead; same fixed point, strong early gradient.
- "wgan-gp": Wasserstein critic with a gradient penalty (lambda = 10) and 5 critic steps per generator step.
- "hinge": the hinge loss of SAGAN / BigGAN.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from models.config_check import IMAGE_SIZE, LATENT_DIM, Choice, Flag, Number, Whole, check_ranges
from models.generative import (
    DEFAULT_DECODING,
    DEFAULT_ENCODING,
    Decoding,
    Encoding,
    GenerativeModel,
    building_shapes_only,
    conv_levels,
)
from models.latent import truncate
from models.progress import Progress

LOSSES = ("minimax", "non-saturating", "wgan-gp", "hinge")


@dataclass
class GANConfig:
    image_size: int = 64
    latent_dim: int = 64
    generator_channels: int = 32  # DCGAN's ngf: channels of the last hidden layer, doubled toward the 4x4 start
    discriminator_channels: int = 32  # DCGAN's ndf: channels of the first layer, doubled at each halving
    max_channels: int = 512
    loss: str = "non-saturating"
    spectral_norm: bool = False
    gp_weight: float = 10.0
    critic_steps: int = 0  # discriminator steps per generator step; 0 = the loss's own default
    # ProGAN's minibatch standard deviation: the discriminator also sees how varied a group of images is,
    # so a generator that makes too few kinds of face (mode dropping) is caught and pushed to vary.
    minibatch_std: bool = False

    RANGES: ClassVar[dict] = {
        "image_size": IMAGE_SIZE,
        "latent_dim": LATENT_DIM,
        "generator_channels": Whole(1, 512),
        "discriminator_channels": Whole(1, 512),
        "max_channels": Whole(1, 1024),
        "loss": Choice(LOSSES),
        "spectral_norm": Flag(),
        "gp_weight": Number(0.0, 1000.0),
        "critic_steps": Whole(0, 100),
        "minibatch_std": Flag(),
    }

    def __post_init__(self):
        check_ranges(self)

    @property
    def discriminator_steps(self) -> int:
        if self.critic_steps > 0:
            return self.critic_steps
        return 5 if self.loss == "wgan-gp" else 1


def default_optimizer_settings(loss: str) -> tuple[float, tuple[float, float]]:
    """(learning rate, Adam betas): DCGAN's for most losses, the WGAN-GP paper's for wgan-gp."""
    if loss == "wgan-gp":
        return 1e-4, (0.0, 0.9)
    return 2e-4, (0.5, 0.999)


def _channels(base: int, max_channels: int, image_size: int) -> list[int]:
    """Channels of the hidden layers from the half-size level (base) down to the 4x4 level."""
    return [min(base * 2**i, max_channels) for i in range(conv_levels(image_size))]


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, config: GANConfig):
        super().__init__()
        ch = _channels(config.generator_channels, config.max_channels, config.image_size)[::-1]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.latent_dim, ch[0], 4, 1, 0, bias=False),  # z -> 4x4
            nn.BatchNorm2d(ch[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in itertools.pairwise(ch):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ch[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.layers = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, latent_dim) -> images (N, 3, H, W) in [-1, 1]."""
        return self.layers(z[:, :, None, None])


class MinibatchStd(nn.Module):
    """Appends one channel: the mean standard deviation of the features over a group of images (Karras et al.
    2018). Real batches are varied; a collapsed generator's are not, and this channel makes that visible."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        if n % g:
            g = 1 if n % 2 else 2  # an odd last batch: still one channel, from smaller groups
        y = x.reshape(g, n // g, c, h, w)
        std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
        return torch.cat([x, std.repeat(g).view(n, 1, 1, 1).expand(n, 1, h, w)], dim=1)


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig):
        super().__init__()
        ch = _channels(config.discriminator_channels, config.max_channels, config.image_size)
        # Spectral norm starts from a power iteration over the weights' values; a shapes-only model has none.
        with_sn = config.spectral_norm and not building_shapes_only()
        sn = nn.utils.parametrizations.spectral_norm if with_sn else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(3, ch[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in itertools.pairwise(ch):
            layers += [sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)), self._norm(config, c_out), nn.LeakyReLU(0.2, True)]
        if config.minibatch_std:
            layers.append(MinibatchStd())
        layers.append(sn(nn.Conv2d(ch[-1] + int(config.minibatch_std), 1, 4, 1, 0)))  # 4x4 -> one score
        self.layers = nn.Sequential(*layers)
        dcgan_init(self)

    @staticmethod
    def _norm(config: GANConfig, channels: int) -> nn.Module:
        if config.loss == "wgan-gp":
            # The gradient penalty is per sample, so the critic must not mix samples through batch
            # statistics: layer normalisation instead, as the WGAN-GP paper recommends.
            return nn.GroupNorm(1, channels)
        if config.spectral_norm:
            return nn.Identity()  # spectral norm already keeps every layer in check
        return nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """images (N, 3, H, W) -> raw scores (N,): a logit, or a critic value for wgan-gp."""
        return self.layers(x).flatten()


def discriminator_loss(loss: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss, without the gradient penalty."""
    if loss in ("minimax", "non-saturating"):
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()  # -log D(x) - log(1 - D(G(z)))
    if loss == "wgan-gp":
        return fake_scores.mean() - real_scores.mean()
    if loss == "hinge":
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()
    raise ValueError(f"unknown GAN loss {loss!r}")


def generator_loss(loss: str, fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's loss on the discriminator's scores of its images."""
    if loss == "minimax":
        return -F.softplus(fake_scores).mean()  # log(1 - D(G(z))) = -softplus(logit)
    if loss == "non-saturating":
        return F.softplus(-fake_scores).mean()  # -log D(G(z))
    if loss in ("wgan-gp", "hinge"):
        return -fake_scores.mean()
    raise ValueError(f"unknown GAN loss {loss!r}")


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||grad_x D(x)|| - 1)^2 at random points between real and fake images."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = discriminator(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


class GAN(GenerativeModel):
    """Holds the generator (what the app uses) and the discriminator (needed only for training)."""

    family = "gan"

    def __init__(self, config: GANConfig | None = None):
        super().__init__(config or GANConfig())
        self.generator = Generator(self.config)
        self.discriminator = Discriminator(self.config)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """The generator's drawing of the latents, truncated by decoding.truncation (ψ) first; the last `state` is
        the latents it drew."""
        if decoding.truncation != 1.0:
            latents = truncate(latents, decoding.truncation)
        with torch.no_grad():
            image = self.generator(latents)
        yield Progress(1, 1, state=latents, image=image)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING, lr: float = 0.05,
                     prior_weight: float = 1e-3) -> Iterator[Progress]:
        """Inversion: find z with G(z) close to the image, by Adam on z for encoding.search_steps steps.

        Several random starts (encoding.restarts) are optimised together and the best one per image is kept, since
        the loss surface of a GAN is far from convex. The prior term keeps z where the generator was trained.
        """
        steps, restarts, seed = encoding.search_steps, encoding.restarts, encoding.seed
        n = images.shape[0]
        starts = self.latents_for_seeds(range(seed, seed + n * restarts))
        z = starts.clone().requires_grad_(True)
        target = images.repeat_interleave(restarts, dim=0)
        opt = torch.optim.Adam([z], lr=lr)
        was_training = self.generator.training
        self.generator.eval()
        for p in self.generator.parameters():
            p.requires_grad_(False)
        try:
            for step in range(1, steps + 1):
                fake = self.generator(z)
                per_image = (fake - target).pow(2).flatten(1).mean(1)
                prior = (z.pow(2).mean(1) - 1.0).pow(2)
                # The best start per image, with the z that made `fake` (before this step's update).
                best = (per_image.detach().view(n, restarts).argmin(1)
                        + torch.arange(n, device=z.device) * restarts)
                report = Progress(step, steps, state=z.detach()[best].clone(), image=fake.detach()[best].clone(),
                                  loss=float(per_image.detach()[best].mean()))
                opt.zero_grad(set_to_none=True)
                (per_image + prior_weight * prior).sum().backward()
                opt.step()
                # Yielded outside any no_grad block, which would otherwise stay switched on in the
                # caller's code while this generator is paused.
                yield report
        finally:
            for p in self.generator.parameters():
                p.requires_grad_(True)
            self.generator.train(was_training)


@torch.no_grad()
def recalibrate_batchnorm(generator: Generator, latent_dim: int, batches: int = 16, batch_size: int = 64,
                          seed: int = 1234) -> None:
    """Re-estimate the generator's BatchNorm statistics over many fresh batches.

    Training keeps them as a running average of a moving target; the app decodes one z at a time in
    eval mode, so accurate population statistics are what make its images match the training samples.
    """
    device = next(generator.parameters()).device
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
        m.train()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(batches):
        generator(torch.randn(batch_size, latent_dim, generator=gen).to(device))
    for m, (momentum, training) in zip(norms, saved):
        m.momentum = momentum
        m.train(training)
