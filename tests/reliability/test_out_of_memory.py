"""Running out of GPU memory (simulated: a model call raises PyTorch's out-of-memory error): the user reads a
clear sentence, the app frees what PyTorch had cached on the GPU, and the next request works.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.cli import main as cli
from explorer.worker.requests import Render
from models.checkpoint import load_checkpoint
from models.families.vae import VAETrainer
from models.image_io import to_uint8
from models.train import MODEL_FILE, train
from models.train_events import DoneEvent, ErrorEvent
from models.train_settings import TrainSettings
from models.vae import VAE
from tests.qt_wait import settle

CUDA_OOM = ("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity; 6.12 GiB already "
            "allocated; 1.01 GiB free; 6.30 GiB reserved in total by PyTorch)")
GPU_WORDS = "The graphics card (GPU) ran out of memory"


@pytest.fixture
def gpu(monkeypatch) -> list[int]:
    """A GPU that PyTorch has been using: calls to empty its cache are counted."""
    emptied: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    return emptied


def fail_once(monkeypatch, owner, name: str, at_call: int = 1) -> None:
    """owner.name raises a CUDA out-of-memory error on its at_call-th call; every other call works."""
    calls: list[int] = []
    real = getattr(owner, name)

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            raise torch.cuda.OutOfMemoryError(CUDA_OOM)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)


def test_explore_says_so_and_the_next_face_is_drawn(window, qtbot, monkeypatch, gpu):
    key = next(k for k, m in window.context.models.items() if m.family == "vae")
    window.context.set_current(key)
    qtbot.waitUntil(lambda: key in window.context.analyses and window.worker.is_idle(), timeout=120_000)
    panel = window.explore
    model = window.worker.store.get(key).model
    fail_once(monkeypatch, model, "decode_steps")
    slider = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    slider.setValue(1.5)
    qtbot.waitUntil(lambda: "Could not draw the face" in panel.message.text(), timeout=20_000)
    text = panel.message.text()
    assert GPU_WORDS in text and "fewer frames or steps" in text and "Something went wrong" not in text, text
    qtbot.waitUntil(lambda: len(gpu) == 1, timeout=10_000)  # the cache is handed back, once
    drawn = panel.render_count
    slider.setValue(-1.5)
    qtbot.waitUntil(lambda: panel.render_count > drawn, timeout=20_000)
    settle(qtbot, window, timeout=20_000)  # the worker is idle and the last face has reached the panel
    fresh = load_checkpoint(window.context.models[key].path).model
    with torch.no_grad():
        expected = to_uint8(fresh.decode(torch.from_numpy(panel.state.latent())[None])[0])
    assert np.array_equal(panel.image.image(), expected), "the app did not recover"


def test_a_diffusion_run_says_so_and_the_next_run_finishes(window, qtbot, monkeypatch, gpu):
    key = next(k for k, m in window.context.models.items() if m.family == "diffusion")
    qtbot.waitUntil(window.worker.is_idle, timeout=120_000)
    window.select_tab("diffusion")
    panel = window.diffusion
    fail_once(monkeypatch, window.worker.store.get(key).model, "decode_steps")
    panel.steps.setValue(10)
    panel.start()
    qtbot.waitUntil(lambda: "Could not sample" in panel.step_label.text(), timeout=20_000)
    assert GPU_WORDS in panel.step_label.text()
    assert panel.generate.isEnabled(), "the Generate button is back for another try"
    with qtbot.waitSignal(panel.finished, timeout=60_000):
        panel.start()
    assert len(panel.run.xt) == 11 and gpu


def test_the_worker_keeps_serving_after_memory_runs_out(window, qtbot, monkeypatch, gpu):
    """Straight at the worker: the failed request's result carries the sentence; the next one an image."""
    key = next(k for k, m in window.context.models.items() if m.family == "gan")
    qtbot.waitUntil(window.worker.is_idle, timeout=120_000)
    fail_once(monkeypatch, window.worker.store.get(key).model, "decode_steps")
    latent = np.zeros(window.context.models[key].latent_shape, np.float32)
    results = []
    window.worker.result.connect(results.append)
    for _ in range(2):
        request = Render(key, latent)
        window.worker.submit(request)
        qtbot.waitUntil(lambda request=request: any(r.request_id == request.id for r in results), timeout=20_000)
    failed, served = results[-2], results[-1]
    assert failed.error.startswith(GPU_WORDS) and served.error is None and served.image is not None


def test_training_stops_with_a_clear_message_and_keeps_its_checkpoint(tmp_path, monkeypatch):
    fail_once(monkeypatch, VAETrainer, "step", at_call=4)
    settings = TrainSettings("vae", str(tmp_path), steps=6, batch_size=4, image_size=16, channels=8, data_count=32,
                             sample_every=0, checkpoint_every=2, model_options={"latent_dim": 4})
    events = list(train(settings))
    error = next(e for e in events if isinstance(e, ErrorEvent))
    assert error.message.startswith(f"{GPU_WORDS} at step 4") and "batch size" in error.message
    assert "the last good checkpoint (step 2) is kept" in error.message, error.message
    assert isinstance(events[-1], DoneEvent) and events[-1].reason == "error"
    assert load_checkpoint(tmp_path / MODEL_FILE).step == 2


def test_the_cli_says_so_in_one_line(tiny_checkpoints, tmp_path, monkeypatch, capsys):
    fail_once(monkeypatch, VAE, "decode_steps")
    args = ["sample", "--checkpoint", tiny_checkpoints["vae"], "-n", "2", "--out", str(tmp_path / "g.png")]
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith(f"error: {GPU_WORDS}") and "--device cpu" in err and "Traceback" not in err
    assert cli.main(args) == 0, "the next command works"
