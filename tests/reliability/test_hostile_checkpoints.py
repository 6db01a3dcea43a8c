"""Hostile checkpoints, feature networks and analyses: every reader refuses each with one sentence that names the
file, without hanging, without reading what it does not need, and without building a model from settings it has
not checked.

Readers: load_checkpoint, read_metadata and inspect_checkpoint (models/checkpoint.py), load_feature_net and
load_analysis, which share one header reader (models/safetensors_file.py). Files: see hostile_files.py, plus
checkpoint metadata of every wrong type and every model setting out of its range.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import torch

from models import checkpoint as checkpoint_module
from models.checkpoint import (
    MAX_WEIGHTS,
    CheckpointError,
    inspect_checkpoint,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from models.config_check import Choice, Flag, Number, Whole, Wholes
from models.directions import AnalysisError, load_analysis
from models.family import build_model, family_names, get_family
from models.feature_net import FeatureNet, FeatureNetConfig, FeatureNetError, load_feature_net, save_feature_net
from models.safetensors_file import MAX_DATA
from models.shipped import resources_dir
from tests.models.tiny import tiny_diffusion, tiny_gan, tiny_latent_diffusion, tiny_vae, tiny_vae_gan
from tests.reliability.hostile_files import (
    assert_one_sentence,
    checkpoint_with,
    file_cases,
    long_shape,
    make_non_regular,
    read_in_time,
    sparse_checkpoint,
    write_cases,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = {"vae": tiny_vae, "vae-gan": tiny_vae_gan, "gan": lambda: tiny_gan(spectral_norm=True),
        "diffusion": tiny_diffusion, "latent-diffusion": tiny_latent_diffusion}
READERS = {  # name -> (read(path), the error it raises, kind of good file)
    "load_checkpoint": (load_checkpoint, CheckpointError, "checkpoint"),
    "read_metadata": (read_metadata, CheckpointError, "checkpoint"),
    "inspect_checkpoint": (inspect_checkpoint, CheckpointError, "checkpoint"),
    "load_feature_net": (load_feature_net, FeatureNetError, "feature network"),
    "load_analysis": (load_analysis, AnalysisError, "analysis"),
}
CHECKPOINT_READERS = ["load_checkpoint", "read_metadata", "inspect_checkpoint"]
MOST_MEMORY = 32 * 1024**2  # Python bytes a refusal may allocate: a sparse tail or a 99 MB header would be read


def save_tiny(path: Path, family: str = "vae") -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, build_model(family, TINY[family]()), dataset={"name": "SF"}, step=5)


def good_file(kind: str, folder: Path) -> Path:
    """A file of this kind that its reader accepts."""
    if kind == "checkpoint":
        return save_tiny(folder / "good.safetensors")
    if kind == "feature network":
        return save_feature_net(folder / "good.safetensors", FeatureNet(FeatureNetConfig((4, 8), 16)), {})
    return Path(shutil.copy(resources_dir() / "gan.analysis.safetensors", folder / "good.safetensors"))


@pytest.fixture(autouse=True)
def no_model_is_built_for_real(monkeypatch):
    """A refused file must not get as far as allocating its model: checkpoint.build_model fails the test. With
    pytest.fail, whose exception is no Exception: the readers' catch-alls would have made an AssertionError one more
    CheckpointError, and the test would have passed."""
    def refuse(family, config):
        pytest.fail(f"a real {family} model was built from a file that is refused")
    monkeypatch.setattr(checkpoint_module, "build_model", refuse)


def test_building_a_model_fails_the_test_through_every_catch_all(tmp_path):
    good = save_tiny(tmp_path / "good.safetensors")
    with pytest.raises(pytest.fail.Exception, match="a real vae model was built"):
        load_checkpoint(good)
    catch_all = CheckpointError("'good.safetensors' is damaged or not a checkpoint of ours (AssertionError while "
                                "reading it).")
    with pytest.raises(AssertionError, match="catch-all"):
        assert_one_sentence(catch_all, CheckpointError, "good.safetensors")


@pytest.mark.parametrize("reader", list(READERS))
def test_damaged_headers_are_one_sentence_read_within_a_small_memory(reader, tmp_path):
    read, error_class, kind = READERS[reader]
    good = good_file(kind, tmp_path)
    if reader != "load_checkpoint":  # (the fixture stops load_checkpoint from building any model at all)
        read(good)
    paths = write_cases(tmp_path, file_cases(good))
    for path in paths:
        tracemalloc.start()
        try:
            error = read_in_time(lambda path=path: read(path), tmp_path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert_one_sentence(error, error_class, path.name)
        assert peak < MOST_MEMORY, f"{path.name}: reading it took {peak / 1024**2:.0f} MB"


def test_the_header_cap_and_the_exact_size_say_so(tmp_path):
    paths = {p.name: p for p in write_cases(tmp_path, file_cases(good_file("checkpoint", tmp_path)))}
    words = {"huge-header.safetensors": "ours are never more than", "trailing-byte.safetensors": "1 bytes more than",
             "sparse-tail.safetensors": "2,147,483,648 bytes more than", "gap.safetensors": "overlap or leave gaps",
             "overlap.safetensors": "overlap or leave gaps", "deep-header.safetensors": "description is not readable",
             "metadata-list.safetensors": "metadata is not a set of texts",
             "same-range.safetensors": "overlap or leave gaps", "out-of-order-overlap.safetensors": "overlap or leave",
             "offsets-late.safetensors": "overlap or leave gaps", "data-cut-short.safetensors": "is truncated",
             "metadata-value-number.safetensors": "metadata is not a set of texts"}
    invalid = "the description of its weight 'a' is not valid"  # a wrong type anywhere in it, a list for a dtype too
    words |= {name: invalid for name in paths if name.startswith(("dtype-", "shape-", "offsets-"))
              and name != "offsets-late.safetensors"}
    words |= {name: invalid for name in ("long-shape.safetensors", "nine-dims.safetensors",
                                         "huge-sizes.safetensors", "extra-key.safetensors")}
    for name, expected in words.items():
        with pytest.raises(CheckpointError) as info:
            read_metadata(paths[name])
        assert_one_sentence(info.value, CheckpointError, name, expected)


def test_a_shape_of_many_sizes_is_refused_at_once(tmp_path):
    """800 KB of 7-digit sizes in one weight's shape: multiplying them out took 6.3 s, and would take 2.5 minutes at
    the header's cap. A shape has at most 8 sizes, and the product stops once it passes the weight's bytes."""
    path = tmp_path / "long-shape.safetensors"
    path.write_bytes(long_shape())
    assert path.stat().st_size > 790_000
    for reader in READERS:
        start = time.perf_counter()
        error = read_in_time(lambda reader=reader: READERS[reader][0](path), tmp_path)
        seconds = time.perf_counter() - start
        assert_one_sentence(error, READERS[reader][1], path.name)
        assert seconds < 1.0, f"{reader} took {seconds:.1f} s"


# The largest U-Net each of the settings' ranges allows: 59.8 billion weights, 223 GiB as 32-bit numbers.
HUGE_UNET = {"image_size": 256, "base_channels": 512, "channel_mults": [8] * 7, "res_blocks": 8,
             "attention_resolutions": [256, 128, 64, 32, 16, 8, 4], "heads": 64}
# 928 million weights: as 16-bit numbers (1.9 GB) under the data cap, but 3.7 GB once loaded as 32-bit ones.
LARGE_UNET = {"image_size": 256, "base_channels": 256, "channel_mults": [1, 2, 4, 8], "res_blocks": 2}


def test_a_model_too_large_for_memory_is_refused_before_its_weights_are_read_or_it_is_built(tmp_path):
    """Settings each in its range, in a file of exactly the right size (sparse: no disk): the 223 GiB one is refused
    from the file's size, the 1.9 GB one of 16-bit weights from its model's size counted with no memory; neither
    is read, and no model is built (the fixture)."""
    files = {"huge": (sparse_checkpoint(tmp_path / "huge.safetensors", "diffusion", HUGE_UNET),
                      "is too large to be a checkpoint of ours", CHECKPOINT_READERS),
             "half": (sparse_checkpoint(tmp_path / "half.safetensors", "diffusion", LARGE_UNET, "F16"),
                      "describes a model too large for this app", ["inspect_checkpoint", "load_checkpoint"])}
    assert files["huge"][0].stat().st_size > 200 * 1024**3
    assert MAX_DATA // 2 < files["half"][0].stat().st_size < MAX_DATA
    for path, words, readers in files.values():
        for reader in readers:
            tracemalloc.start()
            start = time.perf_counter()
            try:
                error = read_in_time(lambda path=path, reader=reader: READERS[reader][0](path), tmp_path)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            seconds = time.perf_counter() - start
            assert_one_sentence(error, CheckpointError, path.name, words)
            assert peak < MOST_MEMORY, f"{path.name}: {reader} took {peak / 1024**2:.0f} MB"
            assert seconds < 5, f"{path.name}: {reader} took {seconds:.1f} s"
    assert f"{MAX_WEIGHTS:,}" in str(error)


def test_a_checkpoint_replaced_between_its_description_and_its_weights_is_refused(tmp_path, monkeypatch):
    """The header is read and checked, the model built, then the weights read: a training run saving (an atomic
    replace) or a tool rewriting the file in place (even keeping its size and time) in between must not pair one
    file's description with another's weights. The same header over other weights is still one file: it loads."""
    monkeypatch.setattr(checkpoint_module, "build_model", build_model)  # these load for real
    path = tmp_path / "model.safetensors"
    first = save_tiny(tmp_path / "first.safetensors").read_bytes()
    torch.manual_seed(1)
    other = save_checkpoint(tmp_path / "other.safetensors", build_model("vae", tiny_vae()), dataset={"name": "SF"},
                            step=6).read_bytes()
    header_len = 8 + int.from_bytes(first[:8], "little")
    assert len(other) == len(first) and other[:header_len] != first[:header_len]  # its step, 6
    same_header = first[:header_len] + other[header_len:]

    def replace() -> None:
        (tmp_path / "new.safetensors").write_bytes(other)
        os.replace(tmp_path / "new.safetensors", path)

    def rewrite(content: bytes):
        def write() -> None:
            before = path.stat()
            with open(path, "r+b") as file:
                file.write(content)
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
            assert path.stat().st_ino == before.st_ino
        return write

    real_read_tensors = checkpoint_module.read_tensors
    for way, change in {"replaced": replace, "rewritten": rewrite(other), "same header": rewrite(same_header)}.items():
        path.write_bytes(first)

        def changed_then_read(header, what, change=change):
            change()
            return real_read_tensors(header, what)
        monkeypatch.setattr(checkpoint_module, "read_tensors", changed_then_read)
        if way == "same header":  # one file: its description and the weights now in it
            loaded = load_checkpoint(path)
            assert loaded.step == 5
            weights = load_checkpoint(tmp_path / "other.safetensors").model.state_dict()
            assert all(torch.equal(v, weights[k]) for k, v in loaded.model.state_dict().items())
        else:
            error = read_in_time(lambda: load_checkpoint(path), tmp_path)
            assert_one_sentence(error, CheckpointError, path.name, "changed while it was being read")


@pytest.mark.parametrize("reader", list(READERS))
def test_things_that_are_not_regular_files_are_refused_before_they_are_opened(reader, tmp_path):
    read, error_class, _ = READERS[reader]
    for name, words in make_non_regular(tmp_path).items():
        error = read_in_time(lambda name=name: read(tmp_path / name), tmp_path)
        assert_one_sentence(error, error_class, name, words)


def test_a_training_state_that_is_a_fifo_is_refused_too(tmp_path):
    from models.checkpoint import load_training_state
    make_non_regular(tmp_path)
    error = read_in_time(lambda: load_training_state(tmp_path / "fifo-link.safetensors"), tmp_path)
    assert_one_sentence(error, CheckpointError, "fifo-link.safetensors", "is a named pipe (FIFO)")


# ---------------------------------------------------------------------------------------- checkpoint metadata
WRONG_METADATA = {
    "format_version": [0, -1, "1", 1.5, True, None, [1]],
    "family": [3, None, ["vae"], {"vae": 1}, True],
    "config": [[1, 2], "latent_dim", None, 5, True],
    "step": [-5, 10**13, 1.5, "5", True, None, float("nan")],
    "image_size": ["16", 32, None, 16.0, [16]],
    "dataset": [[1], "Synthetic Faces", 5, {"name": {"a": 1}}, {"name": 5}],
    "losses": [[1.0], "low", 5],
    "created": [5, ["2025"], {"y": 1}],
    "training": [[1], "vae", 5],
    "app_version": [1, None],
}


@pytest.mark.parametrize("reader", CHECKPOINT_READERS)
def test_checkpoint_metadata_of_the_wrong_type_or_range(reader, tmp_path):
    read = READERS[reader][0]
    good = save_tiny(tmp_path / "good.safetensors")
    meta = json.loads(json.dumps(read_metadata(good)))
    cases = {f"{key}-{i}.safetensors": {**meta, key: value}
             for key, values in WRONG_METADATA.items() for i, value in enumerate(values)}
    cases |= {f"description-{i}.safetensors": value for i, value in enumerate([[1], "text", 5, None, True])}
    cases["deep-config.safetensors"] = {**meta, "config": {"latent_dim": json.loads("[" * 500 + "]" * 500)}}
    cases["unknown-setting.safetensors"] = {**meta, "config": {**meta["config"], "\x1b[2Jwipe": 1}}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(checkpoint_with(good, content))
        error = read_in_time(lambda name=name: read(tmp_path / name), tmp_path)
        assert_one_sentence(error, CheckpointError, name)
        assert "\x1b" not in str(error), "a control character from the file reached the message"


# ---------------------------------------------------------------------------------------- settings out of range
def bad_values(allowed) -> list:
    """Values just outside a setting's range, far outside it, and of the wrong type."""
    if isinstance(allowed, Whole):
        return [allowed.low - 1, allowed.high + 1, -1, 10**30, str(allowed.low), True, float(allowed.low), None,
                [allowed.low]]
    if isinstance(allowed, Number):
        return [allowed.low - 1, allowed.high + 1 if not allowed.high_open else allowed.high, float("nan"),
                float("inf"), -float("inf"), "1", True, None]
    if isinstance(allowed, Choice):
        return ["nonsense", allowed.options[0].upper(), 3, None, list(allowed.options)]
    if isinstance(allowed, Flag):
        return [1, 0, "true", None]
    assert isinstance(allowed, Wholes)
    return [[] for _ in range(allowed.min_count > 0)] + [
        [allowed.each.low - 1], [allowed.each.high + 1], [allowed.each.low] * (allowed.max_count + 1), "1,2", [1.5],
        [True], 5]


@pytest.mark.parametrize("family", family_names())
def test_every_setting_out_of_its_range_is_refused_naming_it_before_anything_is_built(family, tmp_path):
    good = save_tiny(tmp_path / "good.safetensors", family)
    meta = read_metadata(good)
    config_class = get_family(family).config_class
    for field, allowed in config_class.RANGES.items():
        for i, value in enumerate(bad_values(allowed)):
            name = f"{field}-{i}.safetensors"
            (tmp_path / name).write_bytes(checkpoint_with(good, {**meta, "config": {**meta["config"], field: value}}))
            for reader in CHECKPOINT_READERS:
                error = read_in_time(lambda name=name, reader=reader: READERS[reader][0](tmp_path / name), tmp_path)
                assert_one_sentence(error, CheckpointError, name, f"setting '{field}' should be")
    if family == "diffusion":  # U-Net levels beyond the image size's halvings (its parent's check)
        name = "levels.safetensors"
        (tmp_path / name).write_bytes(checkpoint_with(good, {**meta, "config": {**meta["config"],
                                                                                  "channel_mults": [1, 2, 2, 2]}}))
        error = read_in_time(lambda: load_checkpoint(tmp_path / name), tmp_path)
        assert_one_sentence(error, CheckpointError, name, "setting 'channel_mults' has 4 levels, too many for 16 px")


def test_the_examples_of_the_issue_are_refused_naming_the_setting(tmp_path):
    examples = {"vae": {"image_size": 16384}, "gan": {"latent_dim": 2_000_000}, "diffusion": {"timesteps": 400_000_000},
                "vae-gan": {"recon_layer": 99}, "latent-diffusion": {"latent_factor": 3}}
    more = {"diffusion": [{"timesteps": 0}, {"timesteps": -3}, {"timesteps": 4e8}, {"base_channels": 0}],
            "vae": [{"latent_dim": 0}, {"image_size": -64}, {"base_channels": -1}], "gan": [{"image_size": 0}],
            "vae-gan": [{"margin": 0.9}, {"discriminator_channels": 0}],
            "latent-diffusion": [{"latent_channels": 0}, {"stage": "everything"}, {"timesteps": 4e8}]}
    for family in family_names():
        good = save_tiny(tmp_path / f"{family}.safetensors", family)
        meta = read_metadata(good)
        for i, change in enumerate([examples[family], *more[family]]):
            name = f"{family}-{i}.safetensors"
            (tmp_path / name).write_bytes(checkpoint_with(good, {**meta, "config": {**meta["config"], **change},
                                                                 "image_size": change.get("image_size", 16)}))
            with pytest.raises(CheckpointError) as info:
                load_checkpoint(tmp_path / name)
            assert_one_sentence(info.value, CheckpointError, name, f"setting '{next(iter(change))}' should be")


def test_weights_that_do_not_fit_a_large_model_in_range_are_refused_before_it_is_allocated(tmp_path):
    """Settings in range that call for about 1 GB of weights, in a file holding a tiny model's: the shapes are
    compared with a model built on the meta device, so the fixture's stand-in for building one is never called."""
    good = save_tiny(tmp_path / "good.safetensors")
    meta = read_metadata(good)
    large = {"image_size": 256, "latent_dim": 1024, "base_channels": 512, "max_channels": 1024}
    path = tmp_path / "large.safetensors"
    path.write_bytes(checkpoint_with(good, {**meta, "config": large, "image_size": 256}))
    for read in (load_checkpoint, inspect_checkpoint):
        with pytest.raises(CheckpointError) as info:
            read(path)
        assert_one_sentence(info.value, CheckpointError, path.name, "does not match the model it describes")


MEMORY_SCRIPT = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from models.checkpoint import load_checkpoint

def data_bytes():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmData"))

load_checkpoint(sys.argv[2])  # warm: everything imported, one model built
# The shapes-only model runs no initialiser: PyTorch's meta normal_, or the power iteration of the spectral norm of
# the GAN warmed up with here, would import its compiler, torch._dynamo: 2.5 s of start-up in every process.
compiler = "torch._dynamo" in sys.modules
limit = data_bytes() + 1536 * 1024**2  # a regression fails here instead of taking the machine's memory
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = {}
for path in sys.argv[3:]:
    start = time.perf_counter()
    try:
        load_checkpoint(path)
        outcome = "loaded"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    report[path] = {"outcome": outcome, "seconds": time.perf_counter() - start, "grew_mb": grew}
print(json.dumps({"compiler imported": compiler, "files": report}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmData from /proc and sets RLIMIT_DATA")
def test_the_issue_examples_take_no_memory_in_a_fresh_process(tmp_path, monkeypatch):
    """As `python main.py sample --checkpoint` meets them: a consistent 16384 px VAE (tiny channels: 11 KB), a
    latent of 2,000,000, 400,000,000 time steps, and large settings with a small model's weights; after a GAN with
    spectral norm has loaded without importing PyTorch's compiler."""
    from models import vae
    from models.config_check import power_of_two
    good = save_tiny(tmp_path / "good.safetensors")
    with monkeypatch.context() as patch:  # the 16384 px model the issue made: consistent, with tiny channels
        patch.setitem(vae.VAEConfig.RANGES, "image_size", Whole(8, 2**20, power_of_two, "a power of two"))
        huge = save_checkpoint(tmp_path / "size-16384.safetensors",
                               build_model("vae", tiny_vae(image_size=16384, base_channels=1, max_channels=1)))
    assert huge.stat().st_size < 16_000
    meta = read_metadata(good)
    diffusion = save_tiny(tmp_path / "diffusion.safetensors", "diffusion")
    dmeta = read_metadata(diffusion)
    files = {"latent-2e6.safetensors": checkpoint_with(good, {**meta, "config": {**meta["config"],
                                                                                   "latent_dim": 2_000_000}}),
             "timesteps-4e8.safetensors": checkpoint_with(diffusion, {**dmeta, "config": {**dmeta["config"],
                                                                                          "timesteps": 400_000_000}}),
             "large-in-range.safetensors": checkpoint_with(good, {
                 **meta, "image_size": 256,
                 "config": {"image_size": 256, "latent_dim": 1024, "base_channels": 512, "max_channels": 1024}})}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    paths = [str(huge)] + [str(tmp_path / name) for name in files]
    gan = save_tiny(tmp_path / "gan.safetensors", "gan")
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(ROOT), str(gan), *paths],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert not outcome["compiler imported"]
    report = outcome["files"]
    for path in paths:
        entry = report[path]
        assert entry["outcome"].startswith("CheckpointError: "), entry
        assert f"'{Path(path).name}'" in entry["outcome"], entry
        assert entry["grew_mb"] < 200, f"{Path(path).name}: memory grew by {entry['grew_mb']:.0f} MB"


def test_a_checkpoint_swapped_for_a_fifo_is_not_opened_for_its_digest(tmp_path):
    """The analysis and metrics caches key on a loaded checkpoint's SHA-256: a FIFO put in its place since must not
    block the worker."""
    from models.cache import file_digest
    make_non_regular(tmp_path)
    error = read_in_time(lambda: file_digest(tmp_path / "fifo-link.safetensors"), tmp_path)
    assert isinstance(error, OSError) and "is a named pipe (FIFO)" in str(error), error
