"""Faults during training: a disk that fills up while saving, and a loss that turns into NaN. The run says so
(in the CLI, and in the app's Train tab) and the last good checkpoint is kept, loads, and can be resumed.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from explorer import cli, cli_train
from models import atomic_file
from models.checkpoint import load_checkpoint, load_training_state
from models.train import MODEL_FILE, STATE_FILE, Run
from tests.explorer.conftest import fill_tiny_run

TINY = ["--model", "vae", "--image-size", "16", "--channels", "8", "--latent-dim", "4", "--batch-size", "4",
        "--data-count", "32", "--sample-every", "0", "--log-every", "1"]


@pytest.fixture
def disk_fills_after_first_save(monkeypatch):
    """Every write's fsync fails with 'No space left on device' once the first checkpoint is saved."""
    full: list[bool] = []
    real_save, real_fsync = Run.save, os.fsync

    def save(self, *args, **kwargs):
        path = real_save(self, *args, **kwargs)
        full.append(True)
        return path

    def fsync(fd):
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(Run, "save", save)
    monkeypatch.setattr(atomic_file.os, "fsync", fsync)
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)  # pytest keeps its own
    yield full
    full.clear()


def test_a_full_disk_keeps_the_previous_checkpoint_and_the_cli_says_so(tmp_path, capsys, disk_fills_after_first_save):
    run = tmp_path / "run"
    code = cli.main(["train", "--out", str(run), "--steps", "6", "--checkpoint-every", "2", *TINY])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 1 and "the disk is full" in warnings[0] and "Training goes on" in warnings[0]
    error = lines[-1]  # the last save fails too: the run cannot end with its work saved
    assert error.startswith("error: ") and "the disk is full" in error, err
    assert "stopped at step 6" in error and "the last good checkpoint (step 2) is kept" in error, err
    assert load_checkpoint(run / MODEL_FILE).step == 2  # the last save that fitted on the disk
    assert load_training_state(run / STATE_FILE)["step"] == 2
    assert sorted(p.name for p in run.iterdir()) == [MODEL_FILE, STATE_FILE], "no half-written files"

    disk_fills_after_first_save.clear()  # space was made: the run resumes from its last checkpoint
    code = cli.main(["train", "--out", str(run), "--steps", "3", "--checkpoint-every", "2", "--resume", "--events",
                     *TINY])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and events[0]["step"] == 2 and events[-1]["reason"] == "finished"
    assert load_checkpoint(run / MODEL_FILE).step == 3


def test_a_nan_loss_in_the_train_tab_stops_the_run_and_keeps_the_last_good_checkpoint(window, qtbot, tmp_path,
                                                                                        monkeypatch):
    """A learning rate of 1e10 makes the VAE's loss NaN at its second step, every time (the seed is fixed)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    panel = window.train
    form = panel.form
    fill_tiny_run(form, tmp_path / "run", steps=50, sample_every=0, checkpoint_every=1, batch=4)
    options = form.options
    monkeypatch.setattr(form, "options", lambda: [*options(), "--lr", "1e10"])  # beyond the form's range
    with qtbot.waitSignal(panel.run_ended, timeout=120_000) as ended:
        assert panel.start()
    how, ok = ended.args
    assert not ok
    assert "diverged at step 2" in how and "the last good checkpoint (step 1) is kept" in how, how
    assert "diverged at step 2" in panel.message.text() and panel.start_button.isEnabled()
    path = tmp_path / "run" / MODEL_FILE
    assert load_checkpoint(path).step == 1
    key = str(path.resolve())
    qtbot.waitUntil(lambda: key in window.context.models, timeout=30_000)  # the kept checkpoint is in the app
    assert "step 1" in window.context.models[key].label
