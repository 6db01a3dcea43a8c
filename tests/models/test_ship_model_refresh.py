"""`python -m models.ship_model --refresh-card`: a shipped model measured again, its card's figures and bars
rewritten and every other field kept, README.md written from it; refused for a card of another checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from models.cache import file_digest
from models.checkpoint import save_checkpoint
from models.family import build_model
from models.feature_net import DEFAULT_FEATURE_NET
from models.ship_model import main
from tests.models.tiny import tiny_vae

pytestmark = pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")


def shipped_vae(out):
    """A tiny VAE shipped in `out` with a card from before sharpness and reconstruction were measured."""
    torch.manual_seed(0)
    target = save_checkpoint(out / "vae.safetensors", build_model("vae", tiny_vae()), step=7)
    old = {"fd": 9.0, "fd_real": 1.0, "precision": 0.1, "recall": 0.1, "precision_real": 0.9, "recall_real": 0.9,
           "density": 0.1, "coverage": 0.1, "density_real": 1.0, "coverage_real": 0.9, "ppl": 1.0,
           "seconds_per_image": 0.01, "samples": 2000}
    card = {"name": "vae", "family": "vae", "image_size": 16, "parameters": 123, "file_bytes": target.stat().st_size,
            "checkpoint_sha256": file_digest(target), "feature_net_sha256": "an older network", "command": "train it",
            "steps": 7, "training": {"steps": 7}, "dataset": "Synthetic Faces", "training_seconds": 60.0,
            "devices": ["CPU"], "evaluate_command": "python main.py evaluate --samples 2000", "evaluate": old,
            "quality_bars": {"recall": {"ratio_to_real": 0.111, "needed": 0.5, "met": False}},
            "samples_png": "vae.samples.png", "notes": "kept as written"}
    (out / "vae.card.json").write_text(json.dumps(card), encoding="utf-8")
    return card


def test_refresh_rewrites_the_figures_and_bars_and_keeps_the_rest(tmp_path, one_thread, capsys):
    before = shipped_vae(tmp_path)
    weights = (tmp_path / "vae.safetensors").read_bytes()
    assert main(["--refresh-card", "--name", "vae", "--samples", "20", "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "vae.card.json").read_text(encoding="utf-8"))
    changed = {key for key in card if card[key] != before.get(key)}
    assert changed == {"evaluate", "evaluate_command", "feature_net_sha256", "quality_bars"}
    figures = card["evaluate"]
    assert figures["samples"] == 20 and figures["reconstruction_faces"] == 64 and figures["device"] == "cpu"
    assert figures["sharpness"] > 0 and figures["reconstruction_error"] > 0 and "sharpness_real" in figures
    assert card["quality_bars"]["recall"]["ratio_to_real"] == round(figures["recall"] / figures["recall_real"], 3)
    assert card["evaluate_command"].endswith("--samples 20")
    assert (tmp_path / "vae.safetensors").read_bytes() == weights  # the checkpoint is not copied or touched
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "| sharpness (fine detail; real = 1, closer is better) |" in readme
    assert "reconstruction error of 64 held-out faces" in readme and "kept as written" in readme


def test_a_card_of_another_checkpoint_is_refused_in_a_sentence(tmp_path, capsys):
    card = shipped_vae(tmp_path)
    card["checkpoint_sha256"] = "0" * 64
    (tmp_path / "vae.card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--refresh-card", "--name", "vae", "--out", str(tmp_path)])
    assert "describes another checkpoint" in capsys.readouterr().err
    (tmp_path / "vae.card.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--refresh-card", "--name", "vae", "--out", str(tmp_path)])
    assert "cannot be read as a card" in capsys.readouterr().err
    (tmp_path / "vae.card.json").unlink()
    with pytest.raises(SystemExit):
        main(["--refresh-card", "--name", "vae", "--out", str(tmp_path)])
    assert "no shipped vae with a card" in capsys.readouterr().err


def test_an_old_card_without_the_new_figures_still_renders(tmp_path):
    from models.ship_model import summary_markdown
    shipped_vae(tmp_path)
    text = summary_markdown(tmp_path)
    assert "| precision | 0.100 | 0.900 |" in text and "sharpness" not in text


def test_curves_only_adds_the_knob_curve_and_keeps_every_other_figure(tmp_path, one_thread, capsys):
    before = shipped_vae(tmp_path)
    assert main(["--curves-only", "--name", "vae", "--samples", "12", "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "vae.card.json").read_text(encoding="utf-8"))
    assert {key for key in card if card[key] != before.get(key)} == {"evaluate", "curves_command"}
    figures = card["evaluate"]
    assert {k: v for k, v in figures.items() if k != "knob_curve"} == before["evaluate"]
    curve = figures["knob_curve"]
    assert curve["knob"] == "temperature" and curve["samples"] == 12 and "steps_curve" not in figures
    assert len(curve["values"]) == len(curve["precision"]) == len(curve["recall"]) == 4
    assert all(0 <= p <= 1 for p in curve["precision"] + curve["recall"])
    assert card["curves_command"].endswith("--curves-only --samples 12")
    card["checkpoint_sha256"] = "0" * 64
    (tmp_path / "vae.card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--curves-only", "--name", "vae", "--samples", "12", "--out", str(tmp_path)])
    assert "describes another checkpoint" in capsys.readouterr().err
