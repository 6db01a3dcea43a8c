"""A corpus of bad checkpoint files: each gets one clear sentence in the CLI and in the app, and no code runs.

The corpus: empty, random bytes, truncated at six points, a weight of another shape, a metadata field of the
wrong type, an unknown family, a future format version, and pickles whose unpickling would create a marker
file (PyTorch's zip and legacy formats, a bare pickle named .safetensors, a protocol-0 pickle).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors

from explorer.cli import main as cli
from models.checkpoint import (
    FORMAT_VERSION,
    read_metadata,
    save_checkpoint,
)
from models.safetensors_file import METADATA_KEY
from models.vae import VAE
from tests.models.tiny import tiny_vae

ROOT = Path(__file__).resolve().parents[2]

# file name -> words its message must hold (besides the file's name)
CASES = {
    "empty.safetensors": "empty or far too short",
    "random.safetensors": "not a checkpoint",
    "cut-in-length.safetensors": "empty or far too short",
    "cut-in-header.safetensors": "truncated",
    "cut-end-of-header.safetensors": "truncated",
    "cut-after-header.safetensors": "truncated",
    "cut-half.safetensors": "truncated",
    "cut-last-byte.safetensors": "truncated",
    "shape.safetensors": "has shape [3, 3]",
    "wrong-type.safetensors": "'step' should be a whole number",
    "family.safetensors": "unknown kind of model, 'flow'",
    "future.safetensors": "newer version of Latent Explorer",
    "evil.pt": "pickle file, which can run code",
    "evil-legacy.pt": "pickle file, which can run code",
    "evil.safetensors": "pickle file, which can run code",
    "evil.ckpt": "not a checkpoint",
}
PICKLES = [name for name in CASES if name.startswith("evil")]


class Evil:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def build_corpus(folder: Path, marker: Path) -> None:
    torch.manual_seed(0)
    good = save_checkpoint(folder / "good.safetensors", VAE(tiny_vae()), step=5)
    data = good.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    meta, weights = read_metadata(good), load_file(good)
    good.unlink()

    def write(name: str, content: bytes) -> None:
        assert name in CASES
        (folder / name).write_bytes(content)

    def rewrite(name: str, meta=meta, weights=weights) -> None:
        write(name, save_safetensors(weights, metadata={METADATA_KEY: json.dumps(meta)}))

    write("empty.safetensors", b"")
    write("random.safetensors", np.random.default_rng(6).bytes(4096))
    cuts = {"in-length": 4, "in-header": 20, "end-of-header": header_end - 5, "after-header": header_end + 10,
            "half": len(data) // 2, "last-byte": len(data) - 1}
    for where, cut in cuts.items():
        write(f"cut-{where}.safetensors", data[:cut])
    key = next(iter(weights))
    rewrite("shape.safetensors", weights={**weights, key: torch.zeros(3, 3)})
    rewrite("wrong-type.safetensors", meta=meta | {"step": "forty"})
    rewrite("family.safetensors", meta=meta | {"family": "flow"})
    rewrite("future.safetensors", meta=meta | {"format_version": FORMAT_VERSION + 1})
    evil = Evil(marker)
    torch.save({"weights": evil}, folder / "evil.pt")
    torch.save({"weights": evil}, folder / "evil-legacy.pt", _use_new_zipfile_serialization=False)
    write("evil.safetensors", pickle.dumps(evil, protocol=4))
    write("evil.ckpt", pickle.dumps(evil, protocol=0))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(folder of bad files, marker that exists only if some pickled code ran)."""
    folder = tmp_path_factory.mktemp("bad-checkpoints")
    marker = folder.parent / f"{folder.name}-code-ran"
    build_corpus(folder, marker)
    assert sorted(p.name for p in folder.iterdir()) == sorted(CASES)
    return folder, marker


def assert_clear(message: str, name: str) -> None:
    """One sentence for people: names the file and says what is wrong, no traceback, no exception jargon."""
    assert "\n" not in message.strip(), message
    assert f"'{name}'" in message, message  # the name in matched quotes: none lost to a stray strip()
    assert CASES[name] in message, message
    for jargon in ("Traceback", "Error:", "Something went wrong", "Exception"):
        assert jargon not in message, message


def cli_args(command: str, checkpoint: Path, out: Path) -> list[str]:
    return {"sample": ["sample", "--checkpoint", str(checkpoint), "-n", "2", "--out", str(out / "grid.png")],
            "interpolate": ["interpolate", "--checkpoint", str(checkpoint), "--seeds", "1", "2",
                            "--out", str(out / "strip.png")],
            "evaluate": ["evaluate", "--checkpoint", str(checkpoint), "--samples", "10"]}[command]


@pytest.mark.parametrize("command", ["sample", "interpolate", "evaluate"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_cli_says_what_is_wrong_in_one_line(corpus, name, command, tmp_path, capsys):
    folder, marker = corpus
    code = cli.main(cli_args(command, folder / name, tmp_path))
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert_clear(lines[0].removeprefix("error: "), name)
    assert not list(tmp_path.iterdir()), "nothing is written for a bad checkpoint"
    assert not marker.exists(), "pickled code ran"


def run_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_pickles_run_no_code_in_a_fresh_cli_process(corpus, tmp_path):
    """As a user types it: `python main.py sample/evaluate/train --resume` on pickles; all at once, to save time."""
    folder, marker = corpus
    run = tmp_path / "run"  # a run folder whose training state is a pickle with code in it
    run.mkdir()
    torch.save({"step": 3, "weights": Evil(marker)}, run / "training_state.pt")
    jobs = {"evil.pt": run_cli("sample", "--checkpoint", str(folder / "evil.pt"), "--out", str(tmp_path / "g.png")),
            "evil-legacy.pt": run_cli("evaluate", "--checkpoint", str(folder / "evil-legacy.pt")),
            "training_state.pt": run_cli("train", "--model", "vae", "--out", str(run), "--resume", "--image-size",
                                         "16", "--channels", "8", "--data-count", "16")}
    for name, process in jobs.items():
        _, err = process.communicate(timeout=120)
        assert process.returncode == 1, err
        assert "Traceback" not in err, err
        error = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(error) == 1, err
        if name == "training_state.pt":
            assert "'training_state.pt' is damaged or not one of ours" in error[0], err
            assert "cannot be resumed" in error[0]
        else:
            assert_clear(error[0].removeprefix("error: "), name)
    assert not marker.exists(), "pickled code ran"
    assert not (tmp_path / "g.png").exists()


def test_the_app_shows_one_clear_message_per_bad_file_and_goes_on(window, qtbot, corpus, monkeypatch):
    folder, marker = corpus
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append((title, text)))
    before = dict(window.context.models)
    # File → Open checkpoint… with every file; then the pickles dropped on the window, whatever their suffix
    attempts = [(window.open_checkpoint, name) for name in CASES] + [(window.open_path, name) for name in PICKLES]
    for open_file, name in attempts:
        count = len(shown)
        open_file(str(folder / name))
        qtbot.waitUntil(lambda count=count: len(shown) > count, timeout=10_000)
        title, text = shown[-1]
        assert title == "Could not open the checkpoint"
        assert_clear(text, name)
    assert len(shown) == len(attempts)
    assert not marker.exists(), "pickled code ran"
    assert window.context.models == before and len(window.model_box.paths()) == len(before)
    assert window.explore.message.text() == "", "no bad file was taken for a face picture"
