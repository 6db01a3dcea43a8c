"""`python main.py evaluate`'s table: the family by its title, and the sampler beside the time of a family that
decodes in steps (the measuring itself is tested in tests/models/test_evaluate.py)."""

from __future__ import annotations

import dataclasses
from argparse import Namespace
from types import SimpleNamespace

import pytest

from explorer.cli import evaluate as cli_evaluate
from models.family import get_family, register_family, unregister_family


def table(monkeypatch, capsys, family: str, **extra) -> str:
    result = {"family": family, "samples": 10, "fd": 1.0, "fd_real": 0.5, "precision": 0.9, "recall": 0.8,
              "precision_real": 1.0, "recall_real": 1.0, "density": 1.0, "coverage": 0.9, "density_real": 1.0,
              "coverage_real": 1.0, "ppl": 12.0, "seconds_per_image": 0.01,
              "attributes": {"smile": {"w1": 0.2}, "hair": {"w1": 0.1}}, **extra}
    net = SimpleNamespace(to=lambda device: SimpleNamespace(eval=lambda: None))
    monkeypatch.setattr(cli_evaluate, "load_checkpoint", lambda path, device: SimpleNamespace(model=None))
    monkeypatch.setattr(cli_evaluate, "load_feature_net", lambda name: (net,))
    monkeypatch.setattr(cli_evaluate, "evaluate", lambda model, net, **kwargs: dict(result))
    args = Namespace(device="cpu", checkpoint="m.safetensors", json=False, samples=10, seed=0)
    assert cli_evaluate.run_evaluate(args) == 0
    return capsys.readouterr().out


@pytest.fixture
def swirl():
    """A family the app has never heard of that decodes in steps, for the test alone."""
    family = register_family(dataclasses.replace(get_family("diffusion"), name="swirl", title="Swirl"))
    yield family
    unregister_family(family.name)


def test_a_one_pass_family_is_timed_without_a_sampler(monkeypatch, capsys):
    out = table(monkeypatch, capsys, "gan")
    assert "m.safetensors: GAN, 10 samples" in out
    assert "(DDIM" not in out and "DDPM" not in out


def test_a_family_that_decodes_in_steps_says_how_it_was_sampled(monkeypatch, capsys):
    out = table(monkeypatch, capsys, "diffusion", sampler="ddim-50", seconds_per_image_ddpm=0.5)
    assert "m.safetensors: Diffusion, 10 samples" in out
    assert "0.0100 (DDIM-50)" in out and "DDPM-1000" in out


def test_a_registered_family_is_named_and_described_by_its_own_fields(swirl, monkeypatch, capsys):
    out = table(monkeypatch, capsys, "swirl", sampler="ddim-50")
    assert "m.safetensors: Swirl, 10 samples" in out and "(DDIM-50)" in out


def test_sharpness_is_shown_beside_its_real_floor_and_reconstruction_in_two_units(monkeypatch, capsys):
    out = table(monkeypatch, capsys, "vae", sharpness=0.837, sharpness_real=1.004, reconstruction_error=0.0025,
                reconstruction_faces=64)
    row = next(line for line in out.splitlines() if line.startswith("sharpness"))
    assert row.split()[-2:] == ["0.837", "1.004"]
    row = next(line for line in out.splitlines() if line.startswith("reconstruction error"))
    assert "0.00250" in row and "RMS 2.5 %" in row and "64 faces" in row  # sqrt(0.0025) = 0.05, of a range of 2


def test_figures_measured_before_the_new_rows_still_print(monkeypatch, capsys):
    out = table(monkeypatch, capsys, "gan")
    assert "precision" in out and "sharpness" not in out and "reconstruction" not in out
