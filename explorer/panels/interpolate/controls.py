"""The Interpolate tab's two rows of controls: the morph's settings, and its playback and saving."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.family_views import view_of
from explorer.panels.diffusion.timeline_slider import TimelineSlider
from explorer.pictures.picture_state import MORPH_FRAMES
from explorer.widgets.export_size_box import ExportSizeBox
from explorer.widgets.flow_layout import flow_row
from models.family import families

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_words(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else f"{n:,}"


def _listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join(filter(None, [", ".join(items[:-1]), *items[-1:]]))


class MorphSettings(QWidget):
    """Frames, lerp or slerp, one model or one of each family, and Morph. `changed` when any of them asks for a new morph."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.frames = QSpinBox()
        self.frames.setRange(MORPH_FRAMES.low, MORPH_FRAMES.high)
        self.frames.setValue(8)
        self.frames.setSuffix(" frames")
        self.mode = QComboBox()
        self.mode.addItem("Great circle (slerp)", "slerp")
        self.mode.addItem("Straight line (lerp)", "lerp")
        self.mode.setToolTip("Straight line: the shortest path between the two sets of numbers. Great circle: "
                             "a curved path that stays as far from the middle as real faces are.")
        self.current_only = QRadioButton("Current model")
        # One model of each family ("all_three" from when there were three: the picture state keeps that name).
        self.all_three = QRadioButton()
        self.set_families([f.name for f in families()])
        self.current_only.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.current_only)
        group.addButton(self.all_three)
        self.go = QPushButton("Morph")
        self.go.setToolTip("Draw the morph again (it also redraws by itself when you change a setting).")
        row = flow_row(self.frames, self.mode, self.current_only, self.all_three, self.go)
        self.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        for signal in (self.frames.valueChanged, self.mode.currentIndexChanged, self.all_three.toggled,
                       self.go.clicked):
            signal.connect(lambda *_: self.changed.emit())

    def set_families(self, names: list[str]) -> None:
        """Name the "one model of each family" choice after the families of the models loaded (all registered
        families until the models are known): four models loaded is "All four models", whatever is registered."""
        shown = [f for f in families() if f.name in set(names)] or list(families())
        self.all_three.setText(f"All {_count_words(len(shown))} models")
        names = _listed(["the " + view_of(f).compare_name for f in shown])
        self.all_three.setToolTip(f"The same two faces morphed in {names}.")


class MorphPlayback(QWidget):
    """Play/pause and the scrubbing slider on one line; the export size and the two save buttons on the next."""

    save_strip_clicked = Signal()
    save_gif_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.play = QPushButton("Pause")
        self.play.setCheckable(True)
        self.position = TimelineSlider()
        self.position.setToolTip("Scrub through the morph.")
        self.export_size = ExportSizeBox()
        self.save_strip = QPushButton("Save strip…")
        self.save_strip.setToolTip("Save the strips as a PNG picture (Ctrl+E).")
        self.save_gif = QPushButton("Save GIF…")
        self.save_gif.setToolTip("Save the morph as an animated GIF (Ctrl+Shift+E).")
        self.save_strip.clicked.connect(self.save_strip_clicked)
        self.save_gif.clicked.connect(self.save_gif_clicked)
        playback = QHBoxLayout()
        playback.addWidget(self.play)
        playback.addWidget(self.position, 1)
        saving = QHBoxLayout()  # a line of its own: beside the slider it squeezed it away in a 1024 px window
        saving.addStretch(1)
        saving.addWidget(self.export_size)
        saving.addWidget(self.save_strip)
        saving.addWidget(self.save_gif)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addLayout(playback)
        rows.addLayout(saving)
