"""Find what a person would see cut off in a window: text that does not fit its widget, widgets hanging out of
their parents, sideways scrolling, a window wider than its screen.

Used by `python main.py --screenshot … --size WxH [--presenter]` (it prints what it finds) and by the tests that
render every tab at a projector's 1024x768.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QScrollArea,
    QTabBar,
    QToolBar,
    QWidget,
)

SLACK = 1  # pixels of rounding a layout may lose


def _name(widget: QWidget) -> str:
    text = ""
    for getter in ("text", "currentText", "windowTitle", "title"):
        value = getattr(widget, getter, None)
        if callable(value):
            try:
                text = value()
            except TypeError:
                continue
            if isinstance(text, str) and text:
                break
    text = " ".join(str(text).split())
    kind = type(widget).__name__
    return f"{kind} '{text[:40]}'" if text else f"{kind} {widget.objectName() or ''}".rstrip()


def _scrolled(widget: QWidget) -> bool:
    """Inside a scroll area: the area clips it by design, and scrolls to show it."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _text_fits(widget: QWidget) -> str | None:
    """Why the widget's own text does not fit it, or None."""
    if isinstance(widget, QAbstractSpinBox):
        edit = widget.findChild(QLineEdit)
        if edit is not None:
            room = edit.contentsRect().width() - 4  # QLineEdit's horizontal text margins
            needed = edit.fontMetrics().horizontalAdvance(edit.text())
            if needed > room + SLACK:
                return f"shows '{edit.text()}' in {room} px, needs {needed}"
        return None
    if isinstance(widget, QLabel):
        if widget.property("elided") or not widget.text() or widget.pixmap() and not widget.pixmap().isNull():
            return None
        if widget.wordWrap():
            needed = widget.heightForWidth(widget.width())
            if needed > widget.height() + SLACK and not _scrolled(widget):
                return f"{widget.height()} px high, its text needs {needed}"
            return None
    if isinstance(widget, (QLabel, QAbstractButton, QComboBox, QLineEdit)):
        needed = widget.minimumSizeHint().width()
        if isinstance(widget, QComboBox):
            needed = max(needed, widget.fontMetrics().horizontalAdvance(widget.currentText()) + 24)
        if widget.width() + SLACK < needed:
            return f"{widget.width()} px wide, needs {needed}"
    if isinstance(widget, (QTabBar, QToolBar)) and widget.sizeHint().width() > widget.width() + SLACK:
        return f"{widget.width()} px wide, its items need {widget.sizeHint().width()}"
    return None


def layout_problems(window: QWidget, screen: QSize | None = None) -> list[str]:
    """Sentences naming every visible widget that is cut off; [] when everything fits. `screen`: the size to fit
    (default: the screen the window is on)."""
    problems = []
    if screen is None and window.screen() is not None:
        screen = window.screen().availableGeometry().size()
    if screen is not None and (window.width() > screen.width() or window.height() > screen.height()):
        problems.append(f"the window is {window.width()}x{window.height()}, larger than its screen "
                        f"{screen.width()}x{screen.height()}")
    hint = window.minimumSizeHint()
    if screen is not None and (hint.width() > screen.width() or hint.height() > screen.height()):
        problems.append(f"the window needs at least {hint.width()}x{hint.height()}, more than its screen "
                        f"{screen.width()}x{screen.height()}")
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.window() is not window:
            continue
        why = _text_fits(widget)
        if why:
            problems.append(f"{_name(widget)} is clipped: {why}")
        if isinstance(widget, QScrollArea):
            content = widget.widget()
            if widget.horizontalScrollBar().isVisible():
                problems.append(f"{_name(widget)} needs sideways scrolling")
            elif content is not None and content.width() > widget.viewport().width() + SLACK:
                problems.append(f"{_name(widget)} cuts its content off at the right ({content.width()} px wide in "
                                f"{widget.viewport().width()})")
        parent = widget.parentWidget()
        if (parent is not None and not widget.isWindow() and not isinstance(parent, QMainWindow)
                and not isinstance(parent.parentWidget(), QAbstractScrollArea)):  # a scroll area's content scrolls
            inside = parent.rect().adjusted(-SLACK, -SLACK, SLACK, SLACK)
            if not inside.contains(widget.geometry()):
                problems.append(f"{_name(widget)} hangs out of {_name(parent)}")
    return problems


def fully_visible(widget: QWidget, area: QAbstractScrollArea) -> bool:
    """True when the whole widget shows in the scroll area's viewport."""
    viewport = area.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return viewport.rect().contains(QRect(top_left, widget.size()))
