"""Warm starts (models/warm_start.py, `train --init-from`): exactly the tensors of the same name and shape are copied,
anything else is one sentence, and a resumed run keeps its own weights."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import models.train
from models.checkpoint import CheckpointError, load_training_state, save_checkpoint
from models.gan import GAN
from models.train import STATE_FILE, train
from models.train_events import DoneEvent, StartEvent
from models.train_settings import TrainSettings
from models.vae import VAE
from models.vae_gan import VAEGAN
from models.warm_start import warm_start
from tests.models.test_vae_gan import tiny
from tests.models.tiny import tiny_gan, tiny_vae


@pytest.fixture(autouse=True)
def _threads(one_thread):
    yield


def saved(tmp_path, model, name="source.safetensors"):
    return save_checkpoint(tmp_path / name, model.eval(), step=5, dataset={"name": "test"})


def snapshot(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_vae_gives_a_vae_gan_its_encoder_and_decoder_and_nothing_else(tmp_path):
    torch.manual_seed(0)
    vae = VAE(tiny_vae())
    path = saved(tmp_path, vae)
    torch.manual_seed(1)
    model = VAEGAN(tiny())
    before = snapshot(model)
    words = warm_start(model, path)
    theirs, ours = vae.state_dict(), model.state_dict()
    for key, value in ours.items():
        if key.startswith(("encoder.", "decoder.")):
            assert torch.equal(value, theirs[key]), key
        else:
            assert key.startswith("discriminator.") and torch.equal(value, before[key]), key
    assert not torch.equal(before["decoder.project.weight"], ours["decoder.project.weight"])  # it was copied
    shared, total = len(theirs), len(ours)
    assert words == (f"{shared} of {total} weight tensors (decoder, encoder) from '{path}' (a VAE); the other "
                     f"{total - shared} (discriminator) start fresh")


def test_weights_of_another_shape_stay_fresh_and_are_named(tmp_path):
    source = VAE(tiny_vae(latent_dim=6))  # the encoder's head and the decoder's input weight differ in shape
    path = saved(tmp_path, source)
    model = VAEGAN(tiny())
    before = snapshot(model)
    words = warm_start(model, path)
    ours = model.state_dict()
    for key in ("encoder.head.weight", "encoder.head.bias", "decoder.project.weight"):
        assert torch.equal(ours[key], before[key]), key
    assert torch.equal(ours["decoder.project.bias"], source.state_dict()["decoder.project.bias"])  # this one fits
    assert words.endswith("; 3 of them have a name of the source's but another shape (e.g. 'encoder.head.weight')")


def test_a_checkpoint_that_shares_nothing_is_one_sentence_and_changes_nothing(tmp_path):
    path = saved(tmp_path, GAN(tiny_gan()))  # its generator's names; its discriminator is not in the file
    model = VAEGAN(tiny())
    before = snapshot(model)
    with pytest.raises(CheckpointError) as info:
        warm_start(model, path)
    assert str(info.value) == (f"'{path}' (a GAN) shares no weights with a VAE-GAN: no tensor has the same name and "
                               "shape, so it cannot start this run.")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_another_image_size_is_refused(tmp_path):
    path = saved(tmp_path, VAE(tiny_vae(image_size=32)))
    with pytest.raises(CheckpointError, match=r"is a VAE of 32 px and this run trains 16 px faces: a warm start "
                                              "needs a checkpoint of the same image size\\.$"):
        warm_start(VAEGAN(tiny()), path)


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "absent.safetensors", "There is no checkpoint at '{}', so the run cannot start from it."),
    (lambda tmp: tmp, "'{}' is a folder, not a checkpoint file, so the run cannot start from it."),
])
def test_a_missing_source_is_one_sentence(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(CheckpointError) as info:
        warm_start(VAEGAN(tiny()), path)
    assert str(info.value) == words.format(path)


def test_a_corrupt_source_is_one_sentence(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json and then some")
    with pytest.raises(CheckpointError) as info:
        warm_start(VAEGAN(tiny()), path)
    words = str(info.value)
    assert "broken.safetensors" in words and "\n" not in words and "Traceback" not in words


def settings(out, source, **kw) -> TrainSettings:
    return TrainSettings(**{"family": "vae-gan", "out": str(out), "steps": 2, "batch_size": 8, "image_size": 16,
                            "channels": 8, "data_count": 16, "log_every": 1, "sample_every": 0, "checkpoint_every": 2,
                            "model_options": {"latent_dim": 4, "recon_layer": 1}, "init_from": str(source), **kw})


@pytest.fixture
def first_weights(monkeypatch):
    """The weights of each run's model as its trainer is made (after a warm start, before a resumed state)."""
    seen = []
    make = models.train.make_trainer

    def recording(model, *args):
        seen.append(snapshot(model))
        return make(model, *args)

    monkeypatch.setattr(models.train, "make_trainer", recording)
    return seen


def test_a_run_that_starts_from_a_checkpoint_says_so_and_starts_from_its_weights(tmp_path, first_weights):
    torch.manual_seed(0)
    vae = VAE(tiny_vae(base_channels=8, max_channels=256))  # what a run with --channels 8 builds
    source = saved(tmp_path, vae)
    events = list(train(settings(tmp_path / "run", source)))
    start = events[0]
    assert isinstance(start, StartEvent) and not start.resumed and events[-1] == DoneEvent(2, "finished")
    assert start.warm_start.startswith(f"{len(vae.state_dict())} of ") and "(decoder, encoder)" in start.warm_start
    [weights] = first_weights
    assert all(torch.equal(weights[k], v) for k, v in vae.state_dict().items())


def test_resuming_a_warm_started_run_does_not_start_it_again(tmp_path, first_weights):
    torch.manual_seed(123)  # not the run's seed: its fresh weights would be the VAE's
    vae = VAE(tiny_vae(base_channels=8, max_channels=256))
    source = saved(tmp_path, vae)
    list(train(settings(tmp_path / "straight", source, steps=4)))
    list(train(settings(tmp_path / "halves", source, steps=2)))
    resumed = list(train(settings(tmp_path / "halves", source, steps=4, resume=True)))
    start = resumed[0]
    assert start.resumed and start.step == 2 and start.warm_start is None and resumed[-1] == DoneEvent(4, "finished")
    assert not torch.equal(first_weights[-1]["encoder.head.weight"], vae.state_dict()["encoder.head.weight"])
    a = load_training_state(tmp_path / "straight" / STATE_FILE)["trainer"]["model"]
    b = load_training_state(tmp_path / "halves" / STATE_FILE)["trainer"]["model"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)  # as if never stopped


def test_a_run_whose_source_shares_nothing_ends_with_that_sentence(tmp_path):
    source = saved(tmp_path, GAN(tiny_gan()))
    events = list(train(dataclasses.replace(settings(tmp_path / "run", source))))
    assert [type(e).__name__ for e in events] == ["ErrorEvent", "DoneEvent"]
    assert "shares no weights with a VAE-GAN" in events[0].message and events[-1].reason == "error"
    assert not (tmp_path / "run").exists()  # the folder it made is gone again
