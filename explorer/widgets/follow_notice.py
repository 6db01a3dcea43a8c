"""A line in the status bar after a followed training run ends: what Explore shows now, and one click back."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class FollowNotice(QWidget):
    back = Signal(str)  # the model key to go back to

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_key = ""
        self._previous = ""
        self.text = QLabel("")
        self.button = QPushButton("")
        self.button.setToolTip("Show the model you were looking at before the run took Explore over.")
        close = QToolButton()
        close.setText("×")
        close.setToolTip("Stay with the run's model.")
        close.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self.button.clicked.connect(self._back)
        close.clicked.connect(self.dismiss)
        self.hide()

    def offer(self, run_key: str, previous: str, previous_label: str) -> None:
        self.run_key, self._previous = run_key, previous
        self.text.setText("Training ended:")
        self.text.setToolTip("Explore shows the model the run trained. The button brings back the model you were "
                             "looking at before the run took Explore over.")
        self.text.setMinimumWidth(self.text.sizeHint().width())
        self.button.setText(f"Back to {previous_label}")
        self.show()

    def dismiss(self) -> None:
        self.run_key = self._previous = ""
        self.hide()

    def _back(self) -> None:
        previous = self._previous
        self.dismiss()
        self.back.emit(previous)
