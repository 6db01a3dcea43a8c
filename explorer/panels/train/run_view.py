"""The Train tab's pieces: the run's buttons, how far the run has got, and the samples with their health line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.step_progress import StepProgress


class RunButtons(QWidget):
    """Start, Pause, Stop on a line; Resume from folder…; whether Explore follows the run."""

    start_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()
    resume_clicked = Signal()

    def __init__(self, follow_seconds: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start a new run with these settings.")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause between two steps, keeping everything in memory; press again to resume.")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Save a checkpoint, then end the run (it can be resumed later).")
        self.resume_button = QPushButton("Resume from folder…")
        self.resume_button.setToolTip("Continue a past run from its folder, at the step where it stopped.")
        self.follow = QCheckBox("Explore follows this run")
        self.follow.setChecked(True)
        self.follow.setToolTip(f"Show each new checkpoint in Explore (at most every {follow_seconds:.0f} s).")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.follow)
        self.start_button.clicked.connect(self.start_clicked)
        self.pause_button.clicked.connect(self.pause_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.resume_button.clicked.connect(self.resume_clicked)


class RunStatus(QWidget):
    """What the run is doing (bold), its steps as a bar with the speed and time left beside it, and a message."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.status = QLabel("No run yet.")
        self.status.setStyleSheet("font-weight: bold;")
        self.progress = StepProgress("%v / %m steps", hidden=False)
        self.speed = QLabel("")
        self.message = QLabel("")
        self.message.setTextFormat(Qt.TextFormat.RichText)  # always: its untrusted parts are escaped by the panel
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.speed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addLayout(progress_row)
        layout.addWidget(self.message)


class SamplesView(QWidget):
    """The samples from fixed noise, with their caption and a health line (active latent numbers, diversity)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.health = QLabel("")
        self.health.setWordWrap(True)
        self.health.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.samples = PixelImage("Faces drawn from the same fixed noise appear here as the model learns.", 140)
        self.samples.setToolTip("The same random numbers every time: watch the same faces take shape.")
        self.caption = QLabel("Samples from fixed noise")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.health)
        layout.addWidget(self.samples, 1)
