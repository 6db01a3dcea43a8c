"""Runs `python -m explorer train ... --events` as a child QProcess and turns its JSON lines into Qt signals.

Each line becomes one of models.train_events' dataclasses (read, not trusted: a line that is not one, or whose
fields are missing or of the wrong kind, is passed over like a library's print).

The child is the very command a user could type; the app only reads its standard output and writes
"pause", "resume" or "stop" lines to its standard input. Whatever happens to the child (a crash, a kill,
a full disk), the app hears about it through `ended` and never goes down with it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal

from models.config_check import is_whole
from models.printable import printable
from models.train_events import CheckpointEvent, DoneEvent, ErrorEvent, StartEvent, event_from_dict

APP_MAIN = Path(__file__).resolve().parents[2] / "__main__.py"  # explorer/__main__.py: a wheel has no main.py
CHILD_NICENESS = 5  # the child yields the processor to the app when they compete: the window stays responsive
STDERR_KEPT = 4000  # characters of the child's error output kept to explain an abnormal end


def app_command(*args: str) -> list[str]:
    """The command line that runs this copy of the app with ARGS (`python main.py ARGS`), in every install mode."""
    return [sys.executable, str(APP_MAIN), *args]


def train_command(options: list[str]) -> list[str]:
    """The full command line of a run."""
    return app_command("train", *options, "--events")


def shown_command(command: list[str]) -> str:
    """A run's command as a person could type it: `python -m explorer train ...`, paths under here shortened."""
    return " ".join(["python -m explorer", *command[2:]]).replace(str(Path.cwd()) + os.sep, "")


class _Process(QProcess):
    def forget(self) -> None:
        """Let the child outlive this object: QProcess kills a child it still thinks is running."""
        self.closeWriteChannel()
        self.setProcessState(QProcess.ProcessState.NotRunning)


class TrainingProcess(QObject):
    event = Signal(object)  # one line of the child's, as a models.train_events.TrainEvent
    ended = Signal(str, bool)  # a sentence saying how the run ended; True when it ended normally

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: _Process | None = None
        self._buffer = b""
        self._stderr = ""
        self.last_done: DoneEvent | None = None
        self.last_error = ""
        self.saved_step: int | None = None  # the step of the checkpoint in the run's folder, as the child reported
        self.command: list[str] = []

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int:
        return self.process.processId() if self.process is not None else 0

    def start(self, options: list[str]) -> None:
        if self.running:
            raise RuntimeError("a run is already going")
        self.command = train_command(options)
        self._buffer, self._stderr, self.last_done, self.last_error = b"", "", None, ""
        self.saved_step = None
        process = _Process(self)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.started.connect(self._lower_priority)
        process.start(self.command[0], self.command[1:])

    def _lower_priority(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, self.process.processId(), CHILD_NICENESS)
        except (AttributeError, OSError):  # Windows has no setpriority; a failure only costs smoothness
            pass

    def send(self, command: str) -> None:
        """'pause', 'resume' or 'stop': read by the training loop between two steps."""
        if self.running:
            self.process.write((command + "\n").encode())
            self.process.waitForBytesWritten(500)  # in the pipe now: the app may quit right after a "stop"

    def kill(self) -> None:
        if self.running:
            self.process.kill()

    def leave_running(self) -> None:
        """Forget the child so that it goes on after the app quits (its events are no longer read). A paused run
        goes on too: forgetting it closes its command input, and the child resumes when that input ends
        (explorer/cli/train_child.py, obey_commands), as it does when the app dies without a word. No "resume" is sent as
        well: a second way to do the same thing, and one that could hold the closing window for up to 500 ms."""
        if self.running:
            process, self.process = self.process, None
            for signal in (process.readyReadStandardOutput, process.readyReadStandardError, process.finished,
                           process.errorOccurred):
                signal.disconnect()
            process.forget()

    def wait(self, msecs: int) -> bool:
        return self.process is None or self.process.waitForFinished(msecs)

    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle(line)

    def _handle(self, line: bytes) -> None:
        try:
            event = event_from_dict(json.loads(line))
        except (ValueError, RecursionError):  # not one of ours (a library's print, a damaged or odd line): ignore
            return
        if isinstance(event, DoneEvent):
            self.last_done = event
        elif isinstance(event, ErrorEvent):
            self.last_error = printable(event.message)
        elif isinstance(event, StartEvent):
            self.saved_step = _whole(event.checkpoint_step)
        elif isinstance(event, CheckpointEvent):
            self.saved_step = _whole(event.step)
        self.event.emit(event)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        self._stderr = (self._stderr + text)[-STDERR_KEPT:]

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.process = None
            self.ended.emit(f"The training process could not start: {self.command[0]} was not found or "
                            "cannot run.", False)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._buffer.strip():
            self._handle(self._buffer)
            self._buffer = b""
        self.ended.emit(*self.describe_end(code, status == QProcess.ExitStatus.CrashExit))

    def describe_end(self, code: int, crashed: bool) -> tuple[str, bool]:
        """How the run ended, in a sentence that claims only what the child reported having saved."""
        done = self.last_done
        step = _whole(done.step) if done is not None else None
        at = f" at step {step:,}" if step is not None else ""
        saved = self.saved_step
        if done is not None and done.reason == "finished":
            return f"The run finished{at}.", True
        if done is not None and done.reason == "stopped":
            if saved is not None and saved == step:
                return f"The run stopped{at}; its checkpoint is saved.", True
            if saved is not None:
                return f"The run stopped{at}; its checkpoint of step {saved:,} is kept.", True
            return f"The run stopped{at}, before it had saved a checkpoint.", True
        if done is not None:
            return f"The run ended with an error{at}: {self.last_error}", False
        last = self._stderr.strip().splitlines()[-1:] if self._stderr.strip() else []
        detail = f" Its last words: {printable(last[0], 300)}" if last else ""
        if saved is not None:  # saves are atomic: the reported one is there, or a newer one the report missed
            kept = f"its checkpoint of step {saved:,} (or a later one) is kept, and the run can be resumed from its folder."
        else:
            kept = "it had not saved a checkpoint."
        if crashed:
            return f"The training process was killed or crashed before it could finish; {kept}{detail}", False
        return f"The training process ended unexpectedly (exit code {code}); {kept}{detail}", False


def _whole(value) -> int | None:
    """A step number from the child's line, or None if it is not one (the lines are read, not trusted)."""
    return value if is_whole(value) and value >= 0 else None
