"""A latent diffusion model's latent shown as it is: a small stack of grey pictures, one per channel."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.widgets.pixel_image import PixelImage

# The latent is scaled to unit variance (the scale factor measured in training), so ±3 holds nearly all of a clean
# latent and of pure noise alike. One fixed range for every channel and every step: a channel that looks flat is
# flat, and noise fading into structure is seen as it happens (a per-picture stretch would make all look alike).
SHOWN_RANGE = 3.0
MOST_SHOWN = 16  # channels drawn; a latent with more (a setting allows 64) says how many it leaves out


def per_row(count: int) -> int:
    """A square-ish grid (4 channels: 2 x 2, 8: 3 + 3 + 2): each picture as large as the space allows."""
    return max(1, math.ceil(math.sqrt(count)))


def channel_images(latent: np.ndarray, shown: int = MOST_SHOWN) -> list[np.ndarray]:
    """A latent (C, h, w) -> one grey uint8 (h, w, 3) picture per channel (the first `shown`): -3 black, +3 white."""
    values = np.clip(np.asarray(latent, dtype=np.float32)[:shown] / SHOWN_RANGE, -1.0, 1.0)
    grey = ((values + 1.0) * 127.5).round().astype(np.uint8)
    return [np.repeat(channel[:, :, None], 3, axis=2) for channel in grey]


class ChannelStrip(QWidget):
    """The latent's channels in a small grid with a caption; `set_latent(None)` empties it."""

    def __init__(self, caption: str, size: int = 40, parent: QWidget | None = None):
        super().__init__(parent)
        self._size = size
        # One line, not wrapped: a wrapped label gives the box a height for its width, and a layout then sizes the
        # whole row for the pictures' preferred sizes instead of their minimums (on a projector: past the screen).
        self.caption = QLabel(caption)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.views: list[PixelImage] = []
        self._grid = QGridLayout()
        self._grid.setSpacing(3)
        self.more = QLabel("")
        self.more.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.more.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._grid, 1)
        layout.addWidget(self.more)
        layout.addWidget(self.caption)
        self.setToolTip("The latent itself: each small grey picture is one of its channels (black -3, white +3).")

    def set_latent(self, latent: np.ndarray | None) -> None:
        if latent is None:
            for view in self.views:
                view.set_image(None)
            self.more.hide()
            return
        images = channel_images(latent)
        self._ensure(len(images))
        for view, image in zip(self.views, images):
            view.set_image(image)
        hidden = latent.shape[0] - len(images)
        self.more.setVisible(hidden > 0)
        self.more.setText(f"(the first {len(images)} of {latent.shape[0]} channels)")

    def _ensure(self, count: int) -> None:
        """Exactly `count` small views in the grid (a model with another latent shape changes it)."""
        if len(self.views) == count:
            return
        for view in self.views:
            self._grid.removeWidget(view)
            view.deleteLater()
        self.views = [PixelImage("", self._size) for _ in range(count)]
        for i, view in enumerate(self.views):
            view.setToolTip(f"Channel {i + 1} of the latent (black -3, grey 0, white +3).")
            self._grid.addWidget(view, i // per_row(count), i % per_row(count))

    def set_minimum(self, size: int) -> None:
        self._size = size
        for view in self.views:
            view.set_minimum(size)

    def images(self) -> list[np.ndarray]:
        return [v.image() for v in self.views if v.image() is not None]
