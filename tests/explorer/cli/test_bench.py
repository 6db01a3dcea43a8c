"""The bench's instruments (the whole run takes minutes: it is run by hand, not in the tests)."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QTimer

from explorer.cli.bench import (
    Figure,
    StallMeter,
    bench_settings,
    diffusion_slider_figures,
    print_table,
    slider_latencies,
    stall_figures,
    time_bar_figures,
    training_figures,
)
from models.family import get_family, register_family, unregister_family
from tests.explorer.panels.explore.awake_latent import awake_latent_checkpoint, win  # noqa: F401 - fixtures


def test_the_stall_meter_counts_only_the_lateness_of_each_tick(qapp, monkeypatch):
    """A fake clock: the logic, not the machine's load. Ticks every 5 ms are on time (0 ms stalled); a tick that
    comes 85 ms after the one before was stalled for 80 ms."""
    from explorer.cli import bench

    now = {"t": 50.0}
    monkeypatch.setattr(bench, "time", SimpleNamespace(perf_counter=lambda: now["t"]))
    meter = StallMeter(interval_ms=5)
    meter.start()
    for gap in (0.0, 0.005, 0.005, 0.085, 0.005, 0.004):  # the first tick only sets the start
        now["t"] += gap
        meter.tick()
    assert meter.stop() == pytest.approx([0.0, 0.0, 80.0, 0.0, 0.0], abs=1e-6)  # early is not negative


def test_the_stall_meter_sees_a_blocked_event_loop(qtbot):
    meter = StallMeter()
    meter.start()
    qtbot.waitUntil(lambda: len(meter.stalls) >= 5)  # it ticks in the real event loop
    before = []

    def block() -> None:
        time.sleep(0.08)  # the point of the test: the GUI thread busy for 80 ms, so the next tick is late
        before.append(len(meter.stalls))

    QTimer.singleShot(0, block)
    qtbot.waitUntil(lambda: bool(before) and len(meter.stalls) >= before[0] + 5)  # it kept ticking after the block
    stalls = meter.stop()
    assert stalls[before[0]] > 70  # the first tick after the block was at least 80 - 5 ms late, whatever the load


def test_stall_figures_judge_the_99th_percentile():
    calm = stall_figures("calm", [1.0] * 200 + [50.0])
    assert calm[0].met is True and calm[1].value == 50.0
    busy = stall_figures("busy", [30.0] * 10 + [1.0] * 10)
    assert busy[0].met is False


def test_slider_latencies_time_each_move_to_its_paint(window, qtbot):
    from PySide6.QtWidgets import QApplication
    vae = next(k for k, info in window.context.models.items() if info.family == "vae")
    latencies = slider_latencies(window, QApplication.instance(), vae, 5)
    assert len(latencies) == 5 and all(0 < v < 10_000 for v in latencies)


def test_diffusion_slider_figures_time_the_draft_and_the_full_face_apart(win, qtbot):
    """A held slider's draft and the full face after letting go, each beside the bare sampler of its own steps (the
    tiny latent model: the tiny pixel one, at 8 px, gets no sliders)."""
    from PySide6.QtWidgets import QApplication

    from explorer.panels.explore.drag_drafts import DRAFT_STEPS
    latent = next(k for k, info in win.context.models.items() if info.family == "latent-diffusion")
    figures = diffusion_slider_figures(win, QApplication.instance(), latent, 3, "Latent")
    steps = win.explore.steps.value()
    assert [f.name for f in figures] == [
        f"Latent slider draft (DDIM-{DRAFT_STEPS}) on screen, median",
        f"Latent bare DDIM-{DRAFT_STEPS} sampler",
        f"Latent slider let go: full face (DDIM-{steps}) on screen, median",
        f"Latent bare DDIM-{steps} sampler"]
    assert all(0 < f.value < 10_000 for f in figures)
    assert figures[0].met is not None and figures[2].met is not None
    assert [r.draft for r in win.renders[-6:]] == [True, False] * 3  # each move a draft, each release the full face
    assert not win.explore.shown_draft  # it ends on the full face


def test_a_bar_on_time_is_judged_on_the_ddim_seconds_of_this_run():
    loaded = [get_family("diffusion"), get_family("latent-diffusion")]
    met, = time_bar_figures(loaded, {"diffusion": 2.0, "latent-diffusion": 0.4})
    assert met.name == "Latent diffusion DDIM-50 time against the Diffusion's" and met.value == pytest.approx(0.2)
    assert met.met is True and met.target == "≤ 0.25 ×"
    assert time_bar_figures(loaded, {"diffusion": 2.0, "latent-diffusion": 0.6})[0].met is False
    assert time_bar_figures(loaded[1:], {"latent-diffusion": 0.4}) == []  # the other model is not loaded


def test_the_table_marks_missed_targets(capsys):
    print_table({"device": "CPU", "seconds": 1.0, "figures": [
        Figure("a", 1.0, "ms", "< 2 ms", True).__dict__, Figure("b", 3.0, "ms", "< 2 ms", False).__dict__]})
    out = capsys.readouterr().out
    assert "met" in out and "MISSED" in out


@pytest.fixture
def swirl():
    """A family the app has never heard of that decodes in steps, for the test alone."""
    family = register_family(dataclasses.replace(get_family("diffusion"), name="swirl", title="Swirl", order=40))
    yield family
    unregister_family(family.name)


def test_training_is_measured_at_the_shipped_models_sizes(swirl):
    sizes = {name: bench_settings(name, "run").image_size for name in ("vae", "gan", "diffusion", "swirl")}
    assert sizes == {"vae": 64, "gan": 64, "diffusion": 32, "swirl": 32}  # 32 px for a family decoding in steps


def test_training_figures_cover_every_family_by_its_title(swirl, monkeypatch):
    from explorer.cli import bench

    measured = []
    monkeypatch.setattr(bench, "_in_subprocess", lambda function, family: measured.append(family) or 100.0)
    names = [figure.name for figure in training_figures()]
    titles = ("VAE", "VAE-GAN", "GAN", "Diffusion", "Latent diffusion", "Swirl")  # the registry's order
    assert names == [f"{title} training{how}" for title in titles for how in (", bare loop", " through `train`")]
    assert measured[:4] == ["vae", "vae", "vae", "vae"] and measured[-1] == "swirl"
