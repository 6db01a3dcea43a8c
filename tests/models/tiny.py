"""Tiny configurations shared by the model tests: real architectures, a few thousand weights."""

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from models.diffusion import DiffusionConfig
from models.face_renderer import ATTRIBUTES, render_face
from models.gan import GANConfig
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, Decoding, Encoding, GenerativeModel
from models.progress import Progress
from models.vae import VAEConfig
from models.vae_gan import VAEGANConfig


def tiny_vae(**kw) -> VAEConfig:
    return VAEConfig(**{"image_size": 16, "latent_dim": 4, "base_channels": 8, "max_channels": 16, **kw})


def tiny_vae_gan(**kw) -> VAEGANConfig:
    return VAEGANConfig(**{"image_size": 16, "latent_dim": 4, "base_channels": 8, "max_channels": 16,
                           "discriminator_channels": 8, **kw})


def tiny_gan(**kw) -> GANConfig:
    return GANConfig(**{"image_size": 16, "latent_dim": 8, "generator_channels": 8, "discriminator_channels": 8, **kw})


def tiny_diffusion(**kw) -> DiffusionConfig:
    return DiffusionConfig(**{"image_size": 16, "base_channels": 8, "channel_mults": (1, 2),
                              "attention_resolutions": (8,), "timesteps": 100, **kw})


class DrawnFaces(GenerativeModel):
    """A "model" that draws Synthetic Faces, so what each direction does is known exactly.

    Latent number i sets attribute i of ATTRIBUTES: its range's low end at -inf, high end at +inf (a sigmoid), and
    glasses when positive. Decoding renders the faces with the real renderer.
    """

    family = "gan"  # analysed as a GAN is: its latent is a white Gaussian, read directly

    def __init__(self, image_size: int = 32):
        super().__init__(SimpleNamespace(image_size=image_size))
        self.anchor = nn.Parameter(torch.zeros(1))  # a parameter gives the model a device

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (len(ATTRIBUTES),)

    def attributes(self, latents: torch.Tensor) -> np.ndarray:
        low = np.array([a.low for a in ATTRIBUTES])
        span = np.array([a.high - a.low for a in ATTRIBUTES])
        z = latents.detach().double().cpu().numpy()
        values = low + span / (1 + np.exp(-z))
        binary = np.array([a.binary for a in ATTRIBUTES])
        return np.where(binary, (z > 0).astype(float), values)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        faces = [np.asarray(render_face(a, self.image_size)) for a in self.attributes(latents)]
        images = torch.from_numpy(np.stack(faces)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        yield Progress(1, 1, state=latents, image=images)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        raise NotImplementedError("drawn faces are only decoded")


def tiny_latent_diffusion(**kw):
    from models.latent_diffusion import LatentDiffusionConfig

    return LatentDiffusionConfig(**{"image_size": 16, "latent_channels": 2, "latent_factor": 4,
                                    "autoencoder_channels": 8, "discriminator_channels": 8, "base_channels": 8,
                                    "channel_mults": (1, 2), "attention_resolutions": (2,), "timesteps": 100,
                                    "classifier_channels": 8, **kw})


def tiny_latent_flow(**kw):
    from models.latent_flow import LatentFlowConfig

    return LatentFlowConfig(**{"image_size": 16, "latent_channels": 2, "latent_factor": 4, "autoencoder_channels": 8,
                               "discriminator_channels": 8, "base_channels": 8, "channel_mults": (1, 2),
                               "attention_resolutions": (2,), **kw})
