"""The Compare tab's reading of the numbers, in plain words, from whatever was measured (no Qt here).

Every sentence is computed from the figures: which family is sharpest (sharpness: fine detail against real
faces'), most real-looking (precision), most varied (recall and coverage), smoothest (path length), best at redrawing
a face it never saw (reconstruction error), fastest, and where the measurements disagree with the usual story
(GANs sharp but less varied; VAEs varied but blurry; diffusion both, but slow), which each family's view tells
(explorer/family_views).

Precision is not sharpness: the attribute network behind it sees what a face shows (a smile, glasses), not how
crisply, so a blurry face can still count as real-looking. "Sharpest" therefore comes from `sharpness` alone, by
explorer.family_views.sharpest (the most detail without passing real faces' by more than OVER_SHARP: above that it
is noise). Figures measured before sharpness and reconstruction error existed (cached, older cards) lack them: their
sentences then say so or are left out, and every other sentence stands.
"""

from __future__ import annotations

from explorer.family_views import OVER_SHARP, Figures, sharpest, sharpness_of, view_of
from models.family import family_names, find_family

# How a family finds the numbers of a face brought in (models.family.Family.encoding), for the redrawing sentence.
HOW_FOUND = {"encoder": "through its encoder", "search": "by a search", "inversion": "by running it backwards"}
# Times per face closer than this ratio count as the same: a model timed twice on one computer differs by a few %.
SAME_TIME = 1.05


def _name(family: str) -> str:
    return "the " + view_of(family).compare_name


def _best(results: dict[str, Figures], key: str, lowest: bool = False) -> str:
    return (min if lowest else max)(results, key=lambda f: results[f][key])


def _worst(results: dict[str, Figures], key: str, lowest: bool = False) -> str:
    return _best(results, key, lowest=not lowest)


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def reading(results: dict[str, Figures]) -> list[str]:
    """Sentences about the models measured so far (family -> evaluate figures); empty when nothing is."""
    if not results:
        return []
    lines = []
    if len(results) == 1:
        family, f = next(iter(results.items()))
        text = (f"Only {_name(family)} is measured so far. {_pct(f['precision'])} of its faces look real "
                f"(real faces: {_pct(f['precision_real'])}), and it covers {_pct(f['recall'])} of the variety "
                f"of real faces (real faces: {_pct(f['recall_real'])}).")
        if (sharp := sharpness_of(f)) is not None:
            text += f" Its faces have {sharp:.2f}× the fine detail of real faces (sharpness; 1 is as sharp)."
        lines.append(text)
        return lines

    lines += _sharpness(results)
    real = _best(results, "precision")
    f = results[real]
    text = (f"<b>Most real-looking:</b> {_name(real)}. {_pct(f['precision'])} of its faces fall among real faces "
            f"(precision; another set of real faces scores {_pct(f['precision_real'])})")
    if real != sharpest(results):  # the trap: read as "sharpest", precision would crown a blurry model
        text += ". Precision judges what a face shows, not how crisply: it does not see blur"
    lines.append(text + ".")
    varied, covers = _best(results, "recall"), _best(results, "coverage")
    f = results[varied]
    text = (f"<b>Most varied:</b> {_name(varied)}. Its faces reach {_pct(f['recall'])} of the kinds of real face "
            f"(recall; real faces: {_pct(f['recall_real'])})")
    if covers != varied:
        text += (f", though {_name(covers)} has the best coverage ({_pct(results[covers]['coverage'])} of real "
                 "faces have one of its faces close by): the two measures weigh stray faces differently")
    lines.append(text + ".")
    closest = _best(results, "fd", lowest=True)
    lines.append(f"<b>Closest overall:</b> {_name(closest)}, with the smallest Fréchet distance "
                 f"({results[closest]['fd']:.2f}; two sets of real faces differ by {results[closest]['fd_real']:.2f}).")
    smooth = _best(results, "ppl", lowest=True)
    rough = _worst(results, "ppl", lowest=True)
    lines.append(f"<b>Smoothest:</b> {_name(smooth)}: its faces change the least for a tiny step along a morph "
                 f"(path length {results[smooth]['ppl']:,.0f}, against {results[rough]['ppl']:,.0f} for "
                 f"{_name(rough)}).")
    lines += _redrawing(results)
    lines.append(_fastest(results))
    lines += _story(results)
    return lines


def _fastest(results: dict[str, Figures]) -> str:
    """The fastest family and how much longer the slowest takes; that they take the same time, when they do."""
    fast, slow = _best(results, "seconds_per_image", lowest=True), _worst(results, "seconds_per_image", lowest=True)
    ratio = results[slow]["seconds_per_image"] / max(results[fast]["seconds_per_image"], 1e-12)
    if ratio < SAME_TIME:  # "1.0× as long" says nothing: timings differ by a few per cent from run to run
        mean = 1000 * sum(f["seconds_per_image"] for f in results.values()) / len(results)
        every = "both" if len(results) == 2 else f"all {len(results)}"
        return (f"<b>Fastest:</b> none: {every} models take about the same time, {mean:.1f} ms per face (within "
                f"{_pct(SAME_TIME - 1)} of each other).")
    return (f"<b>Fastest:</b> {_name(fast)}, {1000 * results[fast]['seconds_per_image']:.1f} ms per face; "
            f"{_name(slow)} takes {_times(ratio)} as long.")


def _sharpness(results: dict[str, Figures]) -> list[str]:
    """"Sharpest", from the sharpness figures, once two families have one; a word on those measured without it."""
    measured = {k: f for k, f in results.items() if sharpness_of(f) is not None}
    missing = [k for k in results if k not in measured]
    if len(measured) < 2:
        named = "any of these models" if len(missing) == len(results) else _listed([_name(k) for k in missing])
        return [(f"<b>Sharpness</b> was not measured for {named} (figures from before it existed): Recompute "
                 "measures it.")] if missing else []
    best, least = sharpest(measured), min(measured, key=lambda k: sharpness_of(measured[k]))
    real = [float(f["sharpness_real"]) for f in measured.values() if isinstance(f.get("sharpness_real"), (int, float))]
    text = (f"<b>Sharpest:</b> {_name(best)}: its faces have {sharpness_of(measured[best]):.2f}× the fine detail of "
            f"real faces (sharpness; another set of real faces: {sum(real) / len(real) if real else 1.0:.2f})")
    if least != best:
        text += f"; the blurriest, {_name(least)}, has {sharpness_of(measured[least]):.2f}×"
    noisy = [k for k, f in measured.items() if sharpness_of(f) > OVER_SHARP]
    if noisy:
        named = _listed([_name(k) for k in noisy])
        text += (". " + named[0].upper() + named[1:] + " passed real faces' detail by more than "
                 f"{_pct(OVER_SHARP - 1)}: noise, not sharpness")
    if missing:
        text += ". Not measured for " + _listed([_name(k) for k in missing]) + ": Recompute measures it"
    return [text + "."]


def _redrawing(results: dict[str, Figures]) -> list[str]:
    """Which family redraws a held-out face best, and how each found its numbers; nothing before it was measured."""
    measured = {k: f for k, f in results.items() if isinstance(f.get("reconstruction_error"), (int, float))}
    if len(measured) < 2:
        return []
    best = _best(measured, "reconstruction_error", lowest=True)
    worst = _worst(measured, "reconstruction_error", lowest=True)
    return [(f"<b>Redraws a face it never saw best:</b> {_name(best)}{_how(best)} (error "
             f"{measured[best]['reconstruction_error']:.3g}, against {measured[worst]['reconstruction_error']:.3g} "
             f"for {_name(worst)}{_how(worst)}).")]


def _how(family: str) -> str:
    described = find_family(family)
    how = HOW_FOUND.get(described.encoding) if described is not None else None
    return f", finding its numbers {how}" if how else ""


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _story(results: dict[str, Figures]) -> list[str]:
    """Where the measured numbers agree or disagree with the usual story, said plainly: a sentence from each
    measured family whose view tells a story (in the app's order), once there is another family to compare with."""
    if len(results) < 2:
        return []
    names = family_names()
    order = [f for f in names if f in results] + [f for f in results if f not in names]
    lines = []
    for family in order:
        story = view_of(family).story
        said = story(results[family], {k: v for k, v in results.items() if k != family}) if story else None
        if said:
            lines.append(said)
    return lines
