"""What a path given from outside names (a flag, a file argument, a form field, a dropped file, a dialog's answer),
asked without letting the system's refusal escape as a traceback.

pathlib's exists()/is_dir()/is_file() return False for a missing file, but in Python 3.11 they raise OSError for a
name the system refuses to look up (ENAMETOOLONG: a component over 255 bytes; EACCES on a folder on the way) and
ValueError for a NUL in the path; Path.expanduser() raises RuntimeError for '~someone' who has no home. Such a path
names nothing we can use, and the person should be told why in words: look() says what a path is, or why it is
unusable. Torch-free (the command line's parser reads it).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import Any

# What the system's refusals mean for a person; anything else is said in the system's own words.
REFUSALS = {
    errno.ENAMETOOLONG: "its name is too long for this system",
    errno.ELOOP: "its symbolic links go round in a loop",
    errno.EACCES: "a folder on the way to it cannot be read (permission denied)",
    errno.EPERM: "a folder on the way to it cannot be read (permission denied)",
}


@dataclass(frozen=True)
class Found:
    """What a path names: "file" (a regular file, or a link to one), "folder", "other" (a FIFO, socket or device),
    "missing", or "unusable" (the system refuses to look it up; `why` says why, in words)."""

    kind: str
    why: str = ""

    @property
    def exists(self) -> bool:
        return self.kind in ("file", "folder", "other")

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def unusable(self) -> bool:
        return self.kind == "unusable"


def expanded(path: Any) -> str:
    """`path` with a leading ~ or ~user expanded as the shell would, or as given when it cannot be (no such user:
    pathlib's expanduser raises RuntimeError there; a NUL: the caller's check of the path says so)."""
    try:
        return os.path.expanduser(os.fspath(path))
    except (TypeError, ValueError):
        return path if isinstance(path, str) else str(path)


def look(path: Any) -> Found:
    """What `path` names (links followed), never raising: a name the system refuses is "unusable", with why."""
    try:
        mode = os.stat(os.fspath(path)).st_mode
    except (FileNotFoundError, NotADirectoryError):  # as pathlib's exists(): nothing there (a dangling link too)
        return Found("missing")
    except OSError as exc:
        return Found("unusable", REFUSALS.get(exc.errno, (exc.strerror or str(exc)).lower()))
    except ValueError:  # os.stat's "embedded null byte"
        return Found("unusable", "it holds a NUL character, which no path can")
    except TypeError:
        return Found("unusable", "it is not a path")
    if stat.S_ISREG(mode):
        return Found("file")
    if stat.S_ISDIR(mode):
        return Found("folder")
    return Found("other")
