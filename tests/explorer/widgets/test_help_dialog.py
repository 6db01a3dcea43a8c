"""F1, "What am I looking at?": a window that fits a 1024x768 screen, scrolls, and explains every term the app
shows without explaining it."""

from __future__ import annotations

import re

from explorer import texts

TERMS = ("ψ", "truncation", "nats", "Power", "Fréchet distance", "KL", "μ", "σ", "Precision", "Recall", "Coverage",
         "Density", "Path length", "DDIM", "DDPM", "η", "slerp", "lerp", "Latent", "Seed", "Checkpoint",
         "Feature network", "Percentile", "x_t", "Principal directions")


def test_f1_opens_a_scrollable_glossary_that_fits_a_small_screen(window, qtbot):
    window.what_am_i_looking_at()
    dialog = window.help_dialog
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry()
    assert dialog.width() <= min(1024, screen.width()) and dialog.height() <= min(768, screen.height())
    assert dialog.minimumSizeHint().height() <= 768 and dialog.minimumSizeHint().width() <= 1024
    shown = dialog.browser.toPlainText()
    glossary = shown[shown.index("Words you will meet"):]
    for term in TERMS:
        assert re.search(rf"^[^\n]*{re.escape(term)}[^\n]* — ", glossary, re.MULTILINE | re.IGNORECASE), term
    bar = dialog.browser.verticalScrollBar()
    assert bar.maximum() > 0  # longer than the window: it scrolls instead of growing off the screen
    bar.setValue(bar.maximum())
    window.what_am_i_looking_at()  # F1 again: the same window, back at the top
    assert window.help_dialog is dialog and bar.value() == 0 and dialog.isVisible()
    dialog.close()


def test_every_glossary_entry_is_a_term_and_a_plain_explanation():
    terms = [term for term, _ in texts.GLOSSARY]
    assert len(set(terms)) == len(terms)
    for term, meaning in texts.GLOSSARY:
        assert meaning.endswith((".", ")")) and len(meaning) > 30, term
