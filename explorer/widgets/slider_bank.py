"""A scrollable column of labelled sliders, one per latent direction or raw latent number."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer.widgets.folding_text import FoldingText
from explorer.widgets.value_slider import ARROW_STEP, PAGE_STEP, ValueSlider

KEYS_TIP = (f"\n\nKeys: arrows step {ARROW_STEP:g}, Page Up/Down step {PAGE_STEP:g}, Home goes back to 0, End to the "
            "end; Tab moves to the next slider. The mouse wheel moves a slider only after a click on it.")
QUIET = "color: palette(placeholder-text);"


@dataclass(frozen=True)
class SliderSpec:
    key: str
    label: str
    low_words: str = ""
    high_words: str = ""
    tooltip: str = ""
    minimum: float = -3.0
    maximum: float = 3.0


@dataclass
class _Row:
    label: str
    name: QLabel
    low: QLabel
    slider: ValueSlider
    high: QLabel
    note: QLabel
    # Compact, the line under the slider: low words at its left, high words at its right. A line of its own, not
    # two grid columns, so the bank needs the widest row's words side by side, not the widest low words of one
    # row beside the widest high words of another (which cut the Named bank off at a 1024x768 projector).
    words: QWidget


class SliderBank(QScrollArea):
    """Emits value_changed(key, value) when a person moves a slider (not when set from code).

    Normal: the name above, then "low words — slider — high words". Compact (presenter mode): the words go under
    the slider's ends, so a narrow column holds the slider, and the intro folds to one line.
    """

    value_changed = Signal(str, float)

    def __init__(self, intro: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._content = QWidget()
        outer = QVBoxLayout(self._content)
        self._intro = FoldingText(intro)
        outer.addWidget(self._intro)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._grid_host)
        outer.addStretch(1)
        self.setWidget(self._content)
        self.sliders: dict[str, ValueSlider] = {}
        self._rows: dict[str, _Row] = {}
        self._names: dict[QObject, QLabel] = {}  # a slider's inner QSlider -> its name, lit while it has focus
        self._compact = False
        self._updating = False

    def set_intro(self, text: str) -> None:
        self._intro.set_text(text)

    def intro(self) -> str:
        return self._intro.text_whole()

    def set_compact(self, compact: bool) -> None:
        self._compact = compact
        self._intro.set_foldable(compact)
        self._place_rows()

    def set_specs(self, specs: list[SliderSpec]) -> None:
        for row in self._rows.values():
            for widget in (row.name, row.low, row.slider, row.high, row.note, row.words):
                self._grid.removeWidget(widget)
                widget.deleteLater()
        self.sliders.clear()
        self._rows.clear()
        self._names.clear()
        for spec in specs:
            name = QLabel(f"<b>{spec.label}</b>")
            name.setToolTip(spec.tooltip)
            low, high, note = QLabel(spec.low_words), QLabel(spec.high_words), QLabel("")
            for label in (low, high, note):
                label.setStyleSheet(QUIET)
            slider = ValueSlider(spec.minimum, spec.maximum)
            slider.setValue(0.0)
            slider.setToolTip(spec.tooltip + KEYS_TIP)
            slider.setMinimumWidth(140)
            slider.valueChanged.connect(lambda value, key=spec.key: self._moved(key, value))
            slider.slider.installEventFilter(self)
            self._names[slider.slider] = name
            self.sliders[spec.key] = slider
            words = QWidget(self._grid_host)  # a child from the start: shown, it is never a window of its own
            words_layout = QHBoxLayout(words)
            words_layout.setContentsMargins(0, 0, 0, 0)
            words_layout.addStretch(1)  # compact mode puts the low words before it and the high words after it
            self._rows[spec.key] = _Row(spec.label, name, low, slider, high, note, words)
        self._place_rows()

    def _place_rows(self) -> None:
        grid = self._grid
        for row in self._rows.values():
            for widget in (row.name, row.low, row.slider, row.high, row.note, row.words):
                grid.removeWidget(widget)
            for widget in (row.low, row.high):
                row.words.layout().removeWidget(widget)
            row.words.setVisible(self._compact)  # an empty line left at the grid's corner would catch clicks
        right, left = Qt.AlignmentFlag.AlignRight, Qt.AlignmentFlag.AlignLeft
        lines = 3 if self._compact else 2
        for i, row in enumerate(self._rows.values()):
            top = lines * i
            row.low.setAlignment((left if self._compact else right) | Qt.AlignmentFlag.AlignVCenter)
            if self._compact:
                grid.addWidget(row.name, top, 0)
                grid.addWidget(row.note, top, 1, right)
                grid.addWidget(row.slider, top + 1, 0, 1, 2)
                row.words.layout().insertWidget(0, row.low)
                row.words.layout().addWidget(row.high)
                grid.addWidget(row.words, top + 2, 0, 1, 2)
            else:
                grid.addWidget(row.name, top, 0, 1, 3)
                grid.addWidget(row.note, top, 2, right)
                grid.addWidget(row.low, top + 1, 0)
                grid.addWidget(row.slider, top + 1, 1)
                grid.addWidget(row.high, top + 1, 2)
        grid.setVerticalSpacing(2 if self._compact else -1)  # -1: the style's own spacing
        for column in range(3):
            grid.setColumnStretch(column, 0)
        grid.setColumnStretch(0 if self._compact else 1, 1)
        if self._compact:
            grid.setColumnStretch(1, 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The name of the slider that has keyboard focus is lit, so a room can see which one the keys move."""
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the rows' width may have changed: so may this bank's minimumSizeHint
        name = getattr(self, "_names", {}).get(watched)
        if name is not None and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            focused = event.type() == QEvent.Type.FocusIn
            name.setStyleSheet("color: palette(highlight);" if focused else "")
            if focused:
                self.ensureWidgetVisible(watched.parentWidget())
        return super().eventFilter(watched, event)  # QScrollArea watches its content's size

    def minimumSizeHint(self) -> QSize:
        """At least as wide as the rows need: the bank never scrolls sideways, so narrower it would cut them off
        at the right (the values and the high words) instead of letting the layout around it make room."""
        hint = super().minimumSizeHint()
        rows = self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(hint.width(), rows + 2 * self.frameWidth()), hint.height())

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
        if key in self._rows:
            self._rows[key].note.setText(text)

    def label(self, key: str) -> str:
        return self._rows[key].label if key in self._rows else key

    def names(self) -> list[str]:
        return list(self.sliders)

    def visible_rows(self) -> int:
        """How many sliders are wholly in view (what a room can see without scrolling)."""
        from explorer.layout_check import fully_visible

        return sum(fully_visible(row.slider, self) and fully_visible(row.name, self) for row in self._rows.values())
