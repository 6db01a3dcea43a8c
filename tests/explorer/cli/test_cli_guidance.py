"""`python main.py sample --attributes ... --guidance ... --guide ...` and `evaluate`'s guidance flags and rows: a
guided grid is written, every bad value is one sentence and a non-zero exit."""

from __future__ import annotations

import json
from argparse import Namespace
from types import SimpleNamespace

import pytest
from PIL import Image

from explorer.cli import evaluate as cli_evaluate
from explorer.cli.main import build_parser, main
from models.diffusion import SAMPLERS


def sample(checkpoint, out, *extra):
    return main(["sample", "--checkpoint", checkpoint, "-n", "2", "--steps", "2", "--device", "cpu",
                 "--out", str(out), *extra])


@pytest.mark.parametrize("guide, sampler", [("free", "ddim"), ("classifier", "dpm++")])
def test_a_guided_grid_is_written_and_says_how_it_was_steered(latent_checkpoint, tmp_path, capsys, guide, sampler):
    out = tmp_path / "g.png"
    assert sample(latent_checkpoint, out, "--attributes", "smile=1,glasses=1", "--guidance", "3", "--guide", guide,
                  "--sampler", sampler) == 0
    with Image.open(out) as grid:
        meta = json.loads(grid.text["latent-explorer"])
        assert grid.width > 16
    assert meta["attributes"] == [["smile", 1.0], ["glasses", 1.0]] and meta["guide"] == guide
    assert meta["guidance"] == 3.0 and meta["sampler"] == sampler
    assert "guided toward smile=1, glasses=1" in capsys.readouterr().out


def test_the_sampler_choices_are_the_models_own():
    action = next(a for a in build_parser().commands["sample"]._actions if a.dest == "sampler")
    assert tuple(action.choices) == SAMPLERS


@pytest.mark.parametrize("extra, words", [
    (["--attributes", "smiling=1"], "'smiling' is not an attribute the faces have"),
    (["--attributes", "smile=2"], "smile goes from -1 to 1; 2 is outside it"),
    (["--attributes", "glasses=0.5"], "glasses is yes or no"),
    (["--attributes", "smile"], "attribute=value pairs"),
    (["--attributes", "smile=1,,glasses=1"], "attribute=value pairs"),
    (["--attributes", "smile=yes"], "smile should be given a number"),
    (["--attributes", "smile=1,smile=0"], "smile is named twice"),
    (["--attributes", "smile=1", "--guidance", "21"], "from 0 to 20"),
    (["--attributes", "smile=1", "--guidance", "-1"], "from 0 to 20"),
    (["--attributes", "smile=1", "--guide", "strong"], "invalid choice"),
    (["--sampler", "euler"], "invalid choice"),
])
def test_a_bad_value_is_one_line_before_anything_is_loaded(latent_checkpoint, tmp_path, capsys, extra, words):
    with pytest.raises(SystemExit) as exit_:
        sample(latent_checkpoint, tmp_path / "x.png", *extra)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in lines[0]
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("extra, words", [
    (["--attributes", "smile=1"], "VAE models cannot be steered toward attributes, so --attributes cannot be used"),
    (["--guidance", "2", "--guide", "free"], "--guidance and --guide cannot be used"),
])
def test_guidance_for_a_family_that_cannot_be_guided_is_a_sentence(tiny_checkpoints, tmp_path, capsys, extra,
                                                                   words):
    assert sample(tiny_checkpoints["vae"], tmp_path / "x.png", *extra) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Latent diffusion checkpoints can" in lines[0]
    assert not (tmp_path / "x.png").exists()


def test_a_scale_without_attributes_is_a_sentence(latent_checkpoint, tmp_path, capsys):
    assert sample(latent_checkpoint, tmp_path / "x.png", "--guidance", "3") != 0
    line = capsys.readouterr().err.strip()
    assert "nothing for --guidance to steer toward" in line and "\n" not in line


def test_evaluate_refuses_guidance_flags_for_a_family_that_cannot_be_guided(tiny_checkpoints, capsys):
    assert main(["evaluate", "--checkpoint", tiny_checkpoints["gan"], "--samples", "10", "--device", "cpu",
                 "--guidance-attributes", "smile=1"]) != 0
    err = capsys.readouterr().err.strip()
    assert "GAN models cannot be steered" in err and "--guidance-attributes" in err and "\n" not in err


@pytest.mark.parametrize("extra, words", [(["--guidance-scales", "0,x"], "guidance scales from 0 to 20"),
                                          (["--guidance-scales", "0,25"], "guidance scales from 0 to 20"),
                                          (["--guidance-samples", "-1"], "--guidance-samples"),
                                          (["--curve-samples", "5"], "--curve-samples")])
def test_evaluate_flags_out_of_range_are_one_line(tiny_checkpoints, capsys, extra, words):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--checkpoint", tiny_checkpoints["vae"], *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err


def test_evaluate_passes_the_flags_on_and_prints_the_measures(monkeypatch, capsys):
    guidance = {"wants": [["smile", 1.0], ["glasses", 1.0]], "guide": "free", "scale": 3.0, "samples": 200,
                "all": 0.87, "base_rate": 0.05, "per_attribute": {"smile": 0.9, "glasses": 0.95},
                "base_per_attribute": {"smile": 0.3, "glasses": 0.2}, "recall": 0.61, "recall_unguided": 0.72,
                "recall_real": 0.8, "scales": [0.0, 1.0, 3.0], "all_by_scale": [0.05, 0.4, 0.87],
                "recall_by_scale": [0.72, 0.7, 0.61]}
    knob = {"knob": "guidance", "values": [0.0, 3.0], "precision": [0.8, 0.9], "recall": [0.7, 0.5],
            "samples": 500, "precision_real": 0.9, "recall_real": 0.85}
    steps = {"samples": 500, "fd_real": 0.3, "curves": {"ddim": {"5": 4.0, "50": 1.0}, "dpm++": {"5": 2.0, "50": 0.9}}}
    result = {"family": "latent-diffusion", "samples": 10, "fd": 1.0, "fd_real": 0.5, "precision": 0.9,
              "recall": 0.8, "precision_real": 1.0, "recall_real": 1.0, "ppl": 12.0, "seconds_per_image": 0.01,
              "attributes": {"smile": {"w1": 0.2}}, "guidance": guidance, "knob_curve": knob, "steps_curve": steps}
    asked = {}
    model = SimpleNamespace(family="latent-diffusion")
    net = SimpleNamespace(to=lambda device: SimpleNamespace(eval=lambda: None))
    monkeypatch.setattr(cli_evaluate, "load_checkpoint", lambda path, device: SimpleNamespace(model=model))
    monkeypatch.setattr(cli_evaluate, "load_feature_net", lambda name: (net,))
    monkeypatch.setattr(cli_evaluate, "evaluate", lambda model, net, **kwargs: asked.update(kwargs) or dict(result))
    args = Namespace(device="cpu", checkpoint="m.safetensors", json=False, samples=10, seed=0,
                     guidance_attributes=(("hair_color", 1.0),), guide="classifier", guidance_scales=(0.0, 1.0),
                     guidance_samples=50, curves=True, curve_samples=100)
    assert cli_evaluate.run_evaluate(args) == 0
    extras = asked["extras"]
    assert extras.wants == (("hair_color", 1.0),) and extras.guide == "classifier"
    assert extras.guidance_scales == (0.0, 1.0) and extras.guidance_samples == 50
    assert extras.curves and extras.curve_samples == 100
    out = capsys.readouterr().out
    assert "guidance toward smile=1, glasses=1 (classifier-free guidance, scale 3; 200 samples)" in out
    row = next(line for line in out.splitlines() if line.startswith("has every wanted attribute"))
    assert row.split()[-4:] == ["87.0", "%", "5.0", "%"]
    assert "3: 87.0 % (recall 0.61)" in out
    assert "guidance scale: quality for variety" in out
    ddim = next(line for line in out.splitlines() if line.strip().startswith("DDIM"))
    assert ddim.split() == ["DDIM", "4.000", "1.000"]
