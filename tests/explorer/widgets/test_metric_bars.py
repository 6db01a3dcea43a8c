"""The Compare tab's bar charts: no text covers another in the scene, for any figures and chart size; the time
chart says that it is logarithmic; every metric has a plain-words tooltip and a line saying what it means."""

from __future__ import annotations

import random
from itertools import pairwise

import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication

from explorer.family_views import view_of
from explorer.widgets.chart_labels import Frame, bar_boxes, lay_out
from explorer.widgets.metric_bars import (
    LINE_TEXT,
    METRICS,
    NOT_MEASURED_TEXT,
    MetricBars,
    MetricChart,
    format_metric,
)
from models.family import family_names


def _figures(**per_family) -> dict[str, dict]:
    """family -> figures; each family's keyword gives (precision, fd, ppl, seconds) and the real floors are fixed
    unless a `real_*` keyword says otherwise."""
    real = {k.removeprefix("real_"): v for k, v in per_family.items() if k.startswith("real_")}
    out = {}
    for family in family_names():
        if family not in per_family:
            continue
        precision, fd, ppl, seconds = per_family[family]
        out[family] = {"fd": fd, "fd_real": real.get("fd", 0.29), "precision": precision,
                       "precision_real": real.get("precision", 0.9), "recall": precision * 0.8,
                       "recall_real": real.get("recall", 0.9), "density": precision * 1.2,
                       "density_real": real.get("density", 1.0), "coverage": precision,
                       "coverage_real": real.get("coverage", 0.97), "ppl": ppl, "seconds_per_image": seconds,
                       "sharpness": precision * 1.1, "sharpness_real": real.get("sharpness", 1.0),
                       "reconstruction_error": fd / 50}
    return out


# The shipped models' cards: the case where the "real faces" label covered the GAN's precision after Recompute.
SHIPPED = {
    "vae": {"fd": 1.7782, "fd_real": 0.2894, "precision": 0.8615, "precision_real": 0.8995, "recall": 0.6125,
            "recall_real": 0.9065, "density": 1.1243, "density_real": 0.9913, "coverage": 0.948,
            "coverage_real": 0.9705, "ppl": 359.77, "seconds_per_image": 0.0076, "sharpness": 0.62,
            "sharpness_real": 1.01, "reconstruction_error": 0.0121},
    "gan": {"fd": 1.1813, "fd_real": 0.2894, "precision": 0.8365, "precision_real": 0.8995, "recall": 0.7025,
            "recall_real": 0.9065, "density": 1.0118, "density_real": 0.9913, "coverage": 0.9275,
            "coverage_real": 0.9705, "ppl": 428.35, "seconds_per_image": 0.0042, "sharpness": 0.93,
            "sharpness_real": 1.01, "reconstruction_error": 0.0312},
    "diffusion": {"fd": 0.9246, "fd_real": 0.2871, "precision": 0.89, "precision_real": 0.91, "recall": 0.8145,
                  "recall_real": 0.9075, "density": 1.0786, "density_real": 1.0272, "coverage": 0.962,
                  "coverage_real": 0.97, "ppl": 508.8, "seconds_per_image": 0.8148, "sharpness": 0.97,
                  "sharpness_real": 0.99, "reconstruction_error": 0.0205},
}

FIGURE_SETS = {
    "shipped": SHIPPED,
    # every bar's top exactly at the real-faces line
    "all at the line": _figures(vae=(0.9, 0.29, 300, 0.01), gan=(0.9, 0.29, 300, 0.01),
                                diffusion=(0.9, 0.29, 300, 0.01), real_density=1.08, real_recall=0.72,
                                real_coverage=0.9),
    "one at the line": _figures(vae=(0.3, 3.0, 50, 0.004), gan=(0.9, 0.29, 900, 0.002),
                                diffusion=(0.95, 0.1, 200, 1.5)),
    "just under the line": _figures(vae=(0.88, 0.28, 100, 0.005), gan=(0.89, 0.285, 101, 0.006),
                                    diffusion=(0.895, 0.2899, 99, 0.007)),
    "line far over the bars": _figures(vae=(0.05, 0.01, 1, 0.001), gan=(0.1, 0.02, 2, 0.001),
                                       diffusion=(0.08, 0.015, 1.5, 0.001), real_fd=0.9),
    "long numbers": _figures(vae=(0.5, 12345.6, 123456.0, 0.0001), gan=(0.7, 9876.5, 98765.0, 15.7),
                             diffusion=(0.6, 11111.0, 111111.0, 0.9), real_fd=10000.0),
    "two models": _figures(vae=(0.86, 1.8, 360, 0.0076), gan=(0.9, 0.29, 428, 0.0042)),
    "zeros": _figures(vae=(0.0, 0.0, 0.0, 0.004), gan=(0.9, 0.29, 300, 0.004), diffusion=(0.0, 0.0, 0.0, 0.8)),
}
SIZES = [(200, 150), (260, 220), (420, 320)]  # the first: MetricChart's smallest (five families' titles)


@pytest.fixture(scope="module")
def charts(qapp):
    charts = {m.key: MetricChart(m) for m in METRICS}
    for chart in charts.values():
        chart.show()
    yield charts
    for chart in charts.values():
        chart.close()


def _texts_in_scene(chart: MetricChart) -> list[pg.TextItem]:
    QApplication.processEvents()
    chart.grab()  # painting puts every text where the screen shows it
    return [item for item in chart.scene().items() if isinstance(item, pg.TextItem) and item.isVisible()]


@pytest.mark.parametrize("name", FIGURE_SETS)
def test_no_text_in_a_chart_covers_another(charts, name):
    figures = FIGURE_SETS[name]
    kept = {True: 0, False: 0}
    for width, height in SIZES:
        for chart in charts.values():
            chart.resize(width, height)
            chart.set_figures(figures)
            texts = _texts_in_scene(chart)
            spec, where = chart.spec, f"{chart.spec.key}, {name}, {width}x{height}"
            values = {f: format_metric(float(figures[f][spec.key]) * spec.scale, spec.unit) for f in figures}
            # The line's label is left out where it could only sit on a bar (or squash them all); the colour key
            # over the charts says what the line is. Counted below: most charts keep it.
            labelled = bool(spec.reference) and chart.line_label.isVisible()
            kept[labelled] += 1 if spec.reference else 0
            assert sorted(t.toPlainText() for t in texts) == sorted(
                list(values.values()) + ([LINE_TEXT] if labelled else [])), where
            # a hundredth of a pixel of slack: a label at the plot's very edge comes back from data coordinates
            # with float noise (the end bars' margin is not always a round number of units)
            plot = chart.getViewBox().sceneBoundingRect().adjusted(-0.01, -0.01, 0.01, 0.01)
            for i, a in enumerate(texts):
                box = a.sceneBoundingRect()
                assert plot.contains(box), f"{a.toPlainText()!r} is cut off by the plot's edge ({where})"
                for b in texts[i + 1:]:
                    assert not box.intersects(b.sceneBoundingRect()), \
                        f"{a.toPlainText()!r} covers {b.toPlainText()!r} ({where})"
            # each value stands over its own bar: its bottom at or over the bar's top, its box across the bar
            for family, text in values.items():
                label = chart.value_labels[family]
                assert label in texts and label.toPlainText() == text, where
                i = chart.families.index(family)
                shown = chart._shown(float(figures[family][spec.key]) * spec.scale)
                top = chart.getViewBox().mapViewToScene(pg.Point(i, shown))
                box = label.sceneBoundingRect()
                assert box.bottom() <= top.y() + 0.5 and box.left() <= top.x() <= box.right(), where
            if labelled:  # the line's label is beside the line, not anywhere in the plot, and off the bars
                label = chart.line_label
                line_y = chart.getViewBox().mapViewToScene(pg.Point(0, chart.reference_value)).y()
                box = label.sceneBoundingRect()
                distance = max(box.top() - line_y, line_y - box.bottom(), 0)
                assert distance <= 3 * box.height(), where
                for item in chart.listDataItems() + [i for i in chart.getPlotItem().items
                                                     if isinstance(i, pg.BarGraphItem)]:
                    if isinstance(item, pg.BarGraphItem):
                        assert not box.intersects(item.sceneBoundingRect().adjusted(0.5, 0.5, -0.5, -0.5)), where
    assert kept[True] > 2 * kept[False], kept


def test_the_real_faces_label_keeps_clear_of_the_gans_precision_after_recompute(charts):
    """The reported case: shipped figures, then the GAN's precision measured again lands just under the line."""
    chart = charts["precision"]
    chart.resize(240, 300)
    chart.set_figures(SHIPPED)
    again = {**SHIPPED, "gan": {**SHIPPED["gan"], "precision": 0.8995}}  # right at the line
    chart.set_figures(again)
    texts = {t.toPlainText(): t.sceneBoundingRect() for t in _texts_in_scene(chart)}
    assert set(texts) == {"0.86", "0.90", "0.89", LINE_TEXT}
    assert not any(texts[LINE_TEXT].intersects(texts[v]) for v in ("0.86", "0.90", "0.89"))


def test_placement_of_random_figures_leaves_every_text_free():
    """The geometry alone, on many random charts: boxes inside the plot and never overlapping."""
    rng = random.Random(12)
    for _ in range(400):
        width, height = rng.uniform(110, 500), rng.uniform(100, 400)
        bars = [(float(i), rng.choice([rng.uniform(0, 1), 0.9, 0.0])) for i in range(rng.randint(1, 3))]
        sizes = [(rng.uniform(20, 50), 16.0) for _ in bars]
        line = rng.choice([None, 0.9, rng.uniform(0, 1.2)])
        layout = lay_out(width, height, (-0.6, 2.4), 0.0, bars, sizes, line, (60.0, 16.0))
        boxes = layout.values + ([layout.line_label] if layout.line_label else [])
        for i, a in enumerate(boxes):
            assert a.within(width, height), (a, width, height)
            assert not any(a.overlaps(b) for b in boxes[i + 1:]), (bars, line, width, height)


def test_the_line_label_covers_no_bar_when_five_families_fill_the_chart():
    """Compare's precision chart on a 1024 px projector: five bars under a line just over them, no gap beside them
    (the label sat on the last bar there)."""
    bars = [(0.0, 0.86), (1.0, 0.83), (2.0, 0.84), (3.0, 0.89), (4.0, 0.77)]
    sizes = [(34.0, 20.0)] * len(bars)
    x_range, width, height = (-0.6, 4.6), 250.0, 160.0
    layout = lay_out(width, height, x_range, 0.0, bars, sizes, 0.9, (90.0, 20.0), bar_width=0.6)
    frame = Frame(width, height, x_range, layout.y_range)
    label = layout.line_label
    assert label is not None and label.within(width, height)
    assert not any(label.overlaps(b) for b in bar_boxes(frame, bars, 0.0, 0.6) + layout.values)
    assert abs(frame.py(0.9) - (label.bottom + label.top) / 2) < 3 * 20  # still beside its line
    # The Fréchet distance chart's line lies under every bar: clearing them would squash the bars, so the label is
    # left out (the colour key says what the dashed line is) and the range is what the bars and values need.
    fd = [(0.0, 1.78), (1.0, 1.40), (2.0, 1.18), (3.0, 0.92), (4.0, 2.03)]
    left_out = lay_out(width, height, x_range, 0.0, fd, sizes, 0.29, (90.0, 20.0), bar_width=0.6)
    values_only = lay_out(width, height, x_range, 0.0, fd, sizes)
    assert left_out.line_label is None and left_out.y_range == values_only.y_range


def test_the_time_chart_says_it_is_logarithmic_and_its_axis_steps_by_tens(charts):
    cards = MetricBars()
    try:
        for metric in METRICS:
            said = cards.cards[metric.key].name.text()
            assert ("log scale" in said) == metric.log, metric.key
        chart = charts["seconds_per_image"]
        chart.set_figures(SHIPPED)
        ticks = [value for value, _ in chart.getAxis("left")._tickLevels[0]]
        assert all(b - a == 1 for a, b in pairwise(ticks))  # one decade per grid line: log10 of the value
        assert chart._shown(815.0) == pytest.approx(2.911, abs=1e-3)
    finally:
        cards.close()


def test_every_metric_has_a_plain_words_tooltip_and_says_under_its_chart_what_it_means(qtbot):
    bars = MetricBars()
    qtbot.addWidget(bars)
    bars.resize(1000, 600)
    bars.show()
    qtbot.waitExposed(bars)
    meanings = set()
    for metric in METRICS:
        card = bars.cards[metric.key]
        assert metric.title in card.name.text()
        assert len(card.name.toolTip()) > 40 and card.chart.toolTip().startswith(card.name.toolTip())
        assert card.meaning.isVisible() and metric.meaning in card.meaning.text()
        # under the chart, not beside it
        assert card.meaning.geometry().top() >= card.chart.geometry().bottom()
        meanings.add(metric.meaning)
    assert len(meanings) == len(METRICS)
    assert "Of the model's faces, how many look like a real face" in bars.cards["precision"].meaning.text()


def test_the_wheel_over_a_chart_scrolls_the_page_it_is_on(qtbot):
    """The charts do not zoom or pan: a wheel turn over one scrolls the scroll area around them (a real wheel event,
    as the window system gives it, which travels up to the parents when a widget leaves it)."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QScrollArea

    bars = MetricBars()
    bars.setMinimumHeight(1500)  # taller than its view: there is something to scroll
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(bars)
    qtbot.addWidget(area)
    area.resize(900, 600)
    area.show()
    qtbot.waitExposed(area)
    bars.set_figures(SHIPPED)
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)
    qtbot.wait(50)  # the scroll bar that appeared narrows the charts: they lay out again for their new width
    chart = bars.charts["precision"]
    before = chart.getViewBox().viewRange()
    centre = chart.mapTo(area, chart.rect().center())
    QTest.wheelEvent(area.windowHandle(), QPointF(centre), QPoint(0, -240))
    QApplication.processEvents()
    assert area.verticalScrollBar().value() > 0
    assert chart.getViewBox().viewRange() == before


def test_larger_type_gets_larger_chart_texts_that_still_cover_nothing(qtbot):
    from PySide6.QtGui import QFont

    chart = MetricChart(next(m for m in METRICS if m.key == "precision"))
    qtbot.addWidget(chart)
    chart.resize(240, 220)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_figures(FIGURE_SETS["just under the line"])
    before = _texts_in_scene(chart)[0].sceneBoundingRect().height()
    big = QFont(chart.font())
    big.setPointSizeF(big.pointSizeF() * 1.6)  # as presenter mode does
    chart.setFont(big)
    texts = _texts_in_scene(chart)
    assert all(t.sceneBoundingRect().height() > before * 1.3 for t in texts)
    for i, a in enumerate(texts):
        assert chart.getViewBox().sceneBoundingRect().contains(a.sceneBoundingRect())
        assert not any(a.sceneBoundingRect().intersects(b.sceneBoundingRect()) for b in texts[i + 1:])


def test_a_fourth_family_gets_its_own_bar_colour_and_place(qtbot, fourth_family):
    """A family registered after the three (by this test, with no view of its own) stands after them, under its
    title, in a colour none of the others has; the x range makes room for it."""
    from explorer.family_views import view_of

    chart = MetricChart(next(m for m in METRICS if m.key == "precision"))
    qtbot.addWidget(chart)
    chart.resize(300, 220)
    chart.show()
    qtbot.waitExposed(chart)
    figures = {**SHIPPED, "fourth": {**SHIPPED["vae"], "precision": 0.5}}
    chart.set_figures(figures)
    assert chart.families[-1] == "fourth" and chart.families.index("fourth") == len(family_names()) - 1
    margin = -chart.x_range[0]  # room for it: the same margin at both ends, the end titles' at least
    assert margin >= 0.6 and chart.x_range[1] == pytest.approx(len(chart.families) - 1 + margin)
    ticks = dict(chart.getAxis("bottom")._tickLevels[0])
    assert ticks[chart.families.index("fourth")].strip() == "Fourth"  # a line lower, when staggered
    bars = [item for item in chart.getPlotItem().items if isinstance(item, pg.BarGraphItem)]
    colours = {bar.opts["brush"] for bar in bars}
    assert len(bars) == 4 and len(colours) == 4 and view_of("fourth").colour in colours
    assert chart.value_labels["fourth"].toPlainText() == "0.50"
    assert {t.toPlainText() for t in _texts_in_scene(chart)} >= {"0.50", "0.86", "0.84", "0.89"}


def test_figures_measured_before_sharpness_existed_leave_its_chart_saying_so(qtbot):
    """A card or cache from before sharpness and the redrawing error: no bar, no error, and the chart says they
    were not measured; one family measured since gets its bar while the others stay without."""
    old = {f: {k: v for k, v in figures.items() if k not in ("sharpness", "sharpness_real", "reconstruction_error")}
           for f, figures in SHIPPED.items()}
    chart = MetricChart(next(m for m in METRICS if m.key == "sharpness"))
    qtbot.addWidget(chart)
    chart.resize(300, 220)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_figures(old)
    texts = [t.toPlainText() for t in _texts_in_scene(chart)]
    assert texts == [NOT_MEASURED_TEXT] and chart.values == {} and chart.reference_value is None
    assert chart.getViewBox().sceneBoundingRect().contains(chart.not_measured.sceneBoundingRect())
    chart.set_figures({**old, "gan": SHIPPED["gan"]})
    texts = sorted(t.toPlainText() for t in _texts_in_scene(chart))
    assert texts == sorted(["0.93", LINE_TEXT]) and set(chart.values) == {"gan"}


def test_four_families_titles_all_show_under_a_narrow_chart(qtbot):
    """Too narrow for four titles side by side, every other title moves a line down and the end bars move in, so
    that no title runs into its neighbour or is dropped at the axis's end; wide again, they share one line."""
    from PySide6.QtGui import QFontMetrics

    chart = MetricChart(next(m for m in METRICS if m.key == "seconds_per_image"))
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_figures(SHIPPED)
    axis = chart.getAxis("bottom")
    metrics = QFontMetrics(axis.font())
    for width, staggered in ((280, True), (900, False)):  # 280: five families (200 held four)
        chart.resize(width, 240)
        qtbot.waitUntil(lambda want=staggered: chart._staggered is want, timeout=3000)
        ticks = axis._tickLevels[0]
        assert ticks, width  # (five titles under a chart narrower than 200 pixels are left out: the colour key names
        # them, as test_a_chart_too_narrow_for_its_titles_leaves_them_out checks)
        # a title of several words may be set a word a line (five families: "Latent diffusion" beside "GAN")
        assert [" ".join(t.split()) for _, t in ticks] == [view_of(f).title for f in chart.families]
        assert [t.startswith("\n") for _, t in ticks] == [staggered and i % chart._title_mode[0] > 0
                                                          for i in range(len(ticks))]
        view = chart.getViewBox()
        per_unit = view.width() / (chart.x_range[1] - chart.x_range[0])
        lines = []  # (line of the axis, left, right) of every line of every title
        for i, (_, title) in enumerate(ticks):  # every title within the axis's ends, where pyqtgraph draws it
            centre = (i - chart.x_range[0]) * per_unit
            for row, words in enumerate(title.split("\n")):
                if words:
                    half = metrics.horizontalAdvance(words) / 2
                    assert centre - half >= -1 and centre + half <= view.width() + 1, (width, title)
                    lines.append((row, centre - half, centre + half))
        for row, left, right in lines:  # and no two titles' lines run into each other
            assert not any(r == row and l < right - 1 and left < rr - 1 and (l, rr) != (left, right)
                           for r, l, rr in lines), (width, ticks)


def test_a_small_figure_keeps_the_digits_that_tell_models_apart():
    assert format_metric(0.0121, "") == "0.012" and format_metric(0.0312, "") == "0.031"
    assert format_metric(0.86, "") == "0.86" and format_metric(0.0, "") == "0.00"


def test_a_chart_too_narrow_for_its_titles_leaves_them_out(qtbot):
    """Five families' titles under a chart 150 pixels wide would need more lines than the chart has room for: none
    are shown (the Compare tab's colour key names the families), and the bars keep the plot."""
    chart = MetricChart(next(m for m in METRICS if m.key == "precision"))
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_figures(SHIPPED)
    chart.resize(150, 200)
    qtbot.waitUntil(lambda: chart._title_mode == (0, False), timeout=3000)
    assert chart.getAxis("bottom")._tickLevels == [[]] or not chart.getAxis("bottom")._tickLevels[0]
    chart.resize(900, 240)
    qtbot.waitUntil(lambda: chart._title_mode == (1, False), timeout=3000)  # wide again: one line
