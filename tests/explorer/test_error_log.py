"""A handled error is a sentence and nothing on the terminal; an unexpected one leaves its traceback in a log
whose path the user sees (in the panel's error text, or in a dialog for errors in the GUI thread)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer import error_log
from explorer.worker import inference_worker
from explorer.worker.inference_worker import InferenceWorker
from explorer.worker.requests import Endpoint, FaceImage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def state(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv(error_log.STATE_ENV, str(folder))
    return folder


@pytest.fixture()
def worker(qtbot):
    w = InferenceWorker("cpu")
    w.start()
    yield w
    assert w.shutdown()


@contextlib.contextmanager
def own_excepthook(parent_of_dialog):
    """The app's hook for a while; then back to the one before (pytest-qt's, which it restores itself)."""
    before = sys.excepthook
    error_log.install_excepthook(parent_of_dialog)
    try:
        yield
    finally:
        sys.excepthook = before


def _error_of(worker, qtbot, request) -> str:
    """The error text of `request`'s result, received in this (the GUI) thread as a panel receives it."""
    from PySide6.QtCore import QObject, Slot

    class Receiver(QObject):  # a QObject of this thread: the worker's signal arrives queued, as in the app
        results: list = []

        @Slot(object)
        def take(self, result) -> None:
            self.results.append(result)

    receiver = Receiver()
    worker.result.connect(receiver.take)
    worker.submit(request)
    qtbot.waitUntil(lambda: any(r.request_id == request.id for r in receiver.results), timeout=60_000)
    worker.result.disconnect(receiver.take)
    return next(r for r in receiver.results if r.request_id == request.id).error


def test_a_broken_image_is_one_sentence_with_nothing_on_the_terminal_and_no_log(worker, qtbot, state, tmp_path,
                                                                                    capfd):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    capfd.readouterr()
    error = _error_of(worker, qtbot, FaceImage(Endpoint("image", path=str(broken)), size=16))
    assert error == "Could not read 'broken.png': not an image."
    out, err = capfd.readouterr()
    assert err == "" and "Traceback" not in out
    assert not (state / error_log.LOG_NAME).exists()


def test_an_unexpected_error_leaves_its_traceback_in_the_log_and_names_it(worker, qtbot, state, monkeypatch, capfd):
    def broken_job(store, request, control):
        raise RuntimeError("the flux capacitor is empty")
        yield  # a generator, as every job is

    monkeypatch.setitem(inference_worker.ALL_JOBS, FaceImage, broken_job)
    capfd.readouterr()
    error = _error_of(worker, qtbot, FaceImage(Endpoint("face", seed=1), size=16))
    log = state / error_log.LOG_NAME
    assert "RuntimeError: the flux capacitor is empty" in error and str(log) in error
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "broken_job" in text and "FaceImage" in text
    assert capfd.readouterr().err == ""


def test_an_error_in_the_gui_thread_shows_a_dialog_that_names_the_log(qtbot, state, monkeypatch, capfd):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))

    def slot() -> None:
        raise ZeroDivisionError("a slider divided by nothing")

    with own_excepthook(lambda: None):
        QTimer.singleShot(0, slot)
        qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    log = state / error_log.LOG_NAME
    assert "ZeroDivisionError: a slider divided by nothing" in shown[0] and str(log) in shown[0]
    assert "in slot" in log.read_text() and "Traceback" in log.read_text()
    assert "Traceback" not in capfd.readouterr().err


def test_without_a_window_an_error_in_the_gui_thread_is_one_line(state, capsys):
    with own_excepthook(None):
        try:
            raise KeyError("gaze")
        except KeyError:
            sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KeyError" in err and str(state / error_log.LOG_NAME) in err


def test_the_log_stays_small(state, monkeypatch):
    monkeypatch.setattr(error_log, "LOG_BYTES", 4000)
    for i in range(40):
        try:
            raise ValueError(f"error number {i}")
        except ValueError as exc:
            assert error_log.log_exception(exc) == state / error_log.LOG_NAME
    log, older = state / error_log.LOG_NAME, state / (error_log.LOG_NAME + ".1")
    assert log.stat().st_size <= 4000 and older.stat().st_size <= 4000
    assert "error number 39" in log.read_text()


def test_an_unwritable_log_still_gives_a_sentence(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv(error_log.STATE_ENV, str(blocker / "state"))  # a folder inside a file cannot be made
    try:
        raise RuntimeError("nowhere to write")
    except RuntimeError as exc:
        text = error_log.where_the_details_are(exc)
    assert text.startswith("The details could not be written") and "nowhere to write" in capsys.readouterr().err


def test_the_log_lives_in_the_users_state_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(error_log.STATE_ENV, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert error_log.log_path() == tmp_path / "xdg" / "latent-explorer" / "latent-explorer.log"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert error_log.state_dir() == Path.home() / ".local" / "state" / "latent-explorer"


def test_a_crash_while_the_window_opens_is_one_line_and_a_logged_traceback(state, tmp_path):
    code = ("import sys, explorer.main_window as m\n"
            "class Broken:\n"
            "    def __init__(self, *args, **kwargs):\n"
            "        raise AttributeError('a widget without its names')\n"
            "m.MainWindow = Broken\n"
            "from explorer.cli.main import main\n"
            f"sys.exit(main(['--screenshot', {str(tmp_path / 'shot.png')!r}]))\n")
    env = {**os.environ, error_log.STATE_ENV: str(state), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    log = state / error_log.LOG_NAME
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "AttributeError: a widget without its names" in result.stderr
    assert str(log) in result.stderr and "Traceback" not in result.stderr
    text = log.read_text()
    assert "Traceback" in text and "in run_app" in text and "AttributeError: a widget without its names" in text


def test_a_command_line_bug_is_one_line_naming_the_log_and_a_bad_file_is_one_plain_sentence(state, tmp_path,
                                                                                               monkeypatch, capsys):
    from explorer.cli import generate as cli_generate
    from explorer.cli import main as cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(cli_generate, "run_sample", broken)
    assert cli.main(["sample", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(error_log.log_path()) in err
    assert "ZeroDivisionError" in error_log.log_path().read_text()

    monkeypatch.undo()
    monkeypatch.setenv(error_log.STATE_ENV, str(state))
    assert cli.main(["sample", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "details are in" not in err  # our own sentence: nothing logged
