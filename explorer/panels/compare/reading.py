"""The Compare tab's reading of the numbers, in plain words, from whatever was measured (no Qt here).

Every sentence is computed from the figures: which family is sharpest (precision), most varied (recall and
coverage), smoothest (path length), fastest, and where the measurements disagree with the usual story
(GANs sharp but less varied; VAEs varied but blurry; diffusion both, but slow), which each family's view tells
(explorer/family_views).
"""

from __future__ import annotations

from explorer.family_views import Figures, view_of
from models.family import family_names


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
        lines.append(f"Only {_name(family)} is measured so far. {_pct(f['precision'])} of its faces look real "
                     f"(real faces: {_pct(f['precision_real'])}), and it covers {_pct(f['recall'])} of the variety "
                     f"of real faces (real faces: {_pct(f['recall_real'])}).")
        return lines

    sharp = _best(results, "precision")
    f = results[sharp]
    lines.append(f"<b>Sharpest:</b> {_name(sharp)}. {_pct(f['precision'])} of its faces fall among real faces "
                 f"(precision; another set of real faces scores {_pct(f['precision_real'])}).")
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
    fast, slow = _best(results, "seconds_per_image", lowest=True), _worst(results, "seconds_per_image", lowest=True)
    ratio = results[slow]["seconds_per_image"] / max(results[fast]["seconds_per_image"], 1e-12)
    lines.append(f"<b>Fastest:</b> {_name(fast)}, {1000 * results[fast]['seconds_per_image']:.1f} ms per face; "
                 f"{_name(slow)} takes {_times(ratio)} as long.")
    lines += _story(results)
    return lines


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
