"""The main window: model chooser, five tabs, menus, status bar, drag and drop, remembered settings."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
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
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QWidget,
)

from explorer import texts
from explorer.app_context import AppContext
from explorer.compare_panel import ComparePanel
from explorer.diffusion_panel import DiffusionPanel
from explorer.endpoint_picker import IMAGE_FILTER
from explorer.explore_panel import ExplorePanel
from explorer.inference_worker import InferenceWorker
from explorer.interpolate_panel import InterpolatePanel
from explorer.model_catalog import startup_checkpoints
from explorer.png_state import export_png, read_state
from explorer.train_panel import EXIT_WAIT_MS, TrainPanel
from explorer.worker_requests import Endpoint
from models.image_io import save_gif

TABS = ("explore", "interpolate", "diffusion", "train", "compare")
CHECKPOINT_FILTER = "Checkpoints (*.safetensors);;All files (*)"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt")
PRESENTER_SCALE = 1.6


class MainWindow(QMainWindow):
    startup_done = Signal()  # every start-up checkpoint has loaded or failed

    def __init__(self, device: str = "auto", settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("Latent Explorer")
        self.setAcceptDrops(True)
        self.settings = settings or QSettings()
        self.worker = InferenceWorker(device)
        self.context = AppContext(self.worker)
        self._startup_pending: set[str] = set()
        self._user_chose = False  # once a person picks a model, the remembered choice no longer overrides it
        self._base_font = QApplication.font()
        self._build_tabs()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.context.models_changed.connect(self._refresh_models)
        self.context.current_changed.connect(self._current_changed)
        self.context.load_failed.connect(self._load_failed)
        self.context.models_changed.connect(self._startup_progress)
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
                                 (self.compare, "Compare", "Measure the three families side by side (Ctrl+5)")):
            index = self.tabs.addTab(panel, name)
            self.tabs.setTabToolTip(index, tip)
        self.setCentralWidget(self.tabs)
        self.explore.open_button.clicked.connect(self.open_image)
        self.interpolate.export_image.connect(self.export_image)
        self.interpolate.export_animation.connect(self.export_animation)
        self.diffusion.export_animation.connect(self.export_animation)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Model")
        bar.setObjectName("model-toolbar")
        bar.setMovable(False)
        bar.addWidget(QLabel(" Model: "))
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(28)
        self.model_box.setToolTip("Which trained model Explore and Interpolate use (Ctrl+M to cycle).")
        self.model_box.currentIndexChanged.connect(self._model_chosen)
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
        self._action(file, "Open image…", self.open_image, "Ctrl+I", "Bring a face in from a picture file")
        file.addSeparator()
        self._action(file, "Export image…", self.export_image, "Ctrl+E",
                     "Save what this tab shows as PNG (drop it back on the window to return here)")
        self._action(file, "Export animation…", self.export_animation, "Ctrl+Shift+E",
                     "Save the morph or the diffusion run as an animated GIF")
        file.addSeparator()
        self._action(file, "Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        self.presenter = self._action(view, "Presenter mode", self.set_presenter_mode, "F5",
                                      "Large fonts and images, for a projector")
        self.presenter.setCheckable(True)
        view.addSeparator()
        group = QActionGroup(self)
        for i, name in enumerate(TABS):
            action = self._action(view, name.capitalize(), lambda _=False, i=i: self.tabs.setCurrentIndex(i),
                                  f"Ctrl+{i + 1}")
            group.addAction(action)
        self._action(view, "Next model", self.next_model, "Ctrl+M")
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
        self.timing_label.setToolTip("Time from moving a slider to the new face on screen, and the rate it allows.")
        status.addWidget(self.device_label)
        status.addWidget(self.model_label, 1)
        status.addPermanentWidget(self.timing_label)

    # ------------------------------------------------------------------ models
    def load_startup_models(self) -> None:
        recent = [p for p in self.settings.value("recent_checkpoints", [], list) if Path(p).exists()]
        paths = [str(p.resolve()) for p in startup_checkpoints(recent)]
        self._startup_pending = set(paths)
        for path in paths:
            self.context.load(path)
        if not paths:
            self.model_box.setPlaceholderText("no model yet — train one")
            self.startup_done.emit()

    def _startup_progress(self) -> None:
        loaded = {info.path for info in self.context.models.values()}
        if self._startup_pending:
            self._startup_pending -= loaded
            if not self._startup_pending:
                self.startup_done.emit()
        self._restore_model_choice()

    def _refresh_models(self) -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for key, info in self.context.models.items():
            self.model_box.addItem(info.label, key)
            self.model_box.setItemData(self.model_box.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole)
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(self.context.current)))
        self.model_box.blockSignals(False)
        info = self.context.info()
        if info is not None:  # a training run may have replaced the current model's weights (a new step)
            self.model_label.setText(info.label)
        self.device_label.setText(f"Device: {self.worker.device_name}")

    def _model_chosen(self, index: int) -> None:
        key = self.model_box.itemData(index)
        if key:
            self.context.set_current(key)

    def _current_changed(self, key: str) -> None:
        index = self.model_box.findData(key)
        if index >= 0 and index != self.model_box.currentIndex():
            self.model_box.blockSignals(True)
            self.model_box.setCurrentIndex(index)
            self.model_box.blockSignals(False)
        info = self.context.info(key)
        self.model_label.setText(info.label if info else "No model")
        self.model_label.setToolTip(info.description if info else "")
        self.model_note.setText(f"  {info.parameters:,} weights" if info else "")
        self.device_label.setText(f"Device: {self.worker.device_name}")
        if info:
            self.settings.setValue("model", info.path)

    def _restore_model_choice(self) -> None:
        wanted = self.settings.value("model", "", str)
        for key, info in self.context.models.items():
            if info.path == wanted and self.context.current != key and not self._user_chose:
                self.context.set_current(key)

    def next_model(self) -> None:
        if self.model_box.count():
            self._user_chose = True
            self.model_box.setCurrentIndex((self.model_box.currentIndex() + 1) % self.model_box.count())

    def _load_failed(self, path: str, message: str) -> None:
        if path in self._startup_pending:
            self._startup_pending.discard(path)
            self.statusBar().showMessage(f"Skipped {Path(path).name}: {message}", 15000)
            if not self._startup_pending:
                self.startup_done.emit()
            return
        QMessageBox.warning(self, "Could not open the checkpoint", message)

    def open_checkpoint(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", self.settings.value("checkpoint_dir", ""),
                                                  CHECKPOINT_FILTER)
        if not path:
            return
        self.settings.setValue("checkpoint_dir", str(Path(path).parent))
        recent = [p for p in self.settings.value("recent_checkpoints", [], list) if p != path]
        self.settings.setValue("recent_checkpoints", ([path] + recent)[:8])
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
        self.settings.setValue("image_dir", str(Path(path).parent))
        if path.lower().endswith(CHECKPOINT_SUFFIXES):  # a PyTorch file too: the checkpoint loader says why not
            self.open_checkpoint(path)
            return
        state = read_state(path)
        if state is not None:
            self.restore_state(state)
            return
        panel = self.tabs.currentWidget()
        if panel is self.interpolate:
            self.interpolate.use_image(path)
        elif panel is self.diffusion:
            self.diffusion.use_image(path)
        else:
            self.tabs.setCurrentWidget(self.explore)
            self.explore.bring_in(Endpoint("image", path=path))

    def restore_state(self, state: dict) -> None:
        tab = state.get("tab", "explore")
        if tab != "explore":
            self.statusBar().showMessage(f"That picture came from the {tab} tab; only Explore pictures bring their "
                                         "face back.", 10000)
            return
        model = state.get("model", {})
        match = next((k for k, m in self.context.models.items() if m.path == model.get("path")), None)
        match = match or next((k for k, m in self.context.models.items() if m.label == model.get("label")), None)
        self.tabs.setCurrentWidget(self.explore)
        if match is not None:
            self.context.set_current(match)
        elif model.get("path") and Path(model["path"]).exists():
            self.open_checkpoint(model["path"])
        else:
            QMessageBox.information(self, "Model not found", f"That picture was made with {model.get('label', '?')} "
                                    f"({model.get('path', '?')}), which is not open. Open it with File → Open "
                                    "checkpoint…, then drop the picture again.")
            return
        self.explore.restore_state(state)

    def _panel_for_export(self):
        panel = self.tabs.currentWidget()
        return panel if hasattr(panel, "current_image") else None

    def export_image(self, path: str | None = None) -> None:
        panel = self._panel_for_export()
        image = panel.current_image() if panel else None
        if image is None:
            self.statusBar().showMessage("Nothing to export on this tab yet.", 8000)
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export image", str(Path(self.settings.value(
                "export_dir", str(Path.home()))) / "face.png"), "PNG image (*.png)")
        if not path:
            return
        try:
            export_png(path, image, panel.export_state())
        except OSError as exc:
            QMessageBox.warning(self, "Could not save the picture", f"{Path(path).name}: {exc.strerror or exc}")
            return
        self.settings.setValue("export_dir", str(Path(path).parent))
        self.statusBar().showMessage(f"Saved {path}", 8000)

    def export_animation(self, path: str | None = None) -> None:
        panel = self.tabs.currentWidget()
        frames = panel.animation_frames() if hasattr(panel, "animation_frames") else []
        if not frames:
            self.statusBar().showMessage("Export animation works on the Interpolate and Diffusion tabs, after a "
                                         "morph or a run.", 8000)
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export animation", str(Path(self.settings.value(
                "export_dir", str(Path.home()))) / "animation.gif"), "GIF animation (*.gif)")
        if not path:
            return
        try:
            scale = max(1, 256 // max(frames[0].shape[:2]))
            save_gif(path, frames, 0.12, scale=scale, bounce=panel is self.interpolate)
        except OSError as exc:
            QMessageBox.warning(self, "Could not save the animation", f"{Path(path).name}: {exc.strerror or exc}")
            return
        self.settings.setValue("export_dir", str(Path(path).parent))
        self.statusBar().showMessage(f"Saved {path}", 8000)

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
        font = QFont(self._base_font)
        if on:
            font.setPointSizeF(self._base_font.pointSizeF() * PRESENTER_SCALE)
        QApplication.setFont(font)
        for widget in self.findChildren(QWidget):
            widget.setFont(font)
        self.explore.image.set_minimum(420 if on else 256)
        for view in (self.diffusion.xt, self.diffusion.x0):
            view.set_minimum(260 if on else 160)
        self.presenter.setChecked(on)
        self.settings.setValue("presenter", on)

    def what_am_i_looking_at(self) -> None:
        QMessageBox.information(self, "What am I looking at?", texts.WHAT_AM_I)

    def about(self) -> None:
        QMessageBox.about(self, "About Latent Explorer", texts.ABOUT)

    def _show_timing(self, latency: float, worker_seconds: float) -> None:
        ms = latency * 1000
        self.timing_label.setText(f"render {ms:.0f} ms (model {worker_seconds * 1000:.0f} ms) · "
                                  f"{1000 / max(ms, 1e-3):.0f} fps")

    # ------------------------------------------------------------------ settings and closing
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 860)
        tab = self.settings.value("tab", "explore", str)
        self.tabs.setCurrentIndex(TABS.index(tab) if tab in TABS else 0)
        if self.settings.value("presenter", False, bool):
            self.set_presenter_mode(True)

    def _settle_training_run(self) -> bool:
        """A run is going: stop it (saving a checkpoint), leave it running, or cancel closing (False)."""
        box = QMessageBox(QMessageBox.Icon.Question, "A training run is going",
                          "A model is still training. Stop it now (its checkpoint is saved, and it can be resumed "
                          "later), or leave it running in the background (it keeps saving to its folder; open "
                          "its checkpoint or resume it next time)?", parent=self)
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
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("tab", TABS[self.tabs.currentIndex()])
        self.settings.sync()
        self.interpolate.stop_animation()
        self.worker.shutdown()  # first: a stopping training run then has the processor to itself
        if self.train.running:
            self.train.finish_for_exit(EXIT_WAIT_MS - int((time.monotonic() - started) * 1000))
        super().closeEvent(event)
