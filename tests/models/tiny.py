"""Tiny configurations shared by the model tests: real architectures, a few thousand weights."""

from models.diffusion import DiffusionConfig
from models.gan import GANConfig
from models.vae import VAEConfig


def tiny_vae(**kw) -> VAEConfig:
    return VAEConfig(**{"image_size": 16, "latent_dim": 4, "base_channels": 8, "max_channels": 16, **kw})


def tiny_gan(**kw) -> GANConfig:
    return GANConfig(**{"image_size": 16, "latent_dim": 8, "generator_channels": 8, "discriminator_channels": 8, **kw})


def tiny_diffusion(**kw) -> DiffusionConfig:
    return DiffusionConfig(**{"image_size": 16, "base_channels": 8, "channel_mults": (1, 2),
                              "attention_resolutions": (8,), "timesteps": 100, **kw})
