"""The model families by name, and building a model from a plain config dictionary (as stored in checkpoints)."""

from __future__ import annotations

import dataclasses
from typing import Any

from models.diffusion import Diffusion, DiffusionConfig
from models.gan import GAN, GANConfig
from models.generative import GenerativeModel
from models.vae import VAE, VAEConfig

FAMILIES: dict[str, tuple[type[GenerativeModel], type]] = {
    "vae": (VAE, VAEConfig),
    "gan": (GAN, GANConfig),
    "diffusion": (Diffusion, DiffusionConfig),
}
FAMILY_NAMES = {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}


class ConfigError(ValueError):
    """A config dictionary that does not describe a model; its text is one plain sentence."""


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Check one config value against the type of its default; JSON lists become tuples."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        kind = "true or false"
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        kind = "a whole number"
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
        kind = "a number"
    elif isinstance(default, str):
        ok = isinstance(value, str)
        kind = "text"
    elif isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        value = tuple(value) if ok else value
        kind = "a list of whole numbers"
    else:  # pragma: no cover - every config field has one of the types above
        ok, kind = True, ""
    if not ok:
        raise ConfigError(f"setting '{name}' should be {kind}, not {value!r}")
    return value


def config_from_dict(config_class: type, data: Any) -> Any:
    """Rebuild a config dataclass from a dictionary, checking every value's type."""
    if not isinstance(data, dict):
        raise ConfigError("the model settings are not a dictionary")
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown setting '{unknown[0]}'")
    defaults = config_class()
    values = {name: _coerce(name, value, getattr(defaults, name)) for name, value in data.items()}
    try:
        return config_class(**values)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def build_model(family: str, config: dict[str, Any] | Any) -> GenerativeModel:
    """A freshly initialised model of a family from its config (a dataclass or a dictionary)."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family '{family}' (known: {', '.join(FAMILIES)})")
    model_class, config_class = FAMILIES[family]
    if not isinstance(config, config_class):
        config = config_from_dict(config_class, config)
    return model_class(config)


def inference_state_dict(model: GenerativeModel) -> dict[str, Any]:
    """The weights the app needs to generate: everything except a GAN's discriminator."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("discriminator.")}
