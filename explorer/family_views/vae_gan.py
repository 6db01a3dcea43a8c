"""How the VAE-GAN looks in the app: colour, loss plots, texts, and whether Compare's figures say it got "the best of
both" — the GAN's sharpness with the VAE's smooth space and encoder (Larsen et al. 2016)."""

from __future__ import annotations

from explorer.family_views import (
    OVER_SHARP,
    FamilyView,
    Figures,
    LossPlot,
    register_view,
    sharpness_of,
)

# A dark violet: between the VAE's blue and the GAN's red, as the hybrid is, yet told apart from both and from the
# diffusion model's green by every kind of colour vision (simulated protanopia, deuteranopia and tritanopia all
# keep it 20+ CIELAB units from the other three), and the darkest bar of the four, so it stays distinct in grey and
# on a washed-out projector, where a light colour (yellow, pink) fades into the white background.
COLOUR = "#5e3c99"

# The two families whose strengths it claims, by name: this story is about those two and no others.
SHARP_PARENT, SMOOTH_PARENT = "gan", "vae"
# "Near", as the story judges it (and the quality bars):
SHARP_NEAR = 0.10  # sharpness within 10 % of the GAN's (or closer to real faces' than the GAN's is)
SMOOTH_NEAR = 1.5  # path length at most 1.5x the VAE's
# Reconstruction must simply beat the GAN's inversion: a search over the GAN's numbers is the alternative it replaces.

EXPLORE_TEXT = (
    "<b>A VAE-GAN</b> is a VAE with a GAN's judge added. Like the VAE it has an <i>encoder</i> that squeezes a "
    "face into a short list of numbers and a <i>decoder</i> that draws a face from them; the picture is the "
    "decoder's drawing of the numbers set by the sliders. Like a GAN it was trained against a "
    "<i>discriminator</i> that tried to tell its faces from real ones.<br><br>"
    "The judge changes what \"a good copy\" means: the decoder was scored on how close its redrawing is "
    "<i>as the discriminator sees it</i> (edges, parts, textures: a <i>learned similarity</i>) rather than pixel "
    "by pixel, so it need not hedge into blur. The hope is the best of both: a VAE's smooth space and encoder "
    "with a GAN's sharp faces. The Compare tab measures whether it worked.<br><br>"
    "Drop a photo of a face on the window: the encoder finds its numbers in one pass, with no search.")

TRAIN_TEXT = (
    "<b>Watching a VAE-GAN learn.</b> Three networks train together. The encoder and decoder squeeze faces into "
    "numbers and redraw them, as in a VAE; a discriminator judges the decoder's faces, as in a GAN.<br><br>"
    "<i>Reconstruction</i> (top) is how far the redrawn faces are from the real ones, twice: in pixels, and in "
    "the discriminator's features (the <i>learned similarity</i>, which cares about edges and parts rather than "
    "exact pixels). Both should fall; the feature error may rise for a while as the discriminator learns to see "
    "more. The <i>KL</i> keeps the numbers close to a simple bell curve, as in a VAE.<br><br>"
    "The lower plots are the GAN's game: the discriminator's and the decoder's losses push against each other "
    "(a steady tug-of-war is healthy), and D(real), D(fake) are its scores for real and drawn faces. If D(real) "
    "goes to 1 and D(fake) to 0 for long, the judge has won and stops teaching. The grid shows faces drawn from "
    "the same random numbers every time; if they all become alike, the tab warns of <i>mode collapse</i>.")


# Why a part cannot be judged: the parent missing from the measured models, or its figures (or this model's)
# measured before that figure existed. Parts are grouped by their reason, so each is named with its own.
_OLDER = "figures measured before these existed: Recompute measures them"
Part = tuple[bool | None, str, str]  # (held?, the words, why not judged: "" when judged)


def _why_missing(parent: Figures | None, name: str) -> str:
    return f"{name} not measured" if parent is None else _OLDER


def _sharp_part(own: Figures, gan: Figures | None) -> Part:
    """Sharpness against the GAN's: noise above OVER_SHARP fails whatever the GAN scored; then closer to real faces'
    than the GAN's, or near it, or sharper within OVER_SHARP, holds; blurrier fails."""
    mine, theirs = sharpness_of(own), sharpness_of(gan) if gan is not None else None
    if mine is None or theirs is None:
        return None, "sharpness", _why_missing(gan, "the GAN")
    figures = f"sharpness {mine:.2f} against the GAN's {theirs:.2f}; real faces: 1"
    if mine > OVER_SHARP:
        return False, (f"its faces have more fine detail than real faces, by more than {100 * (OVER_SHARP - 1):.0f} "
                       f"%: noise rather than sharpness ({figures})"), ""
    if abs(mine - 1) < abs(theirs - 1):
        return True, f"its faces are as sharp as the GAN's or closer to real faces' detail ({figures})", ""
    if abs(mine - theirs) <= SHARP_NEAR * theirs:
        return True, f"its faces are about as sharp as the GAN's ({figures})", ""
    if mine > theirs:  # sharper than the GAN yet within what real faces vary by (up to OVER_SHARP)
        return True, f"its faces are sharper than the GAN's without passing real faces' detail by much ({figures})", ""
    return False, (f"its faces are blurrier than the GAN's ({figures}; within {100 * SHARP_NEAR:.0f} % would count as "
                   "near)"), ""


def _smooth_part(own: Figures, vae: Figures | None) -> Part:
    mine, theirs = own.get("ppl"), vae.get("ppl") if vae is not None else None
    if not isinstance(mine, (int, float)) or not isinstance(theirs, (int, float)):
        return None, "path length", _why_missing(vae, "the VAE")
    figures = f"path length {mine:,.0f} against the VAE's {theirs:,.0f}"
    if mine <= SMOOTH_NEAR * theirs:
        return True, f"its space is about as smooth as the VAE's ({figures})", ""
    return False, (f"its space is rougher than the VAE's: a tiny step changes the face more ({figures}, more than "
                   f"{SMOOTH_NEAR:g}×)"), ""


def _redraw_part(own: Figures, gan: Figures | None) -> Part:
    mine = own.get("reconstruction_error")
    theirs = gan.get("reconstruction_error") if gan is not None else None
    if not isinstance(mine, (int, float)) or not isinstance(theirs, (int, float)):
        return None, "reconstruction of held-out faces", _why_missing(gan, "the GAN")
    figures = f"error {mine:.3g} against {theirs:.3g} for the GAN's search"
    if mine < theirs:
        return True, f"its encoder redraws held-out faces better than a search through the GAN can ({figures})", ""
    return False, f"its encoder redraws held-out faces no better than a search through the GAN ({figures})", ""


def story(own: Figures, rest: dict[str, Figures]) -> str | None:
    """Whether the figures say the VAE-GAN got the best of both, part by part, plainly; None without its parents."""
    gan, vae = rest.get(SHARP_PARENT), rest.get(SMOOTH_PARENT)
    if gan is None and vae is None:
        return None
    parts = [_sharp_part(own, gan), _smooth_part(own, vae), _redraw_part(own, gan)]
    kept = [words for ok, words, _ in parts if ok]
    failed = [words for ok, words, _ in parts if ok is False]
    unknown: dict[str, list[str]] = {}  # why -> the parts not judged for that reason, in the parts' order
    for ok, words, why in parts:
        if ok is None:
            unknown.setdefault(why, []).append(words)
    if not failed and not unknown:
        return "The VAE-GAN got the best of both: " + _listed(kept) + "."
    if failed:
        text = "The VAE-GAN did not get the best of both: " + _listed(failed) + "."
        if kept:
            text += " It did keep this: " + _listed(kept) + "."
    elif kept:
        text = "So far the VAE-GAN keeps its promise: " + _listed(kept) + "."
    else:
        text = "Whether the VAE-GAN got the best of both cannot be told yet."
    if not unknown:
        return text
    return text + " Not judged: " + "; ".join(f"{_listed(names, ', ')} ({why})" for why, names in unknown.items()) + "."


def _listed(parts: list[str], between: str = "; ") -> str:
    """Clauses joined by semicolons ("a; b; and c"); short names by commas ("a, b and c")."""
    if len(parts) == 1:
        return parts[0]
    return between.join(parts[:-1]) + (" and " if between == ", " else between + "and ") + parts[-1]


VIEW = register_view(FamilyView(
    family="vae-gan", colour=COLOUR, chooser_label="VAE-GAN (autoencoder + judge)", compare_name="VAE-GAN",
    summary=("a VAE trained against a GAN's critic, hoping for the VAE's smooth space with the GAN's "
             "sharp faces"),
    explore_text=EXPLORE_TEXT, train_text=TRAIN_TEXT,
    loss_plots=(LossPlot("Reconstruction error", ("reconstruction", "feature_reconstruction"), "error",
                         "How far the redrawn faces are from the real ones, in pixels and in the discriminator's "
                         "features (the learned similarity)."),
                LossPlot("KL divergence", ("kl",), "nats",
                         "How far the codes stray from the bell curve: rises, then settles."),
                LossPlot("Judge against decoder", ("d_loss", "g_loss"), "loss",
                         "The discriminator against the decoder: a steady tug-of-war is healthy."),
                LossPlot("D(real) and D(fake)", ("d_real", "d_fake"), "score",
                         "The discriminator's verdict on real and drawn faces.")),
    # the total is the sum of what is drawn; the adversarial weight is a setting the trainer adapts, not a loss
    hidden_losses=("loss", "adversarial_weight"),
    loss_names={"reconstruction": "pixels", "feature_reconstruction": "features (learned)", "kl": "KL",
                "d_loss": "discriminator", "g_loss": "decoder", "d_real": "D(real)", "d_fake": "D(fake)"},
    morph_how="the encoder's mean for each face", encode_verb="Encoding", story=story, warns_mode_collapse=True))
