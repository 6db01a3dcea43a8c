"""Latent diffusion (Rombach et al. 2022): diffusion run in a small autoencoder's latent instead of on pixels.

face -> encoder -> latent (channels x 16 x 16) x scale_factor -> diffusion in that space -> / scale_factor ->
decoder -> face. The process and its samplers are those of models/diffusion.py, unclipped (a latent has no
[-1, 1] range). The denoiser also takes a condition — which of the known attributes are wanted and their values —
dropped at random in training, so that one network is both the conditional and the unconditional model
(classifier-free guidance, Ho & Salimans 2022). A small noise-aware attribute classifier on the noisy latent steers
the unconditional model instead when asked (classifier guidance, Dhariwal & Nichol 2021).

Training has two stages of the same model (`stage`): "autoencoder" trains the encoder and decoder; "denoiser",
usually started with `--init-from` the first stage's checkpoint, freezes them, measures the scale factor on the
first batch and trains the denoiser and the classifier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from models.config_check import IMAGE_SIZE, Choice, ConfigError, Number, Whole, Wholes, check_ranges
from models.diffusion import SCHEDULES, NoiseSchedule, ddim_invert, run_sampler
from models.diffusion_unet import ResBlock as TimeResBlock
from models.diffusion_unet import UNet, timestep_embedding
from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES
from models.feature_net import attributes_to_targets, outputs_to_attributes
from models.generative import (DEFAULT_DECODING, DEFAULT_ENCODING, DEFAULT_GUIDANCE, GUIDES, Decoding, Encoding,
                               GenerativeModel)
from models.latent_autoencoder import PatchDiscriminator, SpatialDecoder, SpatialEncoder
from models.progress import Progress

STAGES = ("autoencoder", "denoiser")
CONDITION_DIM = 2 * len(ATTRIBUTE_NAMES)  # each attribute's value (0..1 scale) and whether it is given
# How sharply classifier guidance wants a continuous attribute: a quarter of its range, the width a hit is judged by
# (models/guidance_measures.py). Narrower made its gradient ~100x a Bernoulli's (glasses) at the same scale, so one
# continuous attribute would drown the others and push the latent off the data. Not tuned further: on the shipped
# model smile and glasses both rise with the scale at this width (models/generative.py, DEFAULT_GUIDANCE).
CLASSIFIER_WIDTH = 0.25
_BINARY = torch.tensor([a.binary for a in ATTRIBUTES])


@dataclass
class LatentDiffusionConfig:
    image_size: int = 64
    # The first stage: the latent is latent_channels x (image_size / latent_factor)^2.
    latent_channels: int = 4
    latent_factor: int = 4
    autoencoder_channels: int = 32  # at the full image size; doubled at each halving (at most 4x)
    kl_weight: float = 1e-6  # CompVis's: just enough to keep the latent bounded
    adversarial_weight: float = 0.0  # the patch discriminator's push on the decoder, relative to reconstruction's
    discriminator_start: int = 500  # autoencoder steps before the discriminator has a say
    discriminator_channels: int = 32
    # The denoiser, a U-Net on the latent (models/diffusion_unet.py).
    base_channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    res_blocks: int = 1
    attention_resolutions: tuple[int, ...] = (8,)  # latent sizes at which blocks also attend globally
    dropout: float = 0.0
    heads: int = 4
    schedule: str = "cosine"
    timesteps: int = 1000
    # Classifier-free guidance: how often training drops the whole condition (the unconditional model).
    condition_dropout: float = 0.15
    classifier_channels: int = 64  # the noise-aware attribute classifier for classifier guidance
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
        "schedule": Choice(SCHEDULES),
        "timesteps": Whole(2, 10_000),
        "condition_dropout": Number(0.0, 1.0),
        "classifier_channels": Whole(8, 512, lambda n: n % 8 == 0, "a multiple of 8"),
        "stage": Choice(STAGES),
    }

    def __post_init__(self):
        check_ranges(self)
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


class LatentClassifier(nn.Module):
    """Attributes from a noisy latent z_t and its time step: the classifier of classifier guidance."""

    def __init__(self, config: LatentDiffusionConfig):
        super().__init__()
        c = config.classifier_channels
        self.base = c
        self.time_mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.SiLU(), nn.Linear(4 * c, 4 * c))
        self.stem = nn.Conv2d(config.latent_channels, c, 3, padding=1)
        self.block1 = TimeResBlock(c, c, 4 * c, 0.0)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.block2 = TimeResBlock(2 * c, 2 * c, 4 * c, 0.0)
        self.head = nn.Sequential(nn.GroupNorm(8, 2 * c), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(2 * c, len(ATTRIBUTE_NAMES)))

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """z_t (N, C, h, w), t (N,) -> raw outputs (N, 15), read as models/feature_net.py reads its own."""
        emb = self.time_mlp(timestep_embedding(t, self.base))
        h = self.block1(self.stem(z), emb)
        return self.head(self.block2(self.down(h), emb))


def attribute_index(name: str) -> int:
    if name not in ATTRIBUTE_NAMES:
        raise ValueError(f"unknown attribute {name!r}; the known ones are {', '.join(ATTRIBUTE_NAMES)}")
    return ATTRIBUTE_NAMES.index(name)


def condition_vector(attributes: Sequence[tuple[str, float]], n: int, device: torch.device | str = "cpu"
                     ) -> torch.Tensor:
    """The denoiser's condition for wanted attributes (name, value in the attribute's units): (n, CONDITION_DIM),
    each attribute's value on a 0..1 scale where given and zero where not, then 1 where given. No attributes: zeros,
    the unconditional model."""
    values = torch.zeros(len(ATTRIBUTE_NAMES))
    given = torch.zeros(len(ATTRIBUTE_NAMES))
    for name, value in attributes:
        i = attribute_index(name)
        full = torch.zeros(len(ATTRIBUTE_NAMES))
        full[i] = float(value)
        values[i] = attributes_to_targets(full[None])[0, i].clamp(0.0, 1.0)
        given[i] = 1.0
    return torch.cat([values * given, given]).expand(n, -1).to(device)


def training_condition(attributes: torch.Tensor, dropout: float, generator: torch.Generator) -> torch.Tensor:
    """A random condition per image from its true attributes (N, 15): each image keeps each attribute with its own
    random probability (so a condition naming one attribute is as familiar as one naming all), and with probability
    `dropout` none at all (the unconditional model)."""
    n, a = attributes.shape
    keep_rate = torch.rand(n, 1, generator=generator)
    given = (torch.rand(n, a, generator=generator) < keep_rate).float()
    given *= (torch.rand(n, 1, generator=generator) >= dropout).float()
    given = given.to(attributes.device)
    values = attributes_to_targets(attributes).clamp(0.0, 1.0)
    return torch.cat([values * given, given], dim=1)


def classifier_log_likelihood(outputs: torch.Tensor, attributes: Sequence[tuple[str, float]]) -> torch.Tensor:
    """log p(wanted attributes | z_t) per image (N,), up to a constant, from the classifier's raw outputs: a Gaussian
    of width CLASSIFIER_WIDTH (on the 0..1 scale) around each wanted continuous value, a Bernoulli for glasses."""
    total = outputs.new_zeros(outputs.shape[0])
    for name, value in attributes:
        i = attribute_index(name)
        full = torch.zeros(1, len(ATTRIBUTE_NAMES))
        full[0, i] = float(value)
        target = float(attributes_to_targets(full)[0, i].clamp(0.0, 1.0))
        if bool(_BINARY[i]):
            logit = outputs[:, i]
            total = total + (target * torch.nn.functional.logsigmoid(logit)
                             + (1 - target) * torch.nn.functional.logsigmoid(-logit))
        else:
            total = total - (outputs[:, i] - target).pow(2) / (2 * CLASSIFIER_WIDTH**2)
    return total


class LatentDiffusion(GenerativeModel):
    family = "latent-diffusion"

    def __init__(self, config: LatentDiffusionConfig | None = None):
        super().__init__(config or LatentDiffusionConfig())
        c = self.config
        self.encoder = SpatialEncoder(c.autoencoder_channels, c.halvings, c.latent_channels)
        self.decoder = SpatialDecoder(c.autoencoder_channels, c.halvings, c.latent_channels)
        self.unet = UNet(c, channels=c.latent_channels, size=c.latent_size, condition_dim=CONDITION_DIM)
        self.classifier = LatentClassifier(c)
        self.discriminator = PatchDiscriminator(c.discriminator_channels)
        self.schedule = NoiseSchedule(c.schedule, c.timesteps)
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

    # ------------------------------------------------------------------------------------------- the first stage
    def first_stage(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, H, W) in [-1, 1] -> the encoder's mean and spread of the latent, unscaled."""
        mean, logvar = self.encoder(images)
        return mean, (0.5 * logvar).exp()

    def to_latent(self, images: torch.Tensor) -> torch.Tensor:
        """images -> the diffusion's clean latent z_0 (the encoder's mean, scaled to unit variance)."""
        return self.first_stage(images)[0] * self.scale

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """A clean (or predicted clean) latent in the diffusion's units -> images (N, 3, H, W) in [-1, 1]."""
        return self.decoder(z / self.scale).clamp(-1.0, 1.0)

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first stage's latent of images, in the diffusion's units: (mean, spread), each (N, C, h, w)."""
        mean, spread = self.first_stage(images)
        return mean * self.scale, spread * self.scale

    # ----------------------------------------------------------------------------------------------- denoising
    def eps(self, z: torch.Tensor, t: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted noise of z_t (N, C, h, w) at time steps t (N,), for a condition (N, CONDITION_DIM) or none."""
        return self.unet(z, t, condition)

    def guidance_of(self, decoding: Decoding) -> float:
        if decoding.guide not in GUIDES:
            raise ValueError(f"unknown guide {decoding.guide!r}; choose {' or '.join(GUIDES)}")
        return DEFAULT_GUIDANCE[decoding.guide] if decoding.guidance is None else float(decoding.guidance)

    def guided_eps(self, decoding: Decoding):
        """The noise prediction sampling follows: unconditional when no attribute is wanted; otherwise
        classifier-free, eps_u + s (eps_c - eps_u), or classifier-guided, eps_u - s sqrt(1 - abar_t) grad log p(y|z_t).
        The wanted attributes are decoding.attributes for every image, or decoding.attributes_each, one set per
        image."""
        each = tuple(tuple(w) for w in decoding.attributes_each)
        wanted = tuple(decoding.attributes)
        if each and wanted:
            raise ValueError("give the wanted attributes either for all images or for each, not both")
        if not wanted and not any(each):
            return self.eps
        for name, _ in wanted + tuple(pair for w in each for pair in w):
            attribute_index(name)
        scale = self.guidance_of(decoding)

        def wants(n: int) -> tuple[tuple[tuple[str, float], ...], ...]:
            if not each:
                return (wanted,) * n
            if len(each) != n:
                raise ValueError(f"{len(each)} sets of wanted attributes for {n} images")
            return each

        if decoding.guide == "free":
            def free(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
                n = z.shape[0]
                if each:
                    wanted_c = torch.cat([condition_vector(w, 1, z.device) for w in wants(n)])
                else:
                    wanted_c = condition_vector(wanted, n, z.device)
                condition = torch.cat([torch.zeros(n, CONDITION_DIM, device=z.device), wanted_c])
                eps_u, eps_c = self.eps(torch.cat([z, z]), torch.cat([t, t]), condition).chunk(2)
                return eps_u + scale * (eps_c - eps_u)
            return free

        def steered(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            eps = self.eps(z, t)
            with torch.enable_grad():
                z_in = z.detach().requires_grad_(True)
                outputs = self.classifier(z_in, t)
                if each:
                    log_p = sum(classifier_log_likelihood(outputs[i:i + 1], w).sum()
                                for i, w in enumerate(wants(z.shape[0])) if w)
                else:
                    log_p = classifier_log_likelihood(outputs, wanted).sum()
                (grad,) = torch.autograd.grad(log_p, z_in)
            sigma = (1 - self.schedule.abar(t)).sqrt().view(-1, 1, 1, 1).to(z)
            return eps - scale * sigma * grad
        return steered

    def predict_attributes(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The classifier's reading of z_t: attributes (N, 15) in their own units."""
        return outputs_to_attributes(self.classifier(z, t))

    def latent_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """Sampling in the latent, x_T = latents (N, C, h, w): steps whose `state` is z_t and `image` the predicted
        clean latent (not decoded)."""
        d = decoding
        return run_sampler(self.guided_eps(d), self.schedule, latents, d.sampler, d.steps, eta=d.eta, seed=d.seed,
                           clip=False)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """Sampling from x_T = latents; every step's predicted clean latent is decoded into `image` (a preview of
        the face); the latent itself is `state`."""
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

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING,
                     refine: int = 4) -> Iterator[Progress]:
        """The encoder, then DDIM inversion of the latent by the unconditional model with encoding.decoding's steps
        (50 by default): decoding the result with the same Decoding (unguided DDIM) gives the face back."""
        with torch.no_grad():
            z0 = self.to_latent(images)
        steps = ddim_invert(self.eps, self.schedule, z0, encoding.decoding.steps or 50, refine, clip=False)
        for p in steps:
            with torch.no_grad():
                yield dataclasses.replace(p, image=self.from_latent(p.image))
