"""Interpolate: morph face A into face B in one model or in one model of each family, as a strip and an animation."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer import texts
from explorer.app_context import AppContext
from explorer.panels.interpolate.controls import MorphPlayback, MorphSettings
from explorer.pictures.slide_pictures import (
    Label,
    morph_frames,
    morph_strip,
    morph_title,
)
from explorer.widgets.captioned_image import CaptionedPixelImage
from explorer.widgets.endpoint_picker import EndpointPicker
from explorer.widgets.explain_box import ExplainBox
from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.shown_text import shown_html
from explorer.widgets.step_progress import StepProgress
from explorer.worker.requests import Interpolate, Interpolated, Result, Step
from models.family import family_names
from models.image_io import make_grid

FRAME_MS = 120


def same_size(frames: list[np.ndarray], size: int | None = None) -> np.ndarray:
    """Frames of models of different resolutions (e.g. 64 and 32 px) enlarged with crisp pixels to the largest
    (or to `size`)."""
    size = size or max(f.shape[0] for f in frames)
    out = []
    for frame in frames:
        if frame.shape[0] != size:
            frame = np.asarray(Image.fromarray(frame).resize((size, size), Image.NEAREST))
        out.append(frame)
    return np.stack(out)


class InterpolatePanel(QWidget):
    animation_bounces = True  # the GIF plays A to B and back, a loop with no jump
    first_image = Signal()
    export_image = Signal()
    export_animation = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self._request = 0
        self.strips: dict[str, np.ndarray] = {}
        self._order: list[str] = []
        self._build()
        context.current_changed.connect(lambda _: self.request())
        context.models_changed.connect(self._name_the_families)
        context.models_changed.connect(self.request)
        context.result.connect(self._on_result)
        context.progress.connect(self._on_progress)
        self.request()

    def _build(self) -> None:
        self.a = EndpointPicker("Face A", 1)
        self.b = EndpointPicker("Face B", 2)
        top = QHBoxLayout()
        for w in (self.a, self.b):
            top.addWidget(w)
        self.settings = MorphSettings()
        s = self.settings
        self.frames, self.mode, self.current_only, self.all_three, self.go = (
            s.frames, s.mode, s.current_only, s.all_three, s.go)
        self.strip_host = QWidget()
        self.strip_layout = QGridLayout(self.strip_host)
        self.strip_layout.setColumnStretch(1, 1)
        self.strip_images: list[tuple[QLabel, PixelImage]] = []
        self.preview = CaptionedPixelImage("The animation appears here.", 160)
        # Under the morph in a window; beside it, above the explanation, on a projector (where height is short).
        self._playback = MorphPlayback()
        p = self._playback
        self.play, self.position, self.export_size, self.save_strip, self.save_gif = (
            p.play, p.position, p.export_size, p.save_strip, p.save_gif)
        p.save_strip_clicked.connect(self.export_image)
        p.save_gif_clicked.connect(self.export_animation)
        self.progress = StepProgress()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)  # always: its untrusted parts go through shown_html
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.settings)
        layout.addWidget(self.strip_host, 2)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(self._build_lower(), 3)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._advance)
        self.play.toggled.connect(self._play_toggled)
        self.position.valueChanged.connect(self._show_frame)
        self.position.stepped.connect(self.step)
        for signal in (self.a.changed, self.b.changed, self.settings.changed):
            signal.connect(lambda *_: self.request())

    def _name_the_families(self) -> None:
        self.settings.set_families([m.family for m in self.context.models.values()])
        self.explain.set_text(texts.interpolate(self.all_three.text()))

    def _build_lower(self) -> QHBoxLayout:
        """The animation with its playback under it, beside the explanation."""
        preview_box = self._preview_box = QVBoxLayout()
        preview_box.addWidget(self.preview, 1)
        preview_box.addWidget(self._playback)
        explain = self.explain = ExplainBox(texts.interpolate(self.all_three.text()))
        explain.setMaximumWidth(480)
        side = self._side = QVBoxLayout()
        side.addWidget(explain)
        side.addStretch(1)
        lower = QHBoxLayout()
        lower.addLayout(preview_box, 1)
        lower.addLayout(side, 1)
        return lower

    # ------------------------------------------------------------------ requests
    def model_keys(self) -> tuple[str, ...]:
        if self.all_three.isChecked():
            chosen = [self.context.of_family(f) for f in family_names()]
            return tuple(m.key for m in chosen if m is not None)
        return (self.context.current,) if self.context.current else ()

    def request(self) -> None:
        keys = self.model_keys()
        a, b = self.a.endpoint(), self.b.endpoint()
        if not keys:
            self.message.setText("No model yet — open a checkpoint (File → Open) or train one.")
            return
        if a is None or b is None:
            self.message.setText("Choose an image file for each image end.")
            return
        self._asked = Interpolate(keys, a, b, self.frames.value(), self.mode.currentData())
        self._request = self.context.submit(self._asked)
        self.message.setText("Morphing…")

    def _on_progress(self, step: Step) -> None:
        if step.request_id == self._request:
            self.progress.show_step(step.progress.done, step.progress.total, f"{step.progress.message} %v/%m")

    def _on_result(self, result: Result) -> None:
        if result.request_id != self._request:
            return
        self.progress.finish()
        if result.error:
            self.message.setText(f"<b>Could not morph these faces.</b> {shown_html(result.error)}")
            return
        assert isinstance(result, Interpolated)
        self.strips = dict(result.strips)
        self._order = list(result.strips)
        self._labels = dict(result.labels)
        self.shown = self._asked  # what the strips show, for the exports' titles (the controls may change)
        self.preview.set_captions([label.name for label in self.model_labels()] if len(self._order) > 1
                                  else [label.detail for label in self.model_labels()])
        self.message.setText(f"Done in {result.seconds:.1f} s.")
        self._show_strips()
        frames = len(next(iter(self.strips.values())))
        self.position.setRange(0, frames - 1)
        self._show_frame(self.position.value())
        if not self.play.isChecked():
            self.timer.start()
        self.first_image.emit()

    def _show_strips(self) -> None:
        while self.strip_layout.count():
            item = self.strip_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.strip_images = []
        for row, key in enumerate(self._order):
            info = self.context.info(key)
            name = QLabel(f"<b>{info.family_name if info else '?'}</b><br><small>{self._labels.get(key, '')}</small>")
            name.setWordWrap(True)
            name.setMaximumWidth(150)
            view = PixelImage("", 40)
            view.set_image(make_grid(self.strips[key], columns=len(self.strips[key]), padding=2))
            self.strip_layout.addWidget(name, row, 0)
            self.strip_layout.addWidget(view, row, 1)
            self.strip_images.append((name, view))

    # ------------------------------------------------------------------ animation
    def _play_toggled(self, paused: bool) -> None:
        self.play.setText("Play" if paused else "Pause")
        if paused:
            self.timer.stop()
        elif self.strips:
            self.timer.start()

    def _advance(self) -> None:
        if self.position.maximum() > 0:
            self.position.setValue((self.position.value() + 1) % (self.position.maximum() + 1))

    def _show_frame(self, index: int) -> None:
        if self.strips:
            frames = [strip[min(index, len(strip) - 1)] for strip in self.strips.values()]
            self.preview.set_image(make_grid(same_size(frames), columns=len(frames), padding=2))

    def model_labels(self) -> list[Label]:
        """Each shown model's family name and its label (size and step), in the order of the strips."""
        infos = [self.context.info(key) for key in self._order]
        return [Label(info.family_name, info.label) if info else Label("?") for info in infos]

    def export_title(self) -> str:
        """The title line of the exported strip and GIF: model(s), the two ends, lerp or slerp, frames."""
        if not self.strips:
            return ""
        labels = self.model_labels()
        models = [labels[0].detail or labels[0].name] if len(labels) == 1 else [label.name for label in labels]
        frames = len(next(iter(self.strips.values())))
        return morph_title(models, self.shown.a.describe(), self.shown.b.describe(), self.shown.mode, frames)

    def animation_job(self) -> Callable[[], list[np.ndarray]] | None:
        """What makes the morph's frames for a GIF (at the export size, the models side by side, titled and named),
        holding its own copy of what it needs: it runs away from the GUI thread. None before a morph."""
        if not self.strips:
            return None
        return functools.partial(morph_frames, [self.strips[k] for k in self._order], self.model_labels(),
                                 self.export_title(), self.export_size.face_size())

    def animation_frames(self) -> list[np.ndarray]:
        job = self.animation_job()
        return job() if job is not None else []

    def current_image(self) -> np.ndarray | None:
        """The strips as one picture at the export size, titled, each model's row named."""
        if not self.strips:
            return None
        return morph_strip([self.strips[k] for k in self._order], self.model_labels(), self.export_title(),
                           self.export_size.face_size())

    def export_state(self) -> dict:
        return {"tab": "interpolate", "a": self.a.to_dict(), "b": self.b.to_dict(), "frames": self.frames.value(),
                "mode": self.mode.currentData(), "all_three": self.all_three.isChecked(),
                "title": self.export_title()}

    def use_image(self, path: str) -> None:
        """A dropped image becomes face B (A stays, so one can morph towards the new face)."""
        self.b.set_image(path)

    def set_presenter(self, on: bool) -> None:
        """A projector's layout: the explanation on one line, so the strips and the morph get the room."""
        self.explain.set_compact(on)
        self.explain.setMaximumWidth(16777215 if on else 480)
        if on:
            self._side.insertWidget(0, self._playback)
        else:
            self._preview_box.addWidget(self._playback)

    def step(self, delta: int) -> None:
        """A clicker's Page Down / Page Up: pause the morph and show its next or previous frame."""
        if self.strips:
            self.play.setChecked(True)  # paused: the person steps through it
            self.position.step(delta)

    def stop_animation(self) -> None:
        self.timer.stop()
