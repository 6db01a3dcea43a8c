"""Latent diffusion (Rombach et al. 2022): diffusion run in a small autoencoder's latent instead of on pixels.

face -> encoder -> latent (channels x 16 x 16) x scale_factor -> diffusion in that space -> / scale_factor ->
decoder -> face. The process and its samplers are those of models/diffusion.py, unclipped (a latent has no
[-1, 1] range). The denoiser also takes a condition — which of the known attributes are wanted and their values —
dropped at random in training, so that one network is both the conditional and the unconditional model
(classifier-free guidance, Ho & Salimans 2022). A small noise-aware attribute classifier on the noisy latent steers
the unconditional model instead when asked (classifier guidance, Dhariwal & Nichol 2021).

Training has two stages of the same model (`stage`, models/latent_space.py): "autoencoder" trains the encoder and
decoder; "denoiser", usually started with `--init-from` the first stage's checkpoint, freezes them, measures the
scale factor on the first batch and trains the denoiser and the classifier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from models.config_check import Choice, Number, Whole
from models.diffusion import SCHEDULES, NoiseSchedule, ddim_invert, run_sampler
from models.diffusion_unet import ResBlock as TimeResBlock
from models.diffusion_unet import timestep_embedding
from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES
from models.feature_net import attributes_to_targets, outputs_to_attributes
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, DEFAULT_GUIDANCE, GUIDES, Decoding, Encoding
from models.latent_space import LatentSpaceConfig, LatentSpaceModel
from models.progress import Progress

CONDITION_DIM = 2 * len(ATTRIBUTE_NAMES)  # each attribute's value (0..1 scale) and whether it is given
# How sharply classifier guidance wants a continuous attribute: a quarter of its range, the width a hit is judged by
# (models/guidance_measures.py). Narrower made its gradient ~100x a Bernoulli's (glasses) at the same scale, so one
# continuous attribute would drown the others and push the latent off the data. Not tuned further: on the shipped
# model smile and glasses both rise with the scale at this width (models/generative.py, DEFAULT_GUIDANCE).
CLASSIFIER_WIDTH = 0.25
_BINARY = torch.tensor([a.binary for a in ATTRIBUTES])


@dataclass
class LatentDiffusionConfig(LatentSpaceConfig):
    schedule: str = "cosine"
    timesteps: int = 1000
    # Classifier-free guidance: how often training drops the whole condition (the unconditional model).
    condition_dropout: float = 0.15
    classifier_channels: int = 64  # the noise-aware attribute classifier for classifier guidance

    RANGES: ClassVar[dict] = LatentSpaceConfig.RANGES | {
        "schedule": Choice(SCHEDULES),
        "timesteps": Whole(2, 10_000),
        "condition_dropout": Number(0.0, 1.0),
        "classifier_channels": Whole(8, 512, lambda n: n % 8 == 0, "a multiple of 8"),
    }


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


class LatentDiffusion(LatentSpaceModel):
    family = "latent-diffusion"
    condition_dim = CONDITION_DIM

    def __init__(self, config: LatentDiffusionConfig | None = None):
        super().__init__(config or LatentDiffusionConfig())
        c = self.config
        self.classifier = LatentClassifier(c)
        self.schedule = NoiseSchedule(c.schedule, c.timesteps)

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
