"""A latent diffusion run's timeline pictures, decoded after the run and on demand.

The run itself (inference_jobs.diffuse) records every step's latents but decodes only the finished face: at 64 px a
decoder pass costs several denoiser steps. The Diffusion tab then asks for the other pictures here in the
background (whatever a person drags runs between its batches), those an animation takes first; the step the
timeline is moved to is asked for apart (ShowRunFrame), at a slider's priority.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from explorer.worker.inference_jobs import Control, ModelStore, decode_pictures, elapsed_seconds
from explorer.worker.requests import Request, Result, Step
from models.progress import Progress

FRAMES_PER_BATCH = 4  # frames decoded between two chances for other requests (about 0.1 s on 2 CPU threads)


@dataclass(frozen=True)
class DecodeRunFrames(Request):
    """Decode frames of a finished latent run, in the order of `indices` (the one to show first, first)."""
    model: str
    run: int  # the Diffuse request's id, so that the answer reaches only that run
    latents: np.ndarray  # float32 (S+1, C, h, w): z_t of every frame
    latents0: np.ndarray  # float32 (S+1, C, h, w): the predicted clean latent of every frame (frame 0: none)
    indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class ShowRunFrame(DecodeRunFrames):
    """The frame the timeline has just been moved to: decoded before anything else, between the steps of any
    longer job, as a slider's face is (a request of its own kind, so it never cancels the background decoding)."""


@dataclass(frozen=True)
class RunFramesDecoded(Result):
    """Some frames' pictures: xt[i] and x0[i] are frame indices[i]'s (x0 of frame 0 is None: no prediction yet)."""
    run: int = 0
    indices: tuple[int, ...] = ()
    xt: tuple[np.ndarray, ...] = ()
    x0: tuple[np.ndarray | None, ...] = ()


def decode_run_frames(store: ModelStore, req: DecodeRunFrames, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    model = store.get(req.model).model
    count = len(req.latents)
    indices = [i for i in req.indices if 0 <= i < count]
    for first in range(0, len(indices), FRAMES_PER_BATCH):
        if control.stop_requested():
            return
        batch = indices[first:first + FRAMES_PER_BATCH]
        xt, x0 = [], []
        for i in batch:
            z_t = torch.from_numpy(req.latents[i]).to(model.device)
            z_0 = torch.from_numpy(req.latents0[i]).to(model.device) if i > 0 else None
            picture_t, picture_0 = decode_pictures(model, z_t, z_0)
            xt.append(picture_t)
            x0.append(picture_0)
        yield RunFramesDecoded(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, run=req.run,
                               indices=tuple(batch), xt=tuple(xt), x0=tuple(x0))
        done = first + len(batch)
        # A step between batches: the worker serves more urgent requests there (a background job's due).
        yield Step(req.id, req.slot, progress=Progress(done, len(indices), f"decoded {done} of {len(indices)} steps"))


JOBS = {DecodeRunFrames: decode_run_frames, ShowRunFrame: decode_run_frames}
