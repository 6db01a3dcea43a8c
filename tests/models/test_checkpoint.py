import errno
import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save as save_safetensors

from models import atomic_file
from models.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    load_training_state,
    read_metadata,
    save_checkpoint,
    save_training_state,
)
from models.diffusion import Diffusion
from models.gan import GAN
from models.generative import Decoding
from models.safetensors_file import METADATA_KEY
from models.vae import VAE
from tests.models.tiny import tiny_diffusion, tiny_gan, tiny_vae


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = VAE(tiny_vae()).eval()
    path = save_checkpoint(tmp_path / "vae.safetensors", model, dataset={"kind": "synthetic-faces", "name": "SF"},
                           step=42, losses={"loss": 1.5})
    return model, path


def _rewrite(path, metadata=None, tensors=None):
    """A copy of a checkpoint with its metadata and/or tensors changed."""
    from safetensors.torch import load_file

    meta = read_metadata(path) if metadata is None else metadata
    weights = load_file(path) if tensors is None else tensors
    path.write_bytes(save_safetensors(weights, metadata={METADATA_KEY: json.dumps(meta)}))
    return path


@pytest.mark.parametrize("make", [lambda: VAE(tiny_vae()), lambda: GAN(tiny_gan()), lambda: Diffusion(tiny_diffusion())])
def test_round_trip_rebuilds_the_same_model(tmp_path, make):
    torch.manual_seed(1)
    model = make().eval()
    path = save_checkpoint(tmp_path / "m.safetensors", model, step=7, dataset={"name": "SF"})
    ckpt = load_checkpoint(path)
    assert ckpt.family == model.family and ckpt.step == 7 and not ckpt.model.training
    assert ckpt.metadata["format_version"] == FORMAT_VERSION and "created" in ckpt.metadata
    z = model.sample_latents(2, seed=3)
    decoding = Decoding(steps=3)  # a one-pass decoder ignores it
    assert torch.allclose(model.decode(z, decoding), ckpt.model.decode(z, decoding), atol=1e-6)
    assert model.family.upper()[:3] in ckpt.describe().upper()


def test_gan_checkpoint_holds_only_the_generator(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", GAN(tiny_gan()))
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        keys = list(f.keys())
    assert keys and all(k.startswith("generator.") for k in keys)


def test_missing_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("content", [b"", b"abc", os.urandom(4096), b"\x00" * 100, b"hello world, not a model"])
def test_not_a_safetensors_file(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(path)


def test_truncated_at_several_points(saved):
    _, path = saved
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    for cut in (4, 20, header_end - 5, header_end + 10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        message = str(info.value)
        assert ("truncated" in message) or ("not a checkpoint" in message), message


def test_a_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name, writer in (("evil.pt", lambda p: torch.save({"w": Evil()}, p)),
                         ("evil.safetensors", lambda p: p.write_bytes(pickle.dumps(Evil())))):
        path = tmp_path / name
        writer(path)
        with pytest.raises(CheckpointError, match="pickle|not a checkpoint"):
            load_checkpoint(path)
        with pytest.raises(CheckpointError):
            load_training_state(path)
    assert not marker.exists()


def test_safetensors_without_our_metadata(tmp_path):
    path = tmp_path / "other.safetensors"
    path.write_bytes(save_safetensors({"w": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match="not a Latent Explorer checkpoint"):
        load_checkpoint(path)


def test_unknown_family(saved):
    _, path = saved
    meta = read_metadata(path) | {"family": "flow"}
    with pytest.raises(CheckpointError, match="unknown kind of model, 'flow'"):
        load_checkpoint(_rewrite(path, meta))


def test_newer_format_version(saved):
    _, path = saved
    meta = read_metadata(path) | {"format_version": FORMAT_VERSION + 1}
    with pytest.raises(CheckpointError, match="newer version"):
        load_checkpoint(_rewrite(path, meta))


@pytest.mark.parametrize("change", [{"step": "forty"}, {"format_version": "1"}, {"config": [1, 2]},
                                    {"family": 3}, {"losses": 5}])
def test_metadata_field_of_the_wrong_type(saved, change):
    _, path = saved
    with pytest.raises(CheckpointError, match="damaged metadata"):
        load_checkpoint(_rewrite(path, read_metadata(path) | change))


def test_config_value_of_the_wrong_type(saved):
    _, path = saved
    meta = read_metadata(path)
    meta["config"]["latent_dim"] = "four"
    with pytest.raises(CheckpointError, match="latent_dim"):
        load_checkpoint(_rewrite(path, meta))


def test_shapes_that_do_not_match_the_config(saved):
    _, path = saved
    meta = read_metadata(path)
    meta["config"]["latent_dim"] = 6  # the weights were made for 4
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(_rewrite(path, meta))


def test_a_weight_with_a_changed_shape_or_missing(saved):
    from safetensors.torch import load_file

    _, path = saved
    weights = load_file(path)
    key = next(iter(weights))
    changed = dict(weights, **{key: torch.zeros(3, 3)})
    with pytest.raises(CheckpointError, match=f"weight '{key}' has shape"):
        load_checkpoint(_rewrite(path, tensors=changed))
    del weights[key]
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(_rewrite(path, tensors=weights))


def test_nan_weights(saved):
    from safetensors.torch import load_file

    _, path = saved
    weights = load_file(path)
    key = next(iter(weights))
    weights[key] = torch.full_like(weights[key], float("nan"))
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(_rewrite(path, tensors=weights))


def test_crash_mid_save_keeps_the_previous_checkpoint(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt  # the process dies between writing the temporary file and renaming it

    monkeypatch.setattr(atomic_file.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, VAE(tiny_vae()), step=99)
    assert path.read_bytes() == before
    assert load_checkpoint(path).step == 42
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_full_disk_during_save_is_a_clear_error_and_loses_nothing(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_file.os, "fsync", full)
    with pytest.raises(CheckpointError, match="disk is full"):
        save_checkpoint(path, VAE(tiny_vae()), step=99)
    monkeypatch.setattr(atomic_file.os, "fsync", real_fsync)
    assert path.read_bytes() == before and load_checkpoint(path).step == 42


def test_training_state_round_trip_and_damage(tmp_path):
    rng = torch.get_rng_state()  # a state of the shape models/train.py saves (load_training_state checks it)
    state = {"step": 5, "settings": {"family": "vae"}, "trainer": {"model": {"a": torch.arange(3.0)}},
             "rng": {"torch": rng, "data": rng, "noise": rng}, "batches": {"order": torch.arange(4), "position": 2}}
    path = save_training_state(tmp_path / "state.pt", state)
    back = load_training_state(path)
    assert back["step"] == 5 and torch.equal(back["trainer"]["model"]["a"], torch.arange(3.0))
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="damaged"):
        load_training_state(path)
    with pytest.raises(CheckpointError, match="no training state"):
        load_training_state(tmp_path / "missing.pt")


def test_saved_files_are_readable_by_others_and_keep_their_mode(tmp_path):
    path = save_checkpoint(tmp_path / "m.safetensors", VAE(tiny_vae()))
    assert path.stat().st_mode & 0o777 == 0o644
    os.chmod(path, 0o640)
    save_checkpoint(path, VAE(tiny_vae()))
    assert path.stat().st_mode & 0o777 == 0o640
