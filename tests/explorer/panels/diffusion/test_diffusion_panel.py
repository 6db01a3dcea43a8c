"""The Diffusion tab shows a model whose family decodes in steps, whichever model the other tabs show."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from explorer.panels.diffusion.panel import DiffusionPanel
from models.checkpoint import save_checkpoint
from models.diffusion import Diffusion
from models.family import build_model, get_family, register_family, unregister_family
from tests.explorer.conftest import CONFIGS, key_of
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class Stepwise(Diffusion):
    family = "stepwise"


@pytest.fixture()
def stepwise_checkpoint(tmp_path):
    """A checkpoint of a stepwise family the app has never heard of (the diffusion model under another name)."""
    register_family(dataclasses.replace(get_family("diffusion"), name="stepwise", title="Stepwise",
                                        model_class=Stepwise, order=45))
    try:
        torch.manual_seed(0)
        yield str(save_checkpoint(tmp_path / "stepwise.safetensors", build_model("stepwise", CONFIGS["diffusion"]())))
    finally:
        unregister_family("stepwise")


def test_the_tab_keeps_to_the_diffusion_model_while_another_is_shown(context, panel_of, qtbot):
    panel = panel_of(DiffusionPanel, show=False)  # a tab not shown yet, while the GAN is chosen
    context.set_current(key_of(context, "gan"))
    panel.show()
    settle(qtbot, context)
    info = context.info(panel._model)
    assert info is not None and info.family == "diffusion"
    assert panel.generate.isEnabled()


def test_a_stepwise_family_the_app_has_never_heard_of_is_shown_when_it_is_the_current_model(context, panel_of, qtbot,
                                                                                             stepwise_checkpoint):
    panel = panel_of(DiffusionPanel, show=False)
    context.load(stepwise_checkpoint, select=True)  # what File → Open checkpoint asks of the context
    qtbot.waitUntil(lambda: context.info() is not None and context.info().family == "stepwise", timeout=30_000)
    panel.show()
    settle(qtbot, context)
    assert panel._model == context.current
    assert context.info(panel._model).signal is not None  # its noise schedule is drawn
