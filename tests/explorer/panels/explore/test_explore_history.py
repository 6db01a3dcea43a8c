"""Undo and redo in Explore (Ctrl+Z, Ctrl+Shift+Z): slider moves, seeds and faces brought in."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.worker.requests import Endpoint
from tests.explorer.test_main_window import ready_explore, wait_idle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _keys(qtbot, window, key, modifiers=Qt.KeyboardModifier.NoModifier):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, key, modifiers)


def test_undo_walks_back_slider_moves_seeds_and_a_brought_in_face(window, qtbot):
    ready_explore(qtbot, window)
    panel = window.explore
    start = panel.state.latent().copy()
    direction = panel.principal_bank.names()[0]
    for value in (0.5, 1.0, 1.5, 2.0):  # one drag: a single step
        panel.principal_bank.sliders[direction].setValue(value)
    moved = panel.state.latent().copy()
    panel.seed.setValue(12)
    seeded = panel.state.latent().copy()
    panel.bring_in(Endpoint("face", 4))
    wait_idle(qtbot, window)
    assert panel.encoded.isVisible()
    assert window.undo.text() == "Undo bring in data-set face 4"

    _keys(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(panel.state.latent(), seeded) and not panel.encoded.isVisible()
    window.undo.trigger()
    assert np.array_equal(panel.state.latent(), moved) and panel.seed.value() == 0
    assert panel.principal_bank.value(direction) == pytest.approx(2.0)
    window.undo.trigger()
    assert np.array_equal(panel.state.latent(), start)
    assert panel.principal_bank.value(direction) == 0.0
    assert not window.undo.isEnabled()

    _keys(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(panel.state.latent(), moved)
    window.redo.trigger()
    window.redo.trigger()
    assert panel.seed.value() == 12 and panel.encoded.isVisible()


def test_undo_from_another_tab_shows_explore(window, qtbot):
    ready_explore(qtbot, window)
    window.explore.seed.setValue(5)
    window.select_tab("diffusion")
    window.undo.trigger()
    assert window.tabs.currentWidget() is window.explore and window.explore.seed.value() == 0


def test_a_new_model_starts_a_new_history(window, qtbot):
    ready_explore(qtbot, window)
    window.explore.seed.setValue(5)
    assert window.undo.isEnabled()
    ready_explore(qtbot, window, "gan")
    assert not window.undo.isEnabled()


def test_every_random_face_is_a_step_of_its_own(window, qtbot):
    ready_explore(qtbot, window)
    panel = window.explore
    panel.random_face()
    first = panel.seed.value()
    panel.random_face()
    window.undo.trigger()
    assert panel.seed.value() == first
