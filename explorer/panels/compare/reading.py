"""The Compare tab's reading of the numbers, in plain words, from whatever was measured (no Qt here).

Every sentence is computed from the figures: which family is sharpest (precision), most varied (recall and
coverage), smoothest (path length), fastest, and where the measurements disagree with the usual story
(GANs sharp but less varied; VAEs varied but blurry; diffusion both, but slow).
"""

from __future__ import annotations

from typing import Any

NAMES = {"vae": "VAE", "gan": "GAN", "diffusion": "diffusion model"}
Figures = dict[str, Any]


def _name(family: str) -> str:
    return "the " + NAMES.get(family, family)


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
    """Where the measured numbers agree or disagree with the usual story, said plainly."""
    lines = []
    others = lambda family: {k: v for k, v in results.items() if k != family}
    if "gan" in results and len(results) > 1:
        g, rest = results["gan"], others("gan")
        sharp = g["precision"] >= max(v["precision"] for v in rest.values())
        narrow = g["recall"] <= min(v["recall"] for v in rest.values())
        if sharp and narrow:
            lines.append("As the usual story goes, the GAN's faces are sharp but less varied than the others'.")
        elif narrow:
            lines.append("The GAN is the least varied, as the usual story says, but it is not the sharpest here.")
        elif sharp:
            lines.append("The GAN is the sharpest, as the usual story says, but here it is not the least varied: "
                         "its training kept most kinds of face.")
        else:
            lines.append("Unlike the usual story, the GAN is neither the sharpest nor the least varied here.")
    if "vae" in results and len(results) > 1:
        v, rest = results["vae"], others("vae")
        blurry = v["precision"] <= min(r["precision"] for r in rest.values())
        varied = v["recall"] >= max(r["recall"] for r in rest.values())
        if blurry and varied:
            lines.append("As the usual story goes, the VAE covers the variety well but its faces are the least "
                         "convincing (blurry).")
        elif blurry:
            lines.append("The VAE's faces are the least convincing (blurry), as expected, but it is not the most "
                         "varied here either.")
        elif varied:
            lines.append("The VAE is the most varied, as expected, and its faces are not the least convincing.")
        else:
            lines.append("Unlike the usual story, the VAE is neither the blurriest nor the most varied here.")
    if "diffusion" in results and len(results) > 1:
        d, rest = results["diffusion"], others("diffusion")
        both = (d["precision"] >= max(r["precision"] for r in rest.values())
                and d["recall"] >= max(r["recall"] for r in rest.values()))
        slow = d["seconds_per_image"] >= max(r["seconds_per_image"] for r in rest.values())
        if both and slow:
            lines.append("As the usual story goes, the diffusion model is both the sharpest and the most varied, "
                         "and pays for it in time.")
        elif slow:
            lines.append("The diffusion model is the slowest, as expected, but here it does not lead on both "
                         "sharpness and variety.")
        else:
            lines.append("Unusually, the diffusion model is not the slowest here.")
    return lines
