"""How each model family looks in the app: its colour, its loss plots, its plain-words texts (one module per family
here, registered on first use). A family without a view of its own gets one made from its models.family description,
so that a new family shows up everywhere before anyone has written a word about it. No Qt here."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.family import Family, families, find_family, noun_of

Figures = dict[str, Any]
# (this family's figures, every other measured family's figures) -> a sentence comparing it with the usual story
Story = Callable[[Figures, dict[str, Figures]], str | None]

# Sharpness is a model's fine detail as a ratio to real faces' (models/evaluate.py): 1 is as sharp as real faces,
# below 1 blurrier. Above 1 the faces have *more* fine detail than real ones, which is noise or checkerboard
# artefacts rather than crispness, so "sharpest" is the highest figure that does not pass real faces' by more than
# this. A second set of real faces scores about 1 ± 0.02 at 2,000 samples (more at fewer: Recompute measures 500),
# so 10 % above is not chance: it is a margin wide enough that only faces with clearly more detail than real ones
# are called noisy, while a model a few per cent above 1 still counts as sharp.
OVER_SHARP = 1.10


def sharpness_of(figures: Figures) -> float | None:
    """The figures' sharpness ratio, or None when they were measured before sharpness was (cached, older cards)."""
    value = figures.get("sharpness")
    return float(value) if isinstance(value, (int, float)) else None


def measured_for_sharpness(own: Figures, rest: dict[str, Figures]) -> tuple[dict[str, Figures], str] | None:
    """For a story: the families to judge blur among — this one (under the key "", which no family is called) and
    every other with a sharpness figure — and the words that say so when some were measured before sharpness
    existed; None when this family or all the others lack it (the story then falls back on precision)."""
    measured = {k: f for k, f in {**rest, "": own}.items() if sharpness_of(f) is not None}
    if "" not in measured or len(measured) < 2:
        return None
    return measured, ("" if len(measured) == len(rest) + 1 else " of the models measured for sharpness")


def sharpest(results: dict[str, Figures]) -> str | None:
    """The family whose faces are sharpest without being noisier than real faces (see OVER_SHARP): the highest
    sharpness up to OVER_SHARP, else, when every one is above it, the one closest to real faces. None: none has it."""
    ratios = {k: s for k, f in results.items() if (s := sharpness_of(f)) is not None}
    if not ratios:
        return None
    honest = {k: s for k, s in ratios.items() if s <= OVER_SHARP}
    if honest:
        return max(honest, key=honest.get)
    return min(ratios, key=ratios.get)


def blurriest(results: dict[str, Figures]) -> str | None:
    """The family with the least fine detail; None when none was measured for sharpness."""
    ratios = {k: s for k, f in results.items() if (s := sharpness_of(f)) is not None}
    return min(ratios, key=ratios.get) if ratios else None


@dataclass(frozen=True)
class LossPlot:
    title: str
    keys: tuple[str, ...]  # the losses drawn in it
    axis: str  # the y-axis's label
    tip: str  # what the plot shows, in a sentence


@dataclass(frozen=True)
class FamilyView:
    family: str  # models.family.Family.name
    colour: str  # its bars' colour in Compare
    chooser_label: str  # the Train tab's family chooser: "VAE (autoencoder)"
    compare_name: str  # in Compare's sentences, after "the": "diffusion model"
    explore_text: str  # the Explore tab's explanation (rich text)
    train_text: str  # the Train tab's explanation while it trains (rich text)
    loss_plots: tuple[LossPlot, ...]  # losses not listed are drawn in the first plot
    hidden_losses: tuple[str, ...] = ()  # reported but not drawn (a total that is the sum of the curves shown)
    loss_names: Mapping[str, str] = field(default_factory=dict)  # a curve's legend, by loss key
    morph_how: str = "faces found by encoding each picture"  # where a morph's end points came from, for pictures
    encode_verb: str = "Encoding"  # "Inverting the face…"
    story: Story | None = None  # Compare: how this family's figures compare with the usual story
    warns_mode_collapse: bool = False  # the Train tab warns when the sample grid's faces become alike
    summary: str = ""  # the help page's phrase after its name: "an encoder and a decoder; smooth, a bit blurry"
    diffusion_text: str = ""  # the Diffusion tab's explanation for this family ("": the tab's general one)

    @property
    def title(self) -> str:
        """The family's own title ("VAE"), from its description; the name of a family this version does not know."""
        known = find_family(self.family)
        return known.title if known is not None else self.family


_VIEWS: dict[str, FamilyView] = {}
_BUILT_IN_LOADED = False
# Colours for families without a view of their own, apart from the built-in ones' (Tableau 10), handed out by
# their place among such families, so that two of them differ; a grey for an unknown family once they run out.
SPARE_COLOURS = ("#f58518", "#b279a2", "#72b7b2", "#eeca3b", "#9d755d", "#ff9da6")
UNKNOWN_COLOUR = "#bab0ac"


def register_view(view: FamilyView) -> FamilyView:
    """Give a family its own look (a plug-in may; without one, the family gets default_view's)."""
    _VIEWS[view.family] = view
    return view


def _load_built_in() -> None:
    global _BUILT_IN_LOADED
    if _BUILT_IN_LOADED:
        return
    _BUILT_IN_LOADED = True
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")


def view_of(family: str | Family) -> FamilyView:
    """The view of a family by its name (or its description); a default one for a family without its own."""
    _load_built_in()
    name = family.name if isinstance(family, Family) else family
    if name in _VIEWS:
        return _VIEWS[name]
    described = family if isinstance(family, Family) else find_family(name)
    return default_view(described, name)


def default_view(family: Family | None, name: str) -> FamilyView:
    """A plain view made from what the family's description says."""
    title = family.title if family is not None else name
    noun = noun_of(name)
    unviewed = [f.name for f in families() if f.name not in _VIEWS]
    taken = {view.colour for view in _VIEWS.values()}  # a plug-in's own view may have picked a spare colour
    spare = [c for c in SPARE_COLOURS if c not in taken]
    place = unviewed.index(name) if name in unviewed else len(spare)
    colour = spare[place] if place < len(spare) else UNKNOWN_COLOUR
    losses = family.losses if family is not None else ("loss",)
    how = {"encoder": ("faces found by encoding each picture", "Encoding"),
           "search": ("faces found by searching for the numbers that draw them", "Searching for"),
           "inversion": ("faces found by running the model backwards", "Running the model backwards on")}
    morph_how, verb = how.get(family.encoding if family is not None else "", how["encoder"])
    return FamilyView(
        family=name, colour=colour, chooser_label=title, compare_name=f"{title} model",
        explore_text=(f"<b>{noun[0].upper() + noun[1:]}</b> draws the face from the numbers set by the sliders. "
                      "Drag a slider and the face follows."),
        train_text=(f"<b>Watching {noun} learn.</b> The curves are the losses it reports at every step (faint: raw, "
                    "bold: smoothed); the grid shows faces drawn from the same random numbers every time."),
        loss_plots=(LossPlot("Losses", tuple(losses), "loss", "What the model reports at every step."),),
        morph_how=morph_how, encode_verb=verb)
