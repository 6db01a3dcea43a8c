"""Time left of a long run of steps, in words, from the rate measured so far (no Qt: tested with a fake clock)."""

from __future__ import annotations

import time
from collections.abc import Callable

from models.remaining_time import RemainingTime

MIN_STEPS = 3  # steps seen before the rate means anything
MIN_SECONDS = 5.0  # a run this short needs no estimate: it is over before one could be read


class TimeLeft:
    """Feed it (done, total) as steps arrive; `seconds()` is None until the rate is meaningful, and between steps
    it counts down from the estimate made at the last step. The rate is models.remaining_time's, the one a
    training run uses: warm-up left out, the newer half of the steps counted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self._rate: RemainingTime | None = None
        self._start: tuple[float, int] | None = None  # (time, done) at the first step seen
        self._last: tuple[float, int, int] | None = None  # (time, done, total) at the newest step

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if self._rate is None or self._last is None or done < self._last[1]:  # a new run (or one started over)
            self._rate, self._start = RemainingTime(self.clock), (now, done)
        elif done > self._last[1]:
            self._rate.step_done(done - self._last[1])
            self._rate.mark()
        self._last = (now, done, total)

    def seconds(self) -> float | None:
        if self._rate is None or self._start is None or self._last is None:
            return None
        (t0, d0), (t1, d1, total) = self._start, self._last
        if d1 - d0 < MIN_STEPS or t1 - t0 < MIN_SECONDS or d1 >= total:
            return None
        left = self._rate.seconds_left(total - d1)
        return None if left is None else max(left - (self.clock() - t1), 0.0)

    def text(self) -> str:
        """'about 3 min left', '' while there is no meaningful estimate."""
        seconds = self.seconds()
        return "" if seconds is None else f"{words(seconds)} left"


def words(seconds: float) -> str:
    """A duration as a person says it, no more precise than an estimate deserves."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 55:
        return f"about {int(round(seconds / 10) * 10)} s"
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min" if minutes else f"about {hours} h"
