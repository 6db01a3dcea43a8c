"""What every panel shares: the worker, the loaded models and their slider directions, the current model."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from explorer.worker.inference_worker import InferenceWorker
from explorer.worker.requests import (
    Analysed,
    AnalyseModel,
    Loaded,
    LoadModel,
    ModelInfo,
    Request,
    Result,
    Step,
)
from models.family import Family, find_family


class AppContext(QObject):
    models_changed = Signal()
    current_changed = Signal(str)  # model key ("" when none)
    analysis_ready = Signal(str)  # model key
    weights_replaced = Signal(str)  # model key: a reloaded checkpoint (a training run saved new weights)
    load_failed = Signal(str, str)  # path, message
    loaded = Signal(str, str)  # path as asked for, model key: a load that worked (after models_changed)
    result = Signal(object)  # every other Result, for the panels (each keeps the ids it asked for)
    progress = Signal(object)  # Steps of the panels' requests
    analysis_progress = Signal(str, object)  # model key, Step

    def __init__(self, worker: InferenceWorker):
        super().__init__()
        self.worker = worker
        self.models: dict[str, ModelInfo] = {}
        self.analyses: dict[str, Analysed] = {}
        self.current = ""
        self._loads: dict[int, str] = {}  # request id -> path
        self._analyses: dict[int, str] = {}
        self._select_after_load: set[str] = set()
        worker.result.connect(self._on_result)
        worker.progress.connect(self._on_progress)

    def submit(self, request: Request) -> int:
        return self.worker.submit(request)

    def load(self, path: str, select: bool = False, reload: bool = False) -> None:
        """Add a checkpoint; with reload, read it again if the file changed (weights_replaced follows)."""
        request = LoadModel(str(path), reload=reload)
        self._loads[request.id] = str(path)
        if select:
            self._select_after_load.add(str(path))
        self.submit(request)

    def set_current(self, key: str) -> None:
        if key != self.current and (key in self.models or key == ""):
            self.current = key
            self.current_changed.emit(key)

    def info(self, key: str | None = None) -> ModelInfo | None:
        return self.models.get(self.current if key is None else key)

    def of_family(self, family: str) -> ModelInfo | None:
        """The current model if it is of this family, else the first loaded one of it."""
        return self._first(lambda info: info.family == family)

    def first_model(self, where: Callable[[Family], bool]) -> ModelInfo | None:
        """The current model if its family is one `where` accepts, else the first loaded one whose family is (a
        panel that needs a capability, an encoder or stepwise decoding, asks for that rather than for a name)."""
        def fits(info: ModelInfo) -> bool:
            family = find_family(info.family)
            return family is not None and where(family)

        return self._first(fits)

    def _first(self, fits: Callable[[ModelInfo], bool]) -> ModelInfo | None:
        current = self.info()
        if current is not None and fits(current):
            return current
        return next((m for m in self.models.values() if fits(m)), None)

    def _on_result(self, result: Result) -> None:
        if result.request_id in self._loads:
            path = self._loads.pop(result.request_id)
            if result.error or not isinstance(result, Loaded):
                self.load_failed.emit(path, result.error or "The checkpoint could not be loaded.")
                return
            self._loaded(result.info, path)
            self.loaded.emit(path, result.info.key)
        elif result.request_id in self._analyses:
            key = self._analyses.pop(result.request_id)
            if isinstance(result, Analysed) and not result.error:
                self.analyses[key] = result
            else:
                self.analyses[key] = Analysed(result.request_id, result.slot, model=key,
                                              notes=(f"The sliders could not be prepared: {result.error}",))
            self.analysis_ready.emit(key)
        else:
            self.result.emit(result)

    def _loaded(self, info: ModelInfo, path: str) -> None:
        new = info.key not in self.models
        replaced = not new and self.models[info.key].label != info.label
        self.models[info.key] = info
        if replaced:
            self.models_changed.emit()
            self.weights_replaced.emit(info.key)
        if new:
            request = AnalyseModel(info.key)
            self._analyses[request.id] = info.key
            self.submit(request)
            self.models_changed.emit()
        if path in self._select_after_load or not self.current:
            self._select_after_load.discard(path)
            self.set_current(info.key)

    def _on_progress(self, step: Step) -> None:
        if step.request_id in self._analyses:
            self.analysis_progress.emit(self._analyses[step.request_id], step)
        else:
            self.progress.emit(step)
