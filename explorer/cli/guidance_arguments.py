"""The command line's words for guidance toward attributes: `--attributes smile=1,glasses=1` (sample) and
`--guidance-attributes` / `--guidance-scales` (evaluate). A mistake is one argparse line naming what is wrong;
whether the checkpoint's family can be guided is checked once it is loaded (`guidance_problem`)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from models.face_renderer import ATTRIBUTE_NAMES
from models.guidance_measures import check_wants
from models.printable import shown_value


def attribute_wants(text: str) -> tuple[tuple[str, float], ...]:
    """'smile=1,glasses=1' -> (("smile", 1.0), ("glasses", 1.0)): known attributes (a hyphen may stand for the
    underscore: hair-color), each once, each value a number within the attribute's range."""
    wants, seen = [], set()
    for part in text.split(","):
        name, equals, value = part.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not equals or not name or not value.strip():
            raise argparse.ArgumentTypeError(
                f"should be attribute=value pairs separated by commas (such as smile=1,glasses=1), not "
                f"{shown_value(text)}")
        if name not in ATTRIBUTE_NAMES:
            raise argparse.ArgumentTypeError(f"{shown_value(name)} is not an attribute the faces have; the attributes "
                                             f"are {', '.join(ATTRIBUTE_NAMES)}")
        if name in seen:
            raise argparse.ArgumentTypeError(f"{name} is named twice")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise argparse.ArgumentTypeError(f"{name} should be given a number, not {shown_value(value.strip())}")
        seen.add(name)
        wants.append((name, number))
    try:
        return check_wants(wants)
    except ValueError as exc:  # a value outside the attribute's range
        raise argparse.ArgumentTypeError(str(exc).rstrip(".")) from None


def scale_list(high: float) -> Callable[[str], tuple[float, ...]]:
    """An argparse type: guidance scales '0,1,2,3,5', each a finite number from 0 to `high`."""

    def parse(text: str) -> tuple[float, ...]:
        scales = []
        for part in text.split(","):
            try:
                value = float(part)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and 0.0 <= value <= high):
                raise argparse.ArgumentTypeError(f"should be guidance scales from 0 to {high:g} separated by commas "
                                                 f"(such as 0,1,2,3,5), not {shown_value(text)}")
            scales.append(value)
        return tuple(scales)

    return parse


def guidance_problem(family, asked: list[str]) -> str | None:
    """The sentence for guidance flags (`asked`, as written) given with a checkpoint whose family cannot be guided,
    or None."""
    from models.family import families

    if asked and not family.guided:
        flags = " and ".join(asked)
        guided = [f.title for f in families() if f.guided]
        can = f"; {' and '.join(guided)} checkpoints can" if guided else ""
        return (f"{family.title} models cannot be steered toward attributes, so {flags} cannot be used with this "
                f"checkpoint{can}.")
    return None
