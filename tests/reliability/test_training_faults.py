"""Faults during training: a disk that fills up while saving, and a loss that turns into NaN. The run says so
(in the CLI, and in the app's Train tab) and the last good checkpoint is kept, loads, and can be resumed.
A training state that is not what a run saves is refused in one sentence before anything is written (before, most
ended as "Training failed unexpectedly: AttributeError: ...", and some trained on and overwrote the checkpoint).
"""

from __future__ import annotations

import errno
import json
import os
import sys

import pytest

from explorer.cli import main as cli
from explorer.cli import train as cli_train
from explorer.panels.train import training_process
from models import atomic_file
from models.checkpoint import load_checkpoint, load_training_state
from models.train import MODEL_FILE, STATE_FILE, Run
from tests.explorer.conftest import fill_tiny_run

TINY = ["--model", "vae", "--image-size", "16", "--channels", "8", "--latent-dim", "4", "--batch-size", "4",
        "--data-count", "32", "--sample-every", "0", "--log-every", "1"]
NAN_AT_STEP_2 = """
import math, sys
from explorer.cli import main as cli
from models.families.vae import VAETrainer
step, calls = VAETrainer.step, []
def nan_at_step_2(self, batches):
    result = step(self, batches)
    calls.append(1)
    if len(calls) == 2:
        result.losses = {key: math.nan for key in result.losses}
    return result
VAETrainer.step = nan_at_step_2
sys.exit(cli.main(sys.argv[1:]))
"""


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
    """The training child's VAE loss turns NaN at its second step (a fault put into that process: every learning
    rate the command line takes trains on, however badly)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    panel = window.train
    form = panel.form
    fill_tiny_run(form, tmp_path / "run", steps=50, sample_every=0, checkpoint_every=1, batch=4)
    monkeypatch.setattr(training_process, "app_command", lambda *args: [sys.executable, "-c", NAN_AT_STEP_2, *args])
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


# ------------------------------------------------------------------ every file the loop writes, failing in every way
WRITE_FAULTS = {  # errno: the words the run gives for it
    errno.ENOSPC: "the disk is full",
    errno.EIO: os.strerror(errno.EIO),
    errno.EROFS: "the folder cannot be written to",
    errno.EACCES: "the folder cannot be written to",
}


def fail_writes(monkeypatch, code: int, which) -> list[str]:
    """Writes of files whose path `which` accepts fail with `code` as they are flushed to the disk (fsync), after
    their bytes went into a temporary file: where a full disk or a failing one really shows. Permission bits
    cannot stand in for this: the tests run as root, whom they do not stop. Returns the paths that failed."""
    failed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if which(target) and not os.path.isdir(target):
            failed.append(target)
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    monkeypatch.setattr(atomic_file.os, "fsync", fsync)
    return failed


def tiny_with(sample_every: int) -> list[str]:
    """TINY with sample grids every `sample_every` steps."""
    args = list(TINY)
    args[args.index("--sample-every") + 1] = str(sample_every)
    return args


def in_samples(path: str) -> bool:
    return os.sep + "samples" + os.sep in path


def run_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return err.strip().splitlines()


@pytest.mark.parametrize("code", list(WRITE_FAULTS), ids=[errno.errorcode[c] for c in WRITE_FAULTS])
def test_a_sample_grid_that_cannot_be_written_is_a_warning_and_training_goes_on(tmp_path, capsys, monkeypatch, code):
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    failed = fail_writes(monkeypatch, code, in_samples)
    run = tmp_path / "run"
    assert cli.main(["train", "--out", str(run), "--steps", "6", "--checkpoint-every", "3", *tiny_with(2)]) == 0
    lines = run_lines(capsys.readouterr().err)
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 3 and len(failed) == 3, lines  # steps 2, 4 and 6: each said, none fatal
    for step, line in zip((2, 4, 6), warnings):
        assert f"sample grid of step {step}" in line and WRITE_FAULTS[code] in line and "goes on" in line, line
    assert lines[-1] == "Training finished at step 6, checkpoint saved.", lines
    assert load_checkpoint(run / MODEL_FILE).step == 6 and load_training_state(run / STATE_FILE)["step"] == 6
    assert list((run / "samples").iterdir()) == [], "a failed grid left a temporary file behind"


def test_a_samples_folder_that_is_a_file_costs_the_grids_not_the_run(tmp_path, capsys, monkeypatch):
    """A kind no fsync fault covers: the grid's folder cannot even be made."""
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    run = tmp_path / "run"
    run.mkdir()
    (run / "samples").write_text("not a folder")
    assert cli.main(["train", "--out", str(run), "--steps", "4", "--checkpoint-every", "2", *tiny_with(2)]) == 0
    lines = run_lines(capsys.readouterr().err)
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 2 and all("Could not save the sample grid of step" in w for w in warnings), lines
    assert lines[-1] == "Training finished at step 4, checkpoint saved."
    assert load_checkpoint(run / MODEL_FILE).step == 4


@pytest.mark.parametrize("code", [errno.EIO, errno.EROFS], ids=["EIO", "EROFS"])
def test_a_checkpoint_that_cannot_be_written_keeps_the_previous_one_and_says_which(tmp_path, capsys, monkeypatch,
                                                                                   code):
    """The other ways a save fails (the full disk is above): the run goes on, names the step that is kept."""
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    saved: list[int] = []
    real_save = Run.save

    def save(self, *args, **kwargs):
        path = real_save(self, *args, **kwargs)
        saved.append(self.step)
        return path

    monkeypatch.setattr(Run, "save", save)
    fail_writes(monkeypatch, code, lambda path: bool(saved) and not in_samples(path))
    run = tmp_path / "run"
    assert cli.main(["train", "--out", str(run), "--steps", "6", "--checkpoint-every", "2", *TINY]) == 1
    lines = run_lines(capsys.readouterr().err)
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 1 and WRITE_FAULTS[code] in warnings[0] and "Training goes on" in warnings[0]
    assert "the last good checkpoint (step 2) is kept" in warnings[0], warnings
    assert "stopped at step 6" in lines[-1] and "the last good checkpoint (step 2) is kept" in lines[-1], lines
    assert load_checkpoint(run / MODEL_FILE).step == 2
    assert sorted(p.name for p in run.iterdir()) == [MODEL_FILE, STATE_FILE], "no half-written files"


class ClosedPipe:
    """A standard error nobody reads any more (`train ... 2>&1 | head -3` after head has ended)."""

    def isatty(self):
        return False

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_progress_that_cannot_be_shown_costs_no_step(tmp_path, monkeypatch):
    """The progress lines are a file the run writes too: when they cannot be written, training still ends saved."""
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    monkeypatch.setattr("sys.stderr", ClosedPipe())
    run = tmp_path / "run"
    assert cli.main(["train", "--out", str(run), "--steps", "5", "--checkpoint-every", "0", *TINY]) == 0
    assert load_checkpoint(run / MODEL_FILE).step == 5 and load_training_state(run / STATE_FILE)["step"] == 5


def test_the_train_tab_shows_a_failed_sample_grid_as_a_note_and_the_run_finishes(qtbot, tmp_path, monkeypatch):
    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel
    from explorer.worker.inference_worker import InferenceWorker

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run = tmp_path / "run"
    run.mkdir()
    (run / "samples").write_text("not a folder")
    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    fill_tiny_run(panel.form, run, steps=4, sample_every=2, checkpoint_every=2, batch=4)
    notes: list[str] = []
    panel.run_event.connect(lambda e: notes.append(panel.message.text()) if e.kind == "warning" else None)
    with qtbot.waitSignal(panel.run_ended, timeout=240_000) as ended:
        assert panel.start()
    how, ok = ended.args
    assert ok and "finished at step 4" in how, how
    assert len(notes) == 2 and all(n.startswith("<b>Note:</b> Could not save the sample grid") for n in notes), notes
    assert load_checkpoint(run / MODEL_FILE).step == 4


# ------------------------------------------------------------------ a training state that is not what a run saves
class Instead:
    """What a variant returns to put a whole other object in the state's place (None included)."""

    def __init__(self, value):
        self.value = value


def _state_variants():
    """name: a change made to a good training state (in place, or returning Instead(other)), each a kind of
    damage `train --resume` must refuse with one sentence naming the file, before it writes anything."""
    import torch

    def put(*keys, value):
        def change(state):
            target = state
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = value
        return change

    def drop(*keys):
        def change(state):
            target = state
            for key in keys[:-1]:
                target = target[key]
            del target[keys[-1]]
        return change

    def first_weight(state):
        return next(iter(state["trainer"]["model"]))

    def reshape_weight(state):
        name = first_weight(state)
        state["trainer"]["model"][name] = torch.zeros(3, 1)

    def rename_weight(state):
        model = state["trainer"]["model"]
        model["not.a.weight"] = model.pop(first_weight(state))

    def one_weight_fewer_in_the_optimiser(state):
        state["trainer"]["opt"]["param_groups"][0]["params"].pop()

    def moment_of_wrong_shape(state):
        state["trainer"]["opt"]["state"][0]["exp_avg"] = torch.zeros(7)

    def moment_missing(state):
        del state["trainer"]["opt"]["state"][0]["exp_avg_sq"]

    return {
        "a list": lambda state: Instead([1, 2, 3]),
        "a string": lambda state: Instead("training state"),
        "None": lambda state: Instead(None),
        "a tensor": lambda state: Instead(torch.zeros(3)),
        "an empty dict": lambda state: Instead({}),
        "no step": drop("step"),
        "no trainer": drop("trainer"),
        "no rng": drop("rng"),
        "no batches": drop("batches"),
        "no settings": drop("settings"),
        "step -5": put("step", value=-5),
        "step True": put("step", value=True),
        "step 'abc'": put("step", value="abc"),
        "step 2**70": put("step", value=2**70),
        "step 10**5000": put("step", value=10**5000),  # an int torch's safe loader refuses: damaged, in words
        "step 2.5": put("step", value=2.5),
        "step a tensor": put("step", value=torch.tensor(3)),
        "settings a list": put("settings", value=["vae"]),
        "settings without family": drop("settings", "family"),
        "image size text": put("settings", "image_size", value="16"),
        "image size out of range": put("settings", "image_size", value=15),
        "model options a list": put("settings", "model_options", value=[("latent_dim", 4)]),
        "latent dim out of range": put("settings", "model_options", value={"latent_dim": 0}),
        "data count True": put("settings", "data_count", value=True),
        "trainer a list": put("trainer", value=[1]),
        "trainer a string": put("trainer", value="weights"),
        "trainer without model": drop("trainer", "model"),
        "model weights a list": put("trainer", "model", value=[torch.zeros(1)]),
        "a weight that is not a tensor": lambda state: state["trainer"]["model"].update({first_weight(state): 1.0}),
        "a weight of the wrong shape": reshape_weight,
        "a weight renamed": rename_weight,
        "a weight of integers": lambda state: state["trainer"]["model"].update(
            {first_weight(state): state["trainer"]["model"][first_weight(state)].long()}),
        "no optimiser": drop("trainer", "opt"),
        "optimiser a string": put("trainer", "opt", value="adam"),
        "optimiser without param_groups": drop("trainer", "opt", "param_groups"),
        "optimiser for other weights": one_weight_fewer_in_the_optimiser,
        "optimiser moment of the wrong shape": moment_of_wrong_shape,
        "optimiser moment missing": moment_missing,
        "optimiser step NaN": put("trainer", "opt", "state", 0, "step", value=torch.tensor(float("nan"))),
        "learning rate text": put("trainer", "opt", "param_groups", 0, "lr", value="abc"),
        "learning rate negative": put("trainer", "opt", "param_groups", 0, "lr", value=-1.0),
        "learning rate NaN": put("trainer", "opt", "param_groups", 0, "lr", value=float("nan")),
        "betas out of range": put("trainer", "opt", "param_groups", 0, "betas", value=(1.5, 0.9)),
        "betas one number": put("trainer", "opt", "param_groups", 0, "betas", value=0.9),
        "a flag changed": put("trainer", "opt", "param_groups", 0, "capturable", value=True),
        "steps_done negative": put("trainer", "steps_done", value=-1),
        "rng a list": put("rng", value=[1, 2]),
        "rng without noise": drop("rng", "noise"),
        "rng of floats": put("rng", "torch", value=torch.zeros(5056)),
        "rng of the wrong size": put("rng", "data", value=torch.zeros(10, dtype=torch.uint8)),
        "rng not a valid state": put("rng", "noise", value=torch.zeros(5056, dtype=torch.uint8)),
        "batches a string": put("batches", value="order"),
        "batch order of floats": put("batches", "order", value=torch.zeros(32)),
        "batch order of bytes": put("batches", "order", value=torch.zeros(32, dtype=torch.uint8)),  # a mask to torch
        "batch order 2-D": put("batches", "order", value=torch.zeros(4, 8, dtype=torch.long)),
        "batch position negative": put("batches", "position", value=-1),
        "batch position past the order": put("batches", "position", value=10**6),
        "batch position text": put("batches", "position", value="8"),
    }


STATE_VARIANTS = _state_variants()


def _drop_a_flag(state):
    del state["trainer"]["opt"]["param_groups"][0]["amsgrad"]


def _order_past_the_data(state):
    state["batches"]["order"] = state["batches"]["order"] + 1000


SOUND_VARIANTS = {  # not what this version saves, but nothing a run cannot go on from
    "a flag an older torch did not save": _drop_a_flag,  # Adam fills it in
    "a batch order past the data": _order_past_the_data,  # a data folder that lost images: a new epoch begins
}


def _damaged_copy(good_run, tmp_path, change):
    import shutil

    import torch

    run = tmp_path / "run"
    shutil.copytree(good_run, run)
    state = torch.load(run / STATE_FILE, weights_only=True)
    changed = change(state)
    torch.save(changed.value if isinstance(changed, Instead) else state, run / STATE_FILE)
    return run


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A finished two-step run (a checkpoint and a training state at step 2), made once for the module."""
    run = tmp_path_factory.mktemp("good") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli_train, "install_stop_signals", lambda control: None)
        assert cli.main(["train", "--out", str(run), "--steps", "2", *TINY]) == 0
    return run


@pytest.mark.parametrize("damage", list(STATE_VARIANTS), ids=list(STATE_VARIANTS))
def test_a_malformed_training_state_is_refused_in_one_sentence_and_nothing_is_written(good_run, tmp_path, capsys,
                                                                                      monkeypatch, damage):
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    run = _damaged_copy(good_run, tmp_path, STATE_VARIANTS[damage])
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    code = cli.main(["train", "--out", str(run), "--steps", "4", "--resume", *TINY])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: The training state 'training_state.pt' "), err
    assert lines[0].endswith("; the run cannot be resumed from it."), err
    assert "unexpectedly" not in lines[0], err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before, "a refused resume changed the run's folder"


@pytest.mark.parametrize("change", list(SOUND_VARIANTS), ids=list(SOUND_VARIANTS))
def test_a_training_state_that_is_odd_but_sound_still_resumes(good_run, tmp_path, capsys, monkeypatch, change):
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    run = _damaged_copy(good_run, tmp_path, SOUND_VARIANTS[change])
    assert cli.main(["train", "--out", str(run), "--steps", "4", "--resume", *TINY]) == 0, capsys.readouterr().err
    assert load_checkpoint(run / MODEL_FILE).step == 4
