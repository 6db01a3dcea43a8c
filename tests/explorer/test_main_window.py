"""The desktop app with tiny models: every tab reacts, the worker keeps up, bad input never breaks it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from explorer.pictures.png_state import export_png, read_state
from explorer.worker.requests import Rendered
from models.checkpoint import load_checkpoint
from models.image_io import to_uint8
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def wait_idle(qtbot, win, timeout=60_000):
    settle(qtbot, win, timeout)


def export(qtbot, win, path, animation=False):
    """File → Export image (or animation) to `path`, waiting until the file is written (it is, in a thread)."""
    with qtbot.waitSignal(win.exports.saved, timeout=60_000):
        (win.export_animation if animation else win.export_image)(str(path))


def ready_explore(qtbot, win, family="vae"):
    key = next(k for k, m in win.context.models.items() if m.family == family)
    win.context.set_current(key)
    qtbot.waitUntil(lambda: key in win.context.analyses, timeout=120_000)
    wait_idle(qtbot, win)
    return key


def test_all_three_models_load_at_start(window):
    families = sorted(m.family for m in window.context.models.values())
    assert families == ["diffusion", "gan", "vae"]
    assert len(window.model_box.paths()) == 3
    assert "CPU" in window.device_label.text()


def test_explore_sliders_change_the_face(window, qtbot):
    ready_explore(qtbot, window)
    panel = window.explore
    # An untrained model's named directions are measured not to work, so only the main ones are sure to be there.
    assert panel.principal_bank.names(), "main directions were found"
    before = panel.image.image().copy()
    key = panel.principal_bank.names()[0]
    panel.principal_bank.sliders[key].setValue(2.5)
    wait_idle(qtbot, window)
    assert not np.array_equal(before, panel.image.image())
    raw = panel.raw_bank.names()[0]
    assert panel.raw_bank.value(raw) == pytest.approx(panel.state.latent().reshape(-1)[int(raw[4:])], abs=0.01)


def test_a_burst_of_slider_moves_renders_far_fewer_times_and_ends_on_the_last(window, qtbot, app_env):
    key = ready_explore(qtbot, window)
    panel = window.explore
    slider = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    before = panel.render_count
    for i in range(1000):
        slider.setValue(-3 + 6 * i / 999)
    wait_idle(qtbot, window)
    renders = panel.render_count - before
    assert 1 <= renders < 100
    vae = load_checkpoint(window.context.models[key].path).model
    expected = to_uint8(vae.decode(torch.from_numpy(panel.state.latent())[None])[0])
    assert np.array_equal(panel.image.image(), expected)


def test_a_stale_result_is_never_drawn_over_a_newer_one(window, qtbot):
    key = ready_explore(qtbot, window)
    panel = window.explore
    shown = panel.image.image().copy()
    old = Rendered(request_id=1, slot="Render", model=key, image=np.zeros_like(shown), latent=None)
    window.context.result.emit(old)
    assert np.array_equal(panel.image.image(), shown)


def test_interpolate_strips_follow_the_controls(window, qtbot):
    window.select_tab("interpolate")
    panel = window.interpolate
    panel.all_three.setChecked(True)
    wait_idle(qtbot, window)
    assert len(panel.strips) == 3
    preview = panel.preview.image()
    assert preview.shape[1] > 2.5 * preview.shape[0]  # the three models side by side, at one size
    first = panel.current_image().copy()
    panel.frames.setValue(5)
    wait_idle(qtbot, window)
    assert {len(s) for s in panel.strips.values()} == {5}
    assert panel.current_image().shape != first.shape
    assert len(panel.animation_frames()) == 5


def test_diffusion_runs_live_and_stop_ends_it_early(window, qtbot):
    window.select_tab("diffusion")
    panel = window.diffusion
    wait_idle(qtbot, window)
    first = panel.x0.image().copy()
    panel.seed.setValue(5)
    with qtbot.waitSignal(panel.finished, timeout=60_000):
        panel.start()
    assert not np.array_equal(first, panel.x0.image())
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))
    panel.steps.setValue(1000)
    with qtbot.waitSignal(panel.context.progress, timeout=60_000):
        panel.start()
    with qtbot.waitSignal(panel.finished, timeout=10_000) as stopped:
        panel.stop_run()
    assert stopped.args == [True]
    assert len(panel.run.xt) < 1001
    panel.timeline.setValue(0)
    assert "pure noise" in panel.step_label.text()


def test_forward_process_adds_more_noise_as_t_grows(window, qtbot):
    window.select_tab("diffusion")
    view = window.diffusion.forward
    qtbot.waitUntil(lambda: view.face is not None, timeout=30_000)
    view.t.setValue(0)
    clean = view.image.image().astype(float)
    view.t.setValue(view.t.maximum())
    noisy = view.image.image().astype(float)
    assert np.abs(clean - view.face).mean() < 5 < np.abs(noisy - view.face).mean()


def test_an_invalid_checkpoint_gives_a_message_and_the_app_goes_on(window, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 100)
    window.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert "broken.safetensors" in shown[0]
    test_explore_sliders_change_the_face(window, qtbot)


def test_an_unreadable_dropped_file_gives_a_message(window, qtbot, tmp_path):
    ready_explore(qtbot, window)
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    window.open_path(str(bad))
    qtbot.waitUntil(lambda: "Could not" in window.explore.message.text(), timeout=10_000)
    assert "holiday.jpg" in window.explore.message.text()


def test_a_dropped_face_is_encoded_and_shown_by_the_vae(window, qtbot, tmp_path):
    ready_explore(qtbot, window)
    from models.data import synthetic_face
    from models.image_io import save_png
    path = save_png(tmp_path / "face.png", synthetic_face(3, 0, 40)[0])
    before = window.explore.state.latent().copy()
    window.open_path(str(path))
    qtbot.waitUntil(lambda: window.explore.encoded.isVisible(), timeout=20_000)
    assert "Anomaly score" in window.explore.encoded.anomaly.text()
    assert not np.array_equal(before, window.explore.state.latent())


def test_the_png_round_trip_restores_the_latent_exactly(window, qtbot, tmp_path):
    ready_explore(qtbot, window)
    panel = window.explore
    panel.seed.setValue(11)
    key = panel.principal_bank.names()[0]
    panel.principal_bank.sliders[key].setValue(1.3)
    wait_idle(qtbot, window)
    wanted = panel.state.latent().copy()
    path = tmp_path / "export.png"
    export(qtbot, window, path)
    assert read_state(path).seed == 11
    panel.seed.setValue(12)
    panel.random_face()
    wait_idle(qtbot, window)
    assert not np.array_equal(panel.state.latent(), wanted)
    window.open_path(str(path))
    wait_idle(qtbot, window)
    assert np.array_equal(panel.state.latent(), wanted)
    assert panel.seed.value() == 11
    assert panel.principal_bank.value(key) == pytest.approx(1.3)


def test_export_png_needs_no_window(tmp_path):
    image = np.zeros((16, 16, 3), np.uint8)
    assert read_state(export_png(tmp_path / "plain.png", image, None)) is None


def test_closing_while_busy_exits_promptly(window, qtbot):
    import time
    window.select_tab("diffusion")
    panel = window.diffusion
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))
    panel.steps.setValue(1000)
    with qtbot.waitSignal(panel.context.progress, timeout=60_000):
        panel.start()
    start = time.perf_counter()
    window.close()
    assert window.worker.thread.isFinished()
    assert time.perf_counter() - start < 5


def test_presenter_mode_makes_text_bigger(window):
    before = window.font().pointSizeF()
    window.set_presenter_mode(True)
    assert window.explore.font().pointSizeF() > before
    window.set_presenter_mode(False)
    assert window.explore.font().pointSizeF() == pytest.approx(before)


def test_strip_and_animation_export(window, qtbot, tmp_path):
    from PIL import Image
    window.select_tab("interpolate")
    window.interpolate.frames.setValue(6)
    wait_idle(qtbot, window)
    export(qtbot, window, tmp_path / "strip.png")
    export(qtbot, window, tmp_path / "morph.gif", animation=True)
    with Image.open(tmp_path / "morph.gif") as gif:
        assert gif.n_frames == 6 + 4  # forward, then back without repeating the ends
    with Image.open(tmp_path / "strip.png") as strip:
        assert strip.width > strip.height


def test_a_status_message_stays_readable_when_the_window_shows_its_labels_again(window, qtbot):
    """Going full screen (F5 in a real window) shows the status bar's labels over a message; the window hides them
    again, keeping the message and its tooltip, and they come back when the message goes."""
    bar = window.statusBar()
    bar.showMessage("A note.", 30_000)
    bar.setToolTip("Why.")
    assert not window.device_label.isVisible()
    window.device_label.show()  # as Qt does when the window is shown again
    qtbot.waitUntil(lambda: not window.device_label.isVisible(), timeout=2000)
    assert (bar.currentMessage(), bar.toolTip()) == ("A note.", "Why.")
    bar.clearMessage()
    assert window.device_label.isVisible()
