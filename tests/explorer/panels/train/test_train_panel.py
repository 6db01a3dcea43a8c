"""The Train tab: tiny real runs in a child process, steered and watched from the tab."""

from __future__ import annotations

import os
import signal

import pytest
from PySide6.QtCore import Qt

from explorer.panels.train.panel import TrainPanel
from models.checkpoint import load_checkpoint, read_metadata
from models.train_events import (
    CheckpointEvent,
    DoneEvent,
    PausedEvent,
    ResumedEvent,
    StartEvent,
    StepEvent,
)
from tests.explorer.conftest import fill_tiny_run

LONG = 1_000_000  # steps of a run that only ends when the test ends it


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the child inherits it: busy cores make threads slow


def tiny(panel, out, family="vae", steps=6, sample_every=3, checkpoint_every=3):
    fill_tiny_run(panel.form, out, family, steps, sample_every, checkpoint_every)


def wait_for_event(qtbot, panel, kind, check=lambda e: True, timeout=120_000):
    with qtbot.waitSignal(panel.run_event, timeout=timeout,
                          check_params_cb=lambda e: e.kind == kind and check(e)) as blocker:
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


def test_pause_resume_continue_at_the_same_step_and_stop_saves(panel_of, qtbot, tmp_path):
    panel = panel_of(TrainPanel)
    tiny(panel, tmp_path / "run", "vae", steps=LONG, sample_every=5, checkpoint_every=LONG)
    panel.start()
    wait_for_event(qtbot, panel, "step", lambda e: e.step >= 5)
    panel.toggle_pause()
    paused = wait_for_event(qtbot, panel, "paused")
    assert panel.state == "paused" and panel.pause_button.text() == "Resume"
    panel.toggle_pause()
    resumed = wait_for_event(qtbot, panel, "resumed")
    assert resumed.step == paused.step
    after = wait_for_event(qtbot, panel, "step")
    assert after.step > paused.step
    with qtbot.waitSignal(panel.run_ended, timeout=120_000) as ended:
        panel.stop()
    assert ended.args[1], ended.args[0]
    checkpoint = load_checkpoint(tmp_path / "run" / "model.safetensors")
    assert checkpoint.step == panel.step > paused.step


def test_a_killed_run_says_so_and_its_last_checkpoint_loads_and_resumes(panel_of, qtbot, tmp_path):
    panel = panel_of(TrainPanel)
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
    assert step >= saved.step
    assert load_checkpoint(run / "model.safetensors").model.family == "gan"
    panel.resume_from(str(run))  # read by the worker; the run starts when its record is back
    start = wait_for_event(qtbot, panel, "start")
    assert start.resumed and start.step == step
    with qtbot.waitSignal(panel.run_ended, timeout=120_000):
        panel.stop()


def test_a_folder_without_images_is_refused_before_any_process(panel_of, tmp_path):
    empty = tmp_path / "no-images"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a picture")
    panel = panel_of(TrainPanel)
    panel.form.set_folder(str(empty))
    assert "No images" in panel.form.folder_info.text()
    assert not panel.start()
    assert "no images" in panel.message.text() and not panel.running and panel.process.process is None


def test_a_folder_of_images_shows_its_count_and_a_preview(panel_of, tmp_path):
    from PIL import Image
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (80 * i, 100, 50)).save(folder / f"face{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    panel = panel_of(TrainPanel)
    panel.form.set_folder(str(folder))
    text = panel.form.folder_info.text()
    assert "4 images found" in text and "1 skipped" in text
    assert panel.form.preview.has_image()


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
        qtbot.wait(200)  # deliberate: time must pass after the close for 'still running' to mean anything
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


START = StartEvent(family="vae", device="CPU", dataset="Synthetic Faces", images=32, skipped=[], skipped_count=0,
                   step=0, total_steps=2000, parameters=1000, out="/tmp/run")


def step_event(step, eta):
    return StepEvent(step=step, total_steps=2000, losses={"loss": 1.0}, images_per_second=640.0, eta_seconds=eta,
                     elapsed_seconds=1.0)


@pytest.fixture()
def bare_panel(qtbot):
    """The Train tab alone, fed events as a run's child process would send them (no process, no models)."""
    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel
    from explorer.worker.inference_worker import InferenceWorker

    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    panel.family = "vae"
    panel._set_state("starting")
    return panel


def test_progress_and_the_paused_step_agree_and_there_is_no_eta_while_paused_or_after_the_end(bare_panel):
    panel = bare_panel
    panel._on_event(START)
    panel._on_event(step_event(10, None))  # warm-up steps are not a rate yet
    assert "ETA" not in panel.speed.text() and "working out" in panel.speed.text()
    panel._on_event(step_event(80, 120.0))
    assert panel.speed.text() == "640 images/s · ETA 2:00" and panel.progress.value() == 80
    panel._on_event(PausedEvent(89))  # steps are reported every 10: the bar said 80 before
    assert panel.status.text() == "Paused at step 89" and panel.progress.value() == 89 and panel.step == 89
    assert "ETA" not in panel.speed.text() and "paused" in panel.speed.text()
    panel._on_event(ResumedEvent(89))
    assert "ETA" not in panel.speed.text()  # the time left comes back with the next report, paused time left out
    panel._on_event(step_event(90, 110.0))
    assert "ETA 1:50" in panel.speed.text()
    panel._on_event(step_event(2000, 0.0))
    panel._on_event(DoneEvent(2000, "finished"))
    assert "ETA" not in panel.speed.text() and panel.progress.value() == 2000
    panel._ended("The run finished at step 2,000.", True)
    assert "ETA" not in panel.speed.text()


def test_a_killed_run_shows_no_time_left(bare_panel):
    panel = bare_panel
    panel._on_event(START)
    panel._on_event(step_event(20, 300.0))
    panel._ended("The training process was killed or crashed before it could finish.", False)
    assert "ETA" not in panel.speed.text()


def test_when_a_followed_run_ends_explore_offers_the_model_shown_before(window, qtbot, tmp_path):
    import shutil

    before = next(k for k, m in window.context.models.items() if m.family == "vae")
    window.context.set_current(before)
    run = tmp_path / "run" / "model.safetensors"
    run.parent.mkdir()
    shutil.copy(window.context.models[before].path, run)
    key = str(run.resolve())
    panel = window.train
    assert panel.follow.isChecked()
    panel._on_event(CheckpointEvent(3, str(run)))  # what a run's first checkpoint says
    qtbot.waitUntil(lambda: window.context.current == key, timeout=30_000)  # followed while it runs
    assert window.follow_notice.isHidden()
    panel._ended("The run stopped at step 3; its checkpoint is saved.", True)
    assert window.context.current == key  # nothing is swapped behind the person's back...
    assert not window.follow_notice.isHidden()  # ...it says so, and one click goes back
    assert "Training ended" in window.follow_notice.text.text()
    assert window.follow_notice.button.text() == f"Back to {window.context.models[before].label}"
    qtbot.mouseClick(window.follow_notice.button, Qt.MouseButton.LeftButton)
    assert window.context.current == before and window.follow_notice.isHidden()


def test_no_offer_when_the_person_had_already_chosen_another_model(window, qtbot, tmp_path):
    import shutil

    vae = next(k for k, m in window.context.models.items() if m.family == "vae")
    gan = next(k for k, m in window.context.models.items() if m.family == "gan")
    window.context.set_current(vae)
    run = tmp_path / "run" / "model.safetensors"
    run.parent.mkdir()
    shutil.copy(window.context.models[vae].path, run)
    window.train._on_event(CheckpointEvent(3, str(run)))
    qtbot.waitUntil(lambda: window.context.current == str(run.resolve()), timeout=30_000)
    window.context.set_current(gan)
    window.train._ended("The run finished at step 3.", True)
    assert window.follow_notice.isHidden() and window.context.current == gan


def test_resume_from_folder_reads_the_run_in_the_worker_and_says_why_it_cannot(panel_of, qtbot, tmp_path, monkeypatch,
                                                                               tiny_checkpoints):
    import shutil
    import threading

    from models import safetensors_file

    on_gui_thread: list[bool] = []
    real = safetensors_file.open_regular

    def open_regular(path, what):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return real(path, what)

    monkeypatch.setattr(safetensors_file, "open_regular", open_regular)
    panel = panel_of(TrainPanel)
    empty = tmp_path / "empty"
    empty.mkdir()
    panel.resume_from(str(empty))
    qtbot.waitUntil(lambda: "Cannot resume" in panel.message.text(), timeout=30_000)
    assert "no training_state.pt" in panel.message.text() and not panel.running

    run = tmp_path / "no-record"  # a checkpoint and a state, but no record of the run's settings
    run.mkdir()
    shutil.copy(tiny_checkpoints["vae"], run / "model.safetensors")
    (run / "training_state.pt").write_bytes(b"")
    panel.resume_from(str(run))
    qtbot.waitUntil(lambda: "does not record how its run was trained" in panel.message.text(), timeout=30_000)
    assert on_gui_thread and not any(on_gui_thread)  # the checkpoint was read, never on the GUI thread
    assert panel.resume_button.isEnabled() and not panel.running
