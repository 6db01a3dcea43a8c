"""Data sets: Synthetic Faces (determinism, pool, cache) and image folders (formats, bad files)."""

import concurrent.futures
import concurrent.futures.process
import hashlib
import io
import json
import os
import sys
import threading
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from models import data
from models.data import (
    DataError,
    ImageSet,
    cache_dir,
    image_folder,
    load_dataset,
    load_image,
    synthetic_face,
    synthetic_faces,
)
from models.face_renderer import ATTRIBUTE_NAMES, RENDERER_VERSION


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(folder))
    return folder


def forbid_rendering(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("rendered instead of loading from the cache")
    monkeypatch.setattr(data, "render_range", fail)


# ---------------------------------------------------------------- Synthetic Faces

def test_synthetic_face_is_deterministic_and_varies():
    image, attributes = synthetic_face(3, 5, 32)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert attributes.shape == (len(ATTRIBUTE_NAMES),) and attributes.dtype == np.float32
    again, again_attributes = synthetic_face(3, 5, 32)
    np.testing.assert_array_equal(image, again)
    np.testing.assert_array_equal(attributes, again_attributes)
    assert not np.array_equal(image, synthetic_face(3, 6, 32)[0])
    assert not np.array_equal(image, synthetic_face(4, 5, 32)[0])


def test_data_set_holds_the_single_faces_whatever_the_count():
    small = synthetic_faces(5, 16, seed=2, cache=False)
    large = synthetic_faces(12, 16, seed=2, cache=False)
    assert torch.equal(small.images, large.images[:5])
    assert torch.equal(small.attributes, large.attributes[:5])
    for i in (0, 4, 11):
        image, attributes = synthetic_face(2, i, 16)
        np.testing.assert_array_equal(large.images[i].permute(1, 2, 0).numpy(), image)
        np.testing.assert_array_equal(large.attributes[i].numpy(), attributes)
    other_seed = synthetic_faces(5, 16, seed=3, cache=False)
    assert not torch.equal(small.images, other_seed.images)


def test_process_pool_gives_the_same_faces(monkeypatch):
    expected = synthetic_faces(23, 16, seed=4, cache=False, workers=1)
    contexts = []

    class SpyPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            contexts.append(kwargs.get("mp_context"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", SpyPool)
    monkeypatch.setattr(data, "IN_PROCESS_BELOW", 0)  # force the pool even for a few faces
    monkeypatch.setattr(data, "CHUNK", 5)
    calls = []
    pooled = synthetic_faces(23, 16, seed=4, cache=False, workers=2, progress=lambda d, t: calls.append((d, t)))
    assert len(contexts) == 1 and contexts[0].get_start_method() == "spawn"
    assert torch.equal(pooled.images, expected.images)
    assert torch.equal(pooled.attributes, expected.attributes)
    assert len(calls) == 5 and calls[-1] == (23, 23)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and {t for _, t in calls} == {23}


def test_a_broken_pool_falls_back_to_drawing_in_process(monkeypatch):
    class BrokenPool(concurrent.futures.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            raise concurrent.futures.process.BrokenProcessPool("a worker died")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", BrokenPool)
    monkeypatch.setattr(data, "IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(data, "CHUNK", 4)
    with pytest.warns(RuntimeWarning, match="drawn here"):
        faces = synthetic_faces(10, 16, seed=6, cache=False, workers=2)
    assert torch.equal(faces.images, synthetic_faces(10, 16, seed=6, cache=False, workers=1).images)


def test_numpy_integers_are_accepted():
    faces = synthetic_faces(np.int64(3), np.int32(16), np.int64(2), cache=False)
    assert faces.images.shape == (3, 3, 16, 16) and faces.describe()["seed"] == 2
    assert json.dumps(faces.describe())


def test_items_batches_and_description():
    faces = synthetic_faces(6, 32, seed=1, cache=False)
    assert isinstance(faces, ImageSet) and isinstance(faces, torch.utils.data.Dataset)
    assert len(faces) == 6 and faces.image_size == 32 and faces.skipped == []
    assert faces.attribute_names == ATTRIBUTE_NAMES
    assert faces.images.dtype == torch.uint8 and faces.images.shape == (6, 3, 32, 32)
    image, attributes = faces[2]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert image.min() >= -1 and image.max() <= 1 and image.min() < -0.5 and image.max() > 0.5
    assert attributes.dtype == torch.float32 and attributes.shape == (len(ATTRIBUTE_NAMES),)
    batch = faces.batch(torch.tensor([2, 0, 5]))
    assert batch.shape == (3, 3, 32, 32) and batch.dtype == torch.float32
    assert torch.equal(batch, torch.stack([faces[i][0] for i in (2, 0, 5)]))
    assert torch.equal(faces[0][0], faces.images[0].float() / 127.5 - 1)
    assert faces.name == "Synthetic Faces (seed 1, 6 faces, 32 px)"
    assert synthetic_faces(2, 16, seed=0, cache=False).name.startswith("Synthetic Faces (seed 0, 2 faces")
    description = json.loads(json.dumps(faces.describe()))
    assert description["kind"] == "synthetic-faces" and description["seed"] == 1
    assert description["count"] == 6 and description["image_size"] == 32
    assert description["renderer_version"] == RENDERER_VERSION


@pytest.mark.parametrize("size", [16, 32, 64, 128, 256])
def test_sizes(size):
    faces = synthetic_faces(2, size, cache=False)
    assert faces.images.shape == (2, 3, size, size) and faces[1][0].shape == (3, size, size)


@pytest.mark.parametrize("arguments", [dict(size=8), dict(size=300), dict(size=64.0), dict(count=0),
                                       dict(seed=-1)])
def test_bad_arguments_raise_data_error(arguments):
    with pytest.raises(DataError) as error:
        synthetic_faces(**{"count": 2, "size": 16, "cache": False, **arguments})
    assert str(error.value).endswith(".") and "\n" not in str(error.value)


def test_second_call_loads_from_the_cache(private_cache, monkeypatch):
    first = synthetic_faces(10, 16, seed=1)
    files = list(private_cache.iterdir())
    assert [f.name for f in files] == [f"synthetic-faces-r{RENDERER_VERSION}-seed1-n10-16px.npz"]
    forbid_rendering(monkeypatch)
    calls = []
    second = synthetic_faces(10, 16, seed=1, progress=lambda d, t: calls.append((d, t)))
    assert torch.equal(first.images, second.images) and torch.equal(first.attributes, second.attributes)
    assert calls == [(10, 10)]
    with pytest.raises(AssertionError):  # another count is another data set: not in the cache
        synthetic_faces(11, 16, seed=1)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other key"])
def test_a_damaged_cache_file_is_rebuilt(private_cache, monkeypatch, damage):
    reference = synthetic_faces(6, 16, seed=2, cache=False)
    path = private_cache / f"synthetic-faces-r{RENDERER_VERSION}-seed2-n6-16px.npz"
    if damage == "garbage":
        private_cache.mkdir()
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        synthetic_faces(6, 16, seed=2)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # a valid file whose contents belong to another data set
        synthetic_faces(6, 16, seed=3)
        (private_cache / f"synthetic-faces-r{RENDERER_VERSION}-seed3-n6-16px.npz").rename(path)
    rebuilt = synthetic_faces(6, 16, seed=2)
    assert torch.equal(rebuilt.images, reference.images)
    forbid_rendering(monkeypatch)  # and the repaired file is good now
    assert torch.equal(synthetic_faces(6, 16, seed=2).images, reference.images)
    assert not [p for p in private_cache.iterdir() if p.suffix == ".tmp"]


def test_an_unwritable_cache_folder_still_gives_the_faces(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="cache"):
        faces = synthetic_faces(4, 16, seed=0)
    assert torch.equal(faces.images, synthetic_faces(4, 16, seed=0, cache=False).images)


def test_cache_dir_follows_the_platform(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("LATENT_EXPLORER_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "latent-explorer"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache_dir() == tmp_path / ".cache" / "latent-explorer"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_dir() == tmp_path / "Library" / "Caches" / "latent-explorer"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert cache_dir() == tmp_path / "local" / "latent-explorer"


# ---------------------------------------------------------------- image folders

def try_symlink(target, link) -> bool:
    """Make a symbolic link if this system allows it (Windows often does not)."""
    try:
        os.symlink(target, link)
        return True
    except (OSError, NotImplementedError):
        return False


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def half_bright(width=40, height=20) -> Image.Image:
    """Left half white, right half black."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = 255
    return Image.fromarray(pixels)


@pytest.fixture
def holiday(tmp_path):
    """A folder with good images in many formats, bad files, a subfolder, other files and a link loop."""
    root = tmp_path / "holiday"
    (root / "sub").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    half_bright().save(root / "good.jpg", quality=95, exif=exif)
    Image.new("L", (30, 24), 100).save(root / "grey.png")
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[:, :10] = (255, 0, 0, 255)  # left half opaque red, right half fully transparent
    Image.fromarray(rgba, "RGBA").save(root / "rgba.png")
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    palette.paste(1, (0, 10, 20, 20))  # bottom half index 1 = transparent
    palette.save(root / "palette.png", transparency=1)
    Image.fromarray(np.full((20, 20), 32768, np.uint16)).save(root / "deep.png")  # 16-bit grey
    Image.new("RGB", (16, 16), (10, 200, 30)).save(root / "sub" / "nested.PNG")  # upper-case extension
    Image.new("RGB", (16, 16), (10, 200, 30)).save(root / "sub" / "deeper.webp", lossless=True)
    Image.new("RGB", (16, 16), (10, 200, 30)).save(root / "sub" / "old.bmp")
    jpeg = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(jpeg, "JPEG")
    (root / "bad.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 3])
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("this is not a picture\n")
    (root / "notes.txt").write_text("ignored")
    (root / "meta.json").write_text("{}")
    try_symlink("..", root / "sub" / "loop")  # holiday/sub/loop -> holiday
    return root


def snapshot(root):
    """Every entry under root with its content hash and modification time."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.isfile(path) \
                and not os.path.islink(path) else os.readlink(path) if os.path.islink(path) else "dir"
            state[os.path.relpath(path, root)] = (digest, st.st_mtime_ns, st.st_size)
    return state


def test_image_folder_loads_the_good_and_reports_the_bad(holiday):
    before = snapshot(holiday)
    calls = []
    photos = image_folder(holiday, 16, progress=lambda d, t: calls.append((d, t)))
    assert snapshot(holiday) == before  # nothing in the folder was touched
    assert len(photos) == 8  # good, grey, rgba, palette, deep, and 3 in sub (once, despite the loop)
    assert photos.images.shape == (8, 3, 16, 16) and photos.images.dtype == torch.uint8
    assert photos.attributes.shape == (8, 0) and photos.attribute_names == ()
    assert photos.name == "holiday" and photos.image_size == 16
    assert [name for name, _ in photos.skipped] == ["bad.jpg", "empty.png", "text.png"]
    reasons = dict(photos.skipped)
    assert reasons["text.png"] == "not an image" and reasons["empty.png"] == "empty file"
    assert "damaged" in reasons["bad.jpg"]
    assert calls[-1] == (11, 11)
    green = photos.images[-3:].float().mean(dim=(2, 3))  # sorted names: sub/deeper, sub/nested, sub/old
    assert torch.allclose(green, torch.tensor([10.0, 200.0, 30.0]).expand(3, 3), atol=2)
    image, attributes = photos[0]
    assert image.shape == (3, 16, 16) and attributes.shape == (0,)
    description = json.loads(json.dumps(photos.describe()))
    assert description["kind"] == "folder" and description["count"] == 8
    assert description["path"] == str(holiday.resolve())


def test_formats_are_converted_correctly(holiday):
    good = load_image(holiday / "good.jpg", 16).astype(float)
    # EXIF orientation 6 turns the bright left half into the top half.
    assert good[:8].mean() > good[8:].mean() + 150
    assert abs(good[:, :8].mean() - good[:, 8:].mean()) < 20
    np.testing.assert_allclose(load_image(holiday / "grey.png", 16), 100, atol=1)
    rgba = load_image(holiday / "rgba.png", 16)
    np.testing.assert_array_equal(rgba[:, :6], np.broadcast_to([255, 0, 0], (16, 6, 3)))
    np.testing.assert_array_equal(rgba[:, 10:], 255)  # transparent -> white
    palette = load_image(holiday / "palette.png", 16)
    np.testing.assert_array_equal(palette[:6], np.broadcast_to([0, 0, 255], (6, 16, 3)))
    np.testing.assert_array_equal(palette[10:], 255)
    np.testing.assert_allclose(load_image(holiday / "deep.png", 16), 128, atol=1)  # scaled, not clipped


@pytest.mark.parametrize("image, expected", [
    (Image.frombytes("I;16B", (8, 8), np.full(64, 65535, ">u2").tobytes()), 255),
    (Image.fromarray(np.full((8, 8), 32768, np.int32)), 128),
    (Image.fromarray(np.full((8, 8), 0.5, np.float32)), 128),
    (Image.new("1", (8, 8), 1), 255),
    (Image.new("CMYK", (8, 8), (0, 0, 0, 0)), 255),
    (Image.new("LA", (8, 8), (0, 0)), 255),
])
def test_load_image_from_pil_modes(image, expected):
    pixels = load_image(image, 8)
    assert pixels.shape == (8, 8, 3) and pixels.dtype == np.uint8
    np.testing.assert_allclose(pixels, expected, atol=1)


def test_load_image_from_bytes_path_and_pil(tmp_path):
    picture = half_bright(40, 40)
    (tmp_path / "p.png").write_bytes(png_bytes(picture))
    from_bytes = load_image(png_bytes(picture), 20)
    assert from_bytes.shape == (20, 20, 3) and from_bytes.dtype == np.uint8
    np.testing.assert_array_equal(load_image(tmp_path / "p.png", 20), from_bytes)
    np.testing.assert_array_equal(load_image(str(tmp_path / "p.png"), 20), from_bytes)
    np.testing.assert_array_equal(load_image(picture, 20), from_bytes)
    assert from_bytes[:, :8].min() > 240 and from_bytes[:, 12:].max() < 15
    # A large JPEG decodes at reduced scale (draft) and is still right.
    big = io.BytesIO()
    half_bright(3000, 2000).save(big, "JPEG")
    pixels = load_image(big.getvalue(), 16).astype(float)
    assert pixels[:, :6].mean() > 240 and pixels[:, 10:].mean() < 15


@pytest.mark.parametrize("source, reason", [(b"", "empty file"), (b"hello", "not an image")])
def test_unreadable_input_raises_data_error(source, reason):
    with pytest.raises(DataError) as error:
        load_image(source, 16)
    assert error.value.reason == reason and str(error.value).endswith(".")


def test_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_image(tmp_path / "nope.png", 16)


def test_big_images_load_and_only_giant_ones_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # scaled-down stand-in for Pillow's limit
    Image.new("RGB", (40, 40), (200, 0, 0)).save(tmp_path / "big.png")  # over the limit: only a warning
    Image.new("RGB", (50, 50), (0, 200, 0)).save(tmp_path / "giant.png")  # over twice the limit: an error
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bomb *warning* must not become an error
        np.testing.assert_array_equal(load_image(tmp_path / "big.png", 16)[0, 0], [200, 0, 0])
        photos = image_folder(tmp_path, 16)
    assert len(photos) == 1
    assert photos.skipped[0][0] == "giant.png" and "too large" in photos.skipped[0][1]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_a_file_without_permission_is_skipped(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "secret.png")
    os.chmod(tmp_path / "secret.png", 0)
    try:
        photos = image_folder(tmp_path, 16)
    finally:
        os.chmod(tmp_path / "secret.png", 0o644)
    assert photos.skipped == [("secret.png", "no permission to read it")]


def test_a_permission_error_is_reported_in_plain_words(tmp_path, monkeypatch):
    # Runs as root too: the file system refusal is simulated.
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "secret.png")

    def guarded_open(path, *args, **kwargs):
        if os.path.basename(path) == "secret.png":
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(data, "open", guarded_open, raising=False)
    photos = image_folder(tmp_path, 16)
    assert len(photos) == 1 and photos.skipped == [("secret.png", "no permission to read it")]


def test_folders_without_usable_images_raise_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    with pytest.raises(DataError, match="There are no images .* in 'empty'"):
        image_folder(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_text("text")
    (bad / "b.jpg").write_bytes(b"")
    with pytest.raises(DataError) as error:
        image_folder(bad)
    message = str(error.value)
    assert message == "No readable images in 'bad' (2 files skipped: a.png — not an image, b.jpg — empty file)."
    with pytest.raises(DataError, match="does not exist"):
        image_folder(tmp_path / "missing")
    with pytest.raises(DataError, match="not a folder"):
        image_folder(bad / "a.png")


def test_a_symlink_loop_is_visited_once(tmp_path):
    root = tmp_path / "loops"
    (root / "a" / "b").mkdir(parents=True)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(root / "a" / "b" / "x.png")
    if not try_symlink(root, root / "a" / "b" / "up"):  # absolute link to the top
        pytest.skip("this system cannot make symbolic links")
    os.symlink("../..", root / "a" / "b" / "up2")  # relative link to the top
    os.symlink("self.png", root / "self.png")  # a link to itself: cannot be opened
    result = []
    # In a thread, so that a walk that loops makes this test fail instead of hang.
    walker = threading.Thread(target=lambda: result.append(image_folder(root, 16)), daemon=True)
    walker.start()
    walker.join(timeout=20)
    assert not walker.is_alive(), "image_folder is stuck in a symlink loop"
    photos = result[0]
    assert len(photos) == 1
    assert [name for name, _ in photos.skipped] == ["self.png"]


def test_load_dataset_dispatches(holiday):
    faces = load_dataset("synthetic-faces", size=16, count=3, seed=5)
    assert faces.describe()["kind"] == "synthetic-faces" and len(faces) == 3
    assert torch.equal(faces.images, synthetic_faces(3, 16, 5, cache=False).images)
    photos = load_dataset(str(holiday), size=16)
    assert photos.describe()["kind"] == "folder" and len(photos) == 8
    with pytest.raises(DataError, match="neither a folder"):
        load_dataset("no-such-thing")
    with pytest.raises(DataError):
        load_dataset(str(holiday / "grey.png"))
