"""Draft while dragging: for a model that draws in steps, a few-step draft while a slider moves, the full face when
it rests (released, or REST_MS without a move). One-pass models never draft: they are live already."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from explorer import texts
from explorer.widgets.pixel_image import PixelImage

# DDIM in 5 steps. The shipped pixel model's measured steps curve (its card: Fréchet distance to real faces on 500
# samples, real vs real 1.20) has DDIM-5 at 3.28 and DPM-Solver++ 2M at 5 steps at 6.52 (10 steps: 2.26 and 2.19;
# the full face, DDIM-20, 1.85), at the same cost a step: so the cheapest draft that stays near the full face is
# DDIM's. Looked at beside DDIM-20 on six seeds, DDIM-5 is a little washed out and grainy and DPM-Solver++ 5 a
# little crisper but further from the data by the feature network; the measurement decides. Bare on one CPU thread,
# batch 1: about 80 ms a face for the 32 px pixel model and for a 64 px latent model, against 183-408 ms for DDIM-20.
DRAFT_SAMPLER = "ddim"
DRAFT_STEPS = 5
# Moves closer together than this are one drag (a hand rests longer than 0.2 s between two deliberate moves), and a
# handle left this long without moving has come to rest: the full face is drawn.
REST_MS = 200


class DragDrafts(QObject):
    """Decides, move by move, whether to draw a draft; emits `refine` once the moving has stopped."""

    refine = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REST_MS)
        self._timer.timeout.connect(self._rested)
        self._last_move = float("-inf")
        self._drafted = False  # a draft was asked for and no full face since

    def moved(self, held: bool) -> bool:
        """A slider moved; True: draw it as a draft (its handle is held, or the moves come faster than a rest).
        A lone move (a click, one arrow key) is drawn in full at once."""
        now = time.perf_counter()
        moving = held or now - self._last_move < REST_MS / 1000
        self._last_move = now
        if moving:
            self._drafted = True
            self._timer.start()  # restarted by every move: it fires only once the handle rests
        return moving

    def released(self) -> None:
        """The handle was let go: the full face now, without waiting for the rest time."""
        self._timer.stop()
        self._rested()

    def forget(self) -> None:
        """A full face was asked for by something else (a new seed, another model): no refine is owed."""
        self._timer.stop()
        self._drafted = False

    def owed(self) -> bool:
        return self._drafted

    def _rested(self) -> None:
        if self._drafted:
            self._drafted = False
            self.refine.emit()


class DraftTag(QLabel):
    """"draft" over the face's top-left corner while the face shown is a draft; a child of the image, so it never
    moves the layout."""

    def __init__(self, image: PixelImage):
        super().__init__(texts.DRAFT["tag"], image)
        self._image = image
        self.setStyleSheet("background: rgba(0, 0, 0, 150); color: white; padding: 1px 6px;")
        self.hide()

    def show_for(self, draft: bool, full_steps: int) -> None:
        if draft:
            self.setToolTip(texts.DRAFT["tip"].format(steps=DRAFT_STEPS, full=full_steps))
            self.adjustSize()
            corner = self._image.target_rect().topLeft()  # after set_image: the new face's own corner
            self.move(corner.x() + 6, corner.y() + 6)
        self.setVisible(draft)
