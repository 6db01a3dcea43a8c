"""One training run per folder: a lock that a second `train` into the same folder meets.

The lock is the operating system's (flock on POSIX, a byte-range lock on Windows) on a small file in the run's
folder, so the kernel lets go of it when its process ends in any way, kill -9 included: a stale lock never
blocks a folder. The file also says who holds it (process id, computer, start time) for the refusal's message;
those words are only read when the lock is taken, never trusted to decide anything. A clean end removes it.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path

from models.printable import printable

LOCK_FILE = ".training.lock"
_INFO_BYTES = 4096  # what the holder writes; a Windows lock covers a byte past it, so that others can read it
_ATTEMPTS = 20


class FolderInUse(Exception):
    """Another live process trains into the folder; its text is one sentence naming that process."""


class LocksUnsupported(OSError):
    """The folder's file system cannot lock files (some network or FUSE file systems)."""


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting; False if another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        os.lseek(fd, _INFO_BYTES, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise LocksUnsupported(exc.errno, exc.strerror, exc.filename) from None
        raise
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file we locked (a holder that ended may have removed it meanwhile)."""
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_holder(fd: int) -> dict:
    """What the holder wrote about itself; {} while it has not written it yet, or if it is not readable."""
    for _ in range(10):  # the holder writes just after it took the lock: give it a moment
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            raw = os.read(fd, _INFO_BYTES)
            info = json.loads(raw.decode("utf-8")) if raw else None
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict):
            return info
        time.sleep(0.02)
    return {}


def describe_holder(info: dict) -> str:
    """'process 1234, started 2025-01-02 10:11:12' (or on another computer), from a holder's possibly odd words."""
    pid, host, started = info.get("pid"), info.get("host"), info.get("started")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return "a process that could not be named"
    words = f"process {pid}"
    if isinstance(host, str) and host and host != socket.gethostname():
        words += f" on the computer '{printable(host, 100)}'"
    if isinstance(started, (int, float)) and not isinstance(started, bool):
        try:
            words += ", started " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
        except (OverflowError, OSError, ValueError):
            pass
    return words


class RunLock:
    """The lock on one run folder, held by this process until release() or its end."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def acquire(cls, folder: str | os.PathLike) -> RunLock:
        """Lock `folder` (which must exist) for this process.

        Raises FolderInUse naming the holder, LocksUnsupported, or OSError when the lock file cannot be written."""
        path = Path(folder) / LOCK_FILE
        for _ in range(_ATTEMPTS):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            try:
                if not _try_lock(fd):
                    raise FolderInUse(f"'{printable(os.fspath(folder))}' is in use by another training run "
                                      f"({describe_holder(_read_holder(fd))}); wait for it to end or stop it, "
                                      "or choose another folder.")
                if _same_file(fd, path):
                    _write_holder(fd)
                    return cls(path, fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # we locked a file its holder removed as it ended: lock the one at the path now
        raise FolderInUse(f"'{printable(os.fspath(folder))}' is being taken and let go by other training runs again "
                          "and again; choose another folder.")

    def release(self) -> None:
        """Remove the lock file, then let go of the lock (in that order: see acquire's retry)."""
        if self.fd < 0:
            return
        try:
            if _same_file(self.fd, self.path):
                self.path.unlink()
        except OSError:
            pass  # Windows cannot remove an open file; a file without a lock blocks no one
        os.close(self.fd)
        self.fd = -1


def _write_holder(fd: int) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    data = json.dumps(info).encode()[:_INFO_BYTES]
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)
