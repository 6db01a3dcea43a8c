"""The model chooser and File → Open recent: shipped models, the person's runs and recent files, after a restart
too; reading them never on the GUI thread; a dropped picture opens the file it names only once the person agrees."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from explorer.panels.explore.latent_state import LatentState
from explorer.pictures.png_state import export_png
from explorer.widgets.model_chooser import chooser_rows
from explorer.worker import inference_jobs, model_catalog
from explorer.worker.model_catalog import MODELS_ENV, RUN, SHIPPED, CatalogEntry
from models import safetensors_file
from models.checkpoint import save_checkpoint
from models.family import build_model
from tests.explorer.conftest import CONFIGS
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def save(path: Path, family: str, step: int, year: int = 2025) -> str:
    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = build_model(family, CONFIGS[family]())
    return str(save_checkpoint(path, model, step=step, extra={"created": f"{year}-06-01T12:00:00+00:00"}).resolve())


def rows(win) -> list[tuple[str, bool]]:
    """(text, can be chosen) of every line of the chooser, its columns joined with " · "."""
    model = win.model_box.model()
    return [(" · ".join(model.item(i, c).text() for c in range(2) if model.item(i, c) and model.item(i, c).text()),
             bool(model.item(i).flags() & Qt.ItemFlag.ItemIsSelectable)) for i in range(model.rowCount())]


@pytest.fixture()
def home(tiny_checkpoints, tmp_path, monkeypatch):
    """A person's disk: tiny "shipped" models, two VAE runs, a damaged file and a FIFO among them, a recent file."""
    monkeypatch.delenv(MODELS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    resources = tmp_path / "resources"
    resources.mkdir()
    for family, path in tiny_checkpoints.items():
        shutil.copy(path, resources / f"{family}.safetensors")
    monkeypatch.setattr(model_catalog, "RESOURCES", resources)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", 200)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 64)
    runs = tmp_path / "home" / "LatentExplorer" / "runs"
    paths = {"old": save(runs / "vae-a" / "model.safetensors", "vae", 100, year=2024),
             "new": save(runs / "vae-b" / "model.safetensors", "vae", 50),
             "recent": save(tmp_path / "elsewhere" / "mine.safetensors", "gan", 3)}
    (runs / "broken").mkdir()
    (runs / "broken" / "model.safetensors").write_bytes(b"\x00" * 40)
    (runs / "fifo").mkdir()
    os.mkfifo(runs / "fifo" / "model.safetensors")
    reads: list[bool] = []  # for each safetensors file opened (a checkpoint's header, its weights): on the GUI thread?
    real = safetensors_file.open_regular

    def open_regular(path, what):
        reads.append(threading.current_thread() is threading.main_thread())
        return real(path, what)

    monkeypatch.setattr(safetensors_file, "open_regular", open_regular)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("recent_checkpoints", [paths["recent"]])
    return paths, settings, reads


@pytest.fixture()
def restarted(home, qtbot):
    from explorer.main_window import MainWindow

    paths, settings, reads = home
    win = MainWindow("cpu", settings=settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.startup_done, timeout=60_000):
        win.load_startup_models()
        assert win.starting_up  # the look for models is out (what bench waits for)
    assert not win.starting_up
    yield win, paths, reads
    win.close()


def test_after_a_restart_the_chooser_lists_shipped_models_runs_newest_first_then_recent_files(restarted):
    win, paths, reads = restarted
    assert reads and not any(reads), "a checkpoint was read on the GUI thread"
    run_date = model_catalog.read_entry(Path(paths["new"]), "run").date
    old_date = model_catalog.read_entry(Path(paths["old"]), "run").date
    assert rows(win) == [("Shipped with the app", False), ("VAE · 16 px · step 7", True),
                         ("GAN · 16 px · step 7", True), ("Diffusion · 8 px · step 7", True),
                         ("Your runs", False), (f"VAE · 16 px · step 50 · {run_date}", True),
                         (f"VAE · 16 px · step 100 · {old_date}", True),
                         ("Recent files", False), ("GAN · 16 px · step 3 · elsewhere/mine.safetensors", True)]
    assert "Jun 2025" in run_date and "Jun 2024" in old_date
    assert len(win.context.models) == 3  # one per family at start, as before: the shipped ones


def test_a_fourth_family_is_listed_under_its_title_after_the_three(fourth_family):
    """A family the app has never heard of (registered by the test) is offered like the others, in its place."""
    def entry(family, kind=SHIPPED, step=7):
        return CatalogEntry(f"/m/{family}-{kind}.safetensors", kind, family, 16, step, created=1.0)

    entries = [entry("fourth"), entry("diffusion"), entry("gan"), entry("vae"), entry("fourth", RUN, 30)]
    listed = chooser_rows(entries, {}, [])
    assert [(r.group, r.text) for r in listed] == [
        (SHIPPED, "VAE · 16 px · step 7"), (SHIPPED, "GAN · 16 px · step 7"), (SHIPPED, "Diffusion · 16 px · step 7"),
        (SHIPPED, "Fourth · 16 px · step 7"), (RUN, "Fourth · 16 px · step 30")]


def test_choosing_a_run_that_is_not_loaded_loads_it_and_shows_it(restarted, qtbot):
    win, paths, _ = restarted
    index = win.model_box.findData(paths["new"])
    assert paths["new"] not in win.context.models
    win.model_box.setCurrentIndex(index)  # what a person's pick does
    qtbot.waitUntil(lambda: win.context.current == paths["new"], timeout=30_000)
    assert win.model_box.currentIndex() == win.model_box.findData(paths["new"])
    assert win.model_box.currentText() == win.model_label.text() == "VAE · 16 px · step 50"
    win.next_model()  # Ctrl+M walks the loaded models only, in the chooser's order
    assert win.context.current == str(Path(model_catalog.RESOURCES / "vae.safetensors").resolve())


def test_open_recent_lists_only_files_that_loaded_and_reopens_them(window, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    good = save(tmp_path / "mine.safetensors", "vae", 99)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 100)
    window.open_checkpoint(str(bad))
    window.open_checkpoint(good)
    assert window.recent.paths() == []  # nothing joins before it has loaded
    qtbot.waitUntil(lambda: window.context.current == good, timeout=30_000)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert window.recent.paths() == [good]
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if a.text().startswith("mine.safetensors")]
    assert len(actions) == 1 and not any("broken" in a.text() for a in window.recent_menu.actions())
    assert window.model_box.findData(good) >= 0  # and the chooser lists it
    window.next_model()
    assert window.context.current != good
    actions[0].trigger()
    qtbot.waitUntil(lambda: window.context.current == good, timeout=30_000)


def test_a_dropped_picture_opens_the_checkpoint_it_names_only_after_saying_which(window, qtbot, tmp_path, monkeypatch):
    other = save(tmp_path / "other" / "model.safetensors", "vae", 99)
    shape = tuple(build_model("vae", CONFIGS["vae"]()).latent_shape)
    state = {"tab": "explore", "model": {"path": other, "family": "vae", "label": "VAE · 16 px · step 99"},
             "psi": 1.0, "steps": 20, **LatentState.from_seed(shape, 3).to_dict()}
    picture = export_png(tmp_path / "face.png", np.zeros((16, 16, 3), np.uint8), state)
    asked, answer = [], [QMessageBox.StandardButton.Cancel]

    def question(parent, title, text, buttons, default):
        asked.append(text)
        assert buttons & QMessageBox.StandardButton.Open and buttons & QMessageBox.StandardButton.Cancel
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    before = dict(window.context.models)
    window.open_path(str(picture))
    assert len(asked) == 1 and other in asked[0] and asked[0].startswith("Open the checkpoint")
    settle(qtbot, window)  # anything Cancel set going has run and arrived
    assert window.context.models.keys() == before.keys() and window.recent.paths() == []  # Cancel opened nothing
    answer[0] = QMessageBox.StandardButton.Open
    window.open_path(str(picture))
    assert len(asked) == 2
    qtbot.waitUntil(lambda: window.context.current == other, timeout=30_000)
