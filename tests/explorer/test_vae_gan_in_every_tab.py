"""Issue 15's "in every tab", for the VAE-GAN: Explore (named, main-direction and raw sliders; a photo in, encoded
by it; its posterior draws and anomaly heat map), the latent map, Interpolate's all-models morph, the Diffusion tab
(which must not pick it) and Compare (its own colour and bars) — through the window, its panels and its worker.

The VAE-GAN here is a tiny one trained in a few seconds through `python main.py train`, not the shipped file: named
sliders need a model that has learned something (random weights predict no property, so they get none)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtWidgets import QLabel

from explorer.cli.main import main
from explorer.family_views import view_of
from explorer.panels.compare.panel import ComparePanel
from explorer.panels.diffusion.panel import DiffusionPanel
from explorer.panels.interpolate.panel import InterpolatePanel
from explorer.worker import inference_jobs, latent_map_jobs
from explorer.worker.compare_jobs import card_path
from explorer.worker.requests import Encoded
from models.cache import feature_net_digest, file_digest
from models.checkpoint import load_checkpoint
from models.data import HELD_OUT_SEED, load_image, synthetic_face
from models.feature_net import DEFAULT_FEATURE_NET
from models.image_io import to_uint8
from tests.explorer.conftest import key_of
from tests.qt_wait import settle

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")]
ANALYSIS_FACES = 200  # the held-out faces a brought-in face's rebuild error is ranked among


@pytest.fixture(scope="module")
def vae_gan_checkpoint(tmp_path_factory) -> str:
    """A 16 px VAE-GAN trained for 150 steps (about 3 s on one core). The settings are the smallest measured to give
    it named sliders: 8 channels, a high learning rate, no moving average (over 150 steps the average still lags
    near the random start) and no discriminator warm-up (the encoder and decoder must learn from step 1)."""
    out = tmp_path_factory.mktemp("vae-gan")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same numbers on every machine, and one core left to whatever else runs
    try:
        code = main(["train", "--model", "vae-gan", "--out", str(out), "--data-count", "256", "--image-size", "16",
                     "--steps", "150", "--batch-size", "16", "--channels", "8", "--lr", "0.003", "--ema", "0",
                     "--latent-dim", "4", "--discriminator-warmup", "0", "--sample-every", "0",
                     "--checkpoint-every", "0", "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    return str(out / "model.safetensors")


@pytest.fixture()
def win(vae_gan_checkpoint, tiny_checkpoints, qtbot, tmp_path, monkeypatch):
    """The window with the three tiny built-in models and the VAE-GAN, the VAE-GAN current and its sliders found."""
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow

    monkeypatch.setenv("LATENT_EXPLORER_MODELS", os.pathsep.join([*tiny_checkpoints.values(), vae_gan_checkpoint]))
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", ANALYSIS_FACES)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 64)
    monkeypatch.setattr(latent_map_jobs, "MAP_FACES", 120)
    window = MainWindow("cpu", settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.startup_done, timeout=60_000):
        window.load_startup_models()
    context = window.context
    qtbot.waitUntil(lambda: len(context.models) == 4, timeout=60_000)
    key = key_of(context, "vae-gan")
    context.set_current(key)
    qtbot.waitUntil(lambda: key in context.analyses, timeout=120_000)
    settle(qtbot, window)
    yield window
    window.close()


def posterior_mean(model: torch.nn.Module, pixels: np.ndarray) -> torch.Tensor:
    """A model's encoder's μ for a uint8 (H, W, 3) face."""
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].float().div(127.5).sub(1.0)
    with torch.no_grad():
        return model.posterior(x)[0]


def test_explore_has_every_kind_of_slider_and_encodes_a_photo_with_the_vae_gan(win, vae_gan_checkpoint, qtbot,
                                                                              tmp_path):
    context, panel = win.context, win.explore
    key = context.current
    assert context.info().family == "vae-gan"
    shown = [win.model_box.itemText(i) for i in range(win.model_box.count()) if win.model_box.itemData(i)]
    assert any(text.startswith("VAE-GAN · 16 px · step 150") for text in shown), shown  # the model chooser
    form = win.train.form.family  # and the Train tab's family chooser, in its view's words
    assert form.itemText(form.findData("vae-gan")) == view_of("vae-gan").chooser_label

    # The three banks: named directions (it learned some), main directions, one raw slider per number with its KL.
    assert panel.explain.text() == view_of("vae-gan").explore_text
    assert not panel.psi.isVisibleTo(panel) and not panel.steps.isVisibleTo(panel)
    named = panel.attribute_bank.names()
    assert named and all(k.startswith("attr:") for k in named), panel.attribute_bank.intro()
    assert panel.principal_bank.names() and all(k.startswith("pc:") for k in panel.principal_bank.names())
    assert sorted(panel.raw_bank.names()) == [f"dim:{i}" for i in range(4)]
    assert all("KL" in panel.raw_bank.label(k) for k in panel.raw_bank.names())
    model = load_checkpoint(vae_gan_checkpoint).model.eval()  # read again here, apart from the app's worker
    for bank in (panel.attribute_bank, panel.principal_bank, panel.raw_bank):  # each moves the face it draws
        before, drawn = panel.state.latent().copy(), panel.render_count
        bank.sliders[bank.names()[0]].setValue(1.5)
        qtbot.waitUntil(lambda drawn=drawn: panel.render_count > drawn, timeout=30_000)
        settle(qtbot, win)
        assert not np.allclose(panel.state.latent(), before)
        with torch.no_grad():
            expected = to_uint8(model.decode(torch.from_numpy(panel.state.latent())[None])[0])
        assert np.array_equal(panel.image.image(), expected)

    # A photo dropped on the window (48 px, so it is shrunk to the model's 16): the VAE-GAN is shown, so the
    # VAE-GAN encodes it and gives the report under the face, not the VAE that is also loaded.
    photo = tmp_path / "face.png"  # a face of another draw than the training and held-out ones
    Image.fromarray(synthetic_face(HELD_OUT_SEED + 1, 3, 48)[0]).save(photo)
    with qtbot.waitSignal(context.result, timeout=60_000,
                          check_params_cb=lambda r: isinstance(r, Encoded) and r.model == key) as got:
        win.open_path(str(photo))
    encoded: Encoded = got.args[0]
    assert encoded.error is None and encoded.encoder is not None and encoded.encoder["model"] == key
    pixels = load_image(str(photo), 16)
    np.testing.assert_array_equal(encoded.original, pixels)
    mu = posterior_mean(model, pixels)
    np.testing.assert_allclose(encoded.latent, mu[0].numpy(), atol=1e-5)  # its encoder's mean: one pass, no search
    report = encoded.encoder
    np.testing.assert_allclose(report["mu"], mu[0].numpy(), atol=1e-5)
    settle(qtbot, win)
    np.testing.assert_allclose(panel.state.latent(), mu[0].numpy(), atol=1e-5)  # Explore now shows that face
    notes = [label.text() for label in panel.raw_bank.findChildren(QLabel) if label.text().startswith("μ")]
    assert f"μ {report['mu'][0]:+.2f}  σ {report['sigma'][0]:.2f}" in notes and len(notes) == 4  # beside the raw sliders

    # Posterior draws, the rebuild and its heat map, and the anomaly score among the held-out faces.
    view = panel.encoded
    assert view.isVisible() and view.title() == "Your face, as the VAE-GAN sees it"
    with torch.no_grad():
        np.testing.assert_array_equal(report["reconstruction"], to_uint8(model.decode(mu)[0]))
    draws = report["samples"]
    assert draws.shape == (6, 16, 16, 3) and len({d.tobytes() for d in draws}) == 6  # σ > 0: six different faces
    assert view.samples.has_image() and view.samples.image().shape[1] > 5 * 16
    assert report["heat_map"].shape == (16, 16, 3)
    np.testing.assert_array_equal(view.heat.image(), report["heat_map"])
    assert report["faces_compared"] == ANALYSIS_FACES and report["percentile"] is not None
    assert f"of {ANALYSIS_FACES:,} faces the model never trained on" in view.anomaly.text()


def test_the_latent_map_places_faces_with_the_vae_gans_encoder(win, qtbot):
    context, panel = win.context, win.explore
    key, view = context.current, win.explore.map_view
    assert view.encoder_key() == key  # the model shown has an encoder: it is the one mapped, not the VAE
    panel.map_button.click()
    qtbot.waitUntil(lambda: key in view.maps, timeout=60_000)
    settle(qtbot, win)
    latent_map = view.maps[key]
    assert latent_map.error is None and latent_map.coords.shape == (120, 2)
    assert not view.note.isVisible() and len(view.points.data) == 120
    assert view.marker.isVisible()  # the target: the face Explore shows, on this model's own map
    pos = view.marker.pos()
    np.testing.assert_allclose([pos.x(), pos.y()], latent_map.project(panel.state.latent()), atol=1e-4)


def test_interpolate_morphs_it_among_all_models_and_the_diffusion_tab_keeps_its_own(win, qtbot):
    context = win.context
    key = context.current
    morph = win.interpolate
    assert isinstance(morph, InterpolatePanel)
    win.select_tab("interpolate")
    assert len(context.models) == 4 and morph.all_three.text() == "All four models"
    morph.all_three.setChecked(True)
    qtbot.waitUntil(lambda: len(morph.strips) == 4, timeout=120_000)
    assert key in morph.strips and morph.strips[key].shape == (morph.frames.value(), 16, 16, 3)
    assert "VAE-GAN" in morph.preview.captions()
    frames = morph.strips[key]
    assert len({f.tobytes() for f in frames}) > 1  # it moves from one face to the other

    diffusion = win.diffusion
    assert isinstance(diffusion, DiffusionPanel)
    win.select_tab("diffusion")
    settle(qtbot, win)
    # The VAE-GAN is the current model, yet the tab shows step-by-step decoding, which only the diffusion model does.
    assert context.current == key
    assert context.info(key_of(context, "diffusion")).label in diffusion.model_label.text()
    assert "VAE-GAN" not in diffusion.model_label.text()


def _card_figures(precision: float, sharpness: float, ppl: float, redrawing: float) -> dict:
    """A model card's evaluate figures (what `evaluate` writes), for the models the VAE-GAN is compared with."""
    return {"fd": 1.0, "fd_real": 0.1, "precision": precision, "recall": 0.6, "precision_real": 0.9,
            "recall_real": 0.9, "density": 1.0, "coverage": 0.6, "ppl": ppl, "seconds_per_image": 0.01,
            "samples": 2000, "image_size": 16, "sharpness": sharpness, "sharpness_real": 1.0,
            "reconstruction_error": redrawing, "reconstruction_faces": 200}


@pytest.fixture()
def cards_of_the_others(tiny_checkpoints):
    """The three built-in models' figures as if shipped with cards: only the VAE-GAN is measured, in the worker, as
    it would be for a new checkpoint (the others' own measuring is tested in the Compare tab's tests)."""
    figures = {"vae": _card_figures(0.8, 0.6, 50.0, 0.01), "gan": _card_figures(0.85, 0.9, 300.0, 0.03),
               "diffusion": _card_figures(0.9, 0.95, 200.0, 0.02)}
    for family, path in tiny_checkpoints.items():
        card_path(path).write_text(json.dumps({"checkpoint_sha256": file_digest(path),
                                               "feature_net_sha256": feature_net_digest(),
                                               "evaluate": figures[family]}))
    yield figures
    for path in tiny_checkpoints.values():
        card_path(path).unlink(missing_ok=True)


def test_compare_measures_it_and_draws_its_bars_in_its_own_colour(win, cards_of_the_others, qtbot):
    import pyqtgraph as pg

    panel = win.compare
    assert isinstance(panel, ComparePanel)
    panel.samples.setItemData(0, 20)  # few samples: the tiny VAE-GAN is measured in about a second
    panel.samples.setCurrentIndex(0)
    with qtbot.waitSignal(panel.first_image, timeout=120_000):
        win.tabs.setCurrentWidget(panel)  # opening the tab reads the cards and measures what has none
    assert set(panel.figures) == {"vae", "gan", "diffusion", "vae-gan"}, panel.errors
    assert "card" not in panel.sources["vae-gan"] and panel.figures["vae-gan"]["samples"] == 20
    colour = view_of("vae-gan").colour
    assert colour not in {view_of(f).colour for f in ("vae", "gan", "diffusion")}
    for metric in ("precision", "sharpness", "reconstruction_error", "ppl"):  # the figures its story is told from
        chart = panel.bars.charts[metric]
        assert chart.values["vae-gan"] == pytest.approx(panel.figures["vae-gan"][metric] * chart.spec.scale)
        brushes = {pg.mkBrush(b.opts["brush"]).color().name()
                   for b in chart.getPlotItem().items if isinstance(b, pg.BarGraphItem)}
        assert colour in brushes and len(brushes) == 4
    assert colour in panel.colour_key.text() and "VAE-GAN" in panel.colour_key.text()
    assert "the VAE-GAN" in panel.reading.text() and "the best of both" in panel.reading.text()
    assert panel.grids["vae-gan"].has_image() and panel.strips["vae-gan"].has_image()  # its samples and its morph
