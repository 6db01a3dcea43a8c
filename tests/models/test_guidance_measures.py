"""Guidance hit rates, the quality-for-variety knob curves and the steps curve (models/guidance_measures.py), and
their place in `evaluate` and on the card."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.face_renderer import ATTRIBUTE_NAMES
from models.family import build_model, get_family
from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net
from models.generative import DEFAULT_GUIDANCE, DEFAULT_GUIDE
from models.guidance_measures import (
    GUIDANCE_SCALES,
    check_wants,
    guidance_hits_steps,
    hit_rates,
    judge_hits,
    knob_curve_steps,
    knob_of,
    steps_curve_steps,
)
from models.metrics import drain
from tests.models.tiny import tiny_gan, tiny_latent_diffusion, tiny_vae

A = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}
needs_net = pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")


def readings(*rows: dict) -> np.ndarray:
    """Hand-made feature-network readings: every attribute 0 but those given, in the attributes' own units."""
    out = np.zeros((len(rows), len(ATTRIBUTE_NAMES)))
    for r, row in enumerate(rows):
        for name, value in row.items():
            out[r, A[name]] = value
    return out


def test_a_continuous_hit_is_within_a_quarter_of_the_range_and_glasses_is_a_side_of_one_half():
    r = readings({"smile": 0.5, "glasses": 0.5}, {"smile": 0.49, "glasses": 0.49}, {"smile": 1.0, "glasses": 0.99},
                 {"smile": -1.0, "glasses": 0.0})
    hits = judge_hits(r, [("smile", 1.0), ("glasses", 1.0)])
    assert hits.tolist() == [[True, True], [False, False], [True, True], [False, False]]
    # Wanting no glasses: below one half is the hit.
    assert judge_hits(r, [("glasses", 0.0)])[:, 0].tolist() == [False, True, False, True]
    # background_hue runs 0..0.8: a quarter of it is 0.2.
    hue = readings({"background_hue": 0.6}, {"background_hue": 0.61}, {"background_hue": 0.2})
    assert judge_hits(torch.tensor(hue), [("background_hue", 0.4)])[:, 0].tolist() == [True, False, True]


def test_hit_rates_count_each_attribute_and_all_together():
    r = readings({"smile": 1.0, "glasses": 1.0}, {"smile": 1.0}, {"glasses": 1.0}, {})
    rates = hit_rates(r, [("smile", 1.0), ("glasses", 1.0)])
    assert rates == {"all": 0.25, "per_attribute": {"smile": 0.5, "glasses": 0.5}}


@pytest.mark.parametrize("wants, words", [([("smiling", 1.0)], "not an attribute"), ([("smile", 1.5)], "outside"),
                                          ([("glasses", 0.5)], "yes or no")])
def test_a_want_that_cannot_be_judged_is_a_sentence(wants, words):
    with pytest.raises(ValueError, match=words):
        check_wants(wants)


def test_each_family_has_its_own_knob_by_its_flags():
    assert knob_of(get_family("latent-diffusion")) == "guidance"
    assert knob_of(get_family("gan")) == "truncation"
    assert knob_of(get_family("vae")) == "temperature"
    assert knob_of(get_family("vae-gan")) == "temperature"
    assert knob_of(get_family("diffusion")) is None


class ReadsBrightness:
    """A stand-in feature network: a bright face reads as smiling with glasses, a dark one as neither."""

    def predict(self, images):
        bright = (images.mean(dim=(1, 2, 3)) > 0).float()
        out = torch.zeros(len(images), len(ATTRIBUTE_NAMES))
        out[:, A["smile"]] = 2 * bright - 1
        out[:, A["glasses"]] = bright
        return out

    def features(self, images):
        return images.flatten(1)[:, :6].double()


def test_hit_rates_follow_the_scale_on_the_same_latents_and_the_base_rate_is_unguided(one_thread):
    torch.manual_seed(0)
    model = build_model("latent-diffusion", tiny_latent_diffusion()).eval()
    seen = []

    def decode(z, decoding):  # guided from scale 2 up: bright faces; otherwise dark ones
        seen.append((z.clone(), decoding))
        level = 0.5 if decoding.attributes and decoding.guidance >= 2 else -0.5
        return level + 0.1 * z.flatten(1)[:, :1, None, None].expand(-1, 3, 16, 16).tanh()

    model.decode = decode
    steps = list(guidance_hits_steps(model, ReadsBrightness(), samples=30, seed=5))
    result = steps[-1].result
    assert [p.done for p in steps] == list(range(steps[-1].total + 1)) and steps[-1].finished
    default = DEFAULT_GUIDANCE[DEFAULT_GUIDE]
    scales = sorted(set(GUIDANCE_SCALES) | {default})  # the card's scales and the default guide's own
    assert result["scales"] == scales and result["scale"] == default
    assert result["all_by_scale"] == [float(s >= 2) for s in scales]
    assert result["all"] == 1.0 and result["base_rate"] == 0.0
    assert result["per_attribute"] == {"smile": 1.0, "glasses": 1.0}
    assert result["wants"] == [["smile", 1.0], ["glasses", 1.0]] and result["samples"] == 30
    for key in ("recall", "recall_unguided", "recall_real", "precision"):
        assert 0.0 <= result[key] <= 1.0
    assert len(result["recall_by_scale"]) == len(scales)
    # Unguided and each nonzero scale, two batches each, all from the same latents (seeds 5..34).
    assert len(seen) == 2 * len(scales)
    assert not seen[0][1].attributes and seen[2][1].attributes == (("smile", 1.0), ("glasses", 1.0))
    for z, _ in seen[2::2]:
        assert torch.equal(z, seen[0][0])


def test_only_a_guided_family_is_measured_for_hits(one_thread):
    model = build_model("vae", tiny_vae())
    with pytest.raises(ValueError, match="cannot be guided"):
        next(guidance_hits_steps(model, ReadsBrightness(), samples=10))


@needs_net
@pytest.mark.parametrize("guide", ["free", "classifier"])
def test_guidance_hits_run_through_the_real_guidance(guide, one_thread):
    from models.generative import Decoding

    torch.manual_seed(0)
    model = build_model("latent-diffusion", tiny_latent_diffusion()).eval()
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    result = drain(guidance_hits_steps(model, net, (("smile", 1.0),), guide, (0.0, 5.0), samples=10,
                                       decoding=Decoding(steps=2)))
    assert result["scales"] == sorted({0.0, 5.0, DEFAULT_GUIDANCE[guide]}) and result["guide"] == guide
    assert all(0.0 <= v <= 1.0 for v in result["all_by_scale"] + result["recall_by_scale"])
    assert result["all_by_scale"][0] == result["base_rate"]


@needs_net
@pytest.mark.parametrize("family, config, knob, count", [("vae", tiny_vae, "temperature", 4),
                                                         ("gan", tiny_gan, "truncation", 4),
                                                         ("latent-diffusion", tiny_latent_diffusion, "guidance",
                                                          len(GUIDANCE_SCALES))])
def test_every_knob_curve_has_a_point_per_setting_within_range(family, config, knob, count, one_thread):
    from models.generative import Decoding

    torch.manual_seed(0)
    model = build_model(family, config()).eval()
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    steps = list(knob_curve_steps(model, net, samples=10, decoding=Decoding(steps=2)))
    result = steps[-1].result
    assert steps[-1].finished and result["knob"] == knob and len(result["values"]) == count
    assert len(result["precision"]) == len(result["recall"]) == count and result["samples"] == 10
    assert all(0.0 <= v <= 1.0 for v in result["precision"] + result["recall"])
    assert 0.0 <= result["precision_real"] <= 1.0 and 0.0 <= result["recall_real"] <= 1.0


@needs_net
def test_the_temperature_scales_the_latents(one_thread):
    torch.manual_seed(0)
    model = build_model("vae", tiny_vae()).eval()
    drawn = []
    original = model.decode
    model.decode = lambda z, decoding: drawn.append(z.clone()) or original(z, decoding)
    drain(knob_curve_steps(model, load_feature_net(DEFAULT_FEATURE_NET)[0].eval(), samples=10, values=(0.5, 1.0)))
    assert torch.allclose(drawn[0], 0.5 * drawn[1])


@needs_net
def test_the_steps_curve_has_a_distance_per_sampler_and_count(one_thread):
    torch.manual_seed(0)
    model = build_model("latent-diffusion", tiny_latent_diffusion()).eval()
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    result = drain(steps_curve_steps(model, net, samples=10, counts=(2, 5)))
    assert set(result["curves"]) == {"ddim", "dpm++"} and result["fd_real"] >= 0
    for sampler in ("ddim", "dpm++"):
        assert list(result["curves"][sampler]) == ["2", "5"]
        assert all(np.isfinite(v) and v >= 0 for v in result["curves"][sampler].values())
        assert all(s > 0 for s in result["seconds_per_image"][sampler].values())
    with pytest.raises(ValueError, match="one pass"):
        next(steps_curve_steps(build_model("vae", tiny_vae()), net, samples=10))


@needs_net
def test_evaluate_adds_the_measures_only_where_the_family_has_the_feature(one_thread, monkeypatch):
    from models import evaluate as evaluate_module
    from models.evaluate import Extras, evaluate

    monkeypatch.setattr(evaluate_module, "seconds_per_image", lambda *args, **kwargs: 0.01)  # DDPM-1000: slow
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    torch.manual_seed(0)
    vae = build_model("vae", tiny_vae()).eval()
    plain = evaluate(vae, net, samples=10, ppl_samples=4, reconstruction_faces=0)
    assert not {"guidance", "knob_curve", "steps_curve"} & set(plain)
    curved = evaluate(vae, net, samples=10, ppl_samples=4, reconstruction_faces=0, extras=Extras(curves=True))
    assert curved["knob_curve"]["knob"] == "temperature" and "steps_curve" not in curved
    # A 1,000-step schedule as shipped (the tiny fixture's 100 steps are too few for DPM++ at 50).
    latent = build_model("latent-diffusion", tiny_latent_diffusion(timesteps=1000)).eval()
    result = evaluate(latent, net, samples=10, ppl_samples=4, reconstruction_faces=0, extras=Extras(curves=True))
    assert result["guidance"]["samples"] == 10 and result["guidance"]["scales"] == [0.0, DEFAULT_GUIDANCE[DEFAULT_GUIDE]]
    assert result["knob_curve"]["knob"] == "guidance"
    assert list(result["steps_curve"]["curves"]["dpm++"]) == ["5", "10", "20", "50"]


def test_the_card_says_the_measures_in_sentences_and_names_the_flags():
    from models.ship_model import evaluate_command, extra_measure_lines

    card = {"guidance": {"wants": [["smile", 1.0], ["glasses", 1.0]], "guide": "free", "scale": 3.0, "samples": 200,
                         "all": 0.87, "base_rate": 0.05, "recall": 0.6, "recall_unguided": 0.7},
            "knob_curve": {"knob": "guidance", "values": [0.0, 3.0], "precision": [0.8, 0.9], "recall": [0.7, 0.5],
                           "samples": 500, "precision_real": 0.9, "recall_real": 0.9},
            "steps_curve": {"samples": 500, "fd_real": 0.3, "curves": {"ddim": {"5": 4.0}, "dpm++": {"5": 2.0}}}}
    text = "\n".join(extra_measure_lines(card))
    assert "87.0 % have every wanted attribute" in text and "unguided 5.0 %" in text
    assert "0: 0.80 / 0.70; 3: 0.90 / 0.50" in text and "DPM++ 5 steps 2.00" in text
    assert extra_measure_lines({}) == []
    latent = evaluate_command("latent-diffusion", 2000, get_family("latent-diffusion"))
    assert "--guidance-scales 0,1,2,3,5,8 --curves" in latent and latent.endswith("--samples 2000")
    assert "--guidance" not in evaluate_command("gan", 2000, get_family("gan"))
    assert "--curves" in evaluate_command("diffusion", 2000, get_family("diffusion"))
