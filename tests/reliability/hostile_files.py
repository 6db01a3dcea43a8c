"""Hostile safetensors files, and a reader run that cannot hang a test.

A corpus of files that are readable as far as their first bytes go and then turn on the reader: metadata of every
JSON type where a dictionary of texts belongs, nesting deep enough to exhaust the parser's recursion, bytes that
are not UTF-8, a header declared far larger than ours ever are, offsets that leave gaps, a file longer than its
header and data (a sparse one: gigabytes that cost no disk), every JSON type where a dtype, a shape or an offset
belongs, a shape of 100,000 sizes (slow to multiply out), and things that are not regular files at all.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors

DEEP = 100_000  # levels of nesting: Python's json gives up (RecursionError) long before
SPARSE_TAIL = 2 * 1024**3  # bytes after the data of a sparse file: read whole, they would take 2 GB


def raw_file(header: bytes | dict, data: bytes = b"") -> bytes:
    """A safetensors file from a header (JSON text or an object) and a data section, nothing checked."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def header_of(path: Path) -> tuple[dict[str, Any], bytes]:
    """(the file's header as an object, its data section)."""
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + length]), data[8 + length:]


def weight(dtype: Any = "F32", shape: Any = (1,), offsets: Any = (0, 4), **more: Any) -> dict[str, Any]:
    """A header holding one tensor entry 'a' described this way (any JSON where each belongs)."""
    return {"a": {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape,
                  "data_offsets": list(offsets) if isinstance(offsets, tuple) else offsets, **more}}


def long_shape() -> bytes:
    """About 800 KB: one weight whose shape lists 100,000 sizes of 9,999,999; multiplied out they took 6.3 s."""
    return raw_file(weight(shape=[9_999_999] * 100_000), bytes(4))


def deep(opening: str, closing: str) -> str:
    return opening * DEEP + closing * DEEP


def file_cases(good: Path) -> dict[str, bytes | Callable[[Path], None]]:
    """name -> the bytes of a hostile file made from `good` (any safetensors file of ours), or a function that
    writes one (for sparse files). Every reader of safetensors files must refuse each with one sentence."""
    header, data = header_of(good)

    def with_metadata(value: Any) -> bytes:
        return raw_file({**header, "__metadata__": value}, data)

    def huge_header(path: Path) -> None:  # declared 99 MB long; sparse on disk
        path.write_bytes(struct.pack("<Q", 99 * 1024**2) + b'{"')
        os.truncate(path, 8 + 99 * 1024**2)

    def sparse_tail(path: Path) -> None:
        path.write_bytes(good.read_bytes())
        os.truncate(path, good.stat().st_size + SPARSE_TAIL)

    return {
        **{f"metadata-{kind}.safetensors": with_metadata(value) for kind, value in (
            ("list", [1, 2]), ("string", "latent explorer"), ("number", 5), ("null", None), ("bool", True),
            ("nested", {key: {"family": "vae"} for key in header.get("__metadata__", {"latent_explorer": 0})}))},
        "deep-header.safetensors": raw_file(f'{{"__metadata__": {deep("[", "]")}}}'.encode()),
        "deep-metadata.safetensors": with_metadata({k: deep("{\"a\":", "}") for k in header["__metadata__"]}),
        "not-utf8.safetensors": raw_file(b'{"__metadata__": {"\xff\xfe": "\xc3\x28"}}'),
        "utf16.safetensors": raw_file(json.dumps(header).encode("utf-16"), data),
        "huge-header.safetensors": huge_header,
        "trailing-byte.safetensors": good.read_bytes() + b"\0",
        "sparse-tail.safetensors": sparse_tail,
        "gap.safetensors": raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
        "overlap.safetensors": raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                         "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
        "bad-dtype.safetensors": raw_file({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}},
                                          bytes(16)),
        "negative-shape.safetensors": raw_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
                                               bytes(4)),
        "shape-not-size.safetensors": raw_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4]}},
                                               bytes(4)),
        "entry-not-object.safetensors": raw_file({"a": [0, 4]}, bytes(4)),
        "header-a-list.safetensors": raw_file(b"[1, 2, 3]"),
        "huge-number.safetensors": raw_file(b'{"a": {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 4]}}',
                                            bytes(4)),
        "long-int.safetensors": raw_file(b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], '
                                         b'"data_offsets": [0, 4]}}', bytes(4)),
        "long-shape.safetensors": long_shape(),
        "nine-dims.safetensors": raw_file(weight(shape=[1] * 9), bytes(4)),
        "huge-sizes.safetensors": raw_file(weight(shape=[10**4000] * 8, offsets=(0, 10**4000)), bytes(4)),
        **{f"dtype-{kind}.safetensors": raw_file(weight(dtype=value), bytes(4)) for kind, value in (
            ("list", ["F32"]), ("dict", {"F32": 4}), ("number", 4), ("null", None), ("bool", True))},
        **{f"shape-{kind}.safetensors": raw_file(weight(shape=value), bytes(4)) for kind, value in (
            ("number", 1), ("text", "1"), ("dict", {"0": 1}), ("bool", [True]), ("float", [1.0]), ("null", None))},
        **{f"offsets-{kind}.safetensors": raw_file(weight(dtype=dtype, offsets=value), bytes(4))
           for kind, dtype, value in (
               ("float", "F32", [0.0, 4.0]), ("bool", "U8", [False, True]), ("negative", "F32", [-4, 0]),
               ("reversed", "F32", [4, 0]), ("text", "F32", ["0", "4"]), ("three", "F32", [0, 4, 4]),
               ("dict", "F32", {"0": 4}), ("null", "F32", None), ("late", "F32", [4, 8]))},
        "data-cut-short.safetensors": raw_file(weight(shape=(2,), offsets=(0, 8)), bytes(4)),
        "extra-key.safetensors": raw_file(weight(extra=1), bytes(4)),
        "same-range.safetensors": raw_file({**weight(), "b": weight()["a"]}, bytes(4)),
        "out-of-order-overlap.safetensors": raw_file({"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
                                                      "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                                                     bytes(8)),
        **{f"metadata-value-{kind}.safetensors": with_metadata({"latent_explorer": value}) for kind, value in (
            ("number", 5), ("list", ["{}"]), ("null", None), ("bool", False))},
    }


def write_cases(folder: Path, cases: dict[str, bytes | Callable[[Path], None]]) -> list[Path]:
    paths = []
    for name, content in cases.items():
        path = folder / name
        if callable(content):
            content(path)
        else:
            path.write_bytes(content)
        paths.append(path)
    return paths


def sparse_checkpoint(path: Path, family: str, config: dict[str, Any], dtype: str = "F32") -> Path:
    """A checkpoint of the model `config` describes, right in everything but its weights' values: its header lists
    the weights of that model (built with no memory) and its data is a hole of exactly their size (a sparse file), so
    a model of hundreds of gigabytes costs no disk and no time to write."""
    from models.family import build_skeleton, inference_state_dict
    skeleton = build_skeleton(family, config)
    header: dict[str, Any] = {}
    end = 0
    for key, tensor in inference_state_dict(skeleton).items():
        kind, width = (dtype, {"F32": 4, "F16": 2}[dtype]) if tensor.is_floating_point() else ("I64", 8)
        header[key] = {"dtype": kind, "shape": list(tensor.shape), "data_offsets": [end, end + width * tensor.numel()]}
        end += width * tensor.numel()
    meta = {"format_version": 1, "family": family, "config": skeleton.config_dict(),
            "image_size": skeleton.image_size, "step": 0}
    header["__metadata__"] = {"latent_explorer": json.dumps(meta)}
    path.write_bytes(raw_file(header))
    os.truncate(path, path.stat().st_size + end)
    return path


def checkpoint_with(good: Path, meta: dict, weights: dict | None = None) -> bytes:
    """The bytes of `good` (a checkpoint) with other metadata (and weights)."""
    weights = load_file(good) if weights is None else weights
    return save_safetensors(weights, metadata={"latent_explorer": json.dumps(meta)})


def make_unix_socket(path: Path) -> socket.socket:
    """A listening Unix socket at `path` (bound from its folder: socket paths are limited to ~100 bytes)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        sock.bind(path.name)
    finally:
        os.chdir(here)
    return sock


def make_non_regular(folder: Path) -> dict[str, str]:
    """Things named like checkpoints that are not regular files; name -> the words a reader says of it."""
    os.mkfifo(folder / "fifo.safetensors")
    make_unix_socket(folder / "socket.safetensors").close()  # the socket's file stays
    (folder / "folder.safetensors").mkdir()
    os.symlink("/dev/null", folder / "device-link.safetensors")
    os.symlink(folder / "fifo.safetensors", folder / "fifo-link.safetensors")
    os.symlink(folder / "nowhere.safetensors", folder / "dangling.safetensors")
    os.symlink(folder / "loop.safetensors", folder / "loop.safetensors")
    return {"fifo.safetensors": "is a named pipe (FIFO)", "socket.safetensors": "is a socket",
            "folder.safetensors": "is a folder", "device-link.safetensors": "is a device",
            "fifo-link.safetensors": "is a named pipe (FIFO)", "dangling.safetensors": "There is no",
            "loop.safetensors": "cannot be read"}


def _unblock_fifos(folder: Path) -> None:
    """Open the writing end of every FIFO in `folder`: a reader stuck in open() of one then goes on."""
    for path in folder.iterdir():
        try:
            if stat.S_ISFIFO(os.stat(path).st_mode):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def read_in_time(read: Callable[[], Any], folder: Path, seconds: float = 30) -> BaseException | None:
    """Run read() in a thread; the exception it raised (None if it returned). A read still running after
    `seconds` (blocked on a FIFO) fails the test, after its FIFOs are opened so that the thread ends."""
    box: dict[str, BaseException | None] = {"error": None}

    def run() -> None:
        try:
            read()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        _unblock_fifos(folder)
        thread.join(5)
        pytest.fail(f"reading did not finish in {seconds:.0f} s (it blocked on a file that is not a regular one)")
    return box["error"]


def assert_one_sentence(error: BaseException | None, kind: type, name: str, words: str = "") -> None:
    """error is a `kind` whose text is one line that names the file (or its whole path) in quotes, and holds
    `words`."""
    assert isinstance(error, kind), f"{name}: {type(error).__name__}: {error}"
    text = str(error)
    assert "\n" not in text and (f"'{name}'" in text or f"{os.sep}{name}'" in text), f"{name}: {text}"
    assert "Traceback" not in text and "Error:" not in text, f"{name}: {text}"
    # A reader's catch-all ("... (TypeError while reading it).") is not a sentence about the file: what a hostile
    # file provokes must be refused by a check that says what is wrong with it. (An AssertionError in a test's stand-in
    # would pass as one too.)
    words_only = text.replace(name, "")
    assert "while reading it" not in text and not re.search(r"[A-Za-z]+(Error|Exception)\b", words_only), \
        f"{name}: {text} (the reader's catch-all spoke, not a check)"
    assert words in text, f"{name}: {text!r} does not say {words!r}"
