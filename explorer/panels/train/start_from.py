"""The Train tab's "Start from": fresh weights, a shipped model, or a checkpoint file (`train --init-from`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QWidget

from explorer.widgets.shown_text import rich_text, shown_html
from explorer.worker.model_catalog import shipped_names
from models.printable import printable
from models.warm_start import source_problem

TIP = ("Where the new run's weights come from. Fresh weights: it starts from random numbers, as usual. A shipped "
       "model or a checkpoint file: every part of the new model that has the same name and shape there starts "
       "from what that model already learned, and the rest starts fresh. The shipped VAE gives a VAE-GAN its "
       "encoder and decoder, so only its judge starts from nothing: much quicker on a processor. It needs the "
       "same image size. Resuming a run ignores this: a resumed run goes on from its own weights.")
FILE = "file"  # the item that holds a chosen file
_KIND = Qt.ItemDataRole.UserRole.value + 1  # marks that item


class StartFrom(QWidget):
    """A choice of fresh weights, each shipped model, a chosen checkpoint file, or "Choose a file…". `changed`
    whenever the choice does."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.box = QComboBox()
        self.box.addItem("fresh weights", None)
        for name, path in shipped_names().items():  # names only: built on the GUI thread, opens no file
            self.box.addItem(f"shipped {printable(name, 40)}", str(path))
        # Kept narrow: the form shares a projector's width with the loss plots and the explanation.
        self.box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.box.setMinimumContentsLength(12)
        self.choose_button = QPushButton("File…")
        self.choose_button.setToolTip("A checkpoint (.safetensors) to start from: a run of yours, for example.")
        self.box.setToolTip(TIP)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box, 1)
        row.addWidget(self.choose_button)
        self.box.currentIndexChanged.connect(self._chosen)
        self.choose_button.clicked.connect(self.choose_file)

    def value(self) -> str | None:
        """The checkpoint the run starts from (None: fresh weights)."""
        return self.box.currentData()

    def set_file(self, path: str) -> None:
        """Start from this checkpoint file (it takes the place of one chosen before)."""
        index = self.box.findData(FILE, role=_KIND)
        if index < 0:
            self.box.addItem("", path)
            index = self.box.count() - 1
            self.box.setItemData(index, FILE, _KIND)
        self.box.setItemText(index, printable(Path(path).name, 60))
        self.box.setItemData(index, path)
        self.box.setCurrentIndex(index)
        self._chosen()

    def choose_file(self) -> None:
        current = self.value()
        path, _ = QFileDialog.getOpenFileName(self, "A checkpoint to start from", str(Path(current).parent)
                                              if current else "", "Checkpoints (*.safetensors)")
        if path:
            self.set_file(path)

    def problem(self) -> str:
        """Why the run cannot start from the chosen checkpoint, in a sentence ("" when it can, or for fresh weights):
        the file went away, or is a folder. What is in it the run itself judges, and says."""
        path = self.value()
        problem = source_problem(path) if path else None
        return f"The run cannot start from its checkpoint: {problem}. Choose another, or fresh weights." if problem \
            else ""

    def _chosen(self) -> None:
        path = self.value()
        self.box.setToolTip(rich_text(shown_html(path), TIP) if path else TIP)
        self.changed.emit()

