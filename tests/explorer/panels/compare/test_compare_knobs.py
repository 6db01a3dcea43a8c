"""Issue 16 in the Compare tab: the latent diffusion model beside the others, the "quality for variety" chart (one
curve per family with a knob, from the card or measured live) and the guidance hit rates (guided families only)."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.panels.compare.knob_reading import hit_rows, knob_reading, turn_of
from explorer.panels.compare.panel import ComparePanel
from explorer.worker import compare_jobs
from explorer.worker.compare_jobs import Measure, Measured, card_path, clean_guidance, clean_knob_curve, measure
from explorer.worker.inference_jobs import LoadModel, ModelStore, NoControl, load_model
from models.cache import feature_net_digest, file_digest
from models.feature_net import DEFAULT_FEATURE_NET
from models.guidance_measures import GUIDANCE_SCALES
from tests.explorer.conftest import open_window

needs_net = pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the feature network is not built")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _curve(knob, values, precision, recall, samples=2000):
    return {"knob": knob, "values": values, "precision": precision, "recall": recall, "samples": samples,
            "precision_real": 0.92, "recall_real": 0.9}


CURVES = {  # as a card holds them: each knob's realism end has the higher precision and the lower recall
    "vae": _curve("temperature", [0.5, 0.75, 1.0, 1.25], [0.7, 0.6, 0.5, 0.4], [0.3, 0.45, 0.6, 0.7]),
    "gan": _curve("truncation", [0.4, 0.6, 0.8, 1.0], [0.95, 0.9, 0.85, 0.8], [0.1, 0.25, 0.4, 0.5]),
    "latent-diffusion": _curve("guidance", [0.0, 1.0, 2.0, 3.0, 5.0], [0.6, 0.7, 0.8, 0.85, 0.9],
                               [0.8, 0.7, 0.6, 0.5, 0.35]),
}
GUIDANCE = {"wants": [["smile", 1.0], ["glasses", 1.0]], "guide": "free", "scale": 3.0, "samples": 200,
            "all": 0.88, "base_rate": 0.07, "per_attribute": {"smile": 0.93, "glasses": 0.94},
            "base_per_attribute": {"smile": 0.3, "glasses": 0.25}, "recall": 0.52, "recall_unguided": 0.71,
            "scales": [0, 1, 2, 3, 5], "all_by_scale": [0.07, 0.4, 0.7, 0.88, 0.95],
            "recall_by_scale": [0.71, 0.66, 0.6, 0.52, 0.4]}


def _figures(family: str) -> dict:
    figures = {"fd": 1.0, "fd_real": 0.1, "precision": 0.8, "recall": 0.6, "precision_real": 0.9, "recall_real": 0.9,
               "density": 1.0, "coverage": 0.6, "ppl": 100.0, "seconds_per_image": 0.01, "samples": 2000,
               "image_size": 16}
    if family in CURVES:
        figures["knob_curve"] = CURVES[family]
    if family == "latent-diffusion":
        figures["guidance"] = GUIDANCE
    return figures


# ------------------------------------------------------------------------------------------------ reading
def test_each_knob_is_read_from_its_variety_end_to_its_realism_end():
    gan = turn_of("gan", CURVES["gan"])  # ψ buys realism turned down, guidance turned up
    assert gan.kind == "trade" and gan.precision == (0.8, 0.95) and gan.recall == (0.5, 0.1)
    assert gan.verb == "lowering ψ (1 → 0.4)"
    guided = turn_of("latent-diffusion", CURVES["latent-diffusion"])
    assert guided.kind == "trade" and guided.verb.startswith("turning guidance up (0 → 5)")
    said = " ".join(knob_reading(CURVES, (0.9, 0.92)))
    assert "turning guidance up buys precision with recall for the" in said
    assert "lowering ψ does for the GAN" in said and "lowering the temperature does for the VAE" in said
    # A knob that changes less than chance at its sample count is not read as a trade.
    flat = _curve("truncation", [0.4, 1.0], [0.81, 0.8], [0.49, 0.5], samples=100)
    assert turn_of("gan", flat).kind == "flat"
    assert "Not the usual trade</b> for the GAN" in " ".join(knob_reading({**CURVES, "gan": flat}))


def test_damaged_knob_curves_and_guidance_figures_are_left_out_not_drawn():
    assert clean_knob_curve(CURVES["gan"]) == CURVES["gan"]
    for damaged in ({**CURVES["gan"], "precision": [0.9, float("nan"), 0.8, 0.7]},
                    {**CURVES["gan"], "recall": [0.1, 0.2]}, {**CURVES["gan"], "knob": None}, "curve", None):
        assert clean_knob_curve(damaged) is None
    assert "recall_real" not in clean_knob_curve({**CURVES["gan"], "recall_real": float("inf")})
    assert clean_guidance(GUIDANCE)["all"] == 0.88
    assert clean_guidance({**GUIDANCE, "wants": [["smile", "yes"]]}) is None
    kept = clean_guidance({**GUIDANCE, "base_rate": float("nan"), "per_attribute": {"smile": 0.9, "glasses": "x"}})
    assert "base_rate" not in kept and kept["per_attribute"] == {"smile": 0.9}
    rows = hit_rows(GUIDANCE)
    assert [(r.want, r.guided, r.base) for r in rows] == [("broad smile + glasses", 0.88, 0.07),
                                                          ("broad smile", 0.93, 0.3), ("glasses", 0.94, 0.25)]


# ------------------------------------------------------------------------------------------------- the tab
@pytest.fixture()
def win(tiny_checkpoints, latent_checkpoint, qtbot, tmp_path, monkeypatch):
    """The window with the three tiny built-in models and the tiny latent diffusion model."""
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "cache"))
    window = open_window(qtbot, tmp_path, monkeypatch, [*tiny_checkpoints.values(), latent_checkpoint])
    yield window
    window.close()


@pytest.fixture()
def cards(tiny_checkpoints, latent_checkpoint):
    """Every model's figures as if shipped with its card (the same file, the same feature network)."""
    paths = {**tiny_checkpoints, "latent-diffusion": latent_checkpoint}
    for family, path in paths.items():
        card_path(path).write_text(json.dumps({"checkpoint_sha256": file_digest(path),
                                               "feature_net_sha256": feature_net_digest(),
                                               "evaluate": _figures(family)}))
    yield paths
    for path in paths.values():
        card_path(path).unlink(missing_ok=True)


def test_compare_shows_the_latent_model_its_knob_curve_and_its_hit_rates(win, cards, qtbot):
    import pyqtgraph as pg

    from explorer.family_views import view_of

    panel = win.compare
    assert isinstance(panel, ComparePanel)
    with qtbot.waitSignal(panel.first_image, timeout=180_000):
        win.tabs.setCurrentWidget(panel)
    assert set(panel.figures) == {"vae", "gan", "diffusion", "latent-diffusion"}, panel.errors
    # Beside the others: its bars, its sample grid and its morph.
    assert "latent-diffusion" in panel.bars.charts["precision"].values
    assert panel.grids["latent-diffusion"].has_image() and panel.strips["latent-diffusion"].has_image()
    assert panel.grids["latent-diffusion"].image().shape == panel.grids["vae"].image().shape  # both 16 px

    # One curve per family with a knob (the pixel diffusion model has none), its points the card's figures.
    chart = panel.knobs.chart
    assert set(chart.curves) == {"vae", "gan", "latent-diffusion"} == set(chart.lines)
    for family, curve in CURVES.items():
        xs, ys = chart.lines[family].getData()
        order = sorted(range(len(curve["values"])), key=lambda i: curve["values"][i])
        assert list(xs) == pytest.approx([curve["recall"][i] for i in order])
        assert list(ys) == pytest.approx([curve["precision"][i] for i in order])
        assert pg.mkPen(chart.lines[family].opts["pen"]).color().name() == view_of(family).colour
        labels = [t.textItem.toPlainText() for t in chart.labels[family]]
        assert len(labels) == len(curve["values"])
    assert [t.textItem.toPlainText() for t in chart.labels["gan"]] == ["ψ 0.4", "ψ 0.6", "ψ 0.8", "ψ 1"]
    assert chart.real == pytest.approx((0.9, 0.92))
    assert "lowering ψ does for the GAN" in panel.knobs.reading.text()

    # The hit rates: only the guided family has a block, with the card's rates against their base rates.
    assert panel.hits.isVisibleTo(panel) and panel.hits.shown == ("latent-diffusion",) == tuple(panel.hits.rows)
    rows = panel.hits.rows["latent-diffusion"]
    assert [(r.guided, r.base) for r in rows] == [(0.88, 0.07), (0.93, 0.3), (0.94, 0.25)]
    assert "71 % unguided to 52 %" in panel.hits.findChildren(type(panel.reading))[-1].text()


def test_without_a_guided_model_there_is_no_hit_rate_table(context, panel_of, qtbot, tiny_checkpoints):
    """The three tiny built-in models only: none is guided, so no table; the knob chart has the VAE and the GAN."""
    for family, path in tiny_checkpoints.items():
        card_path(path).write_text(json.dumps({"checkpoint_sha256": file_digest(path),
                                               "feature_net_sha256": feature_net_digest(),
                                               "evaluate": _figures(family)}))
    try:
        panel = panel_of(ComparePanel, show=False)
        with qtbot.waitSignal(panel.first_image, timeout=120_000):
            panel.show()
        assert set(panel.knobs.chart.curves) == {"vae", "gan"}
        assert not panel.hits.isVisibleTo(panel) and panel.hits.shown == () and panel.hits.rows == {}
    finally:
        for path in tiny_checkpoints.values():
            card_path(path).unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------- live
@needs_net
def test_a_model_without_a_card_gets_its_curve_and_hit_rates_measured_live(tiny_checkpoints, latent_checkpoint,
                                                                           tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    monkeypatch.setattr(compare_jobs, "KNOB_SAMPLES", 10)
    monkeypatch.setattr(compare_jobs, "GUIDANCE_SAMPLES", 10)
    store = ModelStore(torch.device("cpu"))
    for path in (tiny_checkpoints["gan"], latent_checkpoint):
        list(load_model(store, LoadModel(path), NoControl()))
    gan = [r for r in measure(store, Measure(tiny_checkpoints["gan"], samples=20), NoControl())][-1]
    assert isinstance(gan, Measured) and not gan.error, gan.error
    assert gan.figures["knob_curve"]["knob"] == "truncation" and gan.figures["knob_curve"]["samples"] == 10
    assert "guidance" not in gan.figures  # not a guided family
    results = list(measure(store, Measure(latent_checkpoint, samples=20), NoControl()))
    latent = results[-1]
    assert not latent.error, latent.error
    curve, guidance = latent.figures["knob_curve"], latent.figures["guidance"]
    assert curve["knob"] == "guidance" and len(curve["precision"]) == len(curve["values"]) == len(GUIDANCE_SCALES)
    assert guidance["samples"] == 10 and 0 <= guidance["all"] <= 1 and "base_rate" in guidance
    assert any("Guidance hit rates" in r.progress.message for r in results if type(r).__name__ == "Step")
    # Kept for next time: the same figures come back from the cache, knob curve included.
    again = [r for r in measure(store, Measure(latent_checkpoint, samples=20), NoControl())][-1]
    assert again.source == "measured earlier on this computer" and again.figures["knob_curve"] == curve
