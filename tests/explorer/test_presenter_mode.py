"""Presenter mode (F5) and small screens: full screen, a projector's layout, nothing cut off at 1024x768."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt

from explorer.layout_check import layout_problems
from explorer.panels import TABS
from tests.explorer.test_main_window import ready_explore, wait_idle
from tests.qt_wait import delivered

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
PROJECTOR = QSize(1024, 768)


def test_f5_goes_full_screen_and_f5_or_esc_leaves_it(window, qtbot):
    window.resize(1100, 760)
    before = window.size()
    window.presenter.trigger()  # F5
    assert window.isFullScreen() and window.presenter.isChecked()
    assert window.explore.explain.is_folded()  # the explanation is one line
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isFullScreen() and not window.presenter.isChecked()
    assert window.size() == before  # back to the window it was
    assert not window.explore.explain.is_folded()
    window.presenter.trigger()
    window.presenter.trigger()  # F5 again leaves it too
    assert not window.isFullScreen()


def test_a_folded_explanation_opens_on_a_click(window, qtbot):
    window.set_presenter_mode(True)
    body = window.explore.explain.body
    assert body.is_folded() and body.height() < 3 * body.fontMetrics().height()
    qtbot.mouseClick(body, Qt.MouseButton.LeftButton)
    assert not body.is_folded() and "decoder" in body.text()
    window.set_presenter_mode(False)


@pytest.mark.parametrize("presenter", [False, True])
def test_every_tab_fits_a_1024x768_screen(window, qtbot, presenter):
    ready_explore(qtbot, window)
    window.set_presenter_mode(presenter)
    window.showNormal()  # the test's own screen is not 1024x768: give the window that size itself
    window.resize(PROJECTOR)
    for tab in TABS:
        window.select_tab(tab)
        wait_idle(qtbot, window)  # the worker's results arrived, and the layouts they asked for are done
        assert window.size() == PROJECTOR, f"{tab}: the window forced itself to {window.width()}x{window.height()}"
        assert layout_problems(window, PROJECTOR) == [], tab
    window.set_presenter_mode(False)


def test_presenter_mode_shows_four_sliders_whole_with_whole_numbers(window, qtbot):
    ready_explore(qtbot, window)
    window.set_presenter_mode(True)
    window.showNormal()
    window.resize(PROJECTOR)
    panel = window.explore
    bank = panel.principal_bank
    panel.banks.setCurrentWidget(bank)
    delivered()  # the bank's layout, which the page change posted
    assert len(bank.names()) >= 4
    assert bank.visible_rows() >= 4
    slider = bank.sliders[bank.names()[0]]
    slider.setValue(-2.81)
    label = slider.label
    assert label.text() == "\u22122.81"
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())  # the minus sign shows
    window.set_presenter_mode(False)


def test_the_window_never_starts_wider_than_its_screen(app_env, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from explorer.main_window import MainWindow

    win = MainWindow("cpu", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    screen = win.screen().availableGeometry()
    assert win.width() <= screen.width() and win.height() <= screen.height()
    hint = win.minimumSizeHint()
    assert hint.width() <= PROJECTOR.width() and hint.height() <= PROJECTOR.height()
    win.close()
