"""What an exported picture remembers (model, latent, seed, sliders; a morph's or a diffusion run's settings), checked.

A PNG's text is anybody's: `parse_state` accepts exactly what this app writes — every field present, of its type,
in the range its control takes, strings printable and short, latents of finite numbers — and turns it into frozen
dataclasses; anything else is one StateError whose text says what is wrong. The ranges here are the controls' own:
the panels set their spin boxes from them. No Qt, no torch.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from models.config_check import IMAGE_SIZE, Choice, ConfigError, Flag, Number, Whole
from models.printable import shown_value, shows_as_is
from models.setting_ranges import ETA, FRAMES, SEED

FORMAT = 1
# What the controls take. Seeds: every seed box; the rest: Explore's ψ and DDIM steps, the Diffusion tab's steps and
# η, the Interpolate tab's frames.
EXPLORE_PSI = Number(0.0, 1.5)
EXPLORE_STEPS = Whole(5, 200)
DIFFUSION_STEPS = Whole(5, 1000)  # 5: DPM-Solver++'s fewest, the step curve's first point
DIFFUSION_ETA = ETA
MORPH_FRAMES = FRAMES
SAMPLERS = ("ddim", "ddpm", "dpm++")  # the Diffusion tab's sampler box, in its order
MORPH_MODES = ("slerp", "lerp")
ENDPOINT_KINDS = ("seed", "face", "image")
# The largest latent any family has: diffusion's noise at the largest image size, 3 x 256 x 256 numbers (2.1 MB of
# text as base64, base and latent). A state is at most a little more than that (png_state caps the chunk at 4 MB).
MOST_NUMBERS = 3 * IMAGE_SIZE.high**2
LATENT_LIMIT = 1e4  # |z|: a normal prior's numbers stay below 6, a raw slider goes to 4; beyond this a face is garbage
AMOUNT_LIMIT = 100.0  # a direction slider goes to ±3
MOST_AMOUNTS = 1000  # direction sliders of one model: a few dozen
PATH_LENGTH, LABEL_LENGTH, KEY_LENGTH, TITLE_LENGTH = 4096, 200, 100, 1000
MOST_PARTS = 10_000  # commas and colons in the JSON: bounds what parsing it builds (ours have a few dozen)
MOST_DEPTH = 4  # ours nest two deep ({"model": {...}})


class StateError(ValueError):
    """A picture's state that this app did not write; its text says what is wrong, as part of a sentence."""


def _shown(value: Any) -> str:
    """A value for a message (models.printable.shown_value), in JSON's words where Python's differ: containers
    named, not printed; null, true and false."""
    if isinstance(value, dict):
        return "a group of fields"
    if isinstance(value, list):  # short ones as they are: [0], [-8] (json.dumps escapes all but ASCII)
        text = json.dumps(value)
        return text if len(text) <= 40 else "a list"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return shown_value(value)


def _fields(value: Any, name: str | None, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """`value` as a dict with exactly `keys` (and maybe `optional`), or StateError; name None: the whole state."""
    what = "its saved state" if name is None else f"its '{name}'"
    if not isinstance(value, dict):
        raise StateError(f"{what} should be a group of fields, not {_shown(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise StateError(f"{what} has no '{missing[0]}'")
    extra = [k for k in value if k not in keys and k not in optional]
    if extra:
        raise StateError(f"{what} has a field this app does not write ({_shown(extra[0])})")
    return value


def _ranged(value: Any, name: str, allowed: Whole | Number | Choice | Flag) -> Any:
    """`value` as the setting's own check takes it (a Number as a float), or StateError in a picture's words."""
    try:
        return allowed.check(name, value)
    except ConfigError:
        raise StateError(f"its '{name}' should be {allowed.words()}, not {_shown(value)}") from None


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    return _ranged(value, name, Choice(options))


def _text(value: Any, name: str, limit: int) -> str:
    # What models.printable would escape is refused; the rest is kept, such as the no-break spaces U+00A0 and
    # U+202F (in macOS screenshots' names), which str.isprintable refuses and which our own pictures hold.
    if not isinstance(value, str) or len(value) > limit or not shows_as_is(value):
        raise StateError(f"its '{name}' should be printable text of at most {limit:,} characters, not "
                         f"{_shown(value)}")
    return value


def encode_array(array: np.ndarray) -> str:
    """float32 array -> base64 text (exact: every bit survives a PNG text chunk)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _array(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """base64 of exactly prod(shape) little-endian float32s, finite and within ±LATENT_LIMIT -> read-only array."""
    count = math.prod(shape)
    if not isinstance(value, str) or len(value) != 4 * math.ceil(4 * count / 3):  # checked before decoding
        raise StateError(f"its '{name}' should be {count:,} numbers in base64, as its 'shape' says")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise StateError(f"its '{name}' is not base64 text") from None
    array = np.frombuffer(raw, "<f4")
    if array.size != count:
        raise StateError(f"its '{name}' has {array.size:,} numbers, its 'shape' says {count:,}")
    if not np.isfinite(array).all():
        raise StateError(f"its '{name}' holds numbers that are not finite (NaN or infinity)")
    if np.abs(array).max(initial=0.0) > LATENT_LIMIT:
        raise StateError(f"its '{name}' holds numbers beyond ±{LATENT_LIMIT:g}, far outside any model's space")
    array = array.astype(np.float32).reshape(shape)
    array.flags.writeable = False
    return array


def _shape(value: Any) -> tuple[int, ...]:
    if not (isinstance(value, list) and 1 <= len(value) <= 4
            and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MOST_NUMBERS for n in value)
            and math.prod(value) <= MOST_NUMBERS):
        raise StateError(f"its 'shape' should be a list of 1 to 4 sizes of at most {MOST_NUMBERS:,} numbers in all, "
                         f"not {_shown(value)}")
    return tuple(value)


def _amounts(value: Any) -> Mapping[str, float]:
    if not isinstance(value, dict) or len(value) > MOST_AMOUNTS:
        raise StateError(f"its 'amounts' should be at most {MOST_AMOUNTS:,} slider names and positions, not "
                         f"{_shown(value)}")
    for key in value:
        if len(key) > KEY_LENGTH or not shows_as_is(key):
            raise StateError(f"its 'amounts' should name sliders in printable text of at most {KEY_LENGTH} "
                             f"characters, not {_shown(key)}")
    position = Number(-AMOUNT_LIMIT, AMOUNT_LIMIT)
    return MappingProxyType({k: _ranged(v, f"amounts.{k}", position) for k, v in value.items()})


# ------------------------------------------------------------------------------------------------ the states
@dataclass(frozen=True)
class PictureModel:
    """The model a picture was made with, as it was named then (its file may be elsewhere now, or gone)."""
    path: str
    family: str
    label: str


@dataclass(frozen=True, eq=False)
class ExploreState:
    tab: ClassVar[str] = "explore"
    model: PictureModel
    seed: int
    psi: float
    steps: int
    latent: np.ndarray  # float32, read-only, `shape`: the face exactly
    base: np.ndarray  # float32, read-only, `shape`: the latent with the slider amounts taken off
    amounts: Mapping[str, float]  # direction key -> slider position


@dataclass(frozen=True)
class EndpointState:
    kind: str  # ENDPOINT_KINDS
    seed: int  # a seed, or a data-set face's index
    path: str  # an image file ("" unless chosen)


@dataclass(frozen=True)
class InterpolateState:
    tab: ClassVar[str] = "interpolate"
    a: EndpointState
    b: EndpointState
    frames: int
    mode: str
    all_three: bool
    title: str


@dataclass(frozen=True)
class DiffusionState:
    tab: ClassVar[str] = "diffusion"
    sampler: str
    steps: int
    eta: float
    seed: int
    title: str


PictureState = ExploreState | InterpolateState | DiffusionState
_COMMON = ("format", "tab")


def _explore(data: dict) -> ExploreState:
    _fields(data, None, (*_COMMON, "model", "seed", "psi", "steps", "shape", "base", "amounts", "latent"))
    model = _fields(data["model"], "model", ("path", "family", "label"))
    shape = _shape(data["shape"])
    return ExploreState(
        model=PictureModel(_text(model["path"], "model.path", PATH_LENGTH), _text(model["family"], "model.family",
                           LABEL_LENGTH), _text(model["label"], "model.label", LABEL_LENGTH)),
        seed=_ranged(data["seed"], "seed", SEED), psi=_ranged(data["psi"], "psi", EXPLORE_PSI),
        steps=_ranged(data["steps"], "steps", EXPLORE_STEPS), latent=_array(data["latent"], "latent", shape),
        base=_array(data["base"], "base", shape), amounts=_amounts(data["amounts"]))


def _endpoint(value: Any, name: str) -> EndpointState:
    data = _fields(value, name, ("kind", "seed", "path"))
    return EndpointState(_choice(data["kind"], f"{name}.kind", ENDPOINT_KINDS),
                         _ranged(data["seed"], f"{name}.seed", SEED), _text(data["path"], f"{name}.path", PATH_LENGTH))


def _interpolate(data: dict) -> InterpolateState:
    _fields(data, None, (*_COMMON, "a", "b", "frames", "mode", "all_three"), optional=("title",))
    return InterpolateState(
        _endpoint(data["a"], "a"), _endpoint(data["b"], "b"), _ranged(data["frames"], "frames", MORPH_FRAMES),
        _choice(data["mode"], "mode", MORPH_MODES), _ranged(data["all_three"], "all_three", Flag()),
        _text(data.get("title", ""), "title", TITLE_LENGTH))  # pictures saved before titles were written have none


def _diffusion(data: dict) -> DiffusionState:
    _fields(data, None, (*_COMMON, "sampler", "steps", "eta", "seed"), optional=("title",))
    return DiffusionState(
        _choice(data["sampler"], "sampler", SAMPLERS), _ranged(data["steps"], "steps", DIFFUSION_STEPS),
        _ranged(data["eta"], "eta", DIFFUSION_ETA), _ranged(data["seed"], "seed", SEED),
        _text(data.get("title", ""), "title", TITLE_LENGTH))


READERS: dict[str, Callable[[dict], PictureState]] = {
    "explore": _explore, "interpolate": _interpolate, "diffusion": _diffusion}


class _Constant(ValueError):
    pass


def _no_constant(word: str) -> None:
    raise _Constant(word)


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in a parsed JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_state(text: str) -> PictureState:
    """A picture's state as this app writes it (JSON) -> a checked state; StateError says what is wrong."""
    if text.count(",") + text.count(":") > MOST_PARTS:  # counted before parsing: JSON builds one object per part
        raise StateError("its saved state has far more parts than this app writes")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except _Constant as exc:
        raise StateError(f"its saved state holds {exc}, which is not a number") from None
    except RecursionError:  # the JSON parser's own limit on nesting (about 1,000 deep) stops it
        raise StateError("its saved state is nested far more deeply than this app writes") from None
    except ValueError:
        raise StateError("its saved state is not JSON text") from None
    if _depth(data) > MOST_DEPTH:
        raise StateError("its saved state is nested more deeply than this app writes")
    if not isinstance(data, dict):
        raise StateError(f"its saved state should be a group of fields, not {_shown(data)}")
    if "format" not in data:
        raise StateError("its saved state has no 'format'")
    version = data["format"]
    if isinstance(version, int) and not isinstance(version, bool) and FORMAT < version < 1000:
        raise StateError(f"its saved state is in format {version:,}, from a newer version of Latent Explorer")
    if version != FORMAT or isinstance(version, bool) or not isinstance(version, int):
        raise StateError(f"its 'format' should be {FORMAT}, not {_shown(version)}")
    if "tab" not in data:
        raise StateError("its saved state has no 'tab'")
    return READERS[_choice(data["tab"], "tab", tuple(READERS))](data)
