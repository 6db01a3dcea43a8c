"""A float slider with its value beside it, made for a person's hand and a projector.

superqt's QLabeledDoubleSlider fixes its number box's width once, from the font it had when it was made: after
presenter mode enlarges the font, "−2.81" showed as "2.81" and "0.00" as ").00". Here the number is a label whose
width follows the font, and the slider obeys the rules a scrolling list needs: the wheel moves a slider only
when it has keyboard focus (otherwise the list scrolls), Home goes back to 0, End to the far end, arrows and
Page Up/Down step, and Tab walks from slider to slider.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QWidget

TICKS_PER_UNIT = 100  # the slider moves in steps of 0.01
ARROW_STEP = 0.1
PAGE_STEP = 0.5


def format_value(value: float) -> str:
    """Two decimals with a real minus sign (U+2212), which reads better than a hyphen on a projector."""
    text = f"{value:.2f}"
    return "\u2212" + text[1:] if text.startswith("-") and text != "-0.00" else text.lstrip("-")


class _HandSlider(QSlider):
    """QSlider that leaves the wheel to the list unless it has focus, and whose Home key means 0."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # the enclosing scroll area scrolls instead

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Home and not event.modifiers():
            self.setValue(0)
            event.accept()
            return
        super().keyPressEvent(event)


class ValueSlider(QWidget):
    """A horizontal slider from `minimum` to `maximum` with its value shown beside it.

    valueChanged(float) fires for every change, from a person or from code (like QSlider).
    """

    valueChanged = Signal(float)

    def __init__(self, minimum: float = -3.0, maximum: float = 3.0, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = _HandSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Tab and click, not the wheel
        self.slider.setSingleStep(round(ARROW_STEP * TICKS_PER_UNIT))
        self.slider.setPageStep(round(PAGE_STEP * TICKS_PER_UNIT))
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.setFocusProxy(self.slider)
        self.setRange(minimum, maximum)
        self.slider.valueChanged.connect(self._changed)
        self._changed(self.slider.value())

    def setRange(self, minimum: float, maximum: float) -> None:
        self._min, self._max = float(minimum), float(maximum)
        self.slider.setRange(round(minimum * TICKS_PER_UNIT), round(maximum * TICKS_PER_UNIT))
        self._fit_label()

    def minimum(self) -> float:
        return self._min

    def maximum(self) -> float:
        return self._max

    def value(self) -> float:
        return self.slider.value() / TICKS_PER_UNIT

    def setValue(self, value: float) -> None:
        self.slider.setValue(round(min(max(float(value), self._min), self._max) * TICKS_PER_UNIT))

    def _changed(self, ticks: int) -> None:
        self.label.setText(format_value(ticks / TICKS_PER_UNIT))
        self.valueChanged.emit(ticks / TICKS_PER_UNIT)

    def _fit_label(self) -> None:
        """Room for the widest value this slider can show, in the current font. A fixed size in both directions:
        then a new value does not make Qt lay out the whole bank of sliders again (it does for a label that may
        change size), which cost a slider drag about a millisecond a move."""
        metrics = self.label.fontMetrics()
        widest = max(metrics.horizontalAdvance(format_value(v)) for v in (self._min, self._max, -8.88, 0.0))
        self.label.setFixedSize(widest + metrics.horizontalAdvance(" "), self.label.sizeHint().height())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_label()
