"""Starting a new run from another checkpoint's weights (`train --init-from`): a VAE-GAN from the shipped VAE, whose
encoder and decoder it shares, or any model from an earlier run of the same shape.

Every tensor whose name and shape match is copied; the rest keep their fresh initial values. The source is a
checkpoint like any other: validated before anything is built from it. Its image size must be the run's: the
networks of another size have layers of the same names at other depths, and a copy of the few that happen to fit
would be a model no one asked for.
"""

from __future__ import annotations

import os

import torch

from models.checkpoint import CheckpointError, load_checkpoint
from models.family import noun_of
from models.paths import look
from models.printable import printable


def source_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be a warm start's source before it is opened (no file there, a folder, not a regular file),
    in words; None when it may be read. What is inside it is load_checkpoint's to judge."""
    found = look(path)
    name = printable(os.fspath(path), 200)
    if found.unusable:
        return f"'{name}' cannot name a checkpoint: {found.why}"
    if found.is_folder:
        return f"'{name}' is a folder, not a checkpoint file"
    if not found.exists:
        return f"there is no checkpoint at '{name}'"
    if not found.is_file:
        return f"'{name}' is not a regular file"
    return None


def _parts(keys) -> str:
    """'decoder, encoder' for the networks these weight names belong to."""
    return ", ".join(sorted({key.split(".", 1)[0] for key in keys}))


def warm_start(model: torch.nn.Module, path: str | os.PathLike) -> str:
    """Copy the matching weights of the checkpoint at `path` into `model`; what was taken, in words. CheckpointError
    when the file cannot be read, is of another image size, or shares no weight with the model."""
    name = printable(os.fspath(path), 120)
    problem = source_problem(path)
    if problem:
        raise CheckpointError(f"{problem[:1].upper()}{problem[1:]}, so the run cannot start from it.")
    source = load_checkpoint(path).model
    theirs_noun, ours_noun = noun_of(source.family), noun_of(model.family)
    if source.image_size != model.image_size:
        raise CheckpointError(f"'{name}' is {theirs_noun} of {source.image_size} px and this run trains "
                              f"{model.image_size} px faces: a warm start needs a checkpoint of the same image size.")
    theirs, ours = source.state_dict(), model.state_dict()
    named = [k for k in theirs if k in ours]
    taken = {k: theirs[k] for k in named if ours[k].shape == theirs[k].shape and ours[k].dtype == theirs[k].dtype}
    if not taken:
        raise CheckpointError(f"'{name}' ({theirs_noun}) shares no weights with {ours_noun}: no tensor has the same "
                              "name and shape, so it cannot start this run.")
    with torch.no_grad():
        for key, value in taken.items():
            ours[key].copy_(value)
    fresh = [k for k in ours if k not in taken]
    words = f"{len(taken)} of {len(ours)} weight tensors ({_parts(taken)}) from '{name}' ({theirs_noun})"
    if fresh:
        words += f"; the other {len(fresh)} ({_parts(fresh)}) start fresh"
    unfit = [k for k in named if k not in taken]
    if unfit:  # a setting changed since (a wider network, more latent numbers): say so, it is easily missed
        words += (f"; {len(unfit)} of them have a name of the source's but another shape "
                  f"(e.g. '{printable(unfit[0], 80)}')")
    return words
