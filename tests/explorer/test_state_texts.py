"""Texts that describe state say what is true now, not what was true before; a clicker steps through timelines."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from explorer.worker.requests import Endpoint
from tests.explorer.test_main_window import ready_explore, wait_idle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_the_raw_numbers_tab_describes_the_model_shown(window, qtbot):
    ready_explore(qtbot, window, "diffusion")
    bank = window.explore.raw_bank
    assert not bank.names() and "picture of noise" in bank.intro()
    ready_explore(qtbot, window, "vae")
    assert bank.names() and "picture of noise" not in bank.intro() and "KL" in bank.intro()
    ready_explore(qtbot, window, "gan")
    assert bank.names() and "KL" not in bank.intro()  # a GAN's numbers carry no KL


def test_a_failed_bring_in_is_forgotten_when_another_model_is_chosen(window, qtbot, tmp_path):
    ready_explore(qtbot, window)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    window.explore.bring_in(Endpoint("image", path=str(broken)))
    wait_idle(qtbot, window)
    assert "Could not bring in" in window.explore.message.text()
    ready_explore(qtbot, window, "gan")
    assert window.explore.message.text() == ""


def test_a_face_drawn_while_explore_is_hidden_is_not_timed(window, qtbot):
    ready_explore(qtbot, window)
    window.select_tab("compare")
    timings = []
    window.explore.rendered.connect(lambda latency, seconds: timings.append(latency))
    window.explore.seed.setValue(3)
    wait_idle(qtbot, window)
    qtbot.wait(300)  # hidden for a while: the old code counted this wait as the render's time
    window.select_tab("explore")
    qtbot.waitUntil(lambda: window.explore.image.isVisible())
    qtbot.wait(100)
    assert timings == []
    window.explore.seed.setValue(4)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(timings), timeout=10_000)
    assert timings[-1] < 5.0 and "slider to face" in window.timing_label.text()


def test_a_new_diffusion_run_does_not_show_the_last_runs_ending(window, qtbot):
    window.select_tab("diffusion")
    panel = window.diffusion
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: panel.run is not None, timeout=60_000)
    assert "the finished face" in panel.step_label.text()
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))
    panel.steps.setValue(200)
    panel.start()
    assert "finished" not in panel.step_label.text() and "running" in panel.step_label.text()
    wait_idle(qtbot, window)


def test_page_down_and_up_step_through_a_morph_and_a_diffusion_run(window, qtbot):
    window.select_tab("interpolate")
    panel = window.interpolate
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(panel.strips), timeout=60_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    panel.position.setValue(2)
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert panel.play.isChecked()  # paused: the presenter steps through it
    assert panel.position.value() == 3
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert panel.position.value() == 2

    window.select_tab("diffusion")
    diffusion = window.diffusion
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: diffusion.timeline.isEnabled(), timeout=60_000)
    last = diffusion.timeline.value()
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert diffusion.timeline.value() == last - 1
    assert f"step {last - 1} of" in diffusion.step_label.text()


def test_page_up_still_belongs_to_a_focused_spin_box(window, qtbot):
    window.select_tab("diffusion")
    diffusion = window.diffusion
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: diffusion.timeline.isEnabled(), timeout=60_000)
    last, steps = diffusion.timeline.value(), diffusion.steps.value()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    diffusion.steps.setFocus()
    qtbot.waitUntil(diffusion.steps.hasFocus)
    qtbot.keyClick(diffusion.steps, Qt.Key.Key_PageUp)
    assert diffusion.steps.value() > steps  # the spin box's own Page Up
    assert diffusion.timeline.value() == last
    diffusion.timeline.setFocus()
    qtbot.waitUntil(diffusion.timeline.hasFocus)
    qtbot.keyClick(diffusion.timeline, Qt.Key.Key_PageUp)  # a clicker's "back" on the focused timeline: one step
    assert diffusion.timeline.value() == last - 1
