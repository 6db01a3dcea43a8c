"""The VAE-GAN's view: its own colour and loss plots, and Compare's verdict on "the best of both" — the GAN's
sharpness, the VAE's smoothness, and a better redrawing of held-out faces than the GAN's search — for each outcome,
from made-up figures, and for figures measured before sharpness existed."""

from __future__ import annotations

import pytest

from explorer.family_views import OVER_SHARP, SPARE_COLOURS, view_of
from explorer.family_views.vae_gan import SHARP_NEAR, SMOOTH_NEAR, story
from explorer.panels.compare.reading import reading
from models.family import get_family


def _figures(sharpness=None, ppl=400.0, redrawing=None, precision=0.86, recall=0.6):
    figures = {"fd": 1.2, "fd_real": 0.29, "precision": precision, "precision_real": 0.9, "recall": recall,
               "recall_real": 0.9, "density": 1.0, "coverage": 0.94, "ppl": ppl, "seconds_per_image": 0.008,
               "samples": 2000, "image_size": 64}
    if sharpness is not None:
        figures.update(sharpness=sharpness, sharpness_real=1.0)
    if redrawing is not None:
        figures.update(reconstruction_error=redrawing, reconstruction_faces=200)
    return figures


VAE = _figures(sharpness=0.62, ppl=360.0, redrawing=0.012)
GAN = _figures(sharpness=0.93, ppl=430.0, redrawing=0.031, precision=0.84, recall=0.7)
PARENTS = {"vae": VAE, "gan": GAN}


def test_the_best_of_both_when_every_part_holds():
    said = story(_figures(sharpness=0.90, ppl=420.0, redrawing=0.014), PARENTS)
    assert said.startswith("The VAE-GAN got the best of both:")
    assert "about as sharp as the GAN's (sharpness 0.90 against the GAN's 0.93" in said
    assert "about as smooth as the VAE's (path length 420 against the VAE's 360)" in said
    assert "redraws held-out faces better than a search through the GAN can (error 0.014 against 0.031" in said
    assert "did not" not in said and "Not judged" not in said


@pytest.mark.parametrize("own, failed, kept", [
    (_figures(sharpness=0.70, ppl=420.0, redrawing=0.014), "its faces are blurrier than the GAN's", "smooth"),
    (_figures(sharpness=1.40, ppl=420.0, redrawing=0.014), "more fine detail than real faces", "smooth"),
    (_figures(sharpness=0.90, ppl=900.0, redrawing=0.014), "its space is rougher than the VAE's", "sharp"),
    (_figures(sharpness=0.90, ppl=420.0, redrawing=0.040), "no better than a search through the GAN", "sharp"),
])
def test_a_part_that_failed_is_named_plainly_and_the_rest_still_said(own, failed, kept):
    said = story(own, PARENTS)
    assert said.startswith("The VAE-GAN did not get the best of both: ") and failed in said
    assert "It did keep this:" in said and kept in said.split("It did keep this:")[1]


def test_everything_failing_is_said_without_a_kept_part():
    said = story(_figures(sharpness=0.5, ppl=1000.0, redrawing=0.05), PARENTS)
    assert said.count("blurrier") == 1 and "rougher" in said and "no better" in said
    assert "It did keep" not in said


def test_near_is_what_the_constants_say():
    """Within 10 % of the GAN's sharpness is near, a little more is not; a path length up to 1.5x the VAE's is near;
    sharper than the GAN (closer to real faces) always counts."""
    just = GAN["sharpness"] * (1 - SHARP_NEAR) + 1e-9
    assert "about as sharp" in story(_figures(sharpness=just, ppl=360.0, redrawing=0.01), PARENTS)
    beyond = GAN["sharpness"] * (1 - SHARP_NEAR) - 0.01
    assert "blurrier than the GAN's" in story(_figures(sharpness=beyond, ppl=360.0, redrawing=0.01), PARENTS)
    assert "within 10 % would count as near" in story(_figures(sharpness=beyond, ppl=360.0, redrawing=0.01), PARENTS)
    assert "closer to real faces' detail" in story(_figures(sharpness=0.99, ppl=360.0, redrawing=0.01), PARENTS)
    edge = VAE["ppl"] * SMOOTH_NEAR
    assert "about as smooth" in story(_figures(sharpness=0.9, ppl=edge, redrawing=0.01), PARENTS)
    assert "rougher" in story(_figures(sharpness=0.9, ppl=edge + 1, redrawing=0.01), PARENTS)
    assert "no better" in story(_figures(sharpness=0.9, ppl=360.0, redrawing=GAN["reconstruction_error"]), PARENTS)


def test_figures_from_before_sharpness_are_judged_as_far_as_they_go():
    """No KeyError: the parts that cannot be judged are named, with why."""
    said = story(_figures(ppl=420.0), {"vae": _figures(ppl=360.0), "gan": _figures(ppl=430.0)})
    assert said.startswith("So far the VAE-GAN keeps its promise: its space is about as smooth as the VAE's")
    assert ("Not judged: sharpness and reconstruction of held-out faces (figures measured before these existed: "
            "Recompute measures them).") in said
    failing = story(_figures(ppl=900.0), {"vae": _figures(ppl=360.0), "gan": _figures(ppl=430.0)})
    assert failing.startswith("The VAE-GAN did not get the best of both: its space is rougher") and "Not judged" in failing
    nothing = story(_figures(), {"gan": _figures()})
    assert nothing.startswith("Whether the VAE-GAN got the best of both cannot be told yet.")
    # each part with its own reason: the GAN was measured (before sharpness), the VAE was not measured at all
    assert nothing.endswith("Not judged: sharpness and reconstruction of held-out faces (figures measured before these "
                            "existed: Recompute measures them); path length (the VAE not measured).")


def test_without_either_parent_there_is_no_verdict():
    assert story(_figures(sharpness=0.9), {"diffusion": _figures(sharpness=0.97)}) is None
    said = story(_figures(sharpness=0.9, ppl=400.0, redrawing=0.01), {"vae": VAE})
    assert "about as smooth" in said and "Not judged: sharpness and reconstruction" in said
    assert said.endswith("Not judged: sharpness and reconstruction of held-out faces (the GAN not measured).")


def test_noise_beyond_the_over_sharp_limit_fails_even_when_closer_to_1_than_the_gan():
    """1.12 is nearer 1 than the GAN's 0.85, but passes real faces' detail by more than OVER_SHARP allows: noise."""
    said = story(_figures(sharpness=1.12, ppl=420.0, redrawing=0.014), {**PARENTS, "gan": {**GAN, "sharpness": 0.85}})
    assert said.startswith("The VAE-GAN did not get the best of both: its faces have more fine detail than real "
                           "faces, by more than 10 %: noise rather than sharpness (sharpness 1.12 against the GAN's 0.85")
    assert "got the best of both" not in said and "closer to real faces' detail" not in said
    at_limit = story(_figures(sharpness=OVER_SHARP, ppl=420.0, redrawing=0.014), PARENTS)  # GAN 0.93
    assert at_limit.startswith("The VAE-GAN got the best of both: its faces are sharper than the GAN's")
    noisy_gan = story(_figures(sharpness=0.80, ppl=420.0, redrawing=0.014), {**PARENTS, "gan": {**GAN, "sharpness": 1.3}})
    assert "closer to real faces' detail (sharpness 0.80 against the GAN's 1.30" in noisy_gan


def test_the_verdict_is_part_of_compares_reading_of_four_families():
    said = reading({**PARENTS, "vae-gan": _figures(sharpness=0.90, ppl=420.0, redrawing=0.014),
                    "diffusion": _figures(sharpness=0.97, ppl=500.0, redrawing=0.02, precision=0.89, recall=0.81)})
    assert sum("The VAE-GAN got the best of both" in line for line in said) == 1
    assert any(line.startswith("<b>Sharpest:</b> the diffusion model") for line in said)


def test_the_view_has_its_own_colour_plots_and_texts():
    view = view_of("vae-gan")
    others = {view_of(f).colour for f in ("vae", "gan", "diffusion")}
    assert view.colour not in others and view.colour not in SPARE_COLOURS
    assert view.warns_mode_collapse and view.compare_name == "VAE-GAN" and view.title == "VAE-GAN"
    drawn = {key for plot in view.loss_plots for key in plot.keys}
    assert drawn | set(view.hidden_losses) >= set(get_family("vae-gan").losses)  # every loss has a place
    assert set(view.loss_names) == drawn
    assert "discriminator" in view.train_text and "learned similarity" in view.train_text
    assert "learned similarity" in view.explore_text and "encoder" in view.explore_text


def test_a_new_family_without_a_view_gets_a_colour_no_view_has(fourth_family):
    taken = {view_of(f).colour for f in ("vae", "vae-gan", "gan", "diffusion")}
    assert view_of("fourth").colour not in taken


def test_the_train_tab_draws_its_four_plots_and_leaves_out_the_total_and_the_weight(qtbot):
    from explorer.widgets.loss_plots import LossPlots

    plots = LossPlots()
    qtbot.addWidget(plots)
    plots.setup("vae-gan")
    assert [p.getPlotItem().titleLabel.text for p in plots.plots] == [
        "Reconstruction error", "KL divergence", "Judge against decoder", "D(real) and D(fake)"]
    plots.add(1, {"loss": 90.0, "reconstruction": 80.0, "feature_reconstruction": 8.0, "kl": 20.0, "d_loss": 1.3,
                  "g_loss": 0.8, "d_real": 0.6, "d_fake": 0.4, "adversarial_weight": 0.05})
    assert set(plots.curves) == {"reconstruction", "feature_reconstruction", "kl", "d_loss", "g_loss", "d_real",
                                 "d_fake"}
