import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
TINY = ["--image-size", "16", "--channels", "8", "--data-count", "32", "--batch-size", "8", "--sample-steps", "3"]


def cli(*args, timeout=240, **kw):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True, check=False,
                          timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kw)


def assert_one_line_error(result):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("train", "sample", "interpolate"):
        assert command in result.stdout


@pytest.mark.parametrize("family", ["vae", "diffusion"])
def test_train_then_sample_then_interpolate(tmp_path, family):
    run = tmp_path / "run"
    result = cli("train", "--model", family, "--out", run, "--steps", "3", "--sample-every", "0", *TINY)
    assert result.returncode == 0, result.stderr
    assert "finished at step 3" in result.stderr
    ckpt = run / "model.safetensors"
    grid = tmp_path / "grid.png"
    result = cli("sample", "--checkpoint", ckpt, "-n", "4", "--seed", "3", "--steps", "4", "--out", grid)
    assert result.returncode == 0, result.stderr
    with Image.open(grid) as image:
        assert image.size == (2 + 2 * 18, 2 + 2 * 18)
        assert json.loads(image.text["latent-explorer"])["seeds"] == [3, 6]
    for name in ("strip.png", "anim.gif"):
        out = tmp_path / name
        result = cli("interpolate", "--checkpoint", ckpt, "--seeds", "1", "2", "--frames", "5", "--steps", "4",
                     "--out", out)
        assert result.returncode == 0, result.stderr
        with Image.open(out) as image:
            assert image.format == ("GIF" if name.endswith("gif") else "PNG")
            if image.format == "GIF":
                assert image.n_frames == 8  # 5 frames forward and 3 back for a smooth loop


def test_ddpm_sampling_from_the_cli(tmp_path):
    run = tmp_path / "run"
    assert cli("train", "--model", "diffusion", "--out", run, "--steps", "1", "--sample-every", "0", *TINY).returncode == 0
    result = cli("sample", "--checkpoint", run / "model.safetensors", "-n", "1", "--sampler", "ddpm", "--steps", "5",
                 "--out", tmp_path / "g.png")
    assert result.returncode == 0, result.stderr


def test_events_are_json_lines(tmp_path):
    result = cli("train", "--model", "gan", "--out", tmp_path / "run", "--steps", "2", "--log-every", "1",
                 "--events", *TINY)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "start" and events[-1] == {"event": "done", "step": 2, "reason": "finished"}
    assert {"step", "samples", "checkpoint"} <= {e["event"] for e in events}


@pytest.mark.parametrize("args, words", [
    (["sample", "--checkpoint", "missing.safetensors", "--out", "x.png"], "no checkpoint"),
    (["sample", "--checkpoint", "README.md", "--out", "x.png"], "not a checkpoint"),
    (["train", "--model", "vae", "--out", "{tmp}/r", "--data", "{tmp}/nowhere"], "nowhere"),
    (["train", "--model", "vae", "--out", "{tmp}/r", "--beta", "-"], "--beta: should be a finite number"),
    (["train", "--model", "gan", "--out", "{tmp}/r", "--beta", "2"], "--beta does not apply"),
    (["train", "--model", "vae"], "required"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_are_one_clear_line(tmp_path, args, words):
    result = cli(*[a.format(tmp=tmp_path) for a in args])
    assert_one_line_error(result)
    assert words in result.stderr


def test_events_mode_reports_errors_on_both_channels(tmp_path):
    result = cli("train", "--model", "vae", "--out", tmp_path / "r", "--data", tmp_path, "--events", *TINY)
    assert_one_line_error(result)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "error" and events[-1]["reason"] == "error"


def test_sigint_saves_a_checkpoint_and_resume_continues(tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, str(ROOT / "main.py"), "train", "--model", "vae", "--out", str(run), "--steps", "100000",
            "--checkpoint-every", "0", "--sample-every", "0", "--log-every", "1", "--events", *TINY]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in proc.stdout:
            if json.loads(line)["event"] == "step" and json.loads(line)["step"] >= 3:
                proc.send_signal(signal.SIGINT)
                break
        rest = [json.loads(line) for line in proc.stdout]
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    done = rest[-1]
    assert done["event"] == "done" and done["reason"] == "stopped"
    assert any(e["event"] == "checkpoint" for e in rest)
    stopped_at = done["step"]
    result = cli("train", "--model", "vae", "--out", run, "--steps", stopped_at + 2, "--resume", "--events",
                 "--log-every", "1", *TINY)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["step"] == stopped_at and events[0]["resumed"]
    assert [e["step"] for e in events if e["event"] == "step"] == [stopped_at + 1, stopped_at + 2]


def test_stdin_commands_pause_and_resume_a_run(tmp_path):
    args = [sys.executable, str(ROOT / "main.py"), "train", "--model", "vae", "--out", str(tmp_path / "run"),
            "--steps", "100000", "--checkpoint-every", "0", "--sample-every", "0", "--log-every", "1", "--events", *TINY]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = []
    try:
        for line in proc.stdout:
            event = json.loads(line)
            seen.append(event["event"])
            if event["event"] == "step" and event["step"] == 2:
                proc.stdin.write("pause\n")
                proc.stdin.flush()
            if event["event"] == "paused":
                proc.stdin.write("resume\n")
                proc.stdin.flush()
            if event["event"] == "resumed":
                proc.stdin.write("stop\n")
                proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert seen.index("paused") < seen.index("resumed") < seen.index("done")


def test_torchrun_trains_with_two_cpu_processes(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "main.py"), "train", "--model", "gan", "--out", str(run), "--steps", "3", "--device", "cpu",
           "--events", "--log-every", "1", *TINY]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    # rank 0 alone reports: one start, one done
    assert [e["event"] for e in events].count("start") == 1 and events[0]["world_size"] == 2
    assert "2 processes" in events[0]["device"]
    assert not [e for e in events if e["event"] == "warning"]  # the replicas ended with identical weights
    assert events[-1] == {"event": "done", "step": 3, "reason": "finished"}
    from models.checkpoint import load_checkpoint

    assert load_checkpoint(run / "model.safetensors").step == 3


def test_a_shipped_model_is_named_on_the_command_line(tmp_path):
    result = cli("sample", "--checkpoint", "gan", "-n", "2", "--out", tmp_path / "grid.png", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "GAN" in result.stdout and (tmp_path / "grid.png").exists()


@pytest.mark.parametrize("command", [["sample", "--out", "x.png"], ["interpolate", "--seeds", "1", "2", "--out", "x.gif"],
                                     ["evaluate"]])
def test_an_unknown_name_is_one_sentence_that_lists_the_shipped_models(command, capsys, tmp_path, monkeypatch):
    from explorer.cli.main import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--checkpoint", "vea"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(lines) == 1
    assert "'vea'" in lines[0] and "(vae, vae-gan, gan, diffusion, latent-diffusion)" in lines[0]


def test_naming_a_shipped_model_opens_the_app_with_it(monkeypatch):
    import explorer.app
    from explorer.cli.main import main
    from explorer.worker.model_catalog import RESOURCES

    opened = []

    def run_app(screenshot, tab, device, files, **options):
        opened.append((tab, files))
        return 0

    monkeypatch.setattr(explorer.app, "run_app", run_app)
    assert main(["diffusion", "--tab", "diffusion"]) == 0
    assert opened == [("diffusion", [str(RESOURCES / "diffusion.safetensors")])]
