"""The one thread that owns every model and runs all inference; the GUI only submits requests.

Latest wins: `submit` replaces any waiting request of the same slot, and a running job is closed as soon
as a newer request of its slot arrives. While a long job runs (diffusion, inversion, interpolation), waiting
Render requests are served between its steps, so Explore's sliders stay live during a long run.
Every failure becomes a Result with an error text; nothing raises into the GUI.
"""

from __future__ import annotations

import os
import threading

import torch
from PySide6.QtCore import QObject, QThread, Signal

from explorer.error_log import where_the_details_are
from explorer.worker import compare_jobs, latent_map_jobs, model_catalog, run_frames_jobs
from explorer.worker.inference_jobs import JOBS, ModelStore, error_text, is_expected
from explorer.worker.requests import AnalyseModel, ForwardNoise, Render, Request, Result, Step
from models.distributed import (
    describe_device,
    free_device_memory,
    memory_exhausted,
    resolve_device,
)

# Each job module maps its request types to generator functions.
ALL_JOBS = {**JOBS, **compare_jobs.JOBS, **latent_map_jobs.JOBS, **model_catalog.JOBS, **run_frames_jobs.JOBS}

# Three priorities. Interactive requests (what a person is dragging right now) run first and also between
# the steps of any longer job; background ones (studying a model for its sliders, which can take a minute)
# let every other request run between their steps; the rest run in order of arrival.
# A latent model's forward process (the Diffusion tab's t slider) is dragged too: it runs between a run's steps.
# Decoding a finished latent run's timeline pictures waits for anything else, except the step the timeline shows.
INTERACTIVE = (Render, ForwardNoise, run_frames_jobs.ShowRunFrame)
BACKGROUND = (AnalyseModel, compare_jobs.Measure, run_frames_jobs.DecodeRunFrames)


def priority_of(request: Request) -> int:
    return 0 if isinstance(request, INTERACTIVE) else 2 if isinstance(request, BACKGROUND) else 1


def inference_threads() -> int:
    """Intra-op threads for CPU inference: half the cores, at most 4.

    The other half is left for a training run beside the app: when threads outnumber free cores, OpenMP's
    spinning workers make every forward pass many times slower (measured on 2 busy cores: a 64 px VAE decode
    took 6 ms on 1 thread and 250 ms on 2). More than 4 threads do not speed up one small image anyway.
    """
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class _Superseded(Exception):
    pass


class InferenceWorker(QObject):
    result = Signal(object)  # a Result (final, or with .error)
    progress = Signal(object)  # a Step
    busy = Signal(bool)

    def __init__(self, device: str = "auto"):
        super().__init__()
        self._device_spec = device
        self._cv = threading.Condition()
        self._pending: dict[str, Request] = {}
        self._latest: dict[str, int] = {}
        self._stops: set[str] = set()
        self._quit = False
        self._current: Request | None = None
        self.store: ModelStore | None = None
        self.device_name = "starting…"
        self.thread = QThread()
        self.thread.setObjectName("inference")
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)

    # -------------------------------------------------------------- called from the GUI thread
    def start(self) -> None:
        self.thread.start()

    def submit(self, request: Request) -> int:
        with self._cv:
            self._pending[request.slot] = request
            self._latest[request.slot] = request.id
            self._stops.discard(request.slot)
            self._cv.notify()
        return request.id

    def stop(self, slot: str) -> None:
        """Ask the running or waiting request of a slot to finish now with what it has."""
        with self._cv:
            self._pending.pop(slot, None)
            self._stops.add(slot)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """End the thread promptly: a running job stops at its next step. True if it ended in time."""
        with self._cv:
            self._quit = True
            self._pending.clear()
            self._cv.notify()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    def is_idle(self) -> bool:
        with self._cv:
            return self._current is None and not self._pending

    # -------------------------------------------------------------- the worker thread
    def _run(self) -> None:
        try:
            if torch.get_num_threads() != inference_threads():
                torch.set_num_threads(inference_threads())
            device = resolve_device(self._device_spec)
            self.device_name = describe_device(device)
        except Exception as exc:  # noqa: BLE001 - a bad device falls back to the CPU, and says so
            device = torch.device("cpu")
            self.device_name = f"CPU ({exc})"
        self.store = ModelStore(device)
        while True:
            with self._cv:
                while not self._pending and not self._quit:
                    self._cv.wait()
                if self._quit:
                    return
                request = self._take()
                self._current = request
            self.busy.emit(True)
            self._execute(request)
            with self._cv:
                self._current = None
            self.busy.emit(not self.is_idle())

    def _take(self, below: int = 3) -> Request | None:
        """The next request (lock held) whose priority is below `below`: most urgent first, then oldest."""
        ready = [s for s, r in self._pending.items() if priority_of(r) < below]
        if not ready:
            return None
        slot = min(ready, key=lambda s: (priority_of(self._pending[s]), self._pending[s].id))
        return self._pending.pop(slot)

    def _is_stale(self, request: Request) -> bool:
        with self._cv:
            return self._quit or self._latest.get(request.slot, 0) > request.id

    def _stop_requested(self, slot: str) -> bool:
        with self._cv:
            return slot in self._stops or self._quit

    def _execute(self, request: Request) -> None:
        slot = request.slot
        control = _Control(self, slot)
        job = ALL_JOBS[type(request)](self.store, request, control)
        out_of_memory = False
        try:
            for item in job:
                if self._is_stale(request):
                    raise _Superseded
                if isinstance(item, Step):
                    self.progress.emit(item)
                    self._serve_between_steps(priority_of(request))
                else:
                    self.result.emit(item)
        except _Superseded:
            pass
        except Exception as exc:  # noqa: BLE001 - errors are results (contract 3)
            out_of_memory = memory_exhausted(exc) is not None
            text = error_text(exc)
            if not is_expected(exc):  # a bug: its traceback goes to the log, whose path the user sees
                text = f"{text.rstrip('.')}. {where_the_details_are(exc, f'while running {type(request).__name__}')}"
            if not self._is_stale(request):
                self.result.emit(Result(request.id, slot, error=text, created=request.created))
        finally:
            job.close()
            with self._cv:
                self._stops.discard(slot)
        if out_of_memory:  # here, once the failed job's tensors (held by its traceback) are gone
            free_device_memory()

    def _serve_between_steps(self, running: int) -> None:
        """Run waiting requests more urgent than the running job before its next step."""
        while True:
            with self._cv:
                request = None if self._quit else self._take(below=running)
            if request is None:
                return
            self._execute(request)


class _Control:
    def __init__(self, worker: InferenceWorker, slot: str):
        self._worker, self._slot = worker, slot

    def stop_requested(self) -> bool:
        return self._worker._stop_requested(self._slot)
