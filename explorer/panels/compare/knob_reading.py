"""What the "quality for variety" chart and the guidance hit rates say, in plain words (no Qt here).

Every family with a knob that trades variety for realism has a curve of (recall, precision) points, one per knob
setting (card["evaluate"]["knob_curve"]): a guided family's guidance scale, a truncating family's ψ, the temperature
the other one-pass families' latents are multiplied by. Which end of a knob is "realism" differs: guidance turned
*up*, ψ and temperature turned *down*. The sentences are computed from the points, so a model that does not follow
the usual story is read out as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from explorer.family_views import Figures, view_of
from models.face_renderer import ATTRIBUTES


@dataclass(frozen=True)
class Knob:
    symbol: str  # before a point's value on the chart: "ψ 0.6"
    name: str  # in the legend and the sentences: "truncation ψ"
    toward_realism: int  # +1: turning the value up is meant to buy realism; -1: turning it down is
    verb_up: str  # "turning guidance up"
    verb_down: str


KNOBS = {
    "guidance": Knob("s", "guidance scale s", +1, "turning guidance up", "turning guidance down"),
    "truncation": Knob("ψ", "truncation ψ", -1, "raising ψ", "lowering ψ"),
    "temperature": Knob("T", "sampling temperature T", -1, "raising the temperature", "lowering the temperature"),
}


def knob_of(curve: dict) -> Knob:
    """The knob a curve turns; an unknown one (a newer card) is named by its own key and read as guidance is."""
    name = str(curve.get("knob", "knob"))
    return KNOBS.get(name, Knob(name[:1], name, +1, f"raising {name}", f"lowering {name}"))


def point_label(curve: dict, value: float) -> str:
    return f"{knob_of(curve).symbol} {value:g}"


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def noise_of(samples: int) -> float:
    """How far apart two measurements of the same model on `samples` faces can be by chance: about two standard
    errors of a share near one half (1/sqrt(n)). Changes smaller than this are not read as changes."""
    return 1.0 / math.sqrt(max(int(samples), 1))


@dataclass(frozen=True)
class Turn:
    """A knob turned from its variety end to its realism end, and what that did."""
    family: str
    verb: str  # "lowering ψ (1 → 0.4)"
    precision: tuple[float, float]  # at the variety end, at the realism end
    recall: tuple[float, float]
    kind: str  # "trade", "free" (realism at no measurable cost), "loss" (variety lost, nothing gained), "flat"


def turn_of(family: str, curve: dict) -> Turn | None:
    """The curve's two ends, ordered from variety to realism by the knob's nature; None with fewer than 2 points."""
    points = sorted(zip(curve["values"], curve["precision"], curve["recall"]))
    if len(points) < 2:
        return None
    knob = knob_of(curve)
    variety, realism = (points[0], points[-1]) if knob.toward_realism > 0 else (points[-1], points[0])
    verb = (knob.verb_up if knob.toward_realism > 0 else knob.verb_down) + f" ({variety[0]:g} → {realism[0]:g})"
    noise = noise_of(int(curve.get("samples", 0)))
    gained, lost = realism[1] - variety[1] > noise, variety[2] - realism[2] > noise
    kind = "trade" if gained and lost else "free" if gained else "loss" if lost else "flat"
    return Turn(family, verb, (variety[1], realism[1]), (variety[2], realism[2]), kind)


def _name(family: str) -> str:
    return "the " + view_of(family).compare_name


def _turn_sentence(turn: Turn) -> str:
    (p0, p1), (r0, r1) = turn.precision, turn.recall
    moves = (f"{turn.verb[0].upper() + turn.verb[1:]} takes {_name(turn.family)} from {_pct(p0)} to {_pct(p1)} "
             f"precision and from {_pct(r0)} to {_pct(r1)} recall")
    how = {"trade": "it buys realism with variety",
           "free": "more realism at no variety lost that these samples can show",
           "loss": "variety lost with no realism gained that these samples can show",
           "flat": "no change larger than chance at this many samples"}[turn.kind]
    return f"{moves}: {how}."


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _numbers(turn: Turn, curve: dict) -> str:
    """"VAE, T 1.25 → 0.5: precision 60 → 86 %, recall 66 → 35 %"."""
    (p0, p1), (r0, r1) = turn.precision, turn.recall
    ends = turn.verb.split(" (")[1].rstrip(")")
    return (f"{view_of(turn.family).title}, {knob_of(curve).symbol} {ends}: precision {100 * p0:.0f} → "
            f"{100 * p1:.0f} %, recall {100 * r0:.0f} → {100 * r1:.0f} %")


def knob_reading(curves: dict[str, dict], real: tuple[float, float] | None = None) -> list[str]:
    """Sentences about the knob curves (family -> knob_curve); empty when there are none."""
    turns = [t for f, c in curves.items() if (t := turn_of(f, c)) is not None]
    if not turns:
        return []
    lines = ["Each line is one model with its knob turned: up is more realistic faces (precision), right is more "
             "variety (recall)." + (f" The star is real faces against real ones ({_pct(real[1])} precision, "
                                    f"{_pct(real[0])} recall): the best corner any model can reach." if real else "")]
    # Guidance first: the new knob, read against the ones people know (ψ, temperature).
    trading = sorted((t for t in turns if t.kind == "trade"), key=lambda t: knob_of(curves[t.family]).name
                     != KNOBS["guidance"].name)
    if len(trading) >= 2:
        first, verbs = trading[0], {}
        for t in trading[1:]:  # one clause a knob: "lowering the temperature does for the VAE and the VAE-GAN"
            verbs.setdefault(t.verb.split(" (")[0], []).append(_name(t.family))
        clauses = [f"{verb} does for {_listed(names)}" for verb, names in verbs.items()]
        lines.append(f"<b>The same trade:</b> {first.verb.split(' (')[0]} buys precision with recall for "
                     f"{_name(first.family)}, as {', and '.join(clauses)}."
                     + " <span style='color:#555'>(" + "; ".join(_numbers(t, curves[t.family]) for t in trading)
                     + ".)</span>")
    else:
        lines += [_turn_sentence(t) for t in trading]
    odd = [t for t in turns if t.kind != "trade"]
    lines += [_turn_sentence(t) for t in odd]
    if trading and odd:
        lines.append("<b>Not the usual trade</b> for " + _listed([_name(t.family) for t in odd])
                     + ": a knob's trade shows only once a model has learned enough for it to matter.")
    return lines


# ------------------------------------------------------------------------------------------------ guidance
def want_words(name: str, value: float) -> str:
    """An attribute wanted at a value, in the face's own words: ("smile", 1.0) -> "broad smile"."""
    attribute = next((a for a in ATTRIBUTES if a.name == name), None)
    if attribute is None:
        return f"{name} {value:g}"
    middle = (attribute.low + attribute.high) / 2
    return attribute.high_words if value >= middle else attribute.low_words


def wants_words(wants: list) -> str:
    return " + ".join(want_words(str(n), float(v)) for n, v in wants)


@dataclass(frozen=True)
class HitRow:
    want: str  # "broad smile + glasses" or one attribute's words
    guided: float
    base: float | None  # the same judgement on unguided samples; None when the figures do not hold it


def hit_rows(guidance: dict) -> list[HitRow]:
    """The table's rows: all wanted attributes together first, then each alone."""
    rows = [HitRow(wants_words(guidance["wants"]), guidance["all"], guidance.get("base_rate"))]
    bases = guidance.get("base_per_attribute") or {}
    for name, value in guidance["wants"]:
        rate = (guidance.get("per_attribute") or {}).get(name)
        if rate is not None:
            rows.append(HitRow(want_words(name, value), rate, bases.get(name)))
    return rows


def guidance_reading(family: str, guidance: dict) -> str:
    """One sentence: how often the faces have what was asked for, against chance, and what it costs in variety."""
    wanted = wants_words(guidance["wants"])
    how = "classifier-free guidance" if guidance.get("guide", "free") == "free" else "classifier guidance"
    text = (f"Steered toward <b>{wanted}</b> ({how}, scale {float(guidance['scale']):g}), "
            f"{_pct(guidance['all'])} of {int(guidance.get('samples', 0)):,} faces of {_name(family)} have all of it")
    if guidance.get("base_rate") is not None:
        text += f", against {_pct(guidance['base_rate'])} unguided"
    if guidance.get("recall") is not None and guidance.get("recall_unguided") is not None:
        text += (f"; recall goes from {_pct(guidance['recall_unguided'])} unguided to {_pct(guidance['recall'])}: "
                 "the variety it costs")
    return text + "."


def real_point(figures: dict[str, Figures]) -> tuple[float, float] | None:
    """Real faces' (recall, precision) for the chart's star: the mean over the curves that carry it."""
    points = [(float(c["recall_real"]), float(c["precision_real"])) for f in figures.values()
              if isinstance(c := f.get("knob_curve"), dict) and "recall_real" in c and "precision_real" in c]
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)
