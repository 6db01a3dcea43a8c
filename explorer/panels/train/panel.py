"""Train: start, watch, pause, resume and stop a training run (a child `python -m explorer train --events`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer import texts
from explorer.app_context import AppContext
from explorer.family_views import view_of
from explorer.panels.train.form import TrainForm, resume_options
from explorer.panels.train.run_view import RunButtons, RunStatus, SamplesView
from explorer.panels.train.training_process import TrainingProcess, shown_command
from explorer.widgets.explain_box import ExplainBox
from explorer.widgets.loss_plots import LossPlots
from explorer.widgets.shown_text import shown_html as shown
from explorer.worker.requests import ReadRunRecord, Result, RunRecord
from models.config_check import ConfigError, is_whole
from models.family import noun_of
from models.printable import printable
from models.setting_ranges import run_folder_problem
from models.train_events import (
    CheckpointEvent,
    DoneEvent,
    ErrorEvent,
    PausedEvent,
    ResumedEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
    TrainEvent,
    WarningEvent,
)

FORM_WIDTH = 340  # the settings column's narrowest width
EXPLAIN_WIDTH = 260
COLLAPSE_DIVERSITY = 0.25  # sample spread / data spread below which a grid is "nearly one face" (a GAN's collapse)
FOLLOW_SECONDS = 5.0  # Explore reloads a running model's weights at most this often
REDRAW_MS = 200  # loss curves are redrawn at most five times a second, however fast steps come
EXIT_WAIT_MS = 1500  # closing the app waits this long for a stopping run; the window is gone within 2 s


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class TrainPanel(QWidget):
    run_event = Signal(object)  # every event of the run (a models.train_events.TrainEvent), after the panel shows it
    run_ended = Signal(str, bool)
    # A run that Explore followed has ended: the run's model key, and the model shown before the run took over.
    follow_ended = Signal(str, str)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.process = TrainingProcess(self)
        self.family = ""
        self.out = ""
        self.step = 0
        self.start_step = 0  # the step the run started (or resumed) at
        self.total = 0
        self.last_checkpoint = ""
        self.paused = False
        self.low_diversity = 0
        self._followed_at = 0.0
        self._followed_from: tuple[str, str] | None = None  # (the run's model key, the model shown before)
        self._images_per_second = ""
        self._record_request = 0  # the run folder being read for "Resume from folder…"
        self._redraw = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._redraw.timeout.connect(lambda: self.plots.redraw())
        self._build()
        self.process.event.connect(self._on_event)
        context.result.connect(self._on_result)
        self.process.ended.connect(self._ended)
        self._set_state("idle")

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.form = TrainForm()
        buttons = self.buttons = RunButtons(FOLLOW_SECONDS)
        self.start_button, self.pause_button = buttons.start_button, buttons.pause_button
        self.stop_button, self.resume_button, self.follow = buttons.stop_button, buttons.resume_button, buttons.follow
        scroll = self._form_scroll = QScrollArea()  # only the settings scroll: the buttons stay in sight
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        left_column = self._left_column = QWidget()
        left = QVBoxLayout(left_column)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(scroll, 1)
        left.addWidget(buttons)
        self.explain = ExplainBox(texts.TRAIN_IDLE)
        self.explain.setMaximumWidth(EXPLAIN_WIDTH)
        body = self._body = QHBoxLayout(self)
        body.addWidget(left_column)
        body.addLayout(self._build_middle(), 1)
        body.addWidget(self.explain, 0, Qt.AlignmentFlag.AlignTop)
        buttons.start_clicked.connect(self.start)
        buttons.pause_clicked.connect(self.toggle_pause)
        buttons.stop_clicked.connect(self.stop)
        buttons.resume_clicked.connect(self.choose_resume)
        self._fit_form()

    def _build_middle(self) -> QVBoxLayout:
        """The run's status and progress, the loss curves beside the samples, the command line."""
        run_status = RunStatus()
        self.status, self.progress = run_status.status, run_status.progress
        self.speed, self.message = run_status.speed, run_status.message
        self.plots = LossPlots()
        sample_box = SamplesView()
        self.samples, self.samples_caption, self.health = sample_box.samples, sample_box.caption, sample_box.health
        self.command = QLabel("")
        self.command.setTextFormat(Qt.TextFormat.PlainText)  # it names the data folder: never markup
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command.setStyleSheet("color: palette(dark); font-family: monospace; font-size: 9pt;")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plots)
        split.addWidget(sample_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([480, 300])
        middle = self._middle = QVBoxLayout()
        middle.addWidget(run_status)
        middle.addWidget(split, 1)
        middle.addWidget(self.command)
        return middle

    def set_presenter(self, on: bool) -> None:
        """A projector's layout: the explanation one line under the plots instead of a column beside them."""
        self.explain.move_for_presenter(on, self._middle, self._body, EXPLAIN_WIDTH)
        self._fit_form()

    def _fit_form(self) -> None:
        """The settings column as wide as its form needs in the current type (with room for its scroll bar)."""
        bar = self._form_scroll.verticalScrollBar().sizeHint().width()
        self._left_column.setFixedWidth(max(FORM_WIDTH, self.form.sizeHint().width() + bar + 2))

    def _set_state(self, state: str) -> None:
        """idle, starting, running, paused or stopping: which buttons make sense."""
        self.state = state
        active = state != "idle"
        self.start_button.setEnabled(not active)
        self.resume_button.setEnabled(not active)
        self.form.setEnabled(not active)
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))

    @property
    def running(self) -> bool:
        return self.process.running

    # ------------------------------------------------------------------ actions
    def start(self) -> bool:
        """Start a run with the form's settings; False (and a message) if they cannot work."""
        problem = self.form.problem()
        if problem:
            self.message.setText(f"<b>Cannot start.</b> {shown(problem)}")
            return False
        self._launch(self.form.options(), self.form.family.currentData())
        return True

    def choose_resume(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Resume a run from its folder", self.form.out.text())
        if folder:
            self.resume_from(folder)

    def resume_from(self, folder: str) -> None:
        """Continue the run saved in `folder` with its own settings, at the step where it stopped. Its checkpoint is
        read by the worker (a file from outside is never read on the GUI thread); the run starts when it is back."""
        problem = run_folder_problem(folder)  # the rule `train --out` applies: the child would refuse it after start
        if problem:
            sentence = f"The run's folder {problem}."
            self.message.setText(f"<b>Cannot resume.</b> {shown(sentence)}")
            return
        self._record_request = self.context.submit(ReadRunRecord(folder))
        self.resume_button.setEnabled(False)
        self.message.setText(f"Reading the run in {shown(folder)}…")

    def _on_result(self, result: Result) -> None:
        if result.request_id != self._record_request:
            return
        self._record_request = 0
        self.resume_button.setEnabled(self.state == "idle")
        if result.error:
            self.message.setText(f"<b>Cannot resume.</b> {shown(result.error)}")
            return
        assert isinstance(result, RunRecord)
        try:
            options = resume_options(result.folder, result.training, result.step, self.form.steps.value(),
                                     self.form.device.currentData())
        except ConfigError as exc:  # a recorded setting out of range
            self.message.setText(f"<b>Cannot resume.</b> {shown(exc)}")
            return
        except (KeyError, TypeError, ValueError, AttributeError):  # metadata is untrusted: a setting of the wrong kind
            self.message.setText("<b>Cannot resume.</b> The training settings recorded in 'model.safetensors' are "
                                 "damaged; continue the run with `python main.py train --resume`.")
            return
        self._launch(options, result.family)

    def _launch(self, options: list[str], family: str) -> None:
        self.family, self.step, self.total, self.last_checkpoint, self.low_diversity = family, 0, 0, "", 0
        self.start_step = 0
        self.paused = False
        self._followed_from, self._images_per_second = None, ""
        self.plots.setup(family)
        self.samples.set_image(None)
        self.health.setText("")
        self.speed.setText("")
        self.explain.set_text(view_of(family).train_text)
        self.message.setText("Starting the training process… (loading the data can take a moment)")
        self.status.setText("Starting…")
        self.process.start(options)
        self.command.setText("$ " + printable(shown_command(self.process.command), None))
        self._set_state("starting")

    def toggle_pause(self) -> None:
        if self.state == "running":
            self.process.send("pause")
            self.pause_button.setEnabled(False)
            self.status.setText("Pausing after this step…")
        elif self.state == "paused":
            self.process.send("resume")
            self.pause_button.setEnabled(False)

    def stop(self) -> None:
        self.process.send("stop")
        trained = self.state in ("running", "paused") and self.step > self.start_step
        self.status.setText("Stopping: saving a checkpoint…" if trained else "Stopping…")
        self._set_state("stopping")

    def closing_question(self) -> str:
        """What the app asks when it closes during a run, true to the run's state (one still starting has nothing
        to save; a paused one left running goes on, since nobody would be left to resume it)."""
        if self.state == "starting":
            return ("A training run is still starting: nothing is trained yet. Stop it now, or leave it running in "
                    "the background (it saves to its folder; open its checkpoint or resume it next time)?")
        return ("A model is still training. Stop it now (what it has trained is saved, and it can be resumed later), "
                "or leave it running in the background (it keeps saving to its folder, and goes on if it was "
                "paused; open its checkpoint or resume it next time)?")

    def stop_for_exit(self) -> None:
        """Closing the app with "Stop and save": a run still starting up (importing, loading its data) has
        nothing to save and ends now; a running one is asked to save and stop (see finish_for_exit)."""
        if self.state == "starting":
            self.process.kill()
        else:
            self.stop()

    def finish_for_exit(self, msecs: int = EXIT_WAIT_MS) -> bool:
        """Wait up to msecs for the stopping run to save and end; True if it did. One that needs longer (a long
        step, a slow disk) finishes saving by itself after the app has gone: the window does not hang."""
        if self.process.wait(max(0, msecs)):
            return True
        self.process.leave_running()
        return False

    def leave_running(self) -> None:
        self.process.leave_running()

    # ------------------------------------------------------------------ events
    def _on_event(self, event: TrainEvent) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)  # _on_start(StartEvent), _on_step(StepEvent), ...
        if handler is not None:
            handler(event)
        self.run_event.emit(event)

    def _on_start(self, e: StartEvent) -> None:
        self.out, self.step, self.total = e.out, e.step, e.total_steps
        self.start_step = self.step
        self.progress.show_step(self.step, self.total)
        verb = "Resumed" if e.resumed else "Training"
        self.status.setText(f"{verb} {noun_of(self.family)} ({e.parameters:,} weights) on {printable(e.device, 80)}")
        skipped = f"; {e.skipped_count} files skipped (e.g. {shown(e.skipped[0])})" if e.skipped_count and e.skipped \
            else ""
        self.message.setText(f"{shown(e.dataset)}: {e.images:,} images{skipped}. Run folder: {shown(e.out)}")
        self._set_state("running")

    def _show_step(self, step: int) -> None:
        self.step = step
        self.progress.show_step(step, self.total)

    def _on_step(self, e: StepEvent) -> None:
        self._show_step(e.step)
        self._images_per_second = f"{e.images_per_second:,.0f} images/s"
        if self.state != "running":  # stopping: the time left no longer applies
            self.speed.setText(self._images_per_second)
        else:  # the child leaves out the first steps' warm-up: until one more step is timed there is no rate
            self.speed.setText(f"{self._images_per_second} · "
                               + ("working out the time left…" if e.eta_seconds is None
                                  else f"ETA {_clock(e.eta_seconds)}"))
        self.plots.add(self.step, e.losses, redraw=False)
        if not self._redraw.isActive():
            self._redraw.start()
        active, per_dim = e.extra.get("active_dims"), e.extra.get("kl_per_dim")
        if is_whole(active) and isinstance(per_dim, list):  # a family that reports its latent numbers' use
            self.health.setText(f"Latent numbers in use: <b>{active} of {len(per_dim)}</b> "
                                "(KL above 0.05 nats each)")

    def _on_samples(self, e: SamplesEvent) -> None:
        try:
            with Image.open(e.path) as image:
                self.samples.set_image(np.asarray(image.convert("RGB")))
        except (OSError, ValueError):  # a path from the child's line: gone, not a picture, or not a path at all
            return
        self.samples_caption.setText(f"Samples from fixed noise — step {e.step:,}")
        if not view_of(self.family).warns_mode_collapse or e.diversity is None:
            return
        diversity = e.diversity
        self.low_diversity = self.low_diversity + 1 if diversity < COLLAPSE_DIVERSITY else 0
        text = f"Diversity of the samples: {diversity:.2f} × that of real faces"
        if self.low_diversity >= 2:
            text = ("<span style='color:#b00020'><b>Mode collapse?</b> The generator's faces are becoming "
                    f"alike (diversity {diversity:.2f} × that of real faces, below {COLLAPSE_DIVERSITY}). Try "
                    "a lower learning rate, the hinge or wgan-gp loss, or restart.</span>")
        self.health.setText(text)

    def _on_checkpoint(self, e: CheckpointEvent) -> None:
        first = not self.last_checkpoint
        self.last_checkpoint = e.path
        now = time.monotonic()
        if first:
            key = str(Path(e.path).resolve())
            if self.follow.isChecked() and self.context.current not in ("", key):
                self._followed_from = (key, self.context.current)
            self.context.load(e.path, select=self.follow.isChecked(), reload=True)
            self._followed_at = now
        elif self.follow.isChecked() and now - self._followed_at >= FOLLOW_SECONDS:
            self.context.load(e.path, reload=True)
            self._followed_at = now

    def _on_paused(self, e: PausedEvent) -> None:
        self._show_step(e.step)  # steps are reported every few: the bar shows the step it paused at
        self.status.setText(f"Paused at step {e.step:,}")
        self.speed.setText(f"{self._images_per_second} · paused" if self._images_per_second else "paused")
        self._set_state("paused")

    def _on_resumed(self, e: ResumedEvent) -> None:
        self.status.setText(f"Training — resumed at step {e.step:,}")
        self.speed.setText(self._images_per_second)  # the time left comes back with the next report
        self._set_state("running")

    def _on_done(self, e: DoneEvent) -> None:
        self._show_step(e.step)
        self.speed.setText(self._images_per_second)

    def _on_warning(self, e: WarningEvent) -> None:
        self.message.setText(f"<b>Note:</b> {shown(e.message)}")

    def _on_error(self, e: ErrorEvent) -> None:
        self.message.setText(f"<b>Error:</b> {shown(e.message)}")

    def _ended(self, how: str, ok: bool) -> None:
        self.plots.redraw()
        self.status.setText("Run ended" if ok else "Run ended abnormally")
        self.message.setText(shown(how) if ok else f"<span style='color:#b00020'>{shown(how)}</span>")
        self.speed.setText(self._images_per_second)  # a killed run sends no "done": no time left after the end
        if self.last_checkpoint:
            self.context.load(self.last_checkpoint, reload=True)
        self._set_state("idle")
        self.form.new_out_folder()
        self.run_ended.emit(how, ok)
        if self._followed_from is not None:
            self.follow_ended.emit(*self._followed_from)
            self._followed_from = None
