"""Draft while dragging: for a model that draws in steps, a few-step draft while a slider moves, the full face when
it rests (released, or REST_MS without a move). One-pass models never draft: they are live already."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from explorer import texts
from explorer.widgets.pixel_image import PixelImage

# DPM-Solver++ 2M (Lu et al. 2022) in 5 steps. Measured on one CPU thread, batch 1 (bench prints it on the machine
# it runs on): the 32 px pixel model 81 ms a face against 286 ms for DDIM-20; a 64 px latent model (4 x 16 x 16)
# 90 ms against 408 ms. Looked at beside DDIM-20 on six seeds of the shipped pixel model: the same faces, a little
# crisper, where DDIM in 5 steps is washed out and grainy and DPM-Solver++ in 4 over-saturates them; 8 steps is
# closer still but 60 % slower. So about 11 drafts a second: a drag's face keeps up with a hand.
DRAFT_SAMPLER = "dpm++"
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
