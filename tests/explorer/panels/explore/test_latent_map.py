"""The latent map: the job that places held-out faces with the VAE's encoder, and the view beside Explore's face."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QObject, QPointF, Qt, Signal

from explorer.panels.explore.panel import ExplorePanel
from explorer.worker import latent_map_jobs
from explorer.worker.inference_jobs import (
    JOBS,
    ModelStore,
    NoControl,
    endpoint_pixels,
    error_text,
)
from explorer.worker.latent_map_jobs import LatentMap, MapLatents, fit_pca, map_latents
from explorer.worker.requests import (
    Encoded,
    EncodeImage,
    Endpoint,
    LoadModel,
    ModelInfo,
    Step,
)
from models.data import HELD_OUT_SEED, synthetic_faces
from models.face_renderer import ATTRIBUTE_NAMES
from models.family import get_family
from tests.explorer.conftest import key_of, ready_model
from tests.qt_wait import settle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FACES = 60


def run(store, request, control=None):
    items = list(map_latents(store, request, control or NoControl()))
    return [i for i in items if isinstance(i, Step)], items[-1]


@pytest.fixture()
def store(tiny_checkpoints, monkeypatch, tmp_path):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))  # each test starts with no map cached
    monkeypatch.setattr(latent_map_jobs, "MAP_BATCH", 25)
    store = ModelStore(torch.device("cpu"))
    keys = {}
    for family, path in tiny_checkpoints.items():
        loaded = list(JOBS[LoadModel](store, LoadModel(path), NoControl()))[-1]
        keys[family] = loaded.info.key
    return store, keys


# ------------------------------------------------------------------------------------------------ the job
def test_the_map_has_one_dot_per_held_out_face_with_its_true_properties(store):
    store, keys = store
    steps, result = run(store, MapLatents(keys["vae"], faces=FACES))
    assert isinstance(result, LatentMap) and result.error is None and not result.stopped
    assert result.coords.shape == (FACES, 2) and result.coords.dtype == np.float32
    truth = synthetic_faces(FACES, 16, HELD_OUT_SEED)
    np.testing.assert_array_equal(result.attributes, truth.attributes.numpy())
    assert result.attribute_names == ATTRIBUTE_NAMES
    assert result.thumbnails.shape == (FACES, 16, 16, 3) and result.thumbnails.dtype == np.uint8
    np.testing.assert_allclose(result.components @ result.components.T, np.eye(2), atol=1e-5)
    assert 0 < result.explained[1] <= result.explained[0] and sum(result.explained) <= 1 + 1e-6
    encoding = [s.progress.done for s in steps if s.progress.done]
    assert encoding == [25, 50, 60], "progress after every batch"


def test_a_face_brought_into_explore_lands_exactly_on_its_dot(store):
    store, keys = store
    _, result = run(store, MapLatents(keys["vae"], faces=FACES))
    for index in (0, 7, FACES - 1):
        # Explore's "bring in" draws the face with endpoint_pixels: it must be the very face the map encoded.
        np.testing.assert_array_equal(endpoint_pixels(Endpoint("face", index), 16), result.thumbnails[index])
        encoded = list(JOBS[EncodeImage](store, EncodeImage(keys["vae"], None, Endpoint("face", index)),
                                         NoControl()))[-1]
        assert isinstance(encoded, Encoded)
        np.testing.assert_allclose(result.project(encoded.latent), result.coords[index], atol=1e-4)
    np.testing.assert_allclose(result.project(np.zeros((3, 4), np.float32)),
                               np.tile(-result.mean @ result.components.T, (3, 1)), atol=1e-6)


def test_stop_keeps_the_faces_encoded_so_far_and_is_not_cached(store):
    store, keys = store

    class StopAfterTwoBatches:
        calls = 0

        def stop_requested(self) -> bool:
            self.calls += 1
            return self.calls > 2

    _, stopped = run(store, MapLatents(keys["vae"], faces=FACES), StopAfterTwoBatches())
    assert stopped.stopped and stopped.coords.shape == (50, 2) and stopped.attributes.shape[0] == 50
    steps, full = run(store, MapLatents(keys["vae"], faces=FACES))
    assert not full.stopped and full.coords.shape == (FACES, 2)
    encoded = [s.progress.done for s in steps if s.progress.done]
    assert encoded == [25, 50, 60], "a stopped map must not be cached as a whole one"


def test_a_second_map_of_the_same_checkpoint_file_comes_from_the_cache(store):
    store, keys = store
    _, first = run(store, MapLatents(keys["vae"], faces=FACES))
    steps, second = run(store, MapLatents(keys["vae"], faces=FACES))
    assert [s.progress.done for s in steps] == [0], "nothing encoded the second time"
    np.testing.assert_allclose(second.coords, first.coords, atol=1e-6)


def test_only_a_model_with_an_encoder_can_be_mapped(store):
    store, keys = store
    for family in ("gan", "diffusion"):
        with pytest.raises(LookupError) as caught:
            run(store, MapLatents(keys[family], faces=FACES))
        assert "choose a VAE" in error_text(caught.value)


def test_any_family_with_an_encoder_can_be_mapped(store, fourth_checkpoint):
    """Not only the VAE: a family registered by the test whose encoder gives a posterior is mapped the same way."""
    store, _ = store
    key = list(JOBS[LoadModel](store, LoadModel(fourth_checkpoint), NoControl()))[-1].info.key
    _, result = run(store, MapLatents(key, faces=FACES))
    assert isinstance(result, LatentMap) and result.coords.shape == (FACES, 2)


def test_pca_finds_the_widest_directions_with_a_fixed_sign():
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(4000, 4)) * np.array([3.0, 2.0, 1.0, 0.5]) + 5.0
    mean, components, explained = fit_pca(latents)
    np.testing.assert_allclose(mean, 5.0, atol=0.2)
    np.testing.assert_allclose(np.abs(components), np.eye(4)[:2], atol=0.05)
    assert components[0, 0] > 0 and components[1, 1] > 0
    np.testing.assert_allclose(explained, (9 / 14.25, 4 / 14.25), atol=0.03)
    again = fit_pca(-latents)[1]
    np.testing.assert_allclose(again, components, atol=0.05)  # mirrored data, same orientation of the map


# ------------------------------------------------------------------------------------------------ the view
@pytest.fixture()
def small_maps(monkeypatch):
    monkeypatch.setattr(latent_map_jobs, "MAP_FACES", 120)


def ready_map(qtbot, context, panel):
    key = ready_model(qtbot, context, "vae")
    panel.show_map(True)
    qtbot.waitUntil(lambda: key in panel.map_view.maps, timeout=60_000)
    settle(qtbot, context)
    return key, panel.map_view


def marker_xy(view) -> np.ndarray:
    pos = view.marker.pos()
    return np.array([pos.x(), pos.y()])


def lonely_dot(view) -> tuple[int, QPointF]:
    """A dot far from the others and from the target (so a click can only mean it), and where it is on screen."""
    coords = view.maps[view._shown].coords
    screen = np.array([[p.x(), p.y()] for p in (view.plot.mapFromScene(view.points.mapToScene(QPointF(*map(float, c))))
                                                 for c in coords)])
    gaps = np.linalg.norm(screen[:, None] - screen[None], axis=-1) + np.eye(len(screen)) * 1e9
    target = view.plot.mapFromScene(view.marker.mapToScene(QPointF(0, 0)))
    away = np.linalg.norm(screen - [target.x(), target.y()], axis=-1)
    index = int(np.argmax(np.minimum(gaps.min(axis=1), away)))
    return index, QPointF(*screen[index]).toPoint()


def test_the_map_is_computed_only_when_opened(context, panel_of, qtbot, small_maps):
    panel = panel_of(ExplorePanel)
    ready_model(qtbot, context, "vae")
    view = panel.map_view
    assert not view.maps and not view._pending and not view.isVisible()
    panel.map_button.click()
    assert view.isVisible() and view._pending, "opening the map asks the worker for it"
    qtbot.waitUntil(lambda: bool(view.maps), timeout=60_000)
    assert len(view.points.data) == 120
    assert view.colour_by.count() == len(ATTRIBUTE_NAMES) and view.colour_by.findText("Glasses") >= 0
    context.weights_replaced.emit(next(iter(view.maps)))  # a training run saved new weights
    assert view._pending and len(view.points.data) == 120, "mapped again; the old map stays meanwhile"
    qtbot.waitUntil(lambda: not view._pending, timeout=60_000)
    assert len(view.points.data) == 120 and not view.note.isVisible()


def test_the_target_follows_the_sliders_and_dragging_it_moves_the_face(context, panel_of, qtbot, small_maps):
    panel = panel_of(ExplorePanel)
    key, view = ready_map(qtbot, context, panel)
    latent_map = view.maps[key]
    assert view.marker.isVisible()
    np.testing.assert_allclose(marker_xy(view), latent_map.project(panel.state.latent()), atol=1e-4)
    before = marker_xy(view)
    slider = panel.principal_bank.names()[0]
    with qtbot.assertNotEmitted(view.latent_dragged):  # following the sliders is not a drag: no echo back
        panel.principal_bank.sliders[slider].setValue(2.5)
    moved = marker_xy(view)
    assert np.linalg.norm(moved - before) > 1e-3
    np.testing.assert_allclose(moved, latent_map.project(panel.state.latent()), atol=1e-4)
    settle(qtbot, context)
    image = panel.image.image().copy()
    view.marker.setPos(float(moved[0]) + 1.0, float(moved[1]) - 0.5)  # what a drag of the target does
    np.testing.assert_allclose(latent_map.project(panel.state.latent()), moved + [1.0, -0.5], atol=1e-4)
    settle(qtbot, context)
    assert not np.array_equal(image, panel.image.image()), "the face follows the target"
    panel.principal_bank.sliders[slider].setValue(0.0)  # the slider still means what it did: only its part goes
    np.testing.assert_allclose(marker_xy(view), before + [1.0, -0.5], atol=1e-4)


def test_clicking_a_dot_brings_that_face_in_and_the_target_lands_on_it(context, panel_of, qtbot, small_maps,
                                                                         monkeypatch):
    panel = panel_of(ExplorePanel)
    key, view = ready_map(qtbot, context, panel)
    index, where = lonely_dot(view)
    qtbot.mouseMove(view.plot.viewport(), where)
    qtbot.waitUntil(lambda: f"#{index}" in view.hint.text(), timeout=5_000)
    np.testing.assert_array_equal(view.preview.image(), view.maps[key].thumbnails[index])
    asked = []
    real_bring_in = panel.bring_in
    monkeypatch.setattr(panel, "bring_in", lambda source: (asked.append(source), real_bring_in(source)))
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert asked == [Endpoint("face", index)]
    assert panel.face_index.value() == index
    settle(qtbot, context)
    assert panel.encoded.isVisible()
    np.testing.assert_allclose(marker_xy(view), view.maps[key].coords[index], atol=1e-3)


def test_another_family_gets_a_note_and_no_target(context, panel_of, qtbot, small_maps):
    key, view = ready_map(qtbot, context, panel_of(ExplorePanel))
    gan = key_of(context, "gan")
    context.set_current(gan)
    assert view.note.isVisible() and "choose the VAE" in view.note.text()
    assert not view.marker.isVisible()
    assert view.plot.isVisible() and view._shown == key, "the VAE's map stays to be looked at and clicked"
    view.set_latent(gan, np.zeros(view.maps[key].mean.size, np.float32))
    assert not view.marker.isVisible(), "another model's numbers mean nothing on the VAE's map"
    context.set_current(key)
    assert not view.note.isVisible() and view.marker.isVisible()


class _FakeContext(QObject):
    """Just what the map view uses of AppContext: no worker, requests are only recorded."""
    result, progress = Signal(object), Signal(object)
    models_changed, weights_replaced = Signal(), Signal(str)

    def __init__(self, vae: ModelInfo | None = None):
        super().__init__()
        self.vae, self.submitted = vae, []

    def first_model(self, where):
        return self.vae if self.vae is not None and where(get_family(self.vae.family)) else None

    def info(self, key=None):
        return self.vae if self.vae is not None and key == self.vae.key else None

    def submit(self, request):
        self.submitted.append(request)
        return request.id


def _fake_map(request_id: int, faces: int = 30) -> LatentMap:
    latents = np.random.default_rng(request_id).normal(size=(faces, 4)).astype(np.float32)
    mean, components, explained = fit_pca(latents)
    attributes = np.random.default_rng(0).random((faces, len(ATTRIBUTE_NAMES))).astype(np.float32)
    return LatentMap(request_id, "MapLatents:vae", model="vae", coords=(latents - mean) @ components.T,
                     attributes=attributes, attribute_names=ATTRIBUTE_NAMES, mean=mean, components=components,
                     explained=explained)


def test_without_a_vae_the_map_says_how_to_get_one(qtbot):
    from explorer.panels.explore.map_view import LatentMapView
    context = _FakeContext()
    view = LatentMapView(context)
    qtbot.addWidget(view)
    view.show()
    view.set_latent("", None)
    assert view.note.isVisible() and "No VAE or VAE-GAN is loaded" in view.note.text()
    assert not view.plot.isVisible() and not view.marker.isVisible()
    assert context.submitted == [], "nothing to map"


def test_new_weights_while_mapping_replace_the_request(qtbot):
    from explorer.panels.explore.map_view import LatentMapView
    vae = ModelInfo(key="vae", path="vae", family="vae", family_name="VAE", label="VAE", description="",
                    image_size=16, latent_shape=(4,), synthetic_faces=True, parameters=0)
    context = _FakeContext(vae)
    view = LatentMapView(context)
    qtbot.addWidget(view)
    view.show()
    assert [r.model for r in context.submitted] == ["vae"], "shown, so mapped"
    context.weights_replaced.emit("vae")
    old, new = context.submitted
    assert new.id > old.id
    context.result.emit(_fake_map(old.id))
    assert not view.maps, "the map of the old weights is not drawn"
    context.result.emit(_fake_map(new.id))
    assert len(view.points.data) == 30 and not view.progress.isVisible()
    view.set_latent("vae", np.zeros(4, np.float32))
    assert view.marker.isVisible()
