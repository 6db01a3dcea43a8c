"""Latent diffusion's view: its own colour, chooser label, loss plots and texts (Explore, Train, the Diffusion tab),
and Compare's sentence about it."""

from __future__ import annotations

from explorer.family_views import SPARE_COLOURS, view_of
from models.family import get_family

FIGURES = {"precision": 0.8, "recall": 0.7, "seconds_per_image": 0.05}


def test_the_view_has_its_own_colour_label_plots_and_texts():
    view = view_of("latent-diffusion")
    others = {view_of(f).colour for f in ("vae", "gan", "diffusion", "vae-gan")}
    assert view.colour not in others and view.colour not in SPARE_COLOURS
    assert view.chooser_label.startswith("Latent diffusion") and view.title == "Latent diffusion"
    drawn = {key for plot in view.loss_plots for key in plot.keys}
    assert drawn | set(view.hidden_losses) >= set(get_family("latent-diffusion").losses)  # every loss has a place
    assert set(view.loss_names) == drawn
    for text in (view.explore_text, view.diffusion_text):
        assert "latent" in text and "encoder" in text.lower()
    assert "VAE-GAN idea" in view.diffusion_text and "VAE-GAN idea" in view.train_text
    assert "cheap" in view.diffusion_text and "smeared" in view.diffusion_text  # why, and what x_t looks like
    assert "Guidance" in view.explore_text and "Guidance" in view.diffusion_text
    assert "DPM-Solver++" in view.diffusion_text


def test_other_families_keep_the_diffusion_tabs_general_words():
    assert all(view_of(f).diffusion_text == "" for f in ("vae", "gan", "diffusion", "vae-gan"))


def test_compare_says_whether_running_in_a_latent_kept_it_from_being_the_slowest():
    story = view_of("latent-diffusion").story
    slow = {"diffusion": {"precision": 0.9, "recall": 0.8, "seconds_per_image": 0.5}}
    said = story(FIGURES, slow)
    assert said.startswith("For the latent diffusion model") and "keeps it from being the slowest" in said
    fast = {"gan": {"precision": 0.7, "recall": 0.6, "seconds_per_image": 0.001}}
    said = story(FIGURES, fast)
    assert "both the most convincing and the most varied" in said and "still the slowest" in said
