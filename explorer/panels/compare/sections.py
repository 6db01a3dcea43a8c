"""The Compare tab's pieces: the measuring controls, the reading of the numbers, the same seeds drawn by each
model, and the same two faces morphed in each model."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.family_views import view_of
from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.step_progress import StepProgress

GRID_SEEDS = 16


class MeasureControls(QWidget):
    """How many samples, Recompute, Stop, the measuring's progress and the time left."""

    recompute_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.samples = QComboBox()
        self.samples.addItem("500 samples (quicker)", 500)
        self.samples.addItem("2,000 samples (as in the model cards)", 2000)
        self.samples.setToolTip("How many faces each model draws to be measured. More samples: steadier figures, "
                                "longer wait (diffusion is the slow one).")
        self.recompute = QPushButton("Recompute")
        self.recompute.setToolTip("Measure every model again on this computer, ignoring saved figures.")
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("Stop measuring; figures already measured stay.")
        self.stop.setEnabled(False)
        self.progress = StepProgress()
        self.progress.setMinimumWidth(240)
        self.time_left = QLabel("")
        self.time_left.setToolTip("Estimated from how fast measuring this model has gone so far.")
        self.time_left.hide()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Measure on"))
        row.addWidget(self.samples)
        row.addWidget(self.recompute)
        row.addWidget(self.stop)
        row.addWidget(self.progress, 1)
        row.addWidget(self.time_left)
        self.recompute.clicked.connect(self.recompute_clicked)
        self.stop.clicked.connect(self.stop_clicked)


class ReadingBox(QGroupBox):
    """What the numbers say, in words. Beside the charts it scrolls on its own, so that a long reading (four
    families, their stories) does not stretch the charts beyond the window; under them (`show_whole`) it is shown
    whole and the page scrolls instead, never a box inside a scrolling page."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("What the numbers say", parent)
        self.reading = QLabel("")
        self.reading.setWordWrap(True)
        self.reading.setTextFormat(Qt.TextFormat.RichText)
        self.reading.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.reading.setMinimumWidth(200)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.reading)
        self._whole = False
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll)

    def set_text(self, text: str) -> None:
        self.reading.setText(text)
        self._fit()

    def show_whole(self, on: bool) -> None:
        self._whole = on
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._whole:
            self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.scroll.setMinimumHeight(self.reading.heightForWidth(max(self.scroll.viewport().width(), 200)) + 4)
        else:
            self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self.scroll.setMinimumHeight(120)


class SeedGrids(QGroupBox):
    """The same seeds drawn by each model, a grid per family (of `families`, names in the app's order): `draw_asked`
    when the seeds change or Draw is pressed."""

    draw_asked = Signal()

    def __init__(self, families: tuple[str, ...], parent: QWidget | None = None):
        super().__init__("The same seeds in each model", parent)
        self.setToolTip("A seed is the starting point of the random numbers. Each model turns them into a face "
                        "its own way, so the same seed gives unrelated faces in different models: compare the "
                        "overall look, not face by face.")
        self.first_seed = QSpinBox()
        self.first_seed.setRange(0, 2**31 - GRID_SEEDS)
        self.first_seed.setPrefix("seeds from ")
        self.first_seed.setToolTip(f"Each model draws {GRID_SEEDS} seeds in a row, starting here.")
        self.draw = QPushButton("Draw")
        self.draw.clicked.connect(self.draw_asked)
        self.first_seed.editingFinished.connect(self.draw_asked)
        seeds_row = QHBoxLayout()
        seeds_row.addWidget(self.first_seed)
        seeds_row.addWidget(self.draw)
        seeds_row.addStretch(1)
        self.grids: dict[str, PixelImage] = {}
        self.grid_titles: dict[str, QLabel] = {}
        grids_row = QGridLayout()
        for column, family in enumerate(families):
            self.grid_titles[family] = QLabel(f"<b>{view_of(family).title}</b>")
            self.grid_titles[family].setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grids[family] = PixelImage("—", 150)
            grids_row.addWidget(self.grid_titles[family], 0, column)
            grids_row.addWidget(self.grids[family], 1, column)
        layout = QVBoxLayout(self)
        caption = QLabel("<small>Each model turns a seed into a face its own way: compare the overall look "
                         "— sharpness, variety, odd faces — not face by face.</small>")
        caption.setWordWrap(True)
        layout.addWidget(caption)
        layout.addLayout(seeds_row)
        layout.addLayout(grids_row, 1)


class MorphStrips(QGroupBox):
    """Faces A and B of the data set, morphed in each model, a strip per family (of `families`): `morph_asked` on
    Morph."""

    morph_asked = Signal()

    def __init__(self, families: tuple[str, ...], parent: QWidget | None = None):
        super().__init__("The same two faces, morphed in each model", parent)
        self.face_a = QSpinBox()
        self.face_b = QSpinBox()
        for spin, value, name in ((self.face_a, 3, "Face A"), (self.face_b, 8, "Face B")):
            spin.setRange(0, 1999)
            spin.setValue(value)
            spin.setPrefix(f"{name}: data-set face ")
            spin.setToolTip("A held-out face of Synthetic Faces (never seen in training). Each model first finds "
                            "it in its own space, then morphs from A to B.")
        self.morph = QPushButton("Morph")
        self.morph.clicked.connect(self.morph_asked)
        morph_row = QHBoxLayout()
        morph_row.addWidget(self.face_a)
        morph_row.addWidget(self.face_b)
        morph_row.addWidget(self.morph)
        morph_row.addStretch(1)
        self.strips: dict[str, PixelImage] = {}
        self.strip_titles: dict[str, QLabel] = {}
        strips_grid = QGridLayout()
        strips_grid.setColumnStretch(1, 1)
        for row, family in enumerate(families):
            self.strip_titles[family] = QLabel(f"<b>{view_of(family).title}</b>")
            self.strip_titles[family].setWordWrap(True)
            self.strip_titles[family].setFixedWidth(130)
            self.strips[family] = PixelImage("—", 48)
            strips_grid.addWidget(self.strip_titles[family], row, 0)
            strips_grid.addWidget(self.strips[family], row, 1)
        self.message = QLabel("")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # an error may quote a file name: never markup
        layout = QVBoxLayout(self)
        caption = QLabel("<small>Each model first finds faces A and B in its own space, then walks from one "
                         "to the other: see whose in-between faces stay faces.</small>")
        caption.setWordWrap(True)
        layout.addWidget(caption)
        layout.addLayout(morph_row)
        layout.addLayout(strips_grid, 1)
        layout.addWidget(self.message)
