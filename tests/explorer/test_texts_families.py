"""Texts that name the families are made from the registry, so none says "three" once there are four, and a plug-in
family is listed as soon as it is registered."""

from __future__ import annotations

from explorer import texts
from explorer.family_views import view_of
from models.family import families


def test_the_help_page_lists_every_registered_family_with_its_phrase():
    page = texts.what_am_i()
    assert "Three families" not in page and texts.FAMILIES not in page
    for family in families():
        view = view_of(family)
        assert f"the <b>{view.compare_name}</b> ({view.summary})" in page
    assert "the <b>VAE-GAN</b> (a VAE trained against a GAN's critic" in page


def test_a_plug_in_family_without_a_phrase_is_listed_by_its_name(fourth_family):
    page = texts.what_am_i()
    assert "the <b>Fourth model</b>" in page and page.count("<b>Fourth model</b> (") == 0


def test_the_interpolate_text_names_the_choice_as_the_tab_labels_it():
    text = texts.interpolate("All four models")
    assert "With <b>All four models</b> (one of each family)" in text
    assert "three" not in text.lower() and texts.ALL_MODELS not in text
