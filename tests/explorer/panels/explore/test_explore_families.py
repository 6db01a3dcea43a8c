"""Explore follows what a model's family can do, not its name: ψ where truncation applies, steps where decoding
runs in steps, the family's own explanation, and the encoder's report from any model that has an encoder."""

from __future__ import annotations

import pytest

from explorer.family_views import view_of
from explorer.panels.explore.panel import ExplorePanel
from tests.explorer.conftest import key_of
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def show(qtbot, context, family: str) -> str:
    key = key_of(context, family)
    context.set_current(key)
    settle(qtbot, context)
    return key


@pytest.mark.parametrize("family, psi, steps", [("vae", False, False), ("gan", True, False),
                                                ("diffusion", False, True)])
def test_each_built_in_family_shows_its_own_controls_and_words(context, panel_of, qtbot, family, psi, steps):
    panel = panel_of(ExplorePanel)
    show(qtbot, context, family)
    assert (panel.psi.isVisibleTo(panel), panel.steps.isVisibleTo(panel)) == (psi, steps)
    assert panel.explain.text() == view_of(family).explore_text


def test_a_family_the_app_has_never_heard_of_is_explored_with_the_default_words(context, panel_of, qtbot,
                                                                                fourth_checkpoint):
    panel = panel_of(ExplorePanel)
    context.load(fourth_checkpoint, select=True)  # what File → Open checkpoint asks of the context
    qtbot.waitUntil(lambda: context.info() is not None and context.info().family == "fourth", timeout=30_000)
    settle(qtbot, context)
    assert not panel.psi.isVisibleTo(panel) and not panel.steps.isVisibleTo(panel)
    assert panel.explain.text() == view_of("fourth").explore_text and "A fourth model" in panel.explain.text()
    assert panel.image.has_image()
    # Its family reads faces with an encoder: the encoder's report and the latent map use the model shown.
    assert context.first_model(lambda f: f.encoding == "encoder").family == "fourth"
    assert panel.map_view.encoder_key() == context.current
