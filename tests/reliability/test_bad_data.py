"""A folder of bad image files: every one is skipped and reported, by the models, the CLI and the app; nothing
crashes or hangs, and the good pictures (a 10,000 x 10,000 one among them) are used.

The folder holds a corrupt JPEG, zero-byte files, a text file named .png, a 10,000 x 10,000 PNG, a symbolic
link loop, a link to itself, a dangling link, a named pipe called .png, and an unreadable file and folder
(made unreadable with chmod, or, when the tests run as root, who can read anything, refused by a stand-in
for open() and os.scandir()).
"""

from __future__ import annotations

import errno
import json
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from explorer.cli import main as cli
from explorer.cli import train as cli_train
from models import data
from models.data import image_folder

HUGE = 10_000
GOOD = ["good.jpg", "good.png", "huge.png", "sub/nested.png"]
SKIPPED = {  # name -> words of the reason
    "corrupt.jpg": "damaged or incomplete image",
    "dangling.png": "the file does not exist",
    "locked/": "the folder could not be opened",
    "pipe.png": "not a regular file",
    "secret.png": "no permission to read it",
    "self.png": "its symbolic links go round in a loop",
    "text.png": "not an image",
    "zero.jpg": "empty file",
    "zero.png": "empty file",
}
HUGE_COLOUR = (200, 40, 40)


def write_huge_png(path: Path, side: int = HUGE) -> None:
    """A side x side RGB PNG of one colour, written row by row (Pillow would first hold 300 MB of pixels)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + bytes(HUGE_COLOUR) * side  # filter type 0, then the pixels
    packer = zlib.compressobj(1)
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    (root / "sub").mkdir()
    (root / "locked").mkdir()
    Image.new("RGB", (40, 30), (20, 120, 220)).save(root / "good.png")
    Image.new("RGB", (64, 48), (220, 200, 20)).save(root / "good.jpg", quality=95)
    Image.new("RGB", (20, 20), (10, 200, 30)).save(root / "sub" / "nested.png")
    Image.new("RGB", (20, 20)).save(root / "locked" / "hidden-away.png")
    Image.new("RGB", (20, 20)).save(root / "secret.png")
    write_huge_png(root / "huge.png")
    jpeg = root / "corrupt.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(jpeg)
    jpeg.write_bytes(jpeg.read_bytes()[:1500])  # cut off in the middle of its pixels
    (root / "zero.png").write_bytes(b"")
    (root / "zero.jpg").write_bytes(b"")
    (root / "text.png").write_text("this is a shopping list, not a picture\n")
    try:
        os.symlink("..", root / "sub" / "loop")  # sub/loop -> the folder itself: a walk that follows it loops
        os.symlink("self.png", root / "self.png")
        os.symlink("nowhere.png", root / "dangling.png")
        os.mkfifo(root / "pipe.png")  # open() on it waits for a writer forever
    except (OSError, AttributeError, NotImplementedError):
        pytest.skip("this system cannot make symbolic links or named pipes")
    return root


@pytest.fixture
def unreadable(photos, monkeypatch):
    """secret.png and locked/ cannot be read."""
    secret, locked = photos / "secret.png", photos / "locked"
    if os.geteuid() != 0:
        os.chmod(secret, 0)
        os.chmod(locked, 0)
        yield
        os.chmod(secret, 0o644)
        os.chmod(locked, 0o755)
        return
    real_open, real_scandir = open, os.scandir

    def refuse(path, forbidden):
        if os.path.abspath(path) == str(forbidden):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def guarded_open(path, *args, **kwargs):
        refuse(path, secret)
        return real_open(path, *args, **kwargs)

    def guarded_scandir(path="."):
        refuse(path, locked)
        return real_scandir(path)

    monkeypatch.setattr(data, "open", guarded_open, raising=False)
    monkeypatch.setattr(os, "scandir", guarded_scandir)
    yield


def without_hanging(function, photos: Path, seconds: float = 60):
    """function()'s result; a read stuck on the pipe fails the test instead of hanging it."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with open(photos / "pipe.png", "wb"):  # release the stuck reader
            pass
        pytest.fail("reading the folder hung (on the named pipe?)")
    assert result, "the function raised; see the thread's traceback above"
    return result[0]


def test_the_loader_skips_and_reports_every_bad_file(photos, unreadable):
    images = without_hanging(lambda: image_folder(photos, 16), photos)
    assert len(images) == len(GOOD)  # each good picture once, though the link loop leads back to them
    assert dict(images.skipped) == SKIPPED
    assert images.describe()["skipped_count"] == len(SKIPPED)
    colours = images.images.float().mean(dim=(2, 3))
    huge = colours[GOOD.index("huge.png")]
    assert np.allclose(huge.numpy(), HUGE_COLOUR, atol=1), "the 10,000 x 10,000 picture is used, not skipped"


def test_the_cli_trains_on_the_good_files_and_lists_the_bad(photos, unreadable, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    args = ["train", "--model", "vae", "--data", str(photos), "--out", str(run), "--steps", "1", "--image-size",
            "16", "--channels", "8", "--batch-size", "4", "--sample-every", "0", "--events"]
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)  # only a main thread may
    code = without_hanging(lambda: cli.main(args), photos)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    events = [json.loads(line) for line in out.splitlines()]
    start = events[0]
    assert start["event"] == "start" and start["images"] == len(GOOD)
    assert start["skipped_count"] == len(SKIPPED)
    assert sorted(start["skipped"]) == sorted(f"{name}: {why}" for name, why in SKIPPED.items())
    assert events[-1] == {"event": "done", "step": 1, "reason": "finished"}
    assert (run / "model.safetensors").exists()


def test_the_train_tab_reports_the_folder_without_hanging(window, photos, unreadable):
    form = window.train.form
    without_hanging(lambda: form.set_folder(str(photos)), photos)
    text = form.folder_info.text()
    assert f"{len(SKIPPED)} skipped" in text, text
    assert form.preview.has_image(), "the good pictures are previewed"
    assert not window.train.form.problem(), "a run can start: the folder has good pictures"


@pytest.mark.parametrize("name", [n for n in SKIPPED if not n.endswith("/")])
def test_opening_a_bad_picture_in_explore_says_why(window, qtbot, photos, unreadable, name):
    qtbot.waitUntil(lambda: bool(window.context.current), timeout=30_000)
    window.select_tab("explore")
    window.open_path(str(photos / name))
    words = "the file is empty" if name.startswith("zero") else SKIPPED[name]  # the sentence, not the short reason
    if name == "self.png":  # a name the system refuses to look up: said at once in the status bar, nothing changes
        note = window.statusBar().currentMessage()
        assert note == f"{name} cannot be opened: {words}.", note
        assert not window.explore.message.text()
        return
    message = window.explore.message
    qtbot.waitUntil(lambda: "Could not bring in" in message.text(), timeout=20_000)
    assert f"'{name}'" in message.text() and words in message.text()
    assert "Something went wrong" not in message.text()


def test_a_huge_dropped_picture_is_decoded_off_the_gui_thread_and_brought_in(window, qtbot, photos, monkeypatch):
    gui = threading.current_thread()
    decoded_on_gui: list[str] = []
    real_load = ImageFile.ImageFile.load

    def watched_load(image):
        if threading.current_thread() is gui:
            decoded_on_gui.append(str(getattr(image, "filename", "")))
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", watched_load)
    qtbot.waitUntil(lambda: bool(window.context.current), timeout=30_000)
    window.select_tab("explore")
    window.open_path(str(photos / "huge.png"))
    assert not decoded_on_gui, "the window froze decoding the picture"
    qtbot.waitUntil(lambda: window.explore.encoded.isVisible(), timeout=60_000)
    assert window.explore.message.text() == ""
