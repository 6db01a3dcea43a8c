"""Text from checkpoints and file names (data set names, paths, labels) is untrusted: every place that shows it to a
person, in the CLI and in the window, shows its non-printing characters as visible escapes.

An ANSI escape in a data set name could clear a terminal or forge its lines, U+202E turns 'gnp.exe' around, a NUL
or a newline cuts or adds a line. Before, each of them reached the screen raw.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main as cli
from explorer.cli import train as cli_train
from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.family import build_model
from models.printable import printable
from tests.models.tiny import tiny_vae

# ANSI escapes (clear screen, red), the bidi override, NUL, a newline, the line separator, a BOM, the C1 control that
# starts an escape on some terminals, a zero-width joiner, a bidi isolate
EVIL = "faces\x1b[2J\x1b[31m red \u202egnp.exe\x00nul\nline\u2028sep\ufeffbom\x9bcsi\u200dzwj\u2066iso"
EVIL_FILE_NAME = "faces\x1b[31m\u202egnp\nx\u2028\x9b"  # what a file name can hold (no NUL, no '/')
HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def hidden(text: str) -> list[str]:
    """The non-printing characters in text, other than the line ends a multi-line output has between lines."""
    return [f"U+{ord(c):04X}" for c in text if c != "\n" and unicodedata.category(c) in HIDDEN]


def assert_shown_safely(text: str) -> None:
    assert not hidden(text), (hidden(text), text)
    assert "\\x1b[2J" in text or "\\x1b[31m" in text, text  # the escape is there to see, not silently dropped


@pytest.fixture
def evil_checkpoint(tmp_path) -> str:
    torch.manual_seed(0)
    path = tmp_path / "model.safetensors"
    return str(save_checkpoint(path, build_model("vae", tiny_vae()), dataset={"name": EVIL, "kind": "folder"}, step=3))


def test_printable_escapes_every_kind_of_hidden_character_and_only_those():
    shown = printable(EVIL)
    assert not hidden(shown)
    for escape in ("\\x1b[2J", "\\u202e", "\\x00", "\\n", "\\u2028", "\\ufeff", "\\x9b", "\\u200d", "\\u2066"):
        assert escape in shown, (escape, shown)
    honest = "Café · 64 px × 2 — 顔 … Ñ"
    assert printable(honest) == honest
    assert printable(shown) == shown, "escaping twice changes what is shown"
    assert printable(["a", 1]) == "['a', 1]" and printable(7) == "7"  # metadata may hold anything
    assert len(printable("x" * 10**6)) <= 2001


def test_the_sample_command_prints_a_checkpoints_data_set_name_escaped(evil_checkpoint, tmp_path, capsys):
    assert cli.main(["sample", "--checkpoint", evil_checkpoint, "-n", "2", "--out", str(tmp_path / "g.png"),
                     "--device", "cpu"]) == 0
    assert_shown_safely(capsys.readouterr().out)


def test_an_error_naming_a_file_prints_its_name_escaped(tmp_path, capsys):
    bad = tmp_path / f"{EVIL_FILE_NAME}.safetensors"
    bad.write_bytes(b"\x00" * 64)  # not a checkpoint: the error names the file
    code = cli.main(["sample", "--checkpoint", str(bad), "--out", str(tmp_path / "g.png"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1, err
    assert not hidden(err.rstrip("\n")) and "\\u202e" in err, err


def test_training_prints_a_data_folders_name_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_train, "install_stop_signals", lambda control: None)
    folder = tmp_path / EVIL_FILE_NAME
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    args = ["train", "--model", "vae", "--image-size", "16", "--channels", "8", "--latent-dim", "4", "--batch-size",
            "4", "--steps", "1", "--sample-every", "0", "--data", str(folder), "--out", str(tmp_path / "run")]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert not hidden(err) and "\\u202e" in err, err
    missing = str(tmp_path / f"{EVIL_FILE_NAME}-missing")  # an error message that quotes the name
    assert cli.main([*args[:-4], "--data", missing, "--out", str(tmp_path / "run2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and not hidden(err) and "\\u202e" in err, err


def test_the_window_shows_a_checkpoints_text_escaped(evil_checkpoint, tmp_path):
    from explorer.widgets.model_chooser import chooser_rows
    from explorer.worker.inference_jobs import error_text, model_info
    from explorer.worker.model_catalog import RECENT, read_entry

    info = model_info(load_checkpoint(evil_checkpoint), evil_checkpoint)  # the status bar's and chooser's text
    assert_shown_safely(info.description)
    assert not hidden(info.label)
    named = tmp_path / EVIL_FILE_NAME / "model.safetensors"
    named.parent.mkdir()
    named.write_bytes(Path(evil_checkpoint).read_bytes())
    entry = read_entry(named, RECENT)
    rows = chooser_rows([entry], {}, [entry.path]) + chooser_rows([], {evil_checkpoint: info}, [evil_checkpoint])
    for row in rows:
        for text in (row.text, row.detail, row.tip):
            assert not hidden(text.replace("\n", " ")), (text, row)
    assert "\\u202e" in rows[0].detail and "\\x1b[2J" in rows[1].tip
    assert not hidden(error_text(CheckpointError(f"'{EVIL_FILE_NAME}' is damaged.")))  # every error the worker gives


def test_the_train_tab_shows_a_runs_text_escaped_and_never_as_markup(qtbot):
    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel
    from explorer.worker.inference_worker import InferenceWorker
    from models.train_events import event_from_dict

    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    panel.family = "vae"
    panel._set_state("starting")
    markup = EVIL + "<img src='x'><a href='y'>z</a>"
    panel._on_event(event_from_dict({"event": "start", "family": "vae", "device": "CPU", "dataset": markup, "images": 8,
                                     "skipped": [f"{EVIL_FILE_NAME}.png: not an image"], "skipped_count": 1,
                                     "step": 0, "total_steps": 10, "parameters": 10,
                                     "out": f"/runs/{EVIL_FILE_NAME}", "resumed": False}))
    texts = [panel.message.text()]
    for kind in ("warning", "error"):
        panel._on_event(event_from_dict({"event": kind, "message": f"Could not save '{markup}'."}))
        texts.append(panel.message.text())
    panel._ended(f"The run ended with an error: {markup}", False)
    texts.append(panel.message.text())
    for text in texts:
        assert not hidden(text) and "\\u202e" in text, text
        assert "<img" not in text and "<a " not in text and "&lt;img" in text, text


def test_the_shipped_models_page_escapes_a_cards_data_set_name(tmp_path):
    from models.ship_model import summary_markdown

    figures = {k: 0.5 for k in ("fd", "fd_real", "precision", "precision_real", "recall", "recall_real", "density",
                                "density_real", "coverage", "coverage_real", "ppl", "seconds_per_image")}
    card = {"parameters": 1, "file_bytes": 1, "image_size": 16, "steps": 3, "dataset": EVIL, "command": "c",
            "evaluate_command": "e", "evaluate": figures, "samples_png": "vae.samples.png"}
    (tmp_path / "vae.card.json").write_text(json.dumps(card))
    assert_shown_safely(summary_markdown(tmp_path))


# ---------------------------------------------------------------------------------------------------- never markup
MARKUP = "<b>bold</b><img src=x>"  # a data set's name; Qt draws it bold, with an image, where it takes text for markup
MARKUP_FILE_NAME = "<b>bold<img src=x> & co"  # what a file name can hold ('/' it cannot)


def as_displayed(text: str) -> str:
    """What a tooltip or a message box shows for `text`: Qt guesses whether it is markup, as here."""
    from PySide6 import QtGui

    if not QtGui.Qt.mightBeRichText(text):
        return text
    document = QtGui.QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def label_displays(label) -> str:
    """What a QLabel shows: its text as markup or plain, as its format says (or as Qt guesses)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTextDocument

    rich = label.textFormat() == Qt.TextFormat.RichText
    if label.textFormat() == Qt.TextFormat.AutoText:
        return as_displayed(label.text())
    if not rich:
        return label.text()
    document = QTextDocument()
    document.setHtml(label.text())
    return document.toPlainText()


def test_the_chooser_shows_a_data_set_name_and_a_path_that_look_like_markup_as_they_are(tmp_path):
    from explorer.widgets.model_chooser import chooser_rows
    from explorer.worker.inference_jobs import model_info
    from explorer.worker.model_catalog import RECENT, read_entry

    torch.manual_seed(0)
    folder = tmp_path / MARKUP_FILE_NAME
    path = str(save_checkpoint(folder / "model.safetensors", build_model("vae", tiny_vae()),
                               dataset={"name": MARKUP, "kind": "folder"}, step=3))
    info = model_info(load_checkpoint(path), path)
    entry = read_entry(Path(path), RECENT)
    loaded, not_loaded = chooser_rows([], {path: info}, [path])[0], chooser_rows([entry], {}, [path])[0]
    assert MARKUP in as_displayed(loaded.tip) and f"/{MARKUP_FILE_NAME}/model.safetensors" in as_displayed(loaded.tip)
    assert f"/{MARKUP_FILE_NAME}/model.safetensors" in as_displayed(not_loaded.tip)
    assert "Not loaded yet" in as_displayed(not_loaded.tip)


def test_the_window_shows_checkpoint_and_file_names_that_look_like_markup_as_they_are(window, qtbot, tmp_path,
                                                                                      monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    torch.manual_seed(0)
    good = str(save_checkpoint(tmp_path / MARKUP_FILE_NAME / "model.safetensors", build_model("vae", tiny_vae()),
                               dataset={"name": MARKUP, "kind": "folder"}, step=3))
    window.open_checkpoint(good)
    qtbot.waitUntil(lambda: window.context.current == good, timeout=30_000)
    assert MARKUP in as_displayed(window.model_label.toolTip())  # the status bar's model: its data set
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    bad = tmp_path / f"{MARKUP_FILE_NAME}.safetensors"
    bad.write_bytes(b"\x00" * 100)
    window.open_checkpoint(str(bad))
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert f"'{bad.name}'" in as_displayed(shown[0]), shown[0]  # the load-failed dialog
    picture = tmp_path / f"{MARKUP_FILE_NAME}.png"
    picture.write_bytes(b"not a picture")
    window.select_tab("explore")
    window.open_path(str(picture))  # Explore's message quotes the file's name
    qtbot.waitUntil(lambda: "Could not bring in" in window.explore.message.text(), timeout=20_000)
    assert f"'{picture.name}'" in label_displays(window.explore.message), window.explore.message.text()
    window.recent_menu.aboutToShow.emit()  # File → Open recent: the good file's path, in a folder named like markup
    tips = [as_displayed(a.toolTip()) for a in window.recent_menu.actions()]
    assert good in tips, tips
