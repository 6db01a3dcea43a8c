"""`python main.py sample` and `python main.py interpolate`: images from a checkpoint, as files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from explorer.cli.arguments import UsageError
from explorer.cli.guidance_arguments import guidance_problem
from explorer.pictures.slide_pictures import Label, morph_frames, morph_strip, morph_title
from models.checkpoint import load_checkpoint
from models.distributed import resolve_device
from models.family import family_of
from models.generative import DEFAULT_GUIDE, Decoding, GenerativeModel
from models.image_io import make_grid, save_gif, save_png, to_uint8
from models.latent import interpolate
from models.printable import printable


def _decode_with_progress(model: GenerativeModel, latents: torch.Tensor, what: str,
                          decoding: Decoding) -> torch.Tensor:
    """Decode, showing a progress line on a terminal when decoding takes steps."""
    final = None
    for final in model.decode_steps(latents, decoding):
        if final.total > 1 and sys.stderr.isatty():
            sys.stderr.write(f"\r{what}: step {final.done}/{final.total}")
            sys.stderr.flush()
    if final.total > 1 and sys.stderr.isatty():
        sys.stderr.write("\n")
    return final.image


def guidance_options(args: argparse.Namespace, family) -> dict:
    """Decoding's guidance fields from `sample`'s flags; flags the checkpoint's family cannot use, or a scale or
    guide without attributes to steer toward, are a UsageError sentence."""
    attributes, guidance, guide = (getattr(args, key, None) for key in ("attributes", "guidance", "guide"))
    asked = [flag for flag, value in (("--attributes", attributes), ("--guidance", guidance), ("--guide", guide))
             if value is not None]
    problem = guidance_problem(family, asked)
    if problem:
        raise UsageError(problem)
    if not attributes:
        if asked:
            raise UsageError(f"There is nothing for {' and '.join(asked)} to steer toward: name the wanted "
                             "attributes with --attributes (such as --attributes smile=1,glasses=1).")
        return {}
    return {"attributes": tuple(attributes), "guidance": guidance, "guide": guide or DEFAULT_GUIDE}


def run_sample(args: argparse.Namespace) -> int:
    out = Path(args.out)  # every argument within its range: explorer.cli.main.parse_command checked them
    ckpt = load_checkpoint(args.checkpoint, resolve_device(args.device))
    model = ckpt.model
    decoding = Decoding(sampler=args.sampler, steps=args.steps, eta=args.eta, seed=args.seed,
                        **guidance_options(args, family_of(model)))
    with torch.no_grad():
        images = _decode_with_progress(model, model.sample_latents(args.n, args.seed), "sampling", decoding)
    # The sampling is part of what made the grid only for a family that decodes in steps (the others ignore it).
    sampling = {"sampler": decoding.sampler, "steps": decoding.steps, "eta": decoding.eta, "seed": decoding.seed} \
        if family_of(model).iterative else {}
    if decoding.attributes:
        sampling.update(attributes=[list(pair) for pair in decoding.attributes], guide=decoding.guide,
                        guidance=model.guidance_of(decoding))
    text = {"latent-explorer": json.dumps({"kind": "sample-grid", "checkpoint": str(ckpt.path), "family": model.family,
                                           "seeds": [args.seed, args.seed + args.n - 1], **sampling})}
    save_png(out, make_grid(to_uint8(images)), text=text)
    guided = (f", guided toward {', '.join(f'{name}={value:g}' for name, value in decoding.attributes)} "
              f"({'classifier-free' if decoding.guide == 'free' else 'classifier'} guidance, scale "
              f"{model.guidance_of(decoding):g})") if decoding.attributes else ""
    print(printable(f"saved {args.n} samples from {ckpt.describe()} to {out}{guided}"))  # metadata: untrusted text
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    out = Path(args.out)  # every argument within its range: explorer.cli.main.parse_command checked them
    ckpt = load_checkpoint(args.checkpoint, resolve_device(args.device))
    model = ckpt.model
    a, b = model.latents_for_seeds(args.seeds)
    path = interpolate(a, b, args.frames, args.mode)
    with torch.no_grad():
        frames = to_uint8(_decode_with_progress(model, path, "interpolating", Decoding(sampler="ddim", steps=args.steps)))
    title = morph_title([ckpt.label()], f"seed {args.seeds[0]}", f"seed {args.seeds[1]}", args.mode, args.frames)
    label = [Label(family_of(model).title, ckpt.label())]
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
