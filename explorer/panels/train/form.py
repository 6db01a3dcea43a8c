"""The Train tab's settings: family, data (with a look at an image folder), hyper-parameters, device, folder.

`options()` turns the form into the arguments of `python main.py train`; `problem()` says, in a sentence,
why a run cannot start yet (a folder without images, an output folder already holding a run).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
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

from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.shown_text import rich_text, shown_html
from explorer.worker.model_catalog import default_runs_dir
from models.config_check import ConfigError, Number, Whole
from models.data import DataError, find_images, load_image
from models.families import FAMILIES
from models.image_io import make_grid
from models.paths import expanded, look
from models.printable import printable
from models.setting_ranges import IMAGE_SIZES, TRAIN_RANGES, max_data_count, run_folder_problem
from models.train import TrainSettings, check_settings

FAMILY_CHOICES = (("vae", "VAE (autoencoder)"), ("gan", "GAN (generator vs. judge)"),
                  ("diffusion", "Diffusion (denoiser)"))
PREVIEW_COUNT = 8


class MultipleSpinBox(QSpinBox):
    """A spin box that takes only multiples of its step (and its minimum, which may be a special value): a typed
    value in between is rounded to one when editing ends, and value() never holds it."""

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Acceptable:
            value = self.valueFromText(text)
            if value != self.minimum() and value % self.singleStep():
                state = QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        try:
            value = int(text)
        except ValueError:
            return text
        return self.textFromValue(self.nearest(value))

    def nearest(self, value: int) -> int:
        """The allowed value nearest to `value` (a non-zero one rounds to at least one step)."""
        if value <= self.minimum():
            return self.minimum()
        step = self.singleStep()
        return min(self.maximum() // step * step, max(step, (value + step // 2) // step * step))

    def setValue(self, value: int) -> None:
        super().setValue(self.nearest(int(value)))


def _ranged(box, allowed: Whole | Number) -> None:
    """Take a setting's range from models/setting_ranges.py (or its family's config): the CLI checks the same."""
    box.setRange(allowed.low, allowed.high)


def _spin(allowed: Whole, value: int, tip: str, step: int = 1, special: str = "",
          box: QSpinBox | None = None) -> QSpinBox:
    box = box or QSpinBox()
    _ranged(box, allowed)
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
    root = Path(expanded(path))
    found = look(root)  # a folder typed or chosen: a name too long for the system is said in words, not raised
    if found.unusable:
        raise DataError(f"The folder '{printable(root, 200)}' cannot be used: {found.why}.")
    if not found.is_folder:
        raise DataError(f"The folder '{printable(root, 200)}' does not exist.")
    found, skipped = find_images(root)
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


def _form(*rows) -> QFormLayout:
    """A form whose fields grow with the column, with these (label, field) rows."""
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for row in rows:
        form.addRow(*row)
    return form


def _chooser(line: QLineEdit, button: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(line, 1)
    row.addWidget(button)
    return row


class ModelSettings(QGroupBox):
    """The family, image size, steps, batch, learning rate and width; under them the chosen family's own settings
    (latent size and β, GAN loss and critic steps, noise schedule and sampling steps) on a page of their own."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.family = _combo(FAMILY_CHOICES, "Which kind of model to train.")
        self.image_size = _combo(((s, f"{s} × {s} px") for s in IMAGE_SIZES),
                                 "Pixels per side: 32 trains quickly on a processor, 64 looks better.")
        self.image_size.setCurrentIndex(1)
        self.steps = _spin(TRAIN_RANGES["steps"], 2000, "Optimisation steps in all.", 100)
        self.batch = _spin(TRAIN_RANGES["batch_size"], 32, "Images the model looks at per step.", 8)
        lr = TRAIN_RANGES["lr"]
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(-math.floor(math.log10(lr.low)))  # the smallest step above 0 ("default") is the lowest rate
        self.lr.setRange(0.0, lr.high)
        self.lr.setSingleStep(0.0001)
        self.lr.setSpecialValueText("family default")
        self.lr.setToolTip("How big each learning step is. Too high and the losses jump or explode.")
        width = TRAIN_RANGES["channels"]  # below its lowest: 0, the family's default
        self.channels = _spin(Whole(0, width.high), 0, "Network width: smaller trains faster, larger learns more "
                              f"(multiples of {width.low}).", width.low, "default", MultipleSpinBox())
        # The family's own settings (latent size, β, critic steps) take their ranges from the family's config, in
        # TrainForm._family_ranges; the ranges given here only hold their first values until then.
        self.latent = _spin(Whole(1, 32), 32, "How many numbers describe a face (the latent space).")
        self.beta = QDoubleSpinBox()
        self.beta.setRange(0.0, 1.0)
        self.beta.setValue(1.0)
        self.beta.setSingleStep(0.5)
        self.beta.setToolTip("Weight of the KL term: above 1 the model uses fewer, tidier dimensions "
                             "(β-VAE), and draws blurrier faces.")
        self.gan_loss = _combo(((k, k) for k in ("non-saturating", "minimax", "hinge", "wgan-gp")),
                               "The game's scoring rule. Non-saturating is the usual choice.")
        self.critic = _spin(Whole(0, 1), 0, "Discriminator steps per generator step (5 is usual for wgan-gp).",
                            special="the loss's own")
        self.schedule = _combo((("linear", "linear"), ("cosine", "cosine")),
                               "How noise is added over time: cosine keeps more signal in the early steps.")
        self.sample_steps = _spin(TRAIN_RANGES["sample_steps"], 25, "Denoising steps used to draw the sample grid.")
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
        self.setLayout(_form(("Model", self.family), ("Image size", self.image_size), ("Steps", self.steps),
                             ("Batch size", self.batch), ("Learning rate", self.lr), ("Network width", self.channels),
                             (self.family_pages,)))


class DataSettings(QGroupBox):
    """Synthetic Faces (how many) or an image folder (chosen, with what was found in it and a few of its pictures).
    `choose_folder_clicked` when its Choose… is pressed."""

    choose_folder_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Data", parent)
        self.data_kind = _combo((("synthetic", "Synthetic Faces"), ("folder", "An image folder…")),
                                "Procedural faces made on the fly, or your own pictures.")
        self.faces = _spin(TRAIN_RANGES["data_count"], 5000, "How many different Synthetic Faces to learn from. At most "
                           "2 GiB of them (they stay in memory while training): fewer at larger image sizes.", 1000)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("no folder chosen")
        self.folder.setReadOnly(True)
        self.folder_button = QPushButton("Choose…")
        self.folder_info = QLabel("")
        self.folder_info.setTextFormat(Qt.TextFormat.RichText)  # bold counts; file names go through shown_html
        self.folder_info.setWordWrap(True)
        self.preview = PixelImage("The first pictures of the folder appear here.", 72)
        self.preview.setMaximumHeight(120)
        self.preview.hide()
        self._folder_row = _chooser(self.folder, self.folder_button)
        self._form = _form(("Data", self.data_kind), ("Faces", self.faces), ("Folder", self._folder_row),
                           (self.folder_info,), (self.preview,))
        self.setLayout(self._form)
        self.folder_button.clicked.connect(self.choose_folder_clicked)

    def show_kind(self, synthetic: bool) -> None:
        """The rows of the kind of data chosen: the number of faces, or the folder with what was found in it."""
        self._form.setRowVisible(self.faces, synthetic)
        self._form.setRowVisible(self._folder_row, not synthetic)
        self.folder_info.setVisible(not synthetic)
        self.preview.setVisible(not synthetic and self.preview.has_image())


class OutputSettings(QGroupBox):
    """How often samples and checkpoints are written, the device, the run's folder (`choose_out_clicked`)."""

    choose_out_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Output", parent)
        self.sample_every = _spin(TRAIN_RANGES["sample_every"], 50, "Steps between two sample grids.", 10, "never")
        self.checkpoint_every = _spin(TRAIN_RANGES["checkpoint_every"], 200, "Steps between two checkpoints.", 50,
                                      "only at the end")
        self.device = _combo((("auto", "automatic"), ("cpu", "processor (CPU)"), ("cuda", "NVIDIA GPU (CUDA)"),
                              ("mps", "Apple GPU (MPS)")), "Where the training runs.")
        self.out = QLineEdit()
        self.out.setToolTip("The run's folder: checkpoint, training state and sample grids go there.")
        self.out_button = QPushButton("Choose…")
        self.out.textChanged.connect(lambda text: self.out.setToolTip(rich_text(
            shown_html(text), "The run's folder: checkpoint, training state and sample grids go there.")))
        self.setLayout(_form(("Samples every", self.sample_every), ("Checkpoint every", self.checkpoint_every),
                             ("Device", self.device), ("Run folder", _chooser(self.out, self.out_button))))
        self.out_button.clicked.connect(self.choose_out_clicked)


class TrainForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder_found = 0
        self._build()

    def _build(self) -> None:
        model, data, output = self.model_settings, self.data_settings, self.output_settings = (
            ModelSettings(), DataSettings(), OutputSettings())
        self.family, self.image_size, self.steps, self.batch = model.family, model.image_size, model.steps, model.batch
        self.lr, self.channels, self.family_pages = model.lr, model.channels, model.family_pages
        self.latent, self.beta, self.gan_loss, self.critic = model.latent, model.beta, model.gan_loss, model.critic
        self.schedule, self.sample_steps = model.schedule, model.sample_steps
        self.data_kind, self.faces, self.folder, self.folder_button = (
            data.data_kind, data.faces, data.folder, data.folder_button)
        self.folder_info, self.preview = data.folder_info, data.preview
        self.sample_every, self.checkpoint_every = output.sample_every, output.checkpoint_every
        self.device, self.out, self.out_button = output.device, output.out, output.out_button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for box in (model, data, output):
            layout.addWidget(box)
        layout.addStretch(1)
        self.family.currentIndexChanged.connect(self._family_changed)
        self.image_size.currentIndexChanged.connect(self._size_changed)
        self.data_kind.currentIndexChanged.connect(self._data_changed)
        data.choose_folder_clicked.connect(self.choose_folder)
        output.choose_out_clicked.connect(self.choose_out)
        for family in FAMILIES:  # every field in a family's range from the start; the chosen family's win
            self._family_ranges(family)
        self._family_changed()
        self._size_changed()
        self._data_changed()

    def _family_changed(self) -> None:
        family = self.family.currentData()
        self.family_pages.setCurrentIndex([f for f, _ in FAMILY_CHOICES].index(family))
        self._family_ranges(family)
        self.latent.setEnabled("latent_dim" in FAMILIES[family][1].RANGES)
        self.new_out_folder()
        self.changed.emit()

    def _family_ranges(self, family: str) -> None:
        """The family's own settings take the ranges of its config (VAEConfig.RANGES, ...), as the CLI does."""
        ranges = FAMILIES[family][1].RANGES
        for box, name in ((self.latent, "latent_dim"), (self.beta, "beta"), (self.critic, "critic_steps")):
            if name in ranges:
                _ranged(box, ranges[name])

    def _size_changed(self) -> None:
        self.faces.setMaximum(max_data_count(self.image_size.currentData()))

    def new_out_folder(self) -> None:
        self.out.setText(str(default_runs_dir() / f"{self.family.currentData()}-{time.strftime('%Y%m%d-%H%M%S')}"))

    def _data_changed(self) -> None:
        synthetic = self.data_kind.currentData() == "synthetic"
        self.data_settings.show_kind(synthetic)
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
            found, skipped, grid, text = 0, [], None, shown_html(str(exc))
        else:  # file names in the folder are anybody's: escaped, never markup
            text = f"<b>{found:,} images found</b>, {len(skipped)} skipped"
            text += f" (e.g. {shown_html(str(skipped[0]))})." if skipped else "."
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
        if not self.out.text().strip():
            return "Choose a folder for the run."
        # The command line's rule for --out (not the app's own folder or a package in it, not a file, not a name
        # the system refuses): the form must not start a child process that then refuses its folder.
        problem = run_folder_problem(self.out.text().strip())
        if problem:
            return f"The run's folder {problem}."
        out = Path(expanded(self.out.text().strip()))
        if look(out / "training_state.pt").exists or look(out / "model.safetensors").exists:
            return (f"'{out}' already holds a run. Use “Resume from folder…” to continue it, or choose another "
                    "folder.")
        return ""

    def options(self) -> list[str]:
        """The arguments of `python main.py train` for these settings."""
        family = self.family.currentData()
        data = "synthetic-faces" if self.data_kind.currentData() == "synthetic" else self.folder.text()
        opts = ["--model", family, "--data", data, "--out", str(Path(expanded(self.out.text().strip()))),
                "--steps", str(self.steps.value()), "--batch-size", str(self.batch.value()),
                "--image-size", str(self.image_size.currentData()), "--device", self.device.currentData(),
                "--sample-every", str(self.sample_every.value()),
                "--checkpoint-every", str(self.checkpoint_every.value()),
                "--log-every", str(max(1, min(10, self.sample_every.value() // 5)) if self.sample_every.value() else 10)]
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


RECORDED = ("family", "steps", "data", "batch_size", "image_size", "seed", "data_count", "data_seed", "log_every",
            "sample_every", "sample_steps", "checkpoint_every")  # what a checkpoint's record of its run must hold
OPTION_FLAGS = {"latent_dim": "--latent-dim", "beta": "--beta", "loss": "--gan-loss", "critic_steps": "--critic-steps",
                "schedule": "--schedule"}


def resume_options(folder: str, training: dict, step: int, more_steps: int, device: str) -> list[str]:
    """Arguments that continue the run in `folder` with its own settings (`training`: its checkpoint's record).

    A run that already reached its step count gets `more_steps` more (up to the most a run may have). The record
    is untrusted: a setting outside the range the CLI takes is a ConfigError naming it, never a command line
    that `train` would refuse.
    """
    missing = [key for key in RECORDED if key not in training]
    if missing:
        raise ConfigError(f"The run's record has no setting '{missing[0]}'.")
    known = {f.name for f in dataclasses.fields(TrainSettings)} - {"out", "resume", "device"}
    s = TrainSettings(**{k: v for k, v in training.items() if k in known}, out=folder, resume=True, device=device)
    s.model_options = {} if s.model_options is None else s.model_options  # none recorded: the family's defaults
    try:
        check_settings(s)
        if s.image_size not in IMAGE_SIZES:
            raise ConfigError(f"setting 'image_size' should be one of {', '.join(map(str, IMAGE_SIZES))}, "
                              f"not {s.image_size}")
    except ConfigError as exc:
        raise ConfigError(f"The run's recorded {exc}.") from None
    most = TRAIN_RANGES["steps"].high
    if step >= most:
        raise ConfigError(f"The run has done {step:,} steps, the most a run may have.")
    steps = s.steps if step < s.steps else min(step + more_steps, most)
    opts = ["--model", s.family, "--out", folder, "--resume", "--steps", str(steps), "--device", device,
            "--data", str(s.data), "--batch-size", str(s.batch_size), "--image-size", str(s.image_size),
            "--seed", str(s.seed), "--data-count", str(s.data_count), "--data-seed", str(s.data_seed),
            "--log-every", str(s.log_every), "--sample-every", str(s.sample_every),
            "--sample-steps", str(s.sample_steps), "--checkpoint-every", str(s.checkpoint_every)]
    for key, flag in (("lr", "--lr"), ("channels", "--channels"), ("ema", "--ema")):
        if getattr(s, key) is not None:
            opts += [flag, str(getattr(s, key))]
    for key, value in s.model_options.items():
        if key in ("spectral_norm", "minibatch_std") and value:
            opts.append("--" + key.replace("_", "-"))
        elif key in OPTION_FLAGS:
            opts += [OPTION_FLAGS[key], str(value)]
    return opts
