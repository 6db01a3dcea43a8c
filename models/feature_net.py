"""The feature network: a small CNN that predicts a face's 15 Synthetic Faces attributes.

It labels generated faces (for attribute directions) and its penultimate layer is the feature space of
the metrics (Fréchet distance, precision/recall). Every input is resized to 32x32 first, so a 16 px and
a 128 px model are measured by the same network on the same footing.

It learns from faces drawn at every size a shipped model makes (32 and 64 px), each shrunk to 32 px the way
its inputs are: a net that saw only 32 px renders misreads shrunk 64 px faces (thin glasses frames fade in the
antialiased shrink), which made it blind to glasses on every 64 px model.

Make the shipped one with `python -m models.feature_net --out resources/feature_net.safetensors`.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from models.atomic_file import describe_os_error
from models.config_check import ConfigError, Whole, Wholes, check_ranges, config_from_dict
from models.data import ImageSet, synthetic_faces
from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES
from models.generative import shapes_only
from models.progress import Progress
from models.safetensors_file import (
    SafetensorsFileError,
    SafetensorsHeader,
    read_header,
    read_json_metadata,
    read_tensors,
    shown_name,
    write_safetensors,
)
from models.shipped import resources_dir

DEFAULT_FEATURE_NET = resources_dir() / "feature_net.safetensors"
INPUT_SIZE = 32
TRAIN_SIZES = (16, 32, 64)  # the sizes the app trains at (128 px reads like 64 px); each resized as at use
SCORE_SIZES = (16, 32, 64, 128)
FORMAT_VERSION = 1
KIND = "feature_net"
_LOW = torch.tensor([a.low for a in ATTRIBUTES])
_SPAN = torch.tensor([a.high - a.low for a in ATTRIBUTES])
_BINARY = torch.tensor([a.binary for a in ATTRIBUTES])


class FeatureNetError(ValueError):
    """A feature network file that cannot be used; its text is one sentence a user understands."""


@dataclass
class FeatureNetConfig:
    channels: tuple[int, ...] = (16, 32, 64)  # at 32, 16 and 8 px; each level ends with a stride-2 conv
    feature_dim: int = 256

    # Each level halves the 32 px input: three take it to 4 px.
    RANGES: ClassVar[dict] = {"channels": Wholes(Whole(1, 512), 1, 3), "feature_dim": Whole(1, 4096)}

    def __post_init__(self):
        check_ranges(self)


def resize_for_features(images: torch.Tensor) -> torch.Tensor:
    """images (N, 3, H, W) in [-1, 1], any size -> (N, 3, 32, 32), antialiased when shrinking."""
    if images.shape[-2:] == (INPUT_SIZE, INPUT_SIZE):
        return images
    return F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)


def as_input(faces: ImageSet) -> ImageSet:
    """`faces` shrunk to the network's input size exactly as `forward` shrinks them (then back to uint8)."""
    if faces.image_size == INPUT_SIZE:
        return faces
    parts = [resize_for_features(faces.batch(range(i, min(i + 1000, len(faces)))))
             for i in range(0, len(faces), 1000)]
    images = torch.cat(parts).add_(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    return ImageSet(images, faces.attributes, faces.attribute_names, f"{faces.name}, shrunk to {INPUT_SIZE} px",
                    info=faces.describe())


def joined(sets: list[ImageSet]) -> ImageSet:
    """Several same-size image sets as one (for training on faces drawn at several sizes)."""
    return ImageSet(torch.cat([s.images for s in sets]), torch.cat([s.attributes for s in sets]),
                    sets[0].attribute_names, " + ".join(s.name for s in sets),
                    info={"parts": [s.describe() for s in sets]})


class FeatureNet(nn.Module):
    """images (N, 3, H, W) in [-1, 1] -> features (N, D) and attributes (N, 15)."""

    def __init__(self, config: FeatureNetConfig | None = None):
        super().__init__()
        self.config = config or FeatureNetConfig()
        layers: list[nn.Module] = []
        c_in = 3
        for c in self.config.channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, c, 3, stride=2, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        self.trunk = nn.Sequential(*layers)
        side = INPUT_SIZE // 2 ** len(self.config.channels)
        # Flattened, not pooled: where things are (gaze, tilt, eye spacing) is what several attributes mean.
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, self.config.feature_dim), nn.ReLU())
        self.head = nn.Linear(self.config.feature_dim, len(ATTRIBUTES))

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Raw outputs (N, 15): continuous attributes on a [0, 1] scale, glasses as a logit."""
        return self.head(self.embed(self.trunk(resize_for_features(images))))

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (N, feature_dim) of images (N, 3, H, W) in [-1, 1]."""
        return self.embed(self.trunk(resize_for_features(images.to(self._device()))))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Attributes (N, 15) in the data's own units; glasses as a probability in [0, 1]."""
        return outputs_to_attributes(self(images.to(self._device())))

    def _device(self) -> torch.device:
        return next(self.parameters()).device


def attributes_to_targets(attributes: torch.Tensor) -> torch.Tensor:
    """Attributes (N, 15) in their units -> training targets (N, 15) on a [0, 1] scale."""
    return (attributes - _LOW.to(attributes)) / _SPAN.to(attributes)


def outputs_to_attributes(outputs: torch.Tensor) -> torch.Tensor:
    """The network's raw outputs (N, 15) -> attributes (N, 15) in the data's units."""
    binary = _BINARY.to(outputs.device)
    unit = torch.where(binary, outputs.sigmoid(), outputs.clamp(0.0, 1.0))
    return _LOW.to(outputs) + unit * _SPAN.to(outputs)


def feature_net_loss(outputs: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Mean squared error on the [0, 1] scale for continuous attributes, plus cross-entropy for glasses."""
    targets = attributes_to_targets(attributes)
    binary = _BINARY.to(outputs.device)
    mse = F.mse_loss(outputs[:, ~binary], targets[:, ~binary])
    # Weighted down: a squared error on [0, 1] is about a tenth of a cross-entropy at the start.
    bce = F.binary_cross_entropy_with_logits(outputs[:, binary], targets[:, binary])
    return mse + 0.1 * bce


# --------------------------------------------------------------------------------------------- evaluation

def attribute_scores(predicted: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Per attribute: R² for continuous ones, accuracy (at probability 0.5) for glasses."""
    scores = {}
    for i, attribute in enumerate(ATTRIBUTES):
        p, t = predicted[:, i].double(), truth[:, i].double()
        if attribute.binary:
            scores[attribute.name] = float(((p >= 0.5) == (t >= 0.5)).double().mean())
        else:
            scores[attribute.name] = float(1.0 - (p - t).pow(2).sum() / (t - t.mean()).pow(2).sum().clamp_min(1e-12))
    return scores


@torch.no_grad()
def predict_set(net: FeatureNet, faces: ImageSet, batch_size: int = 500) -> torch.Tensor:
    """Predicted attributes (N, 15) of every face of an ImageSet."""
    was_training = net.training
    net.eval()
    try:
        parts = [net.predict(faces.batch(range(s, min(s + batch_size, len(faces)))))
                 for s in range(0, len(faces), batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(parts).cpu()


def evaluate_feature_net(net: FeatureNet, faces: ImageSet) -> dict[str, float]:
    """Held-out scores of the net on faces with ground-truth attributes; see attribute_scores."""
    return attribute_scores(predict_set(net, faces), faces.attributes)


# --------------------------------------------------------------------------------------------- training

def _shifted(images: torch.Tensor, generator: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Random shifts of up to `pixels`: the only augmentation, so a slightly off-centre face is still read."""
    padded = F.pad(images, [pixels] * 4, mode="replicate")
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=generator).tolist()
    size = images.shape[-1]
    return padded[..., dy:dy + size, dx:dx + size]


def train_feature_net(train: ImageSet | None = None, held_out: ImageSet | None = None, *, epochs: int = 8,
                      batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                      config: FeatureNetConfig | None = None, report_every: int = 20) -> Iterator[Progress]:
    """Train a FeatureNet on Synthetic Faces (default: 20,000 faces at 32 px, seed 0; held out: 2,000, seed 1).

    Yields the steps, each with its training loss, and after each epoch the held-out scores in words; the last
    step's `result` is the trained net."""
    train = train if train is not None else synthetic_faces(20000, INPUT_SIZE, seed=0)
    held_out = held_out if held_out is not None else synthetic_faces(2000, INPUT_SIZE, seed=1)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = FeatureNet(config)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    per_epoch = max(1, math.ceil(len(train) / batch_size))
    total = epochs * per_epoch
    # One cycle: a short warm-up, then a cosine decay, converges far better in a few epochs than a flat rate.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 2), pct_start=0.15)
    step = 0
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(train), generator=generator)
        for b in range(per_epoch):
            index = order[b * batch_size:(b + 1) * batch_size]
            images = _shifted(train.batch(index), generator)
            loss = feature_net_loss(net(images), train.attributes[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % report_every == 0 or b == per_epoch - 1:
                yield Progress(step, total, f"epoch {epoch}/{epochs}, step {step}/{total}", loss=loss.item())
        scores = evaluate_feature_net(net, held_out)
        mean_r2 = sum(v for k, v in scores.items() if k != "glasses") / (len(scores) - 1)
        yield Progress(step, total, f"epoch {epoch}/{epochs}: held-out mean R² {mean_r2:.3f}, "
                                    f"glasses accuracy {scores['glasses']:.3f}", loss=loss.item())
    net.eval()
    yield Progress(step, total, "done", loss=loss.item(), result=net)


# --------------------------------------------------------------------------------------------- saving

def save_feature_net(path: str | os.PathLike, net: FeatureNet, card: dict[str, Any]) -> Path:
    """Write the net's weights and its card (how it was made, its scores) atomically; returns the path."""
    path = Path(path)
    metadata = {"format_version": FORMAT_VERSION, "kind": KIND, "config": asdict(net.config),
                "attribute_names": list(ATTRIBUTE_NAMES), "card": card}
    try:
        return write_safetensors(path, net.state_dict(), metadata)
    except OSError as exc:
        raise FeatureNetError(f"Could not save '{path.name}': {describe_os_error(exc)}. "
                              "The previous file there, if any, is unchanged.") from None


def _checked_metadata(header: SafetensorsHeader) -> dict[str, Any]:
    """The file's JSON metadata, checked to be a feature network's, or a FeatureNetError."""
    name = shown_name(header.path)
    meta = read_json_metadata(header, "feature network")
    if meta.get("kind") != KIND:
        raise FeatureNetError(f"'{name}' is not a feature network file, or it is damaged.")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version:
        raise FeatureNetError(f"'{name}' is not a feature network file, or it is damaged.")
    if version > FORMAT_VERSION:
        raise FeatureNetError(f"'{name}' was made by a newer version of Latent Explorer; update the app to use it.")
    if meta.get("attribute_names") != list(ATTRIBUTE_NAMES):
        raise FeatureNetError(f"'{name}' predicts a different set of face attributes than this version knows.")
    if not isinstance(meta.get("card", {}), dict):
        raise FeatureNetError(f"'{name}' is damaged: its card is not a dictionary.")
    return meta


def load_feature_net(path: str | os.PathLike = DEFAULT_FEATURE_NET,
                     device: str | torch.device = "cpu") -> tuple[FeatureNet, dict[str, Any]]:
    """Validate and load a feature network; returns (net in eval mode, its card).

    Read like a checkpoint (models.safetensors_file): a regular file, a capped header, an exact size; its settings
    checked against their ranges and its weights' shapes against a net built on the meta device before the real one.
    """
    path = Path(path)
    name = shown_name(path)
    try:
        header = read_header(path, "feature network")
        meta = _checked_metadata(header)
        config = config_from_dict(FeatureNetConfig, meta.get("config"))
        with shapes_only():
            expected = {k: tuple(v.shape) for k, v in FeatureNet(config).state_dict().items()}
        if {k: e.shape for k, e in header.entries.items()} != expected:
            raise FeatureNetError(f"'{name}' is damaged: its weights do not make a feature network.")
        net = FeatureNet(config)
        tensors = read_tensors(header, "feature network")
        if any(v.is_floating_point() and not torch.isfinite(v).all() for v in tensors.values()):
            raise FeatureNetError(f"'{name}' is damaged: some of its weights are not numbers (NaN or infinity).")
        net.load_state_dict(tensors, strict=True)
    except FeatureNetError:
        raise
    except SafetensorsFileError as exc:
        raise FeatureNetError(str(exc)) from None
    except ConfigError as exc:
        raise FeatureNetError(f"'{name}' is damaged: {exc}.") from None
    except Exception:  # noqa: BLE001 - whatever a damaged file provokes means the same to a user
        raise FeatureNetError(f"'{name}' is damaged: its weights do not make a feature network.") from None
    return net.to(device).eval(), dict(meta.get("card") or {})


# --------------------------------------------------------------------------------------------- command

def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m models.feature_net",
                                     description="Train the attribute/feature network on Synthetic Faces.")
    parser.add_argument("--out", type=Path, default=DEFAULT_FEATURE_NET, help="where to write the .safetensors")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--count", type=int, default=20000,
                        help="training faces per size (seed 0, drawn at 32 and 64 px)")
    parser.add_argument("--held-out", type=int, default=2000,
                        help="held-out faces per size (seed 1; scored at 16, 32, 64 and 128 px)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Train, print progress and held-out scores, and write the checkpoint with its card."""
    args = _parse(argv)
    torch.set_num_threads(max(1, args.threads))
    train = joined([as_input(synthetic_faces(args.count, size, seed=0)) for size in TRAIN_SIZES])
    held_out = joined([as_input(synthetic_faces(args.held_out, size, seed=1)) for size in TRAIN_SIZES])
    final, start = None, time.perf_counter()
    for event in train_feature_net(train, held_out, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed):
        print(f"[{time.perf_counter() - start:6.1f} s] {event.message}, loss {event.loss:.4f}", flush=True)
        final = event
    seconds = time.perf_counter() - start
    assert final is not None and final.result is not None
    net = final.result.eval()
    by_size = {str(size): {k: round(v, 4) for k, v in
                           evaluate_feature_net(net, synthetic_faces(args.held_out, size, seed=1)).items()}
               for size in SCORE_SIZES}
    print("  " + " " * 24 + "".join(f"{size:>8} px" for size in SCORE_SIZES))
    for name in ATTRIBUTE_NAMES:
        kind = "accuracy" if name == "glasses" else "R²"
        print(f"  {name:15s} {kind:8s} " + "".join(f"{by_size[str(size)][name]:11.3f}" for size in SCORE_SIZES))
    card = {
        "what": "CNN predicting the 15 Synthetic Faces attributes; penultimate layer = metric features",
        "command": "python -m models.feature_net " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "epochs": args.epochs, "steps": final.done, "batch_size": args.batch_size, "seed": args.seed,
        "seconds": round(seconds, 1),
        "device": f"cpu ({torch.get_num_threads()} threads, {platform.processor() or platform.machine()}), "
                  f"torch {torch.__version__}",
        "input": f"any size, resized to {INPUT_SIZE}x{INPUT_SIZE}",
        "train_sizes": list(TRAIN_SIZES),
        "feature_dim": net.feature_dim,
        "train_data": train.describe(), "held_out_data": held_out.describe(),
        "held_out_scores": {k: round(v, 4) for k, v in evaluate_feature_net(net, held_out).items()},
        "held_out_scores_by_size": by_size,
        "score_kinds": {a.name: "accuracy" if a.binary else "r2" for a in ATTRIBUTES},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = save_feature_net(args.out, net, card)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
