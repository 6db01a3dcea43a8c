"""The latent map's job: the VAE's encodings of held-out faces, projected to 2-D.

The VAE's encoder turns each of a few thousand held-out Synthetic Faces into its posterior mean μ; a PCA of
those means gives the map's two axes, the two directions in which the encodings differ most. The result keeps
the PCA's mean and components, so the GUI can place any latent (the one Explore shows) on the same map with
one small matrix product. Encodings are cached per checkpoint file, so a map opens at once the second time.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from explorer.worker.inference_jobs import Control, ModelStore
from explorer.worker.requests import Request, Result, Step
from models.atomic_file import atomic_write_bytes
from models.cache import cached_path, read_cached, write_cached
from models.data import HELD_OUT_SEED, synthetic_faces
from models.face_renderer import RENDERER_VERSION
from models.family import families, family_of
from models.progress import Progress

MAP_FACES = 2000  # enough for the cloud's shape to show, few enough to encode in seconds on a CPU
MAP_BATCH = 100  # faces per encoder pass: a progress step (and a chance to stop) every batch
MAP_VERSION = 2  # bump when what the cache holds changes; 2: keyed on the checkpoint file (models.cache)


@dataclass(frozen=True)
class MapLatents(Request):
    """Encode the first `faces` held-out faces with a VAE and project them to 2-D."""
    model: str  # a VAE's key
    faces: int = MAP_FACES
    slot_by = "model"  # one map per VAE: computing one must not cancel another's


@dataclass(frozen=True)
class LatentMap(Result):
    """Row i of `coords`, `attributes` and `thumbnails` is held-out face i (Endpoint("face", i))."""
    model: str = ""
    coords: np.ndarray | None = None  # float32 (N, 2)
    attributes: np.ndarray | None = None  # float32 (N, A): the faces' true properties
    attribute_names: tuple[str, ...] = ()
    mean: np.ndarray | None = None  # float32 (D,): the encodings' mean
    components: np.ndarray | None = None  # float32 (2, D): orthonormal rows, the map's x and y axes
    explained: tuple[float, float] = (0.0, 0.0)  # share of the encodings' variance along each axis, 0..1
    thumbnails: np.ndarray | None = None  # uint8 (N, S, S, 3): the faces at the VAE's size
    stopped: bool = False  # Stop came before every face was encoded: the map has fewer faces

    def project(self, latent: np.ndarray) -> np.ndarray:
        """A latent (D,) -> its place on the map (2,); (N, D) -> (N, 2)."""
        z = np.asarray(latent, dtype=np.float32)
        flat = z.reshape(-1, self.mean.size)
        xy = (flat - self.mean) @ self.components.T
        return xy[0] if z.ndim == 1 else xy


def mapping_families() -> str:
    """The families whose encoder can place a face on the map, in words: "VAE", "VAE or Toy"."""
    return " or ".join(f.title for f in families() if f.has_encoder) or "model with an encoder"


def fit_pca(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """latents (N, D) -> mean (D,), components (2, D) and each axis's share of the variance.

    Each component's sign is fixed (its largest loading is positive), so the same encodings always give the
    same picture rather than one mirrored at random by the SVD.
    """
    x = np.asarray(latents, dtype=np.float64)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    components = np.zeros((2, x.shape[1]))
    k = min(2, vt.shape[0])
    components[:k] = vt[:k]
    for row in components[:k]:
        row *= np.sign(row[np.argmax(np.abs(row))])
    total = float((s ** 2).sum())
    shares = [float(v) / total if total > 0 else 0.0 for v in (s[:2] ** 2)] + [0.0, 0.0]
    return mean.astype(np.float32), components.astype(np.float32), (shares[0], shares[1])


def _read_encodings(path, count: int) -> np.ndarray | None:
    """The cached encodings (N, D), or None when they are not `count` faces' (then they are simply recomputed)."""
    with np.load(path, allow_pickle=False) as z:
        mu = np.asarray(z["mu"], dtype=np.float32)
    return mu if mu.ndim == 2 and mu.shape[0] == count else None


def _write_encodings(path, mu: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mu=mu)
    atomic_write_bytes(path, buffer.getvalue())


def map_latents(store: ModelStore, req: MapLatents, control: Control) -> Iterator[Result]:
    start = time.perf_counter()
    entry = store.get(req.model)
    model = entry.model
    if not family_of(model).has_encoder:
        raise LookupError(f"Only a model with an encoder can place faces on a map, and {family_of(model).noun} has "
                          f"none; choose a {mapping_families()}.")
    count = int(req.faces)
    yield Step(req.id, req.slot, progress=Progress(0, count, "Drawing the data-set faces…"))
    faces = synthetic_faces(count, model.image_size, HELD_OUT_SEED)
    digest = entry.file_digest()  # None: the file is not the one loaded any more, and nothing is cached
    path = None if digest is None else cached_path("latent-map", MAP_VERSION, digest, ".npz", f"r{RENDERER_VERSION}",
                                                   f"n{count}")
    mu = None if path is None else read_cached(path, lambda p: _read_encodings(p, count))
    stopped = False
    if mu is None:
        parts: list[np.ndarray] = []
        for first in range(0, count, MAP_BATCH):
            if control.stop_requested():
                stopped = True
                break
            with torch.no_grad():
                x = faces.batch(range(first, min(first + MAP_BATCH, count))).to(model.device)
                parts.append(model.posterior(x)[0].cpu().numpy().astype(np.float32))
            done = first + len(parts[-1])
            yield Step(req.id, req.slot, progress=Progress(done, count, f"Encoding face {done:,} of {count:,}…"))
        if len(parts) == 0 or sum(len(p) for p in parts) < 3:
            raise LookupError("The map was stopped before enough faces were encoded to draw it.")
        mu = np.concatenate(parts)
        if not stopped and path is not None:
            write_cached(path, lambda p: _write_encodings(p, mu), "latent map")
    n = len(mu)
    mean, components, explained = fit_pca(mu)
    coords = ((mu - mean) @ components.T).astype(np.float32)
    thumbnails = faces.images[:n].permute(0, 2, 3, 1).contiguous().numpy()
    yield LatentMap(req.id, req.slot, seconds=time.perf_counter() - start, created=req.created, model=req.model,
                    coords=coords, attributes=faces.attributes[:n].numpy().copy(),
                    attribute_names=tuple(faces.attribute_names), mean=mean, components=components,
                    explained=explained, thumbnails=thumbnails, stopped=stopped)


JOBS: dict = {MapLatents: map_latents}
