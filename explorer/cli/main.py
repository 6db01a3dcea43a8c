"""`python main.py [command]`: the headless commands. Every error is one clear line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from explorer.cli.arguments import (
    CHECKPOINT_HELP,
    UsageError,
    checkpoint_argument,
    number,
    output_file,
    whole,
)
from explorer.panels import TABS
from models.printable import printable
from models.setting_ranges import (
    ETA,
    EVAL_SAMPLES,
    FACE_SIZE,
    FRAMES,
    GRID_IMAGES,
    SAMPLING_STEPS,
    SEED,
    path_problem,
)

COMMANDS = {
    "train": "train a model of any family (--model; see train --help) on Synthetic Faces or a folder of images",
    "sample": "draw a grid of images from a checkpoint",
    "interpolate": "morph between two seeds and save a strip (PNG) or an animation (GIF)",
    "evaluate": "measure a checkpoint: Fréchet distance, precision/recall, density/coverage, sharpness, path length, "
                "reconstruction, speed; guidance hit rates; with --curves quality-for-variety and steps curves",
    "bench": "measure the app's speed on this device (slider latency, GUI stalls, diffusion, training, start-up)",
}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit code 2)."""

    def error(self, message: str):
        print(f"error: {printable(message)} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def app_file(text: str) -> str:
    """A file to open in the window: a path, or a shipped model's name ('python main.py vae'). A name that no file
    can have (empty, a NUL, too long for the system) is a usage mistake here: the window would meet it as OSError."""
    from explorer.worker.model_catalog import resolve_checkpoint
    from models.checkpoint import CheckpointError

    problem = path_problem(text, "a file to open")
    if problem:
        raise argparse.ArgumentTypeError(problem)
    try:
        return str(resolve_checkpoint(text))
    except CheckpointError:
        return text  # not a name either: the window says what is wrong with it


def build_parser() -> Parser:
    # Here, not at the top: listing the families imports their models (torch), which opening the window by way of
    # this module need not wait for.
    from explorer.cli.train import add_train_arguments

    parser = Parser(prog="python main.py", description="Latent Explorer: VAEs, GANs and diffusion models, side by side.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="command")

    t = sub.add_parser("train", help=COMMANDS["train"], description=COMMANDS["train"])
    add_train_arguments(t)  # from the settings' schema and the registered families (explorer/cli/train.py)

    from explorer.cli.guidance_arguments import attribute_wants, scale_list
    from models.config_check import Number, Whole
    from models.diffusion import SAMPLERS
    from models.generative import DEFAULT_GUIDANCE, DEFAULT_GUIDE, GUIDES, MAX_GUIDANCE

    s = sub.add_parser("sample", help=COMMANDS["sample"], description=COMMANDS["sample"])
    s.add_argument("--checkpoint", required=True, type=checkpoint_argument, help=CHECKPOINT_HELP)
    s.add_argument("-n", type=whole(GRID_IMAGES), default=16, help="how many images")
    s.add_argument("--seed", type=whole(SEED), default=0, help="image i uses seed + i")
    s.add_argument("--sampler", choices=SAMPLERS, default="ddim",
                   help="diffusion only: ddim, ddpm or dpm++ (DPM-Solver++ 2M, Lu et al. 2022)")
    s.add_argument("--steps", type=whole(SAMPLING_STEPS), default=None,
                   help="diffusion: steps (by default DDIM 50, DPM++ 20, DDPM every one of the schedule's)")
    s.add_argument("--eta", type=number(ETA), default=0.0, help="diffusion DDIM: 0 deterministic ... 1 DDPM-like")
    s.add_argument("--attributes", type=attribute_wants, default=None, metavar="NAME=VALUE,...",
                   help="a guided family (latent diffusion): steer every face toward these attributes, in their "
                        "own units, such as smile=1,glasses=1 (smile -1..1, glasses 0 or 1, hair_color 0 black "
                        "..1 grey, skin_tone 0 light..1 dark)")
    s.add_argument("--guidance", type=number(Number(0.0, MAX_GUIDANCE)), default=None, metavar="SCALE",
                   help=f"how hard to steer toward --attributes, 0 to {MAX_GUIDANCE:g} (0 unguided; default "
                        f"{DEFAULT_GUIDANCE['free']:g} classifier-free, {DEFAULT_GUIDANCE['classifier']:g} with the "
                        "classifier)")
    s.add_argument("--guide", choices=GUIDES, default=None,
                   help=f"free: classifier-free guidance (Ho & Salimans 2022); classifier: a noise-aware attribute "
                        f"classifier's gradient (Dhariwal & Nichol 2021); default {DEFAULT_GUIDE}")
    s.add_argument("--out", required=True, type=output_file(".png"), help="a .png file")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])

    i = sub.add_parser("interpolate", help=COMMANDS["interpolate"], description=COMMANDS["interpolate"])
    i.add_argument("--checkpoint", required=True, type=checkpoint_argument, help=CHECKPOINT_HELP)
    i.add_argument("--seeds", type=whole(SEED), nargs=2, required=True, metavar=("A", "B"))
    i.add_argument("--frames", type=whole(FRAMES), default=12)
    i.add_argument("--mode", choices=["lerp", "slerp"], default="slerp")
    i.add_argument("--steps", type=whole(SAMPLING_STEPS), default=50, help="diffusion: DDIM steps per frame")
    i.add_argument("--out", required=True, type=output_file(".png", ".gif"), help="a .png strip or a .gif animation")
    i.add_argument("--size", type=whole(FACE_SIZE), default=512, metavar="PX",
                   help="pixels per face in the picture (default 512; the faces are enlarged with crisp pixels)")
    i.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])

    e = sub.add_parser("evaluate", help=COMMANDS["evaluate"], description=COMMANDS["evaluate"])
    e.add_argument("--checkpoint", required=True, type=checkpoint_argument, help=CHECKPOINT_HELP)
    e.add_argument("--samples", type=whole(EVAL_SAMPLES), default=2000,
                   help="generated images, and held-out faces to compare")
    e.add_argument("--seed", type=whole(SEED), default=0, help="image i uses seed + i")
    e.add_argument("--guidance-attributes", type=attribute_wants, default=None, metavar="NAME=VALUE,...",
                   help="a guided family: the attributes whose hit rates are measured (default smile=1,glasses=1). "
                        "Guided families always get hit rates: GUIDANCE-SAMPLES samples unguided and as many at "
                        "each guided scale, each guided one costing two denoiser passes a step (with the defaults "
                        "about a quarter more denoiser passes than the rest of the run)")
    e.add_argument("--guide", choices=GUIDES, default=None,
                   help=f"a guided family: free or classifier (default {DEFAULT_GUIDE})")
    e.add_argument("--guidance-scales", type=scale_list(MAX_GUIDANCE), default=None, metavar="S,S,...",
                   help="a guided family: the scales to measure hit rates at besides the guide's default "
                        f"({DEFAULT_GUIDANCE[DEFAULT_GUIDE]:g}); default 0 (unguided). 0,1,2,3,5,8 gives the card's "
                        "curve, about three times the hit rates' default cost")
    e.add_argument("--guidance-samples", default=200,
                   type=whole(Whole(0, EVAL_SAMPLES.high, lambda n: n == 0 or n >= EVAL_SAMPLES.low,
                                    f"0 or at least {EVAL_SAMPLES.low}")),
                   help="samples per guidance scale (default 200, never more than --samples; 0 leaves hit rates out)")
    e.add_argument("--curves", action="store_true",
                   help="also measure each family's quality-for-variety knob as precision against recall "
                        "(guidance scale 0-5, GAN truncation, VAE temperature: 4-5 settings of CURVE-SAMPLES "
                        "samples) and, for diffusion, Fréchet distance at 5, 10, 20 and 50 steps of DDIM and "
                        "DPM++ (170 sampling steps per sample). Costly: for latent "
                        "diffusion nearly three times the default run's denoiser passes again")
    e.add_argument("--curve-samples", type=whole(EVAL_SAMPLES), default=500,
                   help="samples per setting of --curves (default 500, never more than --samples)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])

    b = sub.add_parser("bench", help=COMMANDS["bench"], description=COMMANDS["bench"])
    b.add_argument("--json", action="store_true", help='print one JSON object: {"device", "figures": [...]}')
    b.add_argument("--quick", action="store_true", help="fewer repeats: a check that it works, not figures to quote")
    parser.commands = {"train": t, "sample": s, "interpolate": i, "evaluate": e, "bench": b}
    return parser


def parse_command(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of a command, every one within its range; a mistake is one line and exit 2 (SystemExit)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        from explorer.cli.arguments import check_train_arguments

        check_train_arguments(parser.commands["train"], args)
    return args


def print_commands() -> None:
    print("Latent Explorer — commands:")
    for name, text in COMMANDS.items():
        print(f"  python main.py {name:<12} {text}")
    print("Run 'python main.py COMMAND --help' for a command's options.")




def window_size(text: str) -> tuple[int, int]:
    """'1024x768' -> (1024, 768), within sizes a screen can have."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 1024x768")
    width, height = (int(p) for p in parts)
    if not (320 <= width <= 16384 and 240 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"{width}x{height} is not a screen size (320x240 to 16384x16384)")
    return width, height


def build_app_parser() -> Parser:
    parser = Parser(prog="python main.py", description="Open the Latent Explorer window. Commands: "
                    + ", ".join(COMMANDS) + " (see 'python main.py COMMAND --help').")
    parser.add_argument("files", nargs="*", type=app_file,
                        help="checkpoints (.safetensors, or a shipped model's name such as vae) or face images")
    parser.add_argument("--screenshot", metavar="PATH", type=output_file(),
                        help="draw the window offscreen, save it as PNG and exit")
    parser.add_argument("--tab", choices=TABS, help="the tab to show")
    parser.add_argument("--size", type=window_size, metavar="WxH",
                        help="the window's size (with --screenshot: the size of the screen it is drawn on)")
    parser.add_argument("--presenter", action="store_true",
                        help="start in presenter mode (full screen, large type: for a projector)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["--help"], ["-h"], ["commands"]):
        print_commands()
        print("With no command, 'python main.py [--tab TAB] [--screenshot PATH] [FILES]' opens the window.")
        return 0
    try:
        opens_app = not argv or argv[0].startswith("-") or os.path.exists(argv[0]) or (
            argv[0] not in COMMANDS and names_app_file(argv[0]))
        if opens_app:
            app_args = build_app_parser().parse_args(argv)  # `files` through app_file: paths, names resolved
        else:
            args = parse_command(argv)
    except Exception as exc:  # noqa: BLE001 - checking arguments must not end in a traceback, whatever it meets
        usage_failure(exc)
    if opens_app:
        from explorer.app import run_app

        return run_app(app_args.screenshot, app_args.tab, app_args.device, app_args.files,
                       size=app_args.size, presenter=app_args.presenter)
    try:
        if args.command == "train":
            from explorer.cli.train import run_train

            return run_train(args)
        from explorer.cli import generate as cli_generate

        if args.command == "evaluate":
            from explorer.cli.evaluate import run_evaluate

            return run_evaluate(args)
        if args.command == "bench":
            from explorer.cli.bench import print_table, run_bench

            result = run_bench(args.quick, report=lambda what: print(f"… {what}", file=sys.stderr, flush=True))
            if args.json:
                print(json.dumps(result), flush=True)
            else:
                print_table(result)
            return 0
        return {"sample": cli_generate.run_sample, "interpolate": cli_generate.run_interpolate}[args.command](args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        line = one_line(exc)
        if not expected(exc):  # a bug: its traceback goes to the log, and the line says where
            from explorer.error_log import where_the_details_are
            line = f"{line.rstrip('.')}. {where_the_details_are(exc, f'python main.py {args.command}')}"
        print(f"error: {printable(line)}", file=sys.stderr)  # file names and metadata may hold escapes
        if os.environ.get("LATENT_EXPLORER_DEBUG"):
            raise
        return 1


def names_app_file(text: str) -> bool:
    """Whether a first argument that is no command means a file for the window: a shipped model's name, or a name
    no file can have (the window's parser then says why in one line, rather than 'invalid choice')."""
    try:
        return app_file(text) != text
    except argparse.ArgumentTypeError:
        return True


def usage_failure(exc: Exception) -> NoReturn:
    """An argument check that failed by itself (not a usage mistake it found): one line, exit 2 as for any
    mistake on the command line; a bug's traceback goes to the log, and the line says where."""
    line = one_line(exc)
    if not expected(exc):
        from explorer.error_log import where_the_details_are
        line = f"{line.rstrip('.')}. {where_the_details_are(exc, 'python main.py (checking its arguments)')}"
    print(f"error: {printable(line)}", file=sys.stderr)
    if os.environ.get("LATENT_EXPLORER_DEBUG"):
        raise exc
    sys.exit(2)


def expected(exc: BaseException) -> bool:
    """An error a person can meet with a working program (a bad argument or file, too little memory), not a bug."""
    from explorer.error_log import is_sentence
    from models.distributed import memory_exhausted

    return (is_sentence(exc) or isinstance(exc, UsageError) or memory_exhausted(exc) is not None
            or isinstance(exc, OSError) and bool(exc.filename))


def one_line(exc: BaseException) -> str:
    """Our own errors carry a sentence for people; anything else is named by its type as well."""
    from explorer.error_log import is_sentence
    from models.distributed import memory_exhausted, out_of_memory_words

    text = " ".join(str(exc).split())
    if is_sentence(exc) or isinstance(exc, UsageError):
        return text
    where = memory_exhausted(exc)
    if where is not None:
        return f"{out_of_memory_words(where)}; ask for fewer images or steps" + (
            ", or use --device cpu" if where == "gpu" else "")
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or text}: '{exc.filename}'"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
