"""The worker's computations as plain generators: no Qt, testable with a loop and a mock control.

Each job takes the model store, a request and a `Control`, yields `Step`s while it works and finally one
result. The worker closes a job's generator when a newer request of the same slot arrives (latest wins);
`control.stop_requested()` asks a job to finish early with what it has (the Diffusion tab's Stop).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from explorer.error_log import is_sentence
from explorer.family_views import view_of
from explorer.pictures.heat_map import error_heat_map
from explorer.worker.requests import (
    Analysed,
    AnalyseModel,
    Diffuse,
    Diffused,
    DirectionInfo,
    Encoded,
    EncodeImage,
    Endpoint,
    FaceImage,
    FacePixels,
    ForwardNoise,
    ForwardNoised,
    Interpolate,
    Interpolated,
    Loaded,
    LoadModel,
    ModelInfo,
    Render,
    Rendered,
    Request,
    Result,
    Step,
    StepsCurve,
    StepsCurveRead,
)
from models.cache import (
    cached_path,
    feature_net_tag,
    file_digest,
    read_cached,
    write_cached,
)
from models.checkpoint import Checkpoint, card_path, load_checkpoint
from models.data import HELD_OUT_SEED, load_image, synthetic_face, synthetic_faces
from models.directions import ANALYSIS_FACES, ANALYSIS_SAMPLES
from models.distributed import memory_exhausted, out_of_memory_words
from models.family import family_of, inference_state_dict
from models.generative import Decoding, Encoding, GenerativeModel
from models.image_io import to_uint8
from models.latent import interpolate
from models.printable import printable
from models.progress import Progress

ANALYSIS_VERSION = 4  # 2: every direction's measured effects; 3: no region colours for other pictures; 4: diffusion
# sampled on the grid from t = 980 (DDIM at other than 50 steps drew other faces before)
GAN_INVERSION_STEPS = 200
PREVIEW_INTERVAL = 1 / 30  # seconds between progress previews: no faster than a screen can show them


class Control(Protocol):
    def stop_requested(self) -> bool: ...


class NoControl:
    """For callers (tests, scripts) that never stop a job."""

    def stop_requested(self) -> bool:
        return False


@dataclass
class LoadedModel:
    checkpoint: Checkpoint
    info: ModelInfo
    analysis: Analysed | None = None
    recon_errors: np.ndarray = field(default_factory=lambda: np.empty(0))
    mtime: float = 0.0  # the file's modification time when it was read

    @property
    def model(self) -> GenerativeModel:
        return self.checkpoint.model

    def file_digest(self) -> str | None:
        """The checkpoint file's digest, to key caches on, while the file on disk is the one these weights were read
        from; None once it is not (a training run has replaced it: what the old weights compute must not be cached
        as the new file's) or is gone."""
        try:
            if Path(self.checkpoint.path).stat().st_mtime != self.mtime:
                return None
            return file_digest(self.checkpoint.path)
        except OSError:
            return None


class ModelStore:
    """The models the worker owns, by key (the checkpoint's resolved path)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.models: dict[str, LoadedModel] = {}

    def get(self, key: str) -> LoadedModel:
        if key not in self.models:
            raise LookupError("That model is not loaded any more; choose another one.")
        return self.models[key]


# ------------------------------------------------------------------------------------------------ helpers
def _tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)


def _pixels_to_tensor(pixels: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1)[None].float().div(127.5).sub(1.0).to(device)


def endpoint_pixels(source: Endpoint, size: int) -> np.ndarray:
    """A data-set face or an image file as uint8 (size, size, 3); DataError if the file cannot be used."""
    if source.kind == "face":
        return synthetic_face(HELD_OUT_SEED, int(source.seed), size)[0]
    if source.kind == "image":
        return load_image(source.path, size)
    raise ValueError(f"a {source.kind} endpoint has no pixels")


def _signal_and_noise(model: GenerativeModel) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A model with a noise schedule (the Diffusion tab's forward process draws it): how much of the picture and
    of the noise each timestep keeps; (None, None) for a model without one."""
    schedule = getattr(model, "schedule", None)
    if schedule is None:
        return None, None
    s, n = schedule.signal_and_noise()
    return s.detach().cpu().numpy().astype(np.float32), n.detach().cpu().numpy().astype(np.float32)


def model_info(checkpoint: Checkpoint, key: str) -> ModelInfo:
    model, meta = checkpoint.model, checkpoint.metadata
    data = meta.get("dataset", {}) or {}
    signal, noise = _signal_and_noise(model)
    return ModelInfo(key=key, path=str(checkpoint.path), family=model.family, family_name=family_of(model).title,
                     label=printable(checkpoint.label()), description=printable(checkpoint.describe()),
                     image_size=model.image_size,
                     latent_shape=tuple(model.latent_shape), synthetic_faces=data.get("kind") == "synthetic-faces",
                     # what draws its faces, as its card counts them: a discriminator only trained it
                     parameters=sum(t.numel() for t in inference_state_dict(model).values()),
                     signal=signal, noise=noise)


def elapsed_seconds(start: float) -> float:
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------------- jobs
def load_model(store: ModelStore, req: LoadModel, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    from models.safetensors_file import resolved_path
    key = str(resolved_path(req.path))  # a link loop stays as given: load_checkpoint says why it cannot be read
    mtime = Path(key).stat().st_mtime if Path(key).exists() else 0.0
    old = store.models.get(key)
    if old is None or (req.reload and mtime != old.mtime):
        checkpoint = load_checkpoint(key, store.device)
        store.models[key] = LoadedModel(checkpoint, model_info(checkpoint, key), mtime=mtime)
        if old is not None:  # new weights, same latent space shape: the old slider directions still apply
            store.models[key].analysis, store.models[key].recon_errors = old.analysis, old.recon_errors
    yield Loaded(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, info=store.models[key].info)


def analysis_paths(entry: LoadedModel) -> tuple[Path, Path | None]:
    """Where a checkpoint's directions are found: shipped beside it (read only), or in the user's cache (None while
    the file on disk is not the one loaded)."""
    checkpoint_path = Path(entry.checkpoint.path)
    beside = checkpoint_path.with_name(checkpoint_path.name.replace(".safetensors", "") + ".analysis.safetensors")
    digest = entry.file_digest()
    cached = None if digest is None else cached_path("analysis", ANALYSIS_VERSION, digest, ".safetensors",
                                                     feature_net_tag())
    return beside, cached


def _read_analysis(paths: tuple[Path, ...], family: str):
    from models.directions import AnalysisError, load_analysis
    for path in (p for p in paths if p is not None):
        analysis = read_cached(path, load_analysis, (AnalysisError, OSError))  # a damaged file is recomputed
        if analysis is not None and analysis.family == family:
            return analysis
    return None


def _direction_infos(directions) -> tuple[DirectionInfo, ...]:
    return tuple(DirectionInfo(d.key, d.label, d.vector.detach().cpu().numpy().astype(np.float32), float(d.scale),
                               d.low_words, d.high_words, d.score, tuple(d.effects), d.effect_faces, d.effect_amount)
                 for d in directions)


def analyse_model(store: ModelStore, req: AnalyseModel, control: Control) -> Iterator[Result]:
    """Directions for the Explore sliders: from the cache when this exact checkpoint was analysed before."""
    from models.directions import AnalysisError, analyse_latent_space, save_analysis
    start = time.perf_counter()
    entry = store.get(req.model)
    beside, path = analysis_paths(entry)
    analysis = _read_analysis((beside, path), entry.model.family)
    if analysis is None:
        model = entry.model
        yield Step(req.id, req.slot, progress=Progress(0, 1, "Drawing faces to study the model…"))
        # Only a family whose directions come from an encoder reads real faces (it gives their latents, whose
        # labels are known); the others study their own samples.
        wants_faces = entry.info.synthetic_faces and family_of(model).directions == "encoder"
        faces = synthetic_faces(ANALYSIS_FACES, model.image_size, HELD_OUT_SEED) if wants_faces else None
        net = shared_feature_net()
        for step in analyse_latent_space(model, faces=faces, feature_net=net, samples=ANALYSIS_SAMPLES,
                                         regions=entry.info.synthetic_faces):
            if step.result is not None:
                analysis = step.result
                break
            yield Step(req.id, req.slot, progress=step)  # numbers and words only until the last step
        if analysis is None:
            return
        if path is not None:
            write_cached(path, lambda p: save_analysis(p, analysis), "analysis", (AnalysisError, OSError))
    entry.recon_errors = np.asarray(analysis.recon_errors, dtype=np.float64)
    entry.analysis = Analysed(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, model=req.model,
                              principal=_direction_infos(analysis.principal),
                              attributes=_direction_infos(analysis.attributes), dim_order=tuple(analysis.dim_order),
                              dim_kl=tuple(float(v) for v in analysis.dim_kl), notes=tuple(analysis.notes),
                              missing_attributes=tuple(analysis.missing_attributes))
    yield entry.analysis


_FEATURE_NET: list[Any] = []


def shared_feature_net():
    """The shipped attribute network (None when it is missing or unreadable: attribute banks then say so)."""
    if not _FEATURE_NET:
        try:
            from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net
            _FEATURE_NET.append(load_feature_net(DEFAULT_FEATURE_NET)[0] if DEFAULT_FEATURE_NET.exists() else None)
        except Exception as exc:  # noqa: BLE001 - any failure means "no labels", which the analysis notes
            print(f"latent-explorer: feature network unavailable: {exc}", file=sys.stderr)
            _FEATURE_NET.append(None)
    return _FEATURE_NET[0]


def render(store: ModelStore, req: Render, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    model = store.get(req.model).model
    family = family_of(model)
    z = _tensor(req.latent, model.device)[None]
    # ψ only where the family offers it: a request keeps the slider's value whichever model it is for.
    psi = req.psi if family.truncation else 1.0
    guidance = ({"attributes": tuple(req.attributes), "guidance": req.guidance, "guide": req.guide}
                if family.guided else {})
    decoding = Decoding(sampler=req.sampler, steps=req.steps, truncation=psi, **guidance)
    # A model that diffuses in a latent decodes only the last step's latent: decode_steps would run its decoder at
    # every step for a preview nobody sees here (20 decoder passes doubled a 20-step face's time).
    in_latent = diffuses_a_latent(model)
    final = None
    with torch.no_grad():
        for final in (model.latent_steps if in_latent else model.decode_steps)(z, decoding):
            if not final.finished:
                yield Step(req.id, req.slot, progress=Progress(final.done, final.total, "Denoising…"))
        image = model.from_latent(final.image) if in_latent else final.image
    # The latent drawn: a one-pass decoder's state is the latent it decoded (truncated, where ψ applies); a stepwise
    # decoder's is its picture in progress, so its latent is the one it started from.
    drawn = z if family.iterative else final.state
    yield Rendered(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, model=req.model,
                   image=to_uint8(image[0]), latent=drawn[0].detach().cpu().numpy(),
                   draft=req.draft and family.iterative)


def _encode(model: GenerativeModel, x: torch.Tensor, diffusion_steps: int, what: str,
            req: Request) -> Iterator[Step | torch.Tensor]:
    """Latents of images x in a model (an encoder's posterior mean, a search, an inversion: the family's own way),
    with Steps on the way. diffusion_steps: the sampling an inversion mirrors; GAN_INVERSION_STEPS: a search's budget."""
    encoding = Encoding(decoding=Decoding(steps=diffusion_steps), search_steps=GAN_INVERSION_STEPS)
    verb = view_of(family_of(model)).encode_verb
    last, shown = None, 0.0
    for last in model.encode_steps(x, encoding):
        preview = {}
        if time.perf_counter() - shown > PREVIEW_INTERVAL or last.finished:  # every step reports; few carry a picture
            shown = time.perf_counter()
            preview = {"image": to_uint8(last.image[0])}
        yield Step(req.id, req.slot, progress=Progress(last.done, last.total, f"{verb} {what}…"), preview=preview)
    yield last.state.detach()


def _run_encode(model, x, steps, what, req, out: list) -> Iterator[Step]:
    for item in _encode(model, x, steps, what, req):
        if isinstance(item, Step):
            yield item
        else:
            out.append(item)


def encode_image(store: ModelStore, req: EncodeImage, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    entry = store.get(req.model)
    model = entry.model
    pixels = endpoint_pixels(req.source, model.image_size)
    report = None
    if req.encoder is not None:
        report = _encoder_report(store.get(req.encoder), req.source, req.posterior_samples)
    out: list[torch.Tensor] = []
    yield from _run_encode(model, _pixels_to_tensor(pixels, model.device), 20, "the face", req, out)
    yield Encoded(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, model=req.model,
                  original=pixels, latent=out[0][0].cpu().numpy().astype(np.float32), encoder=report)


@torch.no_grad()
def _encoder_report(entry: LoadedModel, source: Endpoint, samples: int) -> dict[str, Any]:
    """What a model with an encoder (a VAE) makes of a face: its posterior, reconstruction, error heat map and
    samples from the posterior."""
    model = entry.model
    pixels = endpoint_pixels(source, model.image_size)
    x = _pixels_to_tensor(pixels, model.device)
    mu, sigma = model.posterior(x)
    recon = model.decode(mu)
    mse = float((recon - x).pow(2).mean())  # as the held-out faces' errors in the analysis were measured
    gen = torch.Generator().manual_seed(0)
    eps = torch.randn((samples, *mu.shape[1:]), generator=gen).to(model.device)
    draws = model.decode(mu + sigma * eps)
    errors = entry.recon_errors
    percentile = float((errors < mse).mean() * 100) if errors.size else None
    return {"original": pixels, "mu": mu[0].cpu().numpy(), "sigma": sigma[0].cpu().numpy(),
            "reconstruction": to_uint8(recon[0]),
            "heat_map": error_heat_map(recon[0].cpu().numpy(), x[0].cpu().numpy()),
            "samples": to_uint8(draws), "mse": mse, "percentile": percentile, "faces_compared": int(errors.size),
            "model": entry.info.key}


def _endpoint_latent(model: GenerativeModel, end: Endpoint, steps: int, what: str, req: Request,
                     out: list) -> Iterator[Step]:
    if end.kind == "seed":
        out.append(model.latents_for_seeds([end.seed]))
        return
    pixels = endpoint_pixels(end, model.image_size)
    yield from _run_encode(model, _pixels_to_tensor(pixels, model.device), steps, what, req, out)


def interpolate_models(store: ModelStore, req: Interpolate, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    strips, labels, latents = {}, {}, {}
    for key in req.models:
        entry = store.get(key)
        model, name = entry.model, entry.info.family_name
        ends: list[torch.Tensor] = []
        yield from _endpoint_latent(model, req.a, req.steps, f"face A ({name})", req, ends)
        yield from _endpoint_latent(model, req.b, req.steps, f"face B ({name})", req, ends)
        path = interpolate(ends[0][0], ends[1][0], req.frames, req.mode)
        final, in_latent = None, diffuses_a_latent(model)  # as in render: the decoder once, at the end
        with torch.no_grad():
            for final in (model.latent_steps if in_latent else model.decode_steps)(
                    path, Decoding(sampler="ddim", steps=req.steps)):
                if not final.finished:
                    yield Step(req.id, req.slot, progress=Progress(final.done, final.total, f"{name}: denoising…"))
            strips[key] = to_uint8(model.from_latent(final.image) if in_latent else final.image)
        latents[key] = path.cpu().numpy()
        labels[key] = _how(model.family, req.a, req.b)
    yield Interpolated(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, strips=strips,
                       labels=labels, latents=latents)


def _how(family: str, a: Endpoint, b: Endpoint) -> str:
    if a.kind == "seed" and b.kind == "seed":
        return "each model's own random numbers for these seeds"
    return view_of(family).morph_how


def diffuses_a_latent(model: GenerativeModel) -> bool:
    """A model that runs the process in a latent and decodes it into a face (latent diffusion), as against one that
    diffuses the pixels themselves: asked of what the model can do, never of its family's name."""
    return callable(getattr(model, "from_latent", None)) and callable(getattr(model, "latent_steps", None))


# A latent model's pictures are its decoder's, and at 64 px one decoder pass costs several denoiser steps (measured
# in `bench`: decoding both pictures at every step made a DDIM-50 run take 7.9x the bare sampler). So its run
# decodes a live preview only while the decoding so far stays within this share of the run's time, and at the end
# only the finished face; the timeline's other pictures are decoded afterwards, on demand (run_frames_jobs.py).
PREVIEW_SHARE = 0.08
# Before the first preview has been timed, what one is expected to cost: about the shipped 64 px decoder's two
# pictures on 2 CPU threads. A run that ends sooner than PREVIEW_SHARE of this lets pass shows only its result.
FIRST_PREVIEW_GUESS = 0.025


def decode_pictures(model: GenerativeModel, z_t: torch.Tensor, z_0: torch.Tensor | None
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """The decoder's pictures of z_t and of the predicted clean latent (each (C, h, w)); one pass when they are
    the same latent (the last step), none for z_0 when there is none (the pure noise)."""
    with torch.no_grad():
        if z_0 is None:
            return to_uint8(model.from_latent(z_t[None])[0]), None
        if torch.equal(z_t, z_0):
            picture = to_uint8(model.from_latent(z_t[None])[0])
            return picture, picture
        pictures = model.from_latent(torch.stack([z_t, z_0]))
    return to_uint8(pictures[0]), to_uint8(pictures[1])


def _recorded(req: Diffuse, steps: Iterator[Progress], record: Callable[[Progress], None],
              pictures: Callable[[], dict[str, np.ndarray]], control: Control) -> Generator[Step, None, bool]:
    """A run's steps, each recorded (`record`) and reported to the panels, with `pictures()` as its preview at most
    every PREVIEW_INTERVAL (a screen shows no more); returns whether Stop came before the end."""
    shown = 0.0
    with torch.no_grad():
        for p in steps:
            record(p)
            if p.finished:
                return False
            if control.stop_requested():
                return True
            preview = {}
            if time.perf_counter() - shown > PREVIEW_INTERVAL:
                shown = time.perf_counter()
                preview = pictures()
            yield Step(req.id, req.slot, progress=Progress(p.done, p.total, f"Step {p.done} of {p.total}", t=int(p.t)),
                       preview=preview)
    return False


def _diffuse_latent(model: GenerativeModel, req: Diffuse, decoding: Decoding, x_T: torch.Tensor,
                    control: Control, start: float) -> Iterator[Result]:
    """A latent model's run: every step's z_t and predicted clean latent recorded, pictures decoded within
    PREVIEW_SHARE of the time (see above), the finished face decoded at the end."""
    latents, latents0, times = [x_T[0]], [torch.zeros_like(x_T[0])], [model.schedule.timesteps - 1]
    spent = {"decoding": 0.0, "cost": FIRST_PREVIEW_GUESS}

    def record(p: Progress) -> None:
        latents.append(p.state[0])
        latents0.append(p.image[0])
        times.append(int(p.t))

    def pictures() -> dict[str, np.ndarray]:
        now = time.perf_counter()
        preview = {"latent": latents[-1].cpu().numpy().astype(np.float32)}
        if spent["decoding"] + spent["cost"] <= PREVIEW_SHARE * (now - start):
            preview["xt"], preview["x0"] = decode_pictures(model, latents[-1], latents0[-1])
            spent["cost"] = time.perf_counter() - now
            spent["decoding"] += spent["cost"]
        return preview

    stopped = yield from _recorded(req, model.latent_steps(x_T, decoding), record, pictures, control)
    count = len(latents)
    xt, x0 = _blank_frames(model, count), _blank_frames(model, count)
    last = count - 1
    xt[last], picture_0 = decode_pictures(model, latents[last], latents0[last] if last else None)
    if picture_0 is not None:
        x0[last] = picture_0
    decoded = np.zeros(count, dtype=bool)
    decoded[last] = True
    yield Diffused(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, model=req.model, xt=xt, x0=x0,
                   timesteps=tuple(times), stopped=stopped, decoded=decoded,
                   latents=torch.stack(latents).cpu().numpy().astype(np.float32),
                   latents0=torch.stack(latents0).cpu().numpy().astype(np.float32))


def _blank_frames(model: GenerativeModel, count: int) -> np.ndarray:
    """White pictures (count, H, W, 3), the look of a frame with nothing to show yet (as x̂₀ before any step)."""
    return np.full((count, model.image_size, model.image_size, 3), 255, dtype=np.uint8)


def diffuse(store: ModelStore, req: Diffuse, control: Control) -> Iterator[Result]:
    """Reverse diffusion, recording every step; Stop keeps what was recorded so far. A model that diffuses in a
    latent records z_t and the predicted clean latent instead, its pictures being the decoder's (_diffuse_latent)."""
    start = time.perf_counter()
    model = store.get(req.model).model
    decoding = Decoding(sampler=req.sampler, steps=req.steps, eta=req.eta, seed=req.seed)
    x_T = model.latents_for_seeds([req.seed])
    if diffuses_a_latent(model):
        yield from _diffuse_latent(model, req, decoding, x_T, control, start)
        return
    xt, x0, times = [to_uint8(x_T[0])], [np.full_like(to_uint8(x_T[0]), 255)], [model.schedule.timesteps - 1]

    def record(p: Progress) -> None:
        xt.append(to_uint8(p.state[0]))
        x0.append(to_uint8(p.image[0]))
        times.append(int(p.t))

    stopped = yield from _recorded(req, model.decode_steps(x_T, decoding), record,
                                   lambda: {"xt": xt[-1], "x0": x0[-1]}, control)
    yield Diffused(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, model=req.model,
                   xt=np.stack(xt), x0=np.stack(x0), timesteps=tuple(times), stopped=stopped)


FORWARD_NOISE_SEED = 0  # the same noise at every t: dragging t changes only its amount


def forward_noise(store: ModelStore, req: ForwardNoise, control: Control) -> Iterator[Result]:
    """The forward process on a real face: for a latent model, encoder -> z_0 -> z_t = q(z_t | z_0) -> decoder."""
    start = time.perf_counter()
    model = store.get(req.model).model
    face = endpoint_pixels(req.source, model.image_size)
    t = min(max(int(req.t), 0), model.schedule.timesteps - 1)
    if not diffuses_a_latent(model):
        yield ForwardNoised(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, face=face, t=t)
        return
    with torch.no_grad():
        z0 = model.to_latent(_pixels_to_tensor(face, model.device))
        noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(FORWARD_NOISE_SEED)).to(z0)
        zt = model.schedule.q_sample(z0, torch.tensor([t], device=z0.device), noise)
        pictures = model.from_latent(torch.cat([zt, z0]))
    yield ForwardNoised(req.id, req.slot, seconds=elapsed_seconds(start), created=req.created, face=face, t=t,
                        latent=z0[0].cpu().numpy().astype(np.float32), noisy=zt[0].cpu().numpy().astype(np.float32),
                        decoded=to_uint8(pictures[0]), rebuilt=to_uint8(pictures[1]))


def _fd(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        value = float(value)  # an integer too large for a float raises here
    except OverflowError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def read_steps_curve(card: Any) -> dict[str, Any] | None:
    """A card's steps curve as the Diffusion tab draws it, or None when it holds none that is usable: only finite,
    non-negative distances at whole step counts are kept (a card is a file anybody can edit)."""
    evaluate = card.get("evaluate") if isinstance(card, dict) else None
    raw = evaluate.get("steps_curve") if isinstance(evaluate, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("curves"), dict):
        return None
    curves = {}
    for sampler, points in raw["curves"].items():
        if not isinstance(sampler, str) or not isinstance(points, dict):
            continue
        kept = sorted((int(k), fd) for k, v in points.items()
                      if isinstance(k, str) and k.isascii() and k.isdecimal() and len(k) <= 6
                      and 0 < int(k) <= 100_000 and (fd := _fd(v)) is not None)
        if kept:
            curves[sampler] = tuple(kept)
    if not curves:
        return None
    samples = raw.get("samples")
    return {"samples": samples if isinstance(samples, int) and not isinstance(samples, bool) and samples > 0 else None,
            "fd_real": _fd(raw.get("fd_real")), "curves": curves}


def steps_curve(store: ModelStore, req: StepsCurve, control: Control) -> Iterator[Result]:
    """The loaded file's card's steps curve (NAME.card.json beside NAME.safetensors, for this very file)."""
    entry = store.get(req.model)
    path = card_path(Path(entry.checkpoint.path))
    curve, why = None, "no_card"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        card = None
    if isinstance(card, dict):
        digest = entry.file_digest()
        if digest is None or card.get("checkpoint_sha256") != digest:
            why = "other_file"
        else:
            curve = read_steps_curve(card)
            why = "" if curve is not None else "no_curve"
    yield StepsCurveRead(req.id, req.slot, created=req.created, curve=curve, why=why)


def face_image(store: ModelStore, req: FaceImage, control: Control) -> Iterator[Result]:
    yield FacePixels(req.id, req.slot, created=req.created, image=endpoint_pixels(req.source, req.size))


JOBS = {LoadModel: load_model, AnalyseModel: analyse_model, Render: render, EncodeImage: encode_image,
        Interpolate: interpolate_models, Diffuse: diffuse, FaceImage: face_image,
        ForwardNoise: forward_noise, StepsCurve: steps_curve}


def is_expected(exc: BaseException) -> bool:
    """Errors a user can meet with a working app (bad input, too little memory), as against a bug."""
    return is_sentence(exc) or memory_exhausted(exc) is not None


def error_text(exc: BaseException) -> str:
    """One sentence for the user: our own errors already are; anything else is named plainly."""
    # Our sentences often start and end with a quoted file name: shown whole, never strip()ped, but with the
    # non-printing characters of those names escaped (a file name or metadata is untrusted text).
    if is_sentence(exc):
        return printable(str(exc))
    where = memory_exhausted(exc)
    if where is not None:
        other = ", or close other programs that use it" if where == "gpu" else ""
        return f"{out_of_memory_words(where)} for this; try fewer frames or steps{other}. Nothing else was affected."
    return printable(f"Something went wrong: {type(exc).__name__}: {exc}")
