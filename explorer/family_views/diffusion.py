"""How the diffusion model looks in the app: colour, loss plots, texts, and what Compare says of it."""

from __future__ import annotations

from explorer.family_views import (
    FamilyView,
    Figures,
    LossPlot,
    measured_for_sharpness,
    register_view,
    sharpest,
)

EXPLORE_TEXT = (
    "<b>A diffusion model</b> learned to remove a little noise from a noisy picture. To make a face it "
    "starts from pure noise and cleans it step by step.<br><br>"
    "Here the starting noise itself is the set of numbers you explore: one number per pixel and colour "
    "(thousands of them). Cleaning the same noise the same way (DDIM) always gives the same face, so "
    "nudging the noise along a direction nudges the face. Directions that change the overall colours "
    "of the noise change skin, hair and background; single pixels barely matter. "
    "See the <b>Diffusion</b> tab to watch the cleaning happen.")

TRAIN_TEXT = (
    "<b>Watching a diffusion model learn.</b> At every step the model sees faces with a random amount of "
    "noise added and guesses which noise was added. The curve is the <i>noise-prediction error</i>: it "
    "drops fast at first and then slowly for a long time; it stays noisy because some noise levels are "
    "much harder than others. The faint line is raw, the bold one smoothed.<br><br>The grid is made by "
    "starting from the same noise every time and cleaning it with the model as it is now: blobs first, "
    "then face shapes, then details.")


def story(d: Figures, rest: dict[str, Figures]) -> str:
    judged = measured_for_sharpness(d, rest)
    if judged is not None:
        measured, among = judged
        best, word = sharpest(measured) == "", f"the sharpest{among}"
    else:  # measured before sharpness was: precision, which sees realism but not blur
        best, word = d["precision"] >= max(r["precision"] for r in rest.values()), "the most convincing"
    both = best and d["recall"] >= max(r["recall"] for r in rest.values())
    slow = d["seconds_per_image"] >= max(r["seconds_per_image"] for r in rest.values())
    if both and slow:
        return (f"As the usual story goes, the diffusion model's faces are both {word} and the most varied, and it "
                "pays for it in time.")
    if slow:
        return (f"The diffusion model is the slowest, as expected, but here it is not both {word} and the most "
                "varied.")
    return "Unusually, the diffusion model is not the slowest here."


VIEW = register_view(FamilyView(
    family="diffusion", colour="#54a24b", chooser_label="Diffusion (denoiser)",
    compare_name="diffusion model",
    summary="removes noise step by step; sharp and varied, but slow",
    explore_text=EXPLORE_TEXT, train_text=TRAIN_TEXT,
    loss_plots=(LossPlot("Noise-prediction error", ("loss",), "error", "How well the model guesses the added noise."),),
    loss_names={"loss": "noise error"},
    morph_how="faces found by running DDIM backwards", encode_verb="Running diffusion backwards on", story=story))
