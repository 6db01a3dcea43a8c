"""The Train tab's settings: family, data (with a look at an image folder), hyper-parameters, device, folder.

`options()` turns the form into the arguments of `python main.py train`; `problem()` says, in a sentence,
why a run cannot start yet (a folder without images, an output folder already holding a run).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.model_catalog import default_runs_dir
from explorer.pixel_image import PixelImage
from models.data import DataError, _find_images, load_image
from models.image_io import make_grid

FAMILIES = (("vae", "VAE (autoencoder)"), ("gan", "GAN (generator vs. judge)"),
            ("diffusion", "Diffusion (denoiser)"))
PREVIEW_COUNT = 8


def _spin(low: int, high: int, value: int, tip: str, step: int = 1, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    if special:
        box.setSpecialValueText(special)
    return box


def _combo(items, tip: str) -> QComboBox:
    box = QComboBox()
    for data, text in items:
        box.addItem(text, data)
    box.setToolTip(tip)
    return box


def scan_folder(path: str, preview: int = PREVIEW_COUNT) -> tuple[int, list[str], np.ndarray | None]:
    """(images found, "name: reason" of what was skipped, a uint8 preview grid of the first readable ones)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"The folder '{root}' does not exist.")
    found, skipped = _find_images(root)
    skipped = [f"{name}: {why}" for name, why in skipped]
    tiles = []
    for name, file in found:
        if len(tiles) >= preview:
            break
        try:
            tiles.append(load_image(file, 32))
        except DataError as exc:
            skipped.append(f"{name}: {exc.reason}")
    return len(found), skipped, (make_grid(np.stack(tiles), columns=4) if tiles else None)


class TrainForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder_found = 0
        self._build()

    def _build(self) -> None:
        self.family = _combo(FAMILIES, "Which kind of model to train.")
        self.data_kind = _combo((("synthetic", "Synthetic Faces"), ("folder", "An image folder…")),
                                "Procedural faces made on the fly, or your own pictures.")
        self.faces = _spin(16, 200_000, 5000, "How many different Synthetic Faces to learn from.", 1000)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("no folder chosen")
        self.folder.setReadOnly(True)
        self.folder_button = QPushButton("Choose…")
        self.folder_info = QLabel("")
        self.folder_info.setWordWrap(True)
        self.preview = PixelImage("The first pictures of the folder appear here.", 72)
        self.preview.setMaximumHeight(120)
        self.preview.hide()
        self.image_size = _combo(((s, f"{s} × {s} px") for s in (16, 32, 64, 128)),
                                 "Pixels per side: 32 trains quickly on a processor, 64 looks better.")
        self.image_size.setCurrentIndex(1)
        self.steps = _spin(1, 10_000_000, 2000, "Optimisation steps in all.", 100)
        self.batch = _spin(1, 4096, 32, "Images the model looks at per step.", 8)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.0, 0.1)
        self.lr.setSingleStep(0.0001)
        self.lr.setSpecialValueText("family default")
        self.lr.setToolTip("How big each learning step is. Too high and the losses jump or explode.")
        self.channels = _spin(0, 512, 0, "Network width: smaller trains faster, larger learns more.", 8, "default")
        self.latent = _spin(2, 1024, 32, "How many numbers describe a face (the latent space).")
        self.beta = QDoubleSpinBox()
        self.beta.setRange(0.0, 100.0)
        self.beta.setValue(1.0)
        self.beta.setSingleStep(0.5)
        self.beta.setToolTip("Weight of the KL term: above 1 the model uses fewer, tidier dimensions "
                             "(β-VAE), and draws blurrier faces.")
        self.gan_loss = _combo(((k, k) for k in ("non-saturating", "minimax", "hinge", "wgan-gp")),
                               "The game's scoring rule. Non-saturating is the usual choice.")
        self.critic = _spin(1, 10, 1, "Discriminator steps per generator step (5 is usual for wgan-gp).")
        self.schedule = _combo((("linear", "linear"), ("cosine", "cosine")),
                               "How noise is added over time: cosine keeps more signal in the early steps.")
        self.sample_steps = _spin(2, 1000, 25, "Denoising steps used to draw the sample grid.")
        self.sample_every = _spin(1, 100_000, 50, "Steps between two sample grids.", 10)
        self.checkpoint_every = _spin(1, 1_000_000, 200, "Steps between two checkpoints.", 50)
        self.device = _combo((("auto", "automatic"), ("cpu", "processor (CPU)"), ("cuda", "NVIDIA GPU (CUDA)"),
                              ("mps", "Apple GPU (MPS)")), "Where the training runs.")
        self.out = QLineEdit()
        self.out.setToolTip("The run's folder: checkpoint, training state and sample grids go there.")
        self.out_button = QPushButton("Choose…")
        self.out.textChanged.connect(lambda text: self.out.setToolTip(
            f"{text}\nThe run's folder: checkpoint, training state and sample grids go there."))

        data = QFormLayout()
        data.addRow("Data", self.data_kind)
        data.addRow("Faces", self.faces)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.folder_button)
        data.addRow("Folder", folder_row)
        data.addRow(self.folder_info)
        data.addRow(self.preview)
        common = QFormLayout()
        common.addRow("Model", self.family)
        common.addRow("Image size", self.image_size)
        common.addRow("Steps", self.steps)
        common.addRow("Batch size", self.batch)
        common.addRow("Learning rate", self.lr)
        common.addRow("Network width", self.channels)
        self.family_pages = QStackedWidget()
        for rows in ((("Latent numbers", self.latent), ("β (KL weight)", self.beta)),
                     (("GAN loss", self.gan_loss), ("Critic steps", self.critic)),
                     (("Noise schedule", self.schedule), ("Sampling steps", self.sample_steps))):
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(0, 0, 0, 0)
            for label, widget in rows:
                form.addRow(label, widget)
            self.family_pages.addWidget(page)
        common.addRow(self.family_pages)
        output = QFormLayout()
        output.addRow("Samples every", self.sample_every)
        output.addRow("Checkpoint every", self.checkpoint_every)
        output.addRow("Device", self.device)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(self.out_button)
        output.addRow("Run folder", out_row)
        for form in (common, data, output):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, form in (("Model", common), ("Data", data), ("Output", output)):
            box = QGroupBox(title)
            box.setLayout(form)
            layout.addWidget(box)
        layout.addStretch(1)
        self._data_rows = (data, self.faces, folder_row)
        self.family.currentIndexChanged.connect(self._family_changed)
        self.data_kind.currentIndexChanged.connect(self._data_changed)
        self.folder_button.clicked.connect(self.choose_folder)
        self.out_button.clicked.connect(self.choose_out)
        self._family_changed()
        self._data_changed()

    def _family_changed(self) -> None:
        family = self.family.currentData()
        self.family_pages.setCurrentIndex([f for f, _ in FAMILIES].index(family))
        self.latent.setEnabled(family != "diffusion")
        self.new_out_folder()
        self.changed.emit()

    def new_out_folder(self) -> None:
        self.out.setText(str(default_runs_dir() / f"{self.family.currentData()}-{time.strftime('%Y%m%d-%H%M%S')}"))

    def _data_changed(self) -> None:
        synthetic = self.data_kind.currentData() == "synthetic"
        form, faces, folder_row = self._data_rows
        form.setRowVisible(faces, synthetic)
        form.setRowVisible(folder_row, not synthetic)
        self.folder_info.setVisible(not synthetic)
        self.preview.setVisible(not synthetic and self.preview.has_image())
        if not synthetic and not self.folder.text():
            self.folder_info.setText("Choose a folder of pictures (PNG, JPEG, WebP or BMP; sub-folders too).")
        self.changed.emit()

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder of images to train on", self.folder.text())
        if path:
            self.set_folder(path)

    def set_folder(self, path: str) -> None:
        """Look at a folder now: how many images, what was skipped, and a few of them."""
        self.folder.setText(path)
        self.data_kind.setCurrentIndex(1)
        try:
            found, skipped, grid = scan_folder(path)
        except DataError as exc:
            found, skipped, grid, text = 0, [], None, str(exc)
        else:
            text = f"<b>{found:,} images found</b>, {len(skipped)} skipped"
            text += f" (e.g. {skipped[0]})." if skipped else "."
            if not found:
                text = "<b>No images in this folder</b> (PNG, JPEG, WebP or BMP): choose another one."
        self.folder_found = found
        self.folder_info.setText(text)
        self.preview.set_image(grid)
        self.preview.setVisible(grid is not None)
        self.changed.emit()

    def choose_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the run", str(default_runs_dir()))
        if path:
            self.out.setText(path)

    def problem(self) -> str:
        """Why a run cannot start with these settings ("" when it can)."""
        if self.data_kind.currentData() == "folder":
            if not self.folder.text():
                return "Choose a folder of images first, or train on Synthetic Faces."
            if self.folder_found == 0:
                return (f"The folder '{self.folder.text()}' holds no images that can be read (PNG, JPEG, WebP "
                        "or BMP), so there is nothing to train on. Choose another folder.")
        out = Path(self.out.text().strip()).expanduser()
        if not self.out.text().strip():
            return "Choose a folder for the run."
        if (out / "training_state.pt").exists() or (out / "model.safetensors").exists():
            return (f"'{out}' already holds a run. Use “Resume from folder…” to continue it, or choose another "
                    "folder.")
        return ""

    def options(self) -> list[str]:
        """The arguments of `python main.py train` for these settings."""
        family = self.family.currentData()
        data = "synthetic-faces" if self.data_kind.currentData() == "synthetic" else self.folder.text()
        opts = ["--model", family, "--data", data, "--out", str(Path(self.out.text().strip()).expanduser()),
                "--steps", str(self.steps.value()), "--batch-size", str(self.batch.value()),
                "--image-size", str(self.image_size.currentData()), "--device", self.device.currentData(),
                "--sample-every", str(self.sample_every.value()),
                "--checkpoint-every", str(self.checkpoint_every.value()),
                "--log-every", str(max(1, min(10, self.sample_every.value() // 5)))]
        if self.data_kind.currentData() == "synthetic":
            opts += ["--data-count", str(self.faces.value())]
        if self.lr.value() > 0:
            opts += ["--lr", f"{self.lr.value():g}"]
        if self.channels.value() > 0:
            opts += ["--channels", str(self.channels.value())]
        if family == "vae":
            opts += ["--latent-dim", str(self.latent.value()), "--beta", f"{self.beta.value():g}"]
        elif family == "gan":
            opts += ["--latent-dim", str(self.latent.value()), "--gan-loss", self.gan_loss.currentData(),
                     "--critic-steps", str(self.critic.value())]
        else:
            opts += ["--schedule", self.schedule.currentData(), "--sample-steps", str(self.sample_steps.value())]
        return opts


def resume_options(folder: str, training: dict, step: int, more_steps: int, device: str) -> list[str]:
    """Arguments that continue the run in `folder` with its own settings (`training`: its checkpoint's record).

    A run that already reached its step count gets `more_steps` more.
    """
    t = training
    steps = int(t["steps"]) if step < int(t["steps"]) else step + more_steps
    opts = ["--model", t["family"], "--out", folder, "--resume", "--steps", str(steps), "--device", device,
            "--data", str(t["data"]), "--batch-size", str(t["batch_size"]), "--image-size", str(t["image_size"]),
            "--seed", str(t["seed"]), "--data-count", str(t["data_count"]), "--data-seed", str(t["data_seed"]),
            "--log-every", str(t["log_every"]), "--sample-every", str(t["sample_every"]),
            "--sample-steps", str(t["sample_steps"]), "--checkpoint-every", str(t["checkpoint_every"])]
    for key, flag in (("lr", "--lr"), ("channels", "--channels"), ("ema", "--ema")):
        if t.get(key) is not None:
            opts += [flag, str(t[key])]
    flags = {"latent_dim": "--latent-dim", "beta": "--beta", "loss": "--gan-loss", "critic_steps": "--critic-steps",
             "schedule": "--schedule"}
    for key, value in (t.get("model_options") or {}).items():
        if key in ("spectral_norm", "minibatch_std") and value:
            opts.append("--" + key.replace("_", "-"))
        elif key in flags:
            opts += [flags[key], str(value)]
    return opts
