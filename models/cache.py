"""The user's cache: what took a while to compute (a model's slider directions, its metrics, its latent map), kept per
checkpoint file so it is not computed twice. No Qt: the worker's jobs and the maintainers' scripts share it.

Every cached file lives in cache_dir()/KIND/ under a versioned name, `v{version}-{fingerprint}-{tags}{suffix}`, whose
fingerprint is the checkpoint file's SHA-256 (file_digest): new weights, or a new version of what the cache holds,
simply find no file and compute again. A cached file that is missing or damaged is read as None (read_cached), and
one that cannot be written costs only computing again next time (write_cached warns and goes on).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from models.data import cache_dir
from models.feature_net import DEFAULT_FEATURE_NET
from models.safetensors_file import open_regular

T = TypeVar("T")
FINGERPRINT = 24  # hex digits of the checkpoint's digest in a cached file's name


@functools.lru_cache(maxsize=32)
def _digest(path: str, inode: int, mtime_ns: int, size: int) -> str:  # a file replaced atomically has a new inode
    digest = hashlib.sha256()
    with open_regular(Path(path), "checkpoint") as file:  # a FIFO swapped in for the file would block open() for ever
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a checkpoint file, read once per version of the file (every cache keys on it, the model
    cards record it, and several requests ask for it in a row). OSError when it cannot be read."""
    stat = Path(path).stat()
    return _digest(str(Path(path).resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)


def feature_net_digest() -> str:
    """SHA-256 of the shipped feature network ("" when it is missing). Attribute directions and metrics are
    read through it, so what was cached under another network is not shown as if it were current."""
    try:
        return file_digest(DEFAULT_FEATURE_NET)
    except OSError:
        return ""


def feature_net_tag() -> str:
    """A cached file's tag for the feature network it was computed through (attribute directions, metrics)."""
    return f"net{feature_net_digest()[:12]}"


def cached_path(kind: str, version: int, checkpoint_digest: str, suffix: str, *tags: str) -> Path:
    """Where the cache keeps `kind` (a folder: "analysis", "metrics", "latent-map") at `version` for the checkpoint
    whose file_digest is `checkpoint_digest`; `tags` tell apart what else it depends on ("net1a2b…", "n2000")."""
    name = "-".join((f"v{version}", checkpoint_digest[:FINGERPRINT], *tags))
    return cache_dir() / kind / f"{name}{suffix}"


def read_cached(path: Path, read: Callable[[Path], T],
                errors: tuple[type[BaseException], ...] = (OSError, ValueError, KeyError)) -> T | None:
    """read(path), or None when the file is missing or `read` raises one of `errors` (damaged: computed again)."""
    try:
        return read(path)
    except FileNotFoundError:  # not cached yet (asked inside the try: a folder we may not read raises, too)
        return None
    except errors:
        return None


def write_cached(path: Path, write: Callable[[Path], Any], what: str,
                 errors: tuple[type[BaseException], ...] = (OSError,)) -> bool:
    """write(path) (which writes atomically); on one of `errors` (a full or read-only disk) a warning on stderr
    instead, since it costs only computing `what` again next time. Whether it was written."""
    try:
        write(path)
    except errors as exc:
        print(f"latent-explorer: could not cache the {what}: {exc}", file=sys.stderr)
        return False
    return True
