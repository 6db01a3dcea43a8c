"""`python main.py evaluate`: every metric of a checkpoint against held-out Synthetic Faces, with the floor."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli.arguments import UsageError
from explorer.cli.guidance_arguments import guidance_problem
from explorer.pictures.heat_map import rms_percent
from models.checkpoint import load_checkpoint
from models.distributed import resolve_device
from models.evaluate import QUICK_EXTRAS, Extras, evaluate
from models.family import family_of, get_family
from models.feature_net import DEFAULT_FEATURE_NET, FeatureNetError, load_feature_net
from models.printable import printable

ROWS = (("Fréchet distance (lower is better)", "fd", "fd_real", "{:.3f}"),
        ("precision: how real the faces look", "precision", "precision_real", "{:.3f}"),
        ("recall: how much variety is covered", "recall", "recall_real", "{:.3f}"),
        ("density", "density", "density_real", "{:.3f}"),
        ("coverage", "coverage", "coverage_real", "{:.3f}"),
        # 1 is real faces' fine detail: below is blurrier, above is noise or artefacts; closer to 1 is better.
        ("sharpness: fine detail, real = 1", "sharpness", "sharpness_real", "{:.3f}"))


def reconstruction_row(result: dict) -> str:
    """Held-out faces encoded and decoded: the mean squared error on the [-1, 1] scale, and what it means in the
    unit of the Explore tab's error map (root-mean-square colour error, % of black to white)."""
    mse = result["reconstruction_error"]
    return (f"{'reconstruction error of held-out faces':40} {mse:>10.5f}  (MSE on -1…1; RMS {rms_percent(mse):.1f} % "
            f"of the range; {result['reconstruction_faces']} faces; lower is better)")


def run_evaluate(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    model = load_checkpoint(args.checkpoint, device).model
    try:
        net = load_feature_net(DEFAULT_FEATURE_NET)[0].to(device).eval()
    except (FeatureNetError, OSError) as exc:
        raise UsageError(f"the feature network in resources/ cannot be used: {exc}") from None

    def report(what: str) -> None:
        if not args.json:
            print(f"… {what}", file=sys.stderr, flush=True)

    result = evaluate(model, net, samples=args.samples, seed=args.seed, report=report,
                      extras=extras_from(args, model))
    result["checkpoint"] = str(args.checkpoint)
    result["device"] = str(device)
    if args.json:
        print(json.dumps(result))
        return 0
    family = get_family(result["family"])
    print(f"{printable(args.checkpoint)}: {family.title}, {result['samples']:,} samples against as many "
          "held-out faces")
    print(f"{'':40} {'model':>10} {'real vs real':>14}")
    for label, key, floor, fmt in ROWS:
        if key in result:  # a result made without a figure (reconstruction_faces=0, or by a script) has no row
            print(f"{label:40} {fmt.format(result[key]):>10} {fmt.format(result[floor]):>14}")
    print(f"{'path length (smoothness; lower is smoother)':40} {result['ppl']:>10.1f}")
    if "reconstruction_error" in result:
        print(reconstruction_row(result))
    print(f"{'seconds per image':40} {result['seconds_per_image']:>10.4f}"
          + (f" ({result.get('sampler', 'ddim-50').upper()})" if family.iterative else ""))
    if "seconds_per_image_ddpm" in result:
        print(f"{'seconds per image, DDPM-1000':40} {result['seconds_per_image_ddpm']:>10.4f}")
    worst = sorted(result["attributes"].items(), key=lambda kv: -kv[1]["w1"])[:3]
    print("attributes furthest from the data: " + ", ".join(f"{k} ({v['w1']:.2f} of its range)" for k, v in worst))
    for key, lines in (("guidance", guidance_rows), ("knob_curve", knob_rows), ("steps_curve", steps_rows)):
        # Each only for a family with the feature it measures (see models/evaluate.py Extras).
        if key in result:
            print()
            print("\n".join(lines(result[key])))
    return 0


def extras_from(args: argparse.Namespace, model) -> Extras:
    """The extra measures the flags ask for; guidance flags given for a family that cannot be guided are a
    UsageError sentence. (getattr: a caller's Namespace made before the flags existed still works.)"""
    flags = {"--guidance-attributes": getattr(args, "guidance_attributes", None),
             "--guide": getattr(args, "guide", None), "--guidance-scales": getattr(args, "guidance_scales", None)}
    asked = [flag for flag, value in flags.items() if value is not None]
    problem = guidance_problem(family_of(model), asked) if asked else None
    if problem:
        raise UsageError(problem)
    quick = QUICK_EXTRAS
    return Extras(wants=tuple(flags["--guidance-attributes"] or quick.wants), guide=flags["--guide"] or quick.guide,
                  guidance_scales=tuple(flags["--guidance-scales"] or quick.guidance_scales),
                  guidance_samples=getattr(args, "guidance_samples", quick.guidance_samples),
                  curves=getattr(args, "curves", False),
                  curve_samples=getattr(args, "curve_samples", quick.curve_samples))


def _percent(rate: float) -> str:
    return f"{100 * rate:.1f} %"


def guidance_rows(g: dict) -> list[str]:
    """Hit rates: how often the feature network finds the wanted attributes, guided against unguided, and the
    variety (recall) it costs."""
    wants = ", ".join(f"{name}={value:g}" for name, value in g["wants"])
    how = "classifier-free" if g["guide"] == "free" else "classifier"
    rows = [f"guidance toward {wants} ({how} guidance, scale {g['scale']:g}; {g['samples']:,} samples)",
            f"{'':40} {'guided':>10} {'unguided':>14}",
            f"{'has every wanted attribute (hit rate)':40} {_percent(g['all']):>10} {_percent(g['base_rate']):>14}"]
    for name, rate in g["per_attribute"].items():
        rows.append(f"{'  ' + name:40} {_percent(rate):>10} {_percent(g['base_per_attribute'][name]):>14}")
    rows.append(f"{'recall: variety (real vs real ' + format(g['recall_real'], '.3f') + ')':40} "
                f"{g['recall']:>10.3f} {g['recall_unguided']:>14.3f}")
    if len(g["scales"]) > 2:
        rows.append("by scale: " + " · ".join(f"{s:g}: {_percent(a)} (recall {r:.2f})" for s, a, r in
                                              zip(g["scales"], g["all_by_scale"], g["recall_by_scale"])))
    return rows


KNOB_WORDS = {"guidance": "guidance scale", "truncation": "truncation ψ", "temperature": "sampling temperature"}


def knob_rows(k: dict) -> list[str]:
    """The quality-for-variety knob: precision (how real) and recall (how varied) at each setting."""
    rows = [f"{KNOB_WORDS.get(k['knob'], k['knob'])}: quality for variety ({k['samples']:,} samples each; real vs "
            f"real precision {k['precision_real']:.3f}, recall {k['recall_real']:.3f})",
            f"{'setting':>10} {'precision':>10} {'recall':>10}"]
    rows += [f"{v:>10g} {p:>10.3f} {r:>10.3f}" for v, p, r in zip(k["values"], k["precision"], k["recall"])]
    return rows


def steps_rows(c: dict) -> list[str]:
    counts = list(next(iter(c["curves"].values())).keys()) if c["curves"] else []
    rows = [f"Fréchet distance against sampling steps ({c['samples']:,} samples; real vs real {c['fd_real']:.3f})",
            f"{'steps':>10} " + " ".join(f"{n:>10}" for n in counts)]
    rows += [f"{sampler.upper():>10} " + " ".join(f"{curve[n]:>10.3f}" for n in counts)
             for sampler, curve in c["curves"].items()]
    return rows

