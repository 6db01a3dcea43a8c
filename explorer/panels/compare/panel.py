"""Compare: every family measured on the same held-out faces, drawn from the same seeds, and morphing
between the same two faces — with the numbers read out in plain words."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer import texts
from explorer.app_context import AppContext
from explorer.family_views import view_of
from explorer.panels.compare.guidance_hits import GuidanceHits
from explorer.panels.compare.knob_chart import KnobBox
from explorer.panels.compare.reading import reading
from explorer.panels.compare.sections import (
    GRID_SEEDS,
    MeasureControls,
    MorphStrips,
    ReadingBox,
    SeedGrids,
)
from explorer.panels.interpolate.panel import same_size
from explorer.panels.train.time_left import TimeLeft
from explorer.widgets.explain_box import ExplainBox
from explorer.widgets.metric_bars import LINE_TEXT, MetricBars
from explorer.worker.compare_jobs import (
    CompareMorph,
    Measure,
    Measured,
    Sampled,
    SampleGrid,
    StoredFigures,
)
from explorer.worker.requests import Endpoint, Interpolated, Result, Step
from models.family import family_names, get_family
from models.guidance_measures import knob_of
from models.image_io import make_grid

MORPH_FRAMES = 8
WIDE_LAYOUT = 1100  # narrower than this (the charts need about 620 px, the reading 200 more), stack the rows


class ComparePanel(QWidget):
    first_image = Signal()  # the figures, grids and morphs have all arrived once (the screenshot waits for it)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        # The families compared, in the app's order: those registered when the tab is built (each has its grid and
        # its strip); the figures and everything else below are keyed by their names.
        self.families = family_names()
        self.figures: dict[str, dict] = {}  # family -> figures of the model shown for it
        self.sources: dict[str, str] = {}  # family -> where its figures come from
        self.measuring: dict[int, str] = {}  # request id -> family
        self.measured_keys: dict[str, str] = {}  # family -> model key the figures belong to
        self.errors: dict[str, str] = {}
        self.step_text: dict[str, str] = {}
        self._grid_request = 0
        self._morph_request = 0
        self._shown_once = False
        self._announced = False
        self.eta = TimeLeft()  # of the model being measured; its clock is replaced in tests
        self._eta_request = 0
        self._eta_timer = QTimer(self)  # counts the estimate down between steps, which can be a minute apart
        self._eta_timer.setInterval(1000)
        self._eta_timer.timeout.connect(self._show_time_left)
        self._build()
        context.models_changed.connect(self._models_changed)
        context.weights_replaced.connect(lambda _: self._models_changed())
        context.result.connect(self._on_result)
        context.progress.connect(self._on_progress)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        controls = MeasureControls()
        self.samples, self.recompute, self.stop = controls.samples, controls.recompute, controls.stop
        self.progress, self.time_left = controls.progress, controls.time_left
        controls.recompute_clicked.connect(lambda: self.measure(recompute=True))
        controls.stop_clicked.connect(self.stop_measuring)
        self.status = QLabel("")
        self.status.setToolTip("Each model's figures come from as many of its faces as the number of samples, "
                               "against as many held-out real faces it never saw in training. A model's card holds "
                               "the figures measured when it was made.")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)

        # Three a row: nine charts in three rows that read as realism, variety, then smoothness, redrawing and
        # time, each wide enough for four families' bars even on a 1024-pixel projector.
        self.bars = MetricBars(columns=3)
        # Which colour is which family, once above all the charts: a chart's titles under its bars can be scrolled
        # out of sight on a projector, and two of the colours look alike to some viewers.
        self.colour_key = QLabel("Bars: " + " ".join(
            f"<span style='color:{view_of(f).colour}'>■</span>&nbsp;{view_of(f).title}&nbsp;" for f in self.families)
            + f" &nbsp;<span style='color:#555555'>- - -</span>&nbsp;{LINE_TEXT}")
        self.colour_key.setWordWrap(True)  # six entries must not widen the window past a 1024 px projector
        self.colour_key.setTextFormat(Qt.TextFormat.RichText)
        charts = QVBoxLayout()
        charts.setContentsMargins(0, 0, 0, 0)
        charts.addWidget(self.colour_key)
        charts.addWidget(self.bars, 1)
        reading_box = self._reading_box = ReadingBox()
        self.reading = reading_box.reading
        numbers = self._numbers = QHBoxLayout()
        numbers.addLayout(charts, 3)
        numbers.addWidget(reading_box, 1)

        seeds_box = SeedGrids(self.families)
        self.first_seed, self.draw = seeds_box.first_seed, seeds_box.draw
        self.grids, self.grid_titles = seeds_box.grids, seeds_box.grid_titles
        seeds_box.draw_asked.connect(self.request_grids)
        morph_box = MorphStrips(self.families)
        self.face_a, self.face_b, self.morph = morph_box.face_a, morph_box.face_b, morph_box.morph
        self.strips, self.strip_titles, self.morph_message = morph_box.strips, morph_box.strip_titles, morph_box.message
        morph_box.morph_asked.connect(self.request_morph)
        # Each family's "quality for variety" knob on one chart, and beside it what guidance toward attributes
        # achieves: the trade the bars above cannot show, since they measure every model at one setting.
        self.knobs = KnobBox()
        self.hits = GuidanceHits()
        knobs = self._knobs = QHBoxLayout()
        knobs.addWidget(self.knobs, 3)
        knobs.addWidget(self.hits, 2)

        pictures = self._pictures = QHBoxLayout()
        pictures.addWidget(seeds_box, 1)
        pictures.addWidget(morph_box, 1)

        content = self._content = QWidget()
        layout = QVBoxLayout(content)
        explain = self.explain = ExplainBox(texts.COMPARE)
        explain.toggle.setChecked(False)  # folded: the charts come first; one click opens the explanation
        layout.addWidget(explain)
        layout.addWidget(controls)
        layout.addWidget(self.status)
        layout.addLayout(numbers, 3)
        layout.addLayout(knobs, 2)
        layout.addLayout(pictures, 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._update_texts()
        self._arrange(wide=True)

    def set_presenter(self, on: bool) -> None:
        """A projector's layout: the explanation on one line above the charts."""
        self.explain.set_compact(on)

    def _arrange(self, wide: bool) -> None:
        """Side by side in a wide window; in a narrow one the reading goes under the charts and the morphs under
        the sample grids, so nothing is cut off at the right or needs sideways scrolling."""
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        for row in (self._numbers, self._knobs, self._pictures):
            row.setDirection(direction)
        self._reading_box.show_whole(not wide)
        self._content.setMinimumHeight(1240 if wide else 2300)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() >= WIDE_LAYOUT
        if wide != (self._numbers.direction() == QBoxLayout.Direction.LeftToRight):
            self._arrange(wide)

    # ------------------------------------------------------------------ models
    def models(self) -> dict[str, str]:
        """family -> key of the model compared for it (the current model of that family, else the first)."""
        chosen = {f: self.context.of_family(f) for f in self.families}
        return {f: m.key for f, m in chosen.items() if m is not None}

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._start_once()

    def _start_once(self) -> None:
        """The first time the tab is seen with models loaded: measure (or read saved figures) and draw."""
        if not self._shown_once and self.isVisible() and self.models():
            self._shown_once = True
            self.measure()
            self.request_grids()
            self.request_morph()

    def _models_changed(self) -> None:
        if not self._shown_once:
            self._start_once()
            self._update_texts()
            return
        models = self.models()
        for family in list(self.figures):
            if self.measured_keys.get(family) != models.get(family):
                self.figures.pop(family)
                self.sources.pop(family, None)
        self._update_texts()
        self.measure()
        self.request_grids()
        self.request_morph()

    # ------------------------------------------------------------------ measuring
    def measure(self, recompute: bool = False) -> None:
        """Figures for every family not yet shown (all of them with recompute)."""
        samples = int(self.samples.currentData())
        for family, key in self.models().items():
            if not recompute and (family in self.figures or family in self.measuring.values()):
                continue
            self.measuring = {i: f for i, f in self.measuring.items() if f != family}
            # First a quick look for figures measured before; only without any does the long Measure follow.
            request = Measure(key, samples=samples, recompute=True) if recompute else StoredFigures(key)
            self.measuring[request.id] = family
            self.errors.pop(family, None)
            self.step_text[family] = "waiting…"
            self.context.submit(request)
        self._update_texts()

    def stop_measuring(self) -> None:
        # A waiting request is dropped by the worker without an answer, so forget them all here; the one
        # running stops at its next step and its late answer is ignored.
        for key in self.models().values():
            self.context.worker.stop(Measure.slot_for(key))
        for family in self.measuring.values():
            self.step_text.pop(family, None)
            if family not in self.figures:
                self.errors[family] = "Stopped before it was measured."
        self.measuring.clear()
        self._hide_progress()
        self._update_texts()

    def _on_progress(self, step: Step) -> None:
        family = self.measuring.get(step.request_id)
        if family is not None:
            self.step_text[family] = step.progress.message
            # Short: the status line under it says what is being done, the label beside it how long is left.
            self.progress.show_step(step.progress.done, step.progress.total, f"{view_of(family).title}: %p%")
            if step.request_id != self._eta_request:  # the next model: its own rate
                self._eta_request = step.request_id
                self.eta.reset()
            self.eta.update(step.progress.done, step.progress.total)
            self._show_time_left()
            self._eta_timer.start()
            self._update_status()
        elif step.request_id == self._morph_request:
            self.morph_message.setText(step.progress.message)

    def _on_result(self, result: Result) -> None:
        if result.request_id in self.measuring:
            family = self.measuring.pop(result.request_id)
            self.step_text.pop(family, None)
            if result.request_id == self._eta_request:  # that model is done: its estimate goes with it
                self.eta.reset()
                self._show_time_left()
            if isinstance(result, Measured) and not result.error and not result.figures:
                follow = Measure(result.model, samples=int(self.samples.currentData()), recompute=True)
                self.measuring[follow.id] = family
                self.step_text[family] = "waiting for the worker…"
                self.context.submit(follow)
            elif isinstance(result, Measured) and not result.error:
                self.figures[family] = result.figures
                self.sources[family] = result.source
                self.measured_keys[family] = result.model
            else:
                self.errors[family] = result.error or "could not be measured"
            if not self.measuring:
                self._hide_progress()
            self._update_texts()
        elif result.request_id == self._grid_request:
            self._grid_request = -abs(self._grid_request)  # answered
            self._show_grids(result)
        elif result.request_id == self._morph_request:
            self._morph_request = -abs(self._morph_request)
            self._show_morph(result)
        else:
            return
        if not self._announced and not self.measuring and self._grid_request < 0 and self._morph_request < 0:
            self._announced = True
            self.first_image.emit()

    def _show_time_left(self) -> None:
        text = self.eta.text() if self.measuring else ""
        waiting = len(self.measuring) - 1  # the estimate is for the model being measured; say who else waits
        if text and waiting > 0:
            text += f" (then {waiting} more model{'s' if waiting > 1 else ''})"
        self.time_left.setText(text)
        self.time_left.setVisible(bool(text))

    def _hide_progress(self) -> None:
        """Measuring is over (done or stopped): no bar, no estimate."""
        self.progress.finish()
        self._eta_timer.stop()
        self.eta.reset()
        self._eta_request = 0
        self._show_time_left()

    def _update_texts(self) -> None:
        """Everything that depends on the figures: the status lines, the charts and the reading."""
        self._update_status()
        self.bars.set_figures(self.figures)
        self._update_knobs()
        said = reading(self.figures)
        sizes = {int(f.get("image_size", 0)) for f in self.figures.values()}
        if len(sizes) > 1:
            said.append("The models do not draw faces of the same size (" + ", ".join(
                f"{view_of(k).title} {int(v.get('image_size', 0))} px" for k, v in self.figures.items())
                + "): each is measured against real faces of its own size, and a smaller face is quicker to draw.")
        self._reading_box.set_text("<br><br>".join(said) if said else
                                   "The reading appears here once the models are measured.")

    def _update_knobs(self) -> None:
        """The knob chart and the guidance hit rates, from the figures of the models loaded now."""
        loaded = tuple(f for f in self.families if f in self.models())
        with_knob = [f for f in loaded if knob_of(get_family(f)) is not None]
        if not with_knob:
            empty = "None of the models loaded has a knob that trades variety for realism."
        elif any(f in self.figures for f in with_knob):
            empty = "Not measured yet for these models: Recompute measures it."
        else:
            empty = "The curves appear here once the models are measured."
        self.knobs.set_figures({f: v for f, v in self.figures.items() if f in with_knob}, empty)
        self.hits.set_figures(self.figures, tuple(f for f in loaded if get_family(f).guided))

    def _update_status(self) -> None:
        """One line per family: where its figures come from, or how far measuring it has got."""
        models = self.models()
        self.stop.setEnabled(bool(self.measuring))
        self.recompute.setEnabled(bool(models))
        lines = []
        for family in self.families:
            info = self.context.info(models[family]) if family in models else None
            if info is None:
                lines.append(f"<b>{view_of(family).title}</b>: no model loaded.")
            elif family in self.step_text:
                lines.append(f"<b>{info.label}</b>: measuring — {self.step_text[family]}")
            elif family in self.errors:
                lines.append(f"<b>{info.label}</b>: {self.errors[family]}")
            elif family in self.figures:
                f = self.figures[family]
                # Short, one line each even on a projector: what "samples" means is in the tooltip.
                lines.append(f"<b>{info.label}</b>: {self.sources.get(family, '')}, {int(f.get('samples', 0)):,} "
                             "samples" + (f" on {f['device']}" if f.get("device") else "") + ".")
            else:
                lines.append(f"<b>{info.label}</b>: not measured yet.")
        self.status.setText("<br>".join(lines) if models else
                            "No model is loaded. Open checkpoints (File → Open) or train them in the Train tab.")

    # ------------------------------------------------------------------ pictures
    def request_grids(self) -> None:
        models = self.models()
        if not models:
            return
        seeds = tuple(range(self.first_seed.value(), self.first_seed.value() + GRID_SEEDS))
        self._grid_request = self.context.submit(SampleGrid(tuple(models.values()), seeds))
        for family in self.families:
            if family not in models:
                self.grids[family].set_image(None)

    def _show_grids(self, result: Result) -> None:
        if result.error or not isinstance(result, Sampled):
            self.morph_message.setText(f"Could not draw the faces: {result.error}")
            return
        families = {key: family for family, key in self.models().items()}
        for key, images in result.images.items():
            family = families.get(key)
            if family is not None:
                self.grids[family].set_image(make_grid(images, columns=4, padding=2))

    def request_morph(self) -> None:
        models = self.models()
        if not models:
            return
        a, b = Endpoint("face", self.face_a.value()), Endpoint("face", self.face_b.value())
        self._morph_request = self.context.submit(CompareMorph(tuple(models.values()), a, b, MORPH_FRAMES, "slerp"))
        self.morph_message.setText("Finding the two faces in each model…")

    def _show_morph(self, result: Result) -> None:
        if result.error or not isinstance(result, Interpolated):
            self.morph_message.setText(f"Could not morph these faces: {result.error}")
            return
        families = {key: family for family, key in self.models().items()}
        strips = {families[k]: v for k, v in result.strips.items() if k in families}
        size = max(s.shape[1] for s in strips.values()) if strips else 0
        for family, strip in strips.items():
            frames = same_size(list(strip), size)  # every family's strip at the largest model's size
            self.strips[family].set_image(make_grid(frames, columns=len(frames), padding=2))
            label = next((result.labels[k] for k, f in families.items() if f == family and k in result.labels), "")
            self.strip_titles[family].setText(f"<b>{view_of(family).title}</b><br><small>{label}</small>")
        self.morph_message.setText(f"Done in {result.seconds:.1f} s.")

    # ------------------------------------------------------------------ export
    def current_image(self) -> np.ndarray | None:
        """The sample grids side by side (what File → Export image saves from this tab)."""
        images = [view.image() for view in self.grids.values() if view.has_image()]
        if not images:
            return None
        return make_grid(same_size(images), columns=len(images), padding=4)
