"""The training loop: one generator of events for every family, the CLI, the GUI and torchrun alike.

A run lives in one folder: model.safetensors (the latest checkpoint, what the app loads),
training_state.pt (everything needed to resume: weights, optimisers, moving averages, step, random states),
samples/step_NNNNNN.png (grids from fixed noise). Stopping and pausing are cooperative, between steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from models.atomic_file import describe_os_error, remove_stale_temporaries
from models.checkpoint import (
    CheckpointError,
    load_training_state,
    read_metadata,
    save_checkpoint,
    save_training_state,
)
from models.data import DataError, ImageSet, load_dataset
from models.distributed import DistributedContext, memory_exhausted, out_of_memory_words
from models.families import ConfigError, build_model
from models.family_trainers import FamilyTrainer, make_trainer
from models.image_io import make_grid, save_png, to_uint8
from models.remaining_time import RemainingTime
from models.train_events import (
    CheckpointEvent,
    DoneEvent,
    ErrorEvent,
    PausedEvent,
    ResumedEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
    TrainControl,
    TrainEvent,
    WarningEvent,
)

MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
SAMPLES_DIR = "samples"
ARCHITECTURE_KEYS = ("family", "image_size", "channels", "model_options", "data", "data_count", "data_seed")


class TrainError(Exception):
    """A run that cannot start or go on, for a reason the user can fix; one plain sentence."""


@dataclass
class TrainSettings:
    family: str
    out: str
    data: str = "synthetic-faces"  # or a folder of images
    steps: int = 2000
    batch_size: int = 64  # in all: under torchrun each process takes its share
    lr: float | None = None  # None: the family's default
    image_size: int = 64
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    channels: int | None = None  # network width; None: the family's default
    model_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"beta": 4.0}, {"loss": "hinge"}
    ema: float | None = None  # None: the family's default
    data_count: int = 20000  # Synthetic Faces only
    data_seed: int = 0
    log_every: int = 10
    sample_every: int = 250
    sample_count: int = 16
    sample_steps: int = 25  # respaced DDPM steps for diffusion sample grids
    checkpoint_every: int = 500


def model_config(settings: TrainSettings) -> dict[str, Any]:
    """The architecture config for a run, as a plain dictionary (the family's defaults filled in)."""
    size, ch, opts = settings.image_size, settings.channels, dict(settings.model_options)
    config: dict[str, Any] = {"image_size": size}
    if settings.family == "vae":
        config.update({"base_channels": ch} if ch else {})
    elif settings.family == "gan":
        config.update({"generator_channels": ch, "discriminator_channels": ch} if ch else {})
    elif settings.family == "diffusion":
        levels = max(2, min(4, int(math.log2(size)) - 2))  # 16 px: 2 levels ... 64 px and up: 4
        config.update({"channel_mults": (1,) + (2,) * (levels - 1),
                       "attention_resolutions": (16,) if size >= 64 else (8,)})
        config.update({"base_channels": ch} if ch else {})
    config.update(opts)
    return config


class BatchSource:
    """Random batches from an in-memory data set, reshuffled every epoch, on the training device."""

    def __init__(self, data: ImageSet, batch_size: int, device: torch.device, generator: torch.Generator):
        # Kept as uint8 on the device: a quarter of the memory of floats and no per-batch copy to a GPU.
        self.images = data.images.to(device)
        self.batch_size = min(batch_size, len(data))
        self.generator = generator
        self.order = torch.empty(0, dtype=torch.long)
        self.position = 0

    def __call__(self) -> torch.Tensor:
        """float (B, 3, H, W) in [-1, 1]."""
        if self.position + self.batch_size > len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.generator)
            self.position = 0
        idx = self.order[self.position:self.position + self.batch_size].to(self.images.device)
        self.position += self.batch_size
        return self.images[idx].float().div_(127.5).sub_(1.0)


class Run:
    """The state of one run in its folder: what is resumed, saved and sampled."""

    def __init__(self, settings: TrainSettings, ctx: DistributedContext):
        self.settings, self.ctx = settings, ctx
        self.out = Path(settings.out)
        self.model_path, self.state_path = self.out / MODEL_FILE, self.out / STATE_FILE
        self.step = 0
        self.last_saved_step = -1
        self.saved_state: dict[str, Any] | None = None
        self.warnings: list[str] = []
        self.reference_spread = 0.0  # mean_pairwise_distance of real training images, for sample diversity

    def prepare(self) -> None:
        """Check the folder; on --resume read the saved state and take the architecture from it."""
        s = self.settings
        if s.resume:
            if not self.state_path.exists():
                raise TrainError(f"There is no run to resume in '{self.out}' (no {STATE_FILE} there).")
            self.saved_state = load_training_state(self.state_path)
            saved = self.saved_state.get("settings", {})
            if saved.get("family") != s.family:
                raise TrainError(f"The run in '{self.out}' trains a {saved.get('family')} model, not a {s.family}.")
            for key in ARCHITECTURE_KEYS:
                if key in saved and saved[key] != getattr(s, key):
                    self.warnings.append(f"Resuming keeps the run's own {key.replace('_', ' ')} ({saved[key]}).")
                    setattr(s, key, saved[key])
            self.step = int(self.saved_state["step"])
            self.last_saved_step = self.step  # the checkpoint we resume from is the last good one
            if self.step >= s.steps:
                raise TrainError(f"The run in '{self.out}' has already done {self.step} of {s.steps} steps; "
                                 "ask for more --steps to continue it.")
        elif self.state_path.exists() or self.model_path.exists():
            raise TrainError(f"'{self.out}' already holds a training run. Use --resume to continue it, "
                             "or choose another output folder.")
        if self.out.exists() and not self.out.is_dir():
            raise TrainError(f"The output '{self.out}' is a file; choose a folder for the run.")

    def make_folder(self) -> None:
        """Create the run's folder now, so that a folder we cannot write shows before any training."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
            for path in (self.model_path, self.state_path):  # half-written by a run that was killed mid-save
                remove_stale_temporaries(path)
        except OSError as exc:
            raise TrainError(f"Cannot write the run to '{self.out}': {describe_os_error(exc)}.") from None

    def training_state(self, trainer: FamilyTrainer, batches: BatchSource) -> dict[str, Any]:
        return {"step": self.step, "settings": asdict(self.settings), "trainer": trainer.state_dict(),
                "rng": {"torch": torch.get_rng_state(), "data": batches.generator.get_state(),
                        "noise": trainer.noise.get_state()},
                "batches": {"order": batches.order, "position": batches.position}}

    def restore(self, trainer: FamilyTrainer, batches: BatchSource) -> None:
        state = self.saved_state
        trainer.load_state_dict(state["trainer"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.ctx.world_size == 1:  # other ranks keep their own streams: theirs were never saved
            batches.generator.set_state(state["rng"]["data"])
            trainer.noise.set_state(state["rng"]["noise"])
            batches.order, batches.position = state["batches"]["order"], int(state["batches"]["position"])

    def kept(self) -> str:
        """What a run that ends now leaves behind, in words."""
        if self.last_saved_step < 0:
            return "no checkpoint had been saved yet"
        return f"the last good checkpoint (step {self.last_saved_step}) is kept"

    def checkpoint_behind(self) -> bool:
        """Resuming from a state newer than the checkpoint: the run was killed between writing the two."""
        if self.saved_state is None:
            return False
        try:
            return read_metadata(self.model_path).get("step") != self.step
        except CheckpointError:
            return True

    def save(self, trainer: FamilyTrainer, batches: BatchSource, data: ImageSet, losses: dict[str, float]) -> Path:
        """Training state first, then the checkpoint: a crash between the two leaves both usable."""
        save_training_state(self.state_path, self.training_state(trainer, batches))
        path = save_checkpoint(self.model_path, trainer.export(), dataset=data.describe() | {"name": data.name},
                               step=self.step, losses=losses,
                               extra={"training": {k: v for k, v in asdict(self.settings).items()
                                                   if k not in ("out", "resume")}})
        self.last_saved_step = self.step
        return path

    def save_samples(self, trainer: FamilyTrainer, latents: torch.Tensor) -> tuple[Path, float | None]:
        """The grid's path, and the samples' diversity relative to the data's (see SamplesEvent)."""
        model = trainer.export()
        # Diffusion grids use DDPM's sampler on a few respaced steps: from the same noise and noise seed
        # every time, and unlike deterministic DDIM it shows a young network's progress faithfully.
        options = {"sampler": "ddpm", "steps": self.settings.sample_steps} if model.family == "diffusion" else {}
        with torch.no_grad():
            images = model.decode(latents, **options)
        path = self.out / SAMPLES_DIR / f"step_{self.step:06d}.png"
        path = save_png(path, make_grid(to_uint8(images)), scale=2 if model.image_size <= 32 else 1)
        real = self.reference_spread
        return path, (round(mean_pairwise_distance(images) / real, 4) if real else None)


def mean_pairwise_distance(images: torch.Tensor) -> float:
    """images (N, 3, H, W) float in [-1, 1] -> mean RMS pixel distance over all pairs (0 when N < 2)."""
    flat = images.detach().float().flatten(1).cpu()
    if len(flat) < 2:
        return 0.0
    d = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    return float(d.sum() / (len(flat) * (len(flat) - 1)))


def train(settings: TrainSettings, control: TrainControl | None = None) -> Iterator[TrainEvent]:
    """Run (or resume) training, yielding events; errors end the run with an ErrorEvent, never an exception."""
    control = control or TrainControl()
    run = None
    try:
        ctx = DistributedContext.start(settings.device)
    except (TrainError, RuntimeError, ValueError) as exc:
        yield ErrorEvent(str(exc))
        yield DoneEvent(0, "error")
        return
    try:
        run = Run(settings, ctx)
        yield from _train(run, control)
    except (TrainError, DataError, CheckpointError, ConfigError) as exc:
        yield ErrorEvent(str(exc))
        yield DoneEvent(run.step if run else 0, "error")
    except Exception as exc:  # noqa: BLE001 - a run must end with a message, whatever broke
        where = memory_exhausted(exc)
        if where is not None and run is not None:
            yield ErrorEvent(f"{out_of_memory_words(where)} at step {run.step + 1}; the run stopped and {run.kept()}. "
                             "Try a smaller batch size or image size" + (", or the CPU." if where == "gpu" else "."))
        else:
            yield ErrorEvent(f"Training failed unexpectedly: {type(exc).__name__}: {exc}")
        yield DoneEvent(run.step if run else 0, "error")
    finally:
        ctx.close()


def _train(run: Run, control: TrainControl) -> Iterator[TrainEvent]:
    s, ctx = run.settings, run.ctx
    run.prepare()
    for message in run.warnings:
        yield WarningEvent(message)
    torch.manual_seed(s.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    data = load_dataset(s.data, size=s.image_size, count=s.data_count, seed=s.data_seed)
    model = build_model(s.family, model_config(s)).to(ctx.device)
    if ctx.is_main:
        run.make_folder()
    per_rank = max(1, s.batch_size // ctx.world_size)
    data_gen = torch.Generator().manual_seed(s.seed * 1000 + ctx.rank)
    noise_gen = torch.Generator().manual_seed(s.seed * 1000 + 500 + ctx.rank)
    trainer = make_trainer(model, s.lr, s.ema, ctx.wrap, noise_gen)
    batches = BatchSource(data, per_rank, ctx.device, data_gen)
    if run.saved_state is not None:
        run.restore(trainer, batches)
    repair = ctx.any(run.checkpoint_behind())  # decided by all ranks before rank 0 writes anything
    skipped = [f"{name}: {why}" for name, why in data.skipped]
    yield StartEvent(family=s.family, device=ctx.describe(), dataset=data.name, images=len(data),
                     skipped=skipped[:20], skipped_count=len(skipped), step=run.step, total_steps=s.steps,
                     parameters=sum(p.numel() for p in model.parameters()), out=str(run.out),
                     world_size=ctx.world_size, resumed=run.saved_state is not None)
    if repair:  # the app opens model.safetensors: it must show the step the run goes on from
        yield from _checkpoint(run, trainer, batches, data, {}, final=False)
    fixed = model.latents_for_seeds(range(s.sample_count))
    run.reference_spread = mean_pairwise_distance(data.images[:s.sample_count].float().div(127.5).sub(1.0))
    losses: dict[str, float] = {}
    start_step, started = run.step, time.perf_counter()
    window_time, window_steps, excluded = 0.0, 0, 0.0
    remaining = RemainingTime()
    reason = "finished"
    while run.step < s.steps:
        if control.paused and not control.stop_requested:
            remaining.pause()  # before the event: whoever reads it may take its time
            yield PausedEvent(run.step)
            paused_at = time.perf_counter()
            control.wait_while_paused()
            remaining.resume()
            excluded += time.perf_counter() - paused_at
            yield ResumedEvent(run.step)
        if ctx.any(control.stop_requested):
            reason = "stopped"
            break
        t0 = time.perf_counter()
        result = trainer.step(batches)
        window_time += time.perf_counter() - t0
        window_steps += 1
        if ctx.any(not all(math.isfinite(v) for v in result.losses.values())):
            bad = ", ".join(f"{k} = {v}" for k, v in result.losses.items() if not math.isfinite(v)) or "another process"
            yield ErrorEvent(f"Training diverged at step {run.step + 1} ({bad}); the run stopped and {run.kept()}. "
                             "Try a lower learning rate.")
            yield DoneEvent(run.step, "error")
            return
        run.step += 1
        remaining.step_done()
        losses = result.losses
        if run.step % s.log_every == 0 or run.step == s.steps:
            ips = window_steps * trainer.images_per_step * per_rank * ctx.world_size / max(window_time, 1e-9)
            eta = remaining.seconds_left(s.steps - run.step)
            yield StepEvent(run.step, s.steps, losses, round(ips, 2), None if eta is None else round(eta, 1),
                            round(time.perf_counter() - started - excluded, 2), result.extra)
            window_time, window_steps = 0.0, 0
        if ctx.is_main and s.sample_every and run.step % s.sample_every == 0:
            path, diversity = run.save_samples(trainer, fixed)
            yield SamplesEvent(run.step, str(path), diversity)
        if s.checkpoint_every and run.step % s.checkpoint_every == 0 and run.step < s.steps:  # the last: below
            yield from _checkpoint(run, trainer, batches, data, losses, final=False)
    if not ctx.replicas_agree(model):
        yield WarningEvent("The training processes ended with different weights; the checkpoint holds rank 0's.")
    if run.step != run.last_saved_step and run.step > start_step:
        if ctx.is_main and s.sample_every and run.step % s.sample_every:
            path, diversity = run.save_samples(trainer, fixed)
            yield SamplesEvent(run.step, str(path), diversity)
        yield from _checkpoint(run, trainer, batches, data, losses, final=True)
    yield DoneEvent(run.step, reason)


def _checkpoint(run: Run, trainer, batches, data, losses, final: bool) -> Iterator[TrainEvent]:
    if run.ctx.is_main:
        try:
            yield CheckpointEvent(run.step, str(run.save(trainer, batches, data, losses)))
        except CheckpointError as exc:
            if final:
                raise TrainError(f"{exc} The run stopped at step {run.step}, and {run.kept()}.") from None
            yield WarningEvent(f"{exc} Training goes on and will try again at the next checkpoint.")
    run.ctx.barrier()

