"""How long a run of steps has left, from the wall time its steps have taken (pauses left out): a training run,
and the Compare tab's measuring."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

# The first steps of a process pay for warm-up (allocating memory, choosing kernels, filling caches): measured on
# a CPU, the first step took 3 to 28 times a typical one and the second up to 29 times. Counted in the rate, they
# made a 2,000-step run of a few minutes say 1:19:07 at step 10.
WARM_UP_STEPS = 2
# Steps that suddenly go this many times faster than the estimate say that a slow phase has ended. Measured in the
# app: a run started while the app studied its models at start-up did 5 images/s for 30 steps, then 143 images/s.
SPEED_UP = 2.0
# The newest stretch of steps compared with the estimate: two reports' worth (--log-every 10), so that one quick
# stretch on a busy machine is not taken for a new speed.
RECENT_STEPS = 20
MAX_MARKS = 2048  # (steps, seconds) marks kept; beyond this they are thinned, so a run of any length costs little


def now() -> float:
    return time.perf_counter()


class RemainingTime:
    """Seconds left = the time per step over the newer half of the steps since warm-up × the steps left.

    The time per step is wall time, so sample grids and checkpoints count as they come; the newer half follows a
    gradual change of speed while keeping enough steps to be steady, and a sudden speed-up (see SPEED_UP) starts
    the measurement again from the newest stretch of steps.
    """

    def __init__(self, clock: Callable[[], float] | None = None):
        self._clock = clock or now
        self._paused = 0.0  # seconds spent paused in all
        self._paused_at: float | None = None
        self._steps = 0  # steps done by this process
        self._marks: list[tuple[int, float]] = []  # (steps done, active seconds) from the end of warm-up on

    def _active(self) -> float:
        """Seconds since this object was made, less the time paused."""
        return self._clock() - self._paused

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self._clock()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused += self._clock() - self._paused_at
            self._paused_at = None

    def step_done(self, steps: int = 1) -> None:
        """`steps` more steps are done (a progress report may cover several)."""
        self._steps += steps
        if not self._marks and self._steps >= WARM_UP_STEPS:
            self._marks.append((self._steps, self._active()))

    def mark(self) -> None:
        """Remember where the run is now (seconds_left does too): the halves of the run are found between marks,
        so a caller that reports now and then marks at its reports."""
        if self._marks and self._marks[-1][0] != self._steps:
            self._marks.append((self._steps, self._active()))
            if len(self._marks) > MAX_MARKS:  # a long run: every other mark is enough to find its halves
                self._marks = self._marks[:1] + self._marks[1:-1:2] + self._marks[-1:]

    def seconds_left(self, steps_left: int) -> float | None:
        """None until there is a step after warm-up to measure; 0 when no steps are left."""
        if steps_left <= 0:
            return 0.0
        if not self._marks or self._steps <= self._marks[0][0]:
            return None
        self.mark()
        start = self._marks[0][0]
        half = self._mark_at(start + (self._steps - start) // 2)
        per_step = self._rate(half)
        recent = self._mark_at(self._steps - RECENT_STEPS)
        if self._rate(recent) < per_step / SPEED_UP:
            del self._marks[:recent]  # a slow phase has ended: measure from the newest stretch on
            per_step = self._rate(0)
        return per_step * steps_left

    def _mark_at(self, step: int) -> int:
        """The index of the newest mark at or before `step`, but never the newest mark itself."""
        return max(0, min(bisect.bisect_right(self._marks, (step, float("inf"))) - 1, len(self._marks) - 2))

    def _rate(self, since: int) -> float:
        """Seconds a step, from the mark at index `since` to the newest one."""
        (first, first_active), (last, last_active) = self._marks[since], self._marks[-1]
        return (last_active - first_active) / (last - first)
