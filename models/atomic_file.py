"""Writing a file so that a crash at any moment leaves either the old file or the new one, never a mix."""

from __future__ import annotations

import errno
import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write that appears at `path` only once complete (temporary file, fsync, os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):  # mkstemp makes the file private (0600); keep the mode a file would have
                try:
                    os.fchmod(f.fileno(), path.stat().st_mode & 0o777 if path.exists() else 0o644)
                except OSError:
                    pass
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic because the temporary file is on the same file system
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not every platform can open a folder
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def remove_stale_temporaries(path: str | os.PathLike) -> int:
    """Delete temporary files that writes of `path` left behind when their process was killed; how many."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # atomic_writer's names
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass  # gone already, or not ours to delete: harmless either way
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write data to path atomically; see atomic_writer."""
    with atomic_writer(path) as f:
        f.write(data)
    return Path(path)


def describe_os_error(exc: OSError) -> str:
    """A few plain words for why a write failed."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder cannot be written to"
    return exc.strerror or str(exc)
