"""10,000 slider changes in a few seconds: memory stays flat and the face on screen is the decoding of the last
latent (latest request wins, and nothing piles up: no queued requests, results, images or plot points).
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import numpy as np
import torch
from PySide6.QtWidgets import QApplication

from models.checkpoint import load_checkpoint
from models.image_io import to_uint8
from tests.qt_wait import settle as settled

MOVES = 10_000
WARM_UP = 1_000  # moves before memory is measured: first-use caches are not growth
GROWTH_LIMIT = 512 * 1024  # bytes still held after the moves; keeping one small request per move would be ~3 MB


def drag(slider, values) -> None:
    """Set the slider to each value; the event loop runs between every few moves, as it does under a mouse."""
    for i, value in enumerate(values):
        slider.setValue(float(value))
        if i % 8 == 0:
            QApplication.processEvents()


def settle(qtbot, window) -> None:
    settled(qtbot, window)  # the worker is idle and the last results have reached the panel
    gc.collect()


def test_ten_thousand_slider_moves_keep_memory_flat_and_end_on_the_last_latent(window, qtbot):
    key = next(k for k, m in window.context.models.items() if m.family == "vae")
    window.context.set_current(key)
    qtbot.waitUntil(lambda: key in window.context.analyses, timeout=120_000)
    settle(qtbot, window)
    panel = window.explore
    raw = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    direction = panel.principal_bank.sliders[panel.principal_bank.names()[0]]
    values = np.random.default_rng(0).uniform(-3, 3, MOVES)
    renders = panel.render_count

    started = time.perf_counter()
    drag(raw, values[:WARM_UP])
    settle(qtbot, window)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        half = (MOVES - WARM_UP) // 2
        drag(raw, values[WARM_UP:WARM_UP + half])
        drag(direction, values[WARM_UP + half:] / 2)  # a direction slider moves every number of the latent
        settle(qtbot, window)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started

    assert grown < GROWTH_LIMIT, f"{grown / 1024:.0f} KiB more held after {MOVES - WARM_UP:,} moves"
    assert not window.worker._pending, "requests are left waiting"
    rendered = panel.render_count - renders
    assert 1 <= rendered < MOVES, "every move was rendered: nothing was dropped for a newer one"
    model = load_checkpoint(window.context.models[key].path).model
    with torch.no_grad():
        expected = to_uint8(model.decode(torch.from_numpy(panel.state.latent())[None])[0])
    assert np.array_equal(panel.image.image(), expected), "the face shown is not the last latent's"
    print(f"{MOVES:,} moves in {seconds:.1f} s, {rendered:,} renders, {grown / 1024:.0f} KiB held afterwards")
