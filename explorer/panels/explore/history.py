"""Undo and redo in Explore: every slider move, seed change, reset, map drag and brought-in face is a step.

A step holds the state before and after (LatentState.snapshot, plus the brought-in face's report, if one is
shown). Moves of the same slider (or the seed box, or the map target) within MERGE_SECONDS of each other are one
step, so a drag, or a held arrow key, is undone at once. They are merged here, by stretching the newest step, not
with QUndoCommand.mergeWith: PySide keeps every command Qt deletes after a merge alive (measured: 7 MB held after
5,000 merged moves, none when Qt deletes commands past the undo limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

MERGE_SECONDS = 1.5
UNDO_LIMIT = 500  # steps kept; a snapshot is a latent and a few numbers, so this is a few MB at most


@dataclass(frozen=True)
class ExploreSnapshot:
    state: tuple[np.ndarray, int, dict[str, float]]  # LatentState.snapshot()
    report: dict[str, Any] | None = None  # the brought-in face's VAE report shown under the face, if any


class ExploreStep(QUndoCommand):
    def __init__(self, text: str, before: ExploreSnapshot, after: ExploreSnapshot,
                 apply: Callable[[ExploreSnapshot], None], merge_key: str | None = None):
        super().__init__(text)
        self.before, self.after, self._apply = before, after, apply
        self.merge_key = merge_key
        self.when = time.monotonic()
        self._done = True  # pushed after the change happened: the first redo() has nothing to do

    def stretch(self, text: str, after: ExploreSnapshot) -> None:
        """The same gesture went on: this step now ends where it has got to."""
        self.after, self.when = after, time.monotonic()
        self.setText(text)

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


class ExploreHistory(QUndoStack):
    """The undo stack, with gestures merged into one step (see the module's note)."""

    def __init__(self, apply: Callable[[ExploreSnapshot], None], parent: QObject | None = None):
        super().__init__(parent)
        self.setUndoLimit(UNDO_LIMIT)
        self._apply = apply
        self._last: tuple[ExploreStep, int] | None = None  # the newest step and the stack's index after it

    def record(self, text: str, before: ExploreSnapshot, after: ExploreSnapshot, merge_key: str | None) -> None:
        last = self._last
        if (merge_key is not None and last is not None and last[0].merge_key == merge_key
                and last[1] == self.index() and time.monotonic() - last[0].when <= MERGE_SECONDS):
            renamed = last[0].text() != text
            last[0].stretch(text, after)
            if renamed:  # the Undo menu item says what it undoes; a drag of one slider keeps the same words
                self.undoTextChanged.emit(self.undoText())
            return
        step = ExploreStep(text, before, after, self._apply, merge_key)
        self.push(step)
        self._last = (step, self.index())

    def forget(self) -> None:
        """A new model or new directions: the old steps name numbers of another space."""
        self._last = None
        self.clear()
