"""Explore's "Guide toward" box, for a family that can be steered toward attributes (Family.guided): a few ticks
for what the face should have, how hard to steer (the guidance scale) and how (classifier-free or a classifier's
gradient). It folds to one line, so a projector's layout keeps its room for the face and the sliders."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer import texts
from explorer.widgets.value_slider import ValueSlider
from models.generative import DEFAULT_GUIDANCE, DEFAULT_GUIDE, GUIDES, MAX_GUIDANCE


@dataclass(frozen=True)
class Want:
    label: str
    attribute: str  # a models.face_renderer.ATTRIBUTES name
    value: float  # in that attribute's own units


# The renderer's scales: smile -1 (frown) .. 1 (broad smile); hair_color 0 (black) .. 1 (grey); skin_tone 0 (light)
# .. 1 (dark); hair_length 0 (very short) .. 1 (down to the shoulders); glasses 0 / 1. The far end of each is the
# clearest want, and the one the feature network judges most surely.
WANTS: tuple[Want, ...] = (
    Want("Smiling", "smile", 1.0),
    Want("Glasses", "glasses", 1.0),
    Want("Grey hair", "hair_color", 1.0),
    Want("Dark skin", "skin_tone", 1.0),
    Want("Long hair", "hair_length", 1.0),
    Want("Mouth open", "mouth_open", 1.0),
)
GUIDE_LABELS = {"free": "classifier-free", "classifier": "classifier"}
COLUMNS = 3


class GuideBox(QWidget):
    """changed() when a tick or the guide changes, scale_moved() when the scale's slider moves (a drag: a caller
    may draft while its handle, `scale.slider`, is held)."""

    changed = Signal()
    scale_moved = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fold = QToolButton()
        self.fold.setCheckable(True)
        self.fold.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fold.setAutoRaise(True)
        self.fold.setStyleSheet("QToolButton { border: none; font-weight: bold; }")  # a heading that folds, as
        # "What is happening?" does, not a button that stays pressed
        self.fold.setToolTip(texts.GUIDE["tip"])
        self.summary = QLabel("")
        self.summary.setStyleSheet("color: palette(placeholder-text);")
        self.body = QWidget()
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(0)
        self.ticks: dict[str, QCheckBox] = {}
        for i, want in enumerate(WANTS):
            box = QCheckBox(want.label)
            box.setToolTip(texts.GUIDE["want"].format(label=want.label.lower()))
            box.toggled.connect(lambda _: self._changed())
            self.ticks[want.attribute] = box
            grid.addWidget(box, i // COLUMNS, i % COLUMNS)
        self.scale = ValueSlider(0.0, MAX_GUIDANCE)
        self.scale.setValue(DEFAULT_GUIDANCE[DEFAULT_GUIDE])
        self.scale.setToolTip(texts.GUIDE["scale"])
        self.scale.setMinimumWidth(120)
        self.scale.valueChanged.connect(lambda _: self._changed(self.scale_moved))
        self.guide = QComboBox()
        for guide in GUIDES:
            self.guide.addItem(GUIDE_LABELS.get(guide, guide), guide)
        self.guide.setCurrentIndex(self.guide.findData(DEFAULT_GUIDE))
        self.guide.setToolTip(texts.GUIDE["guide"])
        self.guide.currentIndexChanged.connect(lambda _: self._guide_changed())
        scale_row = QHBoxLayout()
        scale_row.setContentsMargins(0, 0, 0, 0)
        scale_row.addWidget(QLabel("How hard:"))
        scale_row.addWidget(self.scale, 1)
        scale_row.addWidget(self.guide)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(16, 0, 0, 0)
        body.setSpacing(2)
        body.addLayout(grid)
        body.addLayout(scale_row)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(8)
        head.addWidget(self.fold)
        head.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(head)
        layout.addWidget(self.body)
        self.fold.toggled.connect(self._show_body)
        self.fold.setChecked(True)
        self._show_body(True)
        self._sync_enabled()

    # ------------------------------------------------------------------ what the decoder is asked
    def wants(self) -> tuple[tuple[str, float], ...]:
        """The ticked attributes as (name, value in the attribute's units) pairs: Decoding.attributes."""
        return tuple((w.attribute, w.value) for w in WANTS if self.ticks[w.attribute].isChecked())

    def guidance(self) -> float:
        return float(self.scale.value())

    def guide_name(self) -> str:
        return str(self.guide.currentData())

    # ------------------------------------------------------------------ showing
    def set_folded(self, folded: bool) -> None:
        self.fold.setChecked(not folded)

    def is_folded(self) -> bool:
        return not self.fold.isChecked()

    def _show_body(self, shown: bool) -> None:
        self.body.setVisible(shown)
        self.fold.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._summarise()

    def _changed(self, signal=None) -> None:
        self._sync_enabled()
        self._summarise()
        (signal or self.changed).emit()

    def _guide_changed(self) -> None:
        """Each guide's scale means another push (a mix of two guesses, or a gradient's multiple): a new guide
        starts at its own default, measured for the shipped model (DEFAULT_GUIDANCE)."""
        self.scale.blockSignals(True)
        try:
            self.scale.setValue(DEFAULT_GUIDANCE[self.guide_name()])
        finally:
            self.scale.blockSignals(False)
        self._changed()

    def _sync_enabled(self) -> None:
        wanted = bool(self.wants())  # with nothing ticked the scale and the guide change nothing: say so by greying
        self.scale.setEnabled(wanted)
        self.guide.setEnabled(wanted)

    def _summarise(self) -> None:
        """The title says what is being steered toward, so a folded box still tells it."""
        labels = [w.label for w in WANTS if self.ticks[w.attribute].isChecked()]
        self.fold.setText(texts.GUIDE["title"])
        # Short: this line's width is the narrowest the column of controls can be, on a projector too.
        if not labels:
            self.summary.setText(texts.GUIDE["nothing"])
        elif self.is_folded():
            more = f" +{len(labels) - 2}" if len(labels) > 2 else ""
            self.summary.setText(f"{', '.join(labels[:2])}{more} · {self.guidance():g}×")
        else:
            self.summary.setText("")
        self.summary.setToolTip(texts.GUIDE["nothing_tip"] if not labels else
                                f"{', '.join(labels)}: {self.guidance():g}× ({self.guide.currentText()})")
