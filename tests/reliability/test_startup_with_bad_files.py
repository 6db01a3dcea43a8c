"""A runs folder holding every kind of bad file beside good runs: the app starts, opens the good models, and says in
the status bar (no dialog) how many files it skipped and why the first one is not a usable checkpoint.

The bad files: each of hostile_files.py's damaged headers, things that are not regular files (a FIFO that would block
open() for ever, a socket, a folder, links to a device and to the FIFO, a dangling link, a link loop), settings out
of range (the issue's 2,000,000-number latent and 400,000,000 time steps), large settings with a small model's
weights, a pickle and a foreign safetensors file. A saved analysis beside them is ours and is not counted.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_safetensors

from explorer.worker import inference_jobs, model_catalog
from explorer.worker.model_catalog import (
    MODELS_ENV,
    MOST_SKIPPED_SHOWN,
    CatalogEntry,
    Skipped,
    scan,
    scan_catalog,
    skipped_note,
    skipped_reasons,
)
from explorer.worker.requests import Catalogued, ScanCatalog
from models.checkpoint import read_metadata
from models.safetensors_file import resolved_path
from models.shipped import resources_dir
from tests.reliability.hostile_files import checkpoint_with, file_cases, make_non_regular, read_in_time, write_cases

ROOT = Path(__file__).resolve().parents[2]


def fill_runs(runs: Path, tiny_checkpoints: dict[str, str]) -> list[str]:
    """Good runs (one per family, RUNS/FAMILY/model.safetensors) and every bad file; the bad files' names."""
    for family, path in tiny_checkpoints.items():
        (runs / family).mkdir(parents=True)
        shutil.copy(path, runs / family / "model.safetensors")
    good = runs / "vae" / "model.safetensors"
    bad = [path.name for path in write_cases(runs, file_cases(good))]
    bad += list(make_non_regular(runs))
    meta = read_metadata(good)
    dmeta = read_metadata(runs / "diffusion" / "model.safetensors")
    diffusion = runs / "diffusion" / "model.safetensors"
    settings = {"latent-2e6.safetensors": (good, meta, {"latent_dim": 2_000_000}),
                "latent-0.safetensors": (good, meta, {"latent_dim": 0}),
                "beta-nan.safetensors": (good, meta, {"beta": float("nan")}),
                "timesteps-4e8.safetensors": (diffusion, dmeta, {"timesteps": 400_000_000}),
                "large-in-range.safetensors": (good, meta, {"latent_dim": 1024, "base_channels": 512})}
    for name, (source, old, change) in settings.items():
        (runs / name).write_bytes(checkpoint_with(source, {**old, "config": {**old["config"], **change}}))
    (runs / "broken").mkdir()
    (runs / "broken" / "model.safetensors").write_bytes(b"\x80\x04" + b"\x00" * 60)  # a pickle's first bytes
    (runs / "foreign.safetensors").write_bytes(save_safetensors({"w": torch.zeros(3)}))
    torch.save({"w": torch.zeros(2)}, runs / "torch-save.safetensors")
    bad += [*settings, "broken/model.safetensors", "foreign.safetensors", "torch-save.safetensors"]
    shutil.copy(resources_dir() / "gan.analysis.safetensors", runs / "gan.analysis.safetensors")  # ours: not counted
    return bad


@pytest.fixture()
def runs_home(tiny_checkpoints, tmp_path, monkeypatch) -> tuple[Path, list[str]]:
    """A home whose runs folder holds the tiny models and every bad file; no shipped models, no ./runs."""
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(model_catalog, "RESOURCES", tmp_path / "resources")
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", 200)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 64)
    runs = tmp_path / "home" / "LatentExplorer" / "runs"
    return runs, fill_runs(runs, tiny_checkpoints)


def test_the_catalogue_lists_the_good_runs_and_gives_a_reason_for_every_bad_file(runs_home):
    runs, bad = runs_home
    found: list = []
    error = read_in_time(lambda: found.extend(scan()), runs)
    assert error is None, error
    entries = [f for f in found if isinstance(f, CatalogEntry)]
    skipped = [f for f in found if isinstance(f, Skipped)]
    assert sorted(Path(e.path).parent.name for e in entries) == ["diffusion", "gan", "vae"]
    assert sorted(Path(s.path).relative_to(runs).as_posix() for s in skipped) == sorted(bad)
    for s in skipped:
        assert "\n" not in s.reason and Path(s.path).name in s.reason and s.place == str(runs), s
    assert skipped_note(skipped) == f"Skipped {len(bad)} unusable files (point here to see why)."
    where, *reasons = skipped_reasons(skipped)
    assert where == "Not usable checkpoints, in ~/LatentExplorer/runs:"
    assert len(reasons) == min(len(bad), MOST_SKIPPED_SHOWN) + (len(bad) > MOST_SKIPPED_SHOWN)
    assert reasons[-1] == f"… and {len(bad) - MOST_SKIPPED_SHOWN} more."
    for item, reason in zip(skipped, reasons[:-1], strict=False):  # each named as found in the runs folder
        named = f"'{Path(item.path).relative_to(runs).as_posix()}'" in reason or f"'{item.path}'" in reason
        assert named and reason.isprintable(), reason


def test_the_worker_job_hands_the_skipped_files_to_the_window(runs_home):
    runs, bad = runs_home
    results: list = []
    error = read_in_time(lambda: results.extend(scan_catalog(None, ScanCatalog(()), None)), runs)
    assert error is None, error
    assert isinstance(results[-1], Catalogued)
    assert len(results[-1].entries) == 3 and len(results[-1].skipped) == len(bad)


def test_the_app_starts_opens_the_good_models_and_notes_the_skipped_files(runs_home, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from explorer.main_window import MainWindow

    runs, bad = runs_home
    dialogs: list = []
    for kind in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, lambda *args, kind=kind: dialogs.append((kind, args)))
    win = MainWindow("cpu", settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.startup_done, timeout=120_000):
        win.load_startup_models()
    try:
        assert sorted(info.family for info in win.context.models.values()) == ["diffusion", "gan", "vae"]
        assert len(win.model_box.paths()) == 3  # only the good runs are offered
        note = win.statusBar().currentMessage()
        assert note.startswith(f"Skipped {len(bad)} unusable files ")
        assert note == skipped_note(win.model_box.skipped)
        tip = win.statusBar().toolTip()  # the reasons, as text: file names are never read as markup
        assert all(html.escape(line, quote=False) in tip for line in skipped_reasons(win.model_box.skipped)), tip
        win.statusBar().showMessage("Something else.")
        assert win.statusBar().toolTip() == "", "the reasons go with the note"
        assert dialogs == [], "a note in the status bar, not a dialog"
    finally:
        win.close()


# Runs main.py and reports, on its last line of stderr, the largest memory it held (KB): the wrapper's only child.
PEAK_MEMORY = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def test_python_main_py_starts_with_a_runs_folder_of_bad_files(tiny_checkpoints, tmp_path, _private_cache):
    """The real start: `python main.py --screenshot` on a folder of runs and bad files (and nothing shipped), as
    LATENT_EXPLORER_MODELS names it. The bad files come first in it: an app that took them for models would try
    one of each family (400,000,000 time steps: 12 GB) before the good ones."""
    runs = tmp_path / "runs"
    fill_runs(runs, tiny_checkpoints)
    out = tmp_path / "window.png"
    env = {**os.environ, MODELS_ENV: str(runs), "HOME": str(tmp_path / "home"),
           "LATENT_EXPLORER_CACHE": str(_private_cache), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, sys.executable, str(ROOT / "main.py"),
                             "--screenshot", str(out)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    for words in ("Traceback", "QThread: Destroyed", "error:"):
        assert words not in result.stderr, result.stderr[-3000:]
    assert out.stat().st_size > 0
    peak_mb = int(result.stderr.strip().splitlines()[-1]) / 1024
    assert peak_mb < 2048, f"the app held {peak_mb:.0f} MB"


def test_file_open_on_each_bad_file_says_why_and_the_worker_goes_on(window, qtbot, tmp_path, monkeypatch,
                                                                   tiny_checkpoints):
    """File → Open checkpoint… on each bad file (the FIFO first: opened, it would block the worker, and closing the
    window would then abort), then `python main.py LINK-LOOP` as app.py opens files named on the command line: one
    message each, and the models already open stay."""
    from PySide6.QtWidgets import QMessageBox

    from explorer import app

    runs = tmp_path / "runs"
    paths = {name: runs / name for name in fill_runs(runs, tiny_checkpoints)}
    order = ["fifo.safetensors", "fifo-link.safetensors", "socket.safetensors"]
    order += [name for name in paths if name not in order]
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    before = dict(window.context.models)
    for count, name in enumerate(order, start=1):
        window.open_checkpoint(str(paths[name]))
        qtbot.waitUntil(lambda count=count: len(shown) >= count, timeout=20_000)
        text = shown[-1]
        target = resolved_path(paths[name]).name  # the worker opens what a link leads to, and names it
        assert "\n" not in text and (f"'{Path(name).name}'" in text or f"{target}'" in text), text
    app._open(window, [str(paths["loop.safetensors"])])  # a name no file can be opened by: said before any loading
    note = window.statusBar().currentMessage()
    assert "loop.safetensors" in note and "loop" in note.replace("loop.safetensors", "") and "\n" not in note, note
    assert len(shown) == len(order), "a note in the status bar, not a dialog"
    assert window.context.models == before
    assert window.recent.paths() == [], "a file that did not load joins no recent list"
