"""The Explore tab's controls under the face: the seed (with ψ, DDIM steps and the map button), bringing in a face
from the data set or a photo, and guidance toward attributes."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.panels.explore.guide_box import GuideBox
from explorer.pictures.picture_state import EXPLORE_PSI, EXPLORE_STEPS
from explorer.widgets.flow_layout import flow_row
from explorer.worker.latent_map_jobs import MAP_FACES
from models.setting_ranges import SEED

MAX_SEED = SEED.high


class SeedRow(QWidget):
    """Seed, Random face, Reset sliders, ψ and DDIM steps (shown for the models that use them), the map button."""

    seed_changed = Signal(int)
    random_clicked = Signal()
    reset_clicked = Signal()
    drawing_changed = Signal()  # ψ or the DDIM steps: the same point drawn again
    map_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip("Which random starting numbers to use: the same seed always gives the same face.")
        self.random_button = QPushButton("Random face")
        self.random_button.setToolTip("Pick a new seed: new random starting numbers (Ctrl+R).")
        self.reset_button = QPushButton("Reset sliders")
        self.reset_button.setToolTip("Back to the seed's own face: every direction slider to zero.")
        self.psi = QDoubleSpinBox()
        self.psi.setRange(EXPLORE_PSI.low, EXPLORE_PSI.high)
        self.psi.setSingleStep(0.1)
        self.psi.setValue(1.0)
        self.psi.setPrefix("ψ ")
        self.psi.setToolTip("Truncation ψ: below 1 pulls the numbers towards the middle — cleaner, more "
                            "typical faces, less variety. 0 gives the 'average' face.")
        self.steps = QSpinBox()
        self.steps.setRange(EXPLORE_STEPS.low, EXPLORE_STEPS.high)
        self.steps.setValue(20)
        self.steps.setSuffix(" DDIM steps")
        self.steps.setToolTip("Diffusion: how many denoising steps draw each face. Fewer is faster, more is cleaner.")
        for w in (self.psi, self.steps):  # shown once a model says which it needs: the row stays narrow till then
            w.hide()
        self.map_button = QPushButton("Show the map")
        self.map_button.setCheckable(True)
        self.map_button.setToolTip(f"A map of {MAP_FACES:,} data-set faces as a model's encoder places them, beside "
                                   "the face: see where this face sits, and click a dot to bring that face in.")
        self.seed.setPrefix("seed ")
        row = flow_row(self.seed, self.random_button, self.reset_button, self.psi, self.steps, self.map_button)
        self.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.seed.valueChanged.connect(self.seed_changed)
        self.random_button.clicked.connect(self.random_clicked)
        self.reset_button.clicked.connect(self.reset_clicked)
        self.psi.valueChanged.connect(lambda _: self.drawing_changed.emit())
        self.steps.valueChanged.connect(lambda _: self.drawing_changed.emit())
        self.map_button.toggled.connect(self.map_toggled)


class BringInRow(QWidget):
    """A data-set face by number, or a photo: `face_asked` with the face's number."""

    face_asked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.face_index = QSpinBox()
        self.face_index.setRange(0, 1_000_000)
        self.face_index.setPrefix("data-set face #")
        self.face_index.setToolTip("A face from the held-out part of Synthetic Faces (never seen in training).")
        self.face_button = QPushButton("Bring in")
        self.face_button.setToolTip("Find this face in the model's space: a model with an encoder (VAE, VAE-GAN) "
                                    "encodes it, the GAN searches for it (inversion), diffusion runs its denoising "
                                    "backwards.")
        self.open_button = QPushButton("Open a photo…")
        self.open_button.setToolTip("Or drop an image file anywhere on the window.")
        row = flow_row(QLabel("Bring in a face:"), self.face_index, self.face_button, self.open_button)
        self.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.face_button.clicked.connect(lambda: self.face_asked.emit(self.face_index.value()))


class ExploreControls(QWidget):
    """The seed row over the bring-in row, and the "Guide toward" box for a model that takes guidance: one piece,
    under the face in a window, under the sliders on a projector."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.seed_row = SeedRow()
        self.bring_row = BringInRow()
        self.guide_box = GuideBox()
        self.guide_box.hide()  # shown once a model says it can be guided
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.seed_row)
        layout.addWidget(self.bring_row)
        layout.addWidget(self.guide_box)
