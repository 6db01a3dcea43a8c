"""What a training run reports (events, one JSON object per line with --events) and how it is steered.

`to_dict` writes an event as its JSON line; `event_from_dict` reads one back. A line comes from another process
(the Train tab reads a child's output), so reading it trusts nothing: each field must be there (unless it has a
default) and of its declared type, or the whole line is refused with a ValueError saying why in a sentence.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class TrainEvent:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **dataclasses.asdict(self)}


@dataclass
class StartEvent(TrainEvent):
    kind: ClassVar[str] = "start"
    family: str
    device: str
    dataset: str
    images: int
    skipped: list[str]  # "name: reason" for files of an image folder that could not be read (at most 20)
    skipped_count: int
    step: int  # the step the run starts from (0, or where a resumed run left off)
    total_steps: int
    parameters: int
    out: str
    world_size: int = 1
    resumed: bool = False
    checkpoint_step: int | None = None  # the step of the checkpoint in the folder as the run starts (None: none)
    warm_start: str | None = None  # what a new run took from --init-from, in words


@dataclass
class StepEvent(TrainEvent):
    kind: ClassVar[str] = "step"
    step: int
    total_steps: int
    losses: dict[str, float]
    images_per_second: float  # of the training steps alone, over the steps since the last report
    eta_seconds: float | None  # wall time left (sample grids and checkpoints included); None until measurable
    elapsed_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplesEvent(TrainEvent):
    kind: ClassVar[str] = "samples"
    step: int
    path: str  # a PNG grid of samples from the same fixed noise every time
    # Mean pairwise distance between the samples over the same figure for real training images: near 1 is
    # as varied as the data, near 0 means the samples are (almost) all the same face (a GAN's mode collapse).
    diversity: float | None = None


@dataclass
class CheckpointEvent(TrainEvent):
    kind: ClassVar[str] = "checkpoint"
    step: int
    path: str


@dataclass
class PausedEvent(TrainEvent):
    kind: ClassVar[str] = "paused"
    step: int


@dataclass
class ResumedEvent(TrainEvent):
    kind: ClassVar[str] = "resumed"
    step: int


@dataclass
class WarningEvent(TrainEvent):
    kind: ClassVar[str] = "warning"
    message: str


@dataclass
class ErrorEvent(TrainEvent):
    kind: ClassVar[str] = "error"
    message: str


@dataclass
class DoneEvent(TrainEvent):
    kind: ClassVar[str] = "done"
    step: int
    reason: str  # "finished", "stopped" or "error"


EVENT_CLASSES: tuple[type[TrainEvent], ...] = (StartEvent, StepEvent, SamplesEvent, CheckpointEvent, PausedEvent,
                                               ResumedEvent, WarningEvent, ErrorEvent, DoneEvent)
_BY_KIND = {cls.kind: cls for cls in EVENT_CLASSES}


MOST_EXACT = 2**53  # the largest whole number a double holds exactly: beyond it a count is not a count of anything


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value is of a field's declared type: int, float (an int will do), str, bool, None, Any,
    X | None, list[X], dict[str, X]. A bool is not a number here, though Python counts it as an int; a number is
    finite and no larger than a double holds exactly (a step of 10**30 would overflow the widgets that show it)."""
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MOST_EXACT
    if hint is float:  # finite: JSON from Python may say NaN or Infinity, which no figure of a run is
        return (isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MOST_EXACT
                if isinstance(value, int) else isinstance(value, float) and math.isfinite(value))
    if hint is str:
        return isinstance(value, str)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
    return False


def _as_declared(value: Any, hint: Any) -> Any:
    """A value that fits its field, with each int where a float is declared made that float (a JSON writer may
    write 2.0 as 2)."""
    floats = hint is float or (typing.get_origin(hint) in (typing.Union, types.UnionType)
                               and float in typing.get_args(hint))
    if floats and isinstance(value, int):
        return float(value)
    if typing.get_origin(hint) is dict and typing.get_args(hint)[1] is float:
        return {k: float(v) for k, v in value.items()}
    return value


class NotAnEvent(ValueError):
    """A line that is not a training event as this version writes them."""


def event_from_dict(data: Any) -> TrainEvent:
    """The event a JSON line describes ({"event": "step", ...}); NotAnEvent saying why if it is not one of ours
    or a field is missing or of the wrong type. Keys the event does not have are ignored (a newer run may say more)."""
    if not isinstance(data, dict):
        raise NotAnEvent("a training event is a JSON object")
    cls = _BY_KIND.get(data.get("event")) if isinstance(data.get("event"), str) else None
    if cls is None:
        raise NotAnEvent(f"{str(data.get('event'))[:40]!r} is not a training event")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise NotAnEvent(f"a {cls.kind} event has no '{f.name}'")
            continue
        if not _fits(data[f.name], hints[f.name]):
            raise NotAnEvent(f"a {cls.kind} event's '{f.name}' is not {_type_words(hints[f.name])}")
        values[f.name] = _as_declared(data[f.name], hints[f.name])
    return cls(**values)


def _type_words(hint: Any) -> str:
    words = {int: "a whole number", float: "a number", str: "text", bool: "true or false", type(None): "null"}
    if hint in words:
        return words[hint]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_words(arg) for arg in typing.get_args(hint))
    return {list: "a list", dict: "an object"}.get(origin, "of its kind")


class TrainControl:
    """Thread-safe requests to a running loop, which honours them between steps (never mid-step)."""

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; True once running (or stopping), False if the timeout passed first."""
        return self._running.wait(timeout)

    def handle_command(self, line: str) -> bool:
        """Apply a text command ("pause", "resume", "stop"); False if the line is not one."""
        action = {"pause": self.pause, "resume": self.resume, "stop": self.stop}.get(line.strip().lower())
        if action is None:
            return False
        action()
        return True
