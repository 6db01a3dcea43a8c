"""Two training runs into one folder: the second is refused with one line naming the first (its process id and
when it started), in the CLI, under torchrun and in the Train tab; a run killed with SIGKILL blocks no one after.

Before the lock, both runs "succeeded" and the folder ended with one run's checkpoint beside the other's state.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.checkpoint import read_metadata
from models.run_lock import LOCK_FILE, RunLock
from models.train import MODEL_FILE, STATE_FILE, train
from models.train_settings import TrainSettings
from tests.explorer.conftest import fill_tiny_run
from tests.reliability.forked_runs import ROOT, ForkedRun, child_env

TINY = ["--model", "vae", "--image-size", "16", "--channels", "8", "--latent-dim", "4", "--batch-size", "4",
        "--data-count", "32", "--sample-every", "0", "--log-every", "1"]
NEVER = "0"  # checkpoints only at the end: the first run writes nothing while the second tries
STARTED = re.compile(r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # children inherit it: busy cores make threads slow


class Holder:
    """Another process holding the lock on a folder, as a running `train` does, until it is killed."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        code = ("import sys; from models.run_lock import RunLock; RunLock.acquire(sys.argv[1]); print('locked', "
                "flush=True); sys.stdin.read()")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"
        self.pid = self.proc.pid

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def holder():
    holders: list[Holder] = []
    yield lambda folder: holders.append(Holder(folder)) or holders[-1]
    for h in holders:
        if h.proc.poll() is None:
            h.kill()


def refusal(log: str, pid: int) -> str:
    """The one line for people in a run's output (the rest are its JSON events)."""
    lines = [line for line in log.splitlines() if not line.startswith("{")]
    assert len(lines) == 1 and "Traceback" not in log, log
    line = lines[0]
    assert line.startswith("error: ") and "in use by another training run" in line, line
    assert f"process {pid}," in line and STARTED.search(line), line
    return line


@pytest.mark.parametrize("resume", [False, True], ids=["two-new-runs", "two-resumes"])
def test_a_second_run_into_a_busy_folder_is_refused_and_the_first_keeps_its_folder(tmp_path, fork_server, resume):
    run = tmp_path / "run"
    if resume:  # a run of 2 steps to resume, twice at once
        list(train(TrainSettings("vae", str(run), steps=2, batch_size=4, image_size=16, channels=8, data_count=32,
                                 sample_every=0, model_options={"latent_dim": 4})))
    again = ["--resume"] if resume else []
    first = ForkedRun(fork_server, ["train", "--out", str(run), "--steps", "1000000", "--checkpoint-every", NEVER,
                                    "--events", *TINY, *again], tmp_path / "first.txt")
    try:
        first.until("step")  # the first run trains: it holds the folder
        before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
        second = ForkedRun(fork_server, ["train", "--out", str(run), "--steps", "4", "--events", *TINY, *again],
                           tmp_path / "second.txt")
        assert second.until("done")["reason"] == "error"
        refusal(second.log.read_text(), first.pid)
        assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before, "the refused run wrote into the folder"
        assert first.alive()
    finally:
        first.kill()  # SIGKILL: the kernel lets go of its lock, and its lock file stays behind
    assert (run / LOCK_FILE).exists()
    third = ForkedRun(fork_server, ["train", "--out", str(run), "--steps", "4", "--events", *TINY, *again],
                      tmp_path / "third.txt")
    assert third.until("done", timeout=120)["reason"] == "finished", third.log.read_text()  # no stale lock
    assert read_metadata(run / MODEL_FILE)["step"] == 4
    deadline = time.monotonic() + 30
    while third.alive() and time.monotonic() < deadline:  # "done" is the last event, not yet the process's end
        time.sleep(0.01)
    assert sorted(p.name for p in run.iterdir()) == [MODEL_FILE, STATE_FILE], "the lock file outlived its run"


def test_the_lock_names_its_holder_and_goes_with_it_when_it_is_killed(tmp_path, holder):
    from models.run_lock import FolderInUse

    other = holder(tmp_path)
    with pytest.raises(FolderInUse) as refused:
        RunLock.acquire(tmp_path)
    assert f"process {other.pid}," in str(refused.value) and STARTED.search(str(refused.value))
    other.kill()
    lock = RunLock.acquire(tmp_path)  # at once: no waiting for a stale lock to time out
    lock.release()
    assert not (tmp_path / LOCK_FILE).exists()


def test_torchrun_into_a_busy_folder_is_refused_by_every_process(tmp_path, holder):
    """Only rank 0 takes the lock; the other ranks learn its answer and end too, instead of waiting for it."""
    run = tmp_path / "run"
    other = holder(run)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(ROOT / "main.py"),
           "train", "--out", str(run), "--steps", "3", "--device", "cpu", *TINY]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=500, cwd=ROOT, env=child_env(), check=False)
    assert result.returncode != 0
    assert any(f"process {other.pid}," in line and "in use by another training run" in line
               for line in result.stderr.splitlines()), result.stderr[-3000:]
    assert not (run / MODEL_FILE).exists() and not (run / STATE_FILE).exists()


def test_the_train_tab_shows_who_holds_the_folder(qtbot, tmp_path, holder):
    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel
    from explorer.worker.inference_worker import InferenceWorker

    run = tmp_path / "run"
    other = holder(run)
    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    fill_tiny_run(panel.form, run, steps=4, sample_every=0, checkpoint_every=2, batch=4)
    with qtbot.waitSignal(panel.run_ended, timeout=240_000) as ended:
        assert panel.start()
    how, ok = ended.args
    assert not ok and "in use by another training run" in how and f"process {other.pid}," in how, how
    assert STARTED.search(panel.message.text()) and f"process {other.pid}," in panel.message.text()
    assert not (run / MODEL_FILE).exists()


def test_a_folder_that_cannot_be_locked_trains_with_a_warning(tmp_path, monkeypatch):
    """Some network and FUSE file systems have no locks: the run is not refused for that, and says so."""
    import errno
    import fcntl

    from models.train_events import DoneEvent, WarningEvent

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    events = list(train(TrainSettings("vae", str(tmp_path / "run"), steps=1, batch_size=4, image_size=16, channels=8,
                                      data_count=32, sample_every=0, model_options={"latent_dim": 4})))
    warnings = [e.message for e in events if isinstance(e, WarningEvent)]
    assert len(warnings) == 1 and "cannot be locked" in warnings[0] and "no other training run" in warnings[0]
    assert events[-1] == DoneEvent(1, "finished")
