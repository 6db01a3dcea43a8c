"""Which checkpoints the app opens at start: the shipped ones, else the newest of each family found on disk."""

from __future__ import annotations

import os
from pathlib import Path

from models.checkpoint import CheckpointError, read_metadata
from models.families import FAMILY_NAMES

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
MODELS_ENV = "LATENT_EXPLORER_MODELS"  # os.pathsep-separated checkpoints or folders; replaces the search


def default_runs_dir() -> Path:
    """Where the app's own training runs go (the Train tab), and where start-up looks for checkpoints."""
    return Path.home() / "LatentExplorer" / "runs"


def _candidates(place: Path) -> list[Path]:
    if place.is_file():
        return [place]
    if place.is_dir():
        return sorted(place.glob("*.safetensors")) + sorted(place.glob("*/model.safetensors"))
    return []


def _family(path: Path) -> str | None:
    try:
        family = read_metadata(path).get("family")
    except (CheckpointError, OSError):
        return None  # not a model of ours (or damaged): start-up skips it quietly; File → Open says why
    return family if family in FAMILY_NAMES else None


def startup_checkpoints(extra: list[str] | None = None) -> list[Path]:
    """One checkpoint per family: shipped in resources/ if there is one, else the newest found."""
    env = os.environ.get(MODELS_ENV)
    if env is not None:
        places = [Path(p) for p in env.split(os.pathsep) if p]
        shipped: list[Path] = []
    else:
        places = [default_runs_dir(), Path.cwd() / "runs"] + [Path(p) for p in extra or []]
        shipped = _candidates(RESOURCES)
    chosen: dict[str, Path] = {}
    for path in shipped:
        family = _family(path)
        if family and family not in chosen:
            chosen[family] = path
    newest: dict[str, tuple[float, Path]] = {}
    for place in places:
        for path in _candidates(place):
            family = _family(path)
            if family is None or family in chosen:
                continue
            mtime = path.stat().st_mtime
            if family not in newest or mtime > newest[family][0]:
                newest[family] = (mtime, path)
    chosen.update({family: path for family, (_, path) in newest.items()})
    return [chosen[f] for f in FAMILY_NAMES if f in chosen]
