"""What the chooser lists and what opens at start: shipped models, the person's runs, recent files; names on the
command line. Metadata decides (family, size, step, date); anything that is not a regular checkpoint of ours is
left out quietly."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import torch

from explorer.worker import model_catalog
from explorer.worker.model_catalog import (
    MODELS_ENV,
    RECENT,
    RUN,
    SHIPPED,
    catalog,
    resolve_checkpoint,
    scan_catalog,
    shipped_models,
    startup_choice,
)
from explorer.worker.requests import Catalogued, ScanCatalog, Step
from models.checkpoint import CheckpointError, save_checkpoint
from models.family import build_model
from tests.explorer.conftest import CONFIGS


def save(path: Path, family: str, step: int, year: int = 2025) -> str:
    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = build_model(family, CONFIGS[family]())
    return str(save_checkpoint(path, model, step=step, extra={"created": f"{year}-06-01T12:00:00+00:00"}).resolve())


@pytest.fixture()
def disk(tmp_path, monkeypatch):
    """A home with runs, a ./runs, and a resources folder with one shipped model (the GAN)."""
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(model_catalog, "RESOURCES", tmp_path / "resources")
    runs = tmp_path / "home" / "LatentExplorer" / "runs"
    paths = {"shipped": save(tmp_path / "resources" / "gan.safetensors", "gan", 900),
             "old": save(runs / "vae-old" / "model.safetensors", "vae", 100, year=2024),
             "new": save(runs / "vae-new" / "model.safetensors", "vae", 50),
             "local": save(tmp_path / "runs" / "diffusion-1" / "model.safetensors", "diffusion", 7),
             "gan_run": save(runs / "gan-1" / "model.safetensors", "gan", 5),
             "recent": save(tmp_path / "elsewhere" / "mine.safetensors", "vae", 3)}
    os.utime(paths["new"], (1, 1))  # file times do not matter when the metadata has a date
    (runs / "broken").mkdir()
    (runs / "broken" / "model.safetensors").write_bytes(b"\x00" * 40)  # damaged
    (runs / "foreign").mkdir()
    (runs / "foreign" / "model.safetensors").write_bytes(Path(paths["old"]).read_bytes()[:8] + b"{}")  # not ours
    (runs / "folder.safetensors").mkdir()  # a folder with a checkpoint's name
    (runs / "fifo").mkdir()
    os.mkfifo(runs / "fifo" / "model.safetensors")  # opening it would block for ever
    return paths


def test_shipped_then_runs_newest_first_then_recent_files_with_their_metadata(disk):
    done: list = []
    scan = threading.Thread(target=lambda: done.append(catalog([disk["recent"], disk["old"]])), daemon=True)
    scan.start()
    scan.join(60)
    assert done, "looking for models hung (a FIFO named like a checkpoint was opened)"
    entries = done[0]
    assert [(e.kind, e.path) for e in entries if e.kind == SHIPPED] == [(SHIPPED, disk["shipped"])]
    runs = sorted((e for e in entries if e.kind == RUN), key=lambda e: e.created, reverse=True)
    assert {e.path for e in runs} == {disk["old"], disk["new"], disk["local"], disk["gan_run"]}
    assert [e.kind for e in entries if e.path == disk["recent"]] == [RECENT]
    assert len(entries) == 6  # a recent file that is also a run is listed once; nothing broken is listed
    new = next(e for e in entries if e.path == disk["new"])
    assert (new.family, new.image_size, new.step) == ("vae", 16, 50)
    assert new.label == "VAE · 16 px · step 50" and new.date  # e.g. "03 Jun 2025 14:05"
    assert "Jun 2025" in new.date  # the metadata's date, not the file's


def test_start_up_opens_a_shipped_model_per_family_else_the_newest_run(disk):
    assert startup_choice(catalog()) == [disk["new"], disk["shipped"], disk["local"]]  # the GAN run is not shipped


def test_a_fourth_family_is_listed_and_opened_after_the_three(disk, fourth_checkpoint, tmp_path):
    """A family registered by the test stands where its order puts it: after the built-in three."""
    fourth = tmp_path / "resources" / "fourth.safetensors"
    fourth.write_bytes(Path(fourth_checkpoint).read_bytes())
    assert list(shipped_models()) == ["gan", "fourth"]
    entry = next(e for e in catalog() if e.path == str(fourth.resolve()))
    assert entry.family == "fourth" and entry.label == "Fourth · 16 px · step 7"
    assert startup_choice(catalog()) == [disk["new"], disk["shipped"], disk["local"], str(fourth.resolve())]


def test_the_worker_job_steps_through_the_files_and_returns_the_entries(disk):
    request = ScanCatalog((disk["recent"],))
    results = list(scan_catalog(None, request, None))
    assert all(isinstance(r, Step) for r in results[:-1]) and len(results) > 6  # one step a file looked at
    assert isinstance(results[-1], Catalogued) and len(results[-1].entries) == 6


def test_a_shipped_model_can_be_named_and_an_unknown_name_lists_them(disk, tmp_path):
    assert resolve_checkpoint("gan") == Path(disk["shipped"])
    assert resolve_checkpoint(disk["old"]) == Path(disk["old"])  # a file is a file
    (tmp_path / "gan").write_bytes(b"x")
    assert resolve_checkpoint("gan") == Path("gan")  # a file of that name comes first
    assert resolve_checkpoint("runs/nothing.safetensors") == Path("runs/nothing.safetensors")  # the loader says why
    with pytest.raises(CheckpointError, match=r"no checkpoint 'vea'.*shipped model \(gan\)"):
        resolve_checkpoint("vea")
