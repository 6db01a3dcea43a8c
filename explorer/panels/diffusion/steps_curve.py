"""The Diffusion tab's "how many steps is enough": a model card's Fréchet distance against step count per sampler,
as a compact table with one sentence reading it (or how to measure it when the card has none)."""

from __future__ import annotations

import shlex
from html import escape
from pathlib import Path
from typing import Any

from explorer import texts
from explorer.panels.diffusion.controls import sampler_name
from explorer.widgets.shown_text import shown_html

# "As good as" for the reading: within this share of the reference distance. Two sets of real faces differ by about
# this much from one draw of samples to the next at a few hundred faces, so a smaller gap is not a difference.
CLOSE = 0.10
REFERENCE, FAST = "ddim", "dpm++"  # the reading compares the higher-order solver with DDIM at its most steps
SHORT_NAMES = {"dpm++": "DPM-Solver++"}  # the table's first column: narrow enough for the explanation's column


def _cell(fd: float | None) -> str:
    return "–" if fd is None else f"{fd:.1f}"


def curve_table(curve: dict[str, Any]) -> str:
    """Rows: samplers; columns: step counts; cells: Fréchet distance ("–" where not measured)."""
    rows = curve["curves"]
    counts = sorted({steps for points in rows.values() for steps, _ in points})
    head = "".join(f"<th align='right'>{n}</th>" for n in counts)
    lines = [f"<tr><th align='left'>steps</th>{head}</tr>"]
    for sampler, points in rows.items():
        by_steps = dict(points)
        cells = "".join(f"<td align='right'>{_cell(by_steps.get(n))}</td>" for n in counts)
        lines.append(f"<tr><td>{escape(SHORT_NAMES.get(sampler, sampler_name(sampler)))}</td>{cells}</tr>")
    return f"<table cellspacing='0' cellpadding='3'>{''.join(lines)}</table>"


def reading(curve: dict[str, Any]) -> str:
    """One sentence: the fewest steps at which DPM-Solver++ comes within CLOSE of DDIM's distance at DDIM's most
    steps measured (or that it never does); a general hint when the card lacks either sampler."""
    rows = {k: dict(v) for k, v in curve["curves"].items()}
    if REFERENCE not in rows or FAST not in rows:
        return texts.STEPS_CURVE["reading"]
    most = max(rows[REFERENCE])
    target = rows[REFERENCE][most]
    reached = [n for n, fd in sorted(rows[FAST].items()) if fd <= target * (1 + CLOSE)]
    fast, slow = sampler_name(FAST), sampler_name(REFERENCE)
    if not reached:
        return texts.STEPS_CURVE["reading_never"].format(fast=fast, slow=slow, most=most)
    return texts.STEPS_CURVE["reading_close"].format(fast=fast, slow=slow, steps=reached[0], most=most,
                                                     gap=CLOSE * 100)


def steps_curve_html(curve: dict[str, Any] | None, why: str, path: str) -> str:
    """The explanation's section: heading, the table and its reading; or why there is none and how to measure it."""
    words = texts.STEPS_CURVE
    if curve is None:
        # The file's name as a command line takes it (quoted where it has spaces), shown as text, never markup; the
        # name alone, as a whole path in one unbreakable piece would not fit the explanation's column.
        name = Path(path).name or path
        said = words["other_file"] if why == "other_file" else words["missing"].format(
            name=shown_html(shlex.quote(name), None))
        return f"{words['heading']} {said}"
    samples = f"{curve['samples']:,} faces each, " if curve.get("samples") else ""
    floor = words["floor"].format(fd=curve["fd_real"]) if curve.get("fd_real") is not None else ""
    intro = words["intro"].format(samples=samples, floor=floor)
    return f"{words['heading']} {intro}{curve_table(curve)}{reading(curve)}"
