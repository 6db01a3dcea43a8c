"""Live loss curves: cheap to paint however long the run (ranges move in round strides), and the person's own
zoom is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.widgets.loss_plots import SMOOTH_POINTS, LossPlots, binned, nice_ceiling


def test_nice_ceiling_rounds_up_to_round_numbers():
    assert [nice_ceiling(v) for v in (0, 10, 11, 16, 99, 101, 2001, 5001)] == [10, 10, 15, 20, 100, 150, 3000, 6000]


def test_binned_averages_long_curves_down_and_leaves_short_ones():
    x = np.arange(10_000)
    bx, by = binned(x, x * 2.0)
    assert len(bx) == SMOOTH_POINTS and by == pytest.approx(bx * 2)  # a straight line stays on its line
    assert bx[0] == pytest.approx(np.arange(25).mean()) and bx[-1] == pytest.approx(np.arange(9975, 10_000).mean())
    short = np.arange(5)
    assert binned(short, short * 1.0)[0] is short


def _losses(rng) -> dict[str, float]:
    return {"d_loss": 1 + 0.2 * rng.standard_normal(), "g_loss": 1.5 + 0.3 * rng.standard_normal(),
            "d_real": 0.5, "d_fake": 0.4}


def test_ranges_change_in_strides_not_at_every_redraw(qtbot):
    plots = LossPlots()
    qtbot.addWidget(plots)
    plots.setup("gan")
    rng = np.random.default_rng(0)
    changes, last = 0, None
    for step in range(1, 600):
        plots.add(step, _losses(rng))
        shown = tuple(np.round(plots.plots[0].getViewBox().viewRange()[0] + plots.plots[0].getViewBox().viewRange()[1], 6))
        changes += shown != last
        last = shown
    assert changes < 30  # against 599 with plain auto-range
    box = plots.plots[0].getViewBox()
    x_range, y_range = box.viewRange()
    assert x_range == pytest.approx([0, 600])  # the steps so far, up to a round number
    values = np.concatenate([plots.values["d_loss"], plots.values["g_loss"]])
    assert y_range[0] <= values.min() and values.max() <= y_range[1]  # every point is on the plot
    assert len(plots.curves["d_loss"][1].getData()[0]) <= SMOOTH_POINTS


def test_a_plot_the_person_zoomed_stays_where_they_put_it(qtbot):
    plots = LossPlots()
    qtbot.addWidget(plots)
    plots.setup("diffusion")
    rng = np.random.default_rng(1)
    for step in range(1, 50):
        plots.add(step, {"loss": 0.1 + 0.01 * rng.standard_normal()})
    plot = plots.plots[0]
    plot.setXRange(10, 20, padding=0)
    for step in range(50, 200):
        plots.add(step, {"loss": 0.1 + 0.01 * rng.standard_normal()})
    assert plot.getViewBox().viewRange()[0] == pytest.approx([10, 20])
    plot.enableAutoRange()  # the "A" button: the plot follows the run again
    plots.add(200, {"loss": 0.1})
    assert plot.getViewBox().viewRange()[0] == pytest.approx([0, 200])


def test_each_family_gets_the_plots_its_view_groups_its_losses_in(qtbot):
    from explorer.family_views import view_of
    from models.family import families

    plots = LossPlots()
    qtbot.addWidget(plots)
    assert plots.family == families()[0].name  # the chooser's first family until a run starts
    for family in families():
        view = view_of(family)
        plots.setup(family.name)
        assert [p.plotItem.titleLabel.text for p in plots.plots] == [g.title for g in view.loss_plots]
        plots.add(1, dict.fromkeys(family.losses, 0.5))
        for key in family.losses:  # a hidden total is not drawn; a loss no plot lists joins the first
            assert plots.point_count(key) == (0 if key in view.hidden_losses else 1), (family.name, key)


def test_a_family_without_a_view_has_one_plot_of_all_its_losses(qtbot):
    import dataclasses

    from models.family import get_family, register_family, unregister_family

    toy = register_family(dataclasses.replace(get_family("gan"), name="toy", title="Toy", order=40))
    try:
        plots = LossPlots()
        qtbot.addWidget(plots)
        plots.setup("toy")
        assert len(plots.plots) == 1 and set(plots.curves) == set(toy.losses)
        plots.add(1, {**dict.fromkeys(toy.losses, 0.5), "surprise": 2.0})
        assert all(plots.point_count(key) == 1 for key in (*toy.losses, "surprise"))
        legend = {item.opts["name"] for item in plots.plots[0].listDataItems() if item.opts.get("name")}
        assert legend == {*toy.losses, "surprise"}  # named by their keys: no view names them
    finally:
        unregister_family("toy")
