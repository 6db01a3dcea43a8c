"""How the latent map colours its faces by one property, and the strip under it that says what the colours mean."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from models.face_renderer import ATTRIBUTES

LEVELS = 32  # distinct colours per scale: pyqtgraph draws each distinct brush once, then copies it
NO, YES = QColor("#9aa5b1"), QColor("#e8590c")  # grey for "without", a warm orange for "with": tell apart easily
HUE_SATURATION, HUE_VALUE = 0.6, 0.9


@dataclass(frozen=True)
class Scale:
    """One property as the map colours it: its words, its range and its kind of colour scale."""
    name: str
    label: str
    low: float
    high: float
    low_words: str
    high_words: str
    kind: str  # "binary" | "hue" (the point takes the colour itself) | "ramp" (dark blue to yellow)


def scale_for(name: str, values: np.ndarray) -> Scale:
    """The scale of a property by its name; an unknown property is named plainly and spans its values."""
    for a in ATTRIBUTES:
        if a.name == name:
            kind = "binary" if a.binary else "hue" if name.endswith("_hue") else "ramp"
            return Scale(name, a.label, a.low, a.high, a.low_words, a.high_words, kind)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    return Scale(name, name.replace("_", " ").capitalize(), low, high, "low", "high", "ramp")


def _ramp() -> list[QColor]:
    cmap = pg.colormap.get("viridis")
    # Stop short of viridis' palest yellow, which hardly shows on the plot's white background.
    return [QColor(*cmap.map(t, mode="byte")[:3]) for t in np.linspace(0.0, 0.9, LEVELS)]


def colours(scale: Scale, values: np.ndarray) -> list[QColor]:
    """The colour of each value on its scale, from a small palette (LEVELS colours per scale)."""
    if scale.kind == "binary":
        return [YES if v > 0.5 else NO for v in values]
    span = scale.high - scale.low or 1.0
    t = np.clip((np.asarray(values, np.float64) - scale.low) / span, 0.0, 1.0)
    steps = np.rint(t * (LEVELS - 1)).astype(int)
    if scale.kind == "hue":
        # The hue stored in the face is the colour itself: paint the dot with it (as the face is painted).
        palette = [QColor(*(int(c * 255) for c in colorsys.hsv_to_rgb(scale.low + span * k / (LEVELS - 1),
                                                                       HUE_SATURATION, HUE_VALUE)))
                   for k in range(LEVELS)]
    else:
        palette = _ramp()
    return [palette[k] for k in steps]


def brushes(scale: Scale, values: np.ndarray) -> list[QBrush]:
    cache: dict[int, QBrush] = {}
    return [cache.setdefault(c.rgb(), QBrush(c)) for c in colours(scale, values)]


def describe(scale: Scale, value: float) -> str:
    """A value in words for the hover text: 'Smile 0.42 (towards broad smile)'."""
    if scale.kind == "binary":
        return scale.high_words if value > 0.5 else scale.low_words
    middle = (scale.low + scale.high) / 2
    side = scale.high_words if value > middle else scale.low_words
    return f"{scale.label} {value:.2f} (towards {side})"


class ColourLegend(QWidget):
    """'frown ▬▬▬ broad smile' under the map, or two dots for a yes/no property."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.low = QLabel()
        self.bar = QLabel()
        self.bar.setFixedHeight(12)
        self.bar.setMinimumWidth(60)
        self.bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.high = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.low)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.high)
        layout.addStretch(0)  # keeps the two yes/no labels together when the bar is hidden

    def set_scale(self, scale: Scale) -> None:
        self.bar.setVisible(scale.kind != "binary")
        if scale.kind == "binary":
            self.low.setText(f"<span style='color:{NO.name()}; font-size:large'>●</span> {scale.low_words}")
            self.high.setText(f"<span style='color:{YES.name()}; font-size:large'>●</span> {scale.high_words}")
            return
        samples = colours(scale, np.linspace(scale.low, scale.high, 9))
        stops = ", ".join(f"stop:{i / 8:.3f} {c.name()}" for i, c in enumerate(samples))
        self.bar.setStyleSheet(f"QLabel {{ background: qlineargradient(x1:0, y1:0, x2:1, y2:0, {stops}); "
                               "border-radius: 3px; }")
        self.bar.setToolTip(f"{scale.label}: from {scale.low_words} ({scale.low:g}) to {scale.high_words} "
                            f"({scale.high:g})")
        self.low.setText(scale.low_words)
        self.high.setText(scale.high_words)
