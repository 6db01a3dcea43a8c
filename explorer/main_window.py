"""The main window: model chooser, five tabs, menus, status bar, drag and drop, remembered settings."""

from __future__ import annotations

import gc
import math
import time
from pathlib import Path

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStatusBar,
    QTabWidget,
    QToolBar,
    QWidget,
)

from explorer import texts
from explorer.app_context import AppContext
from explorer.export_actions import Exports
from explorer.panels import TABS
from explorer.panels.compare.panel import ComparePanel
from explorer.panels.diffusion.panel import DiffusionPanel
from explorer.panels.explore.panel import ExplorePanel
from explorer.panels.interpolate.panel import InterpolatePanel
from explorer.panels.train.panel import EXIT_WAIT_MS, TrainPanel
from explorer.pictures.picture_state import ExploreState, PictureState, StateError
from explorer.pictures.png_state import read_state
from explorer.recent_files import RecentFiles
from explorer.widgets.endpoint_picker import IMAGE_FILTER
from explorer.widgets.follow_notice import FollowNotice
from explorer.widgets.model_chooser import ModelChooser
from explorer.widgets.shown_text import rich_text, shown_html
from explorer.worker.inference_worker import InferenceWorker
from explorer.worker.model_catalog import (
    in_runs_folder,
    skipped_note,
    skipped_reasons,
    startup_choice,
)
from explorer.worker.requests import Endpoint
from models.paths import look
from models.printable import printable, shows_as_is
from models.train_events import CheckpointEvent, TrainEvent

CHECKPOINT_FILTER = "Checkpoints (*.safetensors);;All files (*)"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt")
PRESENTER_SCALE = 1.5
DEFAULT_SIZE = (1280, 860)
TITLE_BAR = 32  # room left for a window manager's title bar before the real frame is known


class MainWindow(QMainWindow):
    startup_done = Signal()  # every start-up checkpoint has loaded or failed

    def __init__(self, device: str = "auto", settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("Latent Explorer")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        # Python's cycle collector runs in whichever thread happens to allocate: in the worker thread it destroyed Qt
        # objects there, and a menu's destructor in the GUI thread and the GIL then waited on each other for ever
        # (seen in the tests). pyqtgraph's collector turns automatic collection off and collects in this thread.
        self._collector = GarbageCollector(interval=1.0)
        self.worker = InferenceWorker(device)
        self.context = AppContext(self.worker)
        self._startup_pending: set[str] = set()
        self._startup_scan = False  # the first look for models is out: the start-up models load when it is back
        self.recent = RecentFiles(self.settings)
        self._opening: set[str] = set()  # checkpoints asked for by name: they join the recent list once loaded
        # The model shown when the app last closed, read now: the first model to load becomes current and is saved.
        self._remembered = self.settings.value("model", "", str)
        self._user_chose = False  # once a person picks a model, the remembered choice no longer overrides it
        self._normal_state: tuple[QByteArray, bool] | None = None  # geometry before presenter mode
        self._base_font = QApplication.font()
        self._build_tabs()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.context.models_changed.connect(self._refresh_models)
        self.context.current_changed.connect(self._current_changed)
        self.context.load_failed.connect(self._load_failed)
        self.context.models_changed.connect(self._restore_model_choice)
        self.context.loaded.connect(self._checkpoint_loaded)
        self.train.follow_ended.connect(self._follow_ended)
        self.train.run_event.connect(self._run_event)
        self.train.run_ended.connect(lambda *_: self.model_box.rescan())  # its entry shows its last step
        self.explore.rendered.connect(self._show_timing)
        self.worker.start()
        self._restore_settings()

    # ------------------------------------------------------------------ building
    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.explore = ExplorePanel(self.context)
        self.interpolate = InterpolatePanel(self.context)
        self.diffusion = DiffusionPanel(self.context)
        self.train = TrainPanel(self.context)
        self.compare = ComparePanel(self.context)
        for panel, name, tip in ((self.explore, "Explore", "Drag sliders through a model's space (Ctrl+1)"),
                                 (self.interpolate, "Interpolate", "Morph one face into another (Ctrl+2)"),
                                 (self.diffusion, "Diffusion", "Watch noise become a face (Ctrl+3)"),
                                 (self.train, "Train", "Train your own models (Ctrl+4)"),
                                 (self.compare, "Compare", "Measure every loaded family side by side (Ctrl+5)")):
            index = self.tabs.addTab(panel, name)
            self.tabs.setTabToolTip(index, tip)
        self.setCentralWidget(self.tabs)
        self.explore.open_button.clicked.connect(self.open_image)
        self.interpolate.export_image.connect(self.export_image)
        self.interpolate.export_animation.connect(self.export_animation)
        self.diffusion.export_animation.connect(self.export_animation)
        self.exports = Exports(self, self.settings)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Model")
        bar.setObjectName("model-toolbar")
        bar.setMovable(False)
        bar.addWidget(QLabel(" Model: "))
        self.model_box = ModelChooser(self.context, self.recent)
        self.model_box.picked.connect(self._model_picked)
        self.model_box.catalogued.connect(self._catalogued)
        bar.addWidget(self.model_box)
        self.model_note = QLabel("")
        bar.addWidget(self.model_note)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "Open checkpoint…", self.open_checkpoint, QKeySequence.StandardKey.Open,
                     "Add a trained model (.safetensors)")
        self.recent_menu = file.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(lambda: self.recent.fill_menu(self.recent_menu, self.open_checkpoint))
        self._action(file, "Open image…", self.open_image, "Ctrl+I", "Bring a face in from a picture file")
        file.addSeparator()
        self._action(file, "Export image…", self.export_image, "Ctrl+E",
                     "Save what this tab shows as PNG (drop it back on the window to return here)")
        self._action(file, "Export animation…", self.export_animation, "Ctrl+Shift+E",
                     "Save the morph or the diffusion run as an animated GIF")
        file.addSeparator()
        self._action(file, "Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = bar.addMenu("&Edit")
        # Explore's moves (sliders, seeds, faces brought in) are what undo walks back; it shows Explore to do it.
        self.undo = self.explore.history.createUndoAction(self, "Undo")
        self.undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo = self.explore.history.createRedoAction(self, "Redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self.undo, self.redo):
            action.triggered.connect(lambda: self.tabs.setCurrentWidget(self.explore))
            edit.addAction(action)
        view = bar.addMenu("&View")
        self.presenter = self._action(view, "Presenter mode", self.set_presenter_mode, "F5",
                                      "Full screen, large type and pictures, for a projector (F5 or Esc leaves it)")
        self.presenter.setCheckable(True)
        self.leave_presenter = QAction("Leave presenter mode", self)
        self.leave_presenter.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.leave_presenter.setEnabled(False)
        self.leave_presenter.triggered.connect(lambda: self.set_presenter_mode(False))
        self.addAction(self.leave_presenter)  # not in a menu: Esc works while the menus are out of the way
        view.addSeparator()
        group = QActionGroup(self)
        for i, name in enumerate(TABS):
            action = self._action(view, name.capitalize(), lambda _=False, i=i: self.tabs.setCurrentIndex(i),
                                  f"Ctrl+{i + 1}")
            group.addAction(action)
        self._action(view, "Next model", self.next_model, "Ctrl+M")
        # A presentation clicker sends Page Down / Page Up. Not shortcuts: those would take the keys from the spin
        # boxes, sliders and scroll areas that use them; keys nothing used reach keyPressEvent below.
        self._action(view, "Step forward\tPage Down", lambda: self._step(1),
                     tip="The next frame of a morph or step of a diffusion run (a clicker's forward button)")
        self._action(view, "Step back\tPage Up", lambda: self._step(-1),
                     tip="The previous frame of a morph or step of a diffusion run (a clicker's back button)")
        self._action(view, "Random face", self.explore.random_face, "Ctrl+R")
        self._action(view, "Generate (Diffusion)", self.diffusion.start, "Ctrl+G")
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "What am I looking at?", self.what_am_i_looking_at, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "About Latent Explorer", self.about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.device_label = QLabel("Device: starting…")
        self.model_label = QLabel("No model")
        self.timing_label = QLabel("")
        self.device_label.setToolTip("Where the models run: a GPU when there is one, else the processor (CPU).")
        self.timing_label.setToolTip("Time from moving a slider to the new face on screen, and how much of it the "
                                     "model itself took.")
        status.addWidget(self.device_label)
        status.addWidget(self.model_label, 1)
        self._message_keeper = MessageKeeper(status, (self.device_label, self.model_label))
        self.follow_notice = FollowNotice()
        self.follow_notice.back.connect(self._back_to)
        status.addPermanentWidget(self.follow_notice)
        status.addPermanentWidget(self.timing_label)

    # ------------------------------------------------------------------ models
    def load_startup_models(self) -> None:
        """Look for models (in the worker: reading checkpoints is file input); _catalogued loads the first ones."""
        self._startup_scan = True
        self.model_box.rescan()

    @property
    def starting_up(self) -> bool:
        """True from load_startup_models until every start-up model has loaded or failed (startup_done)."""
        return self._startup_scan or bool(self._startup_pending)

    def _catalogued(self) -> None:
        """One model per family (shipped, else the newest), and the one shown last time if it is another."""
        if not self._startup_scan:
            return
        self._startup_scan = False
        note = skipped_note(self.model_box.skipped)  # files that are not usable checkpoints: a note, not a dialog
        if note:
            bar = self.statusBar()
            bar.showMessage(note, 30_000)
            reasons = skipped_reasons(self.model_box.skipped)
            bar.setToolTip(rich_text(shown_html(reasons[0], None), *("• " + shown_html(line, None)
                                                                    for line in reasons[1:])))
            # The reasons go with the note: once another message (or none) replaces it, the tooltip goes too.
            bar.messageChanged.connect(lambda text: text == note or bar.setToolTip(""))
        paths = startup_choice(self.model_box.entries)
        if self._remembered not in paths and self._remembered in self.model_box.paths():
            paths.append(self._remembered)
        self._startup_pending = set(paths)
        for path in paths:
            self.context.load(path)
        if not paths:
            self.model_box.setPlaceholderText("no model yet — train one")
            self.startup_done.emit()

    def _checkpoint_loaded(self, path: str, key: str) -> None:
        if path in self._opening:  # a path joins the recent list only once it has loaded
            self._opening.discard(path)
            self.recent.add(key)
            self.model_box.refresh()
        if key in self._startup_pending:
            self._startup_pending.discard(key)
            if not self._startup_pending:
                self.startup_done.emit()

    def _refresh_models(self) -> None:
        info = self.context.info()
        if info is not None:  # a training run may have replaced the current model's weights (a new step)
            self.model_label.setText(info.label)
        self.device_label.setText(f"Device: {self.worker.device_name}")

    def _model_picked(self, path: str) -> None:
        self._user_chose = True
        if path not in self.context.models:
            self.statusBar().showMessage(f"Loading {printable(Path(path).name)}…", 5000)

    def _current_changed(self, key: str) -> None:
        if key != self.follow_notice.run_key:
            self.follow_notice.dismiss()
        info = self.context.info(key)
        self.model_label.setText(info.label if info else "No model")
        self.model_label.setToolTip(rich_text(shown_html(info.description)) if info else "")  # it names the data set
        self.model_note.setText(f"  {info.parameters:,} weights" if info else "")
        self.device_label.setText(f"Device: {self.worker.device_name}")
        self.timing_label.setText("")  # the last model's speed; the new one's comes with its first face
        if info:
            self.settings.setValue("model", info.path)

    def _restore_model_choice(self) -> None:
        for key, info in self.context.models.items():
            if info.path == self._remembered and self.context.current != key and not self._user_chose:
                self.context.set_current(key)

    def _step(self, delta: int) -> None:
        panel = self.tabs.currentWidget()
        if hasattr(panel, "step"):
            panel.step(delta)

    def keyPressEvent(self, event) -> None:
        """Page Down / Page Up that no focused widget used: a clicker stepping through the tab's timeline."""
        delta = {Qt.Key.Key_PageDown: 1, Qt.Key.Key_PageUp: -1}.get(event.key())
        if delta is not None and not event.modifiers():
            self._step(delta)
            event.accept()
            return
        super().keyPressEvent(event)

    def next_model(self) -> None:
        key = self.model_box.next_loaded()
        if key:
            self._user_chose = True
            self.context.set_current(key)

    def _run_event(self, event: TrainEvent) -> None:
        """A training run's checkpoint joins the chooser now (and the recent list too if it is not in a runs folder)."""
        path = event.path if isinstance(event, CheckpointEvent) else None
        if path and not self.model_box.has_entry(path):
            if not in_runs_folder(path):
                self._opening.add(path)
            self.model_box.rescan()

    def _follow_ended(self, run_key: str, previous: str) -> None:
        """Explore followed a run that has now ended: say so, and offer the model shown before, in one click."""
        before = self.context.info(previous)
        if before is not None and self.context.current == run_key:
            self.follow_notice.offer(run_key, previous, before.label)

    def _back_to(self, key: str) -> None:
        self._user_chose = True
        self.context.set_current(key)

    def _load_failed(self, path: str, message: str) -> None:
        self._opening.discard(path)
        self.recent.remove(path)  # one that cannot be opened is no longer offered
        if path in self._startup_pending:
            self._startup_pending.discard(path)
            self.statusBar().showMessage(f"Skipped {printable(Path(path).name)}: {printable(message)}", 15000)
            if not self._startup_pending:
                self.startup_done.emit()
            return
        QMessageBox.warning(self, "Could not open the checkpoint", rich_text(shown_html(message)))  # it names the file

    def open_checkpoint(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", self.settings.value("checkpoint_dir", ""),
                                                  CHECKPOINT_FILTER)
        if not path:
            return
        self.settings.setValue("checkpoint_dir", str(Path(path).parent))
        self._opening.add(path)
        self._user_chose = True
        self.context.load(path, select=True)

    # ------------------------------------------------------------------ images in and out
    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a face image", self.settings.value("image_dir", ""),
                                              IMAGE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """A dropped or opened file: a checkpoint, one of our exported PNGs, or a face picture."""
        found = look(path)  # what comes next asks pathlib, which raises for a name the system refuses to look up
        if found.unusable:  # (too long, a link loop): said in words, and nothing on screen changes
            self.statusBar().showMessage(f"{printable(Path(path).name or path, 200)} cannot be opened: {found.why}.",
                                         20000)
            return
        self.settings.setValue("image_dir", str(Path(path).parent))
        if path.lower().endswith(CHECKPOINT_SUFFIXES):  # a PyTorch file too: the checkpoint loader says why not
            self.open_checkpoint(path)
            return
        try:
            state = read_state(path)
        except StateError as exc:  # one of ours, but not as this app writes it: nothing on screen changes
            self._not_restored(path, str(exc))
            return
        if state is not None:
            self.restore_state(state, path)
            return
        panel = self.tabs.currentWidget()
        if panel is self.interpolate:
            self.interpolate.use_image(path)
        elif panel is self.diffusion:
            self.diffusion.use_image(path)
        else:
            self.tabs.setCurrentWidget(self.explore)
            self.explore.bring_in(Endpoint("image", path=path))

    def _not_restored(self, path: str, why: str) -> None:
        """A picture's state cannot be restored: one sentence, and nothing on screen changes."""
        self.statusBar().showMessage(f"Nothing was restored from {printable(Path(path).name, 200)}: {why}.", 20000)

    def restore_state(self, state: PictureState, path: str = "that picture") -> None:
        """A picture's checked state: Explore's brings its face back (opening its model, once asked); the other
        tabs' are only named."""
        if not isinstance(state, ExploreState):
            self.statusBar().showMessage(f"That picture came from the {state.tab} tab; only Explore pictures bring "
                                         "their face back.", 10000)
            return
        if self.starting_up:  # `python main.py picture.png`: its model may be one of those still loading
            self.startup_done.connect(lambda: self.restore_state(state, path), Qt.ConnectionType.SingleShotConnection)
            return
        model = state.model
        match = next((k for k, m in self.context.models.items() if m.path == model.path), None)
        match = match or next((k for k, m in self.context.models.items() if m.label == model.label), None)
        info = self.context.info(match) if match is not None else None
        if info is not None and tuple(info.latent_shape) != state.latent.shape:  # checked before anything changes
            self._not_restored(path, f"its face has {state.latent.size:,} numbers, and {printable(info.label)} has "
                                     f"{math.prod(info.latent_shape):,}")
            return
        self.tabs.setCurrentWidget(self.explore)
        if match is not None:
            self.context.set_current(match)
        elif model.path and look(model.path).is_file:  # a name too long for the system is no file, not OSError
            checkpoint = str(Path(model.path).resolve())
            if not self._confirm_open(checkpoint, model.label):
                return
            self.open_checkpoint(checkpoint)
        else:  # the first line is ours: Qt shows the rest (the picture's words) as plain text, never as markup
            QMessageBox.information(self, "Model not found", f"That picture's model is not open.\n\nIt was made with "
                                    f"{model.label or '?'} ({model.path or '?'}). Open it with File → Open "
                                    "checkpoint…, then drop the picture again.")
            return
        self.explore.restore_state(state)

    def _confirm_open(self, path: str, label) -> bool:
        """A picture names a checkpoint: open it only once the person has seen which file it is."""
        made_with = label if isinstance(label, str) and shows_as_is(label) else "a model"
        # The first line is ours: Qt then shows the rest (the picture's own words) as plain text, never as markup.
        answer = QMessageBox.question(
            self, "Open the picture's model?",
            f"Open the checkpoint this picture was made with?\n\nIt was made with {made_with[:80]}, which is not "
            f"open. This file would be opened:\n{path}",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Open

    def export_image(self, path: str | None = None) -> None:
        self.exports.image(path)

    def export_animation(self, path: str | None = None) -> None:
        self.exports.animation(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    # ------------------------------------------------------------------ view, help, status
    def set_presenter_mode(self, on: bool) -> None:
        """F5: full screen, larger type, every tab laid out for a projector; F5 or Esc again goes back."""
        was = self.presenter.isChecked() and self.isFullScreen()
        font = QFont(self._base_font)
        if on:
            font.setPointSizeF(self._base_font.pointSizeF() * PRESENTER_SCALE)
        QApplication.setFont(font)
        # Qt posts the font change to every widget; deliver it now, so the layouts below see the new sizes.
        QApplication.sendPostedEvents(None, QEvent.Type.ApplicationFontChange)
        for widget in self.findChildren(QWidget):
            if widget.styleSheet():  # a widget with a style sheet keeps its old font until the sheet is applied again
                widget.setStyleSheet(widget.styleSheet())
        for panel in self.panels():
            panel.set_presenter(on)
        self.presenter.setChecked(on)
        self.leave_presenter.setEnabled(on)
        self.settings.setValue("presenter", on)
        if on and not was:
            self._normal_state = (self.saveGeometry(), self.isMaximized())
            self.showFullScreen()
        elif not on and self.isFullScreen():
            geometry, maximized = self._normal_state or (None, False)
            self.showMaximized() if maximized else self.showNormal()
            if geometry is not None:
                self.restoreGeometry(geometry)
        self._fit_screen()

    def panels(self) -> list[QWidget]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]

    def _fit_screen(self) -> None:
        """Never larger than the screen the window is on (a 1024x768 projector included), its title bar and frame
        counted once the window manager has put them on (before that, a typical title bar's height)."""
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is None or self.isFullScreen() or self.isMaximized():
            return
        margins = self.windowHandle().frameMargins() if self.windowHandle() and self.isVisible() else None
        frame_w, frame_h = ((margins.left() + margins.right(), margins.top() + margins.bottom()) if margins
                            else (0, TITLE_BAR))
        width = min(self.width(), screen.width() - frame_w)
        height = min(self.height(), screen.height() - frame_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        if margins is not None and not screen.contains(self.frameGeometry()):
            self.move(max(screen.left(), min(self.x(), screen.right() + 1 - self.frameGeometry().width())),
                      max(screen.top(), min(self.y(), screen.bottom() + 1 - self.frameGeometry().height())))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(200, self._fit_screen)  # once the window manager has framed the window

    def what_am_i_looking_at(self) -> None:
        from explorer.widgets.help_dialog import HelpDialog  # only F1 needs it
        if getattr(self, "help_dialog", None) is None:  # one window, shown again on the next F1
            self.help_dialog = HelpDialog(texts.what_am_i(), self)
        self.help_dialog.show_over()

    def about(self) -> None:
        QMessageBox.about(self, "About Latent Explorer", texts.ABOUT)

    def _show_timing(self, latency: float, worker_seconds: float) -> None:
        self.timing_label.setText(f"slider to face: {latency * 1000:.0f} ms "
                                  f"(the model: {worker_seconds * 1000:.0f} ms)")

    # ------------------------------------------------------------------ settings and closing
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(DEFAULT_SIZE[0], screen.width()), min(DEFAULT_SIZE[1], screen.height()))
        self._fit_screen()
        tab = self.settings.value("tab", "explore", str)
        self.tabs.setCurrentIndex(TABS.index(tab) if tab in TABS else 0)
        if self.settings.value("presenter", False, bool):
            self.set_presenter_mode(True)

    def _settle_training_run(self) -> bool:
        """A run is going: stop it (saving a checkpoint), leave it running, or cancel closing (False)."""
        box = QMessageBox(QMessageBox.Icon.Question, "A training run is going", self.train.closing_question(),
                          parent=self)
        stop = box.addButton("Stop and save", QMessageBox.ButtonRole.AcceptRole)
        leave = box.addButton("Leave running", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(stop)
        box.exec()
        if box.clickedButton() is stop:
            self.statusBar().showMessage("Stopping the training run and saving its checkpoint…")
            self.train.stop_for_exit()  # closeEvent waits for it, briefly
            return True
        if box.clickedButton() is leave:
            self.train.leave_running()
            return True
        return False

    def select_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def closeEvent(self, event) -> None:
        if self.train.running and not self._settle_training_run():
            event.ignore()
            return
        started = time.monotonic()
        normal = self._normal_state[0] if self.isFullScreen() and self._normal_state else self.saveGeometry()
        self.settings.setValue("geometry", normal)  # the window's own size, not the projector's full screen
        self.settings.setValue("tab", TABS[self.tabs.currentIndex()])
        self.settings.sync()
        self.interpolate.stop_animation()
        self.worker.shutdown()  # first: a stopping training run then has the processor to itself
        self._collector.timer.stop()
        gc.enable()  # no worker thread any more: Python may collect by itself again
        if self.train.running:
            self.train.finish_for_exit(EXIT_WAIT_MS - int((time.monotonic() - started) * 1000))
        super().closeEvent(event)


class MessageKeeper(QObject):
    """Keeps a status-bar message readable: QStatusBar hides its own labels under a message, but a window shown
    again (full screen, on F5 in a real window) shows them over it. Showing the message anew hides them again."""

    def __init__(self, bar: QStatusBar, labels: tuple[QWidget, ...]) -> None:
        super().__init__(bar)
        self.bar = bar
        for label in labels:
            label.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and self.bar.currentMessage():
            QTimer.singleShot(0, self._show_again)
        return False

    def _show_again(self) -> None:
        message, tip = self.bar.currentMessage(), self.bar.toolTip()
        if message:
            self.bar.clearMessage()  # showMessage does nothing for the text already shown
            self.bar.showMessage(message, 15_000)
            self.bar.setToolTip(tip)  # the note's reasons, if this is the note
