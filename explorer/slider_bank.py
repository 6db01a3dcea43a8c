"""A scrollable column of labelled sliders, one per latent direction or raw latent number."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider


@dataclass(frozen=True)
class SliderSpec:
    key: str
    label: str
    low_words: str = ""
    high_words: str = ""
    tooltip: str = ""
    minimum: float = -3.0
    maximum: float = 3.0


class SliderBank(QScrollArea):
    """Emits value_changed(key, value) when a person moves a slider (not when set from code)."""

    value_changed = Signal(str, float)

    def __init__(self, intro: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._content = QWidget()
        outer = QVBoxLayout(self._content)
        self._intro = QLabel(intro)
        self._intro.setWordWrap(True)
        self._intro.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self._intro)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setColumnStretch(2, 1)
        outer.addWidget(self._grid_host)
        outer.addStretch(1)
        self.setWidget(self._content)
        self.sliders: dict[str, QLabeledDoubleSlider] = {}
        self._notes: dict[str, QLabel] = {}
        self._updating = False

    def set_intro(self, text: str) -> None:
        self._intro.setText(text)

    def set_specs(self, specs: list[SliderSpec]) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders.clear()
        self._notes.clear()
        for row, spec in enumerate(specs):
            name = QLabel(f"<b>{spec.label}</b>")
            name.setToolTip(spec.tooltip)
            low, high = QLabel(spec.low_words), QLabel(spec.high_words)
            low.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for label in (low, high):
                label.setStyleSheet("color: palette(placeholder-text);")
            slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
            slider.setRange(spec.minimum, spec.maximum)
            slider.setDecimals(2)
            slider.setSingleStep(0.05)
            slider.setValue(0.0)
            slider.setToolTip(spec.tooltip)
            slider.setMinimumWidth(140)
            slider.valueChanged.connect(lambda value, key=spec.key: self._moved(key, value))
            note = QLabel("")
            note.setStyleSheet("color: palette(placeholder-text);")
            self._grid.addWidget(name, 2 * row, 0, 1, 4)
            self._grid.addWidget(low, 2 * row + 1, 1)
            self._grid.addWidget(slider, 2 * row + 1, 2)
            self._grid.addWidget(high, 2 * row + 1, 3)
            self._grid.addWidget(note, 2 * row, 3, Qt.AlignmentFlag.AlignRight)
            self.sliders[spec.key] = slider
            self._notes[spec.key] = note

    def _moved(self, key: str, value: float) -> None:
        if not self._updating:
            self.value_changed.emit(key, float(value))

    def set_values(self, values: dict[str, float]) -> None:
        """Set sliders from code without emitting value_changed."""
        self._updating = True
        try:
            for key, value in values.items():
                if key in self.sliders:
                    self.sliders[key].setValue(float(value))
        finally:
            self._updating = False

    def value(self, key: str) -> float:
        return float(self.sliders[key].value())

    def set_note(self, key: str, text: str) -> None:
        if key in self._notes:
            self._notes[key].setText(text)

    def names(self) -> list[str]:
        return list(self.sliders)
