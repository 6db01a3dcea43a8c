"""The proof that a model family is a plug-in: tests/toy_family.py defines a fifth family in one file, registered
through the public API only, and with no edit under explorer/ or models/ it is listed in the model chooser, trained
through the command line and through the Train tab (a child process, which loads it as a plug-in), explored,
morphed and measured in Compare."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.cli.main import main
from explorer.family_views import view_of
from explorer.worker import inference_jobs
from models.checkpoint import load_checkpoint, save_checkpoint
from models.data import synthetic_faces
from models.family import PLUG_INS, build_model, family_names
from models.feature_net import DEFAULT_FEATURE_NET
from models.image_io import to_uint8
from tests.explorer.conftest import fill_tiny_run
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def toy(monkeypatch):
    """The toy family, registered here and named as a plug-in for the processes the app starts (imported here, not
    at the top: importing it registers it, and other tests must not see it)."""
    toy_family = importlib.import_module("tests.toy_family")
    toy_family.register()
    monkeypatch.setenv(PLUG_INS, "tests.toy_plug_in")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a child that trains shares two cores with the app
    yield toy_family.FAMILY
    toy_family.unregister()


def cli_train(out: Path, *extra: str) -> int:
    return main(["train", "--model", "toy", "--out", str(out), "--data-count", "32", "--image-size", "16",
                 "--steps", "6", "--batch-size", "8", "--sample-every", "3", "--checkpoint-every", "3",
                 "--device", "cpu", *extra])


def test_the_command_line_lists_trains_and_checks_the_new_family(toy, tmp_path, capsys):
    assert family_names()[-1] == "toy"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    helped = capsys.readouterr().out
    assert "toy" in helped and "--hidden" in helped  # its choice and its own flag
    assert cli_train(tmp_path / "run", "--hidden", "16", "--latent-dim", "4") == 0
    checkpoint = load_checkpoint(tmp_path / "run" / "model.safetensors")
    assert checkpoint.family == "toy" and checkpoint.step == 6
    assert checkpoint.model.config.hidden == 16 and checkpoint.model.latent_shape == (4,)
    assert (tmp_path / "run" / "samples" / "step_000006.png").exists()
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:  # its flag is its own
        main(["train", "--model", "vae", "--out", str(tmp_path / "vae"), "--hidden", "16"])
    assert refused.value.code == 2 and "--hidden" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # and its range is its config's
        cli_train(tmp_path / "wide", "--hidden", "9999")
    assert "hidden" in capsys.readouterr().err


@pytest.fixture()
def toy_checkpoint(toy, tmp_path) -> str:
    torch.manual_seed(0)
    model = build_model("toy", {"image_size": 16, "latent_dim": 4, "hidden": 16})
    data = synthetic_faces(16, 16, 0).describe()
    return str(save_checkpoint(tmp_path / "toy.safetensors", model, dataset=data, step=5))


@pytest.fixture()
def toy_window(toy_checkpoint, tiny_checkpoints, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow

    monkeypatch.setenv("LATENT_EXPLORER_MODELS", os.pathsep.join([*tiny_checkpoints.values(), toy_checkpoint]))
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", 200)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 64)
    win = MainWindow("cpu", settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.startup_done, timeout=60_000):
        win.load_startup_models()
    yield win
    win.close()


def test_the_window_shows_explores_and_morphs_the_new_family(toy_window, toy_checkpoint, qtbot):
    win = toy_window
    key = str(Path(toy_checkpoint).resolve())
    qtbot.waitUntil(lambda: key in win.context.models, timeout=60_000)
    shown = [win.model_box.itemText(i) for i in range(win.model_box.count()) if win.model_box.itemData(i)]
    assert any(text.startswith("Toy · 16 px · step 5") for text in shown), shown  # the chooser lists it
    assert win.context.models[key].family_name == "Toy"

    win.context.set_current(key)  # Explore: its sliders are found, and a slider draws its face
    qtbot.waitUntil(lambda: key in win.context.analyses, timeout=120_000)
    settle(qtbot, win)
    panel = win.explore
    assert panel.explain.body.text().startswith("<b>A toy autoencoder</b>")  # the default view's words
    assert not panel.psi.isVisible() and not panel.steps.isVisible()  # neither truncation nor steps apply
    slider = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    drawn = panel.render_count
    slider.setValue(1.5)
    qtbot.waitUntil(lambda: panel.render_count > drawn, timeout=30_000)
    settle(qtbot, win)
    model = load_checkpoint(toy_checkpoint).model
    with torch.no_grad():
        expected = to_uint8(model.decode(torch.from_numpy(panel.state.latent())[None])[0])
    assert np.array_equal(panel.image.image(), expected)

    win.select_tab("interpolate")  # Interpolate: a morph of every family, the toy's among them
    morph = win.interpolate
    morph.all_three.setChecked(True)  # every loaded model, whatever their number
    qtbot.waitUntil(lambda: len(morph.strips) == 4, timeout=120_000)
    assert len(morph.strips) == 4 and morph.strips[key].shape == (morph.frames.value(), 16, 16, 3)
    assert "Toy" in morph.preview.captions()


def test_the_train_tab_trains_the_new_family_in_a_child_process(toy_window, qtbot, tmp_path):
    win = toy_window
    panel = win.train
    win.select_tab("train")
    assert "toy" in [panel.form.family.itemData(i) for i in range(panel.form.family.count())]
    fill_tiny_run(panel.form, tmp_path / "run", "toy")
    assert panel.form.option_field("hidden") is not None  # its own settings, from its Options
    with qtbot.waitSignal(panel.run_ended, timeout=180_000) as ended:
        assert panel.start()
    how, ok = ended.args
    assert ok and "finished at step 6" in how, how
    assert panel.plots.point_count("reconstruction") >= 2  # its losses, drawn with the default view's plot
    assert panel.samples.has_image()
    assert load_checkpoint(tmp_path / "run" / "model.safetensors").family == "toy"


@pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")
def test_compare_measures_the_new_family_beside_the_others(toy_window, toy_checkpoint, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "cache"))
    win = toy_window
    panel = win.compare
    win.tabs.setCurrentWidget(panel)
    panel.samples.setItemData(0, 20)  # few samples: the tiny models are measured in seconds
    panel.samples.setCurrentIndex(0)
    panel.measure(recompute=True)
    qtbot.waitUntil(lambda: not panel.measuring, timeout=240_000)
    assert "toy" in panel.figures, panel.errors
    assert panel.bars.charts["precision"].values["toy"] == pytest.approx(panel.figures["toy"]["precision"])
    assert "the Toy model" in panel.reading.text()
    assert view_of("toy").colour not in {view_of(f).colour for f in ("vae", "gan", "diffusion")}
