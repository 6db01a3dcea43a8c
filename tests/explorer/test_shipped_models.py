"""The models shipped in resources/: present, small, loadable, opened at start, each with a truthful card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from explorer.worker.compare_jobs import card_path
from explorer.worker.model_catalog import MODELS_ENV, RESOURCES, startup_checkpoints
from models.cache import file_digest
from models.checkpoint import load_checkpoint
from models.directions import load_analysis
from models.evaluate import evaluate
from models.family import family_of
from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net

FAMILIES = ("vae", "vae-gan", "gan", "diffusion", "latent-diffusion")
CARD_KEYS = ("command", "steps", "training_seconds", "devices", "evaluate", "checkpoint_sha256", "evaluate_command")
FIGURES = ("fd", "fd_real", "precision", "recall", "density", "coverage", "precision_real", "recall_real", "ppl",
           "seconds_per_image")


def shipped(family: str) -> Path:
    return RESOURCES / f"{family}.safetensors"


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_ships_a_small_model_with_its_card_directions_and_samples(family):
    path = shipped(family)
    assert path.exists(), f"resources/{family}.safetensors is missing"
    assert path.stat().st_size < 20 * 1024 * 1024
    checkpoint = load_checkpoint(path, torch.device("cpu"))
    assert checkpoint.family == family
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    for key in CARD_KEYS:
        assert key in card, f"the {family} card lacks {key}"
    assert card["checkpoint_sha256"] == file_digest(path)  # the card describes this very file
    assert card["feature_net_sha256"] == file_digest(DEFAULT_FEATURE_NET)  # ...measured by the shipped network
    assert card["steps"] == checkpoint.step
    assert card["command"].startswith("python main.py train --model " + family)
    assert card["training_seconds"] > 0 and card["devices"]
    for key in FIGURES:
        assert isinstance(card["evaluate"][key], float)
    assert card["evaluate"]["samples"] == 2000
    analysis = load_analysis(RESOURCES / f"{family}.analysis.safetensors")
    assert analysis.family == family
    assert (RESOURCES / card["samples_png"]).exists()
    shipped_files = (path, card_path(path), RESOURCES / f"{family}.analysis.safetensors", RESOURCES / card["samples_png"])
    assert sum(f.stat().st_size for f in shipped_files) < 20_000_000  # under 20 MB with everything that comes with it


@pytest.mark.parametrize("family", FAMILIES)
def test_the_shipped_sliders_were_named_and_kept_by_measuring_them(family):
    from models.direction_effects import moves_its_attribute
    analysis = load_analysis(RESOURCES / f"{family}.analysis.safetensors")
    names = [frozenset((d.low_words, d.high_words)) for d in analysis.principal]
    assert all(d.low_words and d.high_words for d in analysis.principal) and len(set(names)) == len(names)
    for d in analysis.principal:  # the words are those of its largest measured effect, with the measured sign
        assert d.low_words.startswith(d.effects[0].low_words) and d.high_words.startswith(d.effects[0].high_words)
    assert all(moves_its_attribute(d.effects, d.key[5:]) for d in analysis.attributes)


def test_the_app_opens_the_shipped_models_at_start(monkeypatch):
    monkeypatch.delenv(MODELS_ENV, raising=False)
    assert startup_checkpoints() == [shipped(f) for f in FAMILIES]


@pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")
@pytest.mark.parametrize("family", ("gan", "vae", "vae-gan"))  # diffusion takes many minutes on a CPU: by hand
def test_the_cards_figures_are_what_evaluate_measures(family):
    """Run the card's evaluate again (2,000 samples, seconds for these two) and find the same figures."""
    torch.set_num_threads(1)
    card = json.loads(card_path(shipped(family)).read_text(encoding="utf-8"))
    model = load_checkpoint(shipped(family), torch.device("cpu")).model
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    searches = family_of(model).encoding == "search"  # a search for each face takes minutes on a CPU: not here
    figures = evaluate(model, net, samples=2000, reconstruction_faces=0 if searches else None)
    for key in ("precision", "recall", "density", "coverage", "precision_real", "recall_real"):
        assert figures[key] == pytest.approx(card["evaluate"][key], abs=0.01), key
    for key in ("fd", "fd_real"):
        assert figures[key] == pytest.approx(card["evaluate"][key], rel=0.02), key
    for key in ("sharpness", "sharpness_real"):
        assert figures[key] == pytest.approx(card["evaluate"][key], abs=0.01), key
    if not searches:
        assert figures["reconstruction_error"] == pytest.approx(card["evaluate"]["reconstruction_error"], rel=0.02)
