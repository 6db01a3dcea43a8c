"""The model families by name, and building a model from a plain config dictionary (as stored in checkpoints)."""

from __future__ import annotations

from typing import Any

from models.config_check import ConfigError, check_ranges, config_from_dict
from models.diffusion import Diffusion, DiffusionConfig
from models.gan import GAN, GANConfig
from models.generative import GenerativeModel, shapes_only
from models.vae import VAE, VAEConfig

FAMILIES: dict[str, tuple[type[GenerativeModel], type]] = {
    "vae": (VAE, VAEConfig),
    "gan": (GAN, GANConfig),
    "diffusion": (Diffusion, DiffusionConfig),
}
FAMILY_NAMES = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}


def build_model(family: str, config: dict[str, Any] | Any) -> GenerativeModel:
    """A freshly initialised model of a family from its config (a dataclass or a dictionary)."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family '{family}' (known: {', '.join(FAMILIES)})")
    model_class, config_class = FAMILIES[family]
    if isinstance(config, config_class):
        check_ranges(config)  # a dataclass's fields may have changed since it was made
    else:
        config = config_from_dict(config_class, config)
    return model_class(config)


def build_skeleton(family: str, config: dict[str, Any] | Any) -> GenerativeModel:
    """The model a config describes with the shapes of its weights but no memory (the meta device), to check a
    checkpoint's weights against before the real one is allocated."""
    with shapes_only():
        return build_model(family, config)


def inference_state_dict(model: GenerativeModel) -> dict[str, Any]:
    """The weights the app needs to generate: everything except a GAN's discriminator."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("discriminator.")}
