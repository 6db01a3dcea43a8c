"""Where the tracebacks of unexpected errors go: a log file in the user's state folder, never the terminal.

Our own errors (a damaged checkpoint, a picture that is not an image) are sentences for the user and leave no
trace. Anything else is a bug: the user sees one line that names this log, and the log holds the traceback
a person can send with a report. The log is two files of at most LOG_BYTES each (the older one ends in .1).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path

STATE_ENV = "LATENT_EXPLORER_STATE"  # a folder for the log instead of the user's state folder (tests use it)
LOG_NAME = "latent-explorer.log"
LOG_BYTES = 1_000_000
_lock = threading.Lock()  # the worker thread and the GUI thread may both write


def is_sentence(exc: BaseException) -> bool:
    """Our own errors (bad input, a model gone): their text says it all, and no traceback is kept."""
    from models.checkpoint import CheckpointError
    from models.config_check import ConfigError
    from models.data import DataError
    from models.feature_net import FeatureNetError
    # A KeyError or IndexError is a LookupError but no sentence of ours (a key's repr, "index out of range").
    return (isinstance(exc, (CheckpointError, DataError, ConfigError, FeatureNetError, LookupError))
            and not isinstance(exc, (KeyError, IndexError)))


def state_dir() -> Path:
    """$LATENT_EXPLORER_STATE, else the platform's folder for an app's state and logs + latent-explorer."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "latent-explorer" / "Logs"
    if sys.platform == "darwin":
        return home / "Library" / "Logs" / "latent-explorer"
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else home / ".local" / "state"  # the XDG spec ignores relative paths
    return base / "latent-explorer"


def log_path() -> Path:
    return state_dir() / LOG_NAME


def log_exception(exc: BaseException, context: str = "") -> Path | None:
    """Append `exc`'s traceback to the log; the log's path, or None when it cannot be written."""
    path = log_path()
    text = (f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {context}\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    data = text.encode("utf-8", errors="replace")[-LOG_BYTES:]
    with _lock:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_file() and path.stat().st_size + len(data) > LOG_BYTES:
                os.replace(path, path.with_name(LOG_NAME + ".1"))
            with open(path, "ab") as log:
                log.write(data)
        except OSError:
            return None
    return path


def where_the_details_are(exc: BaseException, context: str = "") -> str:
    """Log an unexpected error; the sentence that tells the user where its details are."""
    path = log_exception(exc, context)
    if path is not None:
        return f"The details are in {path}."
    if sys.stderr is not None:  # no log to write to: the terminal is the only place left
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return f"The details could not be written to {log_path()}."


def install_excepthook(parent_of_dialog=None) -> None:
    """Exceptions raised in the GUI thread (in a slot, an event handler) go to the log, and the user is told.

    With `parent_of_dialog` (a function giving the window) they are told in a dialog, else in one line on
    stderr (a window drawn offscreen has nobody to click a dialog away). While a dialog is open, further
    errors are only logged: a failing paint event would otherwise open a dialog per frame.
    """
    showing = {"now": False}

    def hook(kind, exc, tb) -> None:
        if not issubclass(kind, Exception):  # Ctrl+C and friends keep Python's own handling
            sys.__excepthook__(kind, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        what = f"Something went wrong: {type(exc).__name__}: {exc}"
        details = where_the_details_are(exc, "in the window")
        if parent_of_dialog is None:
            if sys.stderr is not None:
                print(f"error: {' '.join(what.split())} {details}", file=sys.stderr, flush=True)
            return
        if showing["now"]:
            return
        from PySide6.QtWidgets import QMessageBox

        from explorer.widgets.shown_text import rich_text, shown_html

        showing["now"] = True
        try:  # an exception's text may quote a file's or a checkpoint's: escaped, and never read as markup
            QMessageBox.critical(parent_of_dialog(), "Something went wrong",
                                 rich_text(shown_html(" ".join(what.split())), "", shown_html(details), "",
                                           "The app goes on; if something looks wrong, restart it."))
        finally:
            showing["now"] = False

    sys.excepthook = hook
