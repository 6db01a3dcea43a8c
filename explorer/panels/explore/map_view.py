"""The latent map: held-out faces placed by the VAE's encoder, flattened to 2-D, and where Explore's face sits.

The view asks the worker for a map the first time it is shown (and again when the VAE's weights change), draws
one dot per face coloured by a chosen property, and places a target at the projection of Explore's current
latent: a matrix product of a few dozen numbers, cheap enough for every slider move. Clicking a dot asks for
that face to be brought in; dragging the target moves Explore's face across the map's plane.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer import texts
from explorer.app_context import AppContext
from explorer.panels.explore.map_colours import (
    ColourLegend,
    Scale,
    brushes,
    describe,
    scale_for,
)
from explorer.widgets.explain_box import ExplainBox
from explorer.widgets.pixel_image import PixelImage
from explorer.widgets.step_progress import StepProgress
from explorer.worker import latent_map_jobs
from explorer.worker.latent_map_jobs import LatentMap, MapLatents, mapping_families
from explorer.worker.requests import ModelInfo, Result, Step
from models.family import find_family

MARKER = "#d6336c"  # a strong pink-red that none of the colour scales uses
ROOMY_PLOT = 220  # pixels of plot height below which the explanation folds away to make room


class LatentMapView(QWidget):
    face_chosen = Signal(int)  # a held-out face index: the dot that was clicked
    latent_dragged = Signal(object)  # float32 (D,): how far the target was dragged, in the VAE's latent space

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.maps: dict[str, LatentMap] = {}  # VAE key -> its map
        self._pending: dict[str, int] = {}  # VAE key -> id of the map request in flight for it
        self._errors: dict[str, str] = {}
        self._stale: set[str] = set()  # maps of weights since replaced: shown until their new map arrives
        self._shown = ""  # key of the map drawn now
        self._scale: Scale | None = None
        self._chosen_attribute = ""  # the property the person picked; until then the map picks a telling one
        self._current, self._latent = "", None  # Explore's model and latent
        self._marker_xy: np.ndarray | None = None
        self._placing = False
        self._build()
        context.result.connect(self._on_result)
        context.progress.connect(self._on_progress)
        context.models_changed.connect(self._models_changed)
        context.weights_replaced.connect(self._weights_replaced)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.colour_by = QComboBox()
        self.colour_by.setToolTip("Colour each face's dot by one of its true properties (known because the "
                                  "faces were drawn by a program).")
        self.colour_by.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.colour_by.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # never clip a name
        self.legend = ColourLegend()
        header = QHBoxLayout()
        header.addWidget(QLabel("Colour by"))
        header.addWidget(self.colour_by)
        header.addStretch(1)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("QLabel { background: palette(alternate-base); padding: 6px; border-radius: 4px; }")
        self.progress = StepProgress()
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setAspectLocked(True)  # both axes are distances in the same space: keep them honest
        self.plot.setMinimumSize(180, 150)
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setStyle(showValues=False)  # the coordinates themselves mean nothing to read
        self.points = pg.ScatterPlotItem(size=7, pen=None, hoverable=True, hoverSize=13,
                                         hoverPen=pg.mkPen("k", width=1.5), tip=self._tip)
        self.points.sigClicked.connect(self._clicked)
        self.points.sigHovered.connect(self._hovered)
        self.plot.addItem(self.points)
        self.marker = pg.TargetItem(size=22, pen=pg.mkPen(MARKER, width=3), hoverPen=pg.mkPen(MARKER, width=5),
                                    brush=(255, 255, 255, 60), hoverBrush=(255, 255, 255, 120), movable=True)
        self.marker.setZValue(10)
        self.marker.setToolTip("The face Explore shows now. Drag it to move the face across the map.")
        self.marker.sigPositionChanged.connect(self._marker_moved)
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.preview = PixelImage("", 40)
        self.preview.setFixedSize(48, 48)
        self.hint = QLabel(texts.LATENT_MAP["hint"])
        self.hint.setWordWrap(True)
        footer = QHBoxLayout()
        footer.addWidget(self.preview)
        footer.addWidget(self.hint, 1)
        self.explain = ExplainBox(texts.LATENT_MAP["explain"], heading="What does the map show?")
        self.explain.toggle.clicked.connect(self._explain_clicked)
        self._auto_folded = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.note)
        layout.addWidget(self.progress)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)  # under the plot, where a colour bar usually is
        layout.addLayout(footer)
        layout.addWidget(self.explain)
        self.colour_by.currentIndexChanged.connect(self._colour_chosen)
        self._refresh()

    # ------------------------------------------------------------------ what Explore tells the map
    def set_latent(self, model: str, latent: np.ndarray | None) -> None:
        """Explore's model and its current latent (None when there is none): move the target."""
        changed = model != self._current
        self._current, self._latent = model, latent
        if changed:
            self._refresh()
            self._ensure_map()
        else:
            self._place_marker()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_explanation()

    def _explain_clicked(self) -> None:
        self._auto_folded = False  # the person chose: from now on the explanation stays as they left it

    def _fit_explanation(self) -> None:
        """Fold the explanation when it would leave the plot cramped (a face brought in below, a narrow window),
        and unfold it again when the room comes back, unless the person folded it themselves."""
        body, toggle = self.explain.body, self.explain.toggle
        if toggle.isChecked():
            if self.plot.height() < ROOMY_PLOT or self.height() < self.layout().minimumSize().height():
                self._auto_folded = True
                toggle.setChecked(False)
        elif self._auto_folded:
            needed = body.heightForWidth(max(1, self.width())) + self.layout().spacing()
            if self.plot.height() - needed >= ROOMY_PLOT + 10:  # a margin, so it does not flicker at the edge
                self._auto_folded = False
                toggle.setChecked(True)

    def encoder_key(self) -> str:
        """The model mapped: Explore's if it has an encoder, else the first loaded one that has."""
        mapped = self.context.first_model(lambda family: family.has_encoder)
        return mapped.key if mapped else ""

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._ensure_map()  # computed only once someone looks at it
        self._place_marker()

    def _ensure_map(self, again: bool = False) -> None:
        """Ask for the VAE's map if it is wanted (the view is open) and missing or stale; `again` replaces one in
        flight (the worker then drops the older request of the same slot, so its id is simply forgotten)."""
        key = self.encoder_key()
        if not key or not self.isVisible():
            return
        if not again and (key in self._pending or (key in self.maps and key not in self._stale)):
            return
        self._errors.pop(key, None)
        request = MapLatents(key, faces=latent_map_jobs.MAP_FACES)
        self._pending[key] = self.context.submit(request)
        self.progress.show_step(0, request.faces, "Placing the faces on the map…")

    def _models_changed(self) -> None:
        self._refresh()
        self._ensure_map()

    def _weights_replaced(self, key: str) -> None:
        if key in self.maps or key in self._pending:  # new weights move every face: map again (old map shown meanwhile)
            self._stale.add(key)
            self._ensure_map(again=key in self._pending)

    # ------------------------------------------------------------------ results
    def _on_progress(self, step: Step) -> None:
        if step.request_id in self._pending.values():
            self.progress.show_step(step.progress.done, step.progress.total, step.progress.message)

    def _on_result(self, result: Result) -> None:
        key = next((k for k, i in self._pending.items() if i == result.request_id), None)
        if key is None:
            return
        del self._pending[key]
        self.progress.setVisible(bool(self._pending))
        if result.error or not isinstance(result, LatentMap):
            self._errors[key] = result.error or "The map could not be made."
        else:
            self.maps[key] = result
            self._stale.discard(key)
            if self._shown == key:
                self._shown = ""  # draw the new map in place of the old one
        self._refresh()

    # ------------------------------------------------------------------ drawing
    def _refresh(self) -> None:
        """Note, dots and target for the current state: which encoder model, whether its map is ready, which model
        Explore shows."""
        key = self.encoder_key()
        info = self.context.info(self._current)
        mapping = mapping_families()
        if not key:
            note = texts.LATENT_MAP["no_encoder"].format(model=mapping)
        elif key in self._errors:
            note = f"<b>The map could not be made.</b> {self._errors[key]}"
        elif info is not None and not _has_encoder(info):
            note = texts.LATENT_MAP["not_encoder"].format(model=mapping)
        else:
            note = ""
        self.note.setText(note)
        self.note.setVisible(bool(note))
        for w in (self.plot, self.colour_by, self.legend, self.preview, self.hint):
            w.setVisible(bool(key))
        latent_map = self.maps.get(key)
        if latent_map is not None and self._shown != key:
            self._show_map(key, latent_map)
        elif latent_map is None and self._shown:
            self._shown = ""
            self.points.clear()
        self._place_marker()

    def _show_map(self, key: str, latent_map: LatentMap) -> None:
        self._shown = key
        names = latent_map.attribute_names
        scales = [scale_for(n, latent_map.attributes[:, i]) for i, n in enumerate(names)]
        wanted = self._chosen_attribute or names[_most_telling(latent_map)]
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        for s in scales:
            self.colour_by.addItem(s.label, s.name)
        self.colour_by.setCurrentIndex(max(0, self.colour_by.findData(wanted)))
        self.colour_by.blockSignals(False)
        self.points.setData(pos=latent_map.coords, data=np.arange(len(latent_map.coords)))
        self._apply_colours()
        share = latent_map.explained
        self.plot.setLabel("bottom", f"1st main direction · {share[0]:.0%}")
        self.plot.setLabel("left", f"2nd main direction · {share[1]:.0%}")
        self.plot.setRange(_bounds(latent_map.coords), padding=0.05)

    def _colour_chosen(self, _index: int) -> None:
        self._chosen_attribute = self.colour_by.currentData() or ""
        self._apply_colours()

    def _apply_colours(self) -> None:
        latent_map = self.maps.get(self._shown)
        name = self.colour_by.currentData()
        if latent_map is None or name not in latent_map.attribute_names:
            return
        values = latent_map.attributes[:, latent_map.attribute_names.index(name)]
        self._scale = scale_for(name, values)
        self.points.setBrush(brushes(self._scale, values))
        self.legend.set_scale(self._scale)

    def _place_marker(self) -> None:
        latent_map = self.maps.get(self._shown)
        info = self.context.info(self._current)
        usable = (latent_map is not None and self._latent is not None and info is not None
                  and info.key == self._shown and np.size(self._latent) == latent_map.mean.size)
        self.marker.setVisible(usable)
        if not usable:
            self._marker_xy = None
            return
        xy = latent_map.project(np.ravel(self._latent))
        self._marker_xy = xy
        self._placing = True  # a placement is not a drag: do not send it back to Explore
        self.marker.setPos(float(xy[0]), float(xy[1]))
        self._placing = False
        view = self.plot.getViewBox().viewRect()
        if self.isVisible() and not view.contains(QPointF(float(xy[0]), float(xy[1]))):  # never lose the target off the edge
            self.plot.setRange(view.united(_bounds(xy[None])), padding=0.05)

    # ------------------------------------------------------------------ the person's hand
    def _face_text(self, index: int) -> str:
        latent_map = self.maps.get(self._shown)
        if latent_map is None or self._scale is None:
            return f"Data-set face #{index}"
        value = float(latent_map.attributes[index, latent_map.attribute_names.index(self._scale.name)])
        return f"Data-set face #{index} · {describe(self._scale, value)}"

    def _tip(self, x: float, y: float, data) -> str:
        return self._face_text(int(data))

    def _hovered(self, _item, points, _event) -> None:
        latent_map = self.maps.get(self._shown)
        if len(points) == 0 or latent_map is None:
            self.preview.set_image(None)
            self.hint.setText(texts.LATENT_MAP["hint"])
            return
        index = int(points[0].data())
        if latent_map.thumbnails is not None:
            self.preview.set_image(latent_map.thumbnails[index])
        self.hint.setText(f"<b>{self._face_text(index)}</b><br>Click to bring this face into Explore.")

    def _clicked(self, _item, points, _event) -> None:
        if len(points):
            self.face_chosen.emit(int(points[0].data()))

    def _marker_moved(self, _marker) -> None:
        latent_map = self.maps.get(self._shown)
        if self._placing or latent_map is None or self._marker_xy is None:
            return
        pos = self.marker.pos()
        new = np.array([pos.x(), pos.y()], dtype=np.float32)
        delta = new - self._marker_xy
        self._marker_xy = new
        # The components are orthonormal, so this step in the latent space moves the projection by exactly `delta`.
        self.latent_dragged.emit((delta @ latent_map.components).astype(np.float32))


def _bounds(xy: np.ndarray) -> QRectF:
    low, high = xy.min(axis=0), xy.max(axis=0)
    return QRectF(float(low[0]), float(low[1]), float(max(high[0] - low[0], 1e-3)), float(max(high[1] - low[1], 1e-3)))


def _most_telling(latent_map: LatentMap) -> int:
    """The property the map's two axes predict best (largest R² of a straight-line fit): a colouring with a story."""
    x = np.column_stack([latent_map.coords, np.ones(len(latent_map.coords))]).astype(np.float64)
    best, best_r2 = 0, -1.0
    for i in range(latent_map.attributes.shape[1]):
        y = latent_map.attributes[:, i].astype(np.float64)
        var = y.var()
        if var <= 0:
            continue
        residual = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
        r2 = 1.0 - residual.var() / var
        if r2 > best_r2:
            best, best_r2 = i, r2
    return best


def _has_encoder(info: ModelInfo) -> bool:
    """Whether a loaded model can be placed on a map of its own (its family reads faces with an encoder)."""
    family = find_family(info.family)
    return family is not None and family.has_encoder
