"""Argument types of the command line: every number finite and within its range (models/setting_ranges.py), every
path a real one. A mistake is one argparse line that names the flag and the range (exit 2), before anything is
loaded, allocated or written."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from models.config_check import ConfigError, Number, Whole
from models.paths import expanded, look
from models.printable import shown_value
from models.setting_ranges import (
    data_count_problem,
    path_problem,
    run_folder_problem,
)


class UsageError(Exception):
    """A command's arguments cannot be used (found after parsing): one line on stderr, exit code 2."""

def whole(allowed: Whole | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number, in `allowed`'s range when given (else its range is checked later)."""
    words = allowed.words() if allowed else "a whole number"

    def parse(text: str) -> int:
        try:
            value = int(text)  # int() also refuses more than 4,300 digits
            return allowed.check("", value) if allowed else value
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"should be {words}, not {shown_value(text)}") from None

    return parse


def number(allowed: Number | None = None) -> Callable[[str], float]:
    """An argparse type: a finite number (no nan, no inf), in `allowed`'s range when given."""
    words = allowed.words().replace("a number", "a finite number", 1) if allowed else "a finite number"

    def parse(text: str) -> float:
        try:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return allowed.check("", value) if allowed else value
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"should be {words}, not {shown_value(text)}") from None

    return parse


def one_of(values: tuple[int, ...]) -> Callable[[str], int]:
    """An argparse type: one of a few whole numbers (argparse's own message for `abc` would not list them)."""
    words = ", ".join(f"{v}" for v in values[:-1]) + f" or {values[-1]}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value not in values:
            raise argparse.ArgumentTypeError(f"should be {words}, not {shown_value(text)}")
        return value

    return parse


def run_folder(text: str) -> str:
    """`train --out`: a folder of the person's own, not an existing file (run_folder_problem: the Train tab's rule
    and TrainSettings' too)."""
    problem = run_folder_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def data_source(text: str) -> str:
    """`train --data`: 'synthetic-faces' or a folder; whether the folder holds images is the data loader's word."""
    problem = path_problem(text, "'synthetic-faces' or a folder of images")
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def output_file(*suffixes: str) -> Callable[[str], str]:
    """An argparse type: a file to write, ending in one of `suffixes` (any when none), that is not a folder or
    some other thing that is not a regular file (a FIFO, a device)."""

    def parse(text: str) -> str:
        problem = path_problem(text, "a file to write")  # also a name too long for the system: no traceback
        path = Path(expanded(text))
        found = look(path)
        if problem is None and suffixes and path.suffix.lower() not in suffixes:
            problem = f"should end in {' or '.join(suffixes)}, not {shown_value(path.name)}"
        if problem is None and found.is_folder:
            problem = f"should name a file, but {shown_value(text)} is a folder"
        elif problem is None and found.exists and not found.is_file:
            problem = f"should name a regular file, but {shown_value(text)} is not one"
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return text

    return parse


def check_train_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """What one flag's type cannot see: the family's own ranges (its config's) and faces at this image size; then
    every setting as models.train checks it. Any problem is parser.error (one line, exit 2)."""
    from models.family import get_family
    from models.train import check_settings
    from models.train_settings import settings_from_values

    try:
        settings = settings_from_values(vars(args))
    except ValueError as exc:  # a flag of another family
        parser.error(str(exc))
    family = get_family(settings.family)
    for key, value in settings.model_options.items():
        option = family.option(key)
        allowed = family.option_range(option)
        try:
            allowed.check(key, value)
        except ConfigError:
            parser.error(f"argument {option.flag_name}: should be {allowed.words()} for {family.noun}, "
                         f"not {shown_value(value)}")
    problem = data_count_problem(args.data_count, args.image_size, args.data)
    if problem:
        parser.error(f"argument --data-count: {problem}")
    try:
        check_settings(settings)
    except ConfigError as exc:
        parser.error(str(exc))


CHECKPOINT_HELP = "a .safetensors file, or the name of a model shipped with the app (a wrong name lists them)"


def checkpoint_argument(text: str) -> str:
    """--checkpoint: a file, or a shipped model's name; one sentence naming the shipped ones if it is neither."""
    from explorer.worker.model_catalog import resolve_checkpoint
    from models.checkpoint import CheckpointError

    problem = path_problem(text, "a checkpoint file or a shipped model")  # a name too long: words, not OSError
    if problem:
        raise argparse.ArgumentTypeError(problem)
    try:
        return str(resolve_checkpoint(text))
    except CheckpointError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
