"""An exported PNG carries the app's state in a text chunk, and a dropped or opened PNG is anybody's file: a state
that is not one this app writes (wrong types, out of range, missing or extra fields, NaN, deep nesting, a huge
chunk, bytes that are not UTF-8) is one sentence in the window, and what was on screen stays. `python main.py x.png`
with such a picture starts and runs; a 41 MB chunk never stalls the window.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from explorer.pictures.png_state import STATE_KEY
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
ROOT = Path(__file__).resolve().parents[2]

WRONG = {"string": "twelve", "list": [1, 2], "dict": {"x": "y"}, "null": None, "bool": True, "huge": 10**30,
         "nan": math.nan, "inf": math.inf}
EXPLORE_FIELDS = [("format",), ("tab",), ("model",), ("model", "path"), ("model", "family"), ("model", "label"),
                  ("seed",), ("psi",), ("steps",), ("shape",), ("base",), ("amounts",), ("latent",)]
TEXT_FIELDS = {("model", "path"), ("model", "family"), ("model", "label")}  # a string is the right type there


# ---------------------------------------------------------------------------------------------------- pictures
def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_text(path: Path, text: bytes, kind: bytes = b"iTXt", compressed: bool = False,
                  keyword: str = STATE_KEY) -> Path:
    """A 16 x 16 PNG whose text chunk `keyword` (before the pixels, as the app writes it) holds `text`, as given."""
    plain = path.with_suffix(".plain.png")
    Image.new("RGB", (16, 16), (90, 60, 30)).save(plain)
    data = plain.read_bytes()
    plain.unlink()
    if kind == b"iTXt":
        body = (keyword.encode("latin-1") + b"\0" + (b"\1\0" if compressed else b"\0\0") + b"\0\0"
                + (zlib.compress(text, 9) if compressed else text))
    else:
        body = keyword.encode("latin-1") + b"\0" + text
    at = data.index(b"IDAT") - 4  # the pixels' chunk starts 4 bytes (its length) before its name
    path.write_bytes(data[:at] + _chunk(kind, body) + data[at:])
    return path


def state_png(path: Path, state) -> Path:
    """A picture whose state is `state`: a dict (written as JSON, NaN and Infinity as Python writes them), str or
    bytes as they are."""
    if isinstance(state, dict):
        state = json.dumps(state)
    return png_with_text(path, state.encode("utf-8") if isinstance(state, str) else state)


def with_value(state: dict, where: tuple[str, ...], value) -> dict:
    changed = copy.deepcopy(state)
    target = changed
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return changed


def without(state: dict, where: tuple[str, ...]) -> dict:
    changed = copy.deepcopy(state)
    target = changed
    for key in where[:-1]:
        target = target[key]
    del target[where[-1]]
    return changed


def floats(values) -> str:
    return base64.b64encode(np.asarray(values, "<f4").tobytes()).decode("ascii")


def bad_explore_states(good: dict) -> dict[str, object]:
    """Every kind of bad Explore state, made from a good one (as the app writes it) by changing one thing."""
    n = int(np.prod(good["shape"]))
    latent = np.frombuffer(base64.b64decode(good["latent"]), "<f4")
    cases: dict[str, object] = {}
    for where in EXPLORE_FIELDS:
        name = ".".join(where)
        for kind, value in WRONG.items():
            if not (kind == "string" and where in TEXT_FIELDS):
                cases[f"{name} is {kind}"] = with_value(good, where, value)
        cases[f"{name} is missing"] = without(good, where)
    cases |= {
        "an extra field": {**good, "colour": "red"},
        "an extra field in model": with_value(good, ("model", "colour"), "red"),
        "format 2": with_value(good, ("format",), 2),
        "format true": with_value(good, ("format",), True),
        "tab unknown": with_value(good, ("tab",), "train"),
        "seed -1": with_value(good, ("seed",), -1),
        "seed 2**31": with_value(good, ("seed",), 2**31),
        "seed 12.5": with_value(good, ("seed",), 12.5),
        "psi -0.1": with_value(good, ("psi",), -0.1),
        "psi 1.6": with_value(good, ("psi",), 1.6),
        "psi 1e308": with_value(good, ("psi",), 1e308),
        "steps 4": with_value(good, ("steps",), 4),
        "steps 201": with_value(good, ("steps",), 201),
        "steps 20.5": with_value(good, ("steps",), 20.5),
        "shape empty": with_value(good, ("shape",), []),
        "shape 0": with_value(good, ("shape",), [0]),
        "shape -8": with_value(good, ("shape",), [-n]),
        "shape of 2**40 numbers": with_value(good, ("shape",), [2**20, 2**20]),
        "shape of strings": with_value(good, ("shape",), [str(n)]),
        "latent one number short": with_value(good, ("latent",), floats(latent[:-1])),
        "latent one number long": with_value(good, ("latent",), floats([*latent, 0.0])),
        "latent not base64": with_value(good, ("latent",), "!!!!" * n),
        "latent with NaN": with_value(good, ("latent",), floats([math.nan, *latent[1:]])),
        "latent with Inf": with_value(good, ("latent",), floats([*latent[:-1], -math.inf])),
        "latent of 1e30": with_value(good, ("latent",), floats([1e30] * n)),
        "base with NaN": with_value(good, ("base",), floats([math.nan] * n)),
        "amounts with NaN": with_value(good, ("amounts",), {"pc:0": math.nan}),
        "amounts with Inf": with_value(good, ("amounts",), {"pc:0": math.inf}),
        "amounts of 1e30": with_value(good, ("amounts",), {"pc:0": 1e30}),
        "amounts of text": with_value(good, ("amounts",), {"pc:0": "1.5"}),
        "amounts of true": with_value(good, ("amounts",), {"pc:0": True}),
        "amounts with 100,000 keys": with_value(good, ("amounts",), {f"k{i}": 0.5 for i in range(100_000)}),
        "amounts with a control-character key": with_value(good, ("amounts",), {"pc:0\x1b[2J": 0.5}),
        "label with control characters": with_value(good, ("model", "label"), "VAE\x1b[31m\nrm -rf"),
        "label of 100,000 characters": with_value(good, ("model", "label"), "V" * 100_000),
        "path with a NUL": with_value(good, ("model", "path"), "/tmp/a\0b.safetensors"),
        "path of 5,000 characters": with_value(good, ("model", "path"), "/" + "a" * 5000),
        "model deeply nested": with_value(good, ("model",), json.loads("[" * 500 + "]" * 500)),
        "deep nesting": "[" * 200_000 + "]" * 200_000,
        "deep nesting in an extra field": json.dumps(good)[:-1] + ', "x": ' + "{\"a\": " * 5000 + "1" + "}" * 5001,
        "not JSON": "{\"tab\": \"explore\", ",
        "a JSON list": "[1, 2, 3]",
        "a JSON string": "\"explore\"",
        "an empty chunk": "",
        "not UTF-8": b"\xff\xfe" + json.dumps(good).encode("utf-8"),
    }
    return cases


def bad_other_tab_states(interpolate: dict, diffusion: dict) -> dict[str, object]:
    """Bad Interpolate and Diffusion states: the app does not restore them, but reads them and says what it read."""
    cases: dict[str, object] = {}
    for name, good, fields in (("interpolate", interpolate, [("a",), ("b",), ("a", "kind"), ("a", "seed"),
                                                             ("b", "path"), ("frames",), ("mode",), ("all_three",),
                                                             ("title",)]),
                               ("diffusion", diffusion, [("sampler",), ("steps",), ("eta",), ("seed",), ("title",)])):
        for where in fields:
            field = ".".join(where)
            for kind, value in WRONG.items():
                right = {("b", "path"): "string", ("title",): "string", ("all_three",): "bool"}
                if right.get(where) != kind:
                    cases[f"{name} {field} is {kind}"] = with_value(good, where, value)
            if where != ("title",):  # pictures saved before titles were written have none
                cases[f"{name} {field} is missing"] = without(good, where)
        cases[f"{name} with an extra field"] = {**good, "colour": "red"}
        cases[f"{name} title with control characters"] = with_value(good, ("title",), "a\x1b[2Jb")
    cases |= {
        "interpolate frames 100000": with_value(interpolate, ("frames",), 100_000),
        "interpolate frames 1": with_value(interpolate, ("frames",), 1),
        "interpolate mode cubic": with_value(interpolate, ("mode",), "cubic"),
        "interpolate a.kind unknown": with_value(interpolate, ("a", "kind"), "dream"),
        "interpolate a.seed -1": with_value(interpolate, ("a", "seed"), -1),
        "diffusion steps 0": with_value(diffusion, ("steps",), 0),
        "diffusion steps 1001": with_value(diffusion, ("steps",), 1001),
        "diffusion eta 2": with_value(diffusion, ("eta",), 2.0),
        "diffusion sampler unknown": with_value(diffusion, ("sampler",), "euler"),
        "diffusion seed 2**31": with_value(diffusion, ("seed",), 2**31),
    }
    return cases


# ---------------------------------------------------------------------------------------------------- the schema
def small_good_states() -> tuple[dict, dict, dict]:
    """An Explore, an Interpolate and a Diffusion state as the app writes them, for a model of 8 numbers."""
    from explorer.panels.explore.latent_state import LatentState

    latent = LatentState.from_seed((8,), 3)
    latent.directions = {"pc:0": (np.eye(8, dtype=np.float32)[0], 2.0)}
    latent.set_amount("pc:0", 1.3)
    explore = {"format": 1, "tab": "explore", "model": {"path": "/runs/a/model.safetensors", "family": "vae",
                                                        "label": "VAE · 16 px · step 7"}, "psi": 0.7, "steps": 20,
               **latent.to_dict()}
    interpolate = {"format": 1, "tab": "interpolate", "a": {"kind": "seed", "seed": 1, "path": ""},
                   "b": {"kind": "image", "seed": 0, "path": "/photos/face.png"}, "frames": 8, "mode": "slerp",
                   "all_three": False, "title": "VAE: seed 1 → face.png, slerp, 8 frames"}
    diffusion = {"format": 1, "tab": "diffusion", "sampler": "ddim", "steps": 50, "eta": 0.0, "seed": 3,
                 "title": "Diffusion · 8 px: DDIM, 50 steps, eta 0.0, seed 3"}
    return explore, interpolate, diffusion


def test_every_bad_state_is_refused_in_words_that_say_what_is_wrong():
    from explorer.pictures.picture_state import StateError, parse_state

    explore, interpolate, diffusion = small_good_states()
    cases = bad_explore_states(explore) | bad_other_tab_states(interpolate, diffusion)
    accepted = []
    for case, state in cases.items():
        text = json.dumps(state) if isinstance(state, dict) else state
        if isinstance(text, bytes):
            continue  # bytes that are not text: the reader's to refuse (below)
        try:
            parse_state(text)
            accepted.append(case)
        except StateError as exc:
            words = str(exc)
            assert words.startswith("its ") and "\n" not in words and len(words) < 200 and words.isprintable(), words
    assert not accepted


def test_a_state_as_the_app_writes_it_comes_back_exactly_in_every_text_chunk(tmp_path):
    from explorer.pictures.picture_state import DiffusionState, ExploreState, InterpolateState
    from explorer.pictures.png_state import read_state

    explore, interpolate, diffusion = small_good_states()
    text = json.dumps(explore).encode("ascii")
    for kind, compressed in ((b"iTXt", False), (b"iTXt", True), (b"tEXt", False)):
        state = read_state(png_with_text(tmp_path / f"{kind.decode()}{compressed}.png", text, kind, compressed))
        assert isinstance(state, ExploreState)
        assert state.latent.tobytes() == base64.b64decode(explore["latent"])  # every bit
        assert state.base.tobytes() == base64.b64decode(explore["base"]) and dict(state.amounts) == {"pc:0": 1.3}
        assert (state.seed, state.psi, state.steps, state.model.label) == (3, 0.7, 20, "VAE · 16 px · step 7")
    assert read_state(state_png(tmp_path / "i.png", interpolate)).b.path == "/photos/face.png"
    assert isinstance(read_state(state_png(tmp_path / "i.png", interpolate)), InterpolateState)
    assert read_state(state_png(tmp_path / "d.png", diffusion)) == DiffusionState("ddim", 50, 0.0, 3, diffusion["title"])


def test_the_reader_refuses_a_damaged_or_oversized_chunk_from_its_header(tmp_path):
    from explorer.pictures.picture_state import StateError
    from explorer.pictures.png_state import read_state

    explore, _, _ = small_good_states()
    good = state_png(tmp_path / "good.png", explore)
    data = good.read_bytes()
    at = data.index(b"iTXt") + 60
    (tmp_path / "flipped.png").write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1:])
    (tmp_path / "cut.png").write_bytes(data[:at])
    at = data.index(b"iTXt") - 4  # the chunk's length: say 3 GB, in a file of a few kilobytes
    (tmp_path / "claims-3-gb.png").write_bytes(data[:at] + struct.pack(">I", 3 * 1024**3) + data[at + 4:])
    for name, words in (("flipped.png", "damaged"), ("cut.png", "damaged"), ("claims-3-gb.png", "too large")):
        with pytest.raises(StateError, match=words):
            read_state(tmp_path / name)
    with pytest.raises(StateError, match="not UTF-8"):
        read_state(state_png(tmp_path / "latin.png", json.dumps(explore).encode("ascii")[:-1] + b"\xe9}"))


def test_no_break_spaces_in_paths_labels_and_titles_come_back_and_control_characters_do_not(tmp_path):
    """macOS names screenshots 'Screenshot 2025-01-02 at 10.11.12\u202fAM.png' (U+202F, a narrow no-break space),
    and str.isprintable is false for it and for U+00A0: the app used to refuse the pictures it had exported itself."""
    from explorer.pictures.picture_state import StateError
    from explorer.pictures.png_state import export_png, read_state

    explore, interpolate, diffusion = small_good_states()
    screenshot = "/Users/me/Desktop/Screenshot 2025-01-02 at 10.11.12\u202fAM.png"
    explore["model"] |= {"path": "/runs/my\u00a0run\u202f2/model.safetensors", "label": "VAE\u00a0·\u202f16 px"}
    interpolate["a"] |= {"kind": "image", "path": screenshot}
    interpolate["title"] = f"VAE: {screenshot.rsplit('/', 1)[1]} →\u00a0seed 2"
    diffusion["title"] = "Diffusion\u202f·\u00a08 px"
    image = np.zeros((8, 8, 3), np.uint8)
    for state in (explore, interpolate, diffusion):
        state = {k: v for k, v in state.items() if k != "format"}  # export_png adds it
        picture = export_png(tmp_path / f"{state['tab']}.png", image, state)
        read = read_state(picture)  # as the window reads a dropped picture
        if state["tab"] == "explore":
            assert (read.model.path, read.model.label) == (state["model"]["path"], state["model"]["label"])
        elif state["tab"] == "interpolate":
            assert (read.a.path, read.title) == (screenshot, state["title"])
        else:
            assert read.title == state["title"]
    # What models.printable escapes is refused still: control characters, a bidi override, a line separator.
    for hidden in ("\x1b[2J", "\n", "\0", "\u202e", "\u2028", "\u200b"):
        for where in ((explore, ("model", "path")), (explore, ("model", "label")), (interpolate, ("a", "path")),
                      (interpolate, ("title",)), (diffusion, ("title",))):
            state = with_value(where[0], where[1], f"a{hidden}b")
            with pytest.raises(StateError, match="printable text"):
                read_state(state_png(tmp_path / "hidden.png", state))
        with pytest.raises(StateError, match="name sliders in printable text"):
            read_state(state_png(tmp_path / "hidden.png", with_value(explore, ("amounts",), {f"pc{hidden}0": 1.0})))


def test_a_fifo_swapped_in_for_a_picture_never_blocks_the_reader(tmp_path, monkeypatch):
    """A FIFO put in a picture's place between a regular-file check and open(): open() would wait for a writer for
    ever, on the GUI thread. Here the check is made to see a regular file, as after such a swap."""
    import threading

    from explorer.pictures.png_state import read_state

    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    regular = state_png(tmp_path / "regular.png", small_good_states()[0])
    real_stat = os.stat

    def stat(path, *args, **kwargs):  # the picture as it was when it was checked
        return real_stat(regular if os.fspath(path) == str(fifo) else path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    result: list = []
    reader = threading.Thread(target=lambda: result.append(read_state(fifo)), daemon=True)
    reader.start()
    reader.join(5)
    monkeypatch.undo()
    if reader.is_alive():  # let the blocked open() return, so that the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading the picture blocked on a FIFO")
    assert result == [None]  # not a picture of ours: the image loader (in the worker) says why


# ---------------------------------------------------------------------------------------------------- the window
def wait_idle(qtbot, window) -> None:
    settle(qtbot, window)  # the worker is idle and the last queued results have reached the panels


def ready_explore(qtbot, window) -> None:
    key = next(k for k, m in window.context.models.items() if m.family == "vae")
    window.context.set_current(key)
    window.select_tab("explore")
    qtbot.waitUntil(lambda: key in window.context.analyses, timeout=120_000)
    panel = window.explore
    panel.seed.setValue(11)
    panel.principal_bank.sliders[panel.principal_bank.names()[0]].setValue(1.3)  # a state with amounts
    wait_idle(qtbot, window)


@pytest.fixture()
def dialogs(monkeypatch) -> list[str]:
    """No dialog may open: each one that tries is recorded (and answered Cancel)."""
    shown: list[str] = []

    def record(kind):
        def show(parent, title, text, *args, **kwargs):
            shown.append(f"{kind}: {title}: {text}")
            return QMessageBox.StandardButton.Cancel
        return show

    for kind in ("information", "warning", "critical", "question"):
        monkeypatch.setattr(QMessageBox, kind, record(kind))
    return shown


def on_screen(window) -> tuple:
    panel = window.explore
    return (window.context.current, window.tabs.currentIndex(), panel.state.latent().tobytes(), panel.seed.value(),
            panel.psi.value(), panel.steps.value(), panel.image.image().tobytes())


def is_one_sentence(text: str) -> bool:
    return bool(text) and text.endswith(".") and "\n" not in text and "Traceback" not in text and len(text) < 400


def drop_each(qtbot, window, dialogs, folder: Path, cases: dict[str, object]) -> list[str]:
    """Open each bad picture in turn; the problems seen (none when each one was one sentence, and nothing changed)."""
    problems = []
    for i, (case, state) in enumerate(cases.items()):
        path = state_png(folder / f"picture-{i}.png", state)
        before, seen = on_screen(window), len(dialogs)
        window.statusBar().clearMessage()
        window.explore.message.setText("")
        try:
            window.open_path(str(path))
        except Exception as exc:  # noqa: BLE001 - what a person would see as "Something went wrong"
            problems.append(f"{case}: raised {type(exc).__name__}: {str(exc)[:100]}")
            continue
        wait_idle(qtbot, window)
        message = window.statusBar().currentMessage()
        if not (is_one_sentence(message) and path.name in message and "came from the" not in message):
            problems.append(f"{case}: status bar says {message[:160]!r}")
        if window.explore.message.text():
            problems.append(f"{case}: Explore says {window.explore.message.text()[:160]!r}")
        if len(dialogs) > seen:
            problems.append(f"{case}: a dialog opened: {dialogs[-1][:160]}")
        if on_screen(window) != before:
            problems.append(f"{case}: what was on screen changed")
            ready_explore(qtbot, window)  # back to the same face for the next case
    return problems


def test_every_bad_explore_state_is_one_sentence_and_the_face_stays(window, qtbot, tmp_path, dialogs):
    ready_explore(qtbot, window)
    good = {"format": 1, **window.explore.export_state()}
    assert good["amounts"], "the good state has slider amounts to spoil"
    problems = drop_each(qtbot, window, dialogs, tmp_path, bad_explore_states(good))
    assert not problems, f"{len(problems)} bad states:\n" + "\n".join(problems)
    # After all of that, a good picture still brings its face back exactly.
    wanted = window.explore.state.latent().copy()
    window.explore.seed.setValue(12)
    wait_idle(qtbot, window)
    window.open_path(str(state_png(tmp_path / "good.png", good)))
    wait_idle(qtbot, window)
    assert np.array_equal(window.explore.state.latent(), wanted) and window.explore.seed.value() == 11


def test_bad_interpolate_and_diffusion_states_are_one_sentence(window, qtbot, tmp_path, dialogs):
    from explorer.pictures import picture_state as allowed

    def options(combo) -> list:
        return [combo.itemData(i) for i in range(combo.count())]

    # What a picture may hold is what the controls take, no more and no less.
    explore, diffusion, interpolate = window.explore, window.diffusion, window.interpolate
    spins = [(explore.seed, allowed.SEED), (explore.psi, allowed.EXPLORE_PSI), (explore.steps, allowed.EXPLORE_STEPS),
             (diffusion.seed, allowed.SEED), (diffusion.steps, allowed.DIFFUSION_STEPS),
             (diffusion.eta, allowed.DIFFUSION_ETA), (interpolate.frames, allowed.MORPH_FRAMES),
             (interpolate.a.number, allowed.SEED), (interpolate.b.number, allowed.SEED)]
    for spin, expected in spins:
        assert (spin.minimum(), spin.maximum()) == (expected.low, expected.high)
    assert options(diffusion.sampler) == list(allowed.SAMPLERS) and options(interpolate.mode) == list(allowed.MORPH_MODES)
    assert options(interpolate.a.kind) == list(allowed.ENDPOINT_KINDS)
    ready_explore(qtbot, window)
    interpolate = {"format": 1, **window.interpolate.export_state(), "title": "VAE: seed 1 → seed 2"}
    interpolate["b"] |= {"kind": "image", "path": str(tmp_path / "face.png")}
    diffusion = {"format": 1, **window.diffusion.export_state()}
    for good in (interpolate, diffusion):  # a good one says where it came from (the app restores Explore only)
        before = on_screen(window)
        window.open_path(str(state_png(tmp_path / f"{good['tab']}.png", good)))
        assert f"came from the {good['tab']} tab" in window.statusBar().currentMessage()
        assert on_screen(window) == before and not dialogs
    problems = drop_each(qtbot, window, dialogs, tmp_path, bad_other_tab_states(interpolate, diffusion))
    assert not problems, f"{len(problems)} bad states:\n" + "\n".join(problems)


def test_a_state_for_another_latent_size_keeps_the_model_and_the_face_and_says_so(window, qtbot, tmp_path, dialogs):
    """Well formed, but the model it names (loaded) has another number of numbers: checked before switching to it."""
    ready_explore(qtbot, window)
    good = {"format": 1, **window.explore.export_state()}
    gan = next(m for m in window.context.models.values() if m.family == "gan")
    assert int(np.prod(good["shape"])) != int(np.prod(gan.latent_shape))
    picture = state_png(tmp_path / "wrong-size.png", {**good, "model": {**good["model"], "path": gan.path}})
    before = on_screen(window)
    window.open_path(str(picture))
    wait_idle(qtbot, window)
    assert on_screen(window) == before and not dialogs  # it used to switch to the GAN, then fail
    message = window.statusBar().currentMessage()
    assert is_one_sentence(message) and "wrong-size.png" in message and f"{np.prod(good['shape'])} numbers" in message


def test_a_state_too_small_for_the_model_it_opens_says_so_and_keeps_the_seed(window, qtbot, tmp_path, monkeypatch):
    """The size of a model that is not open yet is known only once it has loaded: then Explore says so."""
    import torch

    from models.checkpoint import save_checkpoint
    from models.family import build_model
    from tests.models.tiny import tiny_vae

    ready_explore(qtbot, window)
    torch.manual_seed(0)
    other = str(save_checkpoint(tmp_path / "other" / "model.safetensors", build_model("vae", tiny_vae(latent_dim=7)),
                                step=3))
    good = {"format": 1, **window.explore.export_state()}
    picture = state_png(tmp_path / "small.png", {**good, "seed": 99, "model": {**good["model"], "path": other,
                                                                                 "label": "VAE · 16 px · step 3"}})
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Open)
    window.open_path(str(picture))
    qtbot.waitUntil(lambda: window.context.current == other, timeout=60_000)
    qtbot.waitUntil(lambda: "Could not restore" in window.explore.message.text(), timeout=120_000)
    assert window.explore.seed.value() != 99  # it used to show the picture's seed beside the model's own face
    message = window.explore.message.text()
    assert "4 numbers" in message and "has 7" in message, message


def test_a_fifo_named_png_dropped_on_the_window_returns_at_once_with_one_sentence(window, qtbot, tmp_path, dialogs):
    ready_explore(qtbot, window)
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    before = on_screen(window)
    start = time.perf_counter()
    window.open_path(str(fifo))
    blocked = time.perf_counter() - start
    assert blocked < 0.25, f"the window was blocked for {blocked:.2f} s"
    qtbot.waitUntil(lambda: "Could not" in window.explore.message.text(), timeout=20_000)
    message = window.explore.message.text()
    assert "'x.png'" in message and "not a regular file" in message and "Traceback" not in message, message
    assert on_screen(window) == before and not dialogs


def test_a_41_mb_state_chunk_does_not_stall_the_window(window, qtbot, tmp_path, dialogs):
    ready_explore(qtbot, window)
    good = {"format": 1, **window.explore.export_state()}
    huge = state_png(tmp_path / "huge.png", {**good, "latent": "A" * 41_000_000})
    before = on_screen(window)
    start = time.perf_counter()
    window.open_path(str(huge))
    blocked = time.perf_counter() - start
    wait_idle(qtbot, window)
    message = window.statusBar().currentMessage()
    assert is_one_sentence(message) and "huge.png" in message and "too large" in message, message
    assert on_screen(window) == before and not dialogs
    # It blocked the window for 0.54 s here (4.45 s where the issue was found): read whole, parsed, decoded. Now the
    # chunk's length is read from its header and the chunk is never read: 0.5 ms. The bound leaves room for noise.
    assert blocked < 0.25, f"the window was blocked for {blocked:.2f} s"


def test_a_compressed_state_that_inflates_to_100_mb_is_refused(window, qtbot, tmp_path, dialogs):
    ready_explore(qtbot, window)
    bomb = png_with_text(tmp_path / "bomb.png", b" " * 100_000_000, compressed=True)
    assert bomb.stat().st_size < 200_000
    before = on_screen(window)
    window.open_path(str(bomb))
    wait_idle(qtbot, window)
    message = window.statusBar().currentMessage()
    assert is_one_sentence(message) and "bomb.png" in message and "too large" in message, message
    assert on_screen(window) == before and not dialogs


# ---------------------------------------------------------------------------------------------------- python main.py x.png
def good_state_for(checkpoint: str, seed: int = 5) -> dict:
    """A state as the app writes it for this checkpoint's model, with a face that is not its seed's own."""
    from explorer.panels.explore.latent_state import LatentState
    from models.checkpoint import load_checkpoint

    loaded = load_checkpoint(checkpoint)
    state = LatentState.from_seed(tuple(loaded.model.latent_shape), seed)
    state.set_base(state.base * 0.5)
    return {"format": 1, "tab": "explore", "model": {"path": checkpoint, "family": loaded.family,
                                                     "label": loaded.label()}, "psi": 1.0, "steps": 20,
            **state.to_dict()}


def test_a_picture_opened_at_start_up_waits_for_its_model(app_env, qtbot, tmp_path, dialogs):
    """`python main.py picture.png` opens the picture while the models are still loading: its model is one of them,
    so nobody is asked to open it, and its face comes back once it has loaded."""
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow

    good = good_state_for(app_env["vae"], seed=11)
    picture = state_png(tmp_path / "face.png", good)
    wanted = np.frombuffer(base64.b64decode(good["latent"]), "<f4")
    window = MainWindow("cpu", settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.startup_done, timeout=60_000):
            window.load_startup_models()
            window.open_path(str(picture))  # as app.py does with the files named on the command line
        assert not dialogs  # it used to ask whether to open the VAE's file, which was loading anyway
        qtbot.waitUntil(lambda: window.explore.state is not None
                        and np.array_equal(window.explore.state.latent().ravel(), wanted), timeout=120_000)
        assert window.context.current == app_env["vae"] and window.explore.seed.value() == 11
    finally:
        window.close()


@pytest.mark.parametrize("case", ["a good picture", "model is string", "model is list", "deep nesting",
                                  "seed is string", "latent with NaN"])
def test_main_py_with_a_picture_starts_and_runs(case, tiny_checkpoints, tmp_path, _private_cache):
    good = good_state_for(tiny_checkpoints["vae"])
    picture = state_png(tmp_path / "picture.png", good if case == "a good picture" else bad_explore_states(good)[case])
    env = {**os.environ, "LATENT_EXPLORER_MODELS": os.pathsep.join(tiny_checkpoints.values()),
           "LATENT_EXPLORER_CACHE": str(_private_cache), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "LATENT_EXPLORER_STATE": str(tmp_path / "state"), "QT_QPA_PLATFORM": "offscreen",
           "LATENT_EXPLORER_STARTUP_PROBE": "1"}  # the app quits once Explore's first face is on screen
    try:
        result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--device", "cpu", str(picture)],
                                capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the app hung (a dialog nobody can answer, or a loop)")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "first-image" in result.stdout
    assert "Traceback" not in result.stderr and "error" not in result.stderr.lower(), result.stderr[-3000:]
