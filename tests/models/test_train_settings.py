"""The settings schema: a run's settings written as `train` flags read back as the same settings, for every family
(a fourth one registered by a test included), and a flag of another family refused by name."""

from __future__ import annotations

import dataclasses

import pytest

from models.config_check import ConfigError
from models.family import Family, Option, families, get_family
from models.train import check_settings
from models.train_settings import SETTINGS, TrainSettings, family_options, settings_arguments, settings_from_values
from tests.models.sketch_family import registered_sketch


def read_back(args: list[str]) -> dict:
    """What argparse would store for these flags, read with the schema alone: each flag to its destination, its
    value as a number where it is one. Flags not given are left out (argparse's None: not given)."""
    by_flag = {s.flag_name: s.dest for s in SETTINGS} | {o.flag_name: d for d, (o, _) in family_options().items()}
    switches = {"--resume"} | {o.flag_name for f in families() for o in f.options if f.option_kind(o) == "switch"}
    values, words = {}, iter(args)
    for flag in words:
        values[by_flag[flag]] = True if flag in switches else _typed(next(words))
    return values


def _typed(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def other_value(family: Family, option: Option):
    """A value of the option that is not its default, inside its range."""
    default, kind = family.option_default(option), family.option_kind(option)
    if kind == "switch":
        return not default
    if kind == "choice":
        return next(c for c in family.option_choices(option) if c != default)
    allowed = family.option_range(option)
    if kind == "whole":
        return default + 1 if default + 1 <= allowed.high else default - 1
    return default / 2 if default else (allowed.low + allowed.high) / 4


def unusual_settings(family: Family, out: str) -> TrainSettings:
    """Settings with every shared setting and every option of the family away from its default."""
    return TrainSettings(family.name, out, data="/some/faces", steps=123, batch_size=12, lr=0.0005, image_size=32,
                         seed=7, device="cpu", resume=True, channels=16, ema=0.99, data_count=300, data_seed=3,
                         log_every=5, sample_every=50, sample_count=9,
                         sample_steps=40 if family.iterative else TrainSettings.sample_steps, checkpoint_every=100,
                         model_options={o.key: other_value(family, o) for o in family.options})


@pytest.mark.parametrize("name", ["vae", "vae-gan", "gan", "diffusion", "sketch"])
def test_the_flags_of_a_runs_settings_read_back_as_the_same_settings(name, tmp_path):
    with registered_sketch():
        family = get_family(name)
        settings = unusual_settings(family, str(tmp_path / "run"))
        check_settings(dataclasses.replace(settings, data="synthetic-faces"))  # the settings make sense
        args = settings_arguments(settings)
        assert settings_from_values(read_back(args)) == settings
        assert ("--sample-steps" in args) == family.iterative  # a family that decodes in one pass has none


@pytest.mark.parametrize("name", ["vae", "vae-gan", "gan", "diffusion", "sketch"])
def test_default_settings_are_written_briefly_and_read_back(name):
    with registered_sketch():
        settings = TrainSettings(name, "runs/x")
        args = settings_arguments(settings)
        assert args == ["--model", name, "--data", "synthetic-faces", "--out", "runs/x", "--steps", "2000"]
        assert settings_from_values(read_back(args)) == settings


def test_a_flag_of_another_family_is_refused_naming_it():
    with pytest.raises(ConfigError, match="--gan-loss does not apply to a VAE"):
        settings_from_values({"model": "vae", "out": "x", "gan_loss": "hinge"})
    with pytest.raises(ConfigError, match="--beta does not apply to a diffusion model"):
        settings_from_values({"model": "diffusion", "out": "x", "beta": 2.0})
    with registered_sketch(), pytest.raises(ConfigError, match="--hidden does not apply to a GAN"):
        settings_from_values({"model": "gan", "out": "x", "hidden": 8})


def test_a_flag_two_families_share_belongs_to_each():
    options, owners = family_options()["latent_dim"]
    assert options.flag_name == "--latent-dim" and [f.name for f in owners] == ["vae", "vae-gan", "gan"]
    for name in ("vae", "vae-gan", "gan"):
        assert settings_from_values({"model": name, "out": "x", "latent_dim": 12}).model_options == {"latent_dim": 12}


def test_an_option_the_family_does_not_have_cannot_be_written():
    with pytest.raises(ConfigError, match="setting 'beta' is not one of a GAN's own"):
        settings_arguments(TrainSettings("gan", "x", model_options={"beta": 2.0}))


def test_an_unknown_family_is_refused_naming_the_known_ones():
    with pytest.raises(ConfigError, match="vae, vae-gan, gan, diffusion"):
        settings_from_values({"model": "flow", "out": "x"})
