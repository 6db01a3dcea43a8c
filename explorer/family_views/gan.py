"""How the GAN looks in the app: colour, loss plots, texts, and what Compare says of it."""

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
    "<b>A generative adversarial network (GAN)</b> is two networks that played a game: the "
    "<i>generator</i> turns random numbers into a face, and the <i>discriminator</i> tries to tell its "
    "faces from real ones. Each got better by beating the other.<br><br>"
    "The picture is what the generator draws from the numbers set by the sliders. GAN faces are sharp, "
    "but the space is less smooth than a VAE's: some paths pass odd faces, and numbers far from the "
    "middle give strange results. The <i>truncation</i> slider ψ pulls the numbers towards the middle: "
    "cleaner, more typical faces, less variety.")

TRAIN_TEXT = (
    "<b>Watching a GAN learn.</b> Two networks play a game. The <i>discriminator</i> learns to tell real "
    "faces from the generator's; the <i>generator</i> learns to fool it. Their losses (top) do not fall "
    "together as in other models: they push against each other, and a steady tug-of-war is healthy.<br><br>"
    "The lower plot is the discriminator's verdict: D(real) is its score for real faces, D(fake) for "
    "made-up ones. If D(real) goes to 1 and D(fake) to 0 for long, the discriminator has won and the "
    "generator stops learning.<br><br>The grid is drawn from the same random numbers every time. If its "
    "faces all become alike, the generator has found one face that fools the judge and stopped exploring "
    "(<i>mode collapse</i>): the tab warns you, using how different the grid's faces are from each other "
    "compared with real faces.")


def story(g: Figures, rest: dict[str, Figures]) -> str:
    judged = measured_for_sharpness(g, rest)
    if judged is not None:  # fine detail itself, measured; precision cannot see blur
        measured, among = judged
        sharp, word = sharpest(measured) == "", f"the sharpest{among}"
    else:
        sharp, word = g["precision"] >= max(v["precision"] for v in rest.values()), "the most convincing"
    narrow = g["recall"] <= min(v["recall"] for v in rest.values())
    if sharp and narrow:
        return f"As the usual story goes, the GAN's faces are {word} but less varied than the others'."
    if narrow:
        return f"The GAN is the least varied, as the usual story says, but its faces are not {word} here."
    if sharp:
        return (f"The GAN's faces are {word}, as the usual story says, but here it is not the least varied: its "
                "training kept most kinds of face.")
    return f"Unlike the usual story, the GAN's faces are not {word}, and it is not the least varied here."


VIEW = register_view(FamilyView(
    family="gan", colour="#e45756", chooser_label="GAN (generator vs. judge)", compare_name="GAN",
    summary="a generator trained against a critic; sharp, sometimes odd",
    explore_text=EXPLORE_TEXT, train_text=TRAIN_TEXT,
    loss_plots=(LossPlot("Losses", ("d_loss", "g_loss"), "loss",
                         "Discriminator against generator: a steady tug-of-war is healthy."),
                LossPlot("D(real) and D(fake)", ("d_real", "d_fake"), "score",
                         "The discriminator's verdict on real and made-up faces.")),
    loss_names={"d_loss": "discriminator", "g_loss": "generator", "d_real": "D(real)", "d_fake": "D(fake)"},
    morph_how="faces found by inverting the generator", encode_verb="Inverting", story=story,
    warns_mode_collapse=True))
