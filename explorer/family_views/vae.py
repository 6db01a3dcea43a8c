"""How the VAE looks in the app: colour, loss plots, texts, and what Compare says of it."""

from __future__ import annotations

from explorer.family_views import (
    FamilyView,
    Figures,
    LossPlot,
    blurriest,
    measured_for_sharpness,
    register_view,
    sharpness_of,
)

EXPLORE_TEXT = (
    "<b>A variational autoencoder (VAE)</b> learned two things from thousands of faces: an <i>encoder</i> "
    "that squeezes a face into a short list of numbers, and a <i>decoder</i> that rebuilds a face from them. "
    "The picture is the decoder's drawing of the numbers set by the sliders.<br><br>"
    "Drag a slider and the face follows: every place in this space is a face, because training pulled all "
    "the numbers towards the same smooth bell curve. That is also why VAE faces look a little blurry: "
    "the model hedges between the faces it could have been.<br><br>"
    "Drop a photo of a face on the window: the encoder turns it into numbers — not one point but a "
    "cloud (a mean μ and a spread σ for each number) — and the decoder redraws it.")

TRAIN_TEXT = (
    "<b>Watching a VAE learn.</b> At every step it squeezes a batch of faces into a few numbers each and "
    "redraws them. The <i>reconstruction error</i> (top curve) is how far the redrawn faces are from the "
    "real ones: it should fall quickly, then slowly. The <i>KL</i> (lower curve) measures how far the "
    "numbers stray from a simple bell curve: it usually rises at first, as the model starts to use its "
    "numbers, then settles. β weighs the two: a larger β keeps the numbers tidier but the faces blurrier."
    "<br><br>The faint lines are the raw values, the bold ones smoothed. The grid shows faces drawn from "
    "the same random numbers every time, so you see the same faces come into focus. <i>Latent numbers in "
    "use</i> counts the numbers that carry information (more than 0.05 nats of KL); the rest are ignored.")


def story(v: Figures, rest: dict[str, Figures]) -> str:
    judged = measured_for_sharpness(v, rest)
    if judged is not None:  # blur itself, measured; precision cannot see it
        measured, among = judged
        blurry = blurriest(measured) == ""
        blur = f"the blurriest{among} (sharpness {sharpness_of(v):.2f}; real faces: 1)"
        not_blur = f"the blurriest{among}"
    else:
        blurry = v["precision"] <= min(r["precision"] for r in rest.values())
        blur = not_blur = "the least convincing"
    varied = v["recall"] >= max(r["recall"] for r in rest.values())
    if blurry and varied:
        return f"As the usual story goes, the VAE covers the variety well but its faces are {blur}."
    if blurry:
        return f"The VAE's faces are {blur}, as expected, but it is not the most varied here either."
    if varied:
        return f"The VAE is the most varied, as expected, and its faces are not {not_blur}."
    return f"Unlike the usual story, the VAE's faces are not {not_blur}, and it is not the most varied here."


VIEW = register_view(FamilyView(
    family="vae", colour="#4c78a8", chooser_label="VAE (autoencoder)", compare_name="VAE",
    summary="an encoder and a decoder; smooth, a bit blurry",
    explore_text=EXPLORE_TEXT, train_text=TRAIN_TEXT,
    loss_plots=(LossPlot("Reconstruction error", ("reconstruction",), "error",
                         "How far the redrawn faces are from the real ones: should fall."),
                LossPlot("KL divergence", ("kl",), "nats",
                         "How far the codes stray from the bell curve: rises, then settles.")),
    hidden_losses=("loss",), loss_names={"reconstruction": "reconstruction", "kl": "KL"},
    morph_how="the encoder's mean for each face", encode_verb="Encoding", story=story))
