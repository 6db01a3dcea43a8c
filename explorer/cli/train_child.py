"""How a training child talks to whoever started it (the Train tab, or a person at a terminal): events out as JSON
lines, 'pause' / 'resume' / 'stop' lines in, SIGINT and SIGTERM as a stop that saves a checkpoint."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

COMMAND_LINE_BYTES = 256  # far more than any command: a longer line is none, and is not kept in memory


def obey_commands(read, control, limit: int = COMMAND_LINE_BYTES) -> None:
    """Apply each command line that `read()` (bytes; b"" at the end) delivers until it ends; then resume a paused run.

    Any bytes at all may come (not UTF-8, NUL, a line of megabytes, no final newline): what is not a command is
    ignored, and the commands after it are still obeyed. The end of the input means nobody is steering the run
    any more (the app quit or died): a paused run would wait for ever, so it goes on."""
    pending, skipping = b"", False  # skipping: inside a line already too long to be a command
    try:
        while True:
            try:
                chunk = read()
            except (OSError, ValueError):  # the pipe broke, or standard input was closed under us
                break
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not skipping and len(line) <= limit:
                    control.handle_command(line.decode("utf-8", errors="replace"))
                skipping = False
            if len(pending) > limit:
                pending, skipping = b"", True
        if pending and not skipping:  # the last line, without its newline
            control.handle_command(pending.decode("utf-8", errors="replace"))
    finally:
        control.resume()


def watch_stdin_commands(control) -> threading.Thread:
    """Read 'pause' / 'resume' / 'stop' lines from standard input (how the app steers a training child)."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # no standard input at all (pythonw): nothing will steer the run
        fd = None

    def read() -> None:
        # Bytes straight from the file descriptor: a line that is not UTF-8 cannot end the reader, and no lock of
        # sys.stdin's buffer is held while waiting (Python aborts at exit if a daemon thread holds one).
        if fd is not None:
            obey_commands(lambda: os.read(fd, 4096), control)

    thread = threading.Thread(target=read, name="stdin-commands", daemon=True)
    thread.start()
    return thread


def install_stop_signals(control) -> None:
    """SIGINT and SIGTERM ask the loop to save a checkpoint and stop; a second SIGINT interrupts at once."""

    def handler(signum, frame):
        if control.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        control.stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def emit_json(event: dict) -> None:
    try:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        # Whoever read the events has gone (the app closed and left the run going): train on quietly;
        # the run's folder still gets its checkpoints and samples.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
