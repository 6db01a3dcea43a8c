"""Explore: drag sliders through a model's latent space and watch the face follow."""

from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from explorer import texts
from explorer.app_context import AppContext
from explorer.family_views import view_of
from explorer.panels.explore.controls import MAX_SEED, ExploreControls
from explorer.panels.explore.direction_banks import DirectionBanks
from explorer.panels.explore.drag_drafts import DRAFT_SAMPLER, DRAFT_STEPS, DraftTag, DragDrafts
from explorer.panels.explore.encoded_face_view import EncodedFaceView
from explorer.panels.explore.history import ExploreHistory, ExploreSnapshot
from explorer.panels.explore.latent_state import LatentState
from explorer.panels.explore.map_view import LatentMapView
from explorer.pictures.picture_state import ExploreState
from explorer.widgets.explain_box import ExplainBox
from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.shown_text import shown_html
from explorer.widgets.step_progress import StepProgress
from explorer.worker.requests import (
    Encoded,
    EncodeImage,
    Endpoint,
    Render,
    Rendered,
    Result,
    Step,
)
from models.family import find_family

# The Named bank's longest row ("very short … down to the shoulders") fits unscrolled; in presenter mode the words
# go under the sliders and the column may be narrower.
NORMAL_BANK_WIDTH = 450
PRESENTER_FACE = 380  # smallest face in presenter mode: a 1024x768 projector still shows it large


class ExplorePanel(QWidget):
    rendered = Signal(float, float)  # seconds from request to screen, worker seconds
    first_image = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.state: LatentState | None = None
        self._model = ""
        self._drawn_id = 0
        self._pending_created: float | None = None
        self._encode_id = 0
        self._restoring: ExploreState | None = None
        self._report: dict | None = None  # the brought-in face's VAE report shown under the face
        self._undoing = False
        self._random = False  # the seed is changing because of "Random face"
        self.history = ExploreHistory(self._go_to, self)
        self.render_count = 0
        self.shown_draft = False  # the face on screen is a draft (drawn in a few steps while a slider moved)
        self._family = None
        self.drafts = DragDrafts(self)
        self._build()
        self.drafts.refine.connect(self.request_render)
        context.current_changed.connect(self._model_changed)
        context.analysis_ready.connect(self._analysis_ready)
        # A training run saved new weights for this model: draw the same point of the space again.
        context.weights_replaced.connect(lambda key: key == self._model and self.request_render())
        context.analysis_progress.connect(self._analysis_progress)
        context.result.connect(self._on_result)
        context.progress.connect(self._on_progress)
        self.image.painted.connect(self._painted)
        self._model_changed(context.current)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.image = PixelImage("No model yet — train one in the Train tab or open a checkpoint (File → Open).", 256)
        self.image.setToolTip("The model's drawing of the numbers set by the sliders.")
        # The seed and bring-in rows sit under the face; presenter mode moves them under the sliders, so the face
        # can take the whole height of a projector's screen.
        self._controls = ExploreControls()
        seed_row, bring_row = self._controls.seed_row, self._controls.bring_row
        self.seed, self.random_button, self.reset_button = seed_row.seed, seed_row.random_button, seed_row.reset_button
        self.psi, self.steps, self.map_button = seed_row.psi, seed_row.steps, seed_row.map_button
        self.face_index, self.face_button = bring_row.face_index, bring_row.face_button
        self.open_button = bring_row.open_button
        self.guide_box = self._controls.guide_box
        self.draft_tag = DraftTag(self.image)
        self.progress = StepProgress()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)  # always: its untrusted parts go through shown_html
        self.encoded = EncodedFaceView()
        # The map sits beside the face, not in place of the sliders, so the target can be watched while dragging.
        self.map_view = LatentMapView(self.context)
        self.map_view.hide()
        self.pictures = QSplitter(Qt.Orientation.Horizontal)
        self.pictures.setChildrenCollapsible(False)
        self.pictures.addWidget(self.image)
        self.pictures.addWidget(self.map_view)
        left = QWidget()
        left_layout = self._left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.pictures, 3)
        left_layout.addWidget(self._controls)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.message)
        left_layout.addWidget(self.encoded, 2)
        splitter = self._splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self._build_right())
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 520])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        seed_row.seed_changed.connect(self._seed_changed)
        seed_row.random_clicked.connect(self.random_face)
        seed_row.reset_clicked.connect(self.reset)
        seed_row.drawing_changed.connect(self.request_render)
        seed_row.map_toggled.connect(self.show_map)
        bring_row.face_asked.connect(lambda index: self.bring_in(Endpoint("face", index)))
        self.map_view.face_chosen.connect(self._map_face_chosen)
        self.map_view.latent_dragged.connect(self._map_dragged)
        self.guide_box.changed.connect(self.request_render)
        self.guide_box.scale_moved.connect(self._render_move)
        self.guide_box.scale.slider.sliderReleased.connect(self.drafts.released)

    def _build_right(self) -> QWidget:
        """The slider banks over the explanation."""
        self.banks = DirectionBanks()
        self.attribute_bank, self.principal_bank, self.raw_bank = self.banks.banks()
        self.banks.direction_moved.connect(self._direction_moved)
        self.banks.raw_moved.connect(self._raw_moved)
        self.banks.handle_released.connect(self.drafts.released)
        self.explain = ExplainBox(texts.NO_MODEL)
        right = self._right = QWidget()
        right_layout = self._right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.banks, 3)
        right_layout.addWidget(self.explain, 1)
        right.setMinimumWidth(NORMAL_BANK_WIDTH)
        return right

    def set_presenter(self, on: bool) -> None:
        """A projector's layout: a large face, sliders with their words under them, explanations on one line."""
        self.image.set_minimum(PRESENTER_FACE if on else 256)
        self._right.setMinimumWidth(0 if on else NORMAL_BANK_WIDTH)
        self.banks.set_compact(on)
        self.explain.set_compact(on)
        self.guide_box.set_folded(on)  # a projector's column keeps its height for the sliders; a click opens it
        self._right_layout.setStretchFactor(self.explain, 0 if on else 1)
        self.map_view.explain.set_compact(on)
        if on:
            self._right_layout.insertWidget(1, self._controls)
        else:
            self._left_layout.insertWidget(1, self._controls)
        total = max(1, sum(self._splitter.sizes()))
        self._splitter.setSizes([total * 11 // 20, total * 9 // 20] if on else [total * 6 // 11, total * 5 // 11])

    def show_map(self, shown: bool) -> None:
        """Open or close the latent map beside the face (it is computed the first time it opens)."""
        self.map_button.setChecked(shown)
        self.map_button.setText("Hide the map" if shown else "Show the map")
        self.map_view.setVisible(shown)
        if shown:
            half = max(1, self.pictures.width() // 2)
            self.pictures.setSizes([half, half])

    # ------------------------------------------------------------------ model and analysis
    def _model_changed(self, key: str) -> None:
        info = self.context.info(key)
        self._model = key
        enabled = info is not None
        for w in (self.seed, self.random_button, self.reset_button, self.face_button, self.open_button,
                  self.face_index):
            w.setEnabled(enabled)
        self.history.forget()  # its steps are latents of the model shown before
        self._encode_id = 0  # a face still being brought in was for the model shown before
        self.progress.finish()
        self.message.setText("")
        self.drafts.forget()
        self._family = find_family(info.family) if info is not None else None
        self.guide_box.setVisible(self._family is not None and self._family.guided)
        if info is None:
            self._show_draft_tag(False)
            self.state = None
            self.explain.set_text(texts.NO_MODEL)
            self.map_view.set_latent("", None)
            return
        family = self._family
        self.psi.setVisible(family is not None and family.truncation)
        self.steps.setVisible(family is not None and family.iterative)
        self.explain.set_text(view_of(info.family).explore_text)
        self.state = LatentState.from_seed(info.latent_shape, self.seed.value())
        self._show_report(None)
        self._apply_analysis()
        self.request_render()

    def _analysis_progress(self, key: str, step: Step) -> None:
        if key == self._model:
            self.banks.show_progress(step)

    def _analysis_ready(self, key: str) -> None:
        if key == self._model:
            self._apply_analysis()
            self.request_render()

    def _apply_analysis(self) -> None:
        info, analysis = self.context.info(self._model), self.context.analyses.get(self._model)
        state = self.state
        if info is None or state is None:
            return
        state.set_directions(self.banks.set_analysis(info, analysis))
        self._try_restore()
        self._sync_sliders()

    # ------------------------------------------------------------------ sliders and seeds
    def _direction_moved(self, key: str, value: float) -> None:
        if self.state is not None and key in self.state.directions:
            before = self._snapshot()
            self.state.set_amount(key, value)
            self._sync_sliders(raw_only=True)
            self._render_move()
            self._record(f"move {self.banks.label(key)}", before, merge_key=key)

    def _raw_moved(self, index: int, value: float) -> None:
        if self.state is not None:
            before = self._snapshot()
            self.state.set_raw(index, value)
            self._render_move()
            self._record(f"move {self.banks.label(f'dim:{index}')}", before, merge_key=f"dim:{index}")

    def _sync_sliders(self, raw_only: bool = False) -> None:
        if self.state is not None:
            self.banks.sync(self.state, raw_only)

    def _seed_changed(self, seed: int) -> None:
        if self.state is not None:
            before = self._snapshot()
            self.state.set_seed(seed)
            self._show_report(None)
            self._sync_sliders()
            self.request_render()
            # Typing a seed or holding an arrow is one step; every random face is a step of its own.
            self._record(f"seed {seed}", before, merge_key=None if self._random else "seed")

    def random_face(self) -> None:
        self._random = True
        try:
            self.seed.setValue(random.randrange(MAX_SEED))
        finally:
            self._random = False

    def reset(self) -> None:
        if self.state is not None:
            before = self._snapshot()
            self.state.set_seed(self.seed.value())
            self._sync_sliders()
            self.request_render()
            self._record("reset sliders", before)

    def set_latent(self, latent: np.ndarray, what: str, report: dict | None = None) -> None:
        """Go to a latent (a face brought in: with the VAE's report on it), as one undoable step."""
        if self.state is not None:
            before = self._snapshot()
            self.state.set_base(latent)
            if report is not None:
                self._show_report(report)
            self._sync_sliders()
            self.request_render()
            self._record(what, before)

    # ------------------------------------------------------------------ undo and redo
    def _snapshot(self) -> ExploreSnapshot:
        return ExploreSnapshot(self.state.snapshot(), self._report)

    def _record(self, text: str, before: ExploreSnapshot, merge_key: str | None = None) -> None:
        """One undoable step, from `before` to now (nothing while an undo or redo itself changes things)."""
        if not self._undoing and self.state is not None:
            self.history.record(text, before, self._snapshot(), merge_key)

    def _go_to(self, snapshot: ExploreSnapshot) -> None:
        if self.state is None:
            return
        self._undoing = True
        try:
            self.state.apply_snapshot(snapshot.state)
            self.seed.blockSignals(True)
            self.seed.setValue(self.state.seed)
            self.seed.blockSignals(False)
            self._show_report(snapshot.report)
            self._sync_sliders()
            self.request_render()
        finally:
            self._undoing = False

    def _show_report(self, report: dict | None) -> None:
        """The brought-in face's VAE view under the face (None hides it)."""
        self._report = report
        self.banks.show_posterior(report, self._model)
        if report is None:
            self.encoded.hide()
        else:
            encoder = self.context.models.get(report.get("model", ""))  # None once that model is closed
            self.encoded.show_report(report, encoder.family_name if encoder is not None else "model")

    def _map_face_chosen(self, index: int) -> None:
        self.face_index.setValue(index)
        self.bring_in(Endpoint("face", index))

    def _map_dragged(self, delta: np.ndarray) -> None:
        if self.state is not None and np.size(delta) == self.state.base.size:
            before = self._snapshot()
            self.state.shift(delta)
            self._sync_sliders(raw_only=True)
            self._render_move()
            self._record("drag on the map", before, merge_key="map")

    # ------------------------------------------------------------------ requests and results
    def request_render(self, draft: bool = False) -> None:
        """Draw the current point: in full, or (draft) in a few quick steps while a slider moves."""
        if self.state is None or not self._model:
            return
        if not draft:
            self.drafts.forget()
        latent = self.state.latent()
        steps, sampler = (DRAFT_STEPS, DRAFT_SAMPLER) if draft else (int(self.steps.value()), "ddim")
        guide = self.guide_box
        self.context.submit(Render(self._model, latent, psi=float(self.psi.value()), steps=steps, sampler=sampler,
                                   draft=draft, attributes=guide.wants(), guidance=guide.guidance(),
                                   guide=guide.guide_name()))
        self.map_view.set_latent(self._model, latent)  # the target leads the picture: a projection is instant

    def _render_move(self) -> None:
        """A slider (or the map's target) moved: a draft while it keeps moving, for a model that draws in steps and
        whose full face takes more steps than a draft; the full face once it rests."""
        drafts = self._family is not None and self._family.iterative and DRAFT_STEPS < int(self.steps.value())
        held = self.banks.handle_held() or self.guide_box.scale.slider.isSliderDown()
        self.request_render(draft=drafts and self.drafts.moved(held))

    def bring_in(self, source: Endpoint) -> None:
        if not self._model:
            return
        # The encoder's report (posterior, reconstruction) comes from a model that has one, whichever is shown.
        encoder = self.context.first_model(lambda family: family.has_encoder)
        request = EncodeImage(self._model, encoder.key if encoder else None, source)
        self._encode_id = self.context.submit(request)
        self._encode_what = source.describe()
        self.message.setText(f"Bringing in {shown_html(source.describe())}…")

    def _on_progress(self, step: Step) -> None:
        if step.request_id == self._encode_id:
            self.progress.show_step(step.progress.done, step.progress.total, f"{step.progress.message} %v/%m")
            if "image" in step.preview:
                self.image.set_image(step.preview["image"])

    def _on_result(self, result: Result) -> None:
        if isinstance(result, Rendered) or (result.slot == Render.slot_for() and result.error):
            self._on_rendered(result)
        elif result.request_id == self._encode_id:
            self.progress.finish()
            if result.error:
                self.message.setText(f"<b>Could not bring in that face.</b> {shown_html(result.error)}")
                return
            assert isinstance(result, Encoded)
            self.message.setText("")
            if result.model == self._model:  # else it was asked of a model that is no longer shown
                self.set_latent(result.latent, f"bring in {self._encode_what}", result.encoder)

    def _on_rendered(self, result: Result) -> None:
        if result.request_id <= self._drawn_id:
            return  # an older result arriving late never covers a newer one
        self._drawn_id = result.request_id
        if result.error:
            self.message.setText(f"<b>Could not draw the face.</b> {shown_html(result.error)}")
            return
        if result.model != self._model:
            return
        if self.message.text().startswith("<b>Could not draw"):
            self.message.setText("")  # the face draws again: the old failure no longer applies
        self.render_count += 1
        # Timed only when it can be painted at once: a face that arrives while the tab is hidden is painted when the
        # tab is next shown, and that wait is not the model's (it showed "render 687226 ms").
        self._pending_created = result.created if self.image.isVisible() else None
        self._worker_seconds = result.seconds
        self.image.set_image(result.image)
        self._show_draft_tag(result.draft)

    def _show_draft_tag(self, draft: bool) -> None:
        self.shown_draft = draft
        self.draft_tag.show_for(draft, int(self.steps.value()))

    def _painted(self, when: float) -> None:
        if self._pending_created is not None:
            self.rendered.emit(when - self._pending_created, self._worker_seconds)
            self._pending_created = None
        self.first_image.emit()

    # ------------------------------------------------------------------ export and restore
    def current_image(self) -> np.ndarray | None:
        return self.image.image()

    def export_state(self) -> dict | None:
        info = self.context.info()
        if self.state is None or info is None:
            return None
        return {"tab": "explore", "model": {"path": info.path, "family": info.family, "label": info.label},
                "psi": float(self.psi.value()), "steps": int(self.steps.value()), **self.state.to_dict()}

    def restore_state(self, data: ExploreState) -> None:
        """Apply an exported (and checked) state once its model is the current one and its directions are known."""
        self._restoring = data
        if self._try_restore():
            self._sync_sliders()
            self.request_render()

    def _try_restore(self) -> bool:
        data, info = self._restoring, self.context.info(self._model)
        if data is None or info is None or self.state is None or self._model not in self.context.analyses:
            return False
        if info.path != data.model.path and info.label != data.model.label:
            return False  # its model is still loading; the current one is another
        self._restoring = None
        try:  # the one thing only the model can check: the latent's size; nothing has changed when it fails
            self.state.restore(data.latent, data.seed, data.base, data.amounts)
        except ValueError as exc:
            self.message.setText(f"<b>Could not restore that picture's state.</b> {shown_html(exc)}")
            return False
        self.seed.blockSignals(True)
        self.seed.setValue(data.seed)
        self.seed.blockSignals(False)
        self.psi.setValue(data.psi)
        self.steps.setValue(data.steps)
        return True
