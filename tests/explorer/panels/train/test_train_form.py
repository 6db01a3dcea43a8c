"""The Train tab's form is made from the family registry: a family registered by a test has its place in the
chooser, its own fields with its config's ranges and defaults, and a command line `train` takes; and the child's
lines reach the tab as events, a damaged one passed over."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from explorer.cli.main import parse_command
from models.family import families, get_family, register_family, unregister_family
from models.train_settings import settings_from_values

KINDS = {"whole": QSpinBox, "number": QDoubleSpinBox, "choice": QComboBox, "switch": QCheckBox}


@pytest.fixture(params=["vae", "diffusion"])
def toy(request):
    """A fourth family, made like the VAE (drawn in one pass) or like the diffusion model (drawn in steps)."""
    family = register_family(dataclasses.replace(get_family(request.param), name="toy", title="Toy", noun="a toy",
                                                 order=40))
    yield family
    unregister_family("toy")


def make_form(qtbot, tmp_path):
    from explorer.panels.train.form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    form.out.setText(str(tmp_path / "run"))
    return form


def choose(form, family: str, tmp_path) -> None:
    form.family.setCurrentIndex(form.family.findData(family))
    form.out.setText(str(tmp_path / "run"))  # a new family proposes a new folder


def as_flags(options: dict) -> dict:
    """Options as a command line gives them: a switch that is off is no flag at all."""
    return {key: value for key, value in options.items() if value is not False}


def parsed(form):
    """The run the form's command line describes, as `train` reads it."""
    return settings_from_values(vars(parse_command(["train", *form.options()])))


def test_the_chooser_offers_every_family_in_order_by_its_views_words(qtbot, tmp_path):
    from explorer.family_views import view_of

    form = make_form(qtbot, tmp_path)
    assert [form.family.itemData(i) for i in range(form.family.count())] == [f.name for f in families()]
    assert [form.family.itemText(i) for i in range(form.family.count())] == [view_of(f).chooser_label
                                                                             for f in families()]
    assert form.family.itemText(form.family.findData("gan")) == "GAN (generator vs. judge)"


def test_each_family_has_its_own_fields_of_its_configs_kind_range_and_default(qtbot, tmp_path):
    form = make_form(qtbot, tmp_path)
    for family in families():
        choose(form, family.name, tmp_path)
        assert form.family_pages.currentWidget().family == family
        for option in family.options:
            field = form.option_field(option.key)
            kind = family.option_kind(option)
            assert isinstance(field, KINDS[kind]) and field is form.option_field(option.key, family.name)
            default = family.option_default(option)
            if kind in ("whole", "number"):
                allowed = family.option_range(option)
                assert (field.minimum(), field.maximum(), field.value()) == (allowed.low, allowed.high, default)
            elif kind == "choice":
                assert field.currentData() == default
                assert [field.itemData(i) for i in range(field.count())] == list(family.option_choices(option))
            else:
                assert field.isChecked() == default
        # nothing is changed: the command line is the family's defaults, as `train` reads them
        assert parsed(form).model_options == as_flags({o.key: family.option_default(o) for o in family.options})
    assert form.option_field("beta", "gan") is None and form.option_field("nothing") is None


def test_a_family_registered_later_has_its_place_fields_and_command_line(qtbot, tmp_path, toy):
    from explorer.family_views import view_of

    form = make_form(qtbot, tmp_path)
    names = [form.family.itemData(i) for i in range(form.family.count())]
    assert names == [f.name for f in families()] and names[-1] == "toy"  # order 40: after the built-in ones
    assert form.family.itemText(names.index("toy")) == view_of(toy).chooser_label == "Toy"  # the default view's
    form.family.setCurrentIndex(names.index("toy"))
    assert Path(form.out.text()).name.startswith("toy-")  # a new run's folder is named after its family
    form.out.setText(str(tmp_path / "run"))
    assert form.family_pages.currentWidget().family == toy
    assert set(form.model_settings.pages[names.index("toy")].fields) == {o.key for o in toy.options}
    assert form.model_settings.sample_steps.isVisibleTo(form) == toy.iterative  # the shared field, where it applies
    for option in toy.options:  # each field at the far end of its range: still a command line `train` takes
        field = form.option_field(option.key)
        if isinstance(field, (QSpinBox, QDoubleSpinBox)):
            field.setValue(field.maximum())
        elif isinstance(field, QComboBox):
            field.setCurrentIndex(field.count() - 1)
        else:
            field.setChecked(True)
    form.sample_steps.setValue(7)
    settings = parsed(form)
    assert settings.family == "toy" and settings.out == str(tmp_path / "run")
    assert settings.model_options == as_flags(form.model_settings.pages[names.index("toy")].values())
    assert settings.sample_steps == (7 if toy.iterative else 25) and ("--sample-steps" in form.options()) == toy.iterative


def test_the_form_writes_its_own_settings_whatever_the_defaults(qtbot, tmp_path):
    form = make_form(qtbot, tmp_path)
    choose(form, "gan", tmp_path)
    form.image_size.setCurrentIndex(form.image_size.findData(16))
    form.steps.setValue(300)
    form.batch.setValue(16)
    form.faces.setValue(64)
    form.sample_every.setValue(20)
    form.checkpoint_every.setValue(0)
    form.channels.setValue(16)
    form.lr.setValue(0.0005)
    form.device.setCurrentIndex(form.device.findData("cpu"))
    form.option_field("loss").setCurrentIndex(form.option_field("loss").findData("hinge"))
    form.option_field("spectral_norm").setChecked(True)
    settings = parsed(form)
    assert (settings.image_size, settings.steps, settings.batch_size, settings.data_count, settings.sample_every,
            settings.checkpoint_every, settings.channels, settings.lr, settings.device, settings.log_every) == (
        16, 300, 16, 64, 20, 0, 16, 0.0005, "cpu", 4)
    assert settings.model_options["loss"] == "hinge" and settings.model_options["spectral_norm"] is True
    assert settings == dataclasses.replace(form.settings(), model_options=as_flags(form.settings().model_options))


def test_a_resumed_toy_runs_record_becomes_its_command_line(tmp_path, toy):
    from explorer.panels.train.form import resume_options

    record = {"family": "toy", "steps": 10, "data": "synthetic-faces", "batch_size": 8, "image_size": 16, "seed": 3,
              "data_count": 32, "data_seed": 1, "log_every": 1, "sample_every": 0, "sample_count": 16,
              "sample_steps": 25, "checkpoint_every": 2, "channels": 8, "lr": None, "ema": None,
              "model_options": {o.key: toy.option_default(o) for o in toy.options}}
    options = resume_options(str(tmp_path / "run"), record, 4, 100, "cpu")
    settings = settings_from_values(vars(parse_command(["train", *options])))
    assert settings.family == "toy" and settings.resume and settings.seed == 3 and settings.steps == 10
    assert settings.model_options == as_flags(record["model_options"])


def test_the_tab_shows_a_run_of_a_family_it_has_no_view_of(qtbot, tmp_path, toy):
    from explorer.app_context import AppContext
    from explorer.family_views import view_of
    from explorer.panels.train.panel import TrainPanel
    from explorer.worker.inference_worker import InferenceWorker
    from models.train_events import SamplesEvent, StartEvent, StepEvent

    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)
    choose(panel.form, "toy", tmp_path)
    panel.process.start = lambda options: None  # no child: only what the tab shows for the family
    assert panel.start()
    assert panel.family == "toy" and panel.plots.family == "toy" and len(panel.plots.plots) == 1
    assert panel.explain.text() == view_of("toy").train_text and "a toy" in panel.explain.text()
    panel._on_event(StartEvent(family="toy", device="CPU", dataset="d", images=1, skipped=[], skipped_count=0, step=0,
                               total_steps=9, parameters=1000, out="o"))
    assert panel.status.text() == "Training a toy (1,000 weights) on CPU"
    panel._on_event(StepEvent(step=1, total_steps=9, losses=dict.fromkeys(toy.losses, 0.5), images_per_second=1.0,
                              eta_seconds=None, elapsed_seconds=1.0))
    assert all(panel.plots.point_count(key) == 1 for key in toy.losses)  # the default view hides none
    panel._on_event(SamplesEvent(step=1, path=str(tmp_path / "gone.png"), diversity=0.01))
    assert "Mode collapse" not in panel.health.text()  # only a view that says so warns of it


def test_the_childs_lines_reach_the_tab_as_events_and_a_damaged_one_is_passed_over(qtbot):
    from explorer.panels.train.training_process import TrainingProcess
    from models.train_events import DoneEvent, StartEvent

    process = TrainingProcess()
    seen = []
    process.event.connect(seen.append)
    start = {"event": "start", "family": "toy", "device": "CPU", "dataset": "d", "images": 1, "skipped": [],
             "skipped_count": 0, "step": 2, "total_steps": 9, "parameters": 1, "out": "o", "checkpoint_step": 2}
    for line in (start, {"event": "step", "step": 5}, {"event": "done", "step": True, "reason": "finished"},
                 {"event": "nonsense"}, [1, 2], "text", {"event": "done", "step": 9, "reason": "finished"}):
        process._handle(json.dumps(line).encode())
    process._handle(b"not json at all")
    process._handle(b"[" * 100_000)  # deeper than the JSON reader goes
    assert [type(e) for e in seen] == [StartEvent, DoneEvent]
    assert process.saved_step == 2 and process.last_done == DoneEvent(9, "finished")
    assert process.describe_end(0, False) == ("The run finished at step 9.", True)
