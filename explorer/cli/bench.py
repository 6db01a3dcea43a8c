"""`python main.py bench [--json] [--quick]`: the app's speed, measured in one run on this device, with targets.

Figures (each beside its target):
- slider latency (each family that decodes in one pass: VAE and GAN): from a slider value change to the new face painted, over 300 moves, median and
  99th percentile, beside the bare decoder's forward time for the same latent measured in the same run;
- diffusion slider latency (each family that decodes in steps): from a held slider's move to its few-step draft on
  screen, and from letting go to the full face on screen, medians, beside the bare sampler of the same steps;
- GUI responsiveness: stalls of a 5 ms timer while sliders are dragged, while a DDIM-50 run previews every
  step, and while a training run is going (p99 and longest);
- diffusion (each family that decodes in steps): seconds per DDIM-50 and DDPM-1000 image, and the cost of the live preview;
- training (every family): images/s through `python main.py train` beside a bare loop of the same model, batch and
  device;
- start-up: seconds from launching `python main.py` to the first face on screen.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FRAME_MS = 1000 / 60
TRAIN_BATCH = 16
TRAIN_STEPS = 30  # the first two are warm-up and not counted
TRAIN_REPEATS = 2  # each throughput is the best of this many runs, bare and `train` taking turns
TRAIN_DATA = 512
# The family of the run the Train tab starts while GUI stalls are measured: the GAN, as the figure has always been
# measured (its steps report the most losses, so its run sends the window the most to draw).
STALL_FAMILY = "gan"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    met: bool | None  # None: reported, no target


# ------------------------------------------------------------------------------------------------- helpers
def _percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


class StallMeter:
    """A timer that should fire every 5 ms; how late it fires is how long the GUI's event loop was stalled."""

    def __init__(self, interval_ms: int = 5):
        from PySide6.QtCore import Qt, QTimer
        self.interval = interval_ms / 1000
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.last = 0.0
        self.stalls: list[float] = []

    def tick(self) -> None:
        now = time.perf_counter()
        if self.last:
            self.stalls.append(max(0.0, now - self.last - self.interval))
        self.last = now

    def start(self) -> None:
        self.stalls, self.last = [], 0.0
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return [s * 1000 for s in self.stalls]


def _spin(app, seconds: float) -> None:
    """Run Qt's own event loop for `seconds`, as the app runs it (a processEvents-and-sleep loop would add its
    own delays to what is measured)."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _await(signal, timeout: float, what: str) -> None:
    """Run Qt's event loop until `signal` is emitted: the moment it is, not at the next poll."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop, timer = QEventLoop(), QTimer(singleShot=True, interval=int(timeout * 1000))
    timed_out = []
    timer.timeout.connect(lambda: (timed_out.append(True), loop.quit()))
    signal.connect(loop.quit)
    timer.start()
    try:
        loop.exec()
    finally:
        timer.stop()
        signal.disconnect(loop.quit)
    if timed_out:
        raise TimeoutError(f"timed out waiting for {what}")


def _wait(app, condition, timeout: float, what: str) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() > end:
            raise TimeoutError(f"timed out waiting for {what}")


# ----------------------------------------------------------------------------------------------- start-up
def startup_seconds() -> float:
    """Launch the app as a user would and time it until Explore's first face is painted."""
    from explorer.panels.train.training_process import app_command

    env = {**os.environ, "LATENT_EXPLORER_STARTUP_PROBE": "1"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    proc = subprocess.Popen(app_command(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, cwd=ROOT, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "first-image":
                return time.perf_counter() - start
    finally:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    raise RuntimeError("the app ended without drawing a face (are there models in resources/?)")


# --------------------------------------------------------------------------------------------- in the app
def app_figures(window, app, quick: bool) -> list[Figure]:
    figures: list[Figure] = []
    _wait(app, lambda: not window.starting_up, 120, "the models to load")
    from models.family import families

    models = {info.family: key for key, info in window.context.models.items()}
    loaded = [family for family in families() if family.name in models]
    moves = 60 if quick else 300
    drag_stalls: list[float] = []
    # Sliders move a face that comes back in one pass; a family that decodes in steps has the Diffusion tab.
    for family in (f for f in loaded if not f.iterative):
        key = models[family.name]
        latencies = slider_latencies(window, app, key, moves)
        bare = bare_decoder_ms(window.context.models[key].path)
        median, p99 = statistics.median(latencies), _percentile(latencies, 99)
        name = family.title
        figures += [
            Figure(f"{name} slider latency, median", median, "ms", f"≤ 1.5 × bare decoder ({1.5 * bare:.2f} ms)",
                   median <= 1.5 * bare),
            Figure(f"{name} slider latency, 99th percentile", p99, "ms", f"< {FRAME_MS:.1f} ms", p99 < FRAME_MS),
            Figure(f"{name} bare decoder forward", bare, "ms", "", None),
        ]
        if not drag_stalls:  # dragging the first family's sliders (the VAE's when it is loaded) is enough
            drag_stalls = drag_stall_ms(window, app, key, 2.0 if quick else 5.0)
    figures += stall_figures("while sliders are dragged", drag_stalls)
    ddim_seconds: dict[str, float] = {}
    for family in (f for f in loaded if f.iterative):
        figures += diffusion_slider_figures(window, app, models[family.name], 10 if quick else 40, family.title)
        measured = diffusion_figures(window, app, models[family.name], quick, family.title)
        ddim_seconds[family.name] = measured[0].value
        figures += measured
    figures += time_bar_figures(loaded, ddim_seconds)
    figures += stall_figures("while a training run is going", training_stall_ms(window, app, 3.0 if quick else 8.0))
    return figures


def time_bar_figures(loaded, ddim_seconds: dict[str, float]) -> list[Figure]:
    """A family's bars on time against another family (BarAgainst.timed: latent diffusion at most a quarter of the
    pixel model's), judged on the bare DDIM-50 seconds per image that diffusion_figures measured in this run."""
    figures = []
    for family in loaded:
        for bar in (b for b in family.bars_against if b.timed):
            mine, theirs = ddim_seconds.get(family.name), ddim_seconds.get(bar.other)
            if mine is None or theirs is None:
                continue
            other = next(f.title for f in loaded if f.name == bar.other)
            figures.append(Figure(f"{family.title} DDIM-50 time against the {other}'s", mine / theirs, "×",
                                  f"≤ {bar.needed:g} ×", bar.met(mine, theirs)))
    return figures


def stall_figures(when: str, stalls: list[float]) -> list[Figure]:
    if not stalls:
        return []
    p99 = _percentile(stalls, 99)
    return [Figure(f"GUI stall {when}, 99th percentile", p99, "ms", "< 20 ms", p99 < 20),
            Figure(f"GUI stall {when}, longest", max(stalls), "ms", "", None)]


def bare_decoder_ms(path: str, repeats: int = 50, decoding=None) -> float:
    """Median time of one batch-1 decode (with `decoding`, or the family's default), on the worker's thread count,
    without the app around it."""
    import torch

    from explorer.worker.inference_worker import inference_threads
    from models.checkpoint import load_checkpoint
    from models.generative import DEFAULT_DECODING
    torch.set_num_threads(inference_threads())
    model = load_checkpoint(path).model
    z = model.latents_for_seeds([0])
    decoding = decoding or DEFAULT_DECODING
    times = []
    with torch.no_grad():
        model.decode(z, decoding)
        for _ in range(repeats):
            start = time.perf_counter()
            model.decode(z, decoding)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def slider_latencies(window, app, key: str, moves: int) -> list[float]:
    """Milliseconds from each slider move to its face on screen; the next move waits for the paint."""
    panel = window.explore
    window.context.set_current(key)
    _wait(app, lambda: key in window.context.analyses and window.worker.is_idle(), 600, "the model's sliders")
    latencies: list[float] = []

    def on_rendered(latency: float, _worker: float) -> None:
        latencies.append(latency * 1000)

    panel.rendered.connect(on_rendered)
    slider = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    try:
        for i in range(moves):
            wanted = len(latencies) + 1
            slider.setValue(float(np.sin(i / 7) * 2.5))
            if len(latencies) < wanted:
                _await(panel.rendered, 30, "a face")
    finally:
        panel.rendered.disconnect(on_rendered)
    return latencies


def diffusion_slider_latencies(window, app, key: str, moves: int) -> tuple[list[float], list[float]]:
    """For a family that decodes in steps: milliseconds from each move of a held slider to its draft on screen, and
    from letting go to the full face on screen (press, move, draft painted, release, full face painted; `moves`
    times). A main-direction slider: such a latent (a picture of noise) has no raw-number sliders."""
    panel = window.explore
    window.context.set_current(key)
    _wait(app, lambda: key in window.context.analyses and window.worker.is_idle(), 600, "the model's sliders")
    bank = panel.principal_bank
    if not bank.names():
        raise RuntimeError("the model has no main-direction sliders to drag")
    slider = bank.sliders[bank.names()[0]]
    drafts: list[float] = []
    full: list[float] = []

    def on_rendered(latency: float, _worker: float) -> None:
        (drafts if panel.shown_draft else full).append(latency * 1000)

    def until(count: int, times: list[float], what: str) -> None:
        while len(times) < count:
            _await(panel.rendered, 60, what)

    _spin(app, 0.1)  # the face of the model just chosen is painted before the first move
    panel.rendered.connect(on_rendered)
    try:
        for i in range(moves):
            slider.slider.setSliderDown(True)
            slider.setValue(float(np.sin((i + 1) / 3) * 2.5))  # never the value it has: every move is a move
            until(i + 1, drafts, "a draft")
            slider.slider.setSliderDown(False)  # sliderReleased: the full face now
            until(i + 1, full, "the full face")
    finally:
        slider.slider.setSliderDown(False)
        panel.rendered.disconnect(on_rendered)
    return drafts, full


# The draft's target. Its steps come from the measured steps curve (explorer/panels/explore/drag_drafts.py: DDIM-5
# is the cheapest draft near the full face). Measured bare on one CPU thread of a shared 2-core machine (batch 1), 5
# steps took about 80 ms a face for the 32 px pixel model and 72-90 ms for 64 px latent models, where DDIM-20, the
# full face, took 183-408 ms. The app may add what it adds to a one-pass decoder (1.5 x, the VAE's target), which
# puts a draft at 110-135 ms: 150 ms (between 6 and 7 faces a second) is what a hand dragging a slider still sees
# follow it on such a machine, and what the DDIM-20 full face cannot reach there.
DRAFT_TARGET_MS = 150.0
SAMPLER_NAMES = {"ddim": "DDIM", "ddpm": "DDPM", "dpm++": "DPM-Solver++"}


def diffusion_slider_figures(window, app, key: str, moves: int, title: str) -> list[Figure]:
    """Draft and full-face latency of a held slider, beside the bare sampler of the same steps (same run)."""
    from explorer.panels.explore.drag_drafts import DRAFT_SAMPLER, DRAFT_STEPS
    from models.generative import Decoding
    drafts, full = diffusion_slider_latencies(window, app, key, moves)
    steps = int(window.explore.steps.value())
    path = window.context.models[key].path
    bare_draft = bare_decoder_ms(path, 10, Decoding(DRAFT_SAMPLER, DRAFT_STEPS))
    bare_full = bare_decoder_ms(path, 5, Decoding("ddim", steps))
    draft, refined = statistics.median(drafts), statistics.median(full)
    what = f"{SAMPLER_NAMES.get(DRAFT_SAMPLER, DRAFT_SAMPLER)}-{DRAFT_STEPS}"
    return [
        Figure(f"{title} slider draft ({what}) on screen, median", draft, "ms",
               f"≤ 1.5 × bare ({1.5 * bare_draft:.0f} ms), < {DRAFT_TARGET_MS:.0f} ms",
               draft <= 1.5 * bare_draft and draft < DRAFT_TARGET_MS),
        Figure(f"{title} bare {what} sampler", bare_draft, "ms", "", None),
        Figure(f"{title} slider let go: full face (DDIM-{steps}) on screen, median", refined, "ms",
               f"≤ 1.5 × bare ({1.5 * bare_full:.0f} ms)", refined <= 1.5 * bare_full),
        Figure(f"{title} bare DDIM-{steps} sampler", bare_full, "ms", "", None),
    ]


def drag_stall_ms(window, app, key: str, seconds: float) -> list[float]:
    """Stalls while a slider moves at 60 Hz, as a hand drags it, for `seconds`."""
    from PySide6.QtCore import QTimer
    window.context.set_current(key)
    panel = window.explore
    slider = panel.raw_bank.sliders[panel.raw_bank.names()[0]]
    phase = [0]

    def move() -> None:
        phase[0] += 1
        slider.setValue(float(np.sin(phase[0] / 11) * 2.5))

    mover = QTimer()
    mover.setInterval(int(FRAME_MS))
    mover.timeout.connect(move)
    meter = StallMeter()
    meter.start()
    mover.start()
    _spin(app, seconds)
    mover.stop()
    stalls = meter.stop()
    _wait(app, window.worker.is_idle, 30, "the last face")
    return stalls


def diffusion_figures(window, app, key: str, quick: bool, title: str) -> list[Figure]:
    """DDIM-50 in the Diffusion tab (previewing every step) against the bare sampler, same seed; DDPM with all its
    steps bare. For a family that decodes in steps; `title` leads the figures' names. A latent model's run decodes
    its pictures after the face (its decoder costs several steps), which is timed as a figure of its own."""
    import torch

    from explorer.worker.inference_worker import inference_threads
    from models.checkpoint import load_checkpoint
    from models.generative import Decoding
    panel = window.diffusion
    window.context.set_current(key)
    window.tabs.setCurrentWidget(panel)
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddim"))
    panel.steps.setValue(50)
    panel.seed.setValue(0)
    _wait(app, window.worker.is_idle, 600, "the worker")
    torch.set_num_threads(inference_threads())  # the worker's thread count: the same conditions
    model = load_checkpoint(window.context.models[key].path).model
    z = model.latents_for_seeds([0])

    drawing_after: list[float] = []

    def in_the_app(stalls: list[float] | None) -> float:
        """Seconds from Generate to the finished face. A latent model's timeline pictures are decoded after that
        (explorer/worker/run_frames_jobs.py): timed apart, and waited for, so that the bare run beside it does not
        share the CPU with them."""
        meter = StallMeter()
        meter.start()
        start = time.perf_counter()
        panel.start()
        _await(panel.finished, 600, "the diffusion run")
        seconds = time.perf_counter() - start
        _wait(app, window.worker.is_idle, 600, "the run's pictures")
        drawing_after.append(time.perf_counter() - start - seconds)
        measured = meter.stop()
        if stalls is not None:
            stalls += measured
        return seconds

    def bare_ddim() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            model.decode(z, Decoding(sampler="ddim", steps=50))
        return time.perf_counter() - start

    # A first run of each, not counted (one-time costs), then the two take turns, so that a slow spell of a
    # shared machine falls on both rather than on one.
    in_the_app(None)
    bare_ddim()
    runs = 1 if quick else 3
    previewed, bare, stalls = [], [], []
    for _ in range(runs):
        previewed.append(in_the_app(stalls))
        bare.append(bare_ddim())
    window.tabs.setCurrentWidget(window.explore)
    with torch.no_grad():
        start = time.perf_counter()
        model.decode(z, Decoding(sampler="ddpm"))  # steps None: every step of its schedule
        ddpm = time.perf_counter() - start
    with_preview, without = statistics.median(previewed), statistics.median(bare)
    overhead = (with_preview - without) / without * 100
    return [Figure(f"{title} DDIM-50, seconds per image", without, "s", "", None),
            Figure(f"{title} DDPM-1000, seconds per image", ddpm, "s", "", None),
            Figure(f"{title} DDIM-50 in the app, with the live preview", with_preview, "s", "", None),
            Figure(f"{title} live preview overhead", overhead, "%", "≤ 10 %", overhead <= 10),
            *([Figure(f"{title} timeline pictures, drawn after the face", statistics.median(drawing_after[1:]), "s",
                      "", None)] if panel.latent else []),
            *stall_figures("while a DDIM-50 run previews every step", stalls)]


def training_stall_ms(window, app, seconds: float) -> list[float]:
    """Stalls while a GAN training run (started from the Train tab) sends its events to the window."""
    from models.train_settings import TrainSettings, settings_arguments

    panel = window.train
    with tempfile.TemporaryDirectory() as folder:
        settings = TrainSettings(family=STALL_FAMILY, out=str(Path(folder) / "run"), data="synthetic-faces",
                                 data_count=TRAIN_DATA, image_size=32, batch_size=16, steps=100000, log_every=1,
                                 sample_every=20, checkpoint_every=0)
        window.tabs.setCurrentWidget(panel)
        panel._launch(settings_arguments(settings), settings.family)
        _wait(app, lambda: panel.step > 2, 300, "the training run to start")
        meter = StallMeter()
        meter.start()
        _spin(app, seconds)
        stalls = meter.stop()
        panel.process.kill()
        panel.process.wait(10_000)
        window.tabs.setCurrentWidget(window.explore)
    return stalls


# ------------------------------------------------------------------------------------------------ training
def bench_settings(family: str, out: str):
    from models.family import get_family
    from models.train_settings import TrainSettings

    # The size of the shipped models: 32 px for a family that decodes in steps (the diffusion model, whose every
    # image costs many network passes), 64 px for the others.
    size = 32 if get_family(family).iterative else 64
    return TrainSettings(family=family, out=out, data="synthetic-faces", steps=TRAIN_STEPS, batch_size=TRAIN_BATCH,
                         image_size=size, device="auto", data_count=TRAIN_DATA, log_every=1, sample_every=0,
                         checkpoint_every=0)


def bare_training_ips(family: str) -> float:
    """Images/s of the same model, batch and device as `train`, in a plain loop: no events, files or checks."""
    import torch

    from models.data import load_dataset
    from models.distributed import resolve_device
    from models.family import build_model
    from models.train import BatchSource
    from models.trainer import make_trainer
    s = bench_settings(family, "")
    device = resolve_device(s.device)
    torch.manual_seed(0)
    data = load_dataset(s.data, size=s.image_size, count=s.data_count, seed=0)
    model = build_model(family, s.model_config()).to(device)
    trainer = make_trainer(model, None, None, lambda m: m, torch.Generator().manual_seed(1))
    batches = BatchSource(data, s.batch_size, device, torch.Generator().manual_seed(2))
    for _ in range(2):
        trainer.step(batches)
    start = time.perf_counter()
    for _ in range(TRAIN_STEPS - 2):
        trainer.step(batches)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (TRAIN_STEPS - 2) * trainer.images_per_step * s.batch_size / (time.perf_counter() - start)


def command_training_ips(family: str) -> float:
    """Images/s through `python main.py train`, from its own events: steps 3.. over their elapsed time."""
    from explorer.panels.train.training_process import app_command
    from models.train_settings import settings_arguments

    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(family, str(Path(folder) / "run"))
        cmd = [*app_command("train"), *settings_arguments(settings), "--events"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    steps = [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{"event": "step"')]
    if len(steps) < TRAIN_STEPS:
        raise RuntimeError(f"`train` did not finish: {out.stderr[-500:]}")
    first, last = steps[1], steps[-1]
    images = (last["step"] - first["step"]) * TRAIN_BATCH  # one batch of real images per step for every default loss
    return images / (last["elapsed_seconds"] - first["elapsed_seconds"])


def _in_subprocess(function: str, family: str) -> float:
    """Run one of the training measurements in a fresh process, as `train` itself runs: equal footing."""
    code = f"from explorer.cli.bench import {function}; print({function}({family!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT,
                         check=False)
    if out.returncode:
        raise RuntimeError(out.stderr[-800:])
    return float(out.stdout.strip().splitlines()[-1])


def training_figures(names: tuple[str, ...] | None = None) -> list[Figure]:
    """Training throughput of the families named (default: every registered one), in the app's order."""
    from models.family import families

    figures = []
    for family in (f for f in families() if names is None or f.name in names):
        # Best of several, taking turns: on a shared CPU, noise only ever slows a run down, and a lone short run
        # of each was seen to differ by 10 % either way between two bench runs.
        bare, through = 0.0, 0.0
        for _ in range(TRAIN_REPEATS):
            bare = max(bare, _in_subprocess("bare_training_ips", family.name))
            through = max(through, _in_subprocess("command_training_ips", family.name))
        ratio = through / bare
        figures += [Figure(f"{family.title} training, bare loop", bare, "images/s", "", None),
                    Figure(f"{family.title} training through `train`", through, "images/s", "≥ 0.95 × bare loop",
                           ratio >= 0.95)]
    return figures


# ---------------------------------------------------------------------------------------------------- main
def run_bench(quick: bool = False, report=lambda _: None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.main_window import MainWindow
    from models.distributed import describe_device, resolve_device
    started = time.perf_counter()
    figures: list[Figure] = []
    report("start-up")
    seconds = startup_seconds()
    figures.append(Figure("Start-up to the first face on screen", seconds, "s", "< 5 s", seconds < 5))
    report("the app: sliders, GUI stalls, diffusion")
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "bench.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(1280, 860)
        window.show()
        window.load_startup_models()
        try:
            figures += app_figures(window, app, quick)
        finally:
            window.close()
    report("training throughput")
    figures += training_figures()
    import torch
    device = describe_device(resolve_device("auto")) + f", torch {torch.__version__}"
    return {"device": device, "seconds": round(time.perf_counter() - started, 1),
            "figures": [asdict(f) for f in figures]}


def print_table(result: dict) -> None:
    print(f"Latent Explorer bench on {result['device']} ({result['seconds']:.0f} s)")
    for f in result["figures"]:
        mark = {True: "met", False: "MISSED", None: ""}[f["met"]]
        value = f"{f['value']:.3g}" if abs(f["value"]) < 1000 else f"{f['value']:,.0f}"
        print(f"  {f['name']:68} {value:>9} {f['unit']:9} {f['target']:32} {mark}")
