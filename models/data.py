"""Data sets: the procedural Synthetic Faces (rendered in parallel, cached on
disk) and folders of the user's own images, both held in memory as `ImageSet`.

Images are stored as uint8 (N, 3, H, W): a quarter of the memory of float32,
and a batch is converted to float in [-1, 1] only when it is asked for.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import io
import math
import multiprocessing
import numbers
import os
import pathlib
import stat
import sys
import warnings
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset

from .atomic_file import atomic_writer

# face_rng lives with the renderer so that worker processes need not import torch;
# it is re-exported here as part of this module's API.
from .face_renderer import ATTRIBUTE_NAMES, RENDERER_VERSION, face_rng, random_attributes, render_face, render_range
from .paths import REFUSALS, expanded, look
from .printable import printable

__all__ = ["DataError", "ImageSet", "cache_dir", "face_rng", "image_folder", "load_dataset",
           "find_images", "load_image", "synthetic_face", "synthetic_faces"]

MIN_SIZE, MAX_SIZE = 16, 256
# The Synthetic Faces seed of the faces the app shows, analyses and measures against; the models train on seed 0,
# so these faces were never seen in training.
HELD_OUT_SEED = 1
CHUNK = 250  # faces per worker task: big enough to amortise pickling, small enough for smooth progress
IN_PROCESS_BELOW = 500  # fewer faces than this render faster than a process pool starts
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
Progress = Callable[[int, int], None]


class DataError(ValueError):
    """A problem with the user's data; str() is one plain sentence, `reason` a short phrase."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class ImageSet(Dataset):
    """An in-memory data set of images (uint8) and their attributes (float32)."""

    def __init__(self, images: torch.Tensor, attributes: torch.Tensor,
                 attribute_names: tuple[str, ...], name: str, *,
                 skipped: list[tuple[str, str]] | None = None, info: dict | None = None):
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be uint8 (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
        if attributes.shape != (images.shape[0], len(attribute_names)):
            raise ValueError(f"attributes must be (N, {len(attribute_names)}), got {tuple(attributes.shape)}")
        self.images = images
        self.attributes = attributes.float()
        self.attribute_names = tuple(attribute_names)
        self.name = name
        self.skipped = list(skipped or [])
        self.image_size = int(images.shape[-1])
        self._info = dict(info or {})

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i) -> tuple[torch.Tensor, torch.Tensor]:
        """Image float32 (3, H, W) in [-1, 1] and attributes float32 (A,)."""
        return self.images[i].float().div_(127.5).sub_(1.0), self.attributes[i].clone()

    def batch(self, indices) -> torch.Tensor:
        """Images at `indices` as float32 (B, 3, H, W) in [-1, 1]."""
        # Index the small uint8 tensor first, then convert only the batch.
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.images[index].float().div_(127.5).sub_(1.0)

    def describe(self) -> dict:
        """JSON-able description of where the data came from (for checkpoint metadata)."""
        return {**self._info, "name": self.name, "count": len(self), "image_size": self.image_size,
                "attribute_names": list(self.attribute_names)}


# ---------------------------------------------------------------- Synthetic Faces

def synthetic_face(seed: int, index: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Face `index` of data set `seed`: image uint8 (size, size, 3), attributes float32 (A,)."""
    attributes = random_attributes(face_rng(seed, index))
    return np.asarray(render_face(attributes, size)), attributes


def synthetic_faces(count: int = 20000, size: int = 64, seed: int = 0, *, cache: bool = True,
                    workers: int | None = None, progress: Progress | None = None) -> ImageSet:
    """The Synthetic Faces data set: `count` faces of size x size pixels, loaded from the cache or drawn."""
    size = _check_size(size)
    if not _is_whole(count) or count < 1:
        raise DataError(f"The number of faces must be a whole number of 1 or more, not {count!r}.")
    if not _is_whole(seed) or seed < 0:
        raise DataError(f"The seed must be a whole number of 0 or more, not {seed!r}.")
    count, seed = int(count), int(seed)
    key = f"r{RENDERER_VERSION}-seed{seed}-n{count}-{size}px"
    path = cache_dir() / f"synthetic-faces-{key}.npz"
    arrays = _read_cache(path, key, count, size) if cache else None
    if arrays is None:
        arrays = _render(seed, count, size, workers, progress)
        if cache:
            _write_cache(path, key, *arrays)
    elif progress is not None:
        progress(count, count)
    images, attributes = arrays
    info = {"kind": "synthetic-faces", "seed": seed, "renderer_version": RENDERER_VERSION}
    return ImageSet(torch.from_numpy(images), torch.from_numpy(attributes), ATTRIBUTE_NAMES,
                    f"Synthetic Faces (seed {seed}, {count:,} faces, {size} px)", info=info)


def _render(seed: int, count: int, size: int, workers: int | None,
            progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    """Draw faces 0..count-1 in chunks, in parallel when worth it."""
    images = np.empty((count, 3, size, size), np.uint8)
    attributes = np.empty((count, len(ATTRIBUTE_NAMES)), np.float32)
    chunks = [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
    requested = (os.cpu_count() or 1) if workers is None else int(workers)
    workers = max(1, min(requested, len(chunks)))
    done = 0

    def store(start: int, chunk: tuple[np.ndarray, np.ndarray]) -> None:
        nonlocal done
        stop = start + len(chunk[0])
        images[start:stop], attributes[start:stop] = chunk
        done += stop - start
        if progress is not None:
            progress(done, count)  # may raise to cancel; the pool is then shut down

    pending = chunks
    if count >= IN_PROCESS_BELOW and workers > 1:
        finished = set()
        # Spawn, not fork: the app runs Qt threads, and forking a threaded process
        # can deadlock. Each face depends only on (seed, index), so the result is
        # the same for any number of workers or order of completion.
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = {pool.submit(render_range, seed, start, stop, size): start for start, stop in chunks}
            for future in concurrent.futures.as_completed(futures):
                store(futures[future], future.result())
                finished.add(futures[future])
        except (concurrent.futures.process.BrokenProcessPool, OSError):
            # E.g. a worker killed for memory, or a script without a __main__ guard.
            warnings.warn("The helper processes that draw the faces stopped unexpectedly, "
                          "so the remaining faces are drawn here, more slowly.", RuntimeWarning, stacklevel=3)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        pending = [chunk for chunk in chunks if chunk[0] not in finished]
    for start, stop in pending:
        store(start, render_range(seed, start, stop, size))
    return images, attributes


def cache_dir() -> pathlib.Path:
    """Folder for cached data sets: $LATENT_EXPLORER_CACHE, else the user's cache folder + latent-explorer."""
    override = os.environ.get("LATENT_EXPLORER_CACHE")
    if override:
        return pathlib.Path(override).expanduser()
    home = pathlib.Path.home()
    if sys.platform == "win32":
        base = pathlib.Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = pathlib.Path(xdg) if os.path.isabs(xdg) else home / ".cache"  # the XDG spec ignores relative paths
    return base / "latent-explorer"


def _read_cache(path: pathlib.Path, key: str, count: int, size: int):
    """The cached (images, attributes), or None when missing, damaged or not matching."""
    try:
        with np.load(path, allow_pickle=False) as z:
            stored_key, names = str(z["key"]), tuple(str(n) for n in z["attribute_names"])
            images, attributes = z["images"], z["attributes"]
    except Exception:  # missing, truncated, not a zip, wrong contents: the cache is only a cache
        return None
    if (stored_key != key or names != ATTRIBUTE_NAMES or images.dtype != np.uint8
            or images.shape != (count, 3, size, size) or attributes.dtype != np.float32
            or attributes.shape != (count, len(ATTRIBUTE_NAMES))):
        return None
    return images, attributes


def _write_cache(path: pathlib.Path, key: str, images: np.ndarray, attributes: np.ndarray) -> None:
    """Save atomically: a crash mid-write must never leave a half file under the real name."""
    try:
        with atomic_writer(path) as f:
            # Uncompressed: the flat cartoon colours would compress well, but
            # inflating ~250 MB would take longer than reading it.
            np.savez(f, key=np.array(key), attribute_names=np.array(ATTRIBUTE_NAMES),
                     images=images, attributes=attributes)
    except OSError as error:
        warnings.warn(f"Could not save the faces to the cache folder '{path.parent}' "
                      f"({error.strerror or error}), so they will be drawn again next time.",
                      RuntimeWarning, stacklevel=3)


def _is_whole(value) -> bool:
    """An int or NumPy integer, but not a bool or a float."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_size(size) -> int:
    if not _is_whole(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise DataError(f"The image size must be a whole number from {MIN_SIZE} to {MAX_SIZE} pixels, "
                        f"not {size!r}.")
    return int(size)


# ---------------------------------------------------------------- image folders

def load_dataset(spec: str, size: int = 64, count: int = 20000, seed: int = 0,
                 progress: Progress | None = None) -> ImageSet:
    """'synthetic-faces' or a folder path -> ImageSet; anything else raises DataError."""
    if str(spec).strip().lower() == "synthetic-faces":
        return synthetic_faces(count, size, seed, progress=progress)
    if os.path.isdir(spec):
        return image_folder(spec, size, progress=progress)
    raise DataError(f"'{spec}' is neither a folder of images nor 'synthetic-faces'.")


def image_folder(path: str | os.PathLike, size: int = 64, *, progress: Progress | None = None) -> ImageSet:
    """Every readable image under `path` (recursively), centre-cropped and resized to size x size."""
    size = _check_size(size)
    root = pathlib.Path(expanded(path))
    found = look(root)  # a folder given by a person: a name too long for the system is said in words, not raised
    if found.unusable:
        raise DataError(f"The folder '{printable(root, 200)}' cannot be used: {found.why}.")
    if not found.exists:
        raise DataError(f"The folder '{root}' does not exist.")
    if not found.is_folder:
        raise DataError(f"'{root}' is a file, not a folder of images.")
    files, skipped = find_images(root)
    images = np.empty((len(files), 3, size, size), np.uint8)
    n = 0
    for k, (name, file) in enumerate(files):
        try:
            images[n] = load_image(file, size).transpose(2, 0, 1)
            n += 1
        except DataError as error:
            skipped.append((name, error.reason))
        if progress is not None:
            progress(k + 1, len(files))
    skipped.sort()
    label = root.resolve().name or str(root)
    if n == 0:
        raise DataError(_no_images_message(label, skipped))
    info = {"kind": "folder", "path": str(root.resolve()), "skipped_count": len(skipped)}
    return ImageSet(torch.from_numpy(images[:n]), torch.zeros(n, 0), (), label, skipped=skipped, info=info)


def _no_images_message(label: str, skipped: list[tuple[str, str]]) -> str:
    """One sentence: why a folder gave no images, naming the first few bad files."""
    if not skipped:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        return f"There are no images ({kinds}) in '{label}'."
    listed = ", ".join(f"{name} — {reason}" for name, reason in skipped[:3])
    more = f", and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    files = "file" if len(skipped) == 1 else "files"
    return f"No readable images in '{label}' ({len(skipped)} {files} skipped: {listed}{more})."


def find_images(root: pathlib.Path) -> tuple[list[tuple[str, pathlib.Path]], list[tuple[str, str]]]:
    """Image files under root, sorted by relative name; plus folders that could not be opened."""
    found, skipped, seen = [], [], set()
    stack = [root]
    while stack:
        folder = stack.pop()
        relative = folder.relative_to(root).as_posix()
        try:
            st = folder.stat()
            # Directory symlinks are followed, but each real folder is visited once:
            # a link back to a parent would otherwise loop forever.
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError:
            skipped.append((relative + "/", "the folder could not be opened"))
            continue
        for entry in entries:
            if entry.name.startswith("."):  # hidden files, e.g. macOS "._photo.jpg" resource forks
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(pathlib.Path(entry.path))
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                file = pathlib.Path(entry.path)
                if _is_special(entry):  # a pipe named .png would block its reader forever
                    skipped.append((file.relative_to(root).as_posix(), "not a regular file"))
                else:
                    found.append((file.relative_to(root).as_posix(), file))
    found.sort()
    return found, skipped


def _is_special(entry: os.DirEntry) -> bool:
    """A pipe, socket or device (links followed); a broken or looping link is left for load_image to explain."""
    try:
        return not stat.S_ISREG(entry.stat().st_mode)
    except OSError:
        return False


def load_image(source: str | os.PathLike | bytes | Image.Image, size: int) -> np.ndarray:
    """A file path, encoded bytes or PIL image -> uint8 (size, size, 3), centre-cropped; DataError if unreadable."""
    if not _is_whole(size) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    size = int(size)
    if isinstance(source, Image.Image):
        label = "the image"
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = "the image data"
    else:
        label = f"'{pathlib.Path(source).name}'"
    try:
        # A picture of more pixels than Pillow's limit is still loaded (big photos
        # are normal); only beyond twice the limit does Pillow refuse it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if isinstance(source, Image.Image):
                return _to_array(source, size, own=False)
            if isinstance(source, (bytes, bytearray, memoryview)):
                if len(source) == 0:
                    raise DataError(f"Could not read {label}: it is empty.", "empty file")
                with Image.open(io.BytesIO(bytes(source))) as image:
                    return _to_array(image, size)
            if os.path.exists(source) and not os.path.isfile(source) and not os.path.isdir(source):
                raise DataError(f"Could not read {label}: it is not a regular file (a pipe or a device).",
                                "not a regular file")  # opening a pipe would wait forever for a writer
            with open(source, "rb") as f:  # read-only: the user's files are never touched
                if os.fstat(f.fileno()).st_size == 0:
                    raise DataError(f"Could not read {label}: the file is empty.", "empty file")
                with Image.open(f) as image:
                    return _to_array(image, size)
    except DataError:
        raise
    except Exception as error:  # decoders raise many types; every one means "cannot use this file"
        reason = _reason(error)
        raise DataError(f"Could not read {label}: {reason}.", reason) from error


def _reason(error: Exception) -> str:
    """A few plain words for why a file could not be loaded."""
    if isinstance(error, Image.DecompressionBombError):
        return f"too large (more than {2 * Image.MAX_IMAGE_PIXELS // 1_000_000} million pixels)"
    if isinstance(error, UnidentifiedImageError):
        return "not an image"
    if isinstance(error, PermissionError):
        return "no permission to read it"
    if isinstance(error, FileNotFoundError):
        return "the file does not exist"
    if isinstance(error, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(error, OSError) and error.errno in REFUSALS:  # a link loop, a name too long: said as everywhere
        return REFUSALS[error.errno]
    if isinstance(error, MemoryError):
        return "too large to fit in memory"
    return "damaged or incomplete image"


def _to_array(image: Image.Image, size: int, own: bool = True) -> np.ndarray:
    """Decode, orient, convert, centre-crop and resize one image -> uint8 (size, size, 3)."""
    # draft() changes how the image decodes: only do it to images we opened ourselves.
    if own and image.format == "JPEG" and min(image.size) > 2 * size:
        # Let the JPEG decoder scale by 1/2..1/8 while decoding: huge photos load
        # fast. Still ask for at least twice the target for a good final filter.
        w, h = image.size
        scale = 2 * size / min(w, h)
        image.draft(None, (math.ceil(w * scale), math.ceil(h * scale)))
    if image.getexif().get(0x0112, 1) != 1:  # 0x0112 = Orientation; transposing copies, so only when needed
        image = ImageOps.exif_transpose(image)
    image = _canonical_mode(image)
    w, h = image.size
    side = min(w, h)
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    # reducing_gap: huge images are first shrunk by a cheap box reduction to about
    # 2x the size, then Lanczos does the final, good-looking step.
    image = image.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)
    if image.mode == "RGBA":  # transparent parts become white, as most viewers show them
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        background.alpha_composite(image)
        image = background
    if image.mode == "F":
        grey = np.clip(np.round(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.array(image.convert("RGB"), np.uint8)


def _canonical_mode(image: Image.Image) -> Image.Image:
    """Convert to RGB, RGBA, L or F (0..255) so resizing is exact and 16-bit depth is scaled, not clipped."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.float32)
        # I;16 is 16-bit by definition; "I" (32-bit) is how some 16-bit files open,
        # so scale it as 16-bit when it uses more than 8 bits.
        if mode != "I" or values.max(initial=0) > 255:
            values = values / 257.0
        return Image.fromarray(np.clip(values, 0, 255).astype(np.float32), "F")
    if mode == "F":
        values = np.nan_to_num(np.asarray(image, np.float32))
        low, high = float(values.min(initial=0)), float(values.max(initial=0))
        if low >= 0 and high <= 1:  # float images usually mean 0..1
            values = values * 255
        elif low < 0 or high > 255:  # anything else: stretch to the full range
            values = (values - low) * (255 / max(high - low, 1e-12))
        return Image.fromarray(values.astype(np.float32), "F")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    if mode in ("RGB", "L"):
        return image
    return image.convert("RGB")  # 1, P, CMYK, YCbCr, ...
