"""The Train tab's "Start from": fresh weights by default, a shipped model or a checkpoint file otherwise, written into
the command line as --init-from; a file that went away is a sentence, not a started run."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from explorer.worker.model_catalog import shipped_models, shipped_names
from tests.explorer.panels.train.test_train_form import choose, make_form, parsed


def test_a_new_run_starts_from_fresh_weights(qtbot, tmp_path):
    form = make_form(qtbot, tmp_path)
    assert form.start_from.value() is None and "--init-from" not in form.options()
    assert parsed(form).init_from is None and form.problem() == ""
    assert "Resuming a run ignores this" in form.start_from.box.toolTip()


def test_a_shipped_model_is_offered_and_written_as_its_file(qtbot, tmp_path):
    form = make_form(qtbot, tmp_path)
    choose(form, "vae-gan", tmp_path)
    shipped = shipped_models()
    assert [form.start_from.box.itemData(i) for i in range(form.start_from.box.count())] == \
        [None, *map(str, shipped.values())]
    with qtbot.waitSignal(form.changed):
        form.start_from.box.setCurrentIndex(form.start_from.box.findData(str(shipped["vae"])))
    options = form.options()
    assert options[options.index("--init-from") + 1] == str(shipped["vae"])
    assert parsed(form).init_from == str(shipped["vae"]) and form.problem() == ""
    form.start_from.box.setCurrentIndex(0)
    assert "--init-from" not in form.options()


def test_a_chosen_file_is_written_and_one_that_went_away_is_a_sentence(qtbot, tmp_path, monkeypatch):
    form = make_form(qtbot, tmp_path)
    source = tmp_path / "mine.safetensors"
    source.write_bytes(b"a checkpoint the run will read")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kw: (str(source), ""))
    form.start_from.choose_button.click()
    assert form.start_from.value() == str(source) and "mine.safetensors" in form.start_from.box.currentText()
    assert str(source) in form.start_from.box.toolTip()
    assert parsed(form).init_from == str(source) and form.problem() == ""

    other = tmp_path / "other.safetensors"
    other.write_bytes(b"another")
    form.start_from.set_file(str(other))  # takes the first file's place
    assert form.start_from.box.count() == 1 + len(shipped_models()) + 1 and form.start_from.value() == str(other)

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kw: ("", ""))  # cancelled: as it was
    form.start_from.choose_button.click()
    assert form.start_from.value() == str(other)

    other.unlink()
    assert form.problem() == (f"The run cannot start from its checkpoint: there is no checkpoint at '{other}'. "
                              "Choose another, or fresh weights.")


def test_the_shipped_names_are_listed_without_opening_a_file(monkeypatch):
    """The Train tab is built on the GUI thread: its list comes from file names, the same as the checked list."""
    import explorer.worker.model_catalog as catalog

    def no_reading(*args, **kwargs):
        raise AssertionError("a shipped file was opened to list its name")

    checked = shipped_models()
    monkeypatch.setattr(catalog, "inspect_checkpoint", no_reading)
    monkeypatch.setattr(catalog, "read_metadata", no_reading)
    assert shipped_names() == checked and "vae" in checked  # every shipped file here is a usable model
