"""The bench's instruments (the whole run takes minutes: it is run by hand, not in the tests)."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from explorer.cli.bench import (
    Figure,
    StallMeter,
    _stall_figures,
    print_table,
    slider_latencies,
)


def test_the_stall_meter_sees_a_blocked_event_loop(qtbot):
    meter = StallMeter()
    meter.start()
    qtbot.wait(100)
    QTimer.singleShot(0, lambda: time.sleep(0.08))  # the GUI thread busy for 80 ms
    qtbot.wait(200)
    stalls = meter.stop()
    assert len(stalls) > 20  # it kept ticking around the block
    assert max(stalls) > 60
    assert sorted(stalls)[len(stalls) // 2] < 10  # and most ticks were on time


def test_stall_figures_judge_the_99th_percentile():
    calm = _stall_figures("calm", [1.0] * 200 + [50.0])
    assert calm[0].met is True and calm[1].value == 50.0
    busy = _stall_figures("busy", [30.0] * 10 + [1.0] * 10)
    assert busy[0].met is False


def test_slider_latencies_time_each_move_to_its_paint(window, qtbot):
    from PySide6.QtWidgets import QApplication
    vae = next(k for k, info in window.context.models.items() if info.family == "vae")
    latencies = slider_latencies(window, QApplication.instance(), vae, 5)
    assert len(latencies) == 5 and all(0 < v < 10_000 for v in latencies)


def test_the_table_marks_missed_targets(capsys):
    print_table({"device": "CPU", "seconds": 1.0, "figures": [
        Figure("a", 1.0, "ms", "< 2 ms", True).__dict__, Figure("b", 3.0, "ms", "< 2 ms", False).__dict__]})
    out = capsys.readouterr().out
    assert "met" in out and "MISSED" in out
