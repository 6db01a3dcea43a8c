"""`python main.py train`: runs models.train's loop and shows it as a progress bar or as JSON lines."""

from __future__ import annotations

import argparse
import os
import sys

from explorer.cli import emit_json, install_stop_signals, watch_stdin_commands
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
        data_count=args.data_count, data_seed=args.data_seed, log_every=max(1, args.log_every),
        sample_every=max(0, args.sample_every), sample_steps=args.sample_steps,
        checkpoint_every=max(0, args.checkpoint_every))


def run_train(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings.steps < 1 or settings.batch_size < 1:
        raise ValueError("--steps and --batch-size must be at least 1")
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
                print(f"error: {event.message}", file=sys.stderr)
    return 1 if failed else 0


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
        self.tty = self.stream.isatty()
        self.open_line = False

    def _line(self, text: str, transient: bool = False) -> None:
        if self.tty and transient:
            self.stream.write("\r\033[K" + text)
            self.open_line = True
        else:
            if self.open_line:
                self.stream.write("\n")
            self.stream.write(text + "\n")
            self.open_line = False
        self.stream.flush()

    def show(self, event: TrainEvent) -> None:
        if isinstance(event, StartEvent):
            verb = "Resuming" if event.resumed else "Training"
            what = {"vae": "a VAE", "gan": "a GAN", "diffusion": "a diffusion model"}[event.family]
            self._line(f"{verb} {what} ({event.parameters:,} parameters) on {event.dataset}: "
                       f"{event.images:,} images, {event.device}, step {event.step} of {event.total_steps}")
            if event.skipped_count:
                self._line(f"Skipped {event.skipped_count} unreadable files, e.g. {event.skipped[0]}")
        elif isinstance(event, StepEvent):
            width = 24
            done = int(width * event.step / max(1, event.total_steps))
            losses = "  ".join(f"{k} {v:.4g}" for k, v in list(event.losses.items())[:3])
            self._line(f"step {event.step}/{event.total_steps} [{'#' * done}{'.' * (width - done)}] {losses}  "
                       f"{event.images_per_second:.0f} img/s  ETA {_clock(event.eta_seconds)}", transient=True)
        elif isinstance(event, CheckpointEvent):
            self._line(f"saved checkpoint at step {event.step}: {event.path}", transient=True)
        elif isinstance(event, SamplesEvent):
            self._line(f"samples at step {event.step}: {event.path}", transient=True)
        elif isinstance(event, PausedEvent):
            self._line(f"paused at step {event.step}")
        elif isinstance(event, WarningEvent):
            self._line(f"warning: {event.message}")
        elif isinstance(event, ErrorEvent):
            self._line(f"error: {event.message}")
        elif isinstance(event, DoneEvent):
            words = {"finished": "finished", "stopped": "stopped, checkpoint saved", "error": "ended with an error"}
            if event.reason != "error":
                self._line(f"Training {words[event.reason]} at step {event.step}.")
