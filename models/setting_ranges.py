"""The range of every number and path a person gives to train, sample, morph or measure.

The CLI's flags, the Train tab's fields (explorer/panels/train/form.py) and TrainSettings (models/train.py) all read them
here, so that no door accepts what another refuses. A family's own settings (latent size, β, critic steps) have
their ranges next to its config (VAEConfig.RANGES, ...); these are the ones every family shares. Upper bounds keep
memory sane on a laptop; each says how it was chosen. Torch-free, so that the command line's parser can read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.config_check import IMAGE_SIZE, ConfigError, Number, Whole
from models.paths import expanded, look
from models.printable import shown_value

# What the app's own seed fields take (a Qt spin box's largest int): far inside numpy's legacy seeding (< 2**32)
# and torch.Generator.manual_seed (< 2**64), also after the offsets the code adds (seed + i, seed * 1000 + rank).
SEED = Whole(0, 2**31 - 1)
MOST_STEPS = 10_000_000  # optimisation steps, or steps between events: months of training; a typo beyond that
GRID_IMAGES = Whole(1, 256)  # `sample -n`: decoded in one batch; 256 64-px diffusion images take about 1.8 GB
SAMPLING_STEPS = Whole(1, 1000)  # diffusion steps: the schedules have 1,000; more are clamped to them

TRAIN_RANGES: dict[str, Whole | Number] = {
    "steps": Whole(1, MOST_STEPS),
    # One batch of 128 px images through the first 32-channel layer is 1,024 x 32 x 128 x 128 floats = 2 GiB:
    # beyond that a batch does not fit beside the model on most machines, and these small models gain nothing.
    "batch_size": Whole(1, 1024),
    # Below 1e-6 nothing visibly changes in the steps a run here has; above 1 an Adam step is larger than the
    # weights themselves. Both catch a mistyped exponent (1e3 for 1e-3).
    "lr": Number(1e-6, 1.0),
    "image_size": IMAGE_SIZE,  # the families' own range; the CLI and the form offer IMAGE_SIZES of it
    "seed": SEED,
    # Network width: GroupNorm splits channels into 8 groups, so multiples of 8. At 256 the largest network
    # (diffusion, 128 px) has about 100 million weights: with gradients, Adam's two moments and the moving
    # average about 2 GB; at 512 it would be 414 million (8 GB) before a single image.
    "channels": Whole(8, 256, lambda n: n % 8 == 0, "a multiple of 8"),
    # The moving average's decay: 0 is off; at 1 the average would never move from the initial weights.
    "ema": Number(0.0, 1.0, high_open=True),
    "data_count": Whole(16, 200_000),  # 16: one sample grid of real faces; the top also depends on the image size
    "data_seed": SEED,
    "log_every": Whole(1, MOST_STEPS),
    "sample_every": Whole(0, MOST_STEPS),  # 0: never
    "sample_count": GRID_IMAGES,  # images in a sample grid, as `sample -n`
    # Respaced DDPM steps per sample grid: at least 1 (0 used to mean all 1,000), at most the schedule's length.
    "sample_steps": SAMPLING_STEPS,
    "checkpoint_every": Whole(0, MOST_STEPS),  # 0: only at the end
}
OPTIONAL = frozenset({"lr", "channels", "ema"})  # None: the family's default
IMAGE_SIZES = (16, 32, 64, 128)  # offered by `train --image-size` and the Train tab
DATA_BYTES = 2 * 1024**3  # Synthetic Faces stay in memory (on the training device) as uint8: at most 2 GiB of them

# `sample`, `interpolate` and `evaluate` (GRID_IMAGES and SAMPLING_STEPS, above, too).
ETA = Number(0.0, 1.0)  # DDIM's η: 0 deterministic ... 1 DDPM's variance
FRAMES = Whole(2, 64)  # as the Interpolate tab: all frames are decoded at once and laid side by side
FACE_SIZE = Whole(16, 2048)  # px per face in `interpolate` pictures; wider strips get smaller faces (MAX_SIDE)
# `evaluate`: the k-NN metrics hold N x N float64 distances (10,000 faces: 0.8 GB each, a few at once) and draw
# 2N held-out faces.
EVAL_SAMPLES = Whole(10, 10_000)  # 10: the k-nearest-neighbour metrics need neighbours


def max_data_count(image_size: int) -> int:
    """The most Synthetic Faces a run may hold at this image size (DATA_BYTES of uint8 pixels, at most 200,000)."""
    return max(TRAIN_RANGES["data_count"].low,
               min(TRAIN_RANGES["data_count"].high, DATA_BYTES // (3 * image_size * image_size)))


def data_count_problem(count: int, image_size: int, data: Any = "synthetic-faces") -> str | None:
    """Why this many Synthetic Faces are too many at this image size, in words; None when they fit (or when the
    run learns from a folder, which data_count does not concern)."""
    most = max_data_count(image_size)
    if count <= most or str(data).strip().lower() != "synthetic-faces":
        return None
    return (f"should be at most {most:,} at {image_size} px (2 GiB of faces, kept in memory while training), "
            f"not {count:,}")




def text_problem(value: Any, what: str) -> str | None:
    """Why a path (or 'synthetic-faces') cannot name `what`, in words; None when it can."""
    if not isinstance(value, (str, Path)):
        return f"should be a path naming {what}, not {shown_value(value)}"
    if not str(value).strip():
        return f"should name {what}, not be empty"
    if "\0" in str(value):
        return f"should name {what}; {shown_value(str(value))} holds a NUL character, which no path can"
    return None


def path_problem(value: Any, what: str) -> str | None:
    """Why a path given from outside cannot name `what`, in words; None when it can (whether or not it exists).

    text_problem's reasons, and a name the system refuses to look up (too long, a link loop, a folder on the way
    that cannot be read): pathlib would raise OSError for it in the middle of some later check.
    """
    problem = text_problem(value, what)
    if problem:
        return problem
    found = look(expanded(value))
    if found.unusable:
        return f"should name {what}; {shown_value(str(value))} cannot be used: {found.why}"
    return None


def _app_root() -> Path:
    return Path(__file__).resolve().parent.parent  # the checkout, or site-packages for an installed app


def run_folder_problem(value: Any) -> str | None:
    """Why a run cannot be written to this folder, in words; None when it can.

    One rule for every door (`train --out`, the Train tab's form, TrainSettings), so that none accepts a folder
    that the training process then refuses. Not a path the system cannot look up, not an existing file, not the
    folder the app is installed in (a checkout, or site-packages: `--out ""` or `--out .` from there wrote the run
    between the app's files) and not inside a Python package there (the app's code, shipped models or another
    library). runs/ in a checkout is fine: the app looks for runs there.
    """
    problem = path_problem(value, "a folder for the run")
    if problem:
        return problem
    path = expanded(value)
    found = look(path)
    if found.exists and not found.is_folder:
        kind = "a file" if found.is_file else "not a folder"
        return f"should name a folder for the run, but {shown_value(str(value))} is {kind}"
    root = _app_root()
    try:
        inside = Path(path).resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a path that cannot be resolved: not ours
        return None
    if not inside.parts:
        return f"should be a folder of your own, not '{root}', where the app is installed (use, say, runs/NAME)"
    if look(root / inside.parts[0] / "__init__.py").exists:
        return (f"should be a folder of your own, not inside the Python package '{root / inside.parts[0]}' "
                "(use, say, runs/NAME)")
    return None


def check_train_ranges(settings: Any) -> None:
    """ConfigError naming the first setting of a TrainSettings outside its range (the family's own: its config)."""
    for name, allowed in TRAIN_RANGES.items():
        value = getattr(settings, name)
        if not (value is None and name in OPTIONAL):
            allowed.check(name, value)
    for name, problem in (("data_count", data_count_problem(settings.data_count, settings.image_size, settings.data)),
                          ("out", run_folder_problem(settings.out)),
                          ("data", path_problem(settings.data, "'synthetic-faces' or a folder of images"))):
        if problem:
            raise ConfigError(f"setting '{name}' {problem}")
    if not isinstance(settings.model_options, dict):
        raise ConfigError(f"setting 'model_options' should be a dictionary, not {shown_value(settings.model_options)}")
