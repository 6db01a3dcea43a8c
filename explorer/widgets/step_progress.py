"""The one progress bar of a long computation: the worker's steps (done of total, what it is doing) shown while it
runs, hidden when it is over."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QWidget


class StepProgress(QProgressBar):
    """A progress bar that follows a long computation's steps. Hidden until the first step when `hidden`."""

    def __init__(self, text_format: str = "%p%", hidden: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextVisible(True)
        self.setFormat(text_format)
        if hidden:
            self.hide()

    def show_step(self, done: int, total: int, text: str | None = None) -> None:
        """Step `done` of `total` (at least 1), with `text` as the bar's format (%v, %m, %p are Qt's) if given."""
        self.setRange(0, max(1, total))
        self.setValue(done)
        if text is not None:
            self.setFormat(text)
        self.show()

    def finish(self) -> None:
        """The computation is over (done, failed or stopped): the bar goes."""
        self.hide()
