"""The Diffusion tab with a latent diffusion model (the tiny `latent_checkpoint`: 16 px faces, a 2 x 4 x 4 latent):
every sampler runs it, x_t and the predicted x0 are the decoder's pictures, the latent is shown channel by channel,
the timeline scrubs all three, the forward process runs in the latent; a DPM-Solver++ picture's state reads back;
the model card's steps curve (or how to measure one) is in the explanation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from explorer.panels.diffusion.controls import SAMPLER_CHOICES
from explorer.panels.diffusion.latent_channels import channel_images
from explorer.panels.diffusion.steps_curve import steps_curve_html
from explorer.pictures import picture_state
from explorer.pictures.png_state import export_png, read_state
from explorer.worker import inference_jobs
from explorer.worker.compare_jobs import card_path
from explorer.worker.inference_jobs import read_steps_curve
from models.cache import file_digest
from models.checkpoint import load_checkpoint
from models.diffusion import SAMPLERS
from models.image_io import to_uint8
from tests.explorer.conftest import key_of, open_window
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STEPS = {"ddim": 6, "ddpm": 8, "dpm++": 5}  # few steps: the tiny model has 100 time steps


@pytest.fixture()
def latent_copy(latent_checkpoint, tmp_path) -> str:
    """The tiny latent checkpoint in a folder of this test's own (a card may be written beside it)."""
    return str(shutil.copy(latent_checkpoint, tmp_path / "latent-diffusion.safetensors"))


def _window(qtbot, tmp_path, monkeypatch, paths):
    return open_window(qtbot, tmp_path, monkeypatch, paths)


@pytest.fixture()
def win(tiny_checkpoints, latent_copy, qtbot, tmp_path, monkeypatch):
    """The window with the tiny pixel diffusion model and the latent one, the latent one current, the Diffusion tab
    shown and its first run done."""
    window = _window(qtbot, tmp_path, monkeypatch, [tiny_checkpoints["diffusion"], latent_copy])
    context = window.context
    context.set_current(key_of(context, "latent-diffusion"))
    window.select_tab("diffusion")
    settle(qtbot, context, timeout=120_000)
    yield window
    window.close()


def _run(qtbot, panel, sampler: str, steps: int, seed: int = 3):
    panel.sampler.setCurrentIndex(panel.sampler.findData(sampler))
    panel.steps.setValue(steps)
    panel.seed.setValue(seed)
    with qtbot.waitSignal(panel.finished, timeout=60_000):
        panel.start()
    return panel.run


def test_every_sampler_runs_the_latent_model_with_decoded_pictures_and_its_channels(win, latent_copy, qtbot):
    panel, context = win.diffusion, win.context
    assert context.info(panel._model).family == "latent-diffusion"
    model = load_checkpoint(latent_copy, "cpu").model
    for sampler, steps in STEPS.items():
        run = _run(qtbot, panel, sampler, steps)
        settle(qtbot, context)  # the timeline's pictures are decoded after the run
        assert run.error is None and not run.stopped and run.decoded.all()
        assert run.latents is not None and run.latents.shape == (steps + 1, 2, 4, 4)
        assert run.xt.shape == run.x0.shape == (steps + 1, 16, 16, 3)  # pictures: faces, not the 4 x 4 latent
        # Frame 0 is the starting noise in the latent, decoded (a smeared face), not the noise itself.
        with torch.no_grad():
            noise = model.latents_for_seeds([3])
            assert np.array_equal(run.latents[0], noise[0].numpy())
            assert np.array_equal(run.xt[0], to_uint8(model.from_latent(noise)[0]))
            # Every frame's x_t is the decoder's picture of that step's latent.
            middle = steps // 2
            z_middle = torch.from_numpy(run.latents[middle])[None]
            assert np.array_equal(run.xt[middle], to_uint8(model.from_latent(z_middle)[0]))
        assert panel.latent and panel.channels.isVisible() and panel.pipeline.isVisible()
        assert "2×4×4" in panel.pipeline.text() and "encoder" in panel.pipeline.text()
        assert "768 numbers" in panel.pipeline.toolTip() and "smeared face" in panel.xt.toolTip()
        assert "decoded" in panel.xt_caption.text()
        shown = panel.channels.images()
        assert len(shown) == 2 and np.array_equal(shown[1], channel_images(run.latents[-1])[1])
        title = panel.export_title()
        name = next(c.name for c in SAMPLER_CHOICES if c.key == sampler)
        assert f": {name}, {steps} steps" in title
    assert "DPM-Solver++ 2M, 5 steps" in panel.export_title()

    # Scrubbing shows that step's decoded x_t, decoded prediction and latent channels.
    panel.timeline.setValue(2)
    run = panel.run
    assert np.array_equal(panel.xt.image(), run.xt[2]) and np.array_equal(panel.x0.image(), run.x0[2])
    assert all(np.array_equal(a, b) for a, b in zip(panel.channels.images(), channel_images(run.latents[2])))
    assert panel.step_label.text().startswith("step 2 of 5")


def test_a_run_decodes_only_its_finished_face_and_the_timeline_draws_the_rest_after(win, latent_copy, qtbot):
    """The run's cost is the sampler's: its decoder draws the finished face, and the other steps' pictures come
    after it (nearest the step shown first), each the decoder's picture of that step's two latents."""
    panel, context = win.diffusion, win.context
    at_finish = []
    panel.finished.connect(lambda _: at_finish.append(panel.run.decoded.copy()))
    run = _run(qtbot, panel, "ddim", 6)
    assert at_finish[-1].tolist() == [False] * 6 + [True]
    assert panel.animation_not_ready().startswith("The run's pictures are still being drawn")
    settle(qtbot, context)
    assert run.decoded.all() and panel.animation_not_ready() == ""
    model = load_checkpoint(latent_copy, "cpu").model
    with torch.no_grad():
        for i in (1, 4):
            pictures = model.from_latent(torch.from_numpy(np.stack([run.latents[i], run.latents0[i]])))
            assert np.array_equal(run.xt[i], to_uint8(pictures[0])) and np.array_equal(run.x0[i], to_uint8(pictures[1]))
    assert (run.x0[0] == 255).all()  # no prediction before the first step

    # A step not drawn yet is drawn when scrubbed to, and shown.
    run.decoded[3] = False
    run.xt[3] = 0
    panel.timeline.setValue(3)
    settle(qtbot, context)
    assert run.decoded[3] and np.array_equal(panel.xt.image(), run.xt[3]) and run.xt[3].any()


def test_the_finished_faces_prediction_is_its_latent_decoded_whole(win, qtbot):
    """At DDIM's last step the latent is its own prediction, so both pictures are the same face: a predicted latent
    cut to [-1, 1] on its way to the decoder (a unit-variance latent often passes ±1) would draw another one."""
    run = _run(qtbot, win.diffusion, "ddim", 6)
    assert np.array_equal(run.xt[-1], run.x0[-1])


def test_a_pixel_diffusion_model_shows_no_latent_parts(win, qtbot):
    panel, context = win.diffusion, win.context
    context.set_current(key_of(context, "diffusion"))
    settle(qtbot, context, timeout=120_000)
    assert context.info(panel._model).family == "diffusion"
    assert panel.run is not None and panel.run.latents is None
    assert not panel.latent and not panel.channels.isVisible() and not panel.pipeline.isVisible()
    assert not panel.forward.channels.isVisible() and not panel.forward.latent


def test_the_forward_process_noises_a_real_faces_latent_and_decodes_it(win, latent_copy, qtbot):
    forward, context = win.diffusion.forward, win.context
    assert forward.latent and forward.channels.isVisible() and forward.note.isVisible()
    model = load_checkpoint(latent_copy, "cpu").model
    face = inference_jobs.endpoint_pixels(forward._source, 16)
    pictures = {}
    for t in (0, 60):
        forward.t.setValue(t)
        settle(qtbot, context)
        with torch.no_grad():
            z0 = model.to_latent(inference_jobs._pixels_to_tensor(face, "cpu"))
            noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(inference_jobs.FORWARD_NOISE_SEED))
            zt = model.schedule.q_sample(z0, torch.tensor([t]), noise)
            expected = to_uint8(model.from_latent(zt)[0])
        assert np.array_equal(forward.image.image(), expected)
        assert all(np.array_equal(a, b) for a, b in zip(forward.channels.images(), channel_images(zt[0].numpy())))
        assert forward.t_label.text().startswith(f"t = {t}:") and "latent" in forward.t_label.text()
        pictures[t] = forward.image.image()
    assert not np.array_equal(pictures[0], pictures[60])  # more noise, another picture


@pytest.mark.parametrize("presenter", [False, True])
def test_the_latent_tab_fits_a_1024x768_screen(tiny_checkpoints, latent_copy, qtbot, tmp_path, monkeypatch,
                                               presenter):
    from PySide6.QtCore import QSize

    from explorer.layout_check import layout_problems

    _write_card(latent_copy, file_digest(latent_copy), CURVE)  # the explanation's table must fit its column too
    win = _window(qtbot, tmp_path, monkeypatch, [latent_copy])
    win.select_tab("diffusion")
    settle(qtbot, win.context, timeout=120_000)
    assert "<table" in win.diffusion.explain.text()
    projector = QSize(1024, 768)
    win.set_presenter_mode(presenter)
    win.showNormal()
    win.resize(projector)
    win.diffusion.forward.unfold.setChecked(True)  # presenter mode: the forward process opened as well
    settle(qtbot, win.context)
    assert win.diffusion.latent and win.diffusion.forward.channels.isVisible()
    assert win.size() == projector, f"the window forced itself to {win.width()}x{win.height()}"
    assert layout_problems(win, projector) == []
    win.set_presenter_mode(False)
    win.close()


def test_a_dpm_solver_picture_keeps_its_sampler(win, qtbot, tmp_path):
    panel = win.diffusion
    _run(qtbot, panel, "dpm++", 5)
    state = panel.export_state()
    assert state["sampler"] == "dpm++" and state["steps"] == 5
    path = export_png(tmp_path / "dpm.png", panel.current_image(), state)
    read = read_state(path)
    assert isinstance(read, picture_state.DiffusionState)
    assert (read.sampler, read.steps, read.seed) == ("dpm++", 5, 3) and "DPM-Solver++ 2M" in read.title


def test_the_sampler_box_offers_what_a_picture_and_the_models_accept():
    assert [c.key for c in SAMPLER_CHOICES] == list(picture_state.SAMPLERS)
    assert set(picture_state.SAMPLERS) == set(SAMPLERS)
    dpm = next(c for c in SAMPLER_CHOICES if c.key == "dpm++")
    assert dpm.steps == 20 and dpm.useful[0] == picture_state.DIFFUSION_STEPS.low == 5


def test_choosing_a_sampler_puts_its_steps_in_its_useful_range(win):
    panel = win.diffusion
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))
    assert panel.steps.value() == 1000 and not panel.eta.isEnabled()
    panel.sampler.setCurrentIndex(panel.sampler.findData("dpm++"))
    assert panel.steps.value() == 20 and not panel.eta.isEnabled()
    panel.steps.setValue(8)
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddim"))
    assert panel.steps.value() == 50 and panel.eta.isEnabled()  # 8 is below DDIM's useful range
    panel.steps.setValue(30)
    panel.sampler.setCurrentIndex(panel.sampler.findData("dpm++"))
    assert panel.steps.value() == 30  # within DPM-Solver++'s range: kept


CURVE = {"samples": 500, "fd_real": 1.5,
         "curves": {"ddim": {"5": 40.0, "10": 20.0, "20": 12.0, "50": 10.0},
                    "dpm++": {"5": 25.0, "10": 10.8, "20": 10.2, "50": 10.1}}}


def _write_card(checkpoint: str, digest: str, curve: dict | None) -> None:
    evaluate = {"fd": 10.0} | ({"steps_curve": curve} if curve is not None else {})
    card_path(checkpoint).write_text(json.dumps({"checkpoint_sha256": digest, "evaluate": evaluate}))


@pytest.mark.parametrize("card", ["curve", "none", "no_curve", "other_file"])
def test_the_explanation_says_how_many_steps_are_enough(tiny_checkpoints, latent_copy, qtbot, tmp_path, monkeypatch,
                                                       card):
    if card != "none":
        digest = "0" * 64 if card == "other_file" else file_digest(latent_copy)
        _write_card(latent_copy, digest, CURVE if card != "no_curve" else None)
    window = _window(qtbot, tmp_path, monkeypatch, [latent_copy])
    try:
        window.select_tab("diffusion")
        settle(qtbot, window.context, timeout=120_000)
        text = window.diffusion.explain.text()
        assert "How many steps is enough?" in text
        assert "VAE-GAN idea" in text  # the family view's own words for this tab
        if card == "curve":
            assert "DPM-Solver++" in text and "10.8" in text and "40.0" in text and "500 faces each" in text
            # DPM-Solver++ comes within 10 % of DDIM-50's 10.0 first at 10 steps (10.8).
            assert "at 10 steps" in text
            assert "evaluate" not in text
        elif card == "other_file":
            assert "another version of the file" in text and "<table" not in text
        else:
            assert "evaluate --checkpoint" in text and "--curves" in text and "<table" not in text
    finally:
        window.close()


def test_a_damaged_steps_curve_keeps_only_real_distances():
    card = {"evaluate": {"steps_curve": {"samples": True, "fd_real": float("nan"),
                                         "curves": {"ddim": {"5": float("inf"), "10": "x", "20": 12.0, "-3": 1.0,
                                                             "50": -1.0},
                                                    "dpm++": {"5": None}, "7": []}}}}
    curve = read_steps_curve(card)
    assert curve == {"samples": None, "fd_real": None, "curves": {"ddim": ((20, 12.0),)}}
    assert read_steps_curve({"evaluate": {"steps_curve": {"curves": {"ddim": {"5": "a"}}}}}) is None
    assert read_steps_curve([]) is None and read_steps_curve({"evaluate": None}) is None


def test_how_to_measure_names_the_file_as_a_command_line_takes_it_and_as_text():
    said = steps_curve_html(None, "no_card", "/tmp/a/my <i>x.safetensors")
    assert "--checkpoint 'my &lt;i&gt;x.safetensors' --curves" in said and "<i>x" not in said and "/tmp/a" not in said
