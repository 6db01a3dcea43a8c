"""The feature network: shapes, training that learns, safe save/load, and the shipped network's quality."""

import pytest
import torch

from models.checkpoint import save_checkpoint
from models.data import synthetic_faces
from models.face_renderer import ATTRIBUTE_NAMES, ATTRIBUTES
from models.feature_net import (
    DEFAULT_FEATURE_NET,
    FeatureNet,
    FeatureNetConfig,
    FeatureNetError,
    attribute_scores,
    evaluate_feature_net,
    load_feature_net,
    predict_set,
    save_feature_net,
    train_feature_net,
)
from models.vae import VAE
from tests.models.tiny import tiny_vae


@pytest.fixture(scope="module")
def trained():
    """A small net trained briefly on 480 tiny faces, and 200 held-out ones."""
    train, held_out = synthetic_faces(480, 16, seed=0), synthetic_faces(200, 16, seed=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: on a busy machine, threads waiting for each other cost 20x
    try:
        events = list(train_feature_net(train, held_out, epochs=4, batch_size=32, lr=3e-3,
                                        config=FeatureNetConfig(channels=(8, 16, 32), feature_dim=64)))
    finally:
        torch.set_num_threads(threads)
    return events, held_out


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_any_image_size_gives_features_and_attributes_in_range(size):
    net = FeatureNet().eval()
    images = torch.rand(3, 3, size, size) * 2 - 1
    assert net.features(images).shape == (3, net.feature_dim)
    predicted = net.predict(images)
    assert predicted.shape == (3, len(ATTRIBUTES))
    for i, attribute in enumerate(ATTRIBUTES):
        assert attribute.low <= predicted[:, i].min() and predicted[:, i].max() <= attribute.high


def test_attribute_scores_are_one_for_perfect_predictions():
    faces = synthetic_faces(64, 16, seed=3)
    scores = attribute_scores(faces.attributes, faces.attributes)
    assert list(scores) == list(ATTRIBUTE_NAMES)
    assert all(v == pytest.approx(1.0) for v in scores.values())


def test_training_reports_progress_and_ends_with_the_net_and_held_out_scores(trained):
    events, held_out = trained
    steps = [e.done for e in events]
    assert steps == sorted(steps) and events[-1].done == events[-1].total == 4 * 15
    assert isinstance(events[-1].result, FeatureNet) and all(e.result is None for e in events[:-1])
    epoch_ends = [e.message for e in events if "held-out mean R²" in e.message]
    assert len(epoch_ends) == 4 and all("glasses accuracy" in m for m in epoch_ends)
    assert set(evaluate_feature_net(events[-1].result, held_out)) == set(ATTRIBUTE_NAMES)


def test_a_briefly_trained_net_reads_easy_attributes(trained):
    events, held_out = trained
    predicted = predict_set(events[-1].result, held_out)
    for name in ("skin_tone", "background_hue"):
        i = ATTRIBUTE_NAMES.index(name)
        corr = torch.corrcoef(torch.stack([predicted[:, i], held_out.attributes[:, i]]))[0, 1]
        assert corr > 0.5, name


def test_save_and_load_round_trip_gives_identical_outputs(tmp_path, trained):
    net = trained[0][-1].result
    card = {"command": "test", "held_out_scores": {"skin_tone": 0.5}}
    path = save_feature_net(tmp_path / "f.safetensors", net, card)
    loaded, loaded_card = load_feature_net(path)
    images = trained[1].batch(range(8))
    assert loaded_card == card and not loaded.training
    assert torch.equal(loaded.features(images), net.eval().features(images))
    assert torch.equal(loaded.predict(images), net.predict(images))


def test_damaged_or_foreign_files_raise_one_clear_error(tmp_path):
    path = save_feature_net(tmp_path / "f.safetensors", FeatureNet(), {})
    data = path.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "garbage": b"\x00" * 100, "empty": b"",
             "text": b"hello, I am not a network"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(FeatureNetError, match=name):
            load_feature_net(tmp_path / name)
    save_checkpoint(tmp_path / "vae.safetensors", VAE(tiny_vae()))
    with pytest.raises(FeatureNetError, match="not a feature network"):
        load_feature_net(tmp_path / "vae.safetensors")
    with pytest.raises(FeatureNetError, match="no feature network"):
        load_feature_net(tmp_path / "missing.safetensors")


@pytest.mark.skipif(not DEFAULT_FEATURE_NET.exists(), reason="the shipped feature network has not been made")
@pytest.mark.parametrize("size", [32, 64, 128])
def test_the_shipped_network_reads_faces_drawn_at_every_model_size(size):
    """A 64 px face is shrunk to 32 px before it is read; a net that saw only 32 px renders was blind to glasses
    there (accuracy 0.70: it said "no" to every pair) and read smiles with R² 0.20."""
    net, card = load_feature_net()
    scores = evaluate_feature_net(net, synthetic_faces(400, size, seed=1))
    assert scores["glasses"] > 0.95
    for name in ("skin_tone", "hair_color", "mouth_open", "face_width", "gaze", "smile"):
        assert scores[name] > 0.6, name
    assert card["held_out_scores_by_size"][str(size)]["glasses"] > 0.95
    assert DEFAULT_FEATURE_NET.stat().st_size < 5_000_000


def test_faces_shrunk_for_the_net_match_what_it_does_to_them():
    from models.feature_net import as_input, joined, resize_for_features
    faces = synthetic_faces(8, 64, seed=2)
    shrunk = as_input(faces)
    assert shrunk.image_size == 32 and torch.equal(shrunk.attributes, faces.attributes)
    assert (shrunk.batch(range(8)) - resize_for_features(faces.batch(range(8)))).abs().max() <= 1 / 127.5 + 1e-6
    both = joined([shrunk, synthetic_faces(4, 32, seed=2)])
    assert len(both) == 12 and both.image_size == 32
