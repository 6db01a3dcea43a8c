"""F1's "What am I looking at?": the explanation and the glossary in a small window that scrolls, sized to fit
the screen it opens on (a message box grows with its text, past the bottom of a 768-pixel screen)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

WIDTH, HEIGHT = 640, 600  # what it asks for; less where the screen is smaller
SCREEN_MARGIN = 60  # room left for the window's frame and a desktop's panels


class HelpDialog(QDialog):
    def __init__(self, html: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("What am I looking at?")
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setHtml(html)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.setMinimumSize(320, 240)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        screen = (self.parentWidget() or self).screen()
        area = screen.availableGeometry() if screen is not None else None
        width, height = WIDTH, HEIGHT
        if area is not None:
            width = min(width, area.width() - SCREEN_MARGIN)
            height = min(height, area.height() - SCREEN_MARGIN)
        self.resize(max(width, self.minimumWidth()), max(height, self.minimumHeight()))

    def show_over(self) -> None:
        """Show (again) without blocking the window behind: one can read and look at the app at once."""
        self.fit_to_screen()
        self.browser.verticalScrollBar().setValue(0)
        self.show()
        self.raise_()
        self.activateWindow()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
