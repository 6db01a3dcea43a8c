"""The Synthetic Faces renderer: attribute table, distributions, determinism, visible attributes."""

import colorsys
import re

import numpy as np
import pytest

from models.face_renderer import (
    ATTRIBUTE_NAMES,
    ATTRIBUTES,
    RENDERER_VERSION,
    face_rng,
    random_attributes,
    render_face,
    render_range,
)

INDEX = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}


def neutral() -> np.ndarray:
    """Every attribute in the middle of its range, no glasses."""
    a = np.array([(x.low + x.high) / 2 for x in ATTRIBUTES], np.float32)
    a[INDEX["glasses"]] = 0.0
    return a


def render(size=64, **values) -> np.ndarray:
    a = neutral()
    for name, value in values.items():
        a[INDEX[name]] = value
    return np.asarray(render_face(a, size)).astype(np.float32)


def test_attribute_table():
    assert len(ATTRIBUTES) >= 10
    assert ATTRIBUTE_NAMES == tuple(a.name for a in ATTRIBUTES)
    assert len(set(ATTRIBUTE_NAMES)) == len(ATTRIBUTE_NAMES)
    for a in ATTRIBUTES:
        assert re.fullmatch(r"[a-z][a-z_]*", a.name)
        assert a.low < a.high and a.label and a.low_words and a.high_words
    required = {"smile", "mouth_open", "skin_tone", "hair_color", "hair_length", "face_width", "eye_size",
                "eye_spacing", "gaze", "eyebrow_angle", "glasses", "head_tilt", "background_hue"}
    assert required <= set(ATTRIBUTE_NAMES)
    assert [a.name for a in ATTRIBUTES if a.binary] == ["glasses"]
    assert isinstance(RENDERER_VERSION, int)


def test_random_attributes_lie_within_their_ranges():
    draws = np.stack([random_attributes(face_rng(0, i)) for i in range(400)])
    assert draws.dtype == np.float32 and draws.shape == (400, len(ATTRIBUTES))
    for k, a in enumerate(ATTRIBUTES):
        assert draws[:, k].min() >= a.low and draws[:, k].max() <= a.high, a.name
        if not a.binary:  # varied: the draws spread over most of the range
            assert np.ptp(draws[:, k]) > 0.6 * (a.high - a.low), a.name
    glasses = draws[:, INDEX["glasses"]]
    assert set(np.unique(glasses)) == {0.0, 1.0}
    assert 0.2 < glasses.mean() < 0.4


def test_face_rng_is_the_documented_seed_sequence():
    # Pins NumPy's SeedSequence + PCG64 stream: the basis of "same face on every machine".
    np.testing.assert_array_equal(face_rng(0, 0).random(2), np.random.default_rng([0, 0]).random(2))
    np.testing.assert_allclose(face_rng(0, 0).random(2), [0.63696169, 0.26978671], atol=1e-8)


@pytest.mark.parametrize("seed, index, expected", [
    (0, 0, [0.27392340, 0.01141576, 0.81327021, 0.60663575, 0.54362500, 0.81585354, 0.85740429,
            0.72965544, 0.72635782, -0.40057623, 1.0, 0.31781387, 0.49230811, 0.79776794, 0.68554199]),
    (7, 12345, [0.98545218, 0.70741105, 0.21766719, 0.60315925, 0.13766795, 0.92601812, 0.42374051,
                0.91615456, 0.54778111, 0.40143239, 0.0, -0.15021944, 0.21582678, 0.09419329, 0.88171202]),
])
def test_golden_attributes(seed, index, expected):
    np.testing.assert_allclose(random_attributes(face_rng(seed, index)), expected, atol=1e-6)


def test_render_is_deterministic_and_sized():
    a = random_attributes(face_rng(3, 9))
    for size in (16, 32, 64, 128):
        image = render_face(a, size)
        assert image.mode == "RGB" and image.size == (size, size)
    np.testing.assert_array_equal(np.asarray(render_face(a, 32)), np.asarray(render_face(a.copy(), 32)))


def test_render_range_matches_single_faces():
    images, attributes = render_range(2, 5, 8, 32)
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.uint8
    for k, index in enumerate(range(5, 8)):
        a = random_attributes(face_rng(2, index))
        np.testing.assert_array_equal(attributes[k], a)
        np.testing.assert_array_equal(images[k].transpose(1, 2, 0), np.asarray(render_face(a, 32)))


def test_render_rejects_bad_vectors_and_clips_out_of_range_values():
    with pytest.raises(ValueError):
        render_face(np.zeros(3, np.float32))
    with pytest.raises(ValueError):
        render_face(np.full(len(ATTRIBUTES), np.nan, np.float32))
    wild = np.full(len(ATTRIBUTES), 99.0, np.float32)
    clipped = np.array([a.high for a in ATTRIBUTES], np.float32)
    np.testing.assert_array_equal(np.asarray(render_face(wild, 32)), np.asarray(render_face(clipped, 32)))


@pytest.mark.parametrize("attribute", ATTRIBUTES, ids=ATTRIBUTE_NAMES)
@pytest.mark.parametrize("size", [32, 64])
def test_every_attribute_visibly_changes_the_face(attribute, size):
    low = render(size, **{attribute.name: attribute.low})
    high = render(size, **{attribute.name: attribute.high})
    difference = np.abs(low - high)
    assert difference.mean() > 0.1, attribute.name
    assert (difference.max(axis=2) > 24).sum() >= 3, attribute.name  # a few clearly changed pixels


def brightness(image, rows, cols):
    return image[rows, cols].mean()


def test_attributes_change_the_face_in_the_named_direction():
    s = slice
    # Skin: the cheek gets darker.
    assert brightness(render(128, skin_tone=1.0), s(62, 66), s(40, 44)) < \
        brightness(render(128, skin_tone=0.0), s(62, 66), s(40, 44)) - 60
    # Hair colour: black is darker than grey at the top of the head.
    assert brightness(render(128, hair_color=0.0), s(24, 30), s(56, 72)) < \
        brightness(render(128, hair_color=1.0), s(24, 30), s(56, 72)) - 80

    def dark_centroid_x(image, rows, cols):
        dark = image[rows, cols].mean(axis=2) < 60
        return np.nonzero(dark)[1].mean()

    # Gaze: the pupils move right when looking right.
    assert dark_centroid_x(render(128, gaze=1.0), s(50, 64), s(20, 108)) > \
        dark_centroid_x(render(128, gaze=-1.0), s(50, 64), s(20, 108)) + 2

    def hair_centroid_x(image):
        top = image[10:40]
        hairy = np.abs(top - image[10:40, :1]).sum(axis=2) > 60  # differs from the background
        return np.nonzero(hairy)[1].mean()

    # Head tilt: the top of the head moves right when tilted right.
    assert hair_centroid_x(render(128, head_tilt=1.0)) > hair_centroid_x(render(128, head_tilt=-1.0)) + 10

    def white_pixels(image):
        return (image.min(axis=2) > 235).sum()

    assert white_pixels(render(128, eye_size=1.0)) > 1.5 * white_pixels(render(128, eye_size=0.0))
    # Open mouth: more dark pixels around the mouth.
    mouth = (s(70, 100), s(44, 84))
    assert (render(128, mouth_open=1.0)[mouth].mean(axis=2) < 100).sum() > \
        (render(128, mouth_open=0.0)[mouth].mean(axis=2) < 100).sum() + 40
    # Long hair reaches the shoulders: the sides at chin height are no longer background.
    side = (s(80, 90), s(32, 38))
    assert np.abs(render(128, hair_length=1.0)[side] - render(128, hair_length=0.0)[side]).mean() > 40
    # Background hue: the corner goes from red towards purple.
    def corner_hue(image):
        return colorsys.rgb_to_hsv(*(image[2, 2] / 255))[0]
    assert corner_hue(render(64, background_hue=0.0)) < 0.05
    assert 0.7 < corner_hue(render(64, background_hue=0.8)) < 0.9
