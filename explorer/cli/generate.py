"""`python main.py sample` and `python main.py interpolate`: images from a checkpoint, as files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from explorer.pictures.slide_pictures import Label, morph_frames, morph_strip, morph_title
from models.checkpoint import load_checkpoint
from models.distributed import resolve_device
from models.families import FAMILY_NAMES
from models.generative import GenerativeModel
from models.image_io import make_grid, save_gif, save_png, to_uint8
from models.latent import interpolate
from models.printable import printable


def _decode_with_progress(model: GenerativeModel, latents: torch.Tensor, what: str, **options) -> torch.Tensor:
    """Decode, showing a progress line on a terminal for the multi-step (diffusion) case."""
    final = None
    for final in model.decode_steps(latents, **options):
        if final.total > 1 and sys.stderr.isatty():
            sys.stderr.write(f"\r{what}: step {final.done}/{final.total}")
            sys.stderr.flush()
    if final.total > 1 and sys.stderr.isatty():
        sys.stderr.write("\n")
    return final.image


def run_sample(args: argparse.Namespace) -> int:
    out = Path(args.out)  # every argument within its range: explorer.cli.main.parse_command checked them
    ckpt = load_checkpoint(args.checkpoint, resolve_device(args.device))
    model = ckpt.model
    options = {}
    if model.family == "diffusion":
        options = {"sampler": args.sampler, "steps": args.steps, "eta": args.eta, "seed": args.seed}
    with torch.no_grad():
        images = _decode_with_progress(model, model.sample_latents(args.n, args.seed), "sampling", **options)
    text = {"latent-explorer": json.dumps({"kind": "sample-grid", "checkpoint": str(ckpt.path), "family": model.family,
                                           "seeds": [args.seed, args.seed + args.n - 1], **options})}
    save_png(out, make_grid(to_uint8(images)), text=text)
    print(printable(f"saved {args.n} samples from {ckpt.describe()} to {out}"))  # metadata: untrusted text
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    out = Path(args.out)  # every argument within its range: explorer.cli.main.parse_command checked them
    ckpt = load_checkpoint(args.checkpoint, resolve_device(args.device))
    model = ckpt.model
    a, b = model.latents_for_seeds(args.seeds)
    path = interpolate(a, b, args.frames, args.mode)
    options = {"sampler": "ddim", "steps": args.steps} if model.family == "diffusion" else {}
    with torch.no_grad():
        frames = to_uint8(_decode_with_progress(model, path, "interpolating", **options))
    title = morph_title([ckpt.label()], f"seed {args.seeds[0]}", f"seed {args.seeds[1]}", args.mode, args.frames)
    label = [Label(FAMILY_NAMES[model.family], ckpt.label())]
    if out.suffix.lower() == ".gif":
        pictures = morph_frames([frames], label, title, args.size)
        save_gif(out, pictures, 0.12, comment=title)
    else:
        text = {"latent-explorer": json.dumps({"kind": "interpolation", "checkpoint": str(ckpt.path),
                                               "seeds": list(args.seeds), "mode": args.mode}), "Title": title}
        pictures = [morph_strip([frames], label, title, args.size)]
        save_png(out, pictures[0], text=text)
    height, width = pictures[0].shape[:2]  # smaller faces than asked when the picture would pass MAX_SIDE: say so
    print(f"saved a {args.frames}-frame {args.mode} from seed {args.seeds[0]} to {args.seeds[1]} to {printable(out)} "
          f"({width:,} × {height:,} px)")
    return 0
