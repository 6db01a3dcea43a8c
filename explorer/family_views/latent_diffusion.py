"""How latent diffusion looks in the app: colour, loss plots, texts (Explore, Train and the Diffusion tab), and what
Compare says of it: the usual story of diffusion (sharp and varied, slow), against which running in a latent is
meant to buy speed."""

from __future__ import annotations

from explorer.family_views import (
    FamilyView,
    Figures,
    LossPlot,
    measured_for_sharpness,
    register_view,
    sharpest,
)

# A dark gold: told apart from the VAE's blue, the GAN's red, the diffusion model's green and the VAE-GAN's violet by
# every kind of colour vision (simulated protanopia, deuteranopia and tritanopia keep it 25+ CIELAB units from each),
# and darker than the spare yellow a family without a view may get, so it does not wash out on a projector.
COLOUR = "#c8a600"

EXPLORE_TEXT = (
    "<b>A latent diffusion model</b> is a diffusion model that works on a small summary of the face instead of "
    "its pixels. First an <i>autoencoder</i> learned to squeeze a face into a small stack of numbers (the "
    "<i>latent</i>: a few tiny grey pictures, one per channel) and to draw the face back from it. Then a "
    "denoiser learned to clean noise out of such latents. To make a face it starts from pure noise in the latent, "
    "cleans it step by step, and the decoder draws the result.<br><br>"
    "Here the starting noise in the latent is the set of numbers you explore: cleaning the same noise the same "
    "way (DDIM) always gives the same face, so nudging the noise nudges the face.<br><br>"
    "<b>Guidance</b> steers the cleaning toward a face with what you ask for (smiling, glasses, grey hair…): "
    "the model was trained both told and untold what the face has, and guidance pushes each step from its untold "
    "guess toward the told one. A larger scale gets the attribute more often and costs variety — the same trade "
    "as a GAN's truncation ψ or a VAE's sampling temperature.<br><br>"
    "See the <b>Diffusion</b> tab to watch the cleaning happen in the latent.")

TRAIN_TEXT = (
    "<b>Watching a latent diffusion model learn.</b> It learns in two stages, two runs of the same model. "
    "<i>Autoencoder</i>: the encoder squeezes faces into the latent and the decoder draws them back; "
    "<i>reconstruction</i> is how far the copies are from the faces and <i>KL</i> keeps the latent's numbers "
    "tame. With an adversarial weight, a discriminator also judges the decoder's faces (its losses are the GAN's "
    "tug-of-war): the VAE-GAN idea again, for sharper detail.<br><br>"
    "<i>Denoiser</i>: the autoencoder is frozen; the denoiser sees latents with a random amount of noise and "
    "guesses the noise. Its <i>noise-prediction error</i> drops fast, then slowly, and stays noisy because some "
    "noise levels are much harder than others. The <i>classifier loss</i> is the small attribute reader that "
    "classifier guidance steers with. The grid shows faces cleaned from the same noise every time.")

DIFFUSION_TEXT = (
    "<b>Watching latent diffusion draw.</b> This model never diffuses pixels. An <i>encoder</i> squeezes faces "
    "into a small <i>latent</i> (the strip above says how small), the noising and denoising happen there, and a "
    "<i>decoder</i> draws the face. That is why it is cheap: each denoising step works on far fewer numbers than "
    "the pixels. Its faces can be no better than the autoencoder's copies.<br><br>"
    "Left, <i>x_t</i>: the current noisy latent, decoded. It is a smeared, blotchy face rather than snow, "
    "because the decoder only knows how to draw faces. Middle: the model's guess of the clean latent (the "
    "<i>predicted x₀</i>), decoded. Right: the latent itself, one grey picture per channel.<br><br>"
    "<i>DDPM</i> needs many small noisy steps, <i>DDIM</i> 20–50 big deterministic ones, <i>DPM-Solver++ 2M</i> "
    "(Lu et al. 2022) fewest, 10–20: it reuses the previous step's guess to aim the next.<br><br>"
    "A discriminator may have judged the autoencoder's decoder in training, keeping the faces sharp: the VAE-GAN "
    "idea again. <b>Guidance</b> (in Explore) steers the denoising toward wanted attributes; the stronger, the "
    "more alike the faces.<br><br>"
    "Below, the <b>forward process</b> in the latent: a real face's latent noised to step t, decoded and channel "
    "by channel.")


def story(d: Figures, rest: dict[str, Figures]) -> str:
    """Diffusion's usual story (the sharpest and most varied, and slow), with running in a latent meant to make it
    cheaper: which of these the figures bear out."""
    judged = measured_for_sharpness(d, rest)
    if judged is not None:
        measured, among = judged
        best, word = sharpest(measured) == "", f"the sharpest{among}"
    else:  # measured before sharpness was: precision, which sees realism but not blur
        best, word = d["precision"] >= max(r["precision"] for r in rest.values()), "the most convincing"
    varied = d["recall"] >= max(r["recall"] for r in rest.values())
    slowest = d["seconds_per_image"] >= max(r["seconds_per_image"] for r in rest.values())
    quality = (f"its faces are both {word} and the most varied" if best and varied
               else f"its faces are not both {word} and the most varied")
    speed = ("it is still the slowest: the latent saves work per step, not the steps" if slowest
             else "working in a small latent keeps it from being the slowest")
    return f"For the latent diffusion model, {quality}, and {speed}."


VIEW = register_view(FamilyView(
    family="latent-diffusion", colour=COLOUR, chooser_label="Latent diffusion (compressed)",
    compare_name="latent diffusion model",
    summary="diffusion in a small autoencoder's latent, which can be guided toward attributes; cheaper per step",
    explore_text=EXPLORE_TEXT, train_text=TRAIN_TEXT, diffusion_text=DIFFUSION_TEXT,
    loss_plots=(
        LossPlot("Denoiser", ("loss", "classifier_loss"), "error",
                 "The denoiser's noise-prediction error and the attribute reader's loss (denoiser stage)."),
        LossPlot("Autoencoder", ("reconstruction", "kl"), "loss",
                 "How far the autoencoder's copies are from the faces, and how tame its latent is (first stage)."),
        LossPlot("Decoder vs. judge", ("g_loss", "d_loss"), "loss",
                 "With an adversarial weight: the discriminator's and the decoder's losses (the VAE-GAN idea)."),
    ),
    loss_names={"loss": "loss (denoiser: noise error)", "classifier_loss": "attribute reader",
                "reconstruction": "reconstruction", "kl": "KL", "g_loss": "decoder (G)", "d_loss": "discriminator (D)"},
    morph_how="faces found by encoding each picture and running DDIM backwards in the latent",
    encode_verb="Encoding and running diffusion backwards on", story=story))
