"""The training loop: one generator of events for every family, the CLI, the GUI and torchrun alike.

A run lives in one folder: model.safetensors (the latest checkpoint, what the app loads),
training_state.pt (everything needed to resume: weights, optimisers, moving averages, step, random states),
samples/step_NNNNNN.png (grids from fixed noise). Stopping and pausing are cooperative, between steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass
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
from models.config_check import ConfigError, config_from_dict
from models.data import DataError, ImageSet, load_dataset
from models.distributed import DistributedContext, memory_exhausted, out_of_memory_words
from models.face_renderer import ATTRIBUTE_NAMES
from models.family import build_model, family_names, find_family, noun_of
from models.generative import Decoding
from models.image_io import make_grid, save_png, to_uint8
from models.printable import printable, shown_value
from models.remaining_time import RemainingTime
from models.run_lock import FolderInUse, LocksUnsupported, RunLock
from models.setting_ranges import check_train_ranges
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
from models.train_settings import TrainSettings
from models.trainer import FamilyTrainer, make_trainer
from models.warm_start import warm_start

MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
SAMPLES_DIR = "samples"
ARCHITECTURE_KEYS = ("family", "image_size", "channels", "model_options", "data", "data_count", "data_seed")


class TrainError(Exception):
    """A run that cannot start or go on, for a reason the user can fix; one plain sentence."""


def check_settings(settings: TrainSettings) -> None:
    """ConfigError naming the first setting outside its range (models/setting_ranges.py, and the family's own
    config ranges), before anything is allocated or written: scripts call train() without the CLI's checks."""
    check_train_ranges(settings)
    family = find_family(settings.family)
    if family is None:
        raise ConfigError(f"setting 'family' should be one of {', '.join(family_names())}, "
                          f"not {shown_value(settings.family)}")
    config_from_dict(family.config_class, settings.model_config())


class BatchSource:
    """Random batches from an in-memory data set, reshuffled every epoch, on the training device."""

    def __init__(self, data: ImageSet, batch_size: int, device: torch.device, generator: torch.Generator):
        # Kept as uint8 on the device: a quarter of the memory of floats and no per-batch copy to a GPU.
        self.images = data.images.to(device)
        # The known attributes of each image (Synthetic Faces'), for a family that learns from them; None for a
        # folder of the user's own images, which has none.
        self.attributes = (data.attributes.to(device) if data.attribute_names == ATTRIBUTE_NAMES else None)
        self.last_indices = torch.empty(0, dtype=torch.long)
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
        self.last_indices = idx
        return self.images[idx].float().div_(127.5).sub_(1.0)

    def __len__(self) -> int:
        """How many images the data set holds (last_indices index them)."""
        return len(self.images)

    def labelled(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next batch and its images' attributes (B, 15) in their own units (None when the data has none)."""
        images = self()
        return images, None if self.attributes is None else self.attributes[self.last_indices]


class Run:
    """The state of one run in its folder: what is resumed, saved and sampled."""

    def __init__(self, settings: TrainSettings, ctx: DistributedContext):
        self.settings, self.ctx = settings, ctx
        self.out = Path(settings.out)
        self.model_path, self.state_path = self.out / MODEL_FILE, self.out / STATE_FILE
        self.step = 0
        self.last_saved_step = -1
        self.state_step: int | None = None  # the step of the training state this run read or last wrote
        self.saved_state: dict[str, Any] | None = None
        self.lock: RunLock | None = None
        self.created_folder = False
        self.warnings: list[str] = []
        self.reference_spread = 0.0  # mean_pairwise_distance of real training images, for sample diversity

    def prepare(self) -> None:
        """Check the folder; on --resume read the saved state and take the architecture from it."""
        s = self.settings
        out = printable(self.out)
        if s.resume:
            if not self.state_path.exists():
                raise TrainError(f"There is no run to resume in '{out}' (no {STATE_FILE} there).")
            self.saved_state = load_training_state(self.state_path)  # its structure, types and ranges checked
            saved = self.saved_state["settings"]
            if saved.get("family") != s.family:
                raise TrainError(f"The run in '{out}' trains a {printable(saved.get('family'), 40)} model, "
                                 f"not {noun_of(s.family)}.")
            for key in ARCHITECTURE_KEYS:
                if key in saved and saved[key] != getattr(s, key):
                    self.warnings.append(f"Resuming keeps the run's own {key.replace('_', ' ')} "
                                         f"({printable(saved[key], 200)}).")
                    setattr(s, key, saved[key])
            if s.init_from and s.init_from != saved.get("init_from"):
                self.warnings.append("Resuming takes the run's weights from its saved state; --init-from is ignored.")
            s.init_from = saved.get("init_from")  # the record keeps where the run first started from
            # state_step is set once restore() has put this state into the trainer: until then it is not known to
            # be one --resume can go on from, and kept() must not say it is.
            self.step = self.saved_state["step"]
            self.last_saved_step = self.step  # nothing to save before the next step
            if self.step >= s.steps:
                raise TrainError(f"The run in '{out}' has already done {self.step} of {s.steps} steps; "
                                 "ask for more --steps to continue it.")
        elif self.state_path.exists() or self.model_path.exists():
            raise TrainError(f"'{out}' already holds a training run. Use --resume to continue it, "
                             "or choose another output folder.")

    def claim(self) -> None:
        """Make and lock the run's folder before anything in it is read or written, so that a second run into the
        same folder is refused rather than mixed with this one. Rank 0 holds the lock; every rank learns the outcome."""
        problem = None
        if self.ctx.is_main:
            try:
                self._claim_folder()
            except TrainError as exc:
                problem = str(exc)
        if self.ctx.any(problem is not None):
            raise TrainError(problem or "The first training process could not take the run's folder (see its message).")

    def _claim_folder(self) -> None:
        out = printable(self.out)
        if self.out.exists() and not self.out.is_dir():
            raise TrainError(f"The output '{out}' is a file; choose a folder for the run.")
        try:
            self.created_folder = not self.out.exists()
            self.out.mkdir(parents=True, exist_ok=True)
            try:
                self.lock = RunLock.acquire(self.out)  # also shows a folder we cannot write, before any training
            except LocksUnsupported:
                self.warnings.append(f"The folder '{out}' cannot be locked (its file system does not support it): "
                                     "make sure no other training run writes into it.")
            for path in (self.model_path, self.state_path):  # half-written by a run that was killed mid-save
                remove_stale_temporaries(path)
        except FolderInUse as exc:
            raise TrainError(str(exc)) from None
        except OSError as exc:
            raise TrainError(f"Cannot write the run to '{out}': {describe_os_error(exc)}.") from None

    def release(self) -> None:
        """Let go of the folder; one this run made and left empty (it failed before saving anything) goes too."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        if self.created_folder:
            try:
                self.out.rmdir()  # only if empty
            except OSError:
                pass

    def training_state(self, trainer: FamilyTrainer, batches: BatchSource) -> dict[str, Any]:
        return {"step": self.step, "settings": asdict(self.settings), "trainer": trainer.state_dict(),
                "rng": {"torch": torch.get_rng_state(), "data": batches.generator.get_state(),
                        "noise": trainer.noise.get_state()},
                "batches": {"order": batches.order, "position": batches.position}}

    def restore(self, trainer: FamilyTrainer, batches: BatchSource) -> None:
        """Put the saved state into the trainer and the batch source. Its structure, types and ranges were checked
        as it was read (check_training_state); that its weights and optimiser states fit the model built from its
        settings is checked here, before anything is loaded: a state that does not ends the run with one sentence
        that names the file, and before anything in the folder is written."""
        state = self.saved_state
        problem = _trainer_state_problem(trainer, state["trainer"])
        if problem:
            raise CheckpointError(f"The training state '{STATE_FILE}' is damaged or not one of ours: {problem}; "
                                  "the run cannot be resumed from it.")
        try:
            trainer.load_state_dict(state["trainer"])
            torch.set_rng_state(state["rng"]["torch"])
            if self.ctx.world_size == 1:  # other ranks keep their own streams: theirs were never saved
                batches.generator.set_state(state["rng"]["data"])
                trainer.noise.set_state(state["rng"]["noise"])
                order = state["batches"]["order"]
                # An order naming images the data no longer has (a folder that lost some since the save) would
                # fail at the next batch: a new epoch's order is drawn instead, as at the end of every epoch.
                if len(order) == 0 or (int(order.min()) >= 0 and int(order.max()) < len(batches.images)):
                    batches.order, batches.position = order, state["batches"]["position"]
        except Exception as exc:  # what the checks above missed: still one sentence that names the file
            if memory_exhausted(exc) is not None:
                raise  # the device's doing, not the file's: train() says so in its words
            raise CheckpointError(f"The training state '{STATE_FILE}' could not be restored ({type(exc).__name__}: "
                                  f"{printable(exc, 200).rstrip('.')}); the run cannot be resumed from it.") from None
        self.state_step = self.step  # the run can go on from this state: it is the one it now trains on from

    def checkpoint_step(self) -> int | None:
        """The step of the checkpoint in the folder now, read from the file itself (None: none that loads)."""
        try:
            return int(read_metadata(self.model_path)["step"])
        except (CheckpointError, OSError, KeyError, TypeError, ValueError):
            return None

    def kept(self) -> str:
        """What a run that ends now leaves behind, in words: what is in its folder, not what it meant to save."""
        step = self.checkpoint_step()
        if step is not None:
            return f"the last good checkpoint (step {step}) is kept"
        if self.state_step is not None and self.state_path.is_file():
            return (f"there is no usable checkpoint ({MODEL_FILE}) in its folder, but its training state "
                    f"(step {self.state_step}) is kept, from which --resume can go on")
        if self.saved_state is not None:  # a resume that ended before it restored its state: nothing was written
            return f"there is no usable checkpoint ({MODEL_FILE}) in its folder, and its training state is as it was"
        return "no checkpoint had been saved yet"

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
        self.state_step = self.step
        path = save_checkpoint(self.model_path, trainer.export(), dataset=data.describe() | {"name": data.name},
                               step=self.step, losses=losses,
                               extra={"training": {k: v for k, v in asdict(self.settings).items()
                                                   if k not in ("out", "resume")}})
        self.last_saved_step = self.step
        return path

    def save_samples(self, trainer: FamilyTrainer, latents: torch.Tensor) -> tuple[Path, float | None]:
        """The grid's path, and the samples' diversity relative to the data's (see SamplesEvent)."""
        model = trainer.export()
        # Grids of a family that decodes in steps use DDPM's sampler on a few respaced steps: from the same noise and
        # noise seed every time, and unlike deterministic DDIM it shows a young network's progress faithfully.
        decoding = Decoding(sampler="ddpm", steps=self.settings.sample_steps)  # one-pass decoders ignore it
        with torch.no_grad():
            images = trainer.preview(model, latents, decoding)
        path = self.out / SAMPLES_DIR / f"step_{self.step:06d}.png"
        path = save_png(path, make_grid(to_uint8(images)), scale=2 if model.image_size <= 32 else 1)
        real = self.reference_spread
        return path, (round(mean_pairwise_distance(images) / real, 4) if real else None)


def _trainer_state_problem(trainer: FamilyTrainer, saved: dict[str, Any]) -> str | None:
    """Why a saved trainer state (its structure already checked) cannot be loaded into `trainer`, in words; None
    when it can. What the trainer saves itself is the template: the same weights with the same shapes, the same
    optimisers for the same weights (torch.optim loads a state of the wrong shapes and fails only at the next step)."""
    for key, fresh in trainer.state_dict().items():
        value = saved.get(key)
        optimizer = getattr(trainer, key, None)  # the trainers save each optimiser under its attribute's name
        if fresh is None or isinstance(fresh, int):  # no moving average kept; steps_done (checked as it was read)
            continue
        if value is None:
            if key == "model" or isinstance(optimizer, torch.optim.Optimizer):
                return f"it has no '{printable(key, 40)}'"
            continue  # a moving average the run did not keep: the trainer keeps its own (as load_state_dict does)
        if isinstance(optimizer, torch.optim.Optimizer):
            problem = _optimizer_problem(key, value, optimizer)
        else:
            problem = _weights_problem(f"'{key}' weights", value, fresh)
        if problem:
            return problem
    return None


def _weights_problem(what: str, saved: dict[str, torch.Tensor], fresh: dict[str, torch.Tensor]) -> str | None:
    for name, tensor in fresh.items():
        value = saved.get(name)
        if value is None:
            return f"its {what} lack '{printable(name, 80)}'"
        if value.shape != tensor.shape:
            return (f"its {what} have '{printable(name, 80)}' of shape {list(value.shape)}, where the model its "
                    f"settings describe has {list(tensor.shape)}")
        if value.is_floating_point() != tensor.is_floating_point() or value.is_complex():  # copy_ would not say
            return f"its {what} hold '{printable(name, 80)}' as {value.dtype}, where the model has {tensor.dtype}"
    extra = next((name for name in saved if name not in fresh), None)
    return None if extra is None else (f"its {what} hold '{printable(extra, 80)}', which the model its settings "
                                       "describe has not")


def _optimizer_problem(what: str, saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> str | None:
    """The trainers' optimisers are Adam: the saved settings of each parameter group and the moments of each
    weight, against the optimiser built for this model (before load_state_dict, which checks only the counts)."""
    name = f"its optimiser state '{printable(what, 40)}'"
    groups = saved["param_groups"]
    if len(groups) != len(optimizer.param_groups):
        return f"{name} has {len(groups)} parameter groups, where this model's has {len(optimizer.param_groups)}"
    for group, fresh in zip(groups, optimizer.param_groups):
        if len(group["params"]) != len(fresh["params"]):
            return (f"{name} is for {len(group['params'])} weights, where the model its settings describe has "
                    f"{len(fresh['params'])}")
        for key, default in fresh.items():
            flag = isinstance(default, (bool, str)) or default is None
            if key == "params" or (flag and key not in group):
                continue  # a flag an older torch did not save: Adam fills it in (Adam.__setstate__)
            value = group.get(key)
            if flag:
                ok = value == default and type(value) is type(default)  # flags this app never changes
            elif isinstance(default, tuple):  # betas
                ok = isinstance(value, (tuple, list)) and len(value) == len(default) and all(
                    _number(v) and 0 <= v < 1 for v in value)
            else:  # lr, eps, weight_decay
                ok = _number(value) and value >= 0
            if not ok:
                return f"{name} has an invalid '{printable(key, 40)}'"
        moments = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if fresh.get("amsgrad") else ())
        for index, weight in zip(group["params"], fresh["params"]):
            entry = saved["state"].get(index)
            if entry is None:
                continue  # a weight without moments yet: Adam starts them, as on its first step
            step = entry.get("step")
            if step is None or step.numel() != 1 or not bool(torch.isfinite(step).all()) or float(step) < 0:
                return f"{name} has no valid step count for one of its weights"
            for moment in moments:
                tensor = entry.get(moment)
                if tensor is None:
                    return f"{name} has no '{moment}' for one of its weights"
                if tensor.shape != weight.shape or not tensor.is_floating_point():
                    return (f"{name} has an '{moment}' of {tensor.dtype} {list(tensor.shape)} for a weight of "
                            f"{weight.dtype} {list(weight.shape)}")
    return None


def _number(value: Any) -> bool:
    """A finite int or float (True is not a learning rate; an int of any size is finite, and too large for isfinite)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


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
            kept = f"; {run.kept()}" if run is not None and run.out.is_dir() else ""
            yield ErrorEvent(f"Training failed unexpectedly: {type(exc).__name__}: {printable(exc).rstrip('.')}{kept}.")
        yield DoneEvent(run.step if run else 0, "error")
    finally:
        if run is not None:
            run.release()
        ctx.close()


@dataclass
class _Training:
    """What the training loop works with, once the run is set up."""

    data: ImageSet
    model: torch.nn.Module
    trainer: FamilyTrainer
    batches: BatchSource
    per_rank: int  # images per step on each process
    fixed: torch.Tensor  # the latents of the sample grid, the same at every grid


class ThroughputMeter:
    """Images per second over the steps since the last report (only the steps' own time counts), and the run's
    time so far without its pauses."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.excluded = 0.0  # seconds spent paused
        self._window_time, self._window_steps = 0.0, 0
        self._paused_at: float | None = None

    def timed(self, step: Callable[[], Any]) -> Any:
        """Run `step()`, counting its time; its result."""
        t0 = time.perf_counter()
        result = step()
        self._window_time += time.perf_counter() - t0
        self._window_steps += 1
        return result

    def images_per_second(self, images_per_step: int) -> float:
        """The rate over the steps timed since the last call (which starts a new window)."""
        rate = self._window_steps * images_per_step / max(self._window_time, 1e-9)
        self._window_time, self._window_steps = 0.0, 0
        return rate

    def pause(self) -> None:
        self._paused_at = time.perf_counter()

    def resume(self) -> None:
        if self._paused_at is not None:
            self.excluded += time.perf_counter() - self._paused_at
            self._paused_at = None

    def elapsed(self) -> float:
        """Seconds since the loop started, pauses left out."""
        return time.perf_counter() - self.started - self.excluded


def _train(run: Run, control: TrainControl) -> Iterator[TrainEvent]:
    training = yield from _set_up(run)
    yield from _loop(run, control, training)


def _set_up(run: Run) -> Generator[TrainEvent, None, _Training]:
    """Check the settings, claim the folder, build the data, model and trainer (restored when resuming); yields
    the warnings and the StartEvent, and returns the _Training."""
    s, ctx = run.settings, run.ctx
    check_settings(s)  # before the folder is made: an empty --out would claim the current folder
    run.claim()
    run.prepare()
    if run.saved_state is not None:
        try:
            check_settings(s)  # a resumed run's own settings: the command line's passed above, so these are the file's
        except ConfigError as exc:
            raise CheckpointError(f"The training state '{STATE_FILE}' holds settings this version cannot train "
                                  f"with: {str(exc).rstrip('.')}; the run cannot be resumed from it.") from None
    for message in run.warnings:
        yield WarningEvent(message)
    torch.manual_seed(s.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    data = load_dataset(s.data, size=s.image_size, count=s.data_count, seed=s.data_seed)
    model = build_model(s.family, s.model_config()).to(ctx.device)
    warm = None
    if s.init_from and run.saved_state is None:  # a resumed run's weights are in its own state
        warm = warm_start(model, s.init_from)  # before the trainer copies them into its moving average
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
                     world_size=ctx.world_size, resumed=run.saved_state is not None,
                     checkpoint_step=run.checkpoint_step() if run.saved_state is not None else None, warm_start=warm)
    if repair:  # the app opens model.safetensors: it must show the step the run goes on from
        yield from _checkpoint(run, trainer, batches, data, {}, final=False)
    fixed = model.latents_for_seeds(range(s.sample_count))
    run.reference_spread = mean_pairwise_distance(data.images[:s.sample_count].float().div(127.5).sub(1.0))
    return _Training(data, model, trainer, batches, per_rank, fixed)


def _loop(run: Run, control: TrainControl, training: _Training) -> Iterator[TrainEvent]:
    """Step until the run's step count, a stop, or divergence; pauses, step reports, sample grids, checkpoints."""
    s, ctx = run.settings, run.ctx
    trainer, batches, data, fixed = training.trainer, training.batches, training.data, training.fixed
    losses: dict[str, float] = {}
    start_step, meter = run.step, ThroughputMeter()
    remaining = RemainingTime()
    reason = "finished"
    while run.step < s.steps:
        if control.paused and not control.stop_requested:
            remaining.pause()  # before the event: whoever reads it may take its time
            yield PausedEvent(run.step)
            meter.pause()
            control.wait_while_paused()
            remaining.resume()
            meter.resume()
            yield ResumedEvent(run.step)
        if ctx.any(control.stop_requested):
            reason = "stopped"
            break
        result = meter.timed(lambda: trainer.step(batches))
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
            ips = meter.images_per_second(trainer.images_per_step * training.per_rank * ctx.world_size)
            eta = remaining.seconds_left(s.steps - run.step)
            yield StepEvent(run.step, s.steps, losses, round(ips, 2), None if eta is None else round(eta, 1),
                            round(meter.elapsed(), 2), result.extra)
        if ctx.is_main and s.sample_every and run.step % s.sample_every == 0:
            yield from _samples(run, trainer, fixed)
        if s.checkpoint_every and run.step % s.checkpoint_every == 0 and run.step < s.steps:  # the last: below
            yield from _checkpoint(run, trainer, batches, data, losses, final=False)
    if not ctx.replicas_agree(training.model):
        yield WarningEvent("The training processes ended with different weights; the checkpoint holds rank 0's.")
    if run.step != run.last_saved_step and run.step > start_step:
        if ctx.is_main and s.sample_every and run.step % s.sample_every:
            yield from _samples(run, trainer, fixed)
        yield from _checkpoint(run, trainer, batches, data, losses, final=True)
    yield DoneEvent(run.step, reason)


def _samples(run: Run, trainer: FamilyTrainer, fixed: torch.Tensor) -> Iterator[TrainEvent]:
    """A sample grid, or a warning when it cannot be written: a grid is worth no step of training."""
    try:
        path, diversity = run.save_samples(trainer, fixed)
    except OSError as exc:
        yield WarningEvent(f"Could not save the sample grid of step {run.step} in '{printable(run.out / SAMPLES_DIR)}': "
                           f"{describe_os_error(exc)}. Training goes on without it.")
        return
    yield SamplesEvent(run.step, str(path), diversity)


def _checkpoint(run: Run, trainer, batches, data, losses, final: bool) -> Iterator[TrainEvent]:
    if run.ctx.is_main:
        try:
            yield CheckpointEvent(run.step, str(run.save(trainer, batches, data, losses)))
        except CheckpointError as exc:
            if final:
                raise TrainError(f"{exc} The run stopped at step {run.step}, and {run.kept()}.") from None
            yield WarningEvent(f"{exc} Training goes on and will try again at the next checkpoint; "
                               f"until then {run.kept()}.")
    run.ctx.barrier()

