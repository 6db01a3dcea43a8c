"""Measure what a person feels: the time from a slider move to the new face being painted on screen.

`python -m explorer.slider_latency [--moves 200]` opens the window (offscreen unless a display is set), moves
the first raw slider of each loaded VAE and GAN step by step, waiting for each new face, and prints the
median and worst latency beside the bare decoder's forward time, measured in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from models.checkpoint import load_checkpoint


def bare_decoder_ms(path: str, repeats: int = 50) -> float:
    """Median time of one batch-1 decode, on the worker's thread count, without the app around it."""
    from explorer.inference_worker import inference_threads
    torch.set_num_threads(inference_threads())
    model = load_checkpoint(path).model
    z = model.latents_for_seeds([0])
    times = []
    with torch.no_grad():
        model.decode(z)
        for _ in range(repeats):
            start = time.perf_counter()
            model.decode(z)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(window, app, key: str, moves: int) -> list[float]:
    """Seconds from each slider move to its face on screen (the next move waits for the paint)."""
    panel = window.explore
    window.context.set_current(key)
    deadline = time.perf_counter() + 600
    while key not in window.context.analyses or not window.worker.is_idle():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the model's analysis did not finish")
    latencies: list[float] = []
    panel.rendered.connect(lambda latency, _worker: latencies.append(latency))
    slider = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    for i in range(moves):
        wanted = len(latencies) + 1
        slider.setValue(float(np.sin(i / 7) * 2.5))
        while len(latencies) < wanted:
            app.processEvents()
    panel.rendered.disconnect()
    return latencies


def main() -> int:
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings("LatentExplorer", "slider-latency"))
    window.show()
    window.load_startup_models()
    while len(window.context.models) < len(window._startup_pending | set()) or window._startup_pending:
        app.processEvents()
    for key, info in list(window.context.models.items()):
        if info.family not in ("vae", "gan"):
            continue
        latencies = np.array(measure(window, app, key, args.moves)) * 1000
        bare = bare_decoder_ms(info.path)
        print(f"{info.label}: slider to screen median {np.median(latencies):.1f} ms, worst {latencies.max():.1f} ms "
              f"over {len(latencies)} moves; bare decoder {bare:.1f} ms "
              f"(median ratio {np.median(latencies) / bare:.1f}x)")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
