"""`train --init-from`: a shipped model's name or a checkpoint file; anything else is one usage line before the run
claims its folder."""

from __future__ import annotations

import pytest

from explorer.cli.main import parse_command
from explorer.worker.model_catalog import RESOURCES
from models.train_settings import TrainSettings, settings_arguments, settings_from_values
from tests.explorer.cli.test_train_arguments import refused, train_help


def test_a_shipped_models_name_is_its_file(tmp_path):
    args = parse_command(["train", "--model", "vae-gan", "--out", str(tmp_path / "run"), "--init-from", "vae"])
    assert args.init_from == str(RESOURCES / "vae.safetensors")
    assert settings_from_values(vars(args)).init_from == str(RESOURCES / "vae.safetensors")


def test_a_file_is_taken_as_it_is(tmp_path):
    source = tmp_path / "mine.safetensors"
    source.write_bytes(b"whatever: the run reads it")
    args = parse_command(["train", "--model", "vae", "--out", str(tmp_path / "run"), "--init-from", str(source)])
    assert args.init_from == str(source)


@pytest.mark.parametrize("given, words", [
    ("/no/such", "argument --init-from: there is no checkpoint at '/no/such'"),
    ("vea", ("argument --init-from: There is no checkpoint 'vea': give the path of a .safetensors file, or the "
             "name of a shipped model (vae, ")),
])
def test_no_such_checkpoint_is_one_usage_line(given, words, tmp_path, capsys):
    line = refused(["train", "--model", "vae-gan", "--out", str(tmp_path / "run"), "--init-from", given], capsys)
    assert words in line
    assert not (tmp_path / "run").exists()


def test_a_folder_is_no_checkpoint(tmp_path, capsys):
    line = refused(["train", "--model", "vae-gan", "--out", str(tmp_path / "run"), "--init-from", str(tmp_path)], capsys)
    assert f"'{tmp_path}' is a folder, not a checkpoint file" in line


def test_the_settings_write_it_and_read_it_back(tmp_path):
    source = str(RESOURCES / "vae.safetensors")
    settings = TrainSettings("vae-gan", str(tmp_path / "run"), init_from=source)
    args = settings_arguments(settings)
    assert args[-2:] == ["--init-from", source]
    assert settings_from_values(vars(parse_command(["train", *args]))) == settings
    assert "--init-from" not in settings_arguments(TrainSettings("vae-gan", "run"))  # fresh weights: no flag


def test_the_help_says_what_it_is_for(capsys):
    words = train_help(capsys)
    assert "--init-from CHECKPOINT start a new run from another model's weights wherever names and shapes match" \
        in words
    assert "--resume keeps the run's own" in words

