"""The commands a training child reads on its standard input: any bytes at all may come, and the valid commands
after them are still obeyed; when the input ends (the app quit or died without a word) a paused run goes on, as
it does when the Train tab leaves a paused run running.

Before, one byte that is not UTF-8 ended the reader for good, and a paused run left behind stayed paused for ever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from explorer.cli import train_child
from models.checkpoint import read_metadata
from models.train import MODEL_FILE
from models.train_events import TrainControl
from tests.explorer.conftest import fill_tiny_run
from tests.reliability.forked_runs import ROOT, child_env

TINY = ["--model", "vae", "--image-size", "16", "--channels", "8", "--latent-dim", "4", "--batch-size", "4",
        "--data-count", "32", "--sample-every", "0", "--log-every", "1"]
GARBAGE = [  # each on a line of its own, or as the line's whole
    b"\xff\xfe\xfd\n",  # not UTF-8
    b"\x80stop\n",  # a stray continuation byte before a command word: not the command
    b"st\x00op\n", b"\x00\x00\x00\n",  # NUL
    b"\x1b[2Jpause\n",  # an ANSI escape
    b"paus\xc3\n",  # a cut-off UTF-8 sequence
    b"stop" * 250_000 + b"\n",  # a line of a megabyte (made of command words: none of it may count)
    b"x" * 255 + b"stop\n",  # a command word just where a reader taking 256-byte pieces would cut
    b"frobnicate\n", b"PAUSE NOW\n", b"\n", b"\r\n",  # not commands
]


def wait_for(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def command_pipe(monkeypatch):
    """A pipe as standard input, read by watch_stdin_commands into a TrainControl: (control, write, close)."""
    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_end, "r"))  # text, as sys.stdin is, with .buffer beneath
    control = TrainControl()
    thread = train_child.watch_stdin_commands(control)
    open_ends = [write_end]

    os.set_blocking(write_end, False)

    def write(data: bytes) -> None:
        """All of data into the pipe, or a failure if the reader stops taking it (never a hang)."""
        view, deadline = memoryview(data), time.monotonic() + 10
        while view:
            try:
                view = view[os.write(write_end, view):]
            except BlockingIOError:
                assert time.monotonic() < deadline, "the command reader stopped reading its input"
                time.sleep(0.005)

    def close() -> None:
        if open_ends:
            os.close(open_ends.pop())

    yield control, write, close
    close()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the command reader did not end with its input"


def test_the_command_reader_survives_any_bytes_and_obeys_the_commands_after_them(command_pipe):
    control, write, close = command_pipe
    for garbage in GARBAGE:
        write(garbage)
    assert not control.paused and not control.stop_requested, "garbage was taken for a command"
    write(b"pause\n")
    assert wait_for(lambda: control.paused), "a valid command after invalid bytes was not obeyed"
    for garbage in GARBAGE:
        write(garbage)
    write(b"resume\r\n")  # a Windows line end
    assert wait_for(lambda: not control.paused)
    write(b"Pause\n")
    assert wait_for(lambda: control.paused) and not control.stop_requested
    write(b"stop")  # the last command without its newline: the input ends right after it
    close()
    assert wait_for(lambda: control.stop_requested), "the last line, without a newline, was not obeyed"


def test_a_paused_run_goes_on_when_its_command_input_ends(command_pipe):
    control, write, close = command_pipe
    write(b"pause\n")
    assert wait_for(lambda: control.paused)
    close()  # the parent died without a word
    assert wait_for(lambda: not control.paused), "a paused run without anyone to resume it stays paused"
    assert not control.stop_requested


class Child:
    """`python main.py train --events` with its standard input a pipe; killed if a test waits too long for it."""

    def __init__(self, run, seconds: float = 120):
        args = [sys.executable, str(ROOT / "main.py"), "train", "--out", str(run), "--steps", "1000000",
                "--checkpoint-every", "0", "--events", *TINY]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, env=child_env())
        self.watchdog = threading.Timer(seconds, self.proc.kill)  # a regression fails the test, never hangs it
        self.watchdog.start()

    def until(self, kind: str) -> dict:
        for line in self.proc.stdout:
            event = json.loads(line)
            if event["event"] == kind:
                return event
        raise AssertionError(f"the run ended (or was killed for taking too long) before a '{kind}' event: "
                             f"{self.proc.stderr.read().decode(errors='replace')[-2000:]}")

    def end(self) -> None:
        self.watchdog.cancel()
        self.proc.kill()
        self.proc.wait(timeout=30)


def test_a_training_child_fed_garbage_obeys_then_resumes_when_its_input_closes(tmp_path):
    child = Child(tmp_path / "run")
    try:
        child.until("step")
        child.proc.stdin.write(b"".join(GARBAGE) + b"pause\n")
        child.proc.stdin.flush()
        paused = child.until("paused")
        child.proc.stdin.close()  # the app is gone
        assert child.until("resumed")["step"] == paused["step"]
        assert child.until("step")["step"] == paused["step"] + 1
        child.proc.send_signal(signal.SIGTERM)
        done = child.until("done")
        assert done["reason"] == "stopped" and read_metadata(tmp_path / "run" / MODEL_FILE)["step"] == done["step"]
        assert child.proc.wait(timeout=60) == 0
    finally:
        child.end()


def test_a_paused_run_left_running_by_the_train_tab_goes_on(qtbot, tmp_path, monkeypatch):
    """By its command input closing, the one way the tab resumes a run it leaves: no "resume" line is sent (a
    second way that could hold the closing window), so this fails if the child no longer resumes on that end."""
    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel
    from explorer.panels.train.training_process import TrainingProcess
    from explorer.worker.inference_worker import InferenceWorker

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    sent: list[str] = []
    real_send = TrainingProcess.send

    def send(self, command: str) -> None:
        sent.append(command)
        real_send(self, command)

    monkeypatch.setattr(TrainingProcess, "send", send)
    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    run = tmp_path / "run"
    fill_tiny_run(panel.form, run, steps=1_000_000, sample_every=0, checkpoint_every=1, batch=4)
    with qtbot.waitSignal(panel.run_event, timeout=240_000, check_params_cb=lambda e: e.kind == "step"):
        assert panel.start()
    pid = panel.process.pid()
    try:
        with qtbot.waitSignal(panel.run_event, timeout=60_000, check_params_cb=lambda e: e.kind == "paused") as p:
            panel.toggle_pause()
        paused_at = p.args[0].step
        panel.leave_running()  # "Leave running" as the window closes
        assert not panel.running
        assert sent == ["pause"], sent  # the run goes on by its input's end alone

        def trained_on() -> bool:
            try:
                return read_metadata(run / MODEL_FILE)["step"] > paused_at
            except Exception:  # noqa: BLE001 - between two saves of the file
                return False

        qtbot.waitUntil(trained_on, timeout=60_000)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
