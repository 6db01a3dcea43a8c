"""Sanity of the metrics on real faces through the shipped feature network, and of `evaluate` end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from models.data import synthetic_faces
from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net
from models.metrics import features_of, frechet_distance, precision_recall

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")
KEYS = ("fd", "fd_real", "precision", "recall", "density", "coverage", "precision_real", "recall_real", "ppl",
        "seconds_per_image")


@pytest.fixture(scope="module")
def faces():
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    data = synthetic_faces(900, 32, 1)
    return net, data.batch(range(300)), data.batch(range(300, 600)), data.batch(range(600, 900))


def test_two_real_samples_sit_at_the_floor_and_blur_is_visibly_worse(faces):
    net, a, b, c = faces
    fa, fb, fc = (features_of(x, net.features) for x in (a, b, c))
    floor = frechet_distance(fa, fb)
    assert frechet_distance(fa, fc) < 2 * floor  # another real sample: near the floor
    blurred = F.avg_pool2d(F.pad(c, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    assert frechet_distance(fa, features_of(blurred, net.features)) > 3 * floor
    precision, recall = precision_recall(fa, fc)
    assert precision > 0.7 and recall > 0.7  # k = 3 on 300 samples: real vs real sits near 0.8-0.9


def test_one_face_repeated_has_no_recall(faces):
    net, a, _, c = faces
    fa = features_of(a, net.features)
    repeated = features_of(c[:1].repeat(300, 1, 1, 1), net.features)
    _, recall = precision_recall(fa, repeated)
    assert recall < 0.05


def test_evaluate_command_prints_one_json_object(tmp_path):
    from models.checkpoint import save_checkpoint
    from models.family import build_model
    from tests.models.tiny import tiny_gan
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "gan.safetensors", build_model("gan", tiny_gan()))
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "evaluate", "--checkpoint", str(path),
                             "--samples", "40", "--json", "--device", "cpu"], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    for key in KEYS:
        assert isinstance(figures[key], float), key
    assert 0 <= figures["precision"] <= 1 and figures["fd_real"] < figures["fd"]  # an untrained GAN is far off
