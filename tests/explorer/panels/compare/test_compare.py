"""The Compare tab: measuring in the worker (cached per checkpoint, shipped cards, stop), the plain-language
reading, and the panel with the three tiny models."""

from __future__ import annotations

import json
import re

import pytest
import torch

from explorer.panels.compare.panel import ComparePanel
from explorer.panels.compare.reading import reading
from explorer.worker.compare_jobs import (
    Measure,
    Measured,
    Sampled,
    SampleGrid,
    card_path,
    measure,
    sample_grid,
    stored_figures,
)
from explorer.worker.inference_jobs import LoadModel, ModelStore, NoControl, load_model
from models.cache import feature_net_digest, file_digest
from models.feature_net import DEFAULT_FEATURE_NET

needs_net = pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")


def _figures(precision, recall, seconds, ppl=100.0, fd=1.0, coverage=None, size=64, sharpness=None,
             redrawing=None):
    """Evaluate figures; without `sharpness` or `redrawing` (reconstruction error), as measured before those were."""
    figures = {"fd": fd, "fd_real": 0.1, "precision": precision, "recall": recall, "precision_real": 0.9,
               "recall_real": 0.9, "density": 1.0, "coverage": recall if coverage is None else coverage,
               "ppl": ppl, "seconds_per_image": seconds, "samples": 2000, "image_size": size}
    if sharpness is not None:
        figures.update(sharpness=sharpness, sharpness_real=1.0)
    if redrawing is not None:
        figures.update(reconstruction_error=redrawing, reconstruction_faces=200)
    return figures


def _stories(said: list[str]) -> list[str]:
    """The families' stories: the sentences after the headed ones ("<b>Sharpest:</b> …")."""
    return [line for line in said if not line.startswith("<b>")]


def _last(job):
    return [r for r in job if type(r).__name__ != "Step"][-1]


@pytest.fixture()
def store(tiny_checkpoints):
    store = ModelStore(torch.device("cpu"))
    for path in tiny_checkpoints.values():
        list(load_model(store, LoadModel(path), NoControl()))
    return store


# --------------------------------------------------------------------------------------------- reading
def test_reading_confirms_the_usual_story_when_the_numbers_tell_it():
    text = " ".join(reading({"vae": _figures(0.4, 0.8, 0.005, ppl=50, sharpness=0.6),
                             "gan": _figures(0.9, 0.3, 0.002, ppl=300, sharpness=0.9),
                             "diffusion": _figures(0.95, 0.85, 1.5, ppl=200, sharpness=0.97)}))
    assert "Sharpest:</b> the diffusion model" in text and "the blurriest, the VAE, has 0.60×" in text
    assert "Most real-looking:</b> the diffusion model" in text
    assert "Most varied:</b> the diffusion model" in text
    assert "Smoothest:</b> the VAE" in text
    assert "Fastest:</b> the GAN" in text and "750×" in text
    assert "the GAN is the sharpest" not in text  # the diffusion model is sharper here
    assert "VAE covers the variety well" not in text  # diffusion is more varied: said as a disagreement
    assert "both the sharpest and the most varied" in text
    assert "VAE's faces are the blurriest (sharpness 0.60" in text


def test_sharpest_comes_from_sharpness_not_from_precision():
    """The issue's case: the VAE's precision (0.86) beats the GAN's (0.84) while its faces are softer. Precision now
    crowns the "most real-looking", sharpness the sharpest, and the reading says that precision does not see blur."""
    said = reading({"vae": _figures(0.86, 0.61, 0.0076, sharpness=0.62), "gan": _figures(0.84, 0.70, 0.0042,
                                                                                          sharpness=0.93)})
    text = " ".join(said)
    assert "<b>Sharpest:</b> the GAN: its faces have 0.93× the fine detail of real faces" in text
    assert "<b>Most real-looking:</b> the VAE. 86 %" in text and "does not see blur" in text
    assert "Sharpest:</b> the VAE" not in text
    vae, gan = _stories(said)
    assert "VAE's faces are the blurriest (sharpness 0.62" in vae
    assert gan.startswith("The GAN's faces are the sharpest, as the usual story says")


def test_faces_noisier_than_real_ones_are_not_the_sharpest():
    """Past real faces' detail by more than 10 % is noise, not sharpness: the sharpest is the highest figure up to
    1.10; when every model is past it, the one closest to real faces."""
    said = " ".join(reading({"vae": _figures(0.8, 0.6, 0.01, sharpness=0.7),
                             "gan": _figures(0.8, 0.6, 0.01, sharpness=1.4),
                             "diffusion": _figures(0.8, 0.6, 0.01, sharpness=1.05)}))
    assert "<b>Sharpest:</b> the diffusion model" in said
    assert "The GAN passed real faces' detail by more than 10 %: noise, not sharpness" in said
    both_noisy = " ".join(reading({"vae": _figures(0.8, 0.6, 0.01, sharpness=1.3),
                                   "gan": _figures(0.8, 0.6, 0.01, sharpness=1.6)}))
    assert "<b>Sharpest:</b> the VAE" in both_noisy


def test_figures_from_before_sharpness_still_read_and_say_what_is_missing():
    """Cached figures or an older card, without sharpness or reconstruction error: no error, every other sentence,
    the stories judge by precision ("most convincing"), and the reading says sharpness was not measured."""
    old = {"vae": _figures(0.86, 0.61, 0.0076), "gan": _figures(0.84, 0.70, 0.0042),
           "diffusion": _figures(0.89, 0.81, 0.8)}
    said = reading(old)
    text = " ".join(said)
    assert "Sharpest:" not in text and "Redraws" not in text
    assert "<b>Sharpness</b> was not measured for any of these models" in text and "Recompute" in text
    assert "Most real-looking:</b> the diffusion model" in text and "Most varied:</b>" in text
    assert "most convincing" in text and "blurriest" not in text
    # one family measured since: compared on its own is no comparison, so no "Sharpest", but it is named as missing
    mixed = " ".join(reading({**old, "gan": _figures(0.84, 0.70, 0.0042, sharpness=0.9)}))
    assert "Sharpest:" not in mixed and "not measured for the VAE and the diffusion model" in mixed
    # two of three measured: the sharpest of those, and the third named
    two = " ".join(reading({**old, "gan": _figures(0.84, 0.7, 0.004, sharpness=0.9),
                            "vae": _figures(0.86, 0.61, 0.0076, sharpness=0.6)}))
    assert "Sharpest:</b> the GAN" in two and "Not measured for the diffusion model" in two
    # the shipped cards while one is being measured again: the VAE and the GAN judge blur among those measured,
    # and say so; the diffusion model, without the figure, still falls back on precision
    assert "The VAE's faces are the blurriest of the models measured for sharpness (sharpness 0.60" in two
    assert "The GAN's faces are the sharpest of the models measured for sharpness" in two
    assert "diffusion model's faces are both the most convincing and the most varied" in two
    (only,) = reading({"vae": _figures(0.86, 0.61, 0.0076)})
    assert "Only the VAE" in only and "sharpness" not in only


def test_redrawing_says_who_redraws_a_face_best_and_how_each_found_it():
    said = " ".join(reading({"vae": _figures(0.86, 0.61, 0.0076, redrawing=0.0121),
                             "gan": _figures(0.84, 0.70, 0.0042, redrawing=0.0312),
                             "diffusion": _figures(0.89, 0.81, 0.8, redrawing=0.0205)}))
    assert ("<b>Redraws a face it never saw best:</b> the VAE, finding its numbers through its encoder (error "
            "0.0121, against 0.0312 for the GAN, finding its numbers by a search)") in said


def test_reading_says_where_the_numbers_disagree_with_the_story():
    text = " ".join(reading({"vae": _figures(0.95, 0.2, 0.005), "gan": _figures(0.3, 0.9, 0.002),
                             "diffusion": _figures(0.5, 0.5, 0.001)}))
    assert "Unlike the usual story, the GAN" in text
    assert "Unlike the usual story, the VAE" in text
    assert "not the slowest" in text


def test_each_familys_story_is_told_in_the_apps_order():
    results = {"diffusion": _figures(0.5, 0.5, 0.001), "gan": _figures(0.3, 0.9, 0.002),
               "vae": _figures(0.95, 0.2, 0.005)}
    said = reading(results)[-3:]
    assert [line.split(",")[0] for line in said] == ["Unlike the usual story", "Unlike the usual story",
                                                     "Unusually"]
    assert "the VAE" in said[0] and "the GAN" in said[1] and "diffusion model" in said[2]


def test_a_family_without_a_story_is_read_out_like_the_others(fourth_family):
    """A family the app has never heard of (registered by the test, no view of its own) takes part in every
    comparison under its title, and tells no story of its own; the others' stories still count it."""
    results = {"vae": _figures(0.4, 0.8, 0.005, ppl=50), "gan": _figures(0.9, 0.3, 0.002, ppl=300),
               "fourth": _figures(0.97, 0.9, 0.0001, ppl=20)}
    said = reading(results)
    text = " ".join(said)
    assert "Most real-looking:</b> the Fourth model" in text and "Most varied:</b> the Fourth model" in text
    assert "Smoothest:</b> the Fourth model" in text and "Fastest:</b> the Fourth model" in text
    stories = _stories(said)
    assert len(stories) == 2  # the VAE's and the GAN's: the fourth family has none
    assert "The GAN is the least varied" in stories[1]  # not the sharpest: the fourth family is sharper
    (only,) = reading({"fourth": _figures(0.9, 0.3, 0.002)})
    assert "Only the Fourth model" in only


def test_equal_times_are_said_to_be_equal_not_one_times_as_long():
    def fastest(*seconds):
        families = ("vae", "gan", "diffusion")[:len(seconds)]
        said = reading({f: _figures(0.5, 0.5, s) for f, s in zip(families, seconds, strict=True)})
        return next(line for line in said if line.startswith("<b>Fastest:</b>"))

    assert fastest(0.004, 0.004, 0.004) == ("<b>Fastest:</b> none: all 3 models take about the same time, 4.0 ms per "
                                            "face (within 5 % of each other).")
    assert fastest(0.0040, 0.0041).startswith("<b>Fastest:</b> none: both models take about the same time")
    assert "1.0×" not in fastest(0.0040, 0.0041)
    assert fastest(0.004, 0.0044) == "<b>Fastest:</b> the VAE, 4.0 ms per face; the GAN takes 1.1× as long."


def test_reading_of_nothing_and_of_one_model():
    assert reading({}) == []
    (only,) = reading({"gan": _figures(0.9, 0.3, 0.002)})
    assert "Only the GAN" in only and "90 %" in only


# ------------------------------------------------------------------------------------------------ jobs
@needs_net
def test_measure_computes_caches_and_recomputes(store, tiny_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    key = tiny_checkpoints["gan"]
    first = _last(measure(store, Measure(key, samples=20), NoControl()))
    assert isinstance(first, Measured) and not first.error, first.error
    assert first.source.startswith("measured just now")
    for name in ("fd", "fd_real", "precision", "recall", "coverage", "ppl", "seconds_per_image"):
        assert isinstance(first.figures[name], float)
    steps = [r for r in measure(store, Measure(key, samples=20, recompute=True), NoControl())]
    assert len(steps) > 3 and steps[-1].source.startswith("measured just now")  # progress on the way
    again = _last(measure(store, Measure(key, samples=20), NoControl()))
    assert again.source == "measured earlier on this computer"
    assert again.figures["fd"] == pytest.approx(steps[-1].figures["fd"])


def test_a_models_card_supplies_its_figures_only_for_the_same_file(store, tiny_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    key = tiny_checkpoints["vae"]
    card = card_path(key)
    figures = _figures(0.5, 0.6, 0.01)
    try:
        card.write_text(json.dumps({"checkpoint_sha256": "0" * 64, "evaluate": figures}))
        stopped = _last(measure(store, Measure(key, samples=20), type("Stop", (), {"stop_requested": lambda s: True})()))
        assert stopped.error == "Stopped."  # a card for another file is ignored: it went on to measure
        card.write_text(json.dumps({"checkpoint_sha256": file_digest(key), "feature_net_sha256": "1" * 64,
                                    "evaluate": figures}))
        stopped = _last(measure(store, Measure(key, samples=20), type("Stop", (), {"stop_requested": lambda s: True})()))
        assert stopped.error == "Stopped."  # figures read through another feature network are measured again
        card.write_text(json.dumps({"checkpoint_sha256": file_digest(key), "feature_net_sha256": feature_net_digest(),
                                    "evaluate": figures}))
        result = _last(measure(store, Measure(key, samples=20), NoControl()))
        assert result.figures == figures and "card" in result.source
        card.write_text("{ not json")
        damaged = _last(measure(store, Measure(key, samples=20),
                                type("Stop", (), {"stop_requested": lambda s: True})()))
        assert damaged.error == "Stopped."  # a damaged card is no reason to fail
    finally:
        card.unlink(missing_ok=True)


def test_sample_grids_draw_the_same_seeds_as_explore(store, tiny_checkpoints):
    keys = tuple(tiny_checkpoints.values())
    result = _last(sample_grid(store, SampleGrid(keys, (5, 6, 7), steps=3), NoControl()))
    assert isinstance(result, Sampled) and set(result.images) == set(keys)
    gan = store.get(tiny_checkpoints["gan"]).model
    with torch.no_grad():
        alone = gan.decode(gan.latents_for_seeds([6]))
    from models.image_io import to_uint8
    assert (result.images[tiny_checkpoints["gan"]][1].astype(int) - to_uint8(alone[0]).astype(int)).max() <= 1
    assert result.images[tiny_checkpoints["diffusion"]].shape == (3, 8, 8, 3)


# ----------------------------------------------------------------------------------------------- panel
def test_compare_tab_shows_figures_grids_morphs_and_reading(context, panel_of, qtbot, tiny_checkpoints):
    for family, key in tiny_checkpoints.items():  # figures as if shipped: the tab shows them at once
        precision, recall = {"vae": (0.4, 0.8), "gan": (0.9, 0.2), "diffusion": (0.8, 0.7)}[family]
        card_path(key).write_text(json.dumps({"checkpoint_sha256": file_digest(key),
                                              "feature_net_sha256": feature_net_digest(),
                                              "evaluate": _figures(precision, recall, 0.01)}))
    try:
        panel = panel_of(ComparePanel, show=False)
        with qtbot.waitSignal(panel.first_image, timeout=120_000):
            panel.show()  # the tab is opened
        assert set(panel.figures) == {"vae", "gan", "diffusion"}
        assert panel.bars.charts["precision"].values == pytest.approx({"vae": 0.4, "gan": 0.9, "diffusion": 0.8})
        assert panel.bars.charts["recall"].reference_value == pytest.approx(0.9)
        assert "Most real-looking:</b> the GAN" in panel.reading.text()
        assert "Sharpness</b> was not measured" in panel.reading.text()  # cards from before sharpness existed
        assert panel.bars.charts["sharpness"].values == {} and panel.bars.charts["sharpness"].not_measured
        assert all(panel.grids[f].has_image() for f in ("vae", "gan", "diffusion"))
        assert all(panel.strips[f].has_image() for f in ("vae", "gan", "diffusion"))
        # the 8 px diffusion morph is enlarged to the others' 16 px
        assert panel.strips["diffusion"].image().shape == panel.strips["vae"].image().shape
        assert panel.current_image() is not None
        assert "model's card" in panel.status.text()
    finally:
        for key in tiny_checkpoints.values():
            card_path(key).unlink(missing_ok=True)


def test_compare_tab_draws_sharpness_and_redrawing_bars_in_each_familys_colour(context, panel_of, qtbot,
                                                                                tiny_checkpoints):
    import pyqtgraph as pg

    from explorer.family_views import view_of
    measured = {"vae": (0.62, 0.012), "gan": (0.93, 0.031), "diffusion": (0.97, 0.020)}
    for family, key in tiny_checkpoints.items():
        sharpness, redrawing = measured[family]
        card_path(key).write_text(json.dumps({
            "checkpoint_sha256": file_digest(key), "feature_net_sha256": feature_net_digest(),
            "evaluate": _figures(0.8, 0.6, 0.01, sharpness=sharpness, redrawing=redrawing)}))
    try:
        panel = panel_of(ComparePanel, show=False)
        with qtbot.waitSignal(panel.first_image, timeout=120_000):
            panel.show()
        sharp = panel.bars.charts["sharpness"]
        assert sharp.values == pytest.approx({f: v[0] for f, v in measured.items()})
        assert sharp.reference_value == pytest.approx(1.0)  # the second set of real faces: the dashed line
        redraw = panel.bars.charts["reconstruction_error"]
        assert redraw.values == pytest.approx({f: v[1] for f, v in measured.items()})
        bars = [item for item in sharp.getPlotItem().items if isinstance(item, pg.BarGraphItem)]
        assert {pg.mkBrush(b.opts["brush"]).color().name() for b in bars} == {view_of(f).colour for f in measured}
        for family in panel.families:  # the key names every family in its colour, those without a model too
            assert view_of(family).colour in panel.colour_key.text() and view_of(family).title in panel.colour_key.text()
        text = panel.reading.text()
        assert "Sharpest:</b> the diffusion model" in text and "Redraws a face it never saw best:</b> the VAE" in text
    finally:
        for key in tiny_checkpoints.values():
            card_path(key).unlink(missing_ok=True)


@pytest.mark.parametrize("damaged", ["sharp", float("nan"), float("inf"), -float("inf"), True])
def test_a_damaged_later_figure_in_a_card_counts_as_not_measured(store, tiny_checkpoints, tmp_path, monkeypatch,
                                                                  damaged):
    """Python's json writes and reads NaN and Infinity: such a figure is left out, not shown as "nan×"."""
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    key = tiny_checkpoints["gan"]
    figures = {**_figures(0.5, 0.6, 0.01), "sharpness": damaged, "reconstruction_error": 0.02}
    card_path(key).write_text(json.dumps({"checkpoint_sha256": file_digest(key),
                                          "feature_net_sha256": feature_net_digest(), "evaluate": figures}))
    try:
        result = _last(measure(store, Measure(key, samples=20), NoControl()))
        assert "sharpness" not in result.figures and result.figures["reconstruction_error"] == 0.02
        assert "card" in result.source
        said = " ".join(reading({"gan": result.figures, "vae": _figures(0.6, 0.7, 0.002, sharpness=0.7)}))
        assert not re.search(r"\b(nan|inf)\b", said, re.IGNORECASE), said
    finally:
        card_path(key).unlink(missing_ok=True)


def test_a_card_with_a_core_figure_that_is_not_finite_is_not_used(tiny_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    key = tiny_checkpoints["gan"]
    try:
        for fd in (float("nan"), float("inf"), 1.0):
            card_path(key).write_text(json.dumps({"checkpoint_sha256": file_digest(key),
                                                  "feature_net_sha256": feature_net_digest(),
                                                  "evaluate": _figures(0.5, 0.6, 0.01, fd=fd)}))
            figures, _ = stored_figures(key, file_digest(key))
            assert (figures is not None) == (fd == 1.0)  # measured again rather than charted as "nan"
    finally:
        card_path(key).unlink(missing_ok=True)


@needs_net
def test_recompute_measures_in_the_background_and_stop_keeps_the_tab_usable(context, panel_of, qtbot, tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    panel = panel_of(ComparePanel)  # the tab is opened
    panel.samples.setItemData(0, 20)  # few samples: the tiny models are measured in seconds
    panel.samples.setCurrentIndex(0)
    panel.measure(recompute=True)
    assert panel.stop.isEnabled()
    qtbot.waitUntil(lambda: not panel.measuring, timeout=180_000)
    assert set(panel.figures) == {"vae", "gan"}, panel.errors
    # The tiny diffusion model draws 8 px faces, too small for the held-out set: said, not crashed.
    assert "16 to 256 pixels" in panel.errors["diffusion"] and "16 to 256" in panel.status.text()
    assert "measured just now" in panel.status.text()
    assert not panel.stop.isEnabled()
    panel.measure(recompute=True)
    panel.stop_measuring()
    qtbot.waitUntil(lambda: not panel.measuring, timeout=60_000)
    assert set(panel.figures) == {"vae", "gan"}  # stopping keeps the figures already there


def test_a_narrow_window_stacks_the_compare_tab_instead_of_cutting_it_off(context, panel_of, qtbot):
    from PySide6.QtWidgets import QBoxLayout, QScrollArea
    panel = panel_of(ComparePanel)
    panel.resize(896, 594)  # the tab's room in a 900 x 700 window
    qtbot.waitUntil(lambda: panel._numbers.direction() == QBoxLayout.Direction.TopToBottom, timeout=5000)
    content = panel.findChild(QScrollArea).widget()
    content.layout().activate()
    assert content.minimumSizeHint().width() <= panel.width()  # no sideways scrolling: the reading is under the charts
    box = panel._reading_box
    box.set_text("<br><br>".join(["A long reading of many words, one sentence after another."] * 12))
    qtbot.waitUntil(lambda: box.scroll.minimumHeight() >= panel.reading.heightForWidth(
        box.scroll.viewport().width()), timeout=5000)  # under the charts: shown whole, the page scrolls
    panel.resize(1396, 794)  # in a 1400 x 900 window
    qtbot.waitUntil(lambda: panel._numbers.direction() == QBoxLayout.Direction.LeftToRight, timeout=5000)
    assert box.scroll.minimumHeight() < panel.reading.heightForWidth(box.scroll.viewport().width())
    # beside the charts it scrolls on its own instead of stretching them: the charts stay within the window
    qtbot.waitUntil(lambda: panel.bars.charts["fd"].height() < 400, timeout=5000)


def test_long_measuring_shows_the_time_left_once_the_rate_is_known_and_not_after(context, panel_of):
    from explorer.panels.train.time_left import MIN_STEPS
    from explorer.worker.requests import Step
    from models.progress import Progress

    panel = panel_of(ComparePanel, show=False)  # not shown: nothing is measured for real, the Steps below are all
    # it gets
    shown = panel.time_left.isVisibleTo
    now = [1000.0]
    panel.eta.clock = lambda: now[0]
    gan, diffusion = 9_000_001, 9_000_002  # two measurings in the queue, as after Recompute
    panel.measuring = {gan: "gan", diffusion: "diffusion"}

    def step(request_id, done, total=50):
        context.progress.emit(Step(request_id, "Measure:x", progress=Progress(done, total, "Generating…")))

    step(gan, 0)
    assert panel.progress.isVisibleTo(panel) and not shown(panel)
    for done in range(1, MIN_STEPS + 1):
        assert not shown(panel)  # not until the rate means something
        now[0] += 6.0
        step(gan, done)
    assert shown(panel)
    assert panel.time_left.text() == f"about {round(6.0 * (50 - MIN_STEPS) / 60)} min left (then 1 more model)"
    context.result.emit(Measured(gan, "Measure:x", model="gan-key", figures=_figures(0.9, 0.3, 0.002),
                                 source="measured just now"))
    assert not shown(panel)  # that model is done; the next one has a rate of its own
    step(diffusion, 0)
    now[0] += 20.0
    step(diffusion, 1)
    assert not shown(panel)
    for done in range(2, MIN_STEPS + 2):
        now[0] += 20.0
        step(diffusion, done)
    assert panel.time_left.text() == f"about {round(20.0 * (50 - MIN_STEPS - 1) / 60)} min left"
    panel.stop_measuring()
    assert not shown(panel) and not panel.progress.isVisibleTo(panel)  # gone when stopped
    step(diffusion, MIN_STEPS + 2)  # a late step of the stopped run brings nothing back
    assert not shown(panel)


def test_every_chart_in_the_tab_says_what_it_means_under_it(context, panel_of):
    from explorer.widgets.metric_bars import METRICS
    panel = panel_of(ComparePanel, show=False)  # as the tab before it is first opened
    for metric in METRICS:
        card = panel.bars.cards[metric.key]
        assert card.meaning.isVisibleTo(panel) and card.meaning.text().count(metric.meaning) == 1
        assert card.name.toolTip() == metric.tip
