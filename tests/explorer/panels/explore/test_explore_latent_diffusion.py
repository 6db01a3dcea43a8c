"""Explore and Interpolate with a latent diffusion model, through the window and its worker: the "Guide toward" box
(only for a family that takes guidance; ticking steers the face the worker draws), draft while dragging (a held
slider draws a few-step draft, letting go draws the full face; a one-pass family never drafts) and Interpolate with a
brought-in face (DDIM inversion through the encoder)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.panels.explore.drag_drafts import DRAFT_SAMPLER, DRAFT_STEPS, REST_MS
from explorer.panels.explore.guide_box import WANTS
from explorer.worker import inference_jobs
from explorer.worker.requests import Endpoint
from models.checkpoint import load_checkpoint
from models.face_renderer import ATTRIBUTES
from models.generative import DEFAULT_GUIDANCE, DEFAULT_GUIDE, GUIDES, Decoding, Encoding
from models.image_io import to_uint8
from tests.explorer.conftest import key_of
from tests.explorer.panels.explore.awake_latent import awake_latent_checkpoint, win  # noqa: F401 - fixtures
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def show(win, qtbot, family: str) -> str:
    context = win.context
    key = key_of(context, family)
    context.set_current(key)
    qtbot.waitUntil(lambda: key in context.analyses, timeout=120_000)
    settle(qtbot, win)
    return key


def drawn(win, key: str, decoding: Decoding) -> np.ndarray:
    """The face the model, read again apart from the app, draws at Explore's latent with `decoding`."""
    model = load_checkpoint(win.context.models[key].path).model.eval()
    with torch.no_grad():
        return to_uint8(model.decode(torch.from_numpy(win.explore.state.latent())[None], decoding)[0])


def test_the_wants_are_in_the_renderers_units_at_the_named_end():
    by_name = {a.name: a for a in ATTRIBUTES}
    for want in WANTS:
        attribute = by_name[want.attribute]
        assert attribute.low <= want.value <= attribute.high
    ends = {w.label: by_name[w.attribute].high_words if w.value == by_name[w.attribute].high
            else by_name[w.attribute].low_words for w in WANTS}
    assert ends["Grey hair"] == "grey" and ends["Dark skin"] == "dark" and ends["Glasses"] == "glasses"
    assert ends["Smiling"] == "broad smile"


def test_guidance_controls_show_only_for_a_guided_family_and_steer_the_face(win, qtbot):
    panel = win.explore
    for family in ("vae", "diffusion"):  # one pass, and in steps but unguided
        show(win, qtbot, family)
        assert not panel.guide_box.isVisibleTo(panel), family
    key = show(win, qtbot, "latent-diffusion")
    box = panel.guide_box
    assert box.isVisibleTo(panel)
    steps = panel.steps.value()
    unguided = panel.image.image().copy()
    assert np.array_equal(unguided, drawn(win, key, Decoding("ddim", steps)))
    assert not box.scale.isEnabled()  # nothing ticked: the scale would change nothing

    win.renders.clear()
    box.ticks["smile"].setChecked(True)
    box.ticks["glasses"].setChecked(True)
    settle(qtbot, win)
    asked = win.renders[-1]
    assert asked.attributes == (("smile", 1.0), ("glasses", 1.0)) and asked.guide == DEFAULT_GUIDE
    assert asked.guidance == pytest.approx(DEFAULT_GUIDANCE[DEFAULT_GUIDE])
    assert asked.guidance == pytest.approx(box.guidance()) and not asked.draft
    guided = panel.image.image().copy()
    assert np.array_equal(guided, drawn(win, key, Decoding("ddim", steps, attributes=asked.attributes,
                                                              guidance=asked.guidance, guide=DEFAULT_GUIDE)))
    assert not np.array_equal(guided, unguided)

    other = next(guide for guide in GUIDES if guide != DEFAULT_GUIDE)
    box.guide.setCurrentIndex(box.guide.findData(other))
    assert box.guidance() == pytest.approx(DEFAULT_GUIDANCE[other])  # each guide starts at its own default scale
    box.scale.setValue(7.5)
    settle(qtbot, win)
    asked = win.renders[-1]
    assert asked.guide == other and asked.guidance == pytest.approx(7.5)
    steered = panel.image.image().copy()
    assert np.array_equal(steered, drawn(win, key, Decoding("ddim", steps, attributes=asked.attributes,
                                                              guidance=7.5, guide=other)))
    assert not np.array_equal(steered, guided)


def principal_slider(panel):
    bank = panel.principal_bank
    assert bank.names(), bank.intro()
    return bank.sliders[bank.names()[0]]


def test_a_held_slider_draws_a_draft_and_letting_go_draws_the_full_face(win, qtbot):
    panel = win.explore
    key = show(win, qtbot, "latent-diffusion")
    slider = principal_slider(panel)
    steps = panel.steps.value()
    assert DRAFT_STEPS < steps
    win.renders.clear()
    slider.slider.setSliderDown(True)  # the handle held, as by a mouse
    slider.setValue(1.2)
    settle(qtbot, win)
    asked = win.renders[-1]
    assert asked.draft and (asked.sampler, asked.steps) == (DRAFT_SAMPLER, DRAFT_STEPS)
    assert panel.shown_draft and panel.draft_tag.isVisibleTo(panel)
    draft = panel.image.image().copy()
    assert np.array_equal(draft, drawn(win, key, Decoding(DRAFT_SAMPLER, DRAFT_STEPS)))

    slider.slider.setSliderDown(False)  # let go: sliderReleased
    settle(qtbot, win)
    asked = win.renders[-1]
    assert not asked.draft and (asked.sampler, asked.steps) == ("ddim", steps)
    assert not panel.shown_draft and not panel.draft_tag.isVisibleTo(panel)
    full = panel.image.image()
    assert np.array_equal(full, drawn(win, key, Decoding("ddim", steps)))
    assert not np.array_equal(full, draft)
    assert [r.draft for r in win.renders] == [True, False]  # one draft, then one full face: nothing more


def test_moves_in_quick_succession_draft_and_the_full_face_follows_when_they_rest(win, qtbot):
    panel = win.explore
    show(win, qtbot, "latent-diffusion")
    slider = principal_slider(panel)
    win.renders.clear()
    slider.setValue(0.5)  # a lone move (a click, an arrow key): in full at once
    slider.setValue(0.6)  # the next one within the rest time: the slider is moving
    assert [r.draft for r in win.renders] == [False, True]
    qtbot.waitUntil(lambda: len(win.renders) == 3, timeout=REST_MS * 20)  # it rests: the full face
    assert not win.renders[-1].draft
    settle(qtbot, win)
    assert not panel.shown_draft


def test_a_one_pass_family_never_drafts(win, qtbot):
    panel = win.explore
    show(win, qtbot, "vae")
    slider = principal_slider(panel)
    win.renders.clear()
    slider.slider.setSliderDown(True)
    slider.setValue(1.0)
    slider.setValue(1.1)
    slider.slider.setSliderDown(False)
    settle(qtbot, win)
    assert win.renders and not any(r.draft for r in win.renders)
    assert all((r.sampler, r.steps) == ("ddim", panel.steps.value()) for r in win.renders)  # as it always was
    assert not panel.draft_tag.isVisibleTo(panel)


def test_interpolate_morphs_a_brought_in_face_with_the_latent_model(win, qtbot):
    key = show(win, qtbot, "latent-diffusion")
    win.select_tab("interpolate")
    panel = win.interpolate
    panel.current_only.setChecked(True)
    panel.a.kind.setCurrentIndex(panel.a.kind.findData("face"))
    panel.a.number.setValue(3)
    panel.frames.setValue(4)
    settle(qtbot, win)
    assert key in panel.strips, panel.message.text()
    strip = panel.strips[key]
    assert strip.shape == (4, 32, 32, 3)
    # Face A was found the generic way, by the model's own encode_steps (its encoder, then DDIM inversion with the
    # morph's steps), and the strip starts from that latent: the same face as the model, read again here, gives.
    model = load_checkpoint(win.context.models[key].path).model.eval()
    face = inference_jobs.endpoint_pixels(Endpoint("face", 3), 32)
    steps = panel.shown.steps
    with torch.no_grad():
        z = model.encode(inference_jobs._pixels_to_tensor(face, model.device), Encoding(Decoding(steps=steps)))
        expected = to_uint8(model.decode(z, Decoding("ddim", steps))[0])
    assert np.array_equal(strip[0], expected)
    assert "DDIM backwards in the latent" in panel._labels[key]  # what the exports say of the end points


@pytest.mark.parametrize("presenter", [False, True])
def test_explore_with_the_guide_box_fits_a_1024x768_screen_folded_and_open(win, qtbot, presenter):
    from PySide6.QtCore import QSize

    from explorer.layout_check import layout_problems
    projector = QSize(1024, 768)
    show(win, qtbot, "latent-diffusion")
    win.select_tab("explore")
    win.set_presenter_mode(presenter)
    win.showNormal()
    win.resize(projector)
    box = win.explore.guide_box
    assert box.is_folded() == presenter  # a projector's column keeps its height for the sliders
    for folded in (True, False):
        box.set_folded(folded)
        box.ticks["smile"].setChecked(not folded)  # a folded box says what it steers toward on its one line
        settle(qtbot, win)
        assert win.size() == projector
        assert layout_problems(win, projector) == [], (presenter, folded)
        assert box.body.isVisibleTo(win) != folded
    win.set_presenter_mode(False)
