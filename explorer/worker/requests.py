"""What crosses the thread boundary: small frozen requests in, plain results out (numpy, numbers, text).

Every request has an id from one counter, so "newer" is simply "larger id", and a `slot`: the worker keeps
only the newest request per slot, and a result whose id is older than its slot's newest is dropped.
No tensors, modules or widgets travel in either direction.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from models.generative import DEFAULT_GUIDE
from models.progress import Progress

_ids = itertools.count(1)


def _next_id() -> int:
    return next(_ids)


@dataclass(frozen=True)
class Request:
    id: int = field(default_factory=_next_id, init=False, compare=False)
    created: float = field(default_factory=time.perf_counter, init=False, compare=False)
    # The field whose value gives each request a slot of its own ("LoadModel:/path/vae.safetensors"), so that
    # requests for different models or files run one after another instead of cancelling one another; None: one
    # slot for every request of the type, where the newest wins.
    slot_by: ClassVar[str | None] = None

    @property
    def slot(self) -> str:
        return type(self).__name__ if self.slot_by is None else self.slot_for(getattr(self, self.slot_by))

    @classmethod
    def slot_for(cls, value: Any = None) -> str:
        """The slot of this type's requests whose `slot_by` field is `value`, or of all of them for a type without
        `slot_by` (to stop them, or to know their results, without making one)."""
        return cls.__name__ if value is None else f"{cls.__name__}:{value}"


# ---------------------------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class LoadModel(Request):
    path: str
    reload: bool = False  # read the file again if it changed since it was loaded (a training run's checkpoint)
    slot_by = "path"  # loading several models must not cancel one another


@dataclass(frozen=True)
class AnalyseModel(Request):
    """Find the Explore sliders' directions (cached per checkpoint file)."""
    model: str
    slot_by = "model"


@dataclass(frozen=True)
class Render(Request):
    """Decode one latent: the Explore view. For a family that decodes in steps, `sampler` with `steps` steps
    (deterministic DDIM by default; a slider drag asks for a few-step draft, `draft` True, then the full one)."""
    model: str
    latent: np.ndarray  # float32, the model's latent shape
    psi: float = 1.0  # GAN truncation
    steps: int = 20  # diffusion only
    sampler: str = "ddim"  # diffusion only: "ddim" or "dpm++" (both deterministic)
    draft: bool = False  # a quick draft while a slider moves; the result says so
    # Guidance toward attributes, for a family that takes it (models.generative.Decoding's fields of that name).
    attributes: tuple[tuple[str, float], ...] = ()
    guidance: float | None = None
    guide: str = DEFAULT_GUIDE


@dataclass(frozen=True)
class Endpoint:
    """One end of an interpolation, or a face to bring into Explore."""
    kind: str  # "seed" | "face" (a held-out Synthetic Faces index) | "image" (a file)
    seed: int = 0
    path: str = ""

    def describe(self) -> str:
        if self.kind == "seed":
            return f"seed {self.seed}"
        if self.kind == "face":
            return f"data-set face {self.seed}"
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class EncodeImage(Request):
    """Bring a face into Explore: an encoder model's analysis of it, and its latent in the current model."""
    model: str  # the model whose latent we want
    encoder: str | None  # the model with an encoder that analyses the face (posterior, reconstruction, anomaly)
    source: Endpoint
    posterior_samples: int = 6


@dataclass(frozen=True)
class Interpolate(Request):
    models: tuple[str, ...]
    a: Endpoint
    b: Endpoint
    frames: int = 8
    mode: str = "slerp"
    steps: int = 25  # diffusion DDIM steps, for decoding and for inversion


@dataclass(frozen=True)
class Diffuse(Request):
    """Run the reverse process step by step, recording x_t and the predicted x_0 at every step."""
    model: str
    sampler: str = "ddim"
    steps: int = 50
    eta: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class ForwardNoise(Request):
    """The forward process on a real face, for the Diffusion tab: the face's pixels and, for a model that diffuses
    in a latent (it has `from_latent`), the face's latent z_0, that latent noised to step t (the same noise at every
    t) and both decoded. A pixel model's noising is drawn by the tab itself, in closed form."""
    model: str
    source: Endpoint
    t: int = 250


@dataclass(frozen=True)
class StepsCurve(Request):
    """The model card's measured Fréchet distance against step count per sampler ("how many steps is enough")."""
    model: str


@dataclass(frozen=True)
class ScanCatalog(Request):
    """Read the metadata of every model a person can choose (shipped, runs, these recent files)."""
    recent: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadRunRecord(Request):
    """How a past run in `folder` was trained and where it stopped (Train → Resume from folder…)."""
    folder: str


@dataclass(frozen=True)
class FaceImage(Request):
    """A face as pixels at a model's size (for the forward process)."""
    source: Endpoint
    size: int = 64


# ----------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ModelInfo:
    key: str  # the checkpoint's resolved path
    path: str
    family: str
    family_name: str
    label: str  # "VAE · 64 px · step 1,000"
    description: str
    image_size: int
    latent_shape: tuple[int, ...]
    synthetic_faces: bool  # trained on Synthetic Faces: attribute directions mean something
    parameters: int
    signal: np.ndarray | None = None  # diffusion: sqrt(abar_t), t = 0..T-1
    noise: np.ndarray | None = None  # diffusion: sqrt(1 - abar_t)


@dataclass(frozen=True)
class DirectionInfo:
    key: str
    label: str
    vector: np.ndarray  # float32, latent shape, unit norm
    scale: float
    low_words: str = ""
    high_words: str = ""
    score: float | None = None
    # What moving along it measurably does, largest first (a named slider's own attribute first):
    # models.direction_effects.Effect, frozen and plain (numbers and words).
    effects: tuple[Any, ...] = ()
    effect_faces: int = 0  # the faces the effects were measured on (0: not measured)
    effect_amount: float = 0.0  # effects compare faces at -effect_amount and +effect_amount on the slider


@dataclass(frozen=True)
class Result:
    request_id: int
    slot: str
    error: str | None = None
    seconds: float = 0.0  # compute time in the worker
    created: float = 0.0  # when the request was made (perf_counter), for end-to-end latency


@dataclass(frozen=True)
class Loaded(Result):
    info: ModelInfo | None = None


@dataclass(frozen=True)
class Analysed(Result):
    model: str = ""
    principal: tuple[DirectionInfo, ...] = ()
    attributes: tuple[DirectionInfo, ...] = ()
    dim_order: tuple[int, ...] = ()
    dim_kl: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()
    # Attributes without a named slider: no straight line predicted them, or the line was measured not to move them.
    missing_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered(Result):
    model: str = ""
    image: np.ndarray | None = None  # uint8 (H, W, 3)
    latent: np.ndarray | None = None  # the latent that was decoded (after truncation)
    draft: bool = False  # drawn by the few-step draft sampler while a slider moves


@dataclass(frozen=True)
class Encoded(Result):
    model: str = ""
    original: np.ndarray | None = None  # uint8 (H, W, 3) at the model's size
    latent: np.ndarray | None = None  # in `model`'s latent space
    encoder: dict[str, Any] | None = None  # mu, sigma (float32), reconstruction, heat map, posterior samples, anomaly


@dataclass(frozen=True)
class Interpolated(Result):
    strips: dict[str, np.ndarray] = field(default_factory=dict)  # model key -> uint8 (F, H, W, 3)
    labels: dict[str, str] = field(default_factory=dict)  # model key -> how its endpoints were found
    latents: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Diffused(Result):
    model: str = ""
    xt: np.ndarray | None = None  # uint8 (S+1, H, W, 3): the pure noise, then x_t after every step
    x0: np.ndarray | None = None  # uint8 (S+1, H, W, 3): the predicted x_0 (frame 0: blank)
    timesteps: tuple[int, ...] = ()  # t of each frame of xt; -1 for the finished image
    stopped: bool = False
    # A model that diffuses in a latent: z_t itself at every frame, float32 (S+1, C, h, w), and the predicted clean
    # latent (frame 0: zeros); its xt and x0 are then the decoder's pictures of the two, drawn only where `decoded`
    # is True (at first the finished face; the rest on demand, explorer/worker/run_frames_jobs.py). All three are
    # None for a model that diffuses pixels, whose every picture is there.
    latents: np.ndarray | None = None
    latents0: np.ndarray | None = None
    decoded: np.ndarray | None = None  # bool (S+1,)

    @property
    def frames(self) -> int:
        return len(self.timesteps)

    def has_pictures(self, index: int) -> bool:
        return self.decoded is None or bool(self.decoded[index])


@dataclass(frozen=True)
class ForwardNoised(Result):
    face: np.ndarray | None = None  # uint8 (H, W, 3): the real face at the model's size
    t: int = 0
    # Only for a model that diffuses in a latent (all None for a pixel model):
    latent: np.ndarray | None = None  # float32 (C, h, w): the face's clean latent z_0
    noisy: np.ndarray | None = None  # float32 (C, h, w): z_t, z_0 noised to step t
    decoded: np.ndarray | None = None  # uint8 (H, W, 3): the decoder's picture of z_t
    rebuilt: np.ndarray | None = None  # uint8 (H, W, 3): the decoder's picture of z_0 (the autoencoder's copy)


@dataclass(frozen=True)
class StepsCurveRead(Result):
    # {"samples": N, "fd_real": float | None, "curves": {sampler: ((steps, fd), ...) sorted by steps}}, or None when
    # the model has no card, the card is another file's, or it holds no usable curve (`why` says which).
    curve: dict[str, Any] | None = None
    why: str = ""


@dataclass(frozen=True)
class Catalogued(Result):
    entries: tuple[Any, ...] = ()  # explorer.worker.model_catalog.CatalogEntry: frozen, plain (text and numbers)
    skipped: tuple[Any, ...] = ()  # model_catalog.Skipped: files that are not usable checkpoints, and why


@dataclass(frozen=True)
class RunRecord(Result):
    folder: str = ""
    family: str = ""
    step: int = 0
    training: dict[str, Any] = field(default_factory=dict)  # the settings recorded in the run's checkpoint


@dataclass(frozen=True)
class FacePixels(Result):
    image: np.ndarray | None = None


@dataclass(frozen=True)
class Step(Result):
    """A long request's progress on its way to the panels: numbers and words only (no tensors), and optional
    pictures."""
    progress: Progress = field(default_factory=lambda: Progress(0, 0))
    preview: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. {"xt": ..., "x0": ...}

    def __post_init__(self) -> None:
        # Numbers and words cross to the GUI thread, never the computation's tensors: they would keep its memory
        # (and a model's) alive there. Pictures go in `preview`, as uint8 arrays.
        held = self.progress.state, self.progress.image, self.progress.result
        if any(value is not None for value in held):
            raise ValueError("a Step carries a progress's numbers and words only, not its state, image or result")
