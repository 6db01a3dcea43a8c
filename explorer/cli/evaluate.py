"""`python main.py evaluate`: every metric of a checkpoint against held-out Synthetic Faces, with the floor."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.cli.arguments import UsageError
from explorer.pictures.heat_map import rms_percent
from models.checkpoint import load_checkpoint
from models.distributed import resolve_device
from models.evaluate import evaluate
from models.family import get_family
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

    result = evaluate(model, net, samples=args.samples, seed=args.seed, report=report)
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
    return 0
