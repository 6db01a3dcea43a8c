"""The Diffusion tab's controls: the sampler's settings with Generate and Stop, and the finished run's timeline
with saving."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.panels.diffusion.timeline_slider import TimelineSlider
from explorer.pictures.picture_state import DIFFUSION_ETA, DIFFUSION_STEPS
from explorer.widgets.export_size_box import ExportSizeBox
from explorer.widgets.flow_layout import flow_row
from models.setting_ranges import SEED


@dataclass(frozen=True)
class SamplerChoice:
    key: str  # models.diffusion.SAMPLERS: what Decoding.sampler and a picture's state say
    item: str  # the sampler box's line
    name: str  # in titles and captions: "DPM-Solver++ 2M, 20 steps"
    steps: int  # its steps when chosen
    useful: tuple[int, int]  # the steps it is meant for: outside them, choosing it sets `steps`
    tip: str


# In the sampler box's order, which is picture_state.SAMPLERS's (a picture's state names one of these).
SAMPLER_CHOICES = (
    SamplerChoice("ddim", "DDIM (fast, deterministic)", "DDIM", 50, (10, 200),
                  "DDIM looks good with 20–50 steps; the same seed always gives the same face."),
    SamplerChoice("ddpm", "DDPM (the original, noisy steps)", "DDPM", 1000, (100, 1000),
                  "DDPM adds fresh noise at every step and needs hundreds of steps (all 1,000 by default)."),
    # Lu et al. 2022: a second-order solver of the same process that reuses the previous step's guess.
    SamplerChoice("dpm++", "DPM-Solver++ 2M (fewest steps)", "DPM-Solver++ 2M", 20, (5, 50),
                  "DPM-Solver++ 2M (Lu et al. 2022) reuses the previous step's guess to take larger accurate steps: "
                  "10–20 steps are often enough."),
)
_BY_KEY = {c.key: c for c in SAMPLER_CHOICES}


def sampler_name(key: str) -> str:
    """A sampler's name for titles and captions ("DPM-Solver++ 2M"); the key itself, upper-cased, if unknown."""
    choice = _BY_KEY.get(key)
    return choice.name if choice is not None else key.upper()


class SamplerControls(QWidget):
    """DDIM, DDPM or DPM-Solver++, steps, η (DDIM only), seed, Generate and Stop."""

    generate_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.sampler = QComboBox()
        for choice in SAMPLER_CHOICES:
            self.sampler.addItem(choice.item, choice.key)
            self.sampler.setItemData(self.sampler.count() - 1, choice.tip, Qt.ItemDataRole.ToolTipRole)
        self.steps = QSpinBox()
        self.steps.setRange(DIFFUSION_STEPS.low, DIFFUSION_STEPS.high)
        self.steps.setValue(50)
        self.steps.setSuffix(" steps")
        self.eta = QDoubleSpinBox()
        self.eta.setRange(DIFFUSION_ETA.low, DIFFUSION_ETA.high)
        self.eta.setSingleStep(0.1)
        self.eta.setPrefix("η ")
        self.eta.setToolTip("DDIM only: 0 is deterministic, 1 adds as much fresh noise at each step as DDPM.")
        self.seed = QSpinBox()
        self.seed.setRange(SEED.low, SEED.high)
        self.seed.setPrefix("seed ")
        self.seed.setToolTip("Which starting noise: the same seed gives the same noise.")
        self.generate = QPushButton("Generate")
        self.generate.setToolTip("Start from pure noise and remove it step by step (Ctrl+G).")
        self.stop = QPushButton("Stop")
        self.stop.setEnabled(False)
        row = flow_row(self.sampler, self.steps, self.eta, self.seed, self.generate, self.stop)
        self.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.sampler.currentIndexChanged.connect(self._sampler_changed)
        self.generate.clicked.connect(self.generate_clicked)
        self.stop.clicked.connect(self.stop_clicked)
        self._sampler_changed()

    def choice(self) -> SamplerChoice:
        return _BY_KEY[self.sampler.currentData()]

    def _sampler_changed(self) -> None:
        """η is DDIM's; each sampler's steps start in its own useful range (kept when already in it)."""
        choice = self.choice()
        self.eta.setEnabled(choice.key == "ddim")
        low, high = choice.useful
        if not low <= self.steps.value() <= high:
            self.steps.setValue(choice.steps)
        self.steps.setToolTip(f"How many denoising steps. {choice.tip}")
        self.sampler.setToolTip(choice.tip)


class RunTimeline(QWidget):
    """After a run: the timeline to scrub with the step's caption; under it the export size and Save GIF."""

    save_gif_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.timeline = TimelineSlider()
        self.timeline.setEnabled(False)
        self.timeline.setToolTip("After a run: scrub through every recorded step.")
        self.step_label = QLabel("")
        self.step_label.setTextFormat(Qt.TextFormat.PlainText)  # an error may quote a file name: never markup
        self.step_label.setMinimumWidth(200)
        timeline = QHBoxLayout()
        timeline.addWidget(QLabel("Timeline"))
        timeline.addWidget(self.timeline, 1)
        timeline.addWidget(self.step_label)
        self.save_gif = QPushButton("Save GIF…")
        self.save_gif.setToolTip("Save the whole run, noise to face, as an animated GIF (Ctrl+Shift+E).")
        self.save_gif.setEnabled(False)
        self.save_gif.clicked.connect(self.save_gif_clicked)
        self.export_size = ExportSizeBox()
        saving = QHBoxLayout()  # a line of its own: beside the timeline it squeezed the slider on a projector
        saving.addStretch(1)
        saving.addWidget(self.export_size)
        saving.addWidget(self.save_gif)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addLayout(timeline)
        rows.addLayout(saving)
