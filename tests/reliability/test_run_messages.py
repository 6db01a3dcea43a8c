"""What a run says it left behind is what is in its folder: no message claims a checkpoint that is not there.

Before, a resume that failed in a folder holding only training_state.pt said "the last good checkpoint (step 3) is
kept"; a run stopped before its first step said its checkpoint was saved; a killed child was said to have kept "the
last saved checkpoint" when it had saved none.
"""

from __future__ import annotations

import errno
import io
import json
import os
from dataclasses import replace

from explorer.cli.train import ProgressDisplay
from models import atomic_file
from models.families.vae import VAETrainer
from models.train import MODEL_FILE, STATE_FILE, TrainControl, train
from models.train_events import CheckpointEvent, DoneEvent, ErrorEvent, event_from_dict
from models.train_settings import TrainSettings
from models.trainer import StepResult

SETTINGS = TrainSettings("vae", "", steps=3, batch_size=4, image_size=16, channels=8, data_count=32, sample_every=0,
                         checkpoint_every=1, model_options={"latent_dim": 4})


def diverge_at_once(monkeypatch) -> None:
    real_step = VAETrainer.step

    def step(self, next_batch):
        result = real_step(self, next_batch)
        return StepResult({**result.losses, "loss": float("nan")})

    monkeypatch.setattr(VAETrainer, "step", step)


def error_of(events) -> str:
    errors = [e.message for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1, events
    return errors[0]


def test_a_failed_resume_in_a_folder_with_only_a_training_state_claims_no_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    settings = replace(SETTINGS, out=str(run))
    list(train(settings))
    (run / MODEL_FILE).unlink()  # what is left: training_state.pt at step 3
    real_fsync = os.fsync

    def fsync(fd):  # the checkpoint cannot be brought back: the disk is full
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(f".{MODEL_FILE}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(atomic_file.os, "fsync", fsync)
    diverge_at_once(monkeypatch)
    message = error_of(list(train(replace(settings, steps=6, resume=True))))
    assert "diverged at step 4" in message, message
    assert "checkpoint (step" not in message and "no usable checkpoint" in message, message
    assert "training state (step 3) is kept" in message, message
    assert not (run / MODEL_FILE).exists() and (run / STATE_FILE).exists()


def state_only_run(tmp_path):
    """A three-step run's folder with its training state and no checkpoint."""
    run = tmp_path / "run"
    settings = replace(SETTINGS, out=str(run))
    list(train(settings))
    (run / MODEL_FILE).unlink()
    return run, replace(settings, steps=6, resume=True)


def test_a_training_state_that_fails_to_restore_is_not_said_to_be_one_to_resume_from(tmp_path):
    """Its step and settings are sound (it passes prepare), its weights do not fit the model (restore fails): before,
    the run said its training state was kept "from which --resume can go on", the very state that had just failed."""
    import torch

    run, settings = state_only_run(tmp_path)
    state = torch.load(run / STATE_FILE, weights_only=True)
    name = next(iter(state["trainer"]["model"]))
    state["trainer"]["model"][name] = torch.zeros(2, 2)
    torch.save(state, run / STATE_FILE)
    before = (run / STATE_FILE).read_bytes()
    events = list(train(settings))
    message = error_of(events)
    assert events[-1] == DoneEvent(3, "error")
    assert message.startswith(f"The training state '{STATE_FILE}' ") and "cannot be resumed from it" in message, message
    assert "--resume can go on" not in message and "is kept" not in message, message
    assert (run / STATE_FILE).read_bytes() == before and not (run / MODEL_FILE).exists()


def test_a_resume_that_runs_out_of_memory_while_restoring_promises_nothing_of_its_state(tmp_path, monkeypatch):
    """Another way to end between reading the state and training on from it: not the file's fault, so it is not
    called damaged, and not known to be one the run can go on from, so not promised either."""
    _, settings = state_only_run(tmp_path)

    def load_state_dict(self, state):
        raise MemoryError()

    monkeypatch.setattr(VAETrainer, "load_state_dict", load_state_dict)
    message = error_of(list(train(settings)))
    assert message.startswith("The computer ran out of memory"), message
    assert "--resume can go on" not in message and "damaged" not in message, message
    assert "no usable checkpoint" in message and "its training state is as it was" in message, message


def test_a_checkpoint_gone_during_the_run_is_not_said_to_be_kept(tmp_path, monkeypatch):
    """Another kind: the checkpoint was saved, then deleted (by a person, a cleaner) before the run failed."""
    run = tmp_path / "run"
    diverge_after = []
    real_step = VAETrainer.step

    def step(self, next_batch):
        result = real_step(self, next_batch)
        diverge_after.append(1)
        if len(diverge_after) == 3:
            (run / MODEL_FILE).write_bytes(b"damaged")  # the checkpoint of step 2 is no longer one
            return StepResult({**result.losses, "loss": float("nan")})
        return result

    monkeypatch.setattr(VAETrainer, "step", step)
    message = error_of(list(train(replace(SETTINGS, out=str(run), steps=6))))
    assert "diverged at step 3" in message and "checkpoint (step 2) is kept" not in message, message
    assert "training state (step 2) is kept" in message, message


def test_a_run_stopped_before_its_first_step_does_not_say_it_saved_a_checkpoint(tmp_path):
    control = TrainControl()
    control.stop()  # Ctrl+C while the data loaded
    events = list(train(replace(SETTINGS, out=str(tmp_path / "run")), control))
    assert events[-1] == DoneEvent(0, "stopped") and not any(isinstance(e, CheckpointEvent) for e in events)
    stream = io.StringIO()
    display = ProgressDisplay(stream)
    for event in events:
        display.show(event)
    last = stream.getvalue().strip().splitlines()[-1]
    assert last.startswith("Training stopped at step 0") and "checkpoint saved" not in last, last
    assert "no checkpoint was saved" in last


def end_of_child(qtbot, lines: list[dict], code: int = 0, crashed: bool = False) -> str:
    from explorer.panels.train.training_process import TrainingProcess

    process = TrainingProcess()
    for line in lines:
        process._handle(json.dumps(line).encode())
    return process.describe_end(code, crashed)[0]


START = {"event": "start", "family": "vae", "device": "CPU", "dataset": "Synthetic Faces", "images": 32, "skipped": [],
         "skipped_count": 0, "step": 0, "total_steps": 50, "parameters": 1000, "out": "/tmp/run", "resumed": False}


def test_the_train_tab_says_what_a_killed_or_stopped_child_left(qtbot):
    killed = end_of_child(qtbot, [START, {"event": "step", "step": 5}], code=9, crashed=True)
    assert "killed or crashed" in killed and "checkpoint is kept" not in killed and "not saved a checkpoint" in killed
    killed = end_of_child(qtbot, [START, {"event": "checkpoint", "step": 4, "path": "/tmp/run/model.safetensors"}],
                          code=9, crashed=True)
    assert "checkpoint of step 4 (or a later one) is kept" in killed, killed
    resumed = {**START, "resumed": True, "step": 7, "checkpoint_step": None}  # a folder with a training state only
    assert "not saved a checkpoint" in end_of_child(qtbot, [resumed], code=9, crashed=True)
    stopped = end_of_child(qtbot, [START, {"event": "done", "step": 0, "reason": "stopped"}])
    assert "stopped at step 0" in stopped and "checkpoint is saved" not in stopped, stopped
    stopped = end_of_child(qtbot, [START, {"event": "checkpoint", "step": 3, "path": "p"},
                                   {"event": "done", "step": 3, "reason": "stopped"}])
    assert stopped == "The run stopped at step 3; its checkpoint is saved."
    # Read, not trusted: a line whose step is not a number is not an end the run reported, and nothing of it is shown.
    odd = end_of_child(qtbot, [START, {"event": "done", "step": "x", "reason": "finished"}])
    assert odd == "The training process ended unexpectedly (exit code 0); it had not saved a checkpoint.", odd


def test_closing_the_app_during_a_run_promises_only_what_stopping_does(qtbot):
    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel
    from explorer.worker.inference_worker import InferenceWorker

    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    panel.family = "vae"
    panel._set_state("starting")  # importing, loading its data: nothing is trained, nothing will be saved
    question = panel.closing_question()
    assert "checkpoint is saved" not in question and "nothing is trained yet" in question, question
    panel._on_event(event_from_dict({**START, "step": 40, "resumed": True, "checkpoint_step": 40}))
    assert "goes on if it was paused" in panel.closing_question()
    panel.stop()  # no step since it resumed: there is nothing new to save
    assert panel.status.text() == "Stopping…"
