"""`evaluate`'s new figures on tiny models: sharpness beside its real-vs-real floor, and the reconstruction of
held-out faces (disjoint from the measured sets) with progress inside the slow encodings."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from models.checkpoint import save_checkpoint
from models.data import HELD_OUT_SEED
from models.evaluate import (
    RECONSTRUCTION_SLOTS,
    RECONSTRUCTION_START,
    evaluate_steps,
    faces_to_reconstruct,
)
from models.face_renderer import render_range
from models.family import build_model
from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net
from models.generative import (
    DEFAULT_DECODING,
    DEFAULT_ENCODING,
    Decoding,
    Encoding,
    GenerativeModel,
)
from models.metrics import reconstruction_error_steps
from models.progress import Progress
from models.setting_ranges import EVAL_SAMPLES
from tests.models.tiny import tiny_gan, tiny_vae


class Copier(GenerativeModel):
    """Encodes an image as itself, times `gain`, in three steps; decodes latents as they are in two."""

    family = "vae"

    def __init__(self, gain: float = 1.0):
        super().__init__(SimpleNamespace(image_size=16))
        self.gain = gain
        self.anchor = nn.Parameter(torch.zeros(1))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (3, 16, 16)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        for step in range(1, 4):
            yield Progress(step, 3, state=images * self.gain)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        for step in range(1, 3):
            yield Progress(step, 2, image=latents)


def run(steps):
    """Every yielded value and the return value of a step generator."""
    seen = []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as stop:
            return seen, stop.value


def test_reconstruction_error_is_the_mean_squared_error_per_pixel_value():
    faces = faces_to_reconstruct(10, 16)
    fractions, perfect = run(reconstruction_error_steps(Copier(), faces, DEFAULT_ENCODING, DEFAULT_DECODING, batch=4))
    assert perfect == 0.0
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 3 * 5  # 3 batches x 5 steps
    _, halved = run(reconstruction_error_steps(Copier(0.5), faces, DEFAULT_ENCODING, DEFAULT_DECODING, batch=4))
    assert halved == pytest.approx(float((0.5 * faces.double()).pow(2).mean()), rel=1e-6)


def test_the_reconstructed_faces_come_after_the_largest_evaluations_real_sets():
    later = faces_to_reconstruct(3, 16)  # the most samples: faces 0 .. 2 * EVAL_SAMPLES.high - 1 are the real sets
    assert RECONSTRUCTION_START == 2 * EVAL_SAMPLES.high
    images, _ = render_range(HELD_OUT_SEED, RECONSTRUCTION_START, RECONSTRUCTION_START + 3, 16)
    assert torch.equal(later, torch.from_numpy(images).float().div(127.5).sub(1.0))
    assert torch.equal(faces_to_reconstruct(1, 16), later[:1])  # a family that encodes fewer shares the first ones


needs_net = pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")


@needs_net
@pytest.mark.parametrize(("family", "config"), [("vae", tiny_vae()), ("gan", tiny_gan())])
def test_evaluate_reports_sharpness_and_reconstruction_with_progress_inside(one_thread, family, config):
    torch.manual_seed(0)
    model = build_model(family, config).eval()
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    progress, figures = run(evaluate_steps(model, net, samples=20, reconstruction_faces=6))
    assert [p.done for p in progress] == list(range(len(progress))) and progress[-1].done == progress[-1].total
    inside = [p.message for p in progress if p.message.startswith("reconstruct")]
    assert len(inside) == 1 + RECONSTRUCTION_SLOTS and inside[-1] == "reconstructed all 6 of 6 held-out faces"
    assert figures["reconstruction_faces"] == 6 and 0 < figures["reconstruction_error"] < 4
    assert 0.5 < figures["sharpness_real"] < 1.5 and figures["sharpness"] > 0
    if family == "gan":  # a search of 200 steps shows itself going, not only at its end
        assert len({m for m in inside if "%" in m}) > 5


@needs_net
def test_no_reconstruction_asked_leaves_its_figures_out(one_thread):
    torch.manual_seed(0)
    model = build_model("vae", tiny_vae()).eval()
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    progress, figures = run(evaluate_steps(model, net, samples=20, reconstruction_faces=0))
    assert "reconstruction_error" not in figures and "reconstruction_faces" not in figures
    assert progress[-1].done == progress[-1].total and "sharpness" in figures


@needs_net
def test_evaluate_json_prints_the_new_figures(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "vae.safetensors", build_model("vae", tiny_vae()))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "main.py"), "evaluate", "--checkpoint", str(path),
                             "--samples", "20", "--json", "--device", "cpu"], capture_output=True, text=True,
                            timeout=300, cwd=root, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["reconstruction_faces"] == 64  # an encoder's default
    for key in ("sharpness", "sharpness_real", "reconstruction_error"):
        assert isinstance(figures[key], float), key
