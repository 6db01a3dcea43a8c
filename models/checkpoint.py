"""Safe, atomic, validated checkpoints.

A checkpoint is one safetensors file: the weights the app needs, plus JSON metadata under the key
"latent_explorer" (family, config, image size, data set, step, losses, format version, creation time),
so a checkpoint rebuilds its model by itself. Nothing is ever unpickled: safetensors holds raw tensors only,
and the training state for resuming is read with torch.load(weights_only=True).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from models.atomic_file import atomic_write_bytes, describe_os_error
from models.config_check import ConfigError, config_from_dict, is_whole
from models.distributed import memory_exhausted
from models.family import build_model, build_skeleton, family_names, find_family, get_family, inference_state_dict
from models.generative import GenerativeModel
from models.printable import printable, shown_value
from models.safetensors_file import (
    SafetensorsFileError,
    SafetensorsHeader,
    open_regular,
    read_header,
    read_json_metadata,
    read_tensors,
    shown_name,
    write_safetensors,
)

FORMAT_VERSION = 1
APP_VERSION = "0.1.0"
MAX_STEP = 10**12  # a step count no run reaches (a million steps a day for 2,700 years)
# The most weights (parameters and buffers) of a model built from a checkpoint: 500 million, 2 GB as 32-bit numbers.
# The largest model training makes has 104 million (a 256-channel U-Net), the largest VAE the settings' ranges allow
# 235 million and the largest GAN 168 million (with its discriminator, which is built too); the shipped ones have at
# most 3.9 million. Each setting is checked against its own range, but together they can describe far more: a U-Net
# with every range at its top would have 59.8 billion weights, 223 GiB. Also a file below the data cap
# (safetensors_file.MAX_DATA) can call for more: 16-bit weights become 32-bit ones when loaded.
MAX_WEIGHTS = 500_000_000


def model_label(family: str, image_size: int, step: int) -> str:
    """A model's short name for people: 'VAE · 64 px · step 12,000' (the chooser, the exports, the status bar)."""
    known = find_family(family)
    return f"{known.title if known else family} · {image_size} px · step {step:,}"


class CheckpointError(Exception):
    """A checkpoint that cannot be used; its text is one sentence a user understands."""


@dataclass
class Checkpoint:
    model: GenerativeModel
    metadata: dict[str, Any]
    path: Path

    @property
    def family(self) -> str:
        return self.metadata["family"]

    @property
    def step(self) -> int:
        return int(self.metadata.get("step", 0))

    def label(self) -> str:
        """A short name for people: 'VAE · 64 px · step 12,000'."""
        return model_label(self.family, self.model.image_size, self.step)

    def describe(self) -> str:
        """One line for people: 'VAE, 64 px, step 12,000, trained on Synthetic Faces (...)'."""
        data = self.metadata.get("dataset", {}).get("name", "unknown data")
        return f"{get_family(self.family).title}, {self.model.image_size} px, step {self.step:,}, trained on {data}"


# --------------------------------------------------------------------------------------------- writing

def _save_error(path: Path, exc: OSError) -> CheckpointError:
    return CheckpointError(f"Could not save '{path.name}': {describe_os_error(exc)}. "
                           "The previous file there, if any, is unchanged.")


def save_checkpoint(path: str | os.PathLike, model: GenerativeModel, *, dataset: dict[str, Any] | None = None,
                    step: int = 0, losses: dict[str, float] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write the model's inference weights and metadata to `path` atomically; returns the path."""
    path = Path(path)
    metadata = {
        "format_version": FORMAT_VERSION,
        "family": model.family,
        "config": model.config_dict(),
        "image_size": model.image_size,
        "dataset": dataset or {},
        "step": int(step),
        "losses": {k: float(v) for k, v in (losses or {}).items()},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "app_version": APP_VERSION,
        **(extra or {}),
    }
    try:
        return write_safetensors(path, inference_state_dict(model), metadata)
    except OSError as exc:
        raise _save_error(path, exc) from None


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Optimizer states, step, RNG states and training-only weights, atomically (read back weights-only)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        return atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise _save_error(Path(path), exc) from None


def load_training_state(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training state saved by save_training_state, never running pickled code, with its structure, types
    and ranges checked (check_training_state): what it holds is used as models/train.py saves it."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"There is no training state at '{path}', so the run cannot be resumed.")
    try:
        with open_regular(path, "training state") as file:  # a FIFO would block open() for ever
            state = torch.load(file, map_location=device, weights_only=True)
    except SafetensorsFileError as exc:
        raise CheckpointError(f"{str(exc).rstrip('.')}; the run cannot be resumed from it.") from None
    except Exception as exc:  # a damaged or foreign file: say so in words, whatever the exception
        raise CheckpointError(f"The training state '{path.name}' is damaged or not one of ours ({type(exc).__name__}); "
                              "the run cannot be resumed from it.") from None
    check_training_state(state, path)
    return state


# What a run's saved settings must be, for the keys a resume takes from them (models/train.py, ARCHITECTURE_KEYS):
# their types here, their ranges where the resumed run checks its settings.
_SAVED_SETTING_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "family": ((str,), "text"),
    "image_size": ((int,), "a whole number"),
    "channels": ((int, type(None)), "a whole number or None"),
    "model_options": ((dict,), "a dictionary"),
    "data": ((str,), "text"),
    "data_count": ((int,), "a whole number"),
    "data_seed": ((int,), "a whole number"),
    "init_from": ((str, type(None)), "text or None"),  # kept in the resumed run's record, as the run first began
}
RNG_STREAMS = ("torch", "data", "noise")  # torch's global generator, the batch order's, the trainer's noise


def check_training_state(state: Any, path: str | os.PathLike) -> None:
    """CheckpointError, naming the file and what is wrong, unless `state` has the structure, types and ranges of a
    training state models/train.py saves. Whether its weights and optimiser states fit the run's model is checked
    where the model is built (Run.restore)."""
    problem = _training_state_problem(state)
    if problem:
        raise CheckpointError(f"The training state '{shown_name(path)}' is damaged or not one of ours: {problem}; "
                              "the run cannot be resumed from it.")


def _kind(value: Any) -> str:
    """A value's type in words, for a message (never the value: it may be a tensor of millions)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of {str(value.dtype).removeprefix('torch.')} of shape {list(value.shape)}"
    return "None" if value is None else f"a {type(value).__name__}"


def _described(value: Any) -> str:
    """A plain value shown (cut short), anything else by its type: a list of millions is not written out, and an
    int of thousands of digits cannot be (ValueError)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        try:
            return shown_value(value)
        except ValueError:
            pass
    return _kind(value)


def _weights_problem(value: Any, what: str) -> str | None:
    if not isinstance(value, dict):
        return f"its {what} should be a dictionary of named tensors, not {_kind(value)}"
    for key, tensor in value.items():
        if not isinstance(key, str) or not isinstance(tensor, torch.Tensor):
            return f"its {what} hold {_described(key)}, which is {_kind(tensor)}, not a tensor"
    return None


def _optimizer_problem(value: Any, what: str) -> str | None:
    """The structure torch.optim's load_state_dict expects; whether it fits the model is Run.restore's check."""
    if not isinstance(value, dict) or not isinstance(value.get("state"), dict) \
            or not isinstance(value.get("param_groups"), list) or not value["param_groups"]:
        return f"its optimiser state '{printable(what, 40)}' should be a dictionary of 'state' and 'param_groups'"
    for group in value["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list) \
                or not all(is_whole(i) for i in group["params"]):
            return f"a parameter group of its optimiser state '{printable(what, 40)}' is not one"
        for key, setting in group.items():
            numbers = setting if isinstance(setting, (tuple, list)) else [setting]
            if key != "params" and not all(s is None or isinstance(s, (bool, str, int)) or (
                    isinstance(s, float) and math.isfinite(s)) for s in numbers):  # ranges: Run.restore
                return f"its optimiser state '{printable(what, 40)}' has an invalid '{printable(key, 40)}'"
    for key, entry in value["state"].items():
        if not is_whole(key) or not isinstance(entry, dict) or not all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in entry.items()):
            return f"its optimiser state '{printable(what, 40)}' holds an entry that is not one"
    return None


def _training_state_problem(state: Any) -> str | None:
    """What is wrong with a training state's structure, types or ranges, in words; None when nothing is."""
    if not isinstance(state, dict):
        return f"it holds {_kind(state)}, not the dictionary a run saves"
    missing = [key for key in ("step", "settings", "trainer", "rng", "batches") if key not in state]
    if missing:
        return f"it has no '{missing[0]}'"
    step = state["step"]
    if not is_whole(step) or not 0 <= step <= MAX_STEP:
        return f"its 'step' should be a whole number from 0 to {MAX_STEP:,}, not {_described(step)}"

    settings = state["settings"]
    if not isinstance(settings, dict):
        return f"its 'settings' should be a dictionary, not {_kind(settings)}"
    if "family" not in settings:
        return "its settings do not say which kind of model it trains"
    for key, (types, words) in _SAVED_SETTING_TYPES.items():
        value = settings.get(key)
        if key in settings and (not isinstance(value, types) or isinstance(value, bool)):
            return f"its setting '{key}' should be {words}, not {_described(value)}"
    if not all(isinstance(k, str) for k in settings.get("model_options", {})):
        return "its setting 'model_options' has a name that is not text"

    trainer = state["trainer"]
    if not isinstance(trainer, dict) or not all(isinstance(k, str) for k in trainer):
        return f"its 'trainer' should be a dictionary, not {_kind(trainer)}"
    if "model" not in trainer:
        return "it holds no model weights"
    for key, value in trainer.items():
        if key == "steps_done":
            if not is_whole(value) or not 0 <= value <= MAX_STEP:
                return (f"its trainer's 'steps_done' should be a whole number from 0 to {MAX_STEP:,}, "
                        f"not {_described(value)}")
        elif key in ("model", "ema"):  # the moving average is None where the run keeps none
            problem = None if key == "ema" and value is None else _weights_problem(value, f"'{key}' weights")
            if problem:
                return problem
        else:  # the trainers save nothing else than optimiser states (opt, opt_g, opt_d)
            problem = _optimizer_problem(value, key)
            if problem:
                return problem

    rng = state["rng"]
    if not isinstance(rng, dict):
        return f"its 'rng' should be a dictionary of random number generator states, not {_kind(rng)}"
    for stream in RNG_STREAMS:
        value = rng.get(stream)
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1:
            return (f"its '{stream}' random number generator state should be a one-dimensional tensor of bytes, "
                    f"not {_kind(value)}")
        try:  # on a generator of its own: the state of the random numbers everyone uses is left alone
            torch.Generator().set_state(value.cpu())
        except RuntimeError:
            return f"its '{stream}' random number generator state is not a valid one"

    batches = state["batches"]
    if not isinstance(batches, dict):
        return f"its 'batches' should be a dictionary, not {_kind(batches)}"
    order, position = batches.get("order"), batches.get("position")
    if not isinstance(order, torch.Tensor) or order.dtype != torch.int64 or order.dim() != 1:
        return f"its batch order should be a one-dimensional tensor of int64, not {_kind(order)}"
    if not is_whole(position) or not 0 <= position <= len(order):
        return f"its batch position should be a whole number from 0 to {len(order)}, not {_described(position)}"
    return None


# --------------------------------------------------------------------------------------------- reading

@contextmanager
def _reading(name: str) -> Iterator[None]:
    """Whatever goes wrong while reading and checking a checkpoint becomes one CheckpointError that names it."""
    try:
        yield
    except CheckpointError:
        raise
    except SafetensorsFileError as exc:
        raise CheckpointError(str(exc)) from None
    except ConfigError as exc:
        raise CheckpointError(f"'{name}' has damaged metadata: {exc}.") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file can provoke anything; the person reads one sentence
        if memory_exhausted(exc):
            raise CheckpointError(f"'{name}' could not be loaded: the computer ran out of memory.") from None
        raise CheckpointError(f"'{name}' is damaged or not a checkpoint of ours ({type(exc).__name__} while reading "
                              "it).") from None


def _check_field(meta: dict, key: str, kind: type | tuple, words: str, name: str) -> Any:
    value = meta.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CheckpointError(f"'{name}' has damaged metadata: '{key}' should be {words}, not {shown_value(value)}.")
    return value


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's metadata with its types and ranges checked (the config too), without reading the weights."""
    path = Path(path)
    with _reading(shown_name(path)):
        return _validated_metadata(read_header(path, "checkpoint"))


def inspect_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """read_metadata, and the weights' shapes checked against the model it describes (built with no memory): every
    check load_checkpoint makes except on the weights' values, which are not read."""
    path = Path(path)
    with _reading(shown_name(path)):
        header = read_header(path, "checkpoint")
        meta = _validated_metadata(header)
        _check_weights(header, _skeleton(header, meta))
        return meta


def _validated_metadata(header: SafetensorsHeader) -> dict[str, Any]:
    name = shown_name(header.path)
    meta = read_json_metadata(header, "checkpoint")
    version = _check_field(meta, "format_version", int, "a whole number", name)
    if version > FORMAT_VERSION:
        raise CheckpointError(f"'{name}' was made by a newer version of Latent Explorer (format {version}; this "
                              f"version reads up to format {FORMAT_VERSION}). Update the app to open it.")
    if version < 1:
        raise CheckpointError(f"'{name}' has damaged metadata: 'format_version' should be from 1 to "
                              f"{FORMAT_VERSION}, not {version}.")
    family = _check_field(meta, "family", str, "text", name)
    known = find_family(family)
    if known is None:
        raise CheckpointError(f"'{name}' holds an unknown kind of model, {shown_value(family)} "
                              f"(this version knows {', '.join(family_names())}).")
    _check_field(meta, "config", dict, "a dictionary of settings", name)
    config = config_from_dict(known.config_class, meta["config"])  # every setting's type and range: ConfigError
    step = _check_field(meta, "step", int, "a whole number", name)
    if not 0 <= step <= MAX_STEP:
        raise CheckpointError(f"'{name}' has damaged metadata: 'step' should be from 0 to {MAX_STEP:,}, not {step}.")
    if "image_size" in meta:
        _check_field(meta, "image_size", int, "a whole number", name)
    if meta.setdefault("image_size", config.image_size) != config.image_size:
        raise CheckpointError(f"'{name}' has damaged metadata: its image size ({shown_value(meta['image_size'])}) is not "
                              f"the one its settings give ({config.image_size}).")
    for key, kind, words in (("dataset", dict, "a dictionary"), ("losses", dict, "a dictionary"),
                             ("created", str, "text"), ("training", dict, "a dictionary"),
                             ("app_version", str, "text")):
        if key in meta:
            _check_field(meta, key, kind, words, name)
    if not isinstance(meta.get("dataset", {}).get("name", ""), str):
        raise CheckpointError(f"'{name}' has damaged metadata: the data set's name is not text.")
    return meta


def _skeleton(header: SafetensorsHeader, meta: dict[str, Any]) -> GenerativeModel:
    """The model the metadata describes, built on the meta device (no memory), refused if it is too large to build."""
    skeleton = build_skeleton(meta["family"], meta["config"])
    count = sum(t.numel() for t in (*skeleton.parameters(), *skeleton.buffers()))
    if count > MAX_WEIGHTS:
        raise CheckpointError(f"'{shown_name(header.path)}' describes a model too large for this app: {count:,} "
                              f"weights (about {count * 4 / 1e9:,.1f} GB of memory), and it loads at most "
                              f"{MAX_WEIGHTS:,}.")
    return skeleton


_FLOAT_DTYPES = {"F64", "F32", "F16", "BF16"}


def _check_weights(header: SafetensorsHeader, skeleton: GenerativeModel) -> None:
    """The file's weights against a model built from its settings on the meta device (which holds no memory)."""
    name = shown_name(header.path)
    expected = inference_state_dict(skeleton)
    for key, entry in header.entries.items():
        if key not in expected:
            raise CheckpointError(f"'{name}' does not match the model it describes: it has an unexpected weight "
                                  f"{shown_value(key)}.")
        want = expected[key]
        if entry.shape != tuple(want.shape):
            raise CheckpointError(f"'{name}' does not match the model it describes: weight '{printable(key)}' has "
                                  f"shape {list(entry.shape)} but the settings call for {list(want.shape)}.")
        if (entry.dtype in _FLOAT_DTYPES) != want.is_floating_point():
            raise CheckpointError(f"'{name}' does not match the model it describes: weight '{printable(key)}' is "
                                  f"stored as {entry.dtype}.")
    missing = sorted(set(expected) - set(header.entries))
    if missing:
        raise CheckpointError(f"'{name}' does not match the model it describes: weight '{missing[0]}' is missing.")


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Validate a checkpoint, rebuild its model and load the weights; the model is in eval mode.

    Nothing is allocated from the file's settings before they and the weights' shapes have been checked: the
    shapes are compared with a model built on the meta device first.
    """
    path = Path(path)
    with _reading(shown_name(path)):
        header = read_header(path, "checkpoint")
        meta = _validated_metadata(header)
        _check_weights(header, _skeleton(header, meta))
        model = build_model(meta["family"], meta["config"])
        tensors = read_tensors(header, "checkpoint")
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}  # F16 shipped -> F32
        if any(v.is_floating_point() and not torch.isfinite(v).all() for v in tensors.values()):
            raise CheckpointError(f"'{shown_name(path)}' is damaged: some of its weights are not numbers (NaN or "
                                  "infinity).")
        model.load_state_dict(tensors, strict=False)
    # Outside the guard: running out of GPU memory here is the device's doing, and the worker says so in its words.
    model.to(device).eval()
    return Checkpoint(model, meta, path)


def card_path(checkpoint: str | Path) -> Path:
    """A checkpoint's model card (models/ship_model.py writes them): `NAME.card.json` beside `NAME.safetensors`."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name.removesuffix(".safetensors") + ".card.json")
