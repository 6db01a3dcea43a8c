"""The models a person can choose from — shipped ones, their own runs, recent files — and which open at start.

Reading a checkpoint's metadata is file input: the worker does it (`ScanCatalog`), never the GUI thread.
Every file is checked as load_checkpoint checks it, but for its weights' values (models.checkpoint.inspect_checkpoint:
regular files only, a capped header, an exact size, settings in range, weights of the right shapes). One that fails
is left out of the list and comes back as `Skipped` with the reason; start-up notes them in the status bar.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from explorer.worker.requests import (
    Catalogued,
    ReadRunRecord,
    Result,
    RunRecord,
    ScanCatalog,
    Step,
)
from models.checkpoint import (
    CheckpointError,
    inspect_checkpoint,
    model_label,
    read_metadata,
)
from models.family import family_names
from models.paths import look
from models.printable import printable
from models.progress import Progress
from models.safetensors_file import shown_name
from models.shipped import resources_dir

RESOURCES = resources_dir()
MODELS_ENV = "LATENT_EXPLORER_MODELS"  # os.pathsep-separated checkpoints or folders; replaces the search
SHIPPED, RUN, RECENT = "shipped", "run", "recent"
# Files of ours beside the checkpoints that are not models: a model's saved directions, the feature network.
COMPANION_SUFFIXES = (".analysis.safetensors",)
COMPANION_NAMES = ("feature_net.safetensors",)


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
        return printable(model_label(self.family, self.image_size, self.step))

    @property
    def date(self) -> str:
        return time.strftime("%d %b %Y %H:%M", time.localtime(self.created))


@dataclass(frozen=True)
class Skipped:
    """A candidate that is not a usable checkpoint, and why (one sentence that names it)."""
    path: str
    place: str  # the folder (or file) it was found through: a runs folder, the resources, a recent file
    reason: str


def _is_companion(path: Path) -> bool:
    return path.name.endswith(COMPANION_SUFFIXES) or path.name in COMPANION_NAMES


def _candidates(place: Path) -> list[Path]:
    """What a place offers: itself if it is not a folder, else its *.safetensors and */model.safetensors.

    Only names are listed here (no file is opened): whatever is not a regular checkpoint (a folder or a FIFO named
    like one) is refused by the reader, with its reason.
    """
    try:
        if not place.is_dir():
            return [place] if place.exists() or place.is_symlink() else []
        found = sorted(place.glob("*.safetensors")) + sorted(place.glob("*/model.safetensors"))
    except (OSError, ValueError):
        return []
    return [path for path in found if not _is_companion(path)]


def _created(meta: dict, path: Path) -> float:
    try:
        return datetime.fromisoformat(meta["created"]).timestamp()
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return path.stat().st_mtime


def check_entry(path: Path, kind: str) -> CatalogEntry:
    """The chooser's line for a checkpoint, or CheckpointError saying why it is not a usable one."""
    try:
        meta = inspect_checkpoint(path)
        return CatalogEntry(str(path.resolve()), kind, meta["family"], meta["image_size"], meta["step"],
                            _created(meta, path))
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - the file changed or vanished in between: a reason all the same
        raise CheckpointError(f"'{shown_name(path)}' cannot be read ({type(exc).__name__}).") from None


def read_entry(path: Path, kind: str) -> CatalogEntry | None:
    """The chooser's line for a checkpoint, or None if it is not a usable model of ours."""
    try:
        return check_entry(path, kind)
    except CheckpointError:
        return None


def candidates(recent: list[str] | tuple[str, ...] = ()) -> list[tuple[str, Path, Path]]:
    """(kind, path, place) of every file to look at: shipped models, runs, recent files (or only the MODELS_ENV
    ones); place is what it was found through."""
    env = os.environ.get(MODELS_ENV)
    if env is not None:
        places = [(RUN, Path(place)) for place in env.split(os.pathsep) if place]
    else:
        places = [(SHIPPED, RESOURCES)] + [(RUN, place) for place in runs_places()]
        places += [(RECENT, Path(place)) for place in recent]
    return [(kind, path, place) for kind, place in places for path in _candidates(place)]


def scan(recent: list[str] | tuple[str, ...] = ()) -> Iterator[CatalogEntry | Skipped | None]:
    """Check each candidate in turn: its entry, or Skipped with the reason; None for a file already looked at
    (a path is listed once, first kind wins)."""
    seen: set[str] = set()
    for kind, path, place in candidates(recent):
        key = os.path.abspath(path)
        if key in seen:
            yield None
            continue
        seen.add(key)
        try:
            entry = check_entry(path, kind)
        except CheckpointError as exc:
            yield Skipped(str(path), str(place if path != place else place.parent), str(exc))
            continue
        if entry.path != key and entry.path in seen:  # a link to a file already listed
            yield None
            continue
        seen.add(entry.path)
        yield entry


def catalog(recent: list[str] | tuple[str, ...] = ()) -> list[CatalogEntry]:
    """Every model found, read at once (for scripts and checks; the app reads them in the worker: scan_catalog)."""
    return [entry for entry in scan(recent) if isinstance(entry, CatalogEntry)]


def _shown_place(place: str) -> str:
    path, home = Path(place), Path.home()
    try:
        return printable("~/" + path.relative_to(home).as_posix())
    except ValueError:
        return printable(str(path))


MOST_SKIPPED_SHOWN = 20  # lines in the note's tooltip; a folder of thousands of bad files gives a count for the rest


def skipped_note(skipped: Sequence[Skipped]) -> str:
    """The status bar's note on the files left out ('' for none), short enough to fit beside the status bar's
    latency figures at 1024 px in presenter mode; where they are and why is in skipped_reasons (its tooltip)."""
    if not skipped:
        return ""
    what = "1 unusable file" if len(skipped) == 1 else f"{len(skipped):,} unusable files"
    return f"Skipped {what} (point here to see why)."


def skipped_reasons(skipped: Sequence[Skipped]) -> list[str]:
    """Where the files left out are, then one line per file (at most MOST_SKIPPED_SHOWN): why it is not a usable
    checkpoint, the file named as found in its place ('broken/model.safetensors' rather than 'model.safetensors').
    Plain text, escaped."""
    places = list(dict.fromkeys(_shown_place(s.place) for s in skipped))
    where = places[0] if len(places) == 1 else f"{', '.join(places[:-1])} and {places[-1]}"
    lines = [f"Not usable checkpoints, in {where}:"]
    for item in skipped[:MOST_SKIPPED_SHOWN]:
        try:
            shown = printable(Path(item.path).relative_to(item.place).as_posix())
        except ValueError:
            shown = ""
        reason = item.reason
        if shown and shown != "." and reason.startswith(f"'{shown_name(item.path)}'"):
            reason = f"'{shown}'" + reason[len(shown_name(item.path)) + 2:]
        lines.append(printable(reason))
    if len(skipped) > MOST_SKIPPED_SHOWN:
        lines.append(f"… and {len(skipped) - MOST_SKIPPED_SHOWN:,} more.")
    return lines


def family_rank(family: str) -> int:
    """Where a family stands in the app's lists (models.family.families()' order); one it does not know, last."""
    names = family_names()
    return names.index(family) if family in names else len(names)


def startup_choice(entries: list[CatalogEntry]) -> list[str]:
    """One checkpoint per family: a shipped one if there is one, else the newest run or recent file."""
    chosen: dict[str, CatalogEntry] = {}
    for entry in entries:
        old = chosen.get(entry.family)
        if old is None or (old.kind != SHIPPED and (entry.kind == SHIPPED or entry.created > old.created)):
            chosen[entry.family] = entry
    return [chosen[f].path for f in family_names() if f in chosen]


def startup_checkpoints(extra: list[str] | None = None) -> list[Path]:
    """What the app opens at start, worked out at once (for scripts and checks of an installed copy)."""
    return [Path(path) for path in startup_choice(catalog(extra or []))]


def scan_catalog(store, req: ScanCatalog, control) -> Iterator[Result]:
    """The worker's job: every entry and every file skipped, with a step after each file so that a slider drag is
    served between them."""
    entries: list[CatalogEntry] = []
    skipped: list[Skipped] = []
    for i, found in enumerate(scan(req.recent)):
        if isinstance(found, CatalogEntry):
            entries.append(found)
        elif isinstance(found, Skipped):
            skipped.append(found)
        yield Step(req.id, req.slot, progress=Progress(i + 1, 0, "Looking for models"))
    yield Catalogued(req.id, req.slot, created=req.created, entries=tuple(entries), skipped=tuple(skipped))


def read_run_record(store, req: ReadRunRecord, control) -> Iterator[Result]:
    """The worker's job: what a run folder records about its run, for resuming it (CheckpointError if nothing)."""
    folder = Path(req.folder)
    if not look(folder / "training_state.pt").is_file:  # a folder from a dialog or a form: never raises
        raise CheckpointError(f"'{printable(req.folder)}' holds no run to resume (no training_state.pt).")
    meta = read_metadata(folder / "model.safetensors")
    training = meta.get("training")
    if not isinstance(training, dict) or training.get("family") != meta["family"]:
        raise CheckpointError("'model.safetensors' does not record how its run was trained, so it cannot be resumed "
                              "here; continue it with `python main.py train --resume`.")
    yield RunRecord(req.id, req.slot, created=req.created, folder=req.folder, family=meta["family"],
                    step=int(meta.get("step", 0)), training=training)


JOBS = {ScanCatalog: scan_catalog, ReadRunRecord: read_run_record}


# ------------------------------------------------------------------------------------ names on the command line
def shipped_models() -> dict[str, Path]:
    """The shipped models by name (resources/NAME.safetensors), in the families' order."""
    entries = [entry for path in _candidates(RESOURCES) if (entry := read_entry(path, SHIPPED))]
    entries.sort(key=lambda e: (family_rank(e.family), Path(e.path).stem))
    return {Path(entry.path).stem: Path(entry.path) for entry in entries}


def shipped_names() -> dict[str, Path]:
    """The shipped models by name from the file names alone (resources/NAME.safetensors, companions left out), in the
    families' order where a name is a family's: no file is opened, so the GUI thread may ask (shipped_models reads
    each header and builds its model, 50-100 ms a file). Whether one is a usable checkpoint, the reader says."""
    try:
        found = [p for p in RESOURCES.glob("*.safetensors") if not _is_companion(p)]
    except (OSError, ValueError):
        return {}
    found.sort(key=lambda p: (family_rank(p.stem), p.stem))
    return {path.stem: path.resolve() for path in found}


def resolve_checkpoint(text: str) -> Path:
    """A checkpoint named on the command line: a file, or else the name of a shipped model ('vae')."""
    path = Path(text)
    found = look(text)  # never raises: a 300-character name made pathlib's exists() raise OSError here
    if found.unusable:
        raise CheckpointError(f"'{printable(text, 200)}' cannot name a checkpoint: {found.why}.")
    if found.exists or os.sep in text or "/" in text or not text:
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
