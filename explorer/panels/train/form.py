"""The Train tab's settings: family, where its weights start, data (with a look at an image folder),
hyper-parameters, device, folder.

The family chooser and each family's own fields are made from the registry (models/family.py: its `Option`s, with
the ranges of its config), so a family added to the registry has its page here without a line of this file.
`options()` turns the form into the arguments of `python main.py train` through the one schema the command line
is made from (models/train_settings.py); `problem()` says, in a sentence, why a run cannot start yet (a folder
without images, an output folder already holding a run).
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
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.family_views import view_of
from explorer.panels.train.start_from import StartFrom
from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.shown_text import rich_text, shown_html
from explorer.worker.model_catalog import default_runs_dir
from models.config_check import ConfigError, Number, Whole
from models.data import DataError, find_images, load_image
from models.family import Family, Option, families, get_family
from models.image_io import make_grid
from models.paths import expanded, look
from models.printable import printable, shown_value
from models.setting_ranges import IMAGE_SIZES, TRAIN_RANGES, max_data_count, run_folder_problem
from models.train import check_settings
from models.train_settings import SETTINGS, TrainSettings, settings_arguments

PREVIEW_COUNT = 8
SYNTHETIC = "synthetic-faces"  # what --data says for Synthetic Faces
SETTING = {s.name: s for s in SETTINGS}


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


def _sentence(phrase: str) -> str:
    """An option's help phrase as a tooltip: "size of the latent vector" -> "Size of the latent vector."."""
    phrase = phrase.strip()
    return phrase[:1].upper() + phrase[1:] + ("" if phrase.endswith((".", "?", "!")) else ".")


def _decimals(step: float) -> int:
    """Decimals enough to show a spin box's step (two at least, as Qt's default)."""
    return max(2, -math.floor(math.log10(step)) if 0 < step < 1 else 0)


def option_field(family: Family, option: Option) -> QWidget:
    """The field of one of a family's own settings, of the kind its config's range is, within that range (the CLI
    checks the same), at the config's default."""
    kind, allowed, default = family.option_kind(option), family.option_range(option), family.option_default(option)
    tip = _sentence(option.help)
    if kind == "whole":
        return _spin(allowed, default, tip, max(1, int(option.step)), option.special)
    if kind == "number":
        box = QDoubleSpinBox()
        box.setDecimals(_decimals(option.step))
        smallest = 10 ** -box.decimals()  # a range open at the top ends one shown step below it
        box.setRange(allowed.low, allowed.high - smallest if allowed.high_open else allowed.high)
        box.setSingleStep(option.step)
        box.setValue(default)
        box.setToolTip(tip)
        if option.special:
            box.setSpecialValueText(option.special)
        return box
    if kind == "choice":
        box = _combo(((c, c) for c in family.option_choices(option)), tip)
        box.setCurrentIndex(max(0, box.findData(default)))
        return box
    box = QCheckBox()
    box.setChecked(bool(default))
    box.setToolTip(tip)
    return box


def option_value(field: QWidget):
    """What a family's field holds, as its config takes it."""
    if isinstance(field, QCheckBox):
        return field.isChecked()
    if isinstance(field, QComboBox):
        return field.currentData()
    if isinstance(field, QDoubleSpinBox):
        return float(field.value())
    return int(field.value())


class FamilyPage(QWidget):
    """One family's own settings, a field per `Option` in the family's order (`fields`: option key -> field)."""

    def __init__(self, family: Family, parent: QWidget | None = None):
        super().__init__(parent)
        self.family = family
        self.fields: dict[str, QWidget] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for option in family.options:
            self.fields[option.key] = option_field(family, option)
            form.addRow(option.label, self.fields[option.key])

    def values(self) -> dict:
        """The family's options as TrainSettings.model_options holds them."""
        return {key: option_value(field) for key, field in self.fields.items()}


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
    (latent size and β, GAN loss and critic steps, noise schedule ...) on a page of their own, and the shared settings
    that apply to some families only (sampling steps, for a family that draws in steps)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.family = _combo(((f.name, view_of(f).chooser_label) for f in families()), "Which kind of model to train.")
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
        # One page per family, in the chooser's order: the page at the chooser's index is the chosen family's.
        self.pages = [FamilyPage(family) for family in families()]
        self.family_pages = QStackedWidget()
        for page in self.pages:
            self.family_pages.addWidget(page)
        steps = SETTING["sample_steps"]
        self.sample_steps = _spin(steps.allowed, steps.default, "Denoising steps used to draw the sample grid.")
        self.form = _form(("Model", self.family), ("Image size", self.image_size), ("Steps", self.steps),
                          ("Batch size", self.batch), ("Learning rate", self.lr), ("Network width", self.channels),
                          (self.family_pages,), ("Sampling steps", self.sample_steps))
        self.setLayout(self.form)

    def show_family(self, index: int) -> None:
        """The chosen family's page, as tall as its own fields (a stack is as tall as its tallest page unless the
        others are told not to count), and the shared settings that apply to it."""
        self.family_pages.setCurrentIndex(index)
        for i, page in enumerate(self.pages):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            page.setSizePolicy(policy, policy)
        self.form.setRowVisible(self.family_pages, bool(self.pages[index].fields))
        self.form.setRowVisible(self.sample_steps, SETTING["sample_steps"].applies(self.pages[index].family))
        self.family_pages.adjustSize()


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
        self.sample_steps = model.sample_steps
        self.start_from = StartFrom()  # a new run's weights; a resumed run keeps its own (resume_options)
        model.form.insertRow(1, "Start from", self.start_from)
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
        self.start_from.changed.connect(self.changed)
        self._family_changed()
        self._size_changed()
        self._data_changed()

    def _family_changed(self) -> None:
        self.model_settings.show_family(self.family.currentIndex())
        self.new_out_folder()
        self.changed.emit()

    @property
    def chosen_family(self) -> Family:
        return get_family(self.family.currentData())

    def option_field(self, key: str, family: str | None = None) -> QWidget | None:
        """The field of a family's own setting `key` (of the chosen family when none is named); None when the
        family has no such setting."""
        index = self.family.currentIndex() if family is None else self.family.findData(family)
        return self.model_settings.pages[index].fields.get(key) if index >= 0 else None

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
        if self.start_from.problem():
            return self.start_from.problem()
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

    def settings(self) -> TrainSettings:
        """The run these fields describe."""
        family = self.chosen_family
        synthetic = self.data_kind.currentData() == "synthetic"
        every = self.sample_every.value()
        settings = TrainSettings(
            family=family.name, out=str(Path(expanded(self.out.text().strip()))),
            data=SYNTHETIC if synthetic else self.folder.text(), steps=self.steps.value(),
            batch_size=self.batch.value(), image_size=self.image_size.currentData(), device=self.device.currentData(),
            lr=self.lr.value() or None, channels=self.channels.value() or None,  # 0: the family's default
            model_options=self.model_settings.pages[self.family.currentIndex()].values(),
            sample_every=every, checkpoint_every=self.checkpoint_every.value(),
            log_every=max(1, min(10, every // 5)) if every else 10,  # a few reports between two sample grids
            init_from=self.start_from.value())
        if synthetic:  # a folder's images are counted by the loader
            settings.data_count = self.faces.value()
        if SETTING["sample_steps"].applies(family):
            settings.sample_steps = self.sample_steps.value()
        return settings

    def options(self) -> list[str]:
        """The arguments of `python main.py train` for these settings (the schema's: one way to write every run)."""
        return settings_arguments(self.settings())


# A run's record holds every other setting (models/train.py, Run.save). Its warm start is recorded, but a resumed run
# takes its weights from its own state, and a record from before warm starts has none.
NOT_RECORDED = ("out", "resume", "device", "init_from")


def recorded_settings(folder: str, training: dict, device: str) -> TrainSettings:
    """The settings a run's checkpoint records, to continue it in `folder` on `device`. The record is untrusted: a
    setting missing or outside the range the CLI takes is a ConfigError naming it."""
    recorded = [f.name for f in dataclasses.fields(TrainSettings) if f.name not in NOT_RECORDED]
    missing = [name for name in recorded if name not in training]
    if missing:
        raise ConfigError(f"The run's record has no setting '{missing[0]}'.")
    values = {name: training[name] for name in recorded}
    values["model_options"] = values["model_options"] or {}  # none recorded: the family's defaults
    s = TrainSettings(**values, out=folder, resume=True, device=device)
    try:
        check_settings(s)
        for setting in SETTINGS:  # a choice's range is its list (check_settings sees numbers' ranges)
            value = getattr(s, setting.name)
            if setting.choices and value not in setting.choices:
                raise ConfigError(f"setting '{setting.name}' should be one of "
                                  f"{', '.join(map(str, setting.choices))}, not {shown_value(value)}")
    except ConfigError as exc:
        raise ConfigError(f"The run's recorded {exc}.") from None
    return s


def resume_options(folder: str, training: dict, step: int, more_steps: int, device: str) -> list[str]:
    """Arguments that continue the run in `folder` with its own settings (`training`: its checkpoint's record).

    A run that already reached its step count gets `more_steps` more (up to the most a run may have). The record
    is untrusted: a setting outside the range the CLI takes is a ConfigError naming it, never a command line
    that `train` would refuse.
    """
    s = recorded_settings(folder, training, device)
    most = TRAIN_RANGES["steps"].high
    if step >= most:
        raise ConfigError(f"The run has done {step:,} steps, the most a run may have.")
    family = get_family(s.family)
    # Only the family's own options have flags; the rest of its config (set by a script) comes back with the run's
    # saved state, which holds the architecture.
    options = {key: value for key, value in s.model_options.items() if family.option(key) is not None}
    steps = s.steps if step < s.steps else min(step + more_steps, most)
    return settings_arguments(dataclasses.replace(s, steps=steps, model_options=options))
