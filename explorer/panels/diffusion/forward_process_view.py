"""The forward (noising) process on a real face: drag t, see q(x_t | x_0) and how much signal is left.

A pixel model's noising is drawn here in closed form (no model runs). A model that diffuses in a latent needs its
encoder and decoder, so the worker encodes the face, noises the latent to t and decodes it (a request per t); the
view then also shows the noisy latent's channels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer import texts
from explorer.app_context import AppContext
from explorer.panels.diffusion.latent_channels import ChannelStrip
from explorer.widgets.pixel_image import PixelImage
from explorer.worker.requests import Endpoint, ForwardNoise, ForwardNoised, ModelInfo, Result


def noised(face: np.ndarray, noise: np.ndarray, signal_level: float, noise_level: float) -> np.ndarray:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, shown as uint8 (H, W, 3): the forward process in closed form."""
    x0 = face.astype(np.float32) / 127.5 - 1.0
    x = signal_level * x0 + noise_level * noise
    return ((np.clip(x, -1, 1) + 1) * 127.5).round().astype(np.uint8)


class ForwardProcessView(QGroupBox):
    opened = Signal(bool)  # its content shown or folded away (presenter mode's button)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__("The forward process: adding noise to a real face", parent)
        self.context = context
        self.info: ModelInfo | None = None
        self.face: np.ndarray | None = None
        self.noise: np.ndarray | None = None
        self.latent: bool | None = None  # the model diffuses a latent (known from the worker's first answer)
        self._foldable = False
        self._source = Endpoint("face", 0)
        self._request = 0
        self.face_index = QSpinBox()
        self.face_index.setRange(0, 1_000_000)
        self.face_index.setPrefix("data-set face #")
        self.t = QSlider(Qt.Orientation.Horizontal)
        self.t.setRange(0, 999)
        self.t.setValue(250)
        self.t.setToolTip("The time step t: how many small doses of noise have been added.")
        self.t_label = QLabel("")
        self.t_label.setTextFormat(Qt.TextFormat.PlainText)  # an error may quote a file name: never markup
        self.t_label.setMinimumWidth(260)
        self.image = PixelImage("Open a diffusion model to see its noise.", 128)
        self.channels = ChannelStrip("z_t, channel by channel", 28)
        self.channels.hide()
        self.plot = pg.PlotWidget()
        self.plot.setBackground(None)
        self.plot.setMinimumHeight(150)
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setLabel("bottom", "time step t")
        self.plot.setLabel("left", "level")
        self.signal_curve = self.plot.plot(pen=pg.mkPen("#2b7bb9", width=3), name="signal left √ᾱₜ")
        self.noise_curve = self.plot.plot(pen=pg.mkPen("#d9534f", width=3), name="noise √(1−ᾱₜ)")
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", width=2, style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.marker)
        self.plot.setMouseEnabled(x=False, y=False)
        controls = QHBoxLayout()
        controls.addWidget(self.face_index)
        controls.addWidget(QLabel("t"))
        controls.addWidget(self.t, 1)
        controls.addWidget(self.t_label)
        body = QHBoxLayout()
        body.addWidget(self.image, 1)
        body.addWidget(self.channels, 1)
        body.addWidget(self.plot, 2)
        # On a projector the box folds to its title and a button: the reverse process above gets the height.
        self.unfold = QToolButton()
        self.unfold.setCheckable(True)
        self.unfold.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.unfold.toggled.connect(self._unfolded)
        self.unfold.hide()
        self._content = QWidget()
        content = QVBoxLayout(self._content)
        content.setContentsMargins(0, 0, 0, 0)
        content.addLayout(controls)
        content.addLayout(body)
        self.note = QLabel(texts.LATENT_DIFFUSION_TAB["forward_note"])
        self.note.setWordWrap(True)
        self.note.hide()
        content.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.addWidget(self.unfold, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._content)
        self.face_index.valueChanged.connect(lambda _: self._face_chosen(Endpoint("face", self.face_index.value())))
        self.t.valueChanged.connect(lambda _: self._t_moved())
        context.result.connect(self._on_result)

    def set_foldable(self, foldable: bool) -> None:
        """Presenter mode: folded to one line, with a button that opens it (and without the latent's note, whose
        words the captions and the explanation also say: a projector's height goes to the pictures)."""
        self._foldable = foldable
        self.note.setVisible(bool(self.latent) and not foldable)
        self.unfold.setVisible(foldable)
        self.unfold.setChecked(not foldable)
        self._unfolded(not foldable)

    def _unfolded(self, shown: bool) -> None:
        # Opened on a projector, it shares the height with the reverse process above: both take smaller minimums,
        # set before it is shown (shown first, it would make the window grow past the screen, and stay so).
        squeezed = shown and self._foldable
        self.plot.setMinimumHeight(80 if squeezed else 150)
        self.image.set_minimum(80 if squeezed else 128)
        self.opened.emit(shown)
        self._content.setVisible(shown)
        self.unfold.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        folded = texts.LATENT_DIFFUSION_TAB["forward_unfold"] if self.latent else \
            "Show: drag t and watch a real face drown in noise"
        self.unfold.setText("Hide" if shown else folded)

    def set_model(self, info: ModelInfo | None) -> None:
        self.info = info
        self.latent = None
        self._show_latent(False)
        if info is None or info.signal is None:
            self.signal_curve.setData([], [])
            self.noise_curve.setData([], [])
            self.image.set_image(None)
            return
        steps = np.arange(len(info.signal))
        self.signal_curve.setData(steps, info.signal)
        self.noise_curve.setData(steps, info.noise)
        self.t.setRange(0, len(info.signal) - 1)
        rng = np.random.default_rng(0)  # the same noise for every t: only its amount changes
        self.noise = rng.standard_normal((info.image_size, info.image_size, 3)).astype(np.float32)
        self._request_face()

    def _face_chosen(self, source: Endpoint) -> None:
        self._source = source
        self._request_face()

    def _request_face(self) -> None:
        """Ask the worker for the face (and, for a latent model, its noised latent at the current t)."""
        if self.info is not None and self.info.signal is not None:
            self._request = self.context.submit(ForwardNoise(self.info.key, self._source, self.t.value()))

    def use_image(self, path: str) -> None:
        self._face_chosen(Endpoint("image", path=path))

    def _t_moved(self) -> None:
        if self.latent:
            self._request_face()  # the worker's newest request wins: a drag asks for the last t it reached
        else:
            self._redraw()

    def _on_result(self, result: Result) -> None:
        if result.request_id != self._request:
            return
        if result.error:
            self.t_label.setText(f"Could not load that face: {result.error}")
            return
        assert isinstance(result, ForwardNoised)
        self.face = result.face
        latent = result.latent is not None
        if latent != self.latent:
            self.latent = latent
            self._show_latent(latent)
        if latent:
            self._show_noised_latent(result)
        else:
            self._redraw()

    def _show_latent(self, on: bool) -> None:
        self.channels.setVisible(on)
        self.setTitle("The forward process in the latent: noising a real face's latent" if on
                      else "The forward process: adding noise to a real face")
        self.note.setVisible(on and not self._foldable)
        self._unfolded(self.unfold.isChecked() or self.unfold.isHidden())  # hidden: not foldable, so open

    def _show_noised_latent(self, result: ForwardNoised) -> None:
        info, t = self.info, result.t
        self.image.set_image(result.decoded)
        self.channels.set_latent(result.noisy)
        self.marker.setValue(t)
        s, n = float(info.signal[t]), float(info.noise[t])
        self.t_label.setText(texts.LATENT_DIFFUSION_TAB["forward"].format(t=t, signal=s * s * 100,
                                                                          noise=n * n * 100))

    def _redraw(self) -> None:
        info, t = self.info, self.t.value()
        if info is None or info.signal is None or self.face is None or self.noise is None or self.latent:
            return
        s, n = float(info.signal[t]), float(info.noise[t])
        self.image.set_image(noised(self.face, self.noise, s, n))
        self.marker.setValue(t)
        self.t_label.setText(f"t = {t}: {s * s * 100:.0f}% of the power is face, {n * n * 100:.0f}% is noise")
