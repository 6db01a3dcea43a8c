import threading

import numpy as np
import pytest
import torch
from PIL import Image

from models.checkpoint import load_checkpoint, load_training_state
from models.families.vae import VAETrainer
from models.train import MODEL_FILE, STATE_FILE, train
from models.train_events import (
    CheckpointEvent,
    DoneEvent,
    ErrorEvent,
    PausedEvent,
    ResumedEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
    TrainControl,
)
from models.train_settings import TrainSettings
from models.trainer import StepResult


def tiny(family, out, **kw) -> TrainSettings:
    options = {"vae": {"latent_dim": 4}, "gan": {"latent_dim": 8}, "diffusion": {"timesteps": 100}}[family]
    return TrainSettings(**{"family": family, "out": str(out), "steps": 4, "batch_size": 8, "image_size": 16,
                            "channels": 8, "data_count": 32, "log_every": 1, "sample_every": 2, "sample_count": 4,
                            "sample_steps": 3, "checkpoint_every": 2, "model_options": options, **kw})


def kinds(events):
    return [type(e).__name__ for e in events]


@pytest.mark.parametrize("family", ["vae", "gan", "diffusion"])
def test_a_few_steps_of_each_family(tmp_path, family):
    events = list(train(tiny(family, tmp_path)))
    assert isinstance(events[0], StartEvent) and events[0].images == 32 and events[0].family == family
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [e.step for e in steps] == [1, 2, 3, 4]
    assert all(e.images_per_second > 0 and e.losses for e in steps)
    samples = [e for e in events if isinstance(e, SamplesEvent)]
    assert [e.step for e in samples] == [2, 4]
    with Image.open(samples[-1].path) as grid:
        assert grid.size[0] > 16
    assert [e.step for e in events if isinstance(e, CheckpointEvent)] == [2, 4]
    assert events[-1] == DoneEvent(4, "finished")
    ckpt = load_checkpoint(tmp_path / MODEL_FILE)
    assert ckpt.step == 4 and ckpt.family == family and ckpt.metadata["dataset"]["kind"] == "synthetic-faces"
    assert ckpt.metadata["training"]["steps"] == 4


def test_family_details_in_step_events(tmp_path):
    vae_step = next(e for e in train(tiny("vae", tmp_path / "v")) if isinstance(e, StepEvent))
    assert len(vae_step.extra["kl_per_dim"]) == 4 and 0 <= vae_step.extra["active_dims"] <= 4
    gan = tiny("gan", tmp_path / "g", model_options={"latent_dim": 8, "loss": "wgan-gp"}, steps=1)
    gan_step = next(e for e in train(gan) if isinstance(e, StepEvent))
    assert {"d_loss", "g_loss", "d_real", "d_fake", "gradient_penalty"} <= set(gan_step.losses)


def _weights(path):
    return {k: v.clone() for k, v in load_training_state(path)["trainer"]["model"].items()}


@pytest.mark.parametrize("family", ["vae", "gan", "diffusion"])
def test_resume_continues_at_the_same_step_as_if_never_stopped(tmp_path, family):
    straight = list(train(tiny(family, tmp_path / "a", steps=6)))
    assert straight[-1].reason == "finished"
    list(train(tiny(family, tmp_path / "b", steps=4)))
    resumed = list(train(tiny(family, tmp_path / "b", steps=6, resume=True)))
    start = resumed[0]
    assert isinstance(start, StartEvent) and start.resumed and start.step == 4
    assert [e.step for e in resumed if isinstance(e, StepEvent)] == [5, 6]
    a, b = _weights(tmp_path / "a" / STATE_FILE), _weights(tmp_path / "b" / STATE_FILE)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)


def test_a_new_run_never_overwrites_an_old_one(tmp_path):
    list(train(tiny("vae", tmp_path)))
    before = (tmp_path / MODEL_FILE).read_bytes()
    events = list(train(tiny("vae", tmp_path)))
    assert isinstance(events[0], ErrorEvent) and "--resume" in events[0].message
    assert events[-1].reason == "error" and (tmp_path / MODEL_FILE).read_bytes() == before


def test_resume_needs_a_run(tmp_path):
    events = list(train(tiny("vae", tmp_path, resume=True)))
    assert isinstance(events[0], ErrorEvent) and "no run to resume" in events[0].message


def test_resume_refuses_another_family(tmp_path):
    list(train(tiny("vae", tmp_path)))
    events = list(train(tiny("gan", tmp_path, resume=True, steps=8)))
    assert isinstance(events[0], ErrorEvent) and "vae" in events[0].message


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_step = VAETrainer.step
    calls = []

    def step(self, next_batch):
        result = real_step(self, next_batch)
        calls.append(1)
        if len(calls) == 3:
            return StepResult({**result.losses, "loss": float("nan")})
        return result

    monkeypatch.setattr(VAETrainer, "step", step)
    events = list(train(tiny("vae", tmp_path, steps=6)))
    error = next(e for e in events if isinstance(e, ErrorEvent))
    assert "diverged at step 3" in error.message and "step 2" in error.message
    assert events[-1] == DoneEvent(2, "error")
    assert load_checkpoint(tmp_path / MODEL_FILE).step == 2
    calls.clear()  # a resumed run that diverges names the checkpoint it resumed from
    events = list(train(tiny("vae", tmp_path, steps=6, resume=True, checkpoint_every=0)))
    error = next(e for e in events if isinstance(e, ErrorEvent))
    assert "diverged at step 5" in error.message and "(step 2) is kept" in error.message


def test_stop_saves_a_checkpoint(tmp_path):
    control = TrainControl()
    events = []
    for event in train(tiny("gan", tmp_path, steps=50, checkpoint_every=0, sample_every=0), control):
        events.append(event)
        if isinstance(event, StepEvent) and event.step == 3:
            control.stop()
    assert events[-1] == DoneEvent(3, "stopped")
    assert load_checkpoint(tmp_path / MODEL_FILE).step == 3


def test_pause_and_resume_between_steps(tmp_path):
    control = TrainControl()
    events = []
    for event in train(tiny("vae", tmp_path, steps=4, sample_every=0), control):
        events.append(event)
        if isinstance(event, StepEvent) and event.step == 2:
            control.pause()
            threading.Timer(0.2, control.resume).start()
    names = kinds(events)
    assert names.index("PausedEvent") < names.index("ResumedEvent")
    paused = next(e for e in events if isinstance(e, PausedEvent))
    resumed = next(e for e in events if isinstance(e, ResumedEvent))
    assert paused.step == resumed.step == 2
    assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3, 4]


def test_training_on_an_image_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    events = list(train(tiny("vae", tmp_path / "run", data=str(folder), steps=2)))
    start = events[0]
    assert isinstance(start, StartEvent) and start.images == 6 and start.skipped_count == 1
    assert "broken.jpg" in start.skipped[0]
    assert load_checkpoint(tmp_path / "run" / MODEL_FILE).metadata["dataset"]["kind"] == "folder"


def test_a_folder_without_images_is_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    events = list(train(tiny("vae", tmp_path / "run", data=str(folder))))
    assert isinstance(events[0], ErrorEvent) and events[-1].reason == "error"
    assert not (tmp_path / "run").exists()


def test_unknown_device_is_an_error_event(tmp_path):
    events = list(train(tiny("vae", tmp_path, device="tpu")))
    assert isinstance(events[0], ErrorEvent) and "tpu" in events[0].message


def test_an_output_that_is_a_file_or_unwritable_is_refused_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    events = list(train(tiny("vae", blocker)))
    assert isinstance(events[0], ErrorEvent) and "is a file" in events[0].message
    events = list(train(tiny("vae", blocker / "run")))
    assert isinstance(events[0], ErrorEvent) and "Cannot write" in events[0].message
    assert not any(isinstance(e, StepEvent) for e in events)
