"""Reading a safetensors file that could be anything, and writing ours: checkpoints, the feature network and saved
analyses all come through here. Ours carry one JSON object as metadata, under METADATA_KEY (write_safetensors,
read_json_metadata).

Only regular files are opened (a FIFO would block open() for ever; a device or a folder is not a file), without
following them into anything else. The header's length is checked against a cap before a byte of it is read; the
header must be a UTF-8 JSON object whose tensor entries tile the data exactly; and the file's size must be exactly
8 + header + data, so trailing bytes (a sparse file of gigabytes) are refused from its size alone, and the data no
larger than a model this app can hold. The weights are read later (read_tensors) from the very bytes whose header
was checked, or refused: a file replaced in between (a training run saving atomically) cannot pair one file's
description with another's weights. Any exception while reading becomes one SafetensorsFileError, a sentence that
names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from models.atomic_file import atomic_write_bytes
from models.config_check import is_whole
from models.printable import printable, shown_value

# Our largest header so far is 169 KB (the shipped VAE's saved analysis: its directions' measured effects and
# reconstruction errors); a shipped checkpoint's is at most 17 KB (the diffusion model's 166 weights), and the model
# with the most tensors the settings' ranges allow (a 256 px U-Net of 7 levels of 8 blocks, 2,092 tensors; with small
# channels, so it is also under MAX_DATA) would have 240 KB. 4 MiB leaves a margin of 17 over that and 24 over the
# analysis; json reads a header that size in 0.1-0.2 s.
MAX_HEADER = 4 * 1024 * 1024
# The data section's cap: 2 GiB. The shipped models' files are at most 15.5 MB (the VAE); the largest model training
# makes (a 256-channel U-Net, 104 million weights) takes 414 MB, and the largest VAE the settings' ranges allow
# (256 px, 512/1,024 channels) 940 MB. Loading a file holds its bytes, its tensors and the model at once, about three
# times its size: 6 GB at the cap. The settings' ranges, one at a time, allow a U-Net of 223 GiB (models.checkpoint
# caps the model's size too, before its weights are read).
MAX_DATA = 2 * 1024**3
# Our weights have at most 4 dimensions (a convolution's); a shape of thousands of them is only there to make the
# product below slow.
MAX_DIMS = 8
# The one metadata entry of every file this app writes (checkpoints, the feature network, saved analyses): a JSON
# object, as text, that says what the file is and everything about it but its tensors.
METADATA_KEY = "latent_explorer"
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class SafetensorsFileError(Exception):
    """A file that cannot be read as a safetensors file; its text is one sentence that names it."""


class UnreadableFile(SafetensorsFileError, OSError):
    """Not there, not a regular file, or refused by the system: nothing of it was read (an OSError too, so callers
    that treat a missing file as an OSError go on doing so)."""


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: tuple[int, ...]
    start: int  # byte offsets in the data section
    stop: int


@dataclass(frozen=True)
class SafetensorsHeader:
    path: Path
    size: int  # of the whole file: exactly 8 + header_len + data_len
    header_len: int
    metadata: dict[str, str]
    entries: dict[str, TensorEntry]
    identity: tuple[int, ...]  # (device, inode, size, modification time): read_tensors opens the same file or refuses
    digest: bytes  # of the header's bytes: read_tensors loads weights whose header is this one or refuses

    @property
    def data_len(self) -> int:
        return self.size - 8 - self.header_len


def shown_name(path: str | os.PathLike) -> str:
    """A file's name as messages show it: non-printing characters escaped (a newline in a name), cut short."""
    return printable(Path(path).name or str(path), 200)


def resolved_path(path: str | os.PathLike) -> Path:
    """The absolute path with its links followed; a path whose links cannot be followed (a loop: RuntimeError in
    Python 3.11) made absolute as given, for the reader to say why it cannot be read."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: Path, what: str):
    """`path` opened for binary reading if it is a regular file (or a link to one); else UnreadableFile."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UnreadableFile(f"There is no {what} at '{printable(str(path), 400)}'.") from None
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"'{shown_name(path)}' cannot be read: {getattr(exc, 'strerror', None) or exc}.") from None
    if not stat.S_ISREG(mode):
        raise UnreadableFile(f"'{shown_name(path)}' is {_kind(mode)}, not a {what} file.")
    # O_NONBLOCK: should the path be swapped for a FIFO after the check above, open() still returns at once, and
    # fstat below refuses what was opened. It changes nothing for a regular file.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise UnreadableFile(f"'{shown_name(path)}' cannot be read: permission denied.") from None
    except OSError as exc:
        raise UnreadableFile(f"'{shown_name(path)}' cannot be read: {exc.strerror or exc}.") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"'{shown_name(path)}' is {_kind(mode)}, not a {what} file.")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _is_pickle(head: bytes) -> bool:
    """A pickle of protocol 2 or later (PyTorch's legacy format), or a zip (PyTorch's current format)."""
    return (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or head[:4] == b"PK\x03\x04"


def _whole(value: Any) -> bool:
    return is_whole(value) and value >= 0


def _entry(entry: Any) -> TensorEntry | None:
    """One tensor entry checked, or None: a known dtype (a text first: a list there is unhashable), at most MAX_DIMS
    whole sizes, and whole offsets whose span is exactly the tensor's bytes."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        return None
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not (isinstance(dtype, str) and dtype in DTYPE_BYTES and isinstance(shape, list) and len(shape) <= MAX_DIMS
            and all(_whole(s) for s in shape) and isinstance(offsets, list) and len(offsets) == 2
            and all(_whole(o) for o in offsets)):
        return None
    start, stop = offsets
    count = 0 if 0 in shape else DTYPE_BYTES[dtype]
    for s in shape:
        count *= s
        if count > stop - start:  # already wrong: stop before a product of huge sizes takes seconds
            return None
    return TensorEntry(dtype, tuple(shape), start, stop) if count == stop - start else None


def _entries(header: dict[str, Any], name: str) -> dict[str, TensorEntry]:
    """The tensor entries, checked (_entry), whose offsets tile the data section in order."""
    entries = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        checked = _entry(entry)
        if checked is None:
            raise SafetensorsFileError(f"'{name}' is damaged: the description of its weight {shown_value(key, 60)} is not "
                                       "valid.")
        entries[key] = checked
    end = 0
    for key, entry in sorted(entries.items(), key=lambda item: (item[1].start, item[1].stop)):
        if entry.start != end:
            raise SafetensorsFileError(f"'{name}' is damaged: its weights overlap or leave gaps (at {shown_value(key, 60)}).")
        end = entry.stop
    return entries


def read_header(path: str | os.PathLike, what: str = "checkpoint") -> SafetensorsHeader:
    """The file's safetensors header, checked, without reading its data; `what` names the kind of file in messages."""
    path = Path(path)
    try:
        return _read_header(path, what)
    except SafetensorsFileError:
        raise
    except MemoryError:
        raise SafetensorsFileError(f"'{shown_name(path)}' cannot be read: the computer ran out of memory.") from None
    except Exception as exc:  # noqa: BLE001 - whatever a hostile file provokes (RecursionError, OverflowError...)
        raise SafetensorsFileError(f"'{shown_name(path)}' is damaged or not a {what} ({type(exc).__name__} while "
                                   "reading it).") from None


def _identity(f) -> tuple[int, ...]:
    info = os.fstat(f.fileno())
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def _read_header(path: Path, what: str) -> SafetensorsHeader:
    name = shown_name(path)
    with open_regular(path, what) as f:
        identity = _identity(f)
        size = identity[2]
        try:
            head = f.read(9)
            if len(head) < 8:
                raise SafetensorsFileError(f"'{name}' is not a {what}: the file is empty or far too short.")
            (header_len,) = struct.unpack("<Q", head[:8])
            # A safetensors header is JSON: byte 8 is "{". Tell a cut-off file from a foreign one by that,
            # not by the length's first byte, which is 0x80 for many honest header lengths.
            if head[8:9] != b"{":
                if _is_pickle(head):
                    raise SafetensorsFileError(f"'{name}' is a PyTorch pickle file, which can run code when opened; "
                                               "Latent Explorer only opens safetensors files.")
                raise SafetensorsFileError(f"'{name}' is not a {what}: it is not a safetensors file.")
            if header_len > MAX_HEADER:
                raise SafetensorsFileError(f"'{name}' is not a {what} of ours: its description is {header_len:,} "
                                           f"bytes long, and ours are never more than {MAX_HEADER:,}.")
            if header_len > size - 8:
                raise SafetensorsFileError(f"'{name}' is truncated: it ends inside its own description ({size:,} "
                                           "bytes); it was probably cut off while saving or copying.")
            f.seek(8)
            raw = f.read(header_len)
        except PermissionError:
            raise UnreadableFile(f"'{name}' cannot be read: permission denied.") from None
        except OSError as exc:
            raise UnreadableFile(f"'{name}' cannot be read: {exc.strerror or exc}.") from None
    if len(raw) != header_len:
        raise SafetensorsFileError(f"'{name}' changed while it was being read; try again.")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise SafetensorsFileError(f"'{name}' is not a {what}: its description is not readable.") from None
    if not isinstance(header, dict):
        raise SafetensorsFileError(f"'{name}' is not a {what}: its description is not readable.")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsFileError(f"'{name}' is damaged or not a {what}: its metadata is not a set of texts.")
    entries = _entries(header, name)
    end = max((e.stop for e in entries.values()), default=0)
    expected = 8 + header_len + end
    if size < expected:
        # (expected is not shown: from a hostile description it can have thousands of digits)
        raise SafetensorsFileError(f"'{name}' is truncated: it has {size:,} bytes, fewer than its description calls "
                                   "for (it was probably cut off while saving or copying).")
    if size > expected:
        raise SafetensorsFileError(f"'{name}' is damaged or not a {what}: it has {size - expected:,} bytes more than "
                                   f"its weights take ({size:,} instead of {expected:,}).")
    if end > MAX_DATA:
        raise SafetensorsFileError(f"'{name}' is too large to be a {what} of ours: its weights take {end / 2**30:,.1f} "
                                   f"GiB, and this app reads at most {MAX_DATA // 2**30} GiB of them.")
    return SafetensorsHeader(path, size, header_len, metadata, entries, identity, hashlib.sha256(raw).digest())


def read_tensors(header: SafetensorsHeader, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Every tensor of a file read by read_header, on the CPU; the file must not have changed in between.

    The weights are loaded from one read of the whole file, header included, which must be the header read_header
    checked: a file replaced since (another inode) or rewritten (another time, other bytes) is refused, so the
    description and the weights always come from one file."""
    name = shown_name(header.path)
    changed = SafetensorsFileError(f"'{name}' changed while it was being read; try again.")
    try:
        with open_regular(header.path, what) as f:
            if _identity(f) != header.identity:
                raise changed
            data = f.read(header.size + 1)  # one byte more: a file grown since is seen
            if _identity(f) != header.identity:  # rewritten during the read
                raise changed
        if len(data) != header.size or hashlib.sha256(data[8:8 + header.header_len]).digest() != header.digest:
            raise changed
        tensors = load_safetensors_bytes(data)
        if {k: tuple(v.shape) for k, v in tensors.items()} != {k: e.shape for k, e in header.entries.items()}:
            raise SafetensorsFileError(f"'{name}' is damaged: its weights are not the ones its description lists.")
        return tensors
    except SafetensorsFileError:
        raise
    except MemoryError:
        raise SafetensorsFileError(f"'{name}' cannot be read: the computer ran out of memory.") from None
    except OSError as exc:
        raise UnreadableFile(f"'{name}' cannot be read: {exc.strerror or exc}.") from None
    except Exception:  # noqa: BLE001 - safetensors' own checks (SafetensorError) or anything else: the same to a user
        raise SafetensorsFileError(f"'{name}' is damaged and its weights cannot be read.") from None


def write_safetensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> Path:
    """Write `tensors` (moved to the CPU, made contiguous) and `metadata` (a JSON object, stored as text under
    METADATA_KEY) to `path` atomically; returns the path. OSError when it cannot be written: the previous file there,
    if any, is then unchanged."""
    if not isinstance(metadata, dict):
        raise TypeError(f"the metadata must be a dictionary, not {type(metadata).__name__}")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata={METADATA_KEY: json.dumps(metadata)}))


def read_json_metadata(header: SafetensorsHeader, what: str) -> dict[str, Any]:
    """The JSON object stored as text under METADATA_KEY, or SafetensorsFileError; its fields' types are the
    caller's to check."""
    name = shown_name(header.path)
    text = header.metadata.get(METADATA_KEY)
    if text is None:
        raise SafetensorsFileError(f"'{name}' is a safetensors file but not a Latent Explorer {what} (it carries no "
                                   "description of one).")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise SafetensorsFileError(f"'{name}' has damaged metadata: its description is not readable.")
    return value
