"""Sliders under a person's hand: the wheel scrolls the list, keys move the focused slider, Tab walks them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from explorer.widgets.slider_bank import SliderBank, SliderSpec


def _wheel(widget, steps: int = -3) -> None:
    """A real (spontaneous) wheel turn over the widget: only those travel on to the parents when ignored."""
    centre = widget.mapTo(widget.window(), widget.rect().center())
    QTest.wheelEvent(widget.window().windowHandle(), QPointF(centre), QPoint(0, 120 * steps))
    QApplication.processEvents()


@pytest.fixture()
def bank(qtbot):
    bank = SliderBank("Some sliders")
    bank.set_specs([SliderSpec(f"k{i}", f"Slider {i}", "low", "high") for i in range(20)])
    bank.resize(400, 300)
    qtbot.addWidget(bank)
    bank.show()
    qtbot.waitExposed(bank)
    qtbot.waitUntil(lambda: bank.verticalScrollBar().maximum() > 0)  # laid out: the list is taller than its view
    return bank


def test_the_wheel_over_an_unfocused_slider_scrolls_the_list(bank, qtbot):
    moved = []
    bank.value_changed.connect(lambda key, value: moved.append(key))
    target = bank.sliders["k1"].slider
    _wheel(target)
    assert bank.sliders["k1"].value() == 0.0 and not moved
    assert bank.verticalScrollBar().value() > 0  # the list scrolled instead


def test_the_wheel_moves_a_slider_that_has_focus(bank, qtbot):
    target = bank.sliders["k1"].slider
    target.setFocus()
    qtbot.waitUntil(target.hasFocus)
    _wheel(target, steps=1)
    assert bank.sliders["k1"].value() != 0.0


def test_keys_move_the_focused_slider_and_tab_walks_to_the_next(bank, qtbot):
    moved = []
    bank.value_changed.connect(lambda key, value: moved.append((key, value)))
    slider = bank.sliders["k0"]
    slider.slider.setFocus()
    qtbot.waitUntil(slider.slider.hasFocus)
    qtbot.keyClick(slider.slider, Qt.Key.Key_Right)
    assert slider.value() == pytest.approx(0.1)
    qtbot.keyClick(slider.slider, Qt.Key.Key_PageUp)
    assert slider.value() == pytest.approx(0.6)
    qtbot.keyClick(slider.slider, Qt.Key.Key_End)
    assert slider.value() == pytest.approx(3.0)
    qtbot.keyClick(slider.slider, Qt.Key.Key_Home)
    assert slider.value() == 0.0  # Home is the middle: no change along this direction
    assert moved[-1] == ("k0", 0.0)
    qtbot.keyClick(slider.slider, Qt.Key.Key_Tab)
    assert bank.sliders["k1"].slider.hasFocus()


def test_the_focused_sliders_name_is_lit(bank, qtbot):
    slider = bank.sliders["k2"].slider
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    assert "highlight" in bank._rows["k2"].name.styleSheet()
    bank.sliders["k3"].slider.setFocus()
    qtbot.waitUntil(bank.sliders["k3"].slider.hasFocus)
    assert bank._rows["k2"].name.styleSheet() == ""


def test_the_number_box_keeps_its_minus_sign_when_the_font_grows(bank, qtbot):
    slider = bank.sliders["k0"]
    slider.setValue(-2.81)
    font = slider.font()
    font.setPointSizeF(font.pointSizeF() * 2)
    bank.setFont(font)
    QApplication.processEvents()
    label = slider.label
    assert label.text() == "\u22122.81"
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())
