"""Time left of a long measuring, from the measured rate, on a fake clock."""

from __future__ import annotations

from explorer.panels.train.time_left import MIN_SECONDS, MIN_STEPS, TimeLeft, words
from tests.models.test_remaining_time import FakeClock


def test_nothing_is_said_until_the_rate_is_measured_then_the_rest_at_that_rate():
    clock = FakeClock()
    eta = TimeLeft(clock)
    assert eta.seconds() is None and eta.text() == ""
    eta.update(0, 100)
    for done in range(1, MIN_STEPS):  # too few steps to know the rate, however long they took
        clock.t += 10
        eta.update(done, 100)
        assert eta.seconds() is None
    clock.t += 10
    eta.update(MIN_STEPS, 100)
    assert eta.seconds() == 10 * (100 - MIN_STEPS)
    assert eta.text() == f"about {round(10 * (100 - MIN_STEPS) / 60)} min left"
    clock.t += 30  # between steps it counts down from the last estimate
    assert eta.seconds() == 10 * (100 - MIN_STEPS) - 30


def test_a_quick_run_gets_no_estimate_and_the_end_has_none():
    clock = FakeClock()
    eta = TimeLeft(clock)
    for done in range(10):
        eta.update(done, 12)
        clock.t += (MIN_SECONDS - 1) / 10  # ten steps in under MIN_SECONDS: over before it could be read
    assert eta.seconds() is None
    clock.t += 5
    eta.update(10, 12)
    assert eta.seconds() is not None
    eta.update(12, 12)
    assert eta.seconds() is None and eta.text() == ""


def test_the_rate_follows_the_newer_half_of_the_run_and_a_new_run_starts_afresh():
    clock = FakeClock()
    eta = TimeLeft(clock)
    for done in range(21):
        eta.update(done, 40)
        clock.t += 2.0 if done < 10 else 4.0  # it slowed down: the newer half of the steps sets the rate
    clock.t -= 4.0  # the clock as it was at the 20th step
    assert eta.seconds() == 4.0 * 20
    eta.reset()
    assert eta.seconds() is None
    eta.update(0, 40)
    assert eta.seconds() is None


def test_durations_are_said_no_more_precisely_than_an_estimate_deserves():
    assert words(4) == "a few seconds"
    assert words(34) == "about 30 s"
    assert words(58) == "about 1 min"
    assert words(150) == "about 2 min"  # 2.5 min rounds to even
    assert words(3 * 3600 + 5 * 60) == "about 3 h 05 min"
    assert words(7200) == "about 2 h"
