"""Make a training run's checkpoint one of the app's shipped models, with its model card.

    python -m models.ship_model RUN_FOLDER --name gan --command "python main.py train ..." [--samples 2000]
    python -m models.ship_model --analysis-only --name gan   (after the directions' code changed)
    python -m models.ship_model --refresh-card --name gan [--samples 2000]   (after `evaluate` gained figures)

Copies RUN_FOLDER/model.safetensors to resources/NAME.safetensors and writes beside it:
- NAME.card.json: the training command, steps, training time and device (read from the run's JSON-lines log,
  RUN_FOLDER.log, summed over resumed segments), and `python main.py evaluate`'s figures on 2,000 samples;
- NAME.analysis.safetensors: the Explore sliders' directions, so the app does not compute them at start;
- NAME.samples.png: 64 samples (seeds 0-63) in an 8x8 grid, the picture a person judges the model by.
Guided families' cards also hold guidance hit rates at every scale, and every family's its quality-for-variety
knob curve and (if it samples in steps) Fréchet distance against step count (models/guidance_measures.py).
--refresh-card measures a shipped model again and rewrites only its card's `evaluate`, `evaluate_command`,
`feature_net_sha256` (what the figures were measured with) and `quality_bars`, then README.md; the checkpoint, its
training record and notes stay as they are.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from models.atomic_file import atomic_write_bytes
from models.cache import file_digest
from models.checkpoint import load_checkpoint
from models.data import HELD_OUT_SEED, synthetic_faces
from models.directions import (
    ANALYSIS_FACES,
    ANALYSIS_SAMPLES,
    analyse_latent_space,
    save_analysis,
)
from models.evaluate import CARD_EXTRAS, evaluate
from models.family import (
    Family,
    families,
    family_names,
    family_of,
    find_family,
    inference_state_dict,
)
from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net
from models.guidance_measures import knob_curve_steps, knob_of, steps_curve_steps
from models.image_io import make_grid, save_png, to_uint8
from models.metrics import METRIC_DECODING, drain, generate, seconds_per_image
from models.printable import printable
from models.shipped import resources_dir

RESOURCES = resources_dir()


def timed_pairs(model, out: Path = RESOURCES, rounds: int = 3) -> dict[str, tuple[float, float]]:
    """For each of the model's family's bars on a time (BarAgainst.timed) whose other model is shipped in `out`:
    (this model's, the other's) seconds per image with METRIC_DECODING, one image at a time, timed here in turns so
    that a slow spell of the machine falls on both; the medians of `rounds` turns."""
    pairs = {}
    for bar in family_of(model).bars_against:
        path = out / f"{bar.other}.safetensors"
        if not bar.timed or not path.is_file():
            continue
        print(f"timing it beside the shipped {bar.other}…", file=sys.stderr, flush=True)
        other = load_checkpoint(path, torch.device("cpu")).model.eval()
        mine, theirs = [], []
        for _ in range(rounds):
            mine.append(seconds_per_image(model, n=4, decoding=METRIC_DECODING))
            theirs.append(seconds_per_image(other, n=4, decoding=METRIC_DECODING))
        pairs[bar.other] = (statistics.median(mine), statistics.median(theirs))
    return pairs


def quality_bars(family: str, figures: dict, out: Path = RESOURCES,
                 timed: dict[str, tuple[float, float]] | None = None) -> dict:
    """Per barred figure: its ratio to real-vs-real, the ratio needed, and whether it is met. The bars are the
    family's own (Family.ship_bars, issue 5's): each figure as a fraction of the same figure for real faces against
    real faces; a family without any has none to meet. Then its bars against other families' shipped models
    (Family.bars_against), read from their cards in `out`: "vae: precision" and the like, with both figures; a bar
    whose other model or figure is not there is recorded as not met, saying why. A bar on a time takes both figures
    from `timed` (timed_pairs: measured in one run), never from two cards."""
    known = find_family(family)
    bars = {}
    for key, needed in (known.ship_bars if known else {}).items():
        ratio = figures[key] / figures[f"{key}_real"]
        bars[key] = {"ratio_to_real": round(ratio, 3), "needed": needed, "met": bool(ratio >= needed)}
    for bar in known.bars_against if known else ():
        entry: dict[str, Any] = {"rule": bar.words()}
        if bar.timed:
            mine, theirs = (timed or {}).get(bar.other, (None, None))
            entry["measured"] = "both in one run, taking turns"
            why = f"it was not timed beside a shipped {bar.other}"
        else:
            theirs, mine = _card_figure(out / f"{bar.other}.card.json", bar.figure), figures.get(bar.figure)
            why = (f"the shipped {bar.other}'s card has no {bar.figure}" if mine is not None
                   else f"{bar.figure} was not measured")
        entry |= {"value": mine, "theirs": theirs}
        if isinstance(theirs, (int, float)) and isinstance(mine, (int, float)):
            entry["met"] = bool(bar.met(mine, theirs))
        else:
            entry.update(met=False, why=why)
        bars[f"{bar.other}: {bar.figure}"] = entry
    return bars


def _card_figure(path: Path, key: str):
    """One evaluate figure from a shipped card, or None when the card or the figure is not there."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("evaluate", {}).get(key)
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def training_log(log: Path) -> dict:
    """Seconds of training summed over the run's segments (each resume restarts the clock), and devices."""
    seconds, devices, segment, steps = 0.0, [], 0.0, 0
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "start":
            seconds += segment
            segment = 0.0
            if event.get("device") not in devices:
                devices.append(event.get("device"))
        elif event.get("event") == "step":
            segment = float(event.get("elapsed_seconds", segment))
            steps = int(event.get("step", steps))
    return {"training_seconds": round(seconds + segment, 1), "devices": devices, "last_logged_step": steps}


def write_analysis(model, net, path: Path):
    """The Explore sliders' directions, computed as the app computes them (same faces, samples and seed)."""
    print("finding the slider directions…", file=sys.stderr, flush=True)
    by_encoder = family_of(model).directions == "encoder"  # it encodes labelled faces; the others draw their own
    faces = synthetic_faces(ANALYSIS_FACES, model.image_size, HELD_OUT_SEED) if by_encoder else None
    analysis = None
    for step in analyse_latent_space(model, faces=faces, feature_net=net, samples=ANALYSIS_SAMPLES):
        analysis = step.result or analysis
    save_analysis(path, analysis)
    return analysis


def measured_figures(model, net, name: str, samples: int) -> dict:
    """`python main.py evaluate`'s figures on the CPU, with how long they took."""
    start = time.perf_counter()
    print(f"evaluating {name} on {samples:,} samples…", file=sys.stderr, flush=True)
    # Every extra measure the family's features call for, at the card's settings: hit rates at every guidance
    # scale (guided families), the knob curve (every family with a knob), the steps curve (families with steps).
    figures = evaluate(model, net, samples=samples, report=lambda m: print(f"  {m}", file=sys.stderr, flush=True),
                       extras=CARD_EXTRAS)
    figures["device"] = "cpu"
    figures["seconds_to_measure"] = round(time.perf_counter() - start, 1)
    return figures


def evaluate_command(name: str, samples: int, family: Family | None = None) -> str:
    """The `evaluate` command that measures what the card holds (CARD_EXTRAS's flags, for the family's features)."""
    flags = ""
    if family is not None and family.guided:
        flags += " --guidance-scales " + ",".join(f"{s:g}" for s in CARD_EXTRAS.guidance_scales)
    if family is not None and (knob_of(family) is not None or family.iterative):
        flags += " --curves"
    return f"python main.py evaluate --checkpoint resources/{name}.safetensors{flags} --samples {samples}"


def ship(run: Path, name: str, command: str, samples: int = 2000, notes: str = "", out: Path = RESOURCES) -> Path:
    source = run / "model.safetensors"
    target = out / f"{name}.safetensors"
    shutil.copyfile(source, target)
    checkpoint = load_checkpoint(target, torch.device("cpu"))
    model = checkpoint.model
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    figures = measured_figures(model, net, name, samples)

    write_analysis(model, net, out / f"{name}.analysis.safetensors")

    grid = to_uint8(generate(model, 64, 0, decoding=METRIC_DECODING))
    # Small faces are saved at twice the size, as the training runs' own grids are, so a person can judge them.
    save_png(out / f"{name}.samples.png", make_grid(grid, columns=8, padding=2), scale=2 if model.image_size <= 32 else 1)

    meta = checkpoint.metadata
    log = run.parent / f"{run.name}.log"
    card = {
        "name": name, "family": model.family, "image_size": model.image_size,
        "parameters": sum(t.numel() for t in inference_state_dict(model).values()),  # what the file holds
        "file_bytes": target.stat().st_size, "checkpoint_sha256": file_digest(target),
        "feature_net_sha256": file_digest(DEFAULT_FEATURE_NET),
        "command": command, "steps": int(meta.get("step", 0)), "training": meta.get("training"),
        "dataset": meta.get("dataset", {}).get("name"),
        **(training_log(log) if log.exists() else {}),
        "evaluate_command": evaluate_command(name, samples, family_of(model)),
        "evaluate": figures, "quality_bars": quality_bars(model.family, figures, out, timed_pairs(model, out)),
        "samples_png": f"{name}.samples.png",
        "notes": notes,
    }
    path = out / f"{name}.card.json"
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path


class CardError(ValueError):
    """A shipped model's card cannot be refreshed; the message says why in a sentence."""


def _shipped_with_card(name: str, out: Path) -> tuple[Path, dict, Any]:
    """The shipped model NAME's card (a JSON object, for this very checkpoint) and the model; CardError if not."""
    path, target = out / f"{name}.card.json", out / f"{name}.safetensors"
    if not path.is_file() or not target.is_file():
        raise CardError(f"There is no shipped {name} with a card in {printable(out)} to refresh.")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CardError(f"{printable(path)} cannot be read as a card ({printable(exc)}).") from None
    if not isinstance(card, dict):
        raise CardError(f"{printable(path)} is not a model card (it holds no JSON object).")
    if card.get("checkpoint_sha256") != file_digest(target):
        # Its training record would then describe another model: shipping again is the way to a new checkpoint.
        raise CardError(f"{printable(path)} describes another checkpoint than {printable(target)}; ship it again "
                        "instead of refreshing its card.")
    return path, card, load_checkpoint(target, torch.device("cpu")).model.eval()


def refresh_card(name: str, samples: int = 2000, out: Path = RESOURCES) -> Path:
    """Measure the shipped model NAME again and rewrite its card's figures and bars, keeping every other field."""
    path, card, model = _shipped_with_card(name, out)
    figures = measured_figures(model, load_feature_net(DEFAULT_FEATURE_NET)[0].eval(), name, samples)
    card.update({"feature_net_sha256": file_digest(DEFAULT_FEATURE_NET),
                 "evaluate_command": evaluate_command(name, samples, family_of(model)), "evaluate": figures,
                 "quality_bars": quality_bars(model.family, figures, out, timed_pairs(model, out))})
    atomic_write_bytes(path, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    return path


def refresh_curves(name: str, samples: int, out: Path = RESOURCES) -> Path:
    """Measure only the shipped model's curves (the knob curve and, for a family with steps, the steps curve) on
    `samples` faces each and put them into its card, keeping every other figure: for a model whose full
    evaluation is too slow to repeat on this machine (the pixel diffusion model's 2,000 DDIM-50 samples take more
    than an hour on two CPU cores). The card says how many samples each curve had and the command."""
    path, card, model = _shipped_with_card(name, out)
    if not isinstance(card.get("evaluate"), dict):
        raise CardError(f"{printable(path)} holds no figures to add curves to; refresh the card instead.")
    family = family_of(model)
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    figures = dict(card["evaluate"])
    if knob_of(family) is not None:
        figures["knob_curve"] = drain(knob_curve_steps(model, net, samples=samples))
    if family.iterative:
        figures["steps_curve"] = drain(steps_curve_steps(model, net, samples=samples))
    card["evaluate"] = figures
    card["curves_command"] = f"python -m models.ship_model --name {name} --curves-only --samples {samples}"
    atomic_write_bytes(path, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    return path


HEADER = """# resources/

Files the app ships and reads at run time. Everything here is made by the project's own code; nothing is
downloaded. `feature_net.safetensors` is the feature network behind every metric (its card:
`feature_net.md`). Each trained model `NAME.safetensors` comes with its card `NAME.card.json` (the exact
training command, steps, time, device, `python main.py evaluate` on 2,000 samples against 2,000 held-out
faces, and issue 5's quality bars), its slider directions `NAME.analysis.safetensors` and 64 of its faces
(seeds 0-63) in `NAME.samples.png`. This page is written from the cards by `python -m models.ship_model`.
"""


def summary_markdown(out: Path = RESOURCES) -> str:
    """resources/README.md: the cards as tables a person reads."""
    parts = [HEADER]
    sampling = f" ({METRIC_DECODING.sampler.upper()}-{METRIC_DECODING.steps} sampling)"
    for family in families():  # a shipped model is named after its family
        path = out / f"{family.name}.card.json"
        if not path.exists():
            continue
        card = json.loads(path.read_text(encoding="utf-8"))
        e = card["evaluate"]
        hours = card.get("training_seconds", 0) / 3600
        parts.append(f"## {family.name}.safetensors\n")
        parts.append(f"- {card['parameters']:,} weights, {card['file_bytes'] / 1e6:.1f} MB, {card['image_size']} px; "
                     f"{card['steps']:,} steps on {printable(card.get('dataset'))}.")
        parts.append(f"- Trained with `{card['command']}`")
        took = f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min"
        parts.append(f"- Training time {took} on {', '.join(d for d in card.get('devices', []) if d)}.")
        if card.get("notes"):
            parts.append(f"- {card['notes']}")
        parts.append(f"- Measured with `{card['evaluate_command']}`"
                     + (sampling if family.iterative else "") + ":\n")
        parts.append("| figure | model | real vs real |\n|---|---|---|")
        for label, key in (("Fréchet distance", "fd"), ("precision", "precision"), ("recall", "recall"),
                           ("density", "density"), ("coverage", "coverage")):
            parts.append(f"| {label} | {e[key]:.3f} | {e[key + '_real']:.3f} |")
        if "sharpness" in e:  # cards written before the figure existed have none
            parts.append(f"| sharpness (fine detail; real = 1, closer is better) | {e['sharpness']:.3f} "
                         f"| {e['sharpness_real']:.3f} |")
        parts.append(f"| path length | {e['ppl']:.1f} | |")
        if "reconstruction_error" in e:
            parts.append(f"| reconstruction error of {e['reconstruction_faces']} held-out faces (MSE on -1…1) "
                         f"| {e['reconstruction_error']:.5f} | |")
        parts.append(f"| seconds per image | {e['seconds_per_image']:.4f} | |")
        if "seconds_per_image_ddpm" in e:
            parts.append(f"| seconds per image, DDPM-1000 | {e['seconds_per_image_ddpm']:.2f} | |")
        parts.extend(extra_measure_lines(e))
        bars = card.get("quality_bars", {})
        if bars:
            said = [bar_words(k, v) for k, v in bars.items()]
            parts.append("\nQuality bars: " + "; ".join(said) + ".")
        parts.append(f"\n![64 samples]({card['samples_png']})\n")
    return "\n".join(parts)


def extra_measure_lines(e: dict) -> list[str]:
    """The guidance hit rates, the knob curve and the steps curve of a card that has them, in sentences."""
    lines = []
    g = e.get("guidance")
    if g:
        wants = ", ".join(f"{name}={value:g}" for name, value in g["wants"])
        lines.append(f"\nGuidance toward {wants} ({'classifier-free' if g['guide'] == 'free' else 'classifier'}, "
                     f"scale {g['scale']:g}, {g['samples']:,} samples): {100 * g['all']:.1f} % have every wanted "
                     f"attribute by the feature network (unguided {100 * g['base_rate']:.1f} %); recall "
                     f"{g['recall']:.3f} (unguided {g['recall_unguided']:.3f}).")
    k = e.get("knob_curve")
    if k:
        pairs = "; ".join(f"{v:g}: {p:.2f} / {r:.2f}" for v, p, r in zip(k["values"], k["precision"], k["recall"]))
        knob = k["knob"] + (" (classifier-free)" if k.get("guide") == "free" else "")
        lines.append(f"\nQuality for variety, {knob} (precision / recall, {k['samples']:,} samples; real "
                     f"{k['precision_real']:.2f} / {k['recall_real']:.2f}): {pairs}.")
    c = e.get("steps_curve")
    if c:
        said = "; ".join(f"{sampler.upper()} " + ", ".join(f"{n} steps {fd:.2f}" for n, fd in curve.items())
                         for sampler, curve in c["curves"].items())
        lines.append(f"\nFréchet distance against steps ({c['samples']:,} samples; real vs real "
                     f"{c['fd_real']:.2f}): {said}.")
    return lines


def bar_words(key: str, bar: dict) -> str:
    verdict = "met" if bar.get("met") else "NOT met"
    if "ratio_to_real" in bar:
        return f"{key} {bar['ratio_to_real']:.2f}× real (needs {bar['needed']}×): {verdict}"
    if "why" in bar:
        return f"{bar['rule']}: {verdict} ({bar['why']})"
    timed = ", timed in one run" if bar.get("measured") else ""
    return f"{bar['rule']} ({bar['value']:.4g} against {bar['theirs']:.4g}{timed}): {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, nargs="?", help="the training run's folder (its log is RUN.log beside it)")
    parser.add_argument("--name", required=True, choices=family_names())
    parser.add_argument("--command", help="the exact `python main.py train ...` command")
    parser.add_argument("--analysis-only", action="store_true",
                        help="only compute the shipped model's slider directions again (NAME.analysis.safetensors)")
    parser.add_argument("--refresh-card", action="store_true",
                        help="measure the shipped model again and rewrite its card's figures and bars, and README.md")
    parser.add_argument("--curves-only", action="store_true",
                        help="measure only the shipped model's knob and steps curves (on --samples faces each) into "
                             "its card, keeping its other figures")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--notes", default="")
    parser.add_argument("--out", type=Path, default=RESOURCES, help="where the shipped files go")
    args = parser.parse_args(argv)
    if args.analysis_only:
        start = time.perf_counter()
        model = load_checkpoint(args.out / f"{args.name}.safetensors", torch.device("cpu")).model.eval()
        analysis = write_analysis(model, load_feature_net(DEFAULT_FEATURE_NET)[0].eval(),
                                  args.out / f"{args.name}.analysis.safetensors")
        print(f"{printable(args.out / args.name)}.analysis.safetensors: {time.perf_counter() - start:.1f} s "
              f"(of which measuring the directions {analysis.info['effect_seconds']:.1f} s)")
        return 0
    if args.curves_only:
        if args.samples < 10:
            parser.error("--samples must be at least 10 (the neighbourhoods of precision and recall need them)")
        try:
            print(printable(refresh_curves(args.name, args.samples, args.out)))
        except CardError as exc:
            parser.error(str(exc))
        return 0
    if args.refresh_card:
        if args.samples < 10:
            parser.error("--samples must be at least 10 (the neighbourhoods of precision and recall need them)")
        try:
            path = refresh_card(args.name, args.samples, args.out)
        except CardError as exc:
            parser.error(str(exc))
        (args.out / "README.md").write_text(summary_markdown(args.out), encoding="utf-8")
        print(printable(path))
        return 0
    if args.run is None or args.command is None:
        parser.error("RUN and --command are needed to ship a model")
    path = ship(args.run, args.name, args.command, args.samples, args.notes, args.out)
    (args.out / "README.md").write_text(summary_markdown(args.out), encoding="utf-8")
    print(printable(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
