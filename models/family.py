"""What the app knows about a model family, and the registry: the only list of families.

A family is one `Family` description (models/families/NAME.py holds the built-in ones, beside their trainers): its
model and config classes, the config a run of a given image size gets, its trainer and default optimiser settings,
how it decodes and encodes, how its slider directions are found, which weights it needs only for training, its own
training options and the loss curves it reports. Everything else — the CLI's choices and flags, the Train tab's form,
the model chooser, Compare's bars, checkpoints — asks the registry, so adding a family is adding its files (and
`register_family` from anywhere, a test included).

A family from outside the app is a plug-in: a module that registers its family (and, if it likes, its view in
explorer/family_views) when imported, named in LATENT_EXPLORER_FAMILIES (module names separated by commas). Every
process of the app imports them, a training run started from the Train tab included.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from models.config_check import Choice, ConfigError, Flag, Number, Whole, check_ranges, config_from_dict

OptionKind = Literal["whole", "number", "choice", "switch"]
_KINDS: dict[type, OptionKind] = {Whole: "whole", Number: "number", Choice: "choice", Flag: "switch"}


@dataclass(frozen=True)
class Option:
    """One of a family's own training settings: a field of its config that a person may set (`train --FLAG`, a
    field of the Train tab's form, a key of TrainSettings.model_options). Its range and default are the config's."""

    key: str  # the config field, e.g. "beta"
    label: str  # the form's label: "β (KL weight)"
    help: str  # one phrase for --help and the form's tooltip
    flag: str = ""  # "--gan-loss"; default "--" + key with dashes
    step: float = 1  # the form's spin-box step
    special: str = ""  # the form's words for the lowest value (e.g. 0 = "the loss's own")
    choices: tuple[str, ...] = ()  # the order a choice is offered in (default: the config range's order)

    @property
    def flag_name(self) -> str:
        return self.flag or "--" + self.key.replace("_", "-")

    @property
    def dest(self) -> str:
        """The attribute argparse stores the flag's value under."""
        return self.flag_name[2:].replace("-", "_")


TIME_FIGURE = "seconds_per_image"


@dataclass(frozen=True)
class BarAgainst:
    """A quality bar against another family's shipped model: `figure` compared with the same figure of `other`.

    rule "at_least": figure >= needed x theirs; "at_most": figure <= needed x theirs; "closer_to_one": |figure - 1|
    < |theirs - 1| (sharpness, whose ideal is real faces' 1). A bar on "seconds_per_image" — a time, which depends on
    the machine and on what else it is doing — is judged on both models timed in one run (ship_model and bench),
    not on two cards written on different days or machines."""

    figure: str
    other: str  # a family name
    rule: Literal["at_least", "at_most", "closer_to_one"]
    needed: float = 1.0

    @property
    def timed(self) -> bool:
        return self.figure == TIME_FIGURE

    def met(self, mine: float, theirs: float) -> bool:
        if self.rule == "at_least":
            return mine >= self.needed * theirs
        if self.rule == "at_most":
            return mine <= self.needed * theirs
        return abs(mine - 1.0) < abs(theirs - 1.0)

    def words(self) -> str:
        if self.rule == "closer_to_one":
            return f"{self.figure} closer to 1 than the {self.other}'s"
        return f"{self.figure} {'≥' if self.rule == 'at_least' else '≤'} {self.needed:g}× the {self.other}'s"


@dataclass(frozen=True)
class Family:
    """Everything the app needs to know about one model family (see the module's docstring)."""

    name: str  # "vae": in checkpoints, `--model`, run folder names
    title: str  # "VAE": on buttons, bars, labels
    noun: str  # "a VAE", "a diffusion model": in sentences
    # Classes named by their roles only, so that this module imports neither (the trainer base imports this one).
    model_class: type  # a models.generative.GenerativeModel subclass
    config_class: type  # a config dataclass with RANGES (models/config_check.py)
    trainer_class: type  # a models.trainer.FamilyTrainer subclass
    # The config of a new run: (image size, network width or None for the family's own) -> config fields, before the
    # run's own options are laid over them. The family's presets per image size live here.
    presets: Callable[[int, int | None], dict[str, Any]]
    default_ema: float = 0.0  # moving-average decay of the weights when a run does not say (0: none)
    options: tuple[Option, ...] = ()
    losses: tuple[str, ...] = ("loss",)  # what its trainer reports each step, the headline first
    # Decoding runs in steps (Decoding's sampler and steps apply). Such a family is also the Diffusion tab's subject,
    # which draws its forward process from `model.schedule` (models/diffusion.py NoiseSchedule) and the steps' `t`.
    iterative: bool = False
    truncation: bool = False  # Decoding.truncation (ψ) applies
    guided: bool = False  # Decoding.attributes, guidance and guide apply (it can be steered toward attributes)
    # How images become latents: "encoder" (one pass through an encoder network; the model then also has
    # `posterior(images) -> (mean, spread)`), "search" (optimising latents until the decoder draws the image),
    # "inversion" (running the sampler backwards).
    encoding: Literal["encoder", "search", "inversion"] = "encoder"
    # How the Explore tab's directions are found: "encoder" (from the posterior means of real faces, whose labels
    # are known) or "samples" (from the model's own samples, labelled by the feature network).
    directions: Literal["encoder", "samples"] = "samples"
    training_only: tuple[str, ...] = ()  # prefixes of weights that generating does not need ("discriminator.")
    order: int = 100  # where it stands in lists: lower first
    # Measured quality a model must reach to be shipped in resources/ (models/ship_model.py): metric -> least value.
    ship_bars: Mapping[str, float] = field(default_factory=dict)
    # Bars against another family's shipped model (its card's figures), for a family whose promise is a comparison.
    bars_against: tuple[BarAgainst, ...] = ()

    @property
    def has_encoder(self) -> bool:
        """Images become latents in one pass, and the model has `posterior` (a latent map, an encoder report)."""
        return self.encoding == "encoder"

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    def option_range(self, option: Option) -> Whole | Number | Choice | Flag:
        return self.config_class.RANGES[option.key]

    def option_kind(self, option: Option) -> OptionKind:
        return _KINDS[type(self.option_range(option))]

    def option_choices(self, option: Option) -> tuple[str, ...]:
        return option.choices or tuple(self.option_range(option).options)

    def option_default(self, option: Option) -> Any:
        return next(f.default for f in dataclasses.fields(self.config_class) if f.name == option.key)

    def model_config(self, image_size: int, channels: int | None, options: Mapping[str, Any]) -> dict[str, Any]:
        """The config of a new run as a plain dictionary: the family's preset for the size, then the run's options."""
        return {"image_size": image_size, **self.presets(image_size, channels), **dict(options)}

    def default_lr(self, config: Any) -> float:
        """The learning rate a run gets when it does not say (the trainer's, which may follow the config)."""
        return self.trainer_class.default_lr(config)

    def inference_weights(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The weights the app needs to generate: all but those only training uses."""
        return {k: v for k, v in state.items() if not any(k.startswith(p) for p in self.training_only)}

    def build(self, config: Mapping[str, Any] | Any) -> Any:
        """A freshly initialised model from its config (a dataclass or a dictionary, every value checked)."""
        if isinstance(config, self.config_class):
            check_ranges(config)  # a dataclass's fields may have changed since it was made
        else:
            config = config_from_dict(self.config_class, config)
        return self.model_class(config)


# A family's name is a value of --model, the stem of its shipped file in resources/ and a key in settings and
# checkpoints: lower-case words of letters and digits joined by single hyphens. Not an underscore as well: "vae_gan"
# beside "vae-gan" would be two families a person cannot tell apart; not a leading hyphen, which reads as a flag.
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
NAME_LENGTH = 40  # as much of a name as messages show (noun_of)
_REGISTRY: dict[str, Family] = {}
_LOCK = threading.RLock()  # the worker thread and the GUI thread may be the first to ask
_LOADED = False
PLUG_INS = "LATENT_EXPLORER_FAMILIES"
ENCODINGS = ("encoder", "search", "inversion")
DIRECTIONS = ("encoder", "samples")
# Flags every family shares (models/train_settings.py SETTINGS, and the CLI's own): no family's option may take one.
RESERVED_DESTS = frozenset({
    "model", "data", "out", "steps", "batch_size", "lr", "image_size", "seed", "device", "resume", "channels", "ema",
    "data_count", "data_seed", "log_every", "sample_every", "sample_count", "sample_steps", "checkpoint_every",
    "init_from", "events", "help"})


def family_problem(family: Family, others: Mapping[str, Family]) -> str | None:
    """Why a family cannot join these others, in words; None when it can. A plug-in is someone else's code: what
    would break the command line or the Train tab for every family is refused here, once."""
    if not isinstance(family.name, str) or not _NAME.fullmatch(family.name) or len(family.name) > NAME_LENGTH:
        from models.printable import printable
        return (f"its name should be lower-case letters and digits, words joined by single hyphens (like 'vae-gan'), "
                f"at most {NAME_LENGTH} characters, not {printable(family.name, NAME_LENGTH + 10)!r}")
    if family.name in others:
        return f"a family called {family.name!r} is already registered"
    if family.encoding not in ENCODINGS or family.directions not in DIRECTIONS:
        return f"its encoding should be one of {ENCODINGS} and its directions one of {DIRECTIONS}"
    if family.directions == "encoder" and not family.has_encoder:
        return "its directions come from an encoder, so its encoding should be 'encoder'"
    ranges = getattr(family.config_class, "RANGES", None)
    if not isinstance(ranges, Mapping):
        return "its config class has no RANGES"
    shared = {o.dest: (o, f) for f in others.values() for o in f.options}
    for option in family.options:
        allowed = ranges.get(option.key)
        if type(allowed) not in _KINDS:
            return f"its option {option.key!r} should have a whole-number, number, choice or switch range in RANGES"
        if option.dest in RESERVED_DESTS:
            return f"its option {option.flag_name} is a flag every family shares"
        if _KINDS[type(allowed)] == "switch" and family.option_default(option) is not False:
            return f"its switch {option.flag_name} should be off unless given"
        if option.dest in shared:
            other, owner = shared[option.dest]
            if other.key != option.key or owner.option_kind(other) != _KINDS[type(allowed)]:
                return f"its option {option.flag_name} means something else for {owner.noun}"
    return None


def register_family(family: Family) -> Family:
    """Add a family; it then appears everywhere families are listed. ValueError saying why if it cannot join."""
    with _LOCK:
        _load_built_in()
        problem = family_problem(family, _REGISTRY)
        if problem:
            raise ValueError(f"The model family {family.name!r} cannot be added: {problem}.")
        _REGISTRY[family.name] = family
    return family


def unregister_family(name: str) -> None:
    """Take a family out of the registry (a test's own family, when the test ends)."""
    with _LOCK:
        _REGISTRY.pop(name, None)


def _load_built_in() -> None:
    """Import every module of models/families/ (each registers its family), then the plug-ins. Once, on first use,
    so that importing this module stays cheap and free of circles (the family modules import it)."""
    global _LOADED
    with _LOCK:  # re-entrant: a family module registering itself comes back here while the flag is already set
        if _LOADED:
            return
        _LOADED = True
        import models.families as package

        for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
            importlib.import_module(f"{package.__name__}.{module}")
        for name in filter(None, (n.strip() for n in os.environ.get(PLUG_INS, "").split(","))):
            _load_plug_in(name)


def _load_plug_in(name: str) -> None:
    before = set(_REGISTRY)
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - someone else's module: the app goes on with the families it has
        for added in set(_REGISTRY) - before:  # nothing half-made stays behind
            _REGISTRY.pop(added)
        from models.printable import printable
        print(f"latent-explorer: the model family plug-in '{printable(name, 200)}' named in {PLUG_INS} could not be "
              f"loaded ({type(exc).__name__}: {printable(exc, 300)}); going on without it.", file=sys.stderr)


def families() -> tuple[Family, ...]:
    """Every registered family, in the order the app shows them."""
    _load_built_in()
    return tuple(sorted(_REGISTRY.values(), key=lambda f: (f.order, f.name)))


def family_names() -> tuple[str, ...]:
    return tuple(f.name for f in families())


def find_family(name: str) -> Family | None:
    _load_built_in()
    return _REGISTRY.get(name) if isinstance(name, str) else None


def get_family(name: str) -> Family:
    """The family of this name, or ConfigError naming the known ones (a checkpoint or a command line may say any)."""
    found = find_family(name)
    if found is None:
        from models.printable import shown_value
        raise ConfigError(f"unknown model family {shown_value(name)} (this version knows {', '.join(family_names())})")
    return found


def family_of(model: Any) -> Family:
    return get_family(model.family)


def noun_of(name: str) -> str:
    """'a VAE' for a family's name in a sentence; a plain phrase for one this version does not know."""
    known = find_family(name)
    if known is not None:
        return known.noun
    from models.printable import printable
    return f"a {printable(name, 40)} model"  # a name from a file or another version: shown, never obeyed


def build_model(family: str, config: Mapping[str, Any] | Any) -> Any:
    """A freshly initialised model of a family from its config (a dataclass or a dictionary)."""
    return get_family(family).build(config)


def build_skeleton(family: str, config: Mapping[str, Any] | Any) -> Any:
    """The model a config describes with the shapes of its weights but no memory (the meta device), to check a
    checkpoint's weights against before the real one is allocated."""
    from models.generative import shapes_only

    with shapes_only():
        return build_model(family, config)


def inference_state_dict(model: Any) -> dict[str, Any]:
    """The weights the app needs to generate a model's images."""
    return family_of(model).inference_weights(model.state_dict())
