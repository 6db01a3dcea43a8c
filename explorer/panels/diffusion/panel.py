"""Diffusion: watch noise become a face step by step (x_t and the predicted x_0), then scrub the timeline.

A model that diffuses in a latent (latent diffusion) shows the same two pictures decoded, the latent itself as one grey
picture per channel, and a strip of words for its pipeline. Which kind a model is, the worker says (its results carry
the latent); the explanation is the family view's, with the model card's steps curve under it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget
from superqt.utils import qthrottled

from explorer import texts
from explorer.app_context import AppContext
from explorer.family_views import view_of
from explorer.panels.diffusion.controls import RunTimeline, SamplerControls, sampler_name
from explorer.panels.diffusion.forward_process_view import ForwardProcessView
from explorer.panels.diffusion.latent_channels import ChannelStrip
from explorer.panels.diffusion.steps_curve import steps_curve_html
from explorer.pictures.slide_pictures import Label, slide_picture
from explorer.widgets.explain_box import ExplainBox
from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.shown_text import shown_html
from explorer.widgets.step_progress import StepProgress
from explorer.worker.requests import Diffuse, Diffused, Result, Step, StepsCurve, StepsCurveRead
from explorer.worker.run_frames_jobs import DecodeRunFrames, RunFramesDecoded, ShowRunFrame

COLUMN_LABELS = (Label("x_t", "the picture being cleaned"), Label("predicted x0", "its guess of the finished face"))
LATENT_COLUMN_LABELS = (Label("x_t, decoded", "the noisy latent, as the decoder draws it"),
                        Label("predicted x0, decoded", "its guess of the clean latent, drawn"))


PIXEL_CAPTIONS = ("x_t — the picture being cleaned", "predicted x₀ — the model's guess of the end result")
PIXEL_TIPS = ("x_t: the picture being cleaned, at the current step.",)


def _captioned(image: QWidget, caption: str) -> tuple[QVBoxLayout, QLabel]:
    box = QVBoxLayout()
    box.addWidget(image, 1)
    label = QLabel(caption)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    box.addWidget(label)
    return box, label


def _animation_picks(frames: int) -> np.ndarray:
    """The steps an exported animation shows: at most 60, evenly spread from the noise to the face."""
    return np.unique(np.linspace(0, frames - 1, min(frames, 60)).round().astype(int))


EXPLAIN_WIDTH = 360
PREVIEW_MS = 33  # the live view's shortest interval between two steps shown: 30 a second


class DiffusionPanel(QWidget):
    first_image = Signal()
    finished = Signal(bool)  # stopped
    export_animation = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self._request = 0
        # A DDIM step takes about 12 ms on a CPU. Updating the progress bar (which repaints at once) at every step
        # kept the GUI thread competing with the worker: runs took a median 14 % longer than the bare sampler in
        # the bench, 8 % with the newest step shown at most 30 times a second. The finished run keeps every step.
        self._show_step = qthrottled(self._show_step_now, timeout=PREVIEW_MS, leading=True, parent=self)
        self._model = ""
        self.run: Diffused | None = None
        self._requests: dict[int, Diffuse] = {}  # the shown run's request and the newest: their settings title a GIF
        self.latent = False  # the model diffuses a latent: the worker's results carry it
        self._presenter = False
        self._curve_request = 0
        self._curve_html = ""
        self._frames_requests: set[int] = set()  # requests for the shown latent run's pictures (their errors)
        self._shown_index = 0  # the run's step whose pictures are on screen (a step not decoded yet shows the last)
        self._build()
        context.current_changed.connect(lambda _: self._model_changed())
        context.models_changed.connect(self._model_changed)
        context.result.connect(self._on_result)
        context.progress.connect(self._on_progress)
        self._model_changed()

    def _build(self) -> None:
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        controls = self.controls = SamplerControls()
        self.sampler, self.steps, self.eta, self.seed = controls.sampler, controls.steps, controls.eta, controls.seed
        self.generate, self.stop = controls.generate, controls.stop
        self.xt = PixelImage("Press Generate to start from pure noise.", 160)
        self.xt.setToolTip(PIXEL_TIPS[0])
        self.x0 = PixelImage("The model's guess of the finished face appears here.", 160)
        self.x0.setToolTip("The predicted x₀: at every step, the model's guess of the final face.")
        self.pipeline = QLabel("")
        self.pipeline.setWordWrap(True)
        self.pipeline.setStyleSheet("QLabel { background: palette(alternate-base); padding: 4px; }")
        self.pipeline.hide()
        self.channels = ChannelStrip(texts.LATENT_DIFFUSION_TAB["channels"], 36)
        self.channels.hide()
        images = QHBoxLayout()
        xt_box, self.xt_caption = _captioned(self.xt, PIXEL_CAPTIONS[0])
        x0_box, self.x0_caption = _captioned(self.x0, PIXEL_CAPTIONS[1])
        images.addLayout(xt_box, 1)
        images.addLayout(x0_box, 1)
        images.addWidget(self.channels, 1)
        self.progress = StepProgress(hidden=False)
        run = self.run_timeline = RunTimeline()
        self.timeline, self.step_label = run.timeline, run.step_label
        self.save_gif, self.export_size = run.save_gif, run.export_size
        self.forward = ForwardProcessView(self.context)
        left = self._left = QVBoxLayout()
        left.addWidget(self.model_label)
        left.addWidget(controls)
        left.addWidget(self.pipeline)
        left.addLayout(images, 3)
        left.addWidget(self.progress)
        left.addWidget(run)
        left.addWidget(self.forward, 2)
        body = self._body = QHBoxLayout(self)
        body.addLayout(left, 3)
        explain = self.explain = ExplainBox(texts.DIFFUSION)
        explain.setMaximumWidth(EXPLAIN_WIDTH)
        body.addWidget(explain, 1, Qt.AlignmentFlag.AlignTop)
        controls.generate_clicked.connect(self.start)
        controls.stop_clicked.connect(self.stop_run)
        run.save_gif_clicked.connect(self.export_animation)
        self.forward.opened.connect(lambda _: self._fit_pictures())
        self.timeline.valueChanged.connect(self._scrub)
        self.timeline.stepped.connect(self.step)

    def _model_changed(self) -> None:
        # The tab shows decoding step by step: any model whose family decodes in steps will do.
        info = self.context.first_model(lambda family: family.iterative)
        key = info.key if info else ""
        if key == self._model:
            return
        self._model = key
        self.generate.setEnabled(info is not None)
        self._set_latent(False)  # until the worker's first answer says otherwise
        self.forward.set_model(info)
        self._curve_html = ""
        self._curve_request = self.context.submit(StepsCurve(key)) if info is not None else 0
        self._explain()
        if info is None:
            self.model_label.setText("<b>No diffusion model is loaded.</b> Open one with File → Open checkpoint…")
            return
        self.model_label.setText(f"Model: <b>{shown_html(info.label)}</b> (this tab always uses a diffusion model)")
        self.start()

    def _explain(self) -> None:
        """The family's own words for this tab (the general ones for a family without), then how many steps."""
        info = self.context.info(self._model) if self._model else None
        own = view_of(info.family).diffusion_text if info is not None else ""
        text = own or texts.DIFFUSION
        self.explain.set_text(f"{text}<br><br>{self._curve_html}" if self._curve_html else text)

    def _set_latent(self, latent: bool) -> None:
        """Show or hide what only a latent model has: the pipeline strip, the channels, the decoded captions."""
        self.latent = latent
        info = self.context.info(self._model) if self._model else None
        words = texts.LATENT_DIFFUSION_TAB
        if latent and info is not None:
            shape = tuple(info.latent_shape)
            pixels, numbers = 3 * info.image_size**2, int(np.prod(shape))
            self.pipeline.setText(words["pipeline"].format(size=info.image_size, latent="×".join(map(str, shape)),
                                                           ratio=pixels / max(numbers, 1)))
            self.pipeline.setToolTip(words["pipeline_tip"].format(pixels=pixels, numbers=numbers))
        self.pipeline.setVisible(latent)
        self.channels.setVisible(latent)
        if not latent:
            self.channels.set_latent(None)
        self.xt_caption.setText(words["xt"] if latent else PIXEL_CAPTIONS[0])
        self.xt.setToolTip(words["xt_tip"] if latent else PIXEL_TIPS[0])
        self.x0_caption.setText(words["x0"] if latent else PIXEL_CAPTIONS[1])

    def start(self) -> None:
        if not self._model:
            return
        request = Diffuse(self._model, self.sampler.currentData(), self.steps.value(), float(self.eta.value()),
                          self.seed.value())
        self.context.worker.stop(DecodeRunFrames.slot_for())  # the old run's pictures are not wanted any more
        self._frames_requests.clear()  # nor word of them (superseded requests never answer: the set would only grow)
        self._request = self.context.submit(request)
        shown = self.run.request_id if self.run is not None else None
        self._requests = {**{k: v for k, v in self._requests.items() if k == shown}, request.id: request}
        self.generate.setEnabled(False)
        self.stop.setEnabled(True)
        self.timeline.setEnabled(False)
        name = sampler_name(request.sampler)
        self.progress.show_step(0, request.steps, f"starting a {name} run of {request.steps} steps…")
        self.step_label.setText(f"{name}, {request.steps} steps: running")

    def stop_run(self) -> None:
        self.context.worker.stop(Diffuse.slot_for())

    def _on_progress(self, step: Step) -> None:
        if step.request_id == self._request:
            self._show_step(step)

    def _show_step_now(self, step: Step) -> None:
        if step.request_id != self._request or (self.run is not None and self.run.request_id == step.request_id):
            return  # a late preview of a run that has finished, or of one that was replaced
        # The timeline's label says "running" till the end.
        self.progress.show_step(step.progress.done, step.progress.total, f"step %v of %m (t = {step.progress.t})")
        if step.preview:
            if "xt" in step.preview:  # a latent model's run decodes pictures for only some of its previews
                self.xt.set_image(step.preview["xt"])
                self.x0.set_image(step.preview["x0"])
            latent = step.preview.get("latent")
            if (latent is not None) != self.latent:
                self._set_latent(latent is not None)
            self.channels.set_latent(latent)

    def _on_result(self, result: Result) -> None:
        if result.request_id == self._curve_request and self._curve_request:
            self._curve_request = 0
            if isinstance(result, StepsCurveRead):
                info = self.context.info(self._model)
                path = info.path if info is not None else "MODEL.safetensors"
                self._curve_html = steps_curve_html(result.curve, result.why, path)
                self._explain()
            return
        if isinstance(result, RunFramesDecoded) or result.request_id in self._frames_requests:
            self._frames_decoded(result)
            return
        if result.request_id != self._request:
            return
        self._show_step.cancel()  # the finished run is shown whole below; no older step may follow it
        self.generate.setEnabled(True)
        self.stop.setEnabled(False)
        if result.error:
            self.step_label.setText(f"Could not sample: {result.error}")
            return
        assert isinstance(result, Diffused)
        self.run = result
        if (result.latents is not None) != self.latent:
            self._set_latent(result.latents is not None)
        frames = result.frames
        self.progress.show_step(frames - 1, self.progress.maximum(),
                                "stopped at step %v of %m" if result.stopped else f"done in {result.seconds:.1f} s")
        self.timeline.setEnabled(True)
        self.save_gif.setEnabled(True)
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, frames - 1)
        self.timeline.setValue(frames - 1)
        self.timeline.blockSignals(False)
        self._scrub(frames - 1)
        self._decode_frames()
        self.finished.emit(result.stopped)
        self.first_image.emit()

    def _scrub(self, index: int) -> None:
        run = self.run
        if run is None:
            return
        index = min(index, run.frames - 1)
        if run.has_pictures(index):
            self.xt.set_image(run.xt[index])
            self.x0.set_image(run.x0[index])
            self._shown_index = index
        else:  # the last step's pictures stay till this one's are decoded (a few hundredths of a second)
            self._frames_requests.add(self.context.submit(ShowRunFrame(
                run.model, run.request_id, run.latents, run.latents0, (index,))))
        if run.latents is not None:
            self.channels.set_latent(run.latents[index])
        self.step_label.setText(self._step_caption(index))

    def _decode_frames(self) -> None:
        """Ask the worker for a latent run's pictures, in the background: first the steps an animation takes,
        nearest the last step, then the rest (the step the timeline shows is asked for apart, at once: _scrub)."""
        run = self.run
        if run is None or run.decoded is None or run.decoded.all():
            return
        missing = np.flatnonzero(~run.decoded)
        last = run.frames - 1
        picked = np.isin(missing, _animation_picks(run.frames))
        order = missing[np.lexsort((np.abs(missing - last), ~picked))]
        self._frames_requests.add(self.context.submit(DecodeRunFrames(
            run.model, run.request_id, run.latents, run.latents0, tuple(int(i) for i in order))))

    def _frames_decoded(self, result: Result) -> None:
        run = self.run
        self._frames_requests.discard(result.request_id)
        if result.error:
            self.step_label.setText(f"Could not draw the run's pictures: {result.error}")
            return
        if run is None or result.run != run.request_id:
            return
        wanted = min(self.timeline.value(), run.frames - 1)
        running = self.stop.isEnabled()  # a new run's live pictures are on screen: leave them
        for i, picture_t, picture_0 in zip(result.indices, result.xt, result.x0):
            if run.decoded[i]:  # an earlier request's answer came first; an export may be reading it
                continue
            run.xt[i] = picture_t
            if picture_0 is not None:
                run.x0[i] = picture_0
            run.decoded[i] = True
            if i == wanted and not running:
                self.xt.set_image(run.xt[i])
                self.x0.set_image(run.x0[i])
                self._shown_index = i

    def animation_not_ready(self) -> str:
        """Why the run cannot be saved as an animation yet ("" when it can): the steps an animation takes of a
        latent run are still being decoded."""
        run = self.run
        if run is None or run.decoded is None:
            return ""
        picks = _animation_picks(run.frames)
        done = int(run.decoded[picks].sum())
        if done == len(picks):
            return ""
        return (f"The run's pictures are still being drawn ({done} of the {len(picks)} an animation takes); save "
                f"the animation again in a moment.")

    def export_title(self) -> str:
        """The exported picture's title line: the model and the sampler, steps, eta and seed of the run shown (the
        one going, while it goes)."""
        running = self.stop.isEnabled()
        shown = self._request if running or self.run is None else self.run.request_id
        request = self._requests.get(shown)
        info = self.context.info(request.model if request is not None else self._model)
        title = info.label if info else "Latent Explorer"
        if request is None:
            return title
        eta = f", eta {request.eta:.1f}" if request.sampler == "ddim" else ""
        stopped = f" (stopped after {self.run.frames - 1})" if not running and self.run.stopped else ""
        return f"{title}: {sampler_name(request.sampler)}, {request.steps} steps{stopped}{eta}, seed {request.seed}"

    def _step_caption(self, index: int) -> str:
        t = self.run.timesteps[index]
        where = "pure noise" if index == 0 else ("the finished face" if t < 0 else f"t = {t}")
        return f"step {index} of {self.run.frames - 1}: {where}"

    def current_image(self) -> np.ndarray | None:
        """x_t and the predicted x0 as shown, at the export size, titled and named."""
        a, b = self.xt.image(), self.x0.image()
        if a is None or b is None:
            return None
        running = self.stop.isEnabled()  # the views then show a live step, not the timeline's
        caption = "" if running or self.run is None else self._step_caption(self._shown_index)
        labels = LATENT_COLUMN_LABELS if self.latent else COLUMN_LABELS
        return slide_picture([[a, b]], self.export_size.face_size(), self.export_title(), column_labels=labels,
                             caption=caption)

    def animation_job(self) -> Callable[[], list[np.ndarray]] | None:
        """What makes the run's frames for a GIF, noise to face (at most 60, at the export size, titled, named,
        each step captioned), holding its own copy of what it needs: it runs away from the GUI thread. None before
        a run, or while a latent run's pictures for it are still being decoded (animation_not_ready says so)."""
        run = self.run
        if run is None or self.animation_not_ready():
            return None
        picks = _animation_picks(run.frames)
        title, size = self.export_title(), self.export_size.face_size()
        captions = [self._step_caption(int(i)) for i in picks]
        labels = LATENT_COLUMN_LABELS if run.latents is not None else COLUMN_LABELS
        xt, x0 = run.xt[picks].copy(), run.x0[picks].copy()  # copies: the GUI thread may still write the run's

        def frames() -> list[np.ndarray]:
            return [slide_picture([[a, b]], size, title, column_labels=labels, caption=caption)
                    for a, b, caption in zip(xt, x0, captions)]
        return frames

    def animation_frames(self) -> list[np.ndarray]:
        job = self.animation_job()
        return job() if job is not None else []

    def export_state(self) -> dict:
        return {"tab": "diffusion", "sampler": self.sampler.currentData(), "steps": self.steps.value(),
                "eta": float(self.eta.value()), "seed": self.seed.value(), "title": self.export_title()}

    def set_presenter(self, on: bool) -> None:
        """A projector's layout: large x_t and x̂₀; the explanation one line under them, not a column beside them;
        the forward process folded to a button."""
        self.explain.move_for_presenter(on, self._left, self._body, EXPLAIN_WIDTH, stretch=1)
        self._presenter = on
        self.forward.set_foldable(on)
        self._left.setStretchFactor(self.forward, 0 if on else 2)
        self._fit_pictures()

    def _fit_pictures(self) -> None:
        """The pictures' smallest sizes: large on a projector, unless the forward process is opened there too and
        the two must share 768 pixels of height."""
        on = self._presenter
        shared = on and self.forward.unfold.isChecked()
        for view in (self.xt, self.x0):
            view.set_minimum(96 if shared else 220 if on else 160)
        self.channels.set_minimum(28 if shared else 48 if on else 36)

    def step(self, delta: int) -> None:
        """A clicker's Page Down / Page Up: the next or previous step of the finished run."""
        self.timeline.step(delta)

    def use_image(self, path: str) -> None:
        self.forward.use_image(path)
