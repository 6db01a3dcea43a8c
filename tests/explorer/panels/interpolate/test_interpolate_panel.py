"""Interpolate's exports and preview, as a person sees them: large faces, a title, every model named."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

from explorer.panels.interpolate.panel import InterpolatePanel
from tests.explorer.pictures.test_slide_pictures import groups, ink
from tests.explorer.test_main_window import export, wait_idle
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def morph(window, qtbot, all_three=True, frames=4, mode="slerp"):
    window.select_tab("interpolate")
    return set_up(window.interpolate, window, qtbot, all_three, frames, mode)


def morph_alone(context, panel_of, qtbot, all_three=True, frames=4, mode="slerp"):
    """As morph, with the Interpolate panel alone on the context (no window)."""
    return set_up(panel_of(InterpolatePanel), context, qtbot, all_three, frames, mode)


def set_up(panel, app, qtbot, all_three, frames, mode):
    panel.frames.setValue(frames)
    panel.mode.setCurrentIndex(panel.mode.findData(mode))
    (panel.all_three if all_three else panel.current_only).setChecked(True)
    settle(qtbot, app)
    return panel


def pixels_of(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_the_exported_strip_has_512_px_faces_a_title_and_every_family_named(window, qtbot, tmp_path):
    panel = morph(window, qtbot, frames=4, mode="slerp")
    assert panel.export_size.face_size() == 512  # the default
    export(qtbot, window, tmp_path / "slerp.png")
    panel.mode.setCurrentIndex(panel.mode.findData("lerp"))
    wait_idle(qtbot, window)
    export(qtbot, window, tmp_path / "lerp.png")
    with Image.open(tmp_path / "slerp.png") as slerp, Image.open(tmp_path / "lerp.png") as lerp:
        titles = slerp.text["Title"], lerp.text["Title"]
        pictures = np.asarray(slerp.convert("RGB")), np.asarray(lerp.convert("RGB"))
    assert pictures[0].shape[1] >= 4 * 512 and pictures[0].shape[0] >= 3 * 512  # three rows of four 512 px faces
    for family in ("VAE", "GAN", "Diffusion"):
        assert family in titles[0]
    assert "seed 1 to seed 2" in titles[0] and "4 frames" in titles[0]
    assert "(slerp)" in titles[0] and "(lerp)" in titles[1]
    title_band = [p[:100] for p in pictures]
    assert ink(title_band[0]).sum() > 1000 and not np.array_equal(*title_band)
    label_column = ink(pictures[0][:, :250]).any(axis=1)  # left of the faces: the title, then one name per row
    assert groups(label_column, gap=100) == 4


def test_the_preview_names_each_model_above_its_column(context, panel_of, qtbot):
    panel = morph_alone(context, panel_of, qtbot, all_three=True)
    names = tuple(context.info(key).family_name for key in panel.strips)
    assert panel.preview.captions() == names and len(set(names)) == 3
    shown = pixels_of(panel.preview.grab().toImage())
    background = shown[1, 1]
    rects = panel.preview.caption_rects()
    assert len(rects) == 3
    for rect in rects:
        assert rect.bottom() < panel.preview.target_rect().top()  # above the faces, not over them
        band = shown[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1]
        assert np.any(np.abs(band.astype(int) - background).sum(-1) > 200)  # text drawn there
    panel.current_only.setChecked(True)
    settle(qtbot, context)
    assert panel.preview.captions() == (context.info().label,)


def test_the_export_size_is_one_choice_remembered_for_next_time(window, qtbot, tmp_path):
    panel = morph(window, qtbot, frames=3)
    panel.export_size.setCurrentIndex(panel.export_size.findData(256))
    assert window.diffusion.export_size.face_size() == 256
    export(qtbot, window, tmp_path / "morph.gif", animation=True)
    with Image.open(tmp_path / "morph.gif") as gif:
        assert gif.n_frames == 3 + 1
        assert 3 * 256 <= gif.width < 3 * 512 and 256 <= gif.height < 512
        assert "VAE, GAN and Diffusion: seed 1 to seed 2" in gif.info["comment"].decode()
    from explorer.main_window import MainWindow
    again = MainWindow("cpu", settings=window.settings)
    qtbot.addWidget(again)
    try:
        assert again.interpolate.export_size.face_size() == again.diffusion.export_size.face_size() == 256
    finally:
        again.close()


def test_the_diffusion_gif_is_titled_and_each_step_captioned(window, qtbot, tmp_path):
    window.select_tab("diffusion")
    panel = window.diffusion
    qtbot.waitUntil(lambda: panel.run is not None, timeout=60_000)
    wait_idle(qtbot, window)
    export(qtbot, window, tmp_path / "run.gif", animation=True)
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.width >= 2 * 512 and gif.height >= 512
        title = gif.info["comment"].decode()
        first = np.asarray(gif.convert("RGB"))
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    assert title.startswith(window.context.info(panel.run.model).label)
    assert "DDIM, 50 steps" in title and "seed 0" in title
    assert ink(first[:100]).sum() > 1000  # the title line is drawn
    assert not np.array_equal(first[-100:], last[-100:])  # "pure noise" ... "the finished face"


def test_a_gif_that_cannot_be_written_is_one_sentence_and_the_window_goes_on(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    morph(window, qtbot, all_three=False)
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append((title, text)))
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file, where the GIF's folder would be")
    with qtbot.waitSignal(window.exports.failed, timeout=60_000):
        window.export_animation(str(not_a_folder / "morph.gif"))
    assert said and said[0][0] == "Could not save the animation" and "morph.gif" in said[0][1]
    assert "Traceback" not in said[0][1] and "details are in" not in said[0][1]  # our own sentence, not a bug


def test_all_models_morphs_in_a_family_the_app_has_never_heard_of_too(context, panel_of, qtbot, fourth_checkpoint):
    """One model of each registered family, in their order: a fourth family (registered by the test) comes last."""
    context.load(fourth_checkpoint, select=True)  # what File → Open checkpoint asks of the context
    qtbot.waitUntil(lambda: any(m.family == "fourth" for m in context.models.values()), timeout=30_000)
    panel = morph_alone(context, panel_of, qtbot, all_three=True)
    assert [context.info(key).family for key in panel.model_keys()] == ["vae", "gan", "diffusion", "fourth"]
    assert panel.preview.captions()[-1] == "Fourth"
    assert len(panel.strips) == 4
