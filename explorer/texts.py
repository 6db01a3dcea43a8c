"""The app's plain-language explanations, for people who have never written code. Rich text (Qt subset)."""

from explorer.family_views import view_of
from models.family import families

NO_MODEL = (  # the Explore tab before any model is loaded (a family's own text is in explorer/family_views/)
        "No model is loaded yet. Use <b>File → Open checkpoint…</b> to open one, or train one in the "
        "<b>Train</b> tab (or with <code>python main.py train</code>).")

BANKS = {
    "attributes": ("Named directions: moving along one changes one property of the face (smile, glasses, "
                   "skin…). They were found by asking which way through the numbers the property grows, "
                   "using faces whose properties we know. Each was then tried on the model's own faces, and only "
                   "those that really change their property are here: point at one to see by how much."),
    "principal": ("The main directions in which this model's faces differ from one another, found by "
                  "comparing many of its faces (principal component analysis). Nobody chose them: each is "
                  "named by what it was measured to change most when faces are moved along it."),
    "raw": "The model's own numbers, one slider each.",
    "raw_kl": (" They are sorted by how much information about the face each one carries (its KL, in nats): the "
               "last ones are often ignored by the decoder."),
}

# Shown under the Named bank when most properties got no slider (the analysis found or kept fewer than it lost).
HARD_TO_STEER = (
    "<b>Why so few?</b> Most properties ({missing}) have no slider here: pushing this model's numbers in a straight "
    "line was measured not to change them. That happens when the numbers do not decide the face directly, as in a "
    "diffusion model: its numbers are the noise it starts from, and it cleans that noise in many small steps. The "
    "noise settles the colours and the rough layout; a smile or a pair of glasses is decided along the way, "
    "differently for every face, so no single push on the noise gives every face a smile. To steer such a model you "
    "change the cleaning itself, step by step, towards what you want: that is called <i>guidance</i>.")

# Slider tooltips: what moving along a direction was measured to do ("×": spreads of real faces, see SPREAD).
EFFECT_SHARE = "{amount} on this slider: {label} on {high:.0%} of faces, from {base:.0%} at 0 ({low:.0%} at {minus})."
EFFECT_VALUE = ("{amount} on this slider: {label} {high:.2f}, from {base:.2f} at 0 ({low:.2f} at {minus}), on a "
                "scale {scale}; from {minus} to {amount} that is {size:.1f}× the spread of real faces.")
EFFECT_ALSO = "Also: {changes}."
EFFECT_MAIN = "From {minus} to {amount} on this slider: {changes}."
EFFECT_NONE = ("From {minus} to {amount} on this slider nothing we measure changes by {least:g}× the spread of real "
               "faces.")
MEASURED_ON = "Measured on {faces} of this model's faces."
SPREAD = " 1× is the spread of real faces: how much real faces usually differ in that property."

ALL_MODELS = "[all models]"  # the choice's label, which counts the families (interpolate)
INTERPOLATE = (
    "<b>Morphing one face into another.</b> Each model turns face A and face B into its own numbers, then "
    "walks in small steps from one set of numbers to the other and draws a face at every step.<br><br>"
    "<i>Straight line (lerp)</i> walks the shortest path. <i>Great circle (slerp)</i> keeps the numbers as "
    "far from the middle as real faces are: the straight line passes near the middle, where faces can turn "
    "grey and bland.<br><br>"
    "With <b>" + ALL_MODELS + "</b> (one of each family) you see how smooth each model's space is: the VAE glides, the "
    "GAN may jump or pass odd faces, diffusion changes in patches, and a VAE-GAN that kept the VAE's smooth space "
    "glides too. For seeds, each model uses its own random numbers, so "
    "the faces differ; for data-set faces and images, each model first finds numbers that redraw that face.")

DIFFUSION = (
    "<b>Watching a diffusion model draw.</b> It starts from pure noise (left) and at every step removes a "
    "little of it. At each step it also guesses the finished picture (right, the <i>predicted x₀</i>): "
    "blurry and average at first, sharper as the noise goes.<br><br>"
    "<i>DDPM</i> adds a little fresh noise back at every step and needs many steps (up to 1,000). "
    "<i>DDIM</i> takes big, deterministic steps: 20–50 are enough, and the same seed always gives the "
    "same face. η blends DDIM (0) towards DDPM-like randomness (1). <i>DPM-Solver++ 2M</i> (Lu et al. 2022) "
    "solves the same process more cleverly: it reuses the previous step's guess to aim the next one, so "
    "10–20 steps do what DDIM needs more for.<br><br>"
    "Below, the <b>forward process</b>: the noise the model learned to undo, added to a real face. Drag t "
    "and see how much of the face (signal) and how much noise is left.")

COMPARE = (
    "<b>Each family's way to make a face, measured on the same faces.</b> Each model draws faces, and a small "
    "network trained to recognise the properties of Synthetic Faces describes every face as a list of numbers. We "
    "then compare the model's faces with 2,000 real faces it never saw in training:<br>"
    "• <b>Precision</b>: how many of the model's faces look like some real face (realism). It judges what a face "
    "shows, not how crisply, so it does not see blur.<br>"
    "• <b>Sharpness</b>: how much fine detail the faces have, as a ratio to real faces' (1 = as sharp as real "
    "faces, below 1 blurrier, above 1 noisier): blur, measured directly.<br>"
    "• <b>Recall</b> and <b>coverage</b>: how many kinds of real face the model can make (variety). A model "
    "that draws one perfect face again and again has high precision and almost no recall.<br>"
    "• <b>Fréchet distance</b>: everything together, as one distance (0 = the same as real faces).<br>"
    "• <b>Path length</b>: how much the face jumps for a tiny step along a morph (smoothness).<br>"
    "• <b>Redrawing error</b>: how closely the model redraws faces it never saw, once it has found their numbers "
    "(an encoder does it in one pass; other models must search or run backwards).<br>"
    "• <b>Time per face</b>, on this computer, on a log scale: each grid line is ten times the one below.<br>"
    "The dashed lines show two sets of <i>real</i> faces compared the same way: the best a model could score. "
    "The usual story is that GANs are sharp but less varied, VAEs varied but blurry, and diffusion models both "
    "but slow; a VAE-GAN hopes for a VAE's smooth space with a GAN's sharpness. The reading beside the charts "
    "says whether these models agree.")

ABOUT = (
    "<h3>Latent Explorer</h3><p>See and feel how families of generative image models work — "
    "variational autoencoders, generative adversarial networks, the VAE-GAN hybrid of the two, and diffusion "
    "models — on the same faces.</p>"
    "<p>Every model shipped with the app was trained by the app's own code on Synthetic Faces, a data set "
    "of drawn faces whose properties (smile, hair, skin, glasses…) are known. Nothing is downloaded.</p>")

# Every term the app shows without explaining it where it appears, in plain words (F1 lists them all).
GLOSSARY = (
    ("Batch, step", ("Training looks at a handful of faces at a time (a batch), then nudges the model's weights "
      "a little: one step. A run is thousands of steps.")),
    ("β (beta)", ("How hard the VAE's training pulls its numbers towards the plain bell curve (the weight of the "
      "KL). A larger β: tidier numbers, blurrier faces.")),
    ("Checkpoint", ("A file holding a trained model: the weights it learned and how it was trained. "
      "File → Open checkpoint opens one; a training run saves one now and then.")),
    ("Coverage", ("Of the real faces, the share that have one of the model's faces close by (closer than that real "
      "face's fifth-nearest real neighbour). Like recall, but a few stray faces cannot inflate it.")),
    ("DDPM and DDIM", ("Two ways to clean the noise in a diffusion model. DDPM adds a little fresh noise back at "
      "every step and needs many steps (up to 1,000). DDIM takes bigger steps without fresh noise: 20–50 are "
      "enough, and the same seed always gives the same face.")),
    ("Density", ("For each of the model's faces, how many real faces' neighbourhoods it falls in (divided by 5, "
      "the size of a neighbourhood), averaged. About 1 for real faces; above 1, the model keeps to the most "
      "typical faces; below 1, its faces lie off to the side.")),
    ("Discriminator (critic) and generator", ("The GAN's two networks: the generator draws faces from random "
      "numbers, the discriminator (also called the critic) judges whether a face is real. Each learned by "
      "beating the other.")),
    ("Encoder and decoder", ("The VAE's two halves: the encoder turns a face into a few numbers, the decoder "
      "draws a face from numbers.")),
    ("η (eta)", ("How much fresh noise DDIM adds at each step: 0 adds none (the same seed gives the same face), "
      "1 adds as much as DDPM.")),
    ("Feature network", ("A small network trained to recognise the properties of Synthetic Faces (smile, hair, "
      "glasses…). Compare does not compare pixels: it describes every face by this network's numbers (its "
      "features) and compares those.")),
    ("Forward process, t", ("Noise added to a real face a little more at each step t, until only noise is left: "
      "what a diffusion model learned to undo. At small t the face is almost clean; at the last t it is gone.")),
    ("Fréchet distance", ("Sum up the model's faces and the real faces each by their average and their spread "
      "(in the feature network's numbers), and measure how far apart the two summaries are. 0: the same; two "
      "sets of real faces score a little above 0, by chance. The well-known FID is this with another network.")),
    ("KL (Kullback–Leibler divergence)", ("How far the VAE's cloud for a face (μ, σ) is from the plain bell "
      "curve all its numbers are pulled towards, measured in nats. A number with a KL of about 0 says nothing "
      "about the face: the decoder ignores it.")),
    ("Latent numbers, latent space", ("The list of numbers a model turns into a face (for a diffusion model, "
      "its starting noise). Latent means hidden: nobody chose what each number does. Every list is a point of "
      "the latent space; the sliders move that point.")),
    ("lerp and slerp", ("Two paths from face A's numbers to face B's. lerp (linear) goes in a straight line; "
      "slerp (spherical) follows a great circle, keeping the numbers as far from the middle as real faces' "
      "numbers are, so the faces half-way do not turn bland.")),
    ("Loss", "The number training makes smaller: how wrong the model is on a batch of faces."),
    ("Mode collapse", ("A GAN's generator finds a few faces that fool the discriminator and draws only those: "
      "its faces stop varying.")),
    ("μ and σ (mu and sigma)", ("For a face, the VAE's encoder gives not one point but a cloud: μ is the "
      "cloud's centre and σ its spread, for every number.")),
    ("nats", "A unit of information, like bits but counted with natural logarithms: 1 nat is about 1.44 bits."),
    ("Noise schedule (linear, cosine)", ("How fast a diffusion model's forward process adds noise over its "
      "steps; cosine keeps more of the face in the early steps.")),
    ("Path length", ("Take two random faces, step a tiny bit along the morph between them and measure how much "
      "the face changes (in the feature network's numbers); averaged over many pairs. Lower: a smoother space, "
      "with no sudden jumps.")),
    ("Percentile", ("Where a figure falls among many: a face at the 95th percentile is rebuilt worse than 95 % "
      "of the faces the model never trained on, so it is unusual for this model.")),
    ("Power", ("The strength of a picture or a sound counted as its square. In the forward process the picture "
      "is a × face + b × noise with a² + b² = 1: \"70 % of the power is face\" means a² = 0.7 and b² = 0.3.")),
    ("Precision", ("Of the model's faces, the share that lie among real faces (closer to some real face than "
      "that face's third-nearest real neighbour): realism.")),
    ("Principal directions (PCA)", ("The directions in which a model's faces differ most from one another, "
      "found by comparing many of its faces (principal component analysis). Explore's main directions.")),
    ("ψ (psi), truncation", ("Pulls a GAN's numbers towards the middle: ψ = 1 leaves them as they are, below 1 "
      "gives cleaner, more typical faces with less variety, 0 gives the average face.")),
    ("Recall", ("Of the real faces, the share that lie among the model's faces: how many kinds of face it can "
      "make (variety).")),
    ("Reconstruction", "The VAE's redrawing of a face from the numbers its encoder found for it."),
    ("Seed", ("A number that fixes the random numbers a model starts from: the same seed gives the same face "
      "in the same model, a different face in another.")),
    ("Synthetic Faces, held-out faces", ("The app's own data set of drawn faces whose properties are known. "
      "Held-out faces were never shown to a model in training, so measuring on them is fair.")),
    ("x_t and predicted x₀", ("In the Diffusion tab, x_t is the picture being cleaned at step t, and the "
      "predicted x₀ the model's guess at the finished face from it.")),
)

FAMILIES = "[families]"  # where the help page lists the families (what_am_i)
WHAT_AM_I = (
    "<h3>What am I looking at?</h3>"
    "<p>Each picture was <b>made up by a computer model</b> that learned from thousands of example faces. "
    "A model does not store faces: it learned a recipe that turns a short list of numbers into a face. "
    "Change the numbers and the face changes.</p>"
    "<p><b>Explore</b>: drag the sliders to move through a model's numbers.<br>"
    "<b>Interpolate</b>: morph one face into another.<br>"
    "<b>Diffusion</b>: watch a face appear out of noise, step by step.<br>"
    "<b>Train</b>: teach a model yourself. <b>Compare</b>: measure the families side by side.</p>"
    "<p>" + FAMILIES + "</p>"
    "<h3>Words you will meet</h3>"
    + "".join(f"<p><b>{term}</b> — {meaning}</p>" for term, meaning in GLOSSARY))


def what_am_i() -> str:
    """The help page, its list of families made from the registry when asked for, so that it names every family
    this version has (a plug-in's too), each with its view's phrase."""
    named = [f"the <b>{view.compare_name}</b>" + (f" ({view.summary})" if view.summary else "")
             for view in map(view_of, families())]
    listed = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else "".join(named)
    return WHAT_AM_I.replace(FAMILIES, f"The families of models: {listed}." if named else "")


def interpolate(all_models: str) -> str:
    """The Interpolate tab's explanation, naming its "one model of each family" choice as the tab labels it."""
    return INTERPOLATE.replace(ALL_MODELS, all_models)


TRAIN_IDLE = (  # the Train tab before a run (a family's own text, while it trains, is in explorer/family_views/)
        "<b>Train your own model.</b> Choose a family, data and settings on the left, then <b>Start</b>. "
        "The run is an ordinary command (shown under the plots) that you could also type in a terminal; "
        "the app starts it in the background and shows what it reports.<br><br>"
        "<b>Pause</b> keeps everything in memory; <b>Stop</b> saves a checkpoint first. A checkpoint appears "
        "in the model chooser at the top, and with <i>Explore follows this run</i> the Explore tab shows the "
        "new weights as they arrive. <b>Resume from folder…</b> continues a past run where it stopped.")

LATENT_MAP = {
    "explain": (
        "<b>Each dot is a face from the data set</b>, placed by the shown model's encoder. The encoder turns a face into "
        "a list of numbers; the map keeps the two directions in which those numbers differ most (principal "
        "component analysis), so dots that are close got similar numbers. The percentages on the axes say how "
        "much of all the differences each direction shows.<br>"
        "Where one colour gathers in one region, the model has learned that property without being told about it. "
        "The red target is the face Explore shows: it moves with the sliders, and you can drag it."),
    "hint": "Point at a dot to see its face; click it to bring that face into Explore.",
    # {model}: the families whose encoder can place a face ("VAE", or "VAE or Toy").
    "not_encoder": (
        "The map shows the {model}'s latent space; choose the {model} (Model, at the top) to see where this face "
        "sits. Clicking a dot still brings that face in."),
    "no_encoder": (
        "No {model} is loaded. The map needs one, because its encoder is what places each face on the map: "
        "open a {model} checkpoint (File → Open checkpoint…) or train one in the Train tab."),
}

GUIDE = {  # Explore's "Guide toward" box, for a model that can be steered toward attributes
    "title": "Guide toward",
    "nothing": "nothing ticked",
    "nothing_tip": "Nothing is ticked: the model draws freely, as it was trained to without being told anything.",
    "tip": ("Steer the drawing toward faces that have what you tick. The model was trained both with and without "
            "being told a face's attributes; guidance pushes each denoising step away from its untold guess and "
            "toward the told one (classifier-free guidance), or along what a small attribute reader says would "
            "add the attribute (classifier guidance)."),
    "want": "Steer toward a face with {label}.",
    "scale": ("How hard to steer: 0 ignores what is ticked, 1 draws what the model thinks such a face looks like, "
              "higher exaggerates it — more faces have it, but they look more alike."),
    "guide": ("classifier-free: the model's own told and untold guesses (Ho and Salimans 2022). classifier: a small "
              "network that reads attributes from the noisy picture steers an untold model (Dhariwal and Nichol "
              "2021)."),
}
DRAFT = {  # the tag on Explore's face while a slider moves a model that draws in steps
    "tag": "draft",
    "tip": ("A quick draft in {steps} steps while the slider moves; the full {full}-step face follows when you "
            "let go."),
}

# The Diffusion tab's "how many steps is enough": the model card's Fréchet distance against step count per sampler.
STEPS_CURVE = {
    "heading": "<b>How many steps is enough?</b>",
    # {samples}: how many faces each point measured ("500 faces each, "), or "" when the card does not say
    "intro": ("Measured for this model ({samples}Fréchet distance to real faces: lower is better{floor}):"),
    "floor": "; two sets of real faces score {fd:.1f}",
    "reading_close": ("Reading it: {fast} comes within {gap:.0f} % of {slow}'s {most}-step distance at {steps} "
                      "steps, so {steps} of its steps are enough for that quality."),
    "reading_never": ("Reading it: here {fast} does not come close to {slow}'s {most}-step distance with fewer "
                      "steps, so {slow} with {most} steps stays the safe choice for this model."),
    "reading": "Reading it: the row whose numbers stop falling earliest needs the fewest steps.",
    "other_file": ("This model's card was written for another version of the file, so its step measurements are "
                   "not shown."),
    "missing": ("No step measurements come with this model (a shipped model's card has them). To measure them "
                "(it takes a while), run <tt>python main.py evaluate --checkpoint {name} --curves</tt> with the "
                "model's file: it prints the Fréchet distance after 5, 10, 20 and 50 steps of DDIM and of "
                "DPM-Solver++."),
}

LATENT_DIFFUSION_TAB = {  # the Diffusion tab's extra words for a model that diffuses in a latent
    "pipeline": ("<b>face</b> {size}×{size}×3 → <i>encoder</i> → <b>latent</b> {latent} ({ratio:.0f}× fewer "
                 "numbers) → <i>noise, then denoising, here</i> → <b>denoised latent</b> → <i>decoder</i> → "
                 "<b>face</b>"),
    "pipeline_tip": ("This model never diffuses pixels: an autoencoder squeezes a face's {pixels:,} numbers into a "
                     "latent of {numbers:,}, the noising and denoising happen there, and the decoder turns the "
                     "result into a face."),
    "xt": "x_t: the noisy latent, decoded",
    "xt_tip": ("x_t: the noisy latent of the current step, as the decoder draws it. The decoder only knows faces, so "
               "a noisy latent comes out as a smeared face, not as snow."),
    "x0": "predicted x₀: its guess, decoded",
    "channels": "z_t itself, channel by channel",
    "forward": "t = {t}: {signal:.0f}% of the latent's power is face, {noise:.0f}% is noise",
    "forward_note": ("Left: the noisy latent, decoded. The decoder only knows faces, so a noisy latent comes out as "
                     "a smeared face, not as snow. Middle: the noisy latent itself, one grey picture per channel."),
    "forward_unfold": "Show: noise a real face's latent and decode it",
}


# Compare (issue 16): the "quality for variety" chart and the guidance hit rates, as their tooltips.
COMPARE_KNOBS = (
    "Each model's faces judged twice, for realism (precision: how many of its faces fall among real faces) and for "
    "variety (recall: how many kinds of real face it reaches), while one setting is turned: the guidance scale of a "
    "model steered toward attributes, a GAN's truncation ψ, or the temperature that scales a VAE's random numbers. "
    "Up and right is better; the star is real faces against real ones.")
COMPARE_GUIDANCE = (
    "Guidance steers a model's faces toward wanted attributes while they are drawn. The feature network then reads "
    "each face: a hit is a face that has what was asked for. The coloured bar is guided faces, the grey one the same "
    "model unguided (how often a face has it by chance).")
