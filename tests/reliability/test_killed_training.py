"""`python main.py train` killed with SIGKILL at ten random moments: after every kill the last checkpoint loads,
and `--resume` goes on from the step that checkpoint holds. With a checkpoint at every step, many kills land
in the middle of a save.

The killed runs are forks of an interpreter that has already imported torch (see fork_server.py), so that ten
kills take seconds, not a minute; the run that finishes the job at the end is a plain `python main.py train`.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from models.checkpoint import load_checkpoint, load_training_state, read_metadata
from models.train import MODEL_FILE, STATE_FILE, train
from models.train_events import CheckpointEvent, StartEvent
from models.train_settings import TrainSettings
from tests.reliability.forked_runs import ROOT, ForkedRun, child_env

KILLS = 10
TINY = ["--model", "vae", "--image-size", "16", "--channels", "8", "--latent-dim", "4", "--batch-size", "4",
        "--data-count", "32", "--checkpoint-every", "1", "--sample-every", "0", "--log-every", "1", "--events"]


def train_args(run: Path, steps: int, resume: bool) -> list[str]:
    return ["train", "--out", str(run), "--steps", str(steps), *TINY] + (["--resume"] if resume else [])


def test_every_kill_leaves_a_checkpoint_that_loads_and_resumes_at_its_step(tmp_path, fork_server):
    run = tmp_path / "run"
    rng = random.Random(6)
    expected = None  # the step the next run must start from (None: no run saved yet, start afresh)
    for kill in range(KILLS):
        child = ForkedRun(fork_server, train_args(run, 1_000_000, resume=expected is not None),
                          tmp_path / f"log{kill}.txt")
        try:
            start = child.until("start")
            assert start["resumed"] == (expected is not None)
            assert start["step"] == (expected or 0), f"kill {kill}: resumed at {start['step']}, not {expected}"
            time.sleep(rng.uniform(0.0, 0.5))  # a random moment of training: a step, or a save
        finally:
            child.kill()
        if not (run / STATE_FILE).exists():
            assert kill == 0 and not (run / MODEL_FILE).exists(), "a checkpoint without its training state"
            continue
        state_step = int(load_training_state(run / STATE_FILE)["step"])
        checkpoint = load_checkpoint(run / MODEL_FILE)  # raises if the kill left it damaged
        assert checkpoint.family == "vae" and state_step >= (expected or 0), "a kill undid saved work"
        # the state is written first, so a kill between the two writes leaves the checkpoint one save behind;
        # resuming then brings it up to date first (the next test)
        assert checkpoint.step in (state_step, state_step - 1), (checkpoint.step, state_step)
        expected = state_step
    assert expected, "no kill came after the first checkpoint"

    final = subprocess.run([sys.executable, str(ROOT / "main.py"), *train_args(run, expected + 2, resume=True)],
                           capture_output=True, text=True, timeout=120, cwd=ROOT, env=child_env(), check=False)
    assert final.returncode == 0, final.stderr
    events = [json.loads(line) for line in final.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[0]["resumed"] and events[0]["step"] == expected
    assert [e["step"] for e in events if e["event"] == "step"] == [expected + 1, expected + 2]
    assert events[-1] == {"event": "done", "step": expected + 2, "reason": "finished"}
    assert read_metadata(run / MODEL_FILE)["step"] == expected + 2
    leftovers = sorted(p.name for p in run.iterdir())
    assert leftovers == [MODEL_FILE, STATE_FILE], "half-written files of killed saves are left behind"


def test_a_checkpoint_left_behind_its_state_is_brought_up_to_date_on_resume(tmp_path):
    """A kill between the two writes of a save: the state holds step 2, the checkpoint step 1."""
    settings = TrainSettings("vae", str(tmp_path), steps=1, batch_size=4, image_size=16, channels=8, data_count=32,
                             sample_every=0, checkpoint_every=1, model_options={"latent_dim": 4})
    list(train(settings))
    older = (tmp_path / MODEL_FILE).read_bytes()
    list(train(replace(settings, steps=2, resume=True)))
    (tmp_path / MODEL_FILE).write_bytes(older)
    (tmp_path / f".{MODEL_FILE}.x1y2.tmp").write_bytes(older[:100])  # what a killed save leaves
    (tmp_path / f".{STATE_FILE}.x1y2.tmp").write_bytes(b"half")
    events = list(train(replace(settings, steps=3, resume=True)))
    assert isinstance(events[0], StartEvent) and events[0].step == 2
    assert isinstance(events[1], CheckpointEvent) and events[1].step == 2, "the checkpoint is brought up first"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODEL_FILE, STATE_FILE]
    assert load_checkpoint(tmp_path / MODEL_FILE).step == 3
