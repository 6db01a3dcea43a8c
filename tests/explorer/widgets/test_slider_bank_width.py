"""A bank of sliders never cuts its rows off at the right: it does not scroll sideways, so its rows must fit the
width it is given, and it asks its parents for the width its rows need.

The Named bank at a 1024x768 projector showed "0." for "0.00" and "broad sm" for "broad smile": compact, the
widest low words ("very short") and the widest high words of another row sat in two shared columns.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from explorer.layout_check import layout_problems
from explorer.widgets.slider_bank import SliderBank, SliderSpec
from tests.qt_wait import delivered

# Each row's words are short beside its own other end; the widest low words and the widest high words are in
# different rows, as in the Named bank (a long name, "very short … down to the shoulders", "close together").
SPECS = [SliderSpec("a", "Background colour of the picture", "red", "purple"),
         SliderSpec("b", "Hair length", "very short", "down to the shoulders"),
         SliderSpec("c", "Eye spacing", "close together, far from the nose", "far apart")]


def _rows_fit(bank: SliderBank) -> bool:
    return bank.widget().width() <= bank.viewport().width()


def _in_a_window(qtbot, bank: SliderBank) -> QWidget:
    window = QWidget()
    layout = QHBoxLayout(window)
    layout.addWidget(QLabel("the face"), 1)
    layout.addWidget(bank, 1)
    qtbot.addWidget(window)
    return window


@pytest.mark.parametrize("compact", [True, False])
def test_a_bank_asks_for_the_width_its_rows_need_and_gets_it(qtbot, compact):
    bank = SliderBank("Some sliders")
    bank.set_specs(SPECS)
    bank.set_compact(compact)
    window = _in_a_window(qtbot, bank)
    window.show()
    qtbot.waitExposed(window)
    window.resize(100, 400)  # narrower than the rows: the window's layout keeps it as wide as the bank asks
    delivered()  # the layouts the rows posted, and the bank's new minimum passed up to the window
    assert _rows_fit(bank), f"rows {bank.widget().width()} px wide in a {bank.viewport().width()} px view"
    assert layout_problems(window) == []
    assert bank.minimumSizeHint().width() >= bank.widget().minimumSizeHint().width()


def test_compact_rows_need_only_their_own_words_side_by_side(qtbot):
    """Compact, the bank is no wider than its widest row: the words under a slider are one line per row."""
    bank = SliderBank("Some sliders")
    bank.set_specs(SPECS)
    bank.set_compact(True)
    qtbot.addWidget(bank)
    bank.show()
    qtbot.waitExposed(bank)
    delivered()
    fonts = bank.fontMetrics()
    widest_row = max(fonts.horizontalAdvance(spec.low_words) + fonts.horizontalAdvance(spec.high_words)
                     for spec in SPECS)
    widest_low = max(fonts.horizontalAdvance(spec.low_words) for spec in SPECS)
    widest_high = max(fonts.horizontalAdvance(spec.high_words) for spec in SPECS)
    assert widest_row < widest_low + widest_high  # else this test would not tell the two layouts apart
    needed = bank.widget().minimumSizeHint().width()
    assert needed < widest_low + widest_high
    # Back to the normal layout and compact again: every row's words are back under their slider.
    bank.set_compact(False)
    bank.set_compact(True)
    delivered()
    assert bank.widget().minimumSizeHint().width() == needed
    row = bank._rows["b"]
    assert row.low.parentWidget() is row.words and row.high.parentWidget() is row.words and row.words.isVisible()
