"""The worker's jobs as plain generators: no Qt, no threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.worker import inference_jobs
from explorer.worker.inference_jobs import JOBS, ModelStore, NoControl, error_text
from explorer.worker.requests import (
    Diffuse,
    Diffused,
    Encoded,
    EncodeImage,
    Endpoint,
    Interpolate,
    Interpolated,
    Loaded,
    LoadModel,
    Render,
    Rendered,
    Step,
)
from models.generative import Decoding
from models.image_io import to_uint8


def run(store, request, control=None):
    items = list(JOBS[type(request)](store, request, control or NoControl()))
    return [i for i in items if isinstance(i, Step)], items[-1]


@pytest.fixture()
def store(tiny_checkpoints):
    store = ModelStore(torch.device("cpu"))
    keys = {}
    for family, path in tiny_checkpoints.items():
        _, loaded = run(store, LoadModel(path))
        assert isinstance(loaded, Loaded) and loaded.info.family == family
        keys[family] = loaded.info.key
    return store, keys


@pytest.mark.parametrize("family", ["vae", "gan", "diffusion"])
def test_render_draws_exactly_the_decoding_of_the_latent(store, family):
    store, keys = store
    model = store.get(keys[family]).model
    latent = model.latents_for_seeds([3])[0].numpy()
    _, result = run(store, Render(keys[family], latent, steps=5))
    size = model.image_size
    assert isinstance(result, Rendered) and result.image.shape == (size, size, 3)
    expected = to_uint8(model.decode(torch.from_numpy(latent)[None], Decoding(sampler="ddim", steps=5))[0])
    assert np.array_equal(result.image, expected)
    assert np.array_equal(result.latent, latent)  # ψ is 1: the latent drawn is the one asked for


def test_psi_leaves_a_family_without_truncation_alone(store):
    store, keys = store
    latent = np.ones(4, np.float32)
    _, result = run(store, Render(keys["vae"], latent, psi=0.5))
    assert np.array_equal(result.latent, latent)


def test_gan_truncation_pulls_the_latent_to_the_middle(store):
    store, keys = store
    latent = np.ones(8, np.float32)
    _, result = run(store, Render(keys["gan"], latent, psi=0.5))
    assert np.allclose(result.latent, 0.5)


class StopAfter:
    def __init__(self, steps):
        self.calls, self.steps = 0, steps

    def stop_requested(self):
        self.calls += 1
        return self.calls > self.steps


def test_a_stopped_diffusion_run_keeps_the_steps_it_made(store):
    store, keys = store
    _, result = run(store, Diffuse(keys["diffusion"], "ddpm", 100), StopAfter(3))
    assert isinstance(result, Diffused) and result.stopped
    assert len(result.xt) == 1 + 4  # the noise, then the 3 steps allowed and the one during which Stop came
    assert result.xt.shape[1:] == (8, 8, 3) and result.x0.shape == result.xt.shape


def test_a_full_diffusion_run_records_every_step(store):
    store, keys = store
    _, result = run(store, Diffuse(keys["diffusion"], "ddim", 10))
    assert not result.stopped and len(result.xt) == 11 and result.timesteps[-1] == -1


@pytest.mark.parametrize("kind", ["seed", "face"])
def test_interpolating_in_all_three_models(store, kind):
    store, keys = store
    request = Interpolate(tuple(keys.values()), Endpoint(kind, seed=1), Endpoint(kind, seed=2), frames=5, steps=4)
    steps, result = run(store, request)
    assert isinstance(result, Interpolated) and set(result.strips) == set(keys.values())
    for key, strip in result.strips.items():
        size = store.get(key).info.image_size
        assert strip.shape == (5, size, size, 3)
    if kind == "face":  # the GAN and diffusion models had to search for the faces, step by step
        assert any("Inverting" in s.progress.message for s in steps)
        assert any("Running diffusion backwards on" in s.progress.message for s in steps)
        assert result.labels[keys["vae"]] == "the encoder's mean for each face"
        assert result.labels[keys["gan"]] == "faces found by inverting the generator"
        assert result.labels[keys["diffusion"]] == "faces found by running DDIM backwards"


def test_model_info_names_the_family_and_only_a_noise_schedule_has_curves(store):
    store, keys = store
    infos = {family: store.get(key).info for family, key in keys.items()}
    assert {f: i.family_name for f, i in infos.items()} == {"vae": "VAE", "gan": "GAN", "diffusion": "Diffusion"}
    assert infos["diffusion"].signal is not None and infos["diffusion"].noise.shape == infos["diffusion"].signal.shape
    assert infos["vae"].signal is None and infos["gan"].noise is None


def test_a_family_the_app_has_never_heard_of_renders_encodes_and_morphs(store, fourth_checkpoint):
    """A fourth family, registered by the test with no view of its own: every job works for it, in its own words."""
    store, keys = store
    _, loaded = run(store, LoadModel(fourth_checkpoint))
    info = loaded.info
    assert (info.family, info.family_name, info.signal) == ("fourth", "Fourth", None)
    model = store.get(info.key).model
    latent = model.latents_for_seeds([3])[0].numpy()
    _, rendered = run(store, Render(info.key, latent, psi=0.5, steps=5))  # ψ and steps do not apply to it
    assert np.array_equal(rendered.image, to_uint8(model.decode(torch.from_numpy(latent)[None])[0]))
    assert np.array_equal(rendered.latent, latent)
    steps, encoded = run(store, EncodeImage(info.key, info.key, Endpoint("face", seed=4)))
    assert isinstance(encoded, Encoded) and encoded.latent.shape == (4,)
    assert encoded.encoder["mu"].shape == (4,)  # its encoder gives a posterior: the encoder's report works too
    assert any(s.progress.message == "Encoding the face…" for s in steps)  # the default view's verb
    request = Interpolate((info.key, keys["gan"]), Endpoint("face", seed=1), Endpoint("face", seed=2), frames=3)
    _, morphed = run(store, request)
    assert isinstance(morphed, Interpolated) and morphed.strips[info.key].shape == (3, 16, 16, 3)
    assert morphed.labels[info.key] == "faces found by encoding each picture"


def test_bringing_in_a_face_reports_the_vae_view(store):
    store, keys = store
    _, result = run(store, EncodeImage(keys["vae"], keys["vae"], Endpoint("face", seed=4)))
    assert isinstance(result, Encoded)
    vae = result.encoder
    assert vae["mu"].shape == (4,) and (vae["sigma"] > 0).all()
    assert vae["reconstruction"].shape == vae["heat_map"].shape == (16, 16, 3)
    assert vae["samples"].shape == (6, 16, 16, 3)
    assert len({s.tobytes() for s in vae["samples"]}) > 1  # one face, several decodings


def test_an_unreadable_image_is_a_sentence(store, tmp_path):
    store, keys = store
    bad = tmp_path / "face.png"
    bad.write_bytes(b"not a picture")
    with pytest.raises(Exception) as info:
        run(store, EncodeImage(keys["vae"], None, Endpoint("image", path=str(bad))))
    text = error_text(info.value)
    assert "face.png" in text and "Traceback" not in text


def test_directions_are_cached_and_a_damaged_cache_is_recomputed(store, monkeypatch):
    from explorer.worker import inference_jobs
    from explorer.worker.requests import Analysed, AnalyseModel
    monkeypatch.setattr(inference_jobs, "ANALYSIS_FACES", 100)
    monkeypatch.setattr(inference_jobs, "ANALYSIS_SAMPLES", 32)
    store, keys = store
    key = keys["gan"]
    _, cached = inference_jobs.analysis_paths(store.get(key))
    cached.unlink(missing_ok=True)  # other tests of this session may have analysed the same checkpoint
    steps, first = run(store, AnalyseModel(key))
    assert isinstance(first, Analysed) and first.principal and steps  # computed, with progress
    assert cached.exists()
    steps, again = run(store, AnalyseModel(key))
    assert not steps  # read back, not recomputed
    assert [d.key for d in again.principal] == [d.key for d in first.principal]
    assert np.array_equal(again.principal[0].vector, first.principal[0].vector)
    cached.write_bytes(b"garbage")
    steps, third = run(store, AnalyseModel(key))
    assert steps and third.principal


def test_a_replaced_checkpoint_keys_no_cache_until_it_is_loaded_again(store, tmp_path):
    """What the loaded weights compute is cached under the file's digest only while the file is the one they came
    from: a training run may replace it meanwhile (the latent map used to be keyed on the new file then)."""
    import os

    store, keys = store
    entry = store.get(keys["vae"])
    assert entry.file_digest() is not None
    path = entry.checkpoint.path
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # as a newer checkpoint landing there
    try:
        assert entry.file_digest() is None
        _, cached = inference_jobs.analysis_paths(entry)
        assert cached is None
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert entry.file_digest() is not None


def test_a_step_carries_no_tensors_to_the_gui_thread():
    from models.progress import Progress

    Step(1, "Render", progress=Progress(1, 2, "half way"))  # numbers and words
    for field_name in ("state", "image", "result"):
        with pytest.raises(ValueError, match="numbers and words only"):
            Step(1, "Render", progress=Progress(1, 2, **{field_name: torch.zeros(1)}))


def test_figures_stored_for_a_checkpoint_are_not_offered_for_the_file_that_replaced_it(store, tmp_path, monkeypatch):
    """The metrics cache follows the same rule as the analysis and the map: the loaded weights' figures belong to
    the file they were read from, not to one a training run wrote over it since."""
    import os

    # A cache of its own: the made-up figures stored here must not be what the Compare tab's tests read later.
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))

    from explorer.worker import compare_jobs
    from explorer.worker.compare_jobs import StoredFigures

    store, keys = store
    key = keys["gan"]
    entry = store.get(key)
    figures = dict.fromkeys(("fd", "fd_real", "precision", "recall", "density", "coverage", "ppl",
                             "seconds_per_image"), 1.0)
    compare_jobs.save_figures(entry.file_digest(), figures)
    assert compare_jobs.JOBS[StoredFigures](store, StoredFigures(key), NoControl()).__next__().figures == figures
    stat = os.stat(entry.checkpoint.path)
    os.utime(entry.checkpoint.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a newer file landed there
    try:
        assert compare_jobs.JOBS[StoredFigures](store, StoredFigures(key), NoControl()).__next__().figures == {}
    finally:
        os.utime(entry.checkpoint.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
