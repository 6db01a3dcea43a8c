"""The time a run has left: right from its first reports, whatever its warm-up, pauses and sample grids cost."""

from __future__ import annotations

import pytest

from models import remaining_time
from models.families.vae import VAETrainer
from models.remaining_time import WARM_UP_STEPS, RemainingTime
from models.train import train
from models.train_events import DoneEvent, PausedEvent, StepEvent, TrainControl
from models.train_settings import TrainSettings


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_warm_up_steps_do_not_count_in_the_rate():
    clock = FakeClock()
    left = RemainingTime(clock)
    for seconds in (40.0, 10.0) + (1.0,) * 8:  # a slow first two steps (warm-up), then one second a step
        clock.t += seconds
        left.step_done()
    assert left.seconds_left(1990) == pytest.approx(1990.0)  # the old rate (5.8 s a step) said 3:12:22


def test_no_estimate_before_a_step_after_warm_up_and_none_needed_at_the_end():
    clock = FakeClock()
    left = RemainingTime(clock)
    for _ in range(WARM_UP_STEPS):
        clock.t += 1.0
        left.step_done()
        assert left.seconds_left(100) is None
    clock.t += 1.0
    left.step_done()
    assert left.seconds_left(100) == pytest.approx(100.0)
    assert left.seconds_left(0) == 0.0


def test_pauses_are_left_out_and_sample_grids_are_counted():
    clock = FakeClock()
    left = RemainingTime(clock)
    for step in range(1, 23):
        clock.t += 1.0
        left.step_done()
        if step == 12:
            left.pause()
            clock.t += 3600.0  # an hour at lunch
            left.resume()
        if step % 10 == 0:
            clock.t += 5.0  # a sample grid every 10 steps: half a second a step, amortised
        left.seconds_left(100)
    assert left.seconds_left(100) == pytest.approx(150.0, rel=0.1)


def test_the_rate_follows_a_change_of_speed():
    clock = FakeClock()
    left = RemainingTime(clock)
    for step in range(1, 203):
        clock.t += 4.0 if step <= 100 else 1.0  # another program competed for the first hundred steps
        left.step_done()
        left.seconds_left(1000)
    assert left.seconds_left(1000) == pytest.approx(1000.0)


def test_the_training_loop_reports_the_real_time_left_from_its_first_report(tmp_path, monkeypatch):
    """A run whose first steps are slow (warm-up) and which pauses: every ETA is the time its steps really took."""
    clock = FakeClock()
    monkeypatch.setattr(remaining_time, "now", clock)
    real_step, done = VAETrainer.step, []

    def step(self, next_batch):
        done.append(1)
        clock.t += {1: 40.0, 2: 10.0}.get(len(done), 1.0)
        return real_step(self, next_batch)

    monkeypatch.setattr(VAETrainer, "step", step)
    settings = TrainSettings(family="vae", out=str(tmp_path), steps=30, batch_size=8, image_size=16, channels=8,
                             data_count=32, log_every=5, sample_every=0, checkpoint_every=0,
                             model_options={"latent_dim": 4})
    control, reports, paused = TrainControl(), [], 0.0
    for event in train(settings, control):
        if isinstance(event, StepEvent):
            reports.append((event.step, event.eta_seconds, clock.t - paused))  # time at work
            if event.step == 10:
                control.pause()
        elif isinstance(event, PausedEvent):
            clock.t += 600.0  # the person looks at the samples for ten minutes
            paused += 600.0
            control.resume()
    assert event == DoneEvent(30, "finished")
    end = reports[-1][2]
    assert reports[-1][1] == 0.0
    for step, eta, at in reports[:-1]:
        assert eta == pytest.approx(end - at, rel=0.05), f"step {step}: ETA {eta} s, really {end - at} s"


def test_a_sudden_speed_up_is_followed_at_once():
    """The app's own start-up work slowed a run's first 30 steps thirty times; the ETA follows the new speed."""
    clock = FakeClock()
    left = RemainingTime(clock)
    for step in range(1, 51):
        clock.t += 1.6 if step <= 30 else 0.05
        left.step_done()
        if step % 10 == 0:
            eta = left.seconds_left(2000 - step)
    assert eta == pytest.approx(0.05 * 1950)  # two reports after the change (one quick report is not enough)
    for step in range(51, 61):  # and it stays steady afterwards
        clock.t += 0.05
        left.step_done()
    assert left.seconds_left(1940) == pytest.approx(0.05 * 1940)


def test_one_quick_stretch_on_a_busy_machine_is_not_taken_for_a_new_speed():
    clock = FakeClock()
    left = RemainingTime(clock)
    for step in range(1, 101):
        clock.t += 0.2 if 80 < step <= 90 else 1.0
        left.step_done()
        if step % 10 == 0:
            eta = left.seconds_left(1000)
    assert eta == pytest.approx(1000 * (40 * 1.0 + 10 * 0.2) / 50)  # the newer half (steps 50-100), as it was


def test_a_slow_sample_grid_does_not_throw_the_estimate():
    clock = FakeClock()
    left = RemainingTime(clock)
    etas = []
    for step in range(1, 201):
        clock.t += 0.1
        if step % 50 == 0:
            clock.t += 2.0  # a sample grid: 0.04 s a step, amortised
        left.step_done()
        if step % 10 == 0:
            etas.append(left.seconds_left(1000))
    assert all(e == pytest.approx(140.0, rel=0.3) for e in etas[2:])
