"""Shipping bars: a family's own (against real faces) and those against another family's shipped card."""

import json

import pytest
import torch

from models.checkpoint import save_checkpoint
from models.family import BarAgainst, build_model
from models.ship_model import bar_words, quality_bars, timed_pairs
from tests.models.tiny import tiny_diffusion, tiny_latent_diffusion

FIGURES = {"precision": 0.80, "precision_real": 0.90, "recall": 0.77, "recall_real": 0.91, "sharpness": 0.95,
           "ppl": 357.0, "reconstruction_error": 0.0019}


@pytest.mark.parametrize(("bar", "mine", "theirs", "met"), [
    (BarAgainst("precision", "vae", "at_least"), 0.86, 0.86, True),
    (BarAgainst("precision", "vae", "at_least"), 0.85, 0.86, False),
    (BarAgainst("ppl", "vae", "at_most", 1.5), 150.0, 100.0, True),
    (BarAgainst("ppl", "vae", "at_most", 1.5), 150.1, 100.0, False),
    (BarAgainst("sharpness", "vae", "closer_to_one"), 1.05, 0.90, True),  # over-sharp by less than the other is blurred
    (BarAgainst("sharpness", "vae", "closer_to_one"), 1.15, 0.90, False),
    (BarAgainst("sharpness", "vae", "closer_to_one"), 0.90, 0.90, False),  # a tie is not closer
])
def test_a_bar_against_another_family_applies_its_rule(bar, mine, theirs, met):
    assert bar.met(mine, theirs) is met


def test_the_vae_gans_bars_read_the_shipped_vaes_card(tmp_path):
    (tmp_path / "vae.card.json").write_text(json.dumps({"evaluate": {
        "precision": 0.86, "sharpness": 0.84, "ppl": 360.0, "reconstruction_error": 0.00245}}), encoding="utf-8")
    bars = quality_bars("vae-gan", FIGURES, tmp_path)
    assert bars["precision"]["met"] and bars["recall"]["met"]  # its own: 0.89x and 0.85x real
    assert bars["vae: precision"] == {"rule": "precision ≥ 1× the vae's", "value": 0.80, "theirs": 0.86, "met": False}
    assert bars["vae: sharpness"]["met"] and bars["vae: ppl"]["met"] and bars["vae: reconstruction_error"]["met"]
    assert bar_words("vae: precision", bars["vae: precision"]) == "precision ≥ 1× the vae's (0.8 against 0.86): NOT met"


@pytest.mark.parametrize("card", [None, "not json", json.dumps({"evaluate": {"precision": "high"}}), json.dumps([1])])
def test_a_missing_or_damaged_card_of_the_other_family_is_a_bar_not_met_that_says_why(tmp_path, card):
    if card is not None:
        (tmp_path / "vae.card.json").write_text(card, encoding="utf-8")
    bar = quality_bars("vae-gan", FIGURES, tmp_path)["vae: precision"]
    assert bar["met"] is False and bar["why"] == "the shipped vae's card has no precision"
    assert "NOT met (the shipped vae's card has no precision)" in bar_words("vae: precision", bar)


def test_a_figure_the_model_was_not_measured_for_is_a_bar_not_met(tmp_path):
    (tmp_path / "vae.card.json").write_text(json.dumps({"evaluate": {"reconstruction_error": 0.002}}), encoding="utf-8")
    figures = {k: v for k, v in FIGURES.items() if k != "reconstruction_error"}
    bar = quality_bars("vae-gan", figures, tmp_path)["vae: reconstruction_error"]
    assert bar["met"] is False and bar["why"] == "reconstruction_error was not measured"


def test_a_bar_on_time_is_judged_on_both_models_timed_in_one_run_never_on_cards(tmp_path):
    # A card's time was measured on another day, maybe another machine: it is not read.
    (tmp_path / "diffusion.card.json").write_text(json.dumps({"evaluate": {"seconds_per_image": 100.0}}),
                                                  encoding="utf-8")
    figures = FIGURES | {"seconds_per_image": 1.0}
    bar = quality_bars("latent-diffusion", figures, tmp_path)["diffusion: seconds_per_image"]
    assert bar["met"] is False and bar["why"] == "it was not timed beside a shipped diffusion"
    bar = quality_bars("latent-diffusion", figures, tmp_path, {"diffusion": (0.5, 2.5)})["diffusion: seconds_per_image"]
    assert bar["met"] is True and (bar["value"], bar["theirs"]) == (0.5, 2.5)
    assert bar_words("x", bar) == "seconds_per_image ≤ 0.25× the diffusion's (0.5 against 2.5, timed in one run): met"
    assert quality_bars("latent-diffusion", figures, tmp_path, {"diffusion": (0.7, 2.5)})[
        "diffusion: seconds_per_image"]["met"] is False
    # timed_pairs times the model and the shipped other one in turns.
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "diffusion.safetensors", build_model("diffusion", tiny_diffusion()))
    model = build_model("latent-diffusion", tiny_latent_diffusion()).eval()
    mine, theirs = timed_pairs(model, tmp_path, rounds=1)["diffusion"]
    assert mine > 0 and theirs > 0
    assert timed_pairs(model, tmp_path / "nowhere", rounds=1) == {}
