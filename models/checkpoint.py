"""Safe, atomic, validated checkpoints.

A checkpoint is one safetensors file: the weights the app needs, plus JSON metadata under the key
"latent_explorer" (family, config, image size, data set, step, losses, format version, creation time),
so a checkpoint rebuilds its model by itself. Nothing is ever unpickled: safetensors holds raw tensors only,
and the training state for resuming is read with torch.load(weights_only=True).
"""

from __future__ import annotations

import io
import json
import os
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from models.atomic_file import atomic_write_bytes, describe_os_error
from models.families import FAMILIES, FAMILY_NAMES, ConfigError, build_model, inference_state_dict
from models.generative import GenerativeModel

FORMAT_VERSION = 1
METADATA_KEY = "latent_explorer"
APP_VERSION = "0.1.0"
_MAX_HEADER = 100 * 1024 * 1024
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def model_label(family: str, image_size: int, step: int) -> str:
    """A model's short name for people: 'VAE · 64 px · step 12,000' (the chooser, the exports, the status bar)."""
    return f"{FAMILY_NAMES.get(family, family)} · {image_size} px · step {step:,}"


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
        return f"{FAMILY_NAMES[self.family]}, {self.model.image_size} px, step {self.step:,}, trained on {data}"


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
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in inference_state_dict(model).items()}
    data = save_safetensors_bytes(tensors, metadata={METADATA_KEY: json.dumps(metadata)})
    try:
        return atomic_write_bytes(path, data)
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
    """Read a training state saved by save_training_state, never running pickled code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"There is no training state at '{path}', so the run cannot be resumed.")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a damaged or foreign file: say so in words, whatever the exception
        raise CheckpointError(f"The training state '{path.name}' is damaged or not one of ours ({type(exc).__name__}); "
                              "the run cannot be resumed from it.") from None


# --------------------------------------------------------------------------------------------- reading

def _read_header(path: Path) -> tuple[dict[str, Any], int, int]:
    """(safetensors header, header length, file size), or a CheckpointError saying what is wrong."""
    name = path.name
    if not path.exists():
        raise CheckpointError(f"There is no checkpoint at '{path}'.")
    if path.is_dir():
        raise CheckpointError(f"'{path}' is a folder, not a checkpoint file.")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(9)
            if len(head) < 8:
                raise CheckpointError(f"'{name}' is not a checkpoint: the file is empty or far too short.")
            (header_len,) = struct.unpack("<Q", head[:8])
            # A safetensors header is JSON: byte 8 is "{". Tell a cut-off file from a foreign one by that,
            # not by the length's first byte, which is 0x80 for many honest header lengths.
            ours = head[8:9] == b"{" and header_len <= _MAX_HEADER
            if header_len > size - 8 or not ours:
                if ours:
                    raise CheckpointError(f"'{name}' is truncated: it ends inside its own description ({size:,} "
                                          "bytes); it was probably cut off while saving or copying.")
                if _is_pickle(head):
                    raise CheckpointError(f"'{name}' is a PyTorch pickle file, which can run code when opened; "
                                          "Latent Explorer only opens safetensors checkpoints.")
                raise CheckpointError(f"'{name}' is not a checkpoint: it is not a safetensors file.")
            f.seek(8)
            raw = f.read(header_len)
    except PermissionError:
        raise CheckpointError(f"'{name}' cannot be read: permission denied.") from None
    except OSError as exc:
        raise CheckpointError(f"'{name}' cannot be read: {exc.strerror or exc}.") from None
    try:
        header = json.loads(raw)
        if not isinstance(header, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"'{name}' is not a checkpoint: it is not a safetensors file.") from None
    return header, header_len, size


def _is_pickle(head: bytes) -> bool:
    """A pickle of protocol 2 or later (PyTorch's legacy format), or a zip (PyTorch's current format)."""
    return (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or head[:4] == b"PK\x03\x04"


def _check_field(meta: dict, key: str, kind: type | tuple, words: str, name: str) -> Any:
    value = meta.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CheckpointError(f"'{name}' has damaged metadata: '{key}' should be {words}, not {value!r}.")
    return value


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's metadata, validated, without reading the weights."""
    path = Path(path)
    header, _, _ = _read_header(path)
    return _validated_metadata(header, path.name)


def _validated_metadata(header: dict[str, Any], name: str) -> dict[str, Any]:
    text = (header.get("__metadata__") or {}).get(METADATA_KEY)
    if not isinstance(text, str):
        raise CheckpointError(f"'{name}' is a safetensors file but not a Latent Explorer checkpoint "
                              "(it carries no model description).")
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict):
            raise ValueError
    except ValueError:
        raise CheckpointError(f"'{name}' has damaged metadata: its model description is not readable.") from None
    version = _check_field(meta, "format_version", int, "a whole number", name)
    if version > FORMAT_VERSION:
        raise CheckpointError(f"'{name}' was made by a newer version of Latent Explorer (format {version}; this "
                              f"version reads up to format {FORMAT_VERSION}). Update the app to open it.")
    family = _check_field(meta, "family", str, "text", name)
    if family not in FAMILIES:
        raise CheckpointError(f"'{name}' holds an unknown kind of model, '{family}' "
                              f"(this version knows {', '.join(FAMILIES)}).")
    _check_field(meta, "config", dict, "a dictionary of settings", name)
    _check_field(meta, "step", int, "a whole number", name)
    for key, kind, words in (("dataset", dict, "a dictionary"), ("losses", dict, "a dictionary"),
                             ("created", str, "text")):
        if key in meta:
            _check_field(meta, key, kind, words, name)
    return meta


def _check_weights(header: dict[str, Any], header_len: int, size: int, model: GenerativeModel, name: str) -> None:
    expected = {k: tuple(v.shape) for k, v in inference_state_dict(model).items()}
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    end = 0
    for key, entry in entries.items():
        try:
            start, stop = entry["data_offsets"]
            shape = tuple(int(s) for s in entry["shape"])
            count = 1
            for s in shape:
                count *= s
            if stop - start != count * _DTYPE_BYTES[entry["dtype"]]:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"'{name}' is damaged: the description of weight '{key}' is not valid.") from None
        end = max(end, stop)
        if key not in expected:
            raise CheckpointError(f"'{name}' does not match the model it describes: it has an unexpected weight '{key}'.")
        if shape != expected[key]:
            raise CheckpointError(f"'{name}' does not match the model it describes: weight '{key}' has shape "
                                  f"{list(shape)} but the settings call for {list(expected[key])}.")
    missing = sorted(set(expected) - set(entries))
    if missing:
        raise CheckpointError(f"'{name}' does not match the model it describes: weight '{missing[0]}' is missing.")
    if size < 8 + header_len + end:
        raise CheckpointError(f"'{name}' is truncated: it has {size:,} bytes of the {8 + header_len + end:,} it "
                              "should have (it was probably cut off while saving or copying).")


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Validate a checkpoint, rebuild its model and load the weights; the model is in eval mode."""
    path = Path(path)
    name = path.name
    header, header_len, size = _read_header(path)
    meta = _validated_metadata(header, name)
    try:
        model = build_model(meta["family"], meta["config"])
    except ConfigError as exc:
        raise CheckpointError(f"'{name}' has damaged metadata: {exc}.") from None
    _check_weights(header, header_len, size, model, name)
    try:
        tensors = load_safetensors_bytes(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"'{name}' is damaged and its weights cannot be read ({exc}).") from None
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}  # F16 shipped -> F32
    if any(v.is_floating_point() and not torch.isfinite(v).all() for v in tensors.values()):
        raise CheckpointError(f"'{name}' is damaged: some of its weights are not numbers (NaN or infinity).")
    model.load_state_dict(tensors, strict=False)
    model.to(device).eval()
    return Checkpoint(model, meta, path)
