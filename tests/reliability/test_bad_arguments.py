"""Every number and path a person types is checked before anything is loaded, allocated or written: on the command
line (one argparse line naming the flag and its range, exit 2), in the Train tab's form (its fields cannot take what
the command line refuses) and in TrainSettings (scripts call train() without the command line)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli.main import main, parse_command

ROOT = Path(__file__).resolve().parents[2]
SEEDS = "from 0 to 2,147,483,647"
HUGE = str(2**70)
NOT_NUMBERS = ["nan", "inf", "-inf", "abc", "2**70", "1e400", ""]


def base(command: str, tmp: Path) -> list[str]:
    """A command line that is fine apart from the flag under test (no checkpoint is read while parsing)."""
    checkpoint = str(tmp / "model.safetensors")
    return {"train-vae": ["train", "--model", "vae", "--out", str(tmp / "run")],
            "train-gan": ["train", "--model", "gan", "--out", str(tmp / "run")],
            "train-diffusion": ["train", "--model", "diffusion", "--out", str(tmp / "run")],
            "sample": ["sample", "--checkpoint", checkpoint, "--out", str(tmp / "grid.png")],
            "interpolate": ["interpolate", "--checkpoint", checkpoint, "--seeds", "1", "2", "--out", str(tmp / "s.png")],
            "evaluate": ["evaluate", "--checkpoint", checkpoint],
            "app": []}[command]


# (command, flag, values it must take (its range's ends), values it must refuse, words of its range in the message)
CASES = [
    ("train-vae", "--steps", ["1", "10000000"], ["0", "-5", "10000001", "1.5", HUGE, *NOT_NUMBERS],
     "from 1 to 10,000,000"),
    ("train-vae", "--batch-size", ["1", "1024"], ["0", "-1", "1025", "1e9", HUGE, *NOT_NUMBERS], "from 1 to 1,024"),
    ("train-vae", "--lr", ["1e-6", "1"], ["0", "-0.001", "1e-7", "1.5", "nan", "inf", "-inf", "abc", ""],
     "from 1e-06 to 1"),
    ("train-vae", "--seed", ["0", str(2**31 - 1)], ["-1", str(2**31), HUGE, "1.5", *NOT_NUMBERS], SEEDS),
    ("train-vae", "--data-seed", ["0", str(2**31 - 1)], ["-1", str(2**31), HUGE, "nan"], SEEDS),
    ("train-vae", "--channels", ["8", "256"], ["0", "4", "12", "-8", "264", "512", "nan", "abc"],
     "from 8 to 256 that is a multiple of 8"),
    ("train-vae", "--ema", ["0", "0.9999"], ["5", "1", "-0.1", "nan", "inf", "abc"], "from 0 to below 1"),
    ("train-vae", "--data-count", ["16", "174762"], ["0", "15", "200001", HUGE, "nan"], "from 16 to 200,000"),
    ("train-vae", "--log-every", ["1", "10000000"], ["0", "-1", "10000001", "nan"], "from 1 to 10,000,000"),
    ("train-vae", "--sample-every", ["0", "10000000"], ["-1", "10000001", "nan"], "from 0 to 10,000,000"),
    ("train-diffusion", "--sample-steps", ["1", "1000"], ["0", "-1", "1001", "nan"], "from 1 to 1,000"),
    ("train-vae", "--checkpoint-every", ["0", "10000000"], ["-1", "10000001", "inf"], "from 0 to 10,000,000"),
    ("train-vae", "--image-size", ["16", "128"], ["0", "100", "256", "16384", "abc", "nan"], "16, 32, 64 or 128"),
    ("train-vae", "--latent-dim", ["1", "1024"], ["0", "-1", "1025", HUGE], "from 1 to 1,024"),
    ("train-gan", "--latent-dim", ["1", "1024"], ["0", "2000000"], "from 1 to 1,024"),
    ("train-vae", "--latent-dim", [], ["nan", "1.5", "abc"], "a whole number"),
    ("train-vae", "--beta", ["0", "100"], ["-1", "101", "1e300"], "from 0 to 100"),
    ("train-vae", "--beta", [], ["nan", "inf", "abc"], "a finite number"),
    ("train-gan", "--critic-steps", ["0", "100"], ["-1", "101", HUGE], "from 0 to 100"),
    # runs/ in a checkout is where the app looks for runs; the checkout itself and its packages are not a run's.
    ("train-vae", "--out", [str(ROOT / "runs" / "a-run")],
     ["", "  ", "a\0b", str(ROOT), str(ROOT / "models" / "run"), str(ROOT / "explorer")], "should"),
    ("train-vae", "--data", ["synthetic-faces"], ["", "x\0y"], "synthetic-faces"),
    ("sample", "-n", ["1", "256"], ["0", "-1", "257", HUGE, "1.5", *NOT_NUMBERS], "from 1 to 256"),
    ("sample", "--seed", ["0", str(2**31 - 1)], ["-1", str(2**31), HUGE, "nan"], SEEDS),
    ("sample", "--steps", ["1", "1000"], ["0", "-5", "1001", "nan"], "from 1 to 1,000"),
    ("sample", "--eta", ["0", "1"], ["nan", "inf", "-0.1", "1.5", "abc"], "from 0 to 1"),
    ("sample", "--out", ["g.PNG"], ["", "grid.jpg", "a\0b.png"], "should"),
    ("sample", "--checkpoint", ["vae"], ["", "a\0b"], "should"),
    ("interpolate", "--frames", ["2", "64"], ["0", "1", "65", "100000", "nan"], "from 2 to 64"),
    ("interpolate", "--steps", ["1", "1000"], ["0", "1001"], "from 1 to 1,000"),
    ("interpolate", "--size", ["16", "2048"], ["0", "15", "2049", "nan"], "from 16 to 2,048"),
    ("interpolate", "--out", ["s.gif"], ["", "strip.bmp"], "should"),
    ("evaluate", "--samples", ["10", "10000"], ["0", "9", "10001", "1e9", "nan"], "from 10 to 10,000"),
    ("evaluate", "--seed", ["0", str(2**31 - 1)], ["-1", HUGE], SEEDS),
    ("app", "--screenshot", [], [""], "should name a file"),
]


def refused(argv: list[str], capsys) -> str:
    """The one error line of a command line that must be refused as a usage mistake."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert exit_.value.code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.mark.parametrize("command, flag, good, bad, words", CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_a_value_out_of_range_is_one_line_naming_the_flag_and_its_range(command, flag, good, bad, words, tmp_path,
                                                                         capsys):
    for value in bad:
        line = refused([*base(command, tmp_path), f"{flag}={value}"], capsys)  # '=': '-inf' is a value, not a flag
        assert f"argument {flag}:" in line and words in line, (value, line)
        assert list(tmp_path.iterdir()) == [], value  # nothing written, no run folder made
    for value in good:
        parse_command([*base(command, tmp_path), f"{flag}={value}"])


@pytest.mark.parametrize("seeds", [["-1", "2"], ["1", str(2**31)], ["1", "nan"]])
def test_interpolation_seeds_are_checked_too(seeds, tmp_path, capsys):
    argv = ["interpolate", "--checkpoint", str(tmp_path / "m.safetensors"), "--out", str(tmp_path / "s.png"),
            "--seeds", *seeds]
    assert SEEDS in refused(argv, capsys)


def test_a_folder_or_other_non_file_is_refused_where_a_file_is_meant(tmp_path, capsys):
    (tmp_path / "grid.png").mkdir()
    (tmp_path / "shot").mkdir()
    (tmp_path / "run-file").write_text("")
    for argv, flag in ((base("sample", tmp_path), "--out"), (base("interpolate", tmp_path), "--out")):
        argv[argv.index("--out") + 1] = str(tmp_path / "grid.png")
        assert f"argument {flag}: should name a file" in refused(argv, capsys)
    assert "is a folder" in refused(["--screenshot", str(tmp_path / "shot")], capsys)
    argv = ["train", "--model", "vae", "--out", str(tmp_path / "run-file")]
    assert "is a file" in refused(argv, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png", "run-file", "shot"]


def test_faces_are_bounded_by_their_memory_at_each_image_size(tmp_path, capsys):
    argv = [*base("train-vae", tmp_path), "--image-size", "128", "--data-count", "43691"]
    assert "argument --data-count: should be at most 43,690 at 128 px" in refused(argv, capsys)
    parse_command([*base("train-vae", tmp_path), "--image-size", "128", "--data-count", "43690"])
    parse_command([*base("train-vae", tmp_path), "--image-size", "32", "--data-count", "200000"])
    # A folder of images is not Synthetic Faces: its count is not --data-count's.
    parse_command([*base("train-vae", tmp_path), "--image-size", "128", "--data", str(tmp_path)])


def test_a_flag_of_another_family_is_a_usage_mistake(tmp_path, capsys):
    assert "--beta does not apply to a GAN" in refused([*base("train-gan", tmp_path), "--beta", "2"], capsys)
    assert "--schedule does not apply to a VAE" in refused([*base("train-vae", tmp_path), "--schedule", "cosine"],
                                                           capsys)
    assert "--gan-loss does not apply to a diffusion model" in refused(
        [*base("train-diffusion", tmp_path), "--gan-loss", "hinge"], capsys)  # the flag, not the setting's name


# ------------------------------------------------------------------------------------------------ TrainSettings
@pytest.mark.parametrize("change, name", [
    ({"steps": 0}, "steps"), ({"steps": 4.5}, "steps"), ({"batch_size": 0}, "batch_size"),
    ({"batch_size": "8"}, "batch_size"), ({"batch_size": 10**9}, "batch_size"), ({"lr": math.nan}, "lr"),
    ({"lr": math.inf}, "lr"), ({"lr": -1.0}, "lr"), ({"seed": 2**70}, "seed"), ({"seed": -1}, "seed"),
    ({"data_seed": True}, "data_seed"), ({"channels": 0}, "channels"), ({"channels": 12}, "channels"),
    ({"channels": 4096}, "channels"), ({"ema": 5.0}, "ema"), ({"ema": 1.0}, "ema"), ({"ema": math.nan}, "ema"),
    ({"data_count": 0}, "data_count"), ({"data_count": 10**9}, "data_count"),
    ({"image_size": 128, "data_count": 100_000}, "data_count"), ({"image_size": 16384}, "image_size"),
    ({"image_size": 0}, "image_size"), ({"log_every": 0}, "log_every"), ({"sample_every": -1}, "sample_every"),
    ({"sample_steps": 0}, "sample_steps"), ({"sample_count": 0}, "sample_count"),
    ({"checkpoint_every": -1}, "checkpoint_every"), ({"out": ""}, "out"), ({"out": str(ROOT)}, "out"),
    ({"data": ""}, "data"), ({"model_options": {"latent_dim": 0}}, "latent_dim"),
    ({"model_options": {"latent_dim": 2_000_000}}, "latent_dim"), ({"model_options": {"beta": math.nan}}, "beta"),
    ({"family": "diffusion", "model_options": {"timesteps": 400_000_000}}, "timesteps"), ({"model_options": []}, "model_options"),
    ({"family": "flow"}, "family"),
])
def test_train_settings_out_of_range_end_the_run_with_one_sentence_naming_them(change, name, tmp_path, monkeypatch):
    from models import train as train_module
    from models.train import train
    from models.train_events import DoneEvent, ErrorEvent
    from models.train_settings import TrainSettings

    def no_data(*args, **kwargs):
        raise AssertionError("the settings must be checked before any data is loaded")

    monkeypatch.setattr(train_module, "load_dataset", no_data)
    monkeypatch.chdir(tmp_path)  # an empty `out` must not claim the current folder either
    settings = TrainSettings(**{"family": "vae", "out": str(tmp_path / "run"), "device": "cpu", **change})
    events = list(train(settings))
    assert [type(e) for e in events] == [ErrorEvent, DoneEvent] and events[1].reason == "error"
    assert f"'{name}'" in events[0].message and "Traceback" not in events[0].message
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ the Train tab
def train_args(form) -> list[str]:
    return ["train", *form.options()]


def accepted(argv: list[str]) -> bool:
    try:
        parse_command(argv)
    except SystemExit as exit_:
        assert exit_.code == 2
        return False
    return True


def with_flag(argv: list[str], flag: str, value: str) -> list[str]:
    """argv with `flag` given `value` instead ('--flag=value': '-1e-09' is a value, not an option)."""
    at = argv.index(flag)
    return [*argv[:at], f"{flag}={value}", *argv[at + 2:]]


WHOLE_FIELDS = [("steps", "--steps"), ("batch", "--batch-size"), ("sample_every", "--sample-every"),
                ("checkpoint_every", "--checkpoint-every"), ("sample_steps", "--sample-steps"),
                ("faces", "--data-count")]


def applies(field: str, family) -> bool:
    """Whether the form shows a shared field for a family (sampling steps: a family that draws in steps)."""
    from models.train_settings import SETTINGS

    setting = next((s for s in SETTINGS if s.name == field), None)
    return setting is None or setting.applies is None or setting.applies(family)


@pytest.fixture()
def form(qtbot, tmp_path):
    from explorer.panels.train.form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    form.out.setText(str(tmp_path / "run"))
    return form


def choose(form, family: str, out: Path) -> None:
    form.family.setCurrentIndex(form.family.findData(family))
    form.out.setText(str(out))  # a new family proposes a new folder


@pytest.mark.parametrize("field, flag", WHOLE_FIELDS)
def test_each_whole_number_field_takes_exactly_what_the_command_line_takes(form, field, flag, tmp_path):
    from models.family import families

    box = getattr(form, field)
    for family in [f for f in families() if applies(field, f)]:
        choose(form, family.name, tmp_path / "run")
        for size in (16, 32, 64, 128) if field == "faces" else (32,):
            form.image_size.setCurrentIndex(form.image_size.findData(size))
            for end, beyond in ((box.minimum(), box.minimum() - 1), (box.maximum(), box.maximum() + 1)):
                box.setValue(end)
                argv = train_args(form)
                assert accepted(argv), (family.name, size, argv)
                assert not accepted(with_flag(argv, flag, str(beyond))), (family.name, size, flag, beyond)


def test_each_familys_own_number_fields_take_exactly_what_the_command_line_takes(form, tmp_path):
    """Latent size, β, critic steps ...: each family's field has its own config's range, as its flag does."""
    from models.family import families

    seen = 0
    for family in families():
        choose(form, family.name, tmp_path / "run")
        for option in family.options:
            kind, box = family.option_kind(option), form.option_field(option.key)
            if kind not in ("whole", "number"):
                continue
            step = 1 if kind == "whole" else 1e-9
            for end, beyond in ((box.minimum(), box.minimum() - step), (box.maximum(), box.maximum() + step)):
                box.setValue(end)
                argv = train_args(form)
                assert accepted(argv), (family.name, option.key, argv)
                refused = with_flag(argv, option.flag_name, str(beyond) if kind == "whole" else repr(beyond))
                assert not accepted(refused), (family.name, option.key, beyond)
            seen += 1
    assert seen >= 4  # the VAE's latent size and β, the GAN's latent size and critic steps at least


def test_each_familys_choices_and_switches_are_the_command_lines(form, tmp_path):
    from PySide6.QtWidgets import QCheckBox

    from models.family import families

    for family in families():
        choose(form, family.name, tmp_path / "run")
        for option in family.options:
            box = form.option_field(option.key)
            if family.option_kind(option) == "choice":
                assert [box.itemData(i) for i in range(box.count())] == list(family.option_choices(option))
                for i in range(box.count()):
                    box.setCurrentIndex(i)
                    assert accepted(train_args(form)), (family.name, option.key, box.currentData())
            elif family.option_kind(option) == "switch":
                assert isinstance(box, QCheckBox)
                box.setChecked(True)
                argv = train_args(form)
                assert option.flag_name in argv and accepted(argv), (family.name, option.key)
                box.setChecked(False)
                assert option.flag_name not in train_args(form)


def test_the_learning_rate_field_takes_exactly_what_the_command_line_takes(form):
    form.lr.setValue(form.lr.maximum())
    argv = train_args(form)
    assert accepted(argv) and not accepted(with_flag(argv, "--lr", repr(math.nextafter(form.lr.maximum(), 2))))
    form.lr.setValue(10 ** -form.lr.decimals())  # the smallest rate it shows above 0, "family default"
    argv = train_args(form)
    assert accepted(argv) and not accepted(with_flag(argv, "--lr", repr(math.nextafter(10 ** -form.lr.decimals(), 0))))
    form.lr.setValue(form.lr.minimum())
    assert form.lr.specialValueText() and "--lr" not in form.options()


def test_the_width_field_takes_only_widths_the_command_line_takes(form, qtbot):
    from PySide6.QtCore import Qt

    assert form.channels.maximum() == 256 and accepted([*train_args(form)])  # 0: the family's default, no flag
    assert "--channels" not in form.options()
    for typed, kept in (("12", 16), ("3", 8), ("250", 248), ("64", 64)):
        form.channels.lineEdit().selectAll()
        qtbot.keyClicks(form.channels, typed)
        qtbot.keyClick(form.channels, Qt.Key.Key_Return)
        assert form.channels.value() == kept
        assert accepted(train_args(form))
    form.channels.setValue(20)
    assert form.channels.value() in (16, 24)
    argv = train_args(form)
    assert accepted(argv) and not accepted(with_flag(argv, "--channels", "264"))


RECORD = {"family": "vae", "steps": 10, "data": "synthetic-faces", "batch_size": 8, "image_size": 16, "seed": 0,
          "data_count": 32, "data_seed": 0, "log_every": 1, "sample_every": 0, "sample_steps": 3,
          "checkpoint_every": 2, "channels": 8, "lr": None, "ema": None, "model_options": {"latent_dim": 4},
          "sample_count": 16}  # what models/train.py records: every setting but out, resume and device


@pytest.mark.parametrize("change, name", [
    ({"batch_size": 0}, "batch_size"), ({"ema": 5.0}, "ema"), ({"lr": math.nan}, "lr"), ({"seed": 2**70}, "seed"),
    ({"channels": 12}, "channels"), ({"image_size": 256}, "image_size"), ({"sample_steps": 0}, "sample_steps"),
    ({"model_options": {"latent_dim": 0}}, "latent_dim"), ({"data_count": 10**9}, "data_count"),
])
def test_resuming_from_the_train_tab_refuses_a_recorded_setting_out_of_range(change, name, tmp_path):
    from explorer.panels.train.form import resume_options
    from models.config_check import ConfigError

    with pytest.raises(ConfigError, match=f"'{name}'"):
        resume_options(str(tmp_path / "run"), {**RECORD, **change}, 3, 100, "cpu")


@pytest.mark.parametrize("missing", ["steps", "model_options", "sample_count"])
def test_resuming_from_the_train_tab_refuses_a_record_missing_a_setting(missing, tmp_path):
    from explorer.panels.train.form import resume_options
    from models.config_check import ConfigError

    record = {k: v for k, v in RECORD.items() if k != missing}
    with pytest.raises(ConfigError, match=f"no setting '{missing}'"):
        resume_options(str(tmp_path / "run"), record, 3, 100, "cpu")


def test_the_resume_command_line_is_the_records_run(tmp_path):
    """Every recorded setting comes back as the command line's (each family's own options by their own flags)."""
    from explorer.panels.train.form import resume_options
    from models.family import get_family
    from models.train_settings import settings_from_values

    for record in (RECORD, {**RECORD, "family": "gan", "lr": 0.0003, "ema": 0.99, "sample_every": 5,
                            "model_options": {"latent_dim": 6, "loss": "hinge", "critic_steps": 2,
                                              "spectral_norm": True, "gp_weight": 5.0}}):
        options = resume_options(str(tmp_path / "run"), record, 3, 100, "cuda")
        settings = settings_from_values(vars(parse_command(["train", *options])))
        assert settings.resume and settings.device == "cuda" and settings.out == str(tmp_path / "run")
        unused = set() if get_family(record["family"]).iterative else {"sample_steps"}  # no steps to draw in
        for key in record.keys() - {"model_options"} - unused:
            assert getattr(settings, key) == record[key], key
        # the options without a flag (gp_weight, set by a script) come back with the run's saved state
        assert settings.model_options == {k: v for k, v in record["model_options"].items() if k != "gp_weight"}


def test_the_resume_command_line_stays_within_the_ranges(tmp_path):
    from explorer.panels.train.form import resume_options
    from models.config_check import ConfigError

    options = resume_options(str(tmp_path / "run"), RECORD, 10, 10**9, "cpu")  # done: as many more as asked
    assert options[options.index("--steps") + 1] == "10000000" and accepted(["train", *options])
    with pytest.raises(ConfigError, match="the most a run may have"):
        resume_options(str(tmp_path / "run"), {**RECORD, "steps": 10_000_000}, 10_000_000, 100, "cpu")


# ------------------------------------------------------------------------------ paths the system will not look up
# A component over the 255 bytes a file name may have: Python 3.11's Path.exists()/is_dir()/is_file() raise OSError
# (ENAMETOOLONG) for it rather than answer False, and a traceback came out of each check below. A NUL in a path
# raises ValueError; argv cannot carry one, so every case here runs in-process.
LONG_NAME = "a" * 300
PATH_FLAGS = [("train-vae", "--out"), ("train-vae", "--data"), ("sample", "--checkpoint"), ("sample", "--out"),
              ("interpolate", "--checkpoint"), ("interpolate", "--out"), ("evaluate", "--checkpoint"),
              ("app", "--screenshot")]


def unusable_names(tmp: Path, flag: str) -> list[str]:
    end = ".gif" if flag == "--out" else ".png"  # a name that passes the suffix rule, to reach the path's check
    return [LONG_NAME + end, str(tmp / (LONG_NAME + end)), str(tmp / LONG_NAME / f"x{end}"),
            f"a\0b{end}", str(tmp / f"a\0b{end}")]


@pytest.mark.parametrize("command, flag", PATH_FLAGS, ids=[f"{c} {f}" for c, f in PATH_FLAGS])
def test_a_path_too_long_or_holding_a_nul_is_one_line_naming_the_flag(command, flag, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative names land here, never in the checkout
    for value in unusable_names(tmp_path, flag):
        line = refused([*base(command, tmp_path), f"{flag}={value}"], capsys)
        assert f"argument {flag}:" in line, (value, line)
        assert "too long for this system" in line or "NUL character" in line, (value, line)
        assert list(tmp_path.iterdir()) == [], value


@pytest.mark.parametrize("argv", [[LONG_NAME], [LONG_NAME + ".png"], ["TMP/" + LONG_NAME + ".safetensors"],
                                  ["--tab", "explore", "TMP/" + LONG_NAME + ".png"], ["a\0b.png"],
                                  ["--tab", "train", "TMP/a\0b"], [""]],
                         ids=["name", "picture", "checkpoint", "after-a-flag", "nul", "nul-after-a-flag", "empty"])
def test_a_file_for_the_window_that_no_file_can_have_is_one_line_before_any_window(argv, tmp_path, capsys,
                                                                                   monkeypatch):
    import explorer.app

    def no_window(*args, **kwargs):
        raise AssertionError("the window must not open for a file argument no file can have")

    monkeypatch.setattr(explorer.app, "run_app", no_window)
    argv = [a.replace("TMP", str(tmp_path)) for a in argv]
    line = refused(argv, capsys)
    assert "argument files: should name a file to open" in line, line


@pytest.mark.parametrize("argv", [["sample", "--checkpoint", "TMP/" + LONG_NAME, "--out", "TMP/g.png"],
                                  ["sample", "--checkpoint", "vae", "--out", "TMP/" + LONG_NAME + ".png"],
                                  ["train", "--model", "vae", "--out", LONG_NAME],
                                  ["TMP/" + LONG_NAME]], ids=["checkpoint", "sample-out", "train-out", "app-file"])
def test_a_long_name_on_a_real_command_line_is_one_line_and_exit_2(argv, tmp_path):
    """As a person meets it: `python main.py ...` in a process of its own, argv as the system hands it over."""
    argv = [a.replace("TMP", str(tmp_path)) for a in argv]
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and "too long for this system" in lines[0], done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_home_folder_of_nobody_is_taken_as_written_not_a_traceback(tmp_path, monkeypatch):
    """pathlib's expanduser() raises RuntimeError for '~someone' without a home; the shell leaves it as typed."""
    monkeypatch.chdir(tmp_path)
    parse_command(["train", "--model", "vae", "--out", "~no-such-user-here/run"])
    parse_command(["sample", "--checkpoint", "vae", "--out", "~no-such-user-here/grid.png"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["sample", "--checkpoint", "vae", "--out", "TMP/g.png"], ["vae"],
                                  ["--tab", "explore", "vae"]], ids=["command", "app-name", "app-flag"])
def test_any_failure_while_checking_arguments_is_one_line_and_exit_2(argv, tmp_path, capsys, monkeypatch):
    """Not only the mistakes the checks know: a check that fails by itself is still one line (its details in the
    log), never a traceback from argument parsing."""
    import explorer.worker.model_catalog

    def broken():
        raise RuntimeError("the resources folder vanished")

    monkeypatch.setattr(explorer.worker.model_catalog, "shipped_models", broken)
    line = refused([a.replace("TMP", str(tmp_path)) for a in argv], capsys)
    assert "RuntimeError: the resources folder vanished" in line and "details" in line, line


def test_unusable_paths_are_said_in_words_by_the_one_helper(tmp_path):
    from models.paths import look

    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "file").write_text("")
    os.mkfifo(tmp_path / "fifo")
    assert look(tmp_path / LONG_NAME).why == "its name is too long for this system"
    assert look("/" + "a/" * 3000).unusable  # a whole path over PATH_MAX
    assert look("a\0b").why == "it holds a NUL character, which no path can"
    assert look(tmp_path / "loop").why == "its symbolic links go round in a loop"
    assert look(tmp_path / "missing").kind == "missing" and not look(tmp_path / "missing").exists
    assert look(tmp_path / "file" / "under").kind == "missing"  # ENOTDIR: nothing there, as pathlib says
    assert look(tmp_path / "file").is_file and look(tmp_path).is_folder and look(tmp_path / "fifo").kind == "other"
    assert look(None).unusable


# --------------------------------------------------------------------- the Train tab's folder: the CLI's own rule
def out_refusals(tmp: Path) -> list[str]:
    (tmp / "a-file").write_text("")
    return [str(ROOT), str(ROOT / "models"), str(ROOT / "models" / "run"), str(ROOT / "explorer" / "x"),
            str(tmp / LONG_NAME), str(tmp / LONG_NAME / "run"), str(tmp / "a-file"), "a\0b"]


def test_the_train_tab_refuses_each_folder_the_command_line_refuses_in_the_same_words(form, qtbot, tmp_path,
                                                                                      capsys):
    from PySide6.QtCore import Qt

    from explorer.app_context import AppContext
    from explorer.panels.train.panel import TrainPanel, shown
    from explorer.worker.inference_worker import InferenceWorker
    from models.setting_ranges import run_folder_problem

    panel = TrainPanel(AppContext(InferenceWorker("cpu")))
    qtbot.addWidget(panel)

    def no_launch(*args, **kwargs):
        raise AssertionError("no training process may start for a folder the command line refuses")

    panel._launch = no_launch
    for value in out_refusals(tmp_path):
        problem = run_folder_problem(value)
        assert problem, value
        line = refused(["train", "--model", "vae", "--out", value], capsys)
        assert f"argument --out: {problem}" in line, (value, line)  # the command line's line ...
        for where in (form, panel.form):
            where.out.setText(value)
            assert where.problem() == f"The run's folder {problem}.", value  # ... is the form's sentence
        panel.message.clear()
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)  # as a person starts a run
        assert f"Cannot start.</b> The run's folder {shown(problem)}." in panel.message.text(), value
        assert not panel.start(), value
        panel.resume_from(value)  # "Resume from folder…": the same rule, before the worker reads anything
        assert f"Cannot resume.</b> The run's folder {shown(problem)}." in panel.message.text(), value
        assert panel._record_request == 0, value
        assert not panel.running and panel.process.process is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    form.out.setText(str(ROOT / "runs" / "a-run"))  # runs/ in the checkout is where the app looks for runs
    assert form.problem() == "" and accepted(train_args(form))


def test_a_dropped_file_no_file_can_have_is_one_sentence_in_the_window(window, tmp_path, monkeypatch):
    """Dropped, opened or named at start-up (all go through open_path): a name the system will not look up is said
    in the status bar; pathlib's OSError used to escape from the slot."""
    from PySide6.QtWidgets import QMessageBox

    dialogs: list[str] = []
    for kind in ("information", "warning", "critical", "question"):
        monkeypatch.setattr(QMessageBox, kind, lambda *args, kind=kind: dialogs.append(kind))
    models = dict(window.context.models)
    tab = window.tabs.currentWidget()
    for name in (LONG_NAME + ".png", LONG_NAME + ".safetensors", LONG_NAME + "/face.png", "a\0b.png",
                 "a\0b.safetensors"):
        window.statusBar().clearMessage()
        window.open_path(str(tmp_path / name))
        message = window.statusBar().currentMessage()
        assert "cannot be opened" in message, (name, message)
        assert "too long for this system" in message or "NUL character" in message, (name, message)
    assert not dialogs and dict(window.context.models) == models and window.tabs.currentWidget() is tab
