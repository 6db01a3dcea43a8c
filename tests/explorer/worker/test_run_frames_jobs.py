"""A latent run's pictures: the run decodes only its finished face; the rest are decoded afterwards, in the order
asked for, each the decoder's picture of that frame's latents."""

from __future__ import annotations

import numpy as np
import torch

from explorer.worker.inference_jobs import JOBS, ModelStore, NoControl
from explorer.worker.requests import Diffuse, Diffused, Loaded, LoadModel, Step
from explorer.worker.run_frames_jobs import FRAMES_PER_BATCH, DecodeRunFrames, RunFramesDecoded, decode_run_frames
from models.image_io import to_uint8


def test_a_latent_run_is_decoded_after_it_ends_in_the_order_asked(latent_checkpoint):
    store = ModelStore(torch.device("cpu"))
    loaded = list(JOBS[LoadModel](store, LoadModel(latent_checkpoint), NoControl()))[-1]
    assert isinstance(loaded, Loaded)
    key = loaded.info.key
    run = list(JOBS[Diffuse](store, Diffuse(key, "ddim", 6, seed=2), NoControl()))[-1]
    assert isinstance(run, Diffused) and run.decoded.tolist() == [False] * 6 + [True]
    assert run.latents.shape == run.latents0.shape == (7, 2, 4, 4)

    order = (2, 0, 5, 1, 3)
    items = list(decode_run_frames(store, DecodeRunFrames(key, run.request_id, run.latents, run.latents0, order),
                                   NoControl()))
    answers = [i for i in items if isinstance(i, RunFramesDecoded)]
    assert [i for a in answers for i in a.indices] == list(order)
    assert len(answers) == -(-len(order) // FRAMES_PER_BATCH) and any(isinstance(i, Step) for i in items)
    assert all(a.run == run.request_id for a in answers)
    pictures = {i: (t, z) for a in answers for i, t, z in zip(a.indices, a.xt, a.x0)}
    model = store.get(key).model
    with torch.no_grad():
        for i in (2, 5):
            expected = model.from_latent(torch.from_numpy(np.stack([run.latents[i], run.latents0[i]])))
            assert np.array_equal(pictures[i][0], to_uint8(expected[0]))
            assert np.array_equal(pictures[i][1], to_uint8(expected[1]))
        assert np.array_equal(pictures[0][0], to_uint8(model.from_latent(torch.from_numpy(run.latents[:1]))[0]))
    assert pictures[0][1] is None  # the pure noise has no prediction


def test_the_step_the_timeline_shows_goes_first_and_the_rest_waits_for_everything():
    from explorer.worker.inference_worker import priority_of
    from explorer.worker.requests import Render
    from explorer.worker.run_frames_jobs import ShowRunFrame

    z = np.zeros((2, 2, 4, 4), np.float32)
    shown, rest = ShowRunFrame("m", 1, z, z, (1,)), DecodeRunFrames("m", 1, z, z, (0, 1))
    assert priority_of(shown) == priority_of(Render("m", z[0])) == 0 and priority_of(rest) == 2
    assert shown.slot != rest.slot  # asking for the shown step never cancels the background decoding
