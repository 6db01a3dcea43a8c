"""`train`'s flags are made from the settings' schema and the registered families: a family added by a test shows
up in --model's choices with its own flags, which apply to it alone and are checked against its own ranges."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import ClassVar

import pytest

from explorer.cli.main import build_parser, main, parse_command
from explorer.cli.train import ProgressDisplay
from models.config_check import Choice, Flag, Number, Whole
from models.families.vae import VAETrainer
from models.family import Family, Option, family_names, get_family, register_family, unregister_family
from models.train_events import StartEvent
from models.train_settings import TrainSettings, settings_arguments, settings_from_values
from models.vae import VAE, VAEConfig


@dataclass
class PocketConfig(VAEConfig):
    """A VAE's config with one extra field of each kind an option can be (the VAE ignores them)."""

    latent_dim: int = 8  # within its own range
    layers: int = 2
    sharpness: float = 0.5
    palette: str = "warm"
    mirrored: bool = False

    RANGES: ClassVar[dict] = {**VAEConfig.RANGES, "latent_dim": Whole(1, 16), "layers": Whole(1, 4),
                              "sharpness": Number(0.0, 2.0), "palette": Choice(("warm", "cool")), "mirrored": Flag()}


class PocketVAE(VAE):
    family = "pocket"


@pytest.fixture
def pocket():
    """A fourth family, registered for the test alone: a whole number, a number, a choice and a switch of its own,
    and --latent-dim shared with the VAE and the GAN under a narrower range."""
    family = register_family(Family(
        name="pocket", title="Pocket", noun="a pocket VAE", model_class=PocketVAE, config_class=PocketConfig,
        trainer_class=VAETrainer, presets=lambda size, channels: {}, order=40,
        options=(Option("latent_dim", "Latent numbers", "size of the latent vector"),
                 Option("layers", "Layers", "how many layers deep"),
                 Option("sharpness", "Sharpness", "how crisp the faces are", step=0.1),
                 Option("palette", "Palette", "its colours, 50% warmer or cooler"),
                 Option("mirrored", "Mirrored", "faces are drawn symmetrical"))))
    yield family
    unregister_family(family.name)


def train_help(capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["train", "--help"])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_every_flag_and_default_of_before_is_still_there(tmp_path):
    args = parse_command(["train", "--model", "vae", "--out", str(tmp_path / "run")])
    assert (args.data, args.steps, args.batch_size, args.lr, args.image_size, args.seed, args.device) == \
        ("synthetic-faces", 2000, 64, None, 64, 0, "auto")
    assert (args.resume, args.events, args.channels, args.ema, args.data_count, args.data_seed) == \
        (False, False, None, None, 20000, 0)
    assert (args.log_every, args.sample_every, args.sample_count, args.sample_steps, args.checkpoint_every) == \
        (10, 250, 16, 25, 500)
    assert (args.latent_dim, args.beta, args.gan_loss, args.critic_steps, args.schedule) == (None,) * 5
    assert (args.spectral_norm, args.minibatch_std) == (False, False)


def test_the_help_names_the_families_each_flag_concerns(capsys):
    words = train_help(capsys)
    assert "--model {vae,vae-gan,gan,diffusion,latent-diffusion}" in words
    assert "--latent-dim LATENT_DIM VAE, VAE-GAN and GAN: size of the latent vector" in words
    assert "--gan-loss {non-saturating,minimax,hinge,wgan-gp} GAN:" in words
    assert "--sample-steps SAMPLE_STEPS Diffusion and Latent diffusion: sampling steps" in words
    assert "--steps STEPS optimisation steps" in words  # a setting of every family: no family named


def test_a_registered_family_is_offered_with_its_own_flags(pocket, capsys):
    words = train_help(capsys)
    assert "--model {vae,vae-gan,gan,diffusion,latent-diffusion,pocket}" in words
    assert "--latent-dim LATENT_DIM VAE, VAE-GAN, GAN and Pocket: size of the latent vector" in words
    assert "--layers LAYERS Pocket: how many layers deep" in words
    assert "--palette {warm,cool} Pocket: its colours, 50% warmer or cooler" in words
    assert "--mirrored Pocket: faces are drawn symmetrical" in words


def test_its_flags_make_its_settings(pocket, tmp_path):
    args = parse_command(["train", "--model", "pocket", "--out", str(tmp_path / "run"), "--layers", "3",
                          "--sharpness", "1.5", "--palette", "cool", "--mirrored", "--latent-dim", "16"])
    settings = settings_from_values(vars(args))
    assert settings.family == "pocket"
    assert settings.model_options == {"latent_dim": 16, "layers": 3, "sharpness": 1.5, "palette": "cool",
                                      "mirrored": True}


@pytest.mark.parametrize("flag, value", [("--layers", "3"), ("--sharpness", "1"), ("--palette", "warm"),
                                         ("--mirrored", None)])
def test_its_flags_are_refused_for_another_family(pocket, flag, value, tmp_path, capsys):
    argv = ["train", "--model", "vae", "--out", str(tmp_path / "run"), flag, *([value] if value else [])]
    assert f"error: {flag} does not apply to a VAE" in refused(argv, capsys)
    assert list(tmp_path.iterdir()) == []


def test_another_familys_flag_is_refused_for_it(pocket, tmp_path, capsys):
    argv = ["train", "--model", "pocket", "--out", str(tmp_path / "run"), "--beta", "2"]
    assert "error: --beta does not apply to a pocket VAE" in refused(argv, capsys)


@pytest.mark.parametrize("flag, value, words", [
    ("--layers", "5", "should be a whole number from 1 to 4 for a pocket VAE, not 5"),
    ("--sharpness", "2.5", "should be a number from 0 to 2 for a pocket VAE, not 2.5"),
    ("--latent-dim", "17", "should be a whole number from 1 to 16 for a pocket VAE, not 17"),
])
def test_its_flags_are_checked_against_its_own_ranges(pocket, flag, value, words, tmp_path, capsys):
    argv = ["train", "--model", "pocket", "--out", str(tmp_path / "run"), flag, value]
    assert f"argument {flag}: {words}" in refused(argv, capsys)


def test_a_shared_flag_keeps_each_familys_range(pocket, tmp_path):
    args = parse_command(["train", "--model", "vae", "--out", str(tmp_path / "run"), "--latent-dim", "17"])
    assert settings_from_values(vars(args)).model_options == {"latent_dim": 17}  # the VAE's range is its own, not Pocket's


def test_the_flags_go_when_the_family_does(tmp_path, capsys):
    register_family(dataclasses.replace(get_family("vae"), name="pocket"))
    try:
        parse_command(["train", "--model", "pocket", "--out", str(tmp_path / "run")])
    finally:
        unregister_family("pocket")
    assert "pocket" not in family_names()
    line = refused(["train", "--model", "pocket", "--out", str(tmp_path / "run")], capsys)
    assert "argument --model: invalid choice: 'pocket'" in line


@pytest.mark.parametrize("settings", [
    TrainSettings(family="vae", out="r", model_options={"beta": 4.0, "latent_dim": 8}),
    TrainSettings(family="gan", out="r", steps=10, image_size=32, lr=1e-4, ema=0.99,
                  model_options={"loss": "hinge", "spectral_norm": True, "critic_steps": 2}),
    TrainSettings(family="diffusion", out="r", sample_steps=7, channels=16, model_options={"schedule": "linear"}),
], ids=["vae", "gan", "diffusion"])
def test_the_command_line_of_a_runs_settings_makes_the_same_settings(settings, tmp_path):
    settings.out = str(tmp_path / "run")
    assert settings_from_values(vars(parse_command(["train", *settings_arguments(settings)]))) == settings


def test_the_command_line_of_a_registered_familys_run_makes_the_same_settings(pocket, tmp_path):
    settings = TrainSettings(family="pocket", out=str(tmp_path / "run"),
                             model_options={"layers": 4, "sharpness": 0.25, "palette": "cool", "mirrored": True})
    assert settings_from_values(vars(parse_command(["train", *settings_arguments(settings)]))) == settings


def test_the_progress_line_names_the_family_in_words(pocket):
    stream = io.StringIO()
    for family in ("diffusion", "pocket"):
        ProgressDisplay(stream).show(StartEvent(family=family, device="cpu", dataset="Synthetic Faces", images=32,
                                                skipped=[], skipped_count=0, step=0, total_steps=3, parameters=1000,
                                                out="run"))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("Training a diffusion model (1,000 parameters)")
    assert lines[1].startswith("Training a pocket VAE (1,000 parameters)")
