"""The checkpoints a person opened lately (File → Open recent, the chooser's last group), kept in the settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

from explorer.widgets.shown_text import rich_text, shown_html
from models.printable import printable

KEY = "recent_checkpoints"
LIMIT = 8


class RecentFiles:
    def __init__(self, settings: QSettings):
        self.settings = settings

    def paths(self) -> list[str]:
        """Newest first. The settings file is input like any other: anything but text is dropped."""
        value = self.settings.value(KEY, [])
        value = [value] if isinstance(value, str) else value
        return [p for p in value if isinstance(p, str) and p][:LIMIT] if isinstance(value, list) else []

    def add(self, path: str) -> None:
        """Only for a checkpoint that loaded: a file that cannot be opened never becomes one to reopen."""
        self.settings.setValue(KEY, ([path] + [p for p in self.paths() if p != path])[:LIMIT])

    def remove(self, path: str) -> None:
        if path in self.paths():
            self.settings.setValue(KEY, [p for p in self.paths() if p != path])

    def fill_menu(self, menu: QMenu, open_path: Callable[[str], None]) -> None:
        """File → Open recent: one action a file (name, then folder), and a way to clear the list."""
        menu.clear()
        paths = self.paths()
        for path in paths:
            # A file name is anybody's text: escapes visible, '&' not taken for a shortcut's mark, never markup.
            action = menu.addAction(printable(f"{Path(path).name} — {Path(path).parent}").replace("&", "&&"))
            action.setStatusTip(printable(path))
            action.setToolTip(rich_text(shown_html(path)))
            action.triggered.connect(lambda _=False, path=path: open_path(path))
        if not paths:
            menu.addAction("No recent checkpoints").setEnabled(False)
            return
        menu.addSeparator()
        menu.addAction("Clear the list").triggered.connect(lambda: self.settings.setValue(KEY, []))
