"""The toolbar's model chooser: shipped models, the person's runs (newest first), then recent files.

Every entry is a checkpoint on disk, loaded or not; choosing one that is not loaded loads it (in the worker)
and shows it once it is in. The metadata of the entries is read by the worker (model_catalog.ScanCatalog).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHeaderView, QTreeView

from explorer.app_context import AppContext
from explorer.recent_files import RecentFiles
from explorer.widgets.shown_text import rich_text, shown_html
from explorer.worker.model_catalog import RECENT, RUN, SHIPPED, CatalogEntry, Skipped, family_rank
from explorer.worker.requests import Catalogued, ModelInfo, ScanCatalog
from models.printable import printable

GROUPS = {SHIPPED: "Shipped with the app", RUN: "Your runs", RECENT: "Recent files"}
PATH_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class ChooserRow:
    group: str
    path: str  # resolved: the model's key once it is loaded
    text: str  # what the closed chooser shows: "VAE · 16 px · step 300"
    detail: str  # beside it in the open list: a run's date, a recent file's folder and name
    tip: str
    loaded: bool


def _row(group: str, path: str, entry: CatalogEntry | None, info: ModelInfo | None) -> ChooserRow:
    label = printable(info.label if info is not None else entry.label)
    detail = ""
    if group == RUN and entry is not None:
        detail = entry.date
    elif group == RECENT:
        detail = printable(f"{Path(path).parent.name}/{Path(path).name}")
    # File names and metadata are untrusted text: shown with escapes, never raw, and never read as markup (a tooltip
    # is when it looks like it: a data set named '<b>x</b>').
    shown = shown_html(path)
    tip = (rich_text(shown_html(info.description), shown) if info is not None
           else rich_text(shown, "Not loaded yet: choosing it loads it."))
    return ChooserRow(group, path, label, detail, tip, info is not None)


def chooser_rows(entries: list[CatalogEntry], models: dict[str, ModelInfo], recent: list[str]) -> list[ChooserRow]:
    """Shipped models, runs newest first, then recent files (and models opened this session but listed nowhere)."""
    by_path = {entry.path: entry for entry in entries}
    # The families in the order the app shows them everywhere.
    shipped = sorted((e for e in entries if e.kind == SHIPPED), key=lambda e: (family_rank(e.family), e.path))
    rows = [_row(SHIPPED, e.path, e, models.get(e.path)) for e in shipped]
    runs = sorted((e for e in entries if e.kind == RUN), key=lambda e: e.created, reverse=True)
    rows += [_row(RUN, e.path, e, models.get(e.path)) for e in runs]
    listed = {row.path for row in rows}
    unlisted = [key for key in reversed(list(models)) if key not in listed and key not in recent]
    for path in unlisted + recent:
        entry, info = by_path.get(path), models.get(path)
        if path not in listed and (entry is not None or info is not None):
            rows.append(_row(RECENT, path, entry, info))
            listed.add(path)
    return rows


class ModelChooser(QComboBox):
    picked = Signal(str)  # a person chose this checkpoint (loaded already, or loading now)
    catalogued = Signal()  # a scan of the disk has come back (entries are new)

    def __init__(self, context: AppContext, recent: RecentFiles):
        super().__init__()
        self.context = context
        self.recent = recent
        self.entries: list[CatalogEntry] = []
        self.skipped: list[Skipped] = []  # files the last scan found that are not usable checkpoints, and why
        self._scan_id = 0
        self._stale = False  # something changed while the list was open
        self.setModel(QStandardItemModel(self))
        view = QTreeView()  # two columns when open (a run's date, a file's name); the closed chooser shows the first
        view.setHeaderHidden(True)
        view.setRootIsDecorated(False)
        view.setItemsExpandable(False)
        view.setAllColumnsShowFocus(True)
        view.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setView(view)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(34)  # "Diffusion · 128 px · step 100,000" whole
        self.setToolTip("Which trained model Explore and Interpolate use (Ctrl+M: the next loaded one). Lists the "
                        "shipped models, your runs and recent files; one that is not loaded yet loads when chosen.")
        self.currentIndexChanged.connect(self._chosen)
        context.result.connect(self._on_result)
        context.models_changed.connect(self.refresh)
        context.current_changed.connect(self.select)
        context.load_failed.connect(lambda *_: self.refresh())  # back to the model that is still shown

    def rescan(self) -> None:
        """Read the disk again (in the worker): shipped models, runs, recent files."""
        self._scan_id = self.context.submit(ScanCatalog(tuple(self.recent.paths())))

    def _on_result(self, result) -> None:
        if result.request_id == self._scan_id:
            if isinstance(result, Catalogued):  # else the scan failed as a whole: keep what was listed, go on
                self.entries, self.skipped = list(result.entries), list(result.skipped)
            self.refresh()
            self.catalogued.emit()

    def has_entry(self, path: str) -> bool:
        return str(Path(path).resolve()) in {entry.path for entry in self.entries}

    def refresh(self) -> None:
        if self.view().isVisible():  # not under the person's pointer: a following run reloads every few seconds
            self._stale = True
            return
        self._stale = False
        model: QStandardItemModel = self.model()
        self.blockSignals(True)
        model.clear()
        group = None
        for row in chooser_rows(self.entries, self.context.models, self.recent.paths()):
            if row.group != group:
                group = row.group
                header = QStandardItem(GROUPS[group])
                header.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading: it cannot be chosen, arrows skip it
                font = QFont(self.font())
                font.setBold(True)
                header.setFont(font)
                model.appendRow(header)
                self.view().setFirstColumnSpanned(model.rowCount() - 1, QModelIndex(), True)
            item, detail = QStandardItem(row.text), QStandardItem(row.detail)
            item.setData(row.path, PATH_ROLE)
            for cell in (item, detail):
                cell.setToolTip(row.tip)
            detail.setForeground(self.palette().placeholderText())
            model.appendRow([item, detail])
        self.setCurrentIndex(self.findData(self.context.current))
        self.blockSignals(False)
        view = self.view()
        view.setMinimumWidth(sum(view.sizeHintForColumn(c) for c in range(2)) + 40)  # the open list shows all

    def hidePopup(self) -> None:
        super().hidePopup()
        if self._stale:
            self.refresh()

    def select(self, key: str) -> None:
        index = self.findData(key)
        if index != self.currentIndex():
            self.blockSignals(True)
            self.setCurrentIndex(index)
            self.blockSignals(False)

    def paths(self) -> list[str]:
        """Every entry's checkpoint, in the order shown (headings left out)."""
        return [p for i in range(self.count()) if (p := self.itemData(i))]

    def next_loaded(self) -> str | None:
        """The loaded model after the current one, in the order shown (Ctrl+M)."""
        loaded = [p for p in self.paths() if p in self.context.models]
        if not loaded:
            return None
        current = self.context.current
        return loaded[(loaded.index(current) + 1) % len(loaded)] if current in loaded else loaded[0]

    def _chosen(self, index: int) -> None:
        path = self.itemData(index)
        if not path:
            return
        self.picked.emit(path)
        if path in self.context.models:
            self.context.set_current(path)
        else:
            self.context.load(path, select=True)
