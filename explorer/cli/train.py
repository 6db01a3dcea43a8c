"""`python main.py train`: runs models.train's loop and shows it as a progress bar or as JSON lines."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from explorer.cli.arguments import checkpoint_argument, data_source, number, one_of, run_folder, whole
from explorer.cli.train_child import emit_json, install_stop_signals, watch_stdin_commands
from models.config_check import Number, Whole
from models.family import Family, Option, families, family_names, noun_of
from models.printable import printable
from models.train import TrainControl, train
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
from models.train_settings import SETTINGS, Setting, family_options, settings_from_values


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """`train`'s flags, made from the one schema (models/train_settings.py) so that the command line, the Train
    tab's form and the command line that resumes a run cannot drift apart: the settings every family shares, then
    --events (the command line's alone), then every registered family's own options."""
    for setting in SETTINGS:
        parser.add_argument(setting.flag_name, **_setting_argument(setting))
    parser.add_argument("--events", action="store_true", help="print one JSON object per line instead of a progress bar")
    # Their ranges are each family's own (two families may share a flag), so they are checked once the family is
    # known, in check_train_arguments; here only that a value is a number, or one of the choices, at all.
    for option, owners in family_options().values():
        parser.add_argument(option.flag_name, **_option_argument(option, owners))


def _setting_argument(setting: Setting) -> dict[str, Any]:
    """argparse's keywords for one shared setting: its type from its range or choices, its default TrainSettings'
    (a setting without one is a required flag)."""
    concerned = [f for f in families() if setting.applies is None or setting.applies(f)]
    keywords: dict[str, Any] = {"help": _help(setting.help, concerned, every=setting.applies is None)}
    if setting.name == "family":
        return keywords | {"required": True, "choices": family_names()}
    if setting.required:
        keywords["required"] = True
    elif isinstance(setting.default, bool):
        return keywords | {"action": "store_true"}
    else:
        keywords["default"] = setting.default
    if setting.name in _PATH_TYPES:
        return keywords | {"type": _PATH_TYPES[setting.name]} | (
            {"metavar": _METAVARS[setting.name]} if setting.name in _METAVARS else {})
    if setting.choices:  # whole numbers through one_of: argparse's own message for 'abc' would not list them
        kind = one_of(setting.choices) if all(isinstance(c, int) for c in setting.choices) else str
        return keywords | {"type": kind, "choices": setting.choices}
    if isinstance(setting.allowed, Whole):
        return keywords | {"type": whole(setting.allowed)}
    if isinstance(setting.allowed, Number):
        return keywords | {"type": number(setting.allowed)}
    return keywords


def init_from_argument(text: str) -> str:
    """--init-from: a shipped model's name or a checkpoint file that is there (a missing one is a usage mistake, said
    before the run claims its folder; what is inside the file is the run's to judge)."""
    from models.warm_start import source_problem

    path = checkpoint_argument(text)
    problem = source_problem(path)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return path


_PATH_TYPES = {"data": data_source, "out": run_folder, "init_from": init_from_argument}
_METAVARS = {"init_from": "CHECKPOINT"}


def _option_argument(option: Option, owners: list[Family]) -> dict[str, Any]:
    """argparse's keywords for one family option: a number of any size, a choice offered by any of its families,
    or a switch; unused, it is None (False for a switch), which settings_from_values reads as not given."""
    words = _help(option.help, owners)
    kind = owners[0].option_kind(option)
    if kind == "switch":
        return {"action": "store_true", "help": words}
    if kind == "choice":
        offered = dict.fromkeys(c for family in owners for c in family.option_choices(option))
        return {"choices": tuple(offered), "default": None, "help": words}
    return {"type": whole() if kind == "whole" else number(), "default": None, "help": words}


def _help(text: str, owners: list[Family], every: bool = False) -> str:
    """A flag's help, led by the families it concerns unless it concerns them all ('VAE and GAN: ...'); a '%'
    stays a '%' (argparse would read it as a format)."""
    text = text.replace("%", "%%")
    if every or not owners:
        return text
    titles = [f.title for f in owners]
    return f"{', '.join(titles[:-1])} and {titles[-1]}: {text}" if len(titles) > 1 else f"{titles[0]}: {text}"


def run_train(args: argparse.Namespace) -> int:
    settings = settings_from_values(vars(args))  # every value within its range: explorer.cli.main.parse_command checked them
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
            what = noun_of(event.family)
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
