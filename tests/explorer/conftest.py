"""Tiny checkpoints of every family (random weights, real architectures) and an isolated app set-up."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

from explorer.worker import inference_jobs
from models.checkpoint import save_checkpoint
from models.data import synthetic_faces
from models.family import build_model, get_family, register_family, unregister_family
from models.vae import VAE
from tests.models.tiny import tiny_diffusion, tiny_gan, tiny_latent_diffusion, tiny_vae

# The diffusion model is smaller than the others on purpose, as the shipped one is (32 px against 64):
# panels that show the families side by side must cope with different sizes.
CONFIGS = {"vae": tiny_vae, "gan": tiny_gan,
           "diffusion": lambda: tiny_diffusion(image_size=8, attention_resolutions=(4,))}


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("checkpoints")
    data = synthetic_faces(16, 16, 0).describe()
    paths = {}
    for family, config in CONFIGS.items():
        torch.manual_seed(0)
        model = build_model(family, config())
        paths[family] = str(save_checkpoint(folder / f"{family}.safetensors", model, dataset=data, step=7))
    return paths


@pytest.fixture(scope="session")
def latent_checkpoint(tmp_path_factory) -> str:
    """A tiny latent diffusion checkpoint (random weights, the real architecture, 16 px faces, a 2 x 4 x 4 latent,
    its scale factor measured as training measures it). Not among tiny_checkpoints, so tests that count the
    families see the first three; a test that wants it adds it to LATENT_EXPLORER_MODELS."""
    from models.latent_diffusion import LatentDiffusion

    torch.manual_seed(0)
    model: LatentDiffusion = build_model("latent-diffusion", tiny_latent_diffusion())
    faces = synthetic_faces(16, 16, 0)
    with torch.no_grad():
        model.scale_factor.fill_(float(1.0 / model.first_stage(faces.batch(range(16)))[0].std()))
    path = tmp_path_factory.mktemp("latent") / "latent-diffusion.safetensors"
    return str(save_checkpoint(path, model, dataset=faces.describe(), step=7))


class FourthModel(VAE):
    """A VAE under another family's name: a family the app has never heard of, for as long as a test registers it."""

    family = "fourth"


@pytest.fixture()
def fourth_family():
    """A fourth family, registered for one test with no view of its own (the app must show it with the default
    one): the VAE's description under a new name, title and place, after the built-in three."""
    family = dataclasses.replace(get_family("vae"), name=FourthModel.family, title="Fourth", noun="a fourth model",
                                 model_class=FourthModel, order=40)
    register_family(family)
    yield family
    unregister_family(family.name)


@pytest.fixture()
def fourth_checkpoint(fourth_family, tmp_path) -> str:
    """A tiny checkpoint of the fourth family."""
    torch.manual_seed(0)
    model = build_model(fourth_family.name, tiny_vae())
    data = synthetic_faces(16, 16, 0).describe()
    return str(save_checkpoint(tmp_path / "fourth.safetensors", model, dataset=data, step=7))


@pytest.fixture()
def app_env(tiny_checkpoints, tmp_path, monkeypatch):
    """The app sees only the tiny models; analyses use few faces; settings go to a temporary file."""
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", os.pathsep.join(tiny_checkpoints.values()))
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", 200)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 64)
    return tiny_checkpoints


@pytest.fixture()
def window(app_env, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow("cpu", settings=settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.startup_done, timeout=60_000):
        win.load_startup_models()
    yield win
    win.close()


@pytest.fixture()
def context(window):
    """The AppContext panels are built from (the worker and the models: the tiny ones, loaded, the VAE current).

    It is the window's: panels built on a context of their own, without a window, were tried and left out. At the
    end of a test Python deleting such a panel's pyqtgraph menus (QWidgetActions holding combo boxes) now and then
    hung the process inside Qt's connection lock, which the window, whose tabs live as long as it does, never does."""
    return window.context


@pytest.fixture()
def panel_of(window, qtbot):
    """One panel on the context, shown as the current tab (show=False leaves another tab current):
    `panel = panel_of(ExplorePanel)`."""
    panels = {type(p): p for p in (window.explore, window.interpolate, window.diffusion, window.train, window.compare)}

    def build(panel_class, show: bool = True):
        panel = panels[panel_class]
        if show:
            window.tabs.setCurrentWidget(panel)
            qtbot.waitExposed(panel)
        elif window.tabs.currentWidget() is panel:
            window.tabs.setCurrentWidget(next(p for p in panels.values() if p is not panel))
        return panel

    return build


def open_window(qtbot, tmp_path, monkeypatch, paths: list[str]):
    """The app's window on exactly these checkpoints (analyses on few faces, settings in a temporary file), shown,
    once every model has loaded: for tests that want models besides the tiny three (the VAE-GAN, latent diffusion)."""
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow

    monkeypatch.setenv("LATENT_EXPLORER_MODELS", os.pathsep.join(paths))
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", 200)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 64)
    window = MainWindow("cpu", settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.startup_done, timeout=60_000):
        window.load_startup_models()
    qtbot.waitUntil(lambda: len(window.context.models) == len(paths), timeout=60_000)
    return window


def key_of(context, family: str) -> str:
    """The loaded model of this family."""
    return next(k for k, m in context.models.items() if m.family == family)


def ready_model(qtbot, context, family: str = "vae") -> str:
    """Make the model of this family current, and wait until its sliders are prepared and the panels have drawn
    it (what ready_explore does with the window)."""
    from tests.qt_wait import settle

    key = key_of(context, family)
    context.set_current(key)
    qtbot.waitUntil(lambda: key in context.analyses, timeout=120_000)
    settle(qtbot, context)
    return key


def fill_tiny_run(form, out, family="vae", steps=6, sample_every=3, checkpoint_every=3, batch=8) -> None:
    """Set the Train tab's form for a tiny, fast CPU run (16 px, 32 faces, 8 channels) writing to `out`."""
    form.family.setCurrentIndex(form.family.findData(family))
    form.image_size.setCurrentIndex(form.image_size.findData(16))
    form.faces.setValue(32)
    form.batch.setValue(batch)
    form.channels.setValue(8)
    if form.option_field("latent_dim") is not None:  # a family with a latent vector of a size it is told
        form.option_field("latent_dim").setValue(8)
    form.sample_steps.setValue(3)
    form.steps.setValue(steps)
    form.sample_every.setValue(sample_every)
    form.checkpoint_every.setValue(checkpoint_every)
    form.device.setCurrentIndex(form.device.findData("cpu"))
    form.out.setText(str(out))
