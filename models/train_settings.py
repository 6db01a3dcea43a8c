"""A training run's settings, and the one schema that turns them into command-line flags and back.

`train --help`, the Train tab's form and the command line that resumes a run are all made from SETTINGS (what every
family shares: ranges in models/setting_ranges.py) and the families' own `Option`s (ranges in their configs), so no
door offers a setting another does not know. Torch-free until the families are listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.config_check import ConfigError
from models.family import Family, Option, families, get_family
from models.setting_ranges import IMAGE_SIZES, TRAIN_RANGES

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class TrainSettings:
    family: str
    out: str
    data: str = "synthetic-faces"  # or a folder of images
    steps: int = 2000
    batch_size: int = 64  # in all: under torchrun each process takes its share
    lr: float | None = None  # None: the family's default
    image_size: int = 64
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    channels: int | None = None  # network width; None: the family's default
    model_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"beta": 4.0}, {"loss": "hinge"}
    ema: float | None = None  # None: the family's default
    data_count: int = 20000  # Synthetic Faces only
    data_seed: int = 0
    log_every: int = 10
    sample_every: int = 250
    sample_count: int = 16
    sample_steps: int = 25  # sampling steps for the sample grids of a family that decodes in steps
    checkpoint_every: int = 500
    init_from: str | None = None  # a checkpoint whose weights of the same names and shapes start a new run

    def model_config(self) -> dict[str, Any]:
        """The architecture config of the run, as a plain dictionary (the family's presets filled in)."""
        return get_family(self.family).model_config(self.image_size, self.channels, self.model_options)


@dataclass(frozen=True)
class Setting:
    """One setting every family shares: a TrainSettings field, its flag and its words."""

    name: str  # the TrainSettings field
    help: str
    flag: str = ""  # default: "--" + name with dashes
    choices: tuple[Any, ...] = ()
    applies: Callable[[Family], bool] | None = None  # only for some families (None: all)

    @property
    def flag_name(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return self.flag_name[2:].replace("-", "_")

    @property
    def allowed(self):
        """Its range (models/setting_ranges.py), or None for a path, a choice or a switch."""
        return TRAIN_RANGES.get(self.name)

    @property
    def required(self) -> bool:
        """A setting without a default must be given (the family, the run's folder)."""
        return self.name not in _DEFAULTS

    @property
    def default(self) -> Any:
        return _DEFAULTS[self.name]


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainSettings) if f.default is not dataclasses.MISSING}

SETTINGS: tuple[Setting, ...] = (
    Setting("family", "which kind of model to train", flag="--model"),
    Setting("data", "'synthetic-faces' or a folder of images"),
    Setting("out", "the run's folder (checkpoint, training state, samples)"),
    Setting("steps", "optimisation steps in all (a resumed run goes up to this)"),
    Setting("batch_size", "images per step (shared out among torchrun processes)"),
    Setting("lr", "learning rate (default: the family's own)"),
    Setting("image_size", "pixels per side", choices=IMAGE_SIZES),
    Setting("seed", "seed of the initial weights and of the batches"),
    Setting("device", "where the run trains", choices=DEVICES),
    Setting("resume", "continue the run in --out from its last checkpoint"),
    Setting("channels", "network width (default: the family's own)"),
    Setting("ema", "moving-average decay of the weights (0 = off; default: the family's own)"),
    Setting("data_count", "Synthetic Faces: how many faces (at most 2 GiB of them at the image size)"),
    Setting("data_seed", "Synthetic Faces: which faces"),
    Setting("log_every", "steps between progress reports"),
    Setting("sample_every", "steps between sample grids (0 = never)"),
    Setting("sample_count", "images in each sample grid"),
    Setting("sample_steps", "sampling steps for the sample grids", applies=lambda family: family.iterative),
    Setting("checkpoint_every", "steps between checkpoints (0 = only at the end)"),
    Setting("init_from", "start a new run from another model's weights wherever names and shapes match: a "
            ".safetensors file or a shipped model's name (e.g. 'vae' gives a VAE-GAN its encoder and decoder); the "
            "rest start fresh, and --resume keeps the run's own"),
)
ALWAYS_WRITTEN = ("family", "out", "data", "steps")  # on every command line, even at their defaults


def family_options() -> dict[str, tuple[Option, list[Family]]]:
    """Every family's own flags by argparse destination, with the families that have each (two families may share
    one, as the VAE and the GAN share --latent-dim; its range is each family's own)."""
    found: dict[str, tuple[Option, list[Family]]] = {}
    for family in families():
        for option in family.options:
            found.setdefault(option.dest, (option, []))[1].append(family)
    return found


def option_given(value: Any) -> bool:
    """Whether a flag was given: argparse leaves an unused one None (a switch False)."""
    return value is not None and value is not False


def settings_from_values(values: Mapping[str, Any]) -> TrainSettings:
    """TrainSettings from parsed flags (argparse's destinations -> values). A flag of another family is a
    ConfigError naming it; the values' ranges are checked by check_settings, not here."""
    family = get_family(values["model"])
    chosen = {s.name: values[s.dest] for s in SETTINGS if s.dest in values}
    own = {option.dest: option for option in family.options}
    options = {}
    for dest, (option, _) in family_options().items():
        value = values.get(dest)
        if not option_given(value):
            continue
        if dest not in own:
            raise ConfigError(f"{option.flag_name} does not apply to {family.noun}")
        options[own[dest].key] = value
    return TrainSettings(**chosen, model_options=options)


def _text(value: Any) -> str:
    return str(value)  # a float's str() reads back as the same float (":g" would round 0.9999999 to 1)


def settings_arguments(settings: TrainSettings) -> list[str]:
    """The flags of `python main.py train` that make these settings: those that differ from the defaults (and the
    few every command line names), then the family's own options."""
    family = get_family(settings.family)
    args: list[str] = []
    for s in SETTINGS:
        value = getattr(settings, s.name)
        if s.applies is not None and not s.applies(family):
            continue
        if s.name == "resume":
            args += [s.flag_name] if value else []
        elif value is not None and (s.name in ALWAYS_WRITTEN or value != s.default):
            args += [s.flag_name, _text(value)]
    for key, value in settings.model_options.items():
        option = family.option(key)
        if option is None:
            raise ConfigError(f"setting '{key}' is not one of {family.noun}'s own")
        if family.option_kind(option) == "switch":
            args += [option.flag_name] if value else []
        else:
            args += [option.flag_name, _text(value)]
    return args
