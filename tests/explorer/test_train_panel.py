"""The Train tab: tiny real runs in a child process, steered and watched from the tab."""

from __future__ import annotations

import os
import signal

import pytest

from models.checkpoint import load_checkpoint, read_metadata
from tests.explorer.conftest import fill_tiny_run

LONG = 1_000_000  # steps of a run that only ends when the test ends it


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the child inherits it: busy cores make threads slow


def tiny(panel, out, family="vae", steps=6, sample_every=3, checkpoint_every=3):
    fill_tiny_run(panel.form, out, family, steps, sample_every, checkpoint_every)


def wait_for_event(qtbot, panel, kind, check=lambda e: True, timeout=120_000):
    with qtbot.waitSignal(panel.run_event, timeout=timeout,
                          check_params_cb=lambda e: e["event"] == kind and check(e)) as blocker:
        pass
    return blocker.args[0]


@pytest.mark.parametrize("family", ["vae", "gan", "diffusion"])
def test_a_tiny_run_of_each_family_draws_curves_and_samples(window, qtbot, tmp_path, family):
    panel = window.train
    window.select_tab("train")
    tiny(panel, tmp_path / "run", family)
    with qtbot.waitSignal(panel.run_ended, timeout=180_000) as ended:
        assert panel.start()
    how, ok = ended.args
    assert ok, how
    assert "finished at step 6" in how
    first_key = {"vae": "reconstruction", "gan": "d_loss", "diffusion": "loss"}[family]
    assert panel.plots.point_count(first_key) >= 2
    assert panel.samples.has_image() and "step 6" in panel.samples_caption.text()
    assert panel.progress.value() == 6
    if family == "vae":
        assert "Latent numbers in use" in panel.health.text()
    if family == "gan":
        assert "Diversity" in panel.health.text() or "Mode collapse" in panel.health.text()
    path = str((tmp_path / "run" / "model.safetensors").resolve())
    # the checkpoint is in the model chooser, and Explore has the final weights (reloaded after step 3's)
    qtbot.waitUntil(lambda: path in window.context.models and "step 6" in window.context.models[path].label,
                    timeout=60_000)
    assert window.model_box.findData(path) >= 0
    assert window.context.current == path  # "Explore follows this run" chose it


def test_pause_resume_continue_at_the_same_step_and_stop_saves(window, qtbot, tmp_path):
    panel = window.train
    tiny(panel, tmp_path / "run", "vae", steps=LONG, sample_every=5, checkpoint_every=LONG)
    panel.start()
    wait_for_event(qtbot, panel, "step", lambda e: e["step"] >= 5)
    panel.toggle_pause()
    paused = wait_for_event(qtbot, panel, "paused")
    assert panel.state == "paused" and panel.pause_button.text() == "Resume"
    panel.toggle_pause()
    resumed = wait_for_event(qtbot, panel, "resumed")
    assert resumed["step"] == paused["step"]
    after = wait_for_event(qtbot, panel, "step")
    assert after["step"] > paused["step"]
    with qtbot.waitSignal(panel.run_ended, timeout=120_000) as ended:
        panel.stop()
    assert ended.args[1], ended.args[0]
    checkpoint = load_checkpoint(tmp_path / "run" / "model.safetensors")
    assert checkpoint.step == panel.step > paused["step"]


def test_a_killed_run_says_so_and_its_last_checkpoint_loads_and_resumes(window, qtbot, tmp_path):
    panel = window.train
    run = tmp_path / "run"
    tiny(panel, run, "gan", steps=LONG, sample_every=4, checkpoint_every=4)
    panel.start()
    saved = wait_for_event(qtbot, panel, "checkpoint")
    with qtbot.waitSignal(panel.run_ended, timeout=60_000) as ended:
        os.kill(panel.process.pid(), signal.SIGKILL)
    how, ok = ended.args
    assert not ok and "killed" in how
    assert "killed" in panel.message.text() and panel.start_button.isEnabled()
    step = read_metadata(run / "model.safetensors")["step"]
    assert step >= saved["step"]
    assert load_checkpoint(run / "model.safetensors").model.family == "gan"
    assert panel.resume_from(str(run))
    start = wait_for_event(qtbot, panel, "start")
    assert start["resumed"] and start["step"] == step
    with qtbot.waitSignal(panel.run_ended, timeout=120_000):
        panel.stop()


def test_a_folder_without_images_is_refused_before_any_process(window, tmp_path):
    empty = tmp_path / "no-images"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a picture")
    panel = window.train
    panel.form.set_folder(str(empty))
    assert "No images" in panel.form.folder_info.text()
    assert not panel.start()
    assert "no images" in panel.message.text() and not panel.running and panel.process.process is None


def test_a_folder_of_images_shows_its_count_and_a_preview(window, tmp_path):
    from PIL import Image
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (80 * i, 100, 50)).save(folder / f"face{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    window.train.form.set_folder(str(folder))
    text = window.train.form.folder_info.text()
    assert "4 images found" in text and "1 skipped" in text
    assert window.train.form.preview.has_image()


def _answer(monkeypatch, choice):
    from PySide6.QtWidgets import QMessageBox
    monkeypatch.setattr(QMessageBox, "exec", lambda self: 0)
    monkeypatch.setattr(QMessageBox, "clickedButton",
                        lambda self: next(b for b in self.buttons() if b.text().replace("&", "") == choice))


def test_closing_during_a_run_can_stop_it_with_a_checkpoint(window, qtbot, tmp_path, monkeypatch):
    panel = window.train
    tiny(panel, tmp_path / "run", "vae", steps=LONG, sample_every=5, checkpoint_every=LONG)
    panel.start()
    wait_for_event(qtbot, panel, "step")
    _answer(monkeypatch, "Stop and save")
    window.close()
    assert not panel.running
    assert load_checkpoint(tmp_path / "run" / "model.safetensors").step >= 1


def test_closing_during_a_run_can_leave_it_running(window, qtbot, tmp_path, monkeypatch):
    panel = window.train
    tiny(panel, tmp_path / "run", "vae", steps=LONG, sample_every=5, checkpoint_every=LONG)
    panel.start()
    wait_for_event(qtbot, panel, "step")
    pid = panel.process.pid()
    _answer(monkeypatch, "Leave running")
    window.close()
    try:
        assert window.isHidden() and not panel.running
        qtbot.wait(200)
        os.kill(pid, 0)  # still alive
    finally:
        os.kill(pid, signal.SIGKILL)


def test_cancel_keeps_the_window_and_the_run(window, qtbot, tmp_path, monkeypatch):
    panel = window.train
    tiny(panel, tmp_path / "run", "vae", steps=LONG, sample_every=5, checkpoint_every=LONG)
    panel.start()
    wait_for_event(qtbot, panel, "step")
    _answer(monkeypatch, "Cancel")
    window.close()
    assert window.isVisible() and panel.running
    panel.process.kill()
    qtbot.waitUntil(lambda: not panel.running, timeout=30_000)
