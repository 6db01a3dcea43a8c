"""Closing the window while it works: during a diffusion run, a GAN inversion and a training run the app is gone
within 2 s, its inference thread has ended, and the training child process with it ("Stop and save": the
run's work is saved). Leaving a run going on purpose is tests/explorer/panels/train/test_train_panel.py's business.
"""

from __future__ import annotations

import os
import time

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from explorer.worker import inference_jobs
from explorer.worker.requests import Endpoint
from models.checkpoint import load_checkpoint, save_checkpoint
from models.diffusion import Diffusion
from tests.explorer.conftest import fill_tiny_run
from tests.models.tiny import tiny_diffusion

CLOSE_SECONDS = 2.0


@pytest.fixture(autouse=True)
def long_jobs(monkeypatch):
    monkeypatch.setattr(inference_jobs, "GAN_INVERSION_STEPS", 1_000_000)  # an inversion that is surely going
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the training child inherits it


@pytest.fixture(scope="module")
def slow_diffusion(tmp_path_factory) -> str:
    """A diffusion model with 1000 noise levels: DDPM-1000 takes seconds even at 16 px."""
    torch.manual_seed(0)
    model = Diffusion(tiny_diffusion(timesteps=1000))
    return str(save_checkpoint(tmp_path_factory.mktemp("slow") / "slow-diffusion.safetensors", model))


def answer(monkeypatch, choice: str) -> None:
    """The closing dialog's answer, without showing it."""
    monkeypatch.setattr(QMessageBox, "exec", lambda self: 0)
    monkeypatch.setattr(QMessageBox, "clickedButton",
                        lambda self: next(b for b in self.buttons() if b.text().replace("&", "") == choice))


def start_diffusion(window, qtbot, path: str) -> None:
    window.context.load(path, select=True)
    key = os.path.realpath(path)
    qtbot.waitUntil(lambda: window.context.current == key, timeout=30_000)
    panel = window.diffusion
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))
    panel.steps.setValue(1000)
    with qtbot.waitSignal(window.context.progress, timeout=60_000,
                          check_params_cb=lambda step: step.request_id == panel._request):
        panel.start()


def start_inversion(window, qtbot, wait: bool = True) -> None:
    gan = next(k for k, m in window.context.models.items() if m.family == "gan")
    window.context.set_current(gan)
    window.explore.bring_in(Endpoint("face", 3))
    if wait:
        qtbot.waitUntil(lambda: "Inverting" in window.explore.progress.format(), timeout=60_000)


def start_training(window, qtbot, tmp_path, wait_for_a_step: bool = True) -> int:
    fill_tiny_run(window.train.form, tmp_path / "run", steps=1_000_000, sample_every=0, checkpoint_every=1_000_000,
                  batch=4)
    assert window.train.start()
    if wait_for_a_step:
        with qtbot.waitSignal(window.train.run_event, timeout=120_000, check_params_cb=lambda e: e.kind == "step"):
            pass
    return window.train.process.pid()


def gone(pid: int, seconds: float = 10) -> bool:
    """The process has ended within `seconds` (a zombie counts: it has ended, nobody has reaped it yet).

    The app waits up to 1.5 s for a stopping run; on a slow machine the run may finish saving just after."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.isdir("/proc/self"):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return True
            except FileNotFoundError:
                return True
        else:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
        time.sleep(0.05)
    return False


def close_in_time(window) -> float:
    assert not window.worker.is_idle() or window.train.running, "nothing was going on when the window closed"
    started = time.perf_counter()
    window.close()
    seconds = time.perf_counter() - started
    assert window.isHidden() and window.worker.thread.isFinished()
    assert seconds < CLOSE_SECONDS, f"closing took {seconds:.1f} s"
    return seconds


def test_closing_during_a_diffusion_run(window, qtbot, slow_diffusion):
    start_diffusion(window, qtbot, slow_diffusion)
    close_in_time(window)


def test_closing_during_a_gan_inversion(window, qtbot):
    start_inversion(window, qtbot)
    close_in_time(window)


def test_closing_during_training_a_diffusion_run_and_an_inversion(window, qtbot, tmp_path, slow_diffusion,
                                                                   monkeypatch):
    pid = start_training(window, qtbot, tmp_path)
    start_diffusion(window, qtbot, slow_diffusion)
    start_inversion(window, qtbot, wait=False)  # waits behind the diffusion run: the worker does one at a time
    answer(monkeypatch, "Stop and save")
    close_in_time(window)
    assert gone(pid), "the training process outlived the app"
    assert load_checkpoint(tmp_path / "run" / "model.safetensors").step >= 1, "the run's work was not saved"


def test_closing_while_a_training_run_is_still_starting(window, qtbot, tmp_path, monkeypatch):
    """Before its first step (the child is importing and loading data) there is nothing to save: it ends now."""
    pid = start_training(window, qtbot, tmp_path, wait_for_a_step=False)
    assert window.train.state == "starting"
    answer(monkeypatch, "Stop and save")
    close_in_time(window)
    assert gone(pid), "the training process outlived the app"


def test_a_run_too_slow_to_stop_in_time_saves_and_ends_by_itself_after_the_app(window, qtbot, tmp_path,
                                                                                monkeypatch):
    """A long step or a slow disk: the window does not wait; the run still saves its checkpoint, then ends."""
    pid = start_training(window, qtbot, tmp_path)
    answer(monkeypatch, "Stop and save")
    monkeypatch.setattr(window.train.process, "wait", lambda msecs: False)  # as if time ran out while saving
    close_in_time(window)
    assert gone(pid), "the training process did not end after the app"
    assert load_checkpoint(tmp_path / "run" / "model.safetensors").step >= 1, "the run's work was not saved"
