"""models/ship_model.py: a training run's checkpoint made a shipped model, with its card, directions and samples."""

from __future__ import annotations

import json
import os

import torch

from models.cache import file_digest
from models.checkpoint import save_checkpoint
from models.data import synthetic_faces
from models.directions import load_analysis
from models.family import build_model
from models.ship_model import ship, training_log
from tests.models.tiny import tiny_gan


def test_ship_writes_a_card_from_the_runs_log(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    torch.manual_seed(0)
    data = synthetic_faces(16, 16, 0).describe()
    save_checkpoint(run / "model.safetensors", build_model("gan", tiny_gan()), dataset=data, step=7)
    events = [{"event": "start", "device": "CPU (1 thread)", "step": 0},
              {"event": "step", "step": 5, "elapsed_seconds": 10.0},
              {"event": "start", "device": "CUDA (GPU)", "step": 5},  # resumed elsewhere: the clock restarts
              {"event": "step", "step": 7, "elapsed_seconds": 4.5}]
    (tmp_path / "run.log").write_text("\n".join(json.dumps(e) for e in events) + "\nnot json\n")
    assert training_log(tmp_path / "run.log") == {"training_seconds": 14.5, "devices": ["CPU (1 thread)", "CUDA (GPU)"],
                                                  "last_logged_step": 7}
    out = tmp_path / "resources"
    out.mkdir()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    card = json.loads(ship(run, "gan", "python main.py train --model gan", samples=20, out=out).read_text())
    assert card["checkpoint_sha256"] == file_digest(out / "gan.safetensors")
    assert card["training_seconds"] == 14.5 and card["evaluate"]["samples"] == 20
    assert load_analysis(out / "gan.analysis.safetensors").family == "gan"
    assert (out / "gan.samples.png").stat().st_size > 0
