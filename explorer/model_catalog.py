"""The models a person can choose from — shipped ones, their own runs, recent files — and which open at start.

Reading a checkpoint's metadata is file input: the worker does it (`ScanCatalog`), never the GUI thread.
Only regular files are read; a damaged or foreign file is left out quietly (File → Open says why, if asked).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from explorer.worker_requests import Catalogued, Result, ScanCatalog, Step
from models.checkpoint import CheckpointError, model_label, read_metadata
from models.families import FAMILY_NAMES
from models.shipped import resources_dir

RESOURCES = resources_dir()
MODELS_ENV = "LATENT_EXPLORER_MODELS"  # os.pathsep-separated checkpoints or folders; replaces the search
SHIPPED, RUN, RECENT = "shipped", "run", "recent"


def default_runs_dir() -> Path:
    """Where the app's own training runs go (the Train tab), and where start-up looks for checkpoints."""
    return Path.home() / "LatentExplorer" / "runs"


def runs_places() -> list[Path]:
    """The folders whose runs the chooser lists: the app's own, and ./runs."""
    return [default_runs_dir(), Path.cwd() / "runs"]


@dataclass(frozen=True)
class CatalogEntry:
    path: str  # resolved
    kind: str  # SHIPPED, RUN or RECENT
    family: str
    image_size: int
    step: int
    created: float  # when it was saved, seconds since the epoch: from its metadata, else the file's time

    @property
    def label(self) -> str:
        return model_label(self.family, self.image_size, self.step)

    @property
    def date(self) -> str:
        return time.strftime("%d %b %Y %H:%M", time.localtime(self.created))


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # not a FIFO, a device or a folder: those could block a read
    except (OSError, ValueError):
        return False


def _candidates(place: Path) -> list[Path]:
    if _is_regular(place):
        return [place]
    try:
        if not place.is_dir():
            return []
        found = sorted(place.glob("*.safetensors")) + sorted(place.glob("*/model.safetensors"))
    except OSError:
        return []
    return [path for path in found if _is_regular(path)]


def _created(meta: dict, path: Path) -> float:
    try:
        return datetime.fromisoformat(meta["created"]).timestamp()
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return path.stat().st_mtime


def read_entry(path: Path, kind: str) -> CatalogEntry | None:
    """The chooser's line for a checkpoint, or None if it is not a readable model of ours."""
    try:
        meta = read_metadata(path)
        family, size, step = meta["family"], meta.get("image_size"), meta["step"]
        if family not in FAMILY_NAMES or not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return None
        return CatalogEntry(str(path.resolve()), kind, family, size, step, _created(meta, path))
    except Exception:  # noqa: BLE001 - any damage at all in a file we only list: leave it out
        return None


def candidates(recent: list[str] | tuple[str, ...] = ()) -> list[tuple[str, Path]]:
    """(kind, path) of every file to look at: shipped models, runs, recent files (or only the MODELS_ENV ones)."""
    env = os.environ.get(MODELS_ENV)
    if env is not None:
        return [(RUN, path) for place in env.split(os.pathsep) if place for path in _candidates(Path(place))]
    found = [(SHIPPED, path) for path in _candidates(RESOURCES)]
    found += [(RUN, path) for place in runs_places() for path in _candidates(place)]
    return found + [(RECENT, path) for place in recent for path in _candidates(Path(place))]


def scan(recent: list[str] | tuple[str, ...] = ()) -> Iterator[CatalogEntry | None]:
    """Read each candidate's metadata in turn (None for one left out); a path is listed once, first kind wins."""
    seen: set[str] = set()
    for kind, path in candidates(recent):
        entry = read_entry(path, kind)
        if entry is not None and entry.path in seen:
            entry = None
        if entry is not None:
            seen.add(entry.path)
        yield entry


def catalog(recent: list[str] | tuple[str, ...] = ()) -> list[CatalogEntry]:
    """Every model found, read at once (for scripts and checks; the app reads them in the worker: scan_catalog)."""
    return [entry for entry in scan(recent) if entry is not None]


def startup_choice(entries: list[CatalogEntry]) -> list[str]:
    """One checkpoint per family: a shipped one if there is one, else the newest run or recent file."""
    chosen: dict[str, CatalogEntry] = {}
    for entry in entries:
        old = chosen.get(entry.family)
        if old is None or (old.kind != SHIPPED and (entry.kind == SHIPPED or entry.created > old.created)):
            chosen[entry.family] = entry
    return [chosen[f].path for f in FAMILY_NAMES if f in chosen]


def startup_checkpoints(extra: list[str] | None = None) -> list[Path]:
    """What the app opens at start, worked out at once (for scripts and checks of an installed copy)."""
    return [Path(path) for path in startup_choice(catalog(extra or []))]


def scan_catalog(store, req: ScanCatalog, control) -> Iterator[Result]:
    """The worker's job: every entry, with a step after each file so that a slider drag is served between them."""
    entries: list[CatalogEntry] = []
    for i, entry in enumerate(scan(req.recent)):
        if entry is not None:
            entries.append(entry)
        yield Step(req.id, req.slot, done=i + 1, message="Looking for models")
    yield Catalogued(req.id, req.slot, created=req.created, entries=tuple(entries))


JOBS = {ScanCatalog: scan_catalog}


# ------------------------------------------------------------------------------------ names on the command line
def shipped_models() -> dict[str, Path]:
    """The shipped models by name (resources/NAME.safetensors), in the families' order."""
    entries = [entry for path in _candidates(RESOURCES) if (entry := read_entry(path, SHIPPED))]
    order = list(FAMILY_NAMES)
    entries.sort(key=lambda e: (order.index(e.family), Path(e.path).stem))
    return {Path(entry.path).stem: Path(entry.path) for entry in entries}


def resolve_checkpoint(text: str) -> Path:
    """A checkpoint named on the command line: a file, or else the name of a shipped model ('vae')."""
    path = Path(text)
    if path.exists() or os.sep in text or "/" in text or not text:
        return path  # a path: the checkpoint loader says what is wrong with it, if anything
    shipped = shipped_models()
    if text in shipped:
        return shipped[text]
    names = ", ".join(shipped) or "none are installed"
    raise CheckpointError(f"There is no checkpoint '{text}': give the path of a .safetensors file, or the name of "
                          f"a shipped model ({names}).")


def in_runs_folder(path: str) -> bool:
    """True for a run's checkpoint that the chooser finds by itself (RUNS/NAME/model.safetensors)."""
    places = {str(place.resolve()) for place in runs_places()}
    return str(Path(path).resolve().parent.parent) in places
