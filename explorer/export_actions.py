"""File → Export image and Export animation: what the current tab shows, as files good enough for slides.

A panel that can be exported has `current_image()` and `export_state()` (and for an animation `animation_job()`,
which makes the frames away from the GUI thread, with `animation_bounces` when it plays forward then back); one
with an `export_size` box shares the size of its faces with every other tab, remembered between sessions. Files are
written in a thread of Qt's pool: `saved` or `failed` follows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox
from superqt.utils import create_worker

from explorer.error_log import where_the_details_are
from explorer.pictures.png_state import export_png
from explorer.pictures.slide_pictures import DEFAULT_FACE_SIZE
from explorer.widgets.shown_text import rich_text, shown_html
from models.image_io import save_gif


class Exports(QObject):
    saved = Signal(str)  # a file was written (its path)
    failed = Signal(str)  # a file could not be written (the sentence shown)

    def __init__(self, window: QMainWindow, settings: QSettings):
        super().__init__(window)
        self.window, self.settings = window, settings
        self._running: set = set()
        for box in self._export_size_boxes():
            box.set_face_size(self.settings.value("export_face_size", DEFAULT_FACE_SIZE))
            box.size_chosen.connect(self._export_size_chosen)

    def _panel_for_export(self):
        panel = self.window.tabs.currentWidget()
        return panel if hasattr(panel, "current_image") else None

    def _export_size_boxes(self) -> list:
        tabs = self.window.tabs
        panels = [tabs.widget(i) for i in range(tabs.count())]
        return [panel.export_size for panel in panels if hasattr(panel, "export_size")]

    def _export_size_chosen(self, size: int) -> None:
        """One export size for every tab, remembered for the next session."""
        for box in self._export_size_boxes():
            box.set_face_size(size)
        self.settings.setValue("export_face_size", size)

    def _ask(self, title: str, name: str, kinds: str) -> str:
        start = Path(self.settings.value("export_dir", str(Path.home()))) / name
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(start), kinds)
        return path

    def image(self, path: str | None = None) -> None:
        """Save what the tab shows as PNG (remembering how it was made), asking where unless given a path."""
        panel = self._panel_for_export()
        image = panel.current_image() if panel else None
        if image is None:
            self.window.statusBar().showMessage("Nothing to export on this tab yet.", 8000)
            return
        path = path or self._ask("Export image", "face.png", "PNG image (*.png)")
        if not path:
            return
        state = panel.export_state()

        def write() -> str:
            export_png(path, image, state)
            return f"{image.shape[1]:,} × {image.shape[0]:,} px"
        self._write(path, "the picture", write)

    def animation(self, path: str | None = None) -> None:
        """Save the tab's morph or diffusion run as an animated GIF, asking where unless given a path."""
        panel = self.window.tabs.currentWidget()
        job = panel.animation_job() if hasattr(panel, "animation_job") else None
        if job is None:
            self.window.statusBar().showMessage("Export animation works on the Interpolate and Diffusion tabs, after a "
                                                "morph or a run.", 8000)
            return
        not_ready = panel.animation_not_ready() if hasattr(panel, "animation_not_ready") else ""
        if not_ready:
            self.window.statusBar().showMessage(not_ready, 8000)
            return
        path = path or self._ask("Export animation", "animation.gif", "GIF animation (*.gif)")
        if not path:
            return
        bounce, title = getattr(panel, "animation_bounces", False), panel.export_state().get("title", "")

        def write() -> str:
            frames = job()  # at the export size, titled and labelled
            save_gif(path, frames, 0.12, bounce=bounce, comment=title)
            return f"{len(frames)} frames of {frames[0].shape[1]:,} × {frames[0].shape[0]:,} px"
        self._write(path, "the animation", write)

    def _write(self, path: str, what: str, write: Callable[[], str]) -> None:
        """Compose and write in a thread of the pool (a slide-sized GIF takes seconds); the window stays live."""
        self.window.statusBar().showMessage(f"Saving {what}…")
        worker = create_worker(write, _start_thread=False,
                               _connect={"returned": lambda detail: self._saved(path, detail),
                                         "errored": lambda exc: self._failed(path, what, exc)})
        worker.finished.connect(lambda: self._running.discard(worker))
        self._running.add(worker)  # kept alive until it has finished
        worker.start()

    def _saved(self, path: str, detail: str) -> None:
        self.settings.setValue("export_dir", str(Path(path).parent))
        self.window.statusBar().showMessage(f"Saved {path} ({detail})", 8000)
        self.saved.emit(path)

    def _failed(self, path: str, what: str, exc: Exception) -> None:
        self.window.statusBar().clearMessage()
        if isinstance(exc, OSError):
            text = f"{Path(path).name}: {exc.strerror or exc}"
        else:  # a bug: the traceback goes to the log
            text = f"{type(exc).__name__}: {exc}. {where_the_details_are(exc, f'saving {what}')}"
        self.failed.emit(text)
        QMessageBox.warning(self.window, f"Could not save {what}", rich_text(shown_html(text)))  # it names the file

