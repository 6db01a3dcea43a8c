"""Explore's direction sliders say what they were measured to do, and why a model may have few named ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from explorer import texts
from explorer.panels.explore.direction_banks import slider_spec
from explorer.panels.explore.panel import ExplorePanel
from explorer.worker.requests import DirectionInfo
from models.direction_effects import NAME_MIN, Effect
from tests.explorer.conftest import ready_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

GLASSES = Effect("glasses", "glasses", 1.4, "no glasses", "glasses", (0.0625, 0.25, 0.6875), share=True)
SMILE = Effect("smile", "smile", 1.7, "frown", "smile", (-0.31, 0.05, 0.42), scale="from frown (-1) to broad smile (1)")
HAIR = Effect("hair.lightness", "hair lightness", 0.7, "lighter hair", "darker hair")
TILT = Effect("head_tilt", "head tilt", 3.7, "tilted right", "tilted left", (0.5, 0.0, -0.6))
FAINT = Effect("gaze", "gaze", 0.3, "looking left", "looking right", (0.0, 0.0, 0.1))


def direction(key, effects, size=4) -> DirectionInfo:
    return DirectionInfo(key, key, np.eye(size, dtype=np.float32)[0], 1.0, "low", "high", 0.4, tuple(effects), 16, 2.0)


def test_a_named_sliders_tooltip_gives_the_measured_share_of_faces_with_glasses():
    tip = slider_spec(direction("attr:glasses", [GLASSES, HAIR, FAINT])).tooltip
    assert "+2 on this slider: glasses on 69% of faces, from 25% at 0 (6% at −2)." in tip
    assert "1× is the spread of real faces" in tip  # said, since the hair's change is given in spreads
    alone = slider_spec(direction("attr:glasses", [GLASSES])).tooltip
    assert "glasses on 69% of faces" in alone and "spread" not in alone  # shares need no yardstick
    assert "Also: lighter hair → darker hair (0.7×)." in tip  # the too-small gaze change is not listed
    assert "gaze" not in tip and "Measured on 16 of this model's faces" in tip


def test_a_named_sliders_tooltip_gives_the_measured_change_in_spreads_of_real_faces():
    tip = slider_spec(direction("attr:smile", [SMILE])).tooltip
    assert "+2 on this slider: smile 0.42, from 0.05 at 0 (-0.31 at −2), on a scale from frown (-1) to broad" in tip
    assert "1.7× the spread of real faces" in tip and "Also" not in tip


def test_a_main_directions_tooltip_lists_what_it_changes_most():
    tip = slider_spec(direction("pc:0", [TILT, HAIR, FAINT])).tooltip
    said = "From −2 to +2 on this slider: tilted right → tilted left (3.7×), lighter hair → darker hair (0.7×)."
    assert said in tip
    quiet = slider_spec(direction("pc:1", [FAINT])).tooltip
    assert quiet.startswith(texts.EFFECT_NONE.format(amount="+2", minus="−2", least=NAME_MIN))


def test_the_named_bank_says_why_a_model_is_hard_to_steer_only_when_most_attributes_failed(context, panel_of, qtbot):
    panel = panel_of(ExplorePanel)
    key = ready_model(qtbot, context, "vae")
    real = context.analyses[key]
    named = (direction("attr:smile", [SMILE]), direction("attr:glasses", [GLASSES]))
    # What the analysis measured decides, not the family: the same VAE with most attributes missing gets the lesson.
    for attributes, missing, said in ((named, ("nose size",), False), (named[:1], ("glasses", "gaze"), True)):
        context.analyses[key] = dataclasses.replace(real, attributes=attributes, missing_attributes=missing)
        panel._analysis_ready(key)
        intro = panel.attribute_bank.intro()
        assert ("Why so few?" in intro) is said
        assert ("Most properties (glasses, gaze) have no slider" in intro) is said
        assert panel.attribute_bank.names() == [d.key for d in attributes]
        tips = [panel.attribute_bank.sliders[d.key].toolTip() for d in attributes]
        assert "+2 on this slider: smile 0.42" in tips[0]
