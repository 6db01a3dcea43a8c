"""The range of every model setting, and rebuilding a config from a plain dictionary (as stored in checkpoints).

A checkpoint's config is untrusted input that decides how much memory a model takes: every field is checked
against the range its family supports before anything is built, and a bad one is one sentence that names it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.printable import shown_value


class ConfigError(ValueError):
    """A config that does not describe a model this app can build; its text is one plain sentence."""


def is_whole(value: Any) -> bool:
    """An int of any size, but not a bool (True is an int to Python) and not a float like 3.0."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Whole:
    """A whole number in [low, high], optionally with a rule ("a power of two")."""

    low: int
    high: int
    rule: Callable[[int], bool] | None = None
    rule_words: str = ""

    def words(self) -> str:
        text = f"a whole number from {self.low:,} to {self.high:,}"
        return f"{text} that is {self.rule_words}" if self.rule else text

    def check(self, name: str, value: Any) -> int:
        if not is_whole(value) or not self.low <= value <= self.high or (self.rule and not self.rule(value)):
            raise ConfigError(f"setting '{name}' should be {self.words()}, not {shown_value(value)}")
        return value


@dataclass(frozen=True)
class Number:
    """A finite number in [low, high] (or [low, high) when high_open)."""

    low: float
    high: float
    high_open: bool = False

    def words(self) -> str:
        top = f"below {self.high:g}" if self.high_open else f"{self.high:g}"
        return f"a number from {self.low:g} to {top}"

    def check(self, name: str, value: Any) -> float:
        # An int is finite whatever its size (math.isfinite would raise OverflowError beyond a float's range).
        ok = is_whole(value) or (isinstance(value, float) and math.isfinite(value))
        if ok:
            ok = self.low <= value and (value < self.high if self.high_open else value <= self.high)
        if not ok:
            raise ConfigError(f"setting '{name}' should be {self.words()}, not {shown_value(value)}")
        return float(value)


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def words(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise ConfigError(f"setting '{name}' should be {self.words()}, not {shown_value(value)}")
        return value


@dataclass(frozen=True)
class Flag:
    def words(self) -> str:
        return "true or false"

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"setting '{name}' should be true or false, not {shown_value(value)}")
        return value


@dataclass(frozen=True)
class Wholes:
    """A list of min_count to max_count whole numbers, each in `each`'s range."""

    each: Whole
    min_count: int
    max_count: int

    def words(self) -> str:
        return f"a list of {self.min_count} to {self.max_count} whole numbers, each from {self.each.low:,} to " \
               f"{self.each.high:,}"

    def check(self, name: str, value: Any) -> tuple[int, ...]:
        ok = isinstance(value, (list, tuple)) and self.min_count <= len(value) <= self.max_count
        if not ok or not all(is_whole(v) and self.each.low <= v <= self.each.high for v in value):
            raise ConfigError(f"setting '{name}' should be {self.words()}, not {shown_value(value)}")
        return tuple(value)


def power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def group_norm_friendly(n: int) -> bool:
    """A channel count GroupNorm(min(8, n), n) accepts."""
    return n <= 8 or n % 8 == 0


# Shared by every family: the networks halve a 4 px start up to the image size; 256 px is the largest the data
# sets make (models.data.MAX_SIZE), 8 px the smallest a U-Net with two levels takes.
IMAGE_SIZE = Whole(8, 256, power_of_two, "a power of two")
LATENT_DIM = Whole(1, 1024)


def check_ranges(config: Any) -> None:
    """Check (and normalise: lists become tuples) every field named in type(config).RANGES, or ConfigError."""
    for name, allowed in type(config).RANGES.items():
        setattr(config, name, allowed.check(name, getattr(config, name)))


def config_from_dict(config_class: type, data: Any) -> Any:
    """Rebuild a config dataclass from a dictionary; every value is checked (type and range) by the class."""
    if not isinstance(data, dict):
        raise ConfigError("the model settings are not a dictionary")
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted((k for k in data if k not in fields), key=str)
    if unknown:
        raise ConfigError(f"unknown setting {shown_value(unknown[0])}")
    values = {name: tuple(v) if isinstance(v, list) else v for name, v in data.items()}
    try:
        return config_class(**values)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
