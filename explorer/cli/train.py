"""`python main.py train`: runs models.train's loop and shows it as a progress bar or as JSON lines."""

from __future__ import annotations

import argparse
import os
import sys

from explorer.cli.train_child import emit_json, install_stop_signals, watch_stdin_commands
from models.printable import printable
from models.train import TrainControl, TrainSettings, train
from models.train_events import (
    CheckpointEvent,
    DoneEvent,
    ErrorEvent,
    PausedEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
    TrainEvent,
    WarningEvent,
)


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    options = {"latent_dim": args.latent_dim, "beta": args.beta, "loss": args.gan_loss,
               "critic_steps": args.critic_steps, "schedule": args.schedule,
               "spectral_norm": True if args.spectral_norm else None,
               "minibatch_std": True if getattr(args, "minibatch_std", False) else None}
    known = {"vae": {"latent_dim", "beta"}, "gan": {"latent_dim", "loss", "critic_steps", "spectral_norm", "minibatch_std"},
             "diffusion": {"schedule"}}[args.model]
    for key, value in options.items():
        if value is not None and key not in known:
            flag = {"loss": "gan-loss"}.get(key, key).replace("_", "-")
            raise ValueError(f"--{flag} does not apply to a {args.model} model")
    return TrainSettings(
        family=args.model, out=args.out, data=args.data, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        image_size=args.image_size, seed=args.seed, device=args.device, resume=args.resume, channels=args.channels,
        model_options={k: v for k, v in options.items() if v is not None}, ema=args.ema,
        data_count=args.data_count, data_seed=args.data_seed, log_every=args.log_every,
        sample_every=args.sample_every, sample_steps=args.sample_steps, checkpoint_every=args.checkpoint_every)


def run_train(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)  # every value within its range: explorer.cli.main.parse_command checked them
    control = TrainControl()
    install_stop_signals(control)
    is_main = int(os.environ.get("RANK", "0")) == 0
    if args.events:
        watch_stdin_commands(control)
    show = (lambda e: emit_json(e.to_dict())) if args.events else ProgressDisplay().show
    failed = False
    for event in train(settings, control):
        failed |= isinstance(event, ErrorEvent)
        if is_main:
            show(event)
            if args.events and isinstance(event, ErrorEvent):
                write_line(sys.stderr, f"error: {printable(event.message)}")
    return 1 if failed else 0


def write_line(stream, text: str) -> bool:
    """Write a line for a person; False if nobody can read it any more (a closed pipe, a full disk under a
    redirection). Training goes on either way: what cannot be shown must not cost a step."""
    try:
        stream.write(text + "\n")
        stream.flush()
        return True
    except (OSError, ValueError):
        return False


def _clock(seconds: float | None) -> str:
    if seconds is None:  # the first steps (warm-up) are not yet a rate
        return "…"
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class ProgressDisplay:
    """A one-line progress bar with ETA on a terminal; plain lines when stderr is a file or a pipe."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        try:
            self.tty = self.stream.isatty()
        except (OSError, ValueError):
            self.tty = False
        self.open_line = False
        self.saved_step: int | None = None  # the step of the checkpoint in the run's folder, as events tell

    def _line(self, text: str, transient: bool = False) -> None:
        if self.stream is None:
            return
        try:
            if self.tty and transient:
                self.stream.write("\r\033[K" + text)
                self.open_line = True
            else:
                if self.open_line:
                    self.stream.write("\n")
                self.stream.write(text + "\n")
                self.open_line = False
            self.stream.flush()
        except (OSError, ValueError):  # nobody reads the progress any more: train on, and stop writing it
            self.stream = None

    def show(self, event: TrainEvent) -> None:
        if isinstance(event, StartEvent):
            verb = "Resuming" if event.resumed else "Training"
            what = {"vae": "a VAE", "gan": "a GAN", "diffusion": "a diffusion model"}[event.family]
            self.saved_step = event.checkpoint_step
            self._line(f"{verb} {what} ({event.parameters:,} parameters) on {printable(event.dataset)}: "
                       f"{event.images:,} images, {event.device}, step {event.step} of {event.total_steps}")
            if event.skipped_count:
                self._line(f"Skipped {event.skipped_count} unreadable files, e.g. {printable(event.skipped[0])}")
        elif isinstance(event, StepEvent):
            width = 24
            done = int(width * event.step / max(1, event.total_steps))
            losses = "  ".join(f"{k} {v:.4g}" for k, v in list(event.losses.items())[:3])
            self._line(f"step {event.step}/{event.total_steps} [{'#' * done}{'.' * (width - done)}] {losses}  "
                       f"{event.images_per_second:.0f} img/s  ETA {_clock(event.eta_seconds)}", transient=True)
        elif isinstance(event, CheckpointEvent):
            self.saved_step = event.step
            self._line(f"saved checkpoint at step {event.step}: {printable(event.path)}", transient=True)
        elif isinstance(event, SamplesEvent):
            self._line(f"samples at step {event.step}: {printable(event.path)}", transient=True)
        elif isinstance(event, PausedEvent):
            self._line(f"paused at step {event.step}")
        elif isinstance(event, WarningEvent):
            self._line(f"warning: {printable(event.message)}")
        elif isinstance(event, ErrorEvent):
            self._line(f"error: {printable(event.message)}")
        elif isinstance(event, DoneEvent) and event.reason != "error":
            self._line(f"Training {event.reason} at step {event.step}{saved_words(event.step, self.saved_step)}.")


def saved_words(step: int, saved_step: int | None) -> str:
    """What a run that ended at `step` left in its folder, as its events said: ', checkpoint saved' and the like."""
    if saved_step == step:
        return ", checkpoint saved"
    if saved_step is not None:
        return f"; the checkpoint of step {saved_step} is kept"
    return "; no checkpoint was saved"
