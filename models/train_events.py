"""What a training run reports (events, one JSON object per line with --events) and how it is steered."""

from __future__ import annotations

import dataclasses
import threading
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
