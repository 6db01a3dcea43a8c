"""What a direction measurably does: words from measured changes, unique names, named sliders that really move."""

from types import SimpleNamespace

import pytest
import torch

from models.direction_effects import (
    MIN_ATTRIBUTE_CHANGE,
    MORE,
    NAME_MIN,
    Effect,
    hue_name,
    measure_effects,
    real_spread,
    reference_faces,
    telling,
    unique_words,
)
from models.directions import Direction, keep_measured, name_principal
from models.face_regions import REGIONS, region_colours, region_weights
from models.face_renderer import ATTRIBUTE_NAMES
from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net
from tests.models.tiny import DrawnFaces

pytestmark = pytest.mark.usefixtures("one_thread")

SEEDS = range(12)


@pytest.fixture(scope="module")
def drawn():
    return DrawnFaces(32)


@pytest.fixture(scope="module")
def feature_net():
    return load_feature_net(DEFAULT_FEATURE_NET)[0].eval()  # the shipped one: it must really read the faces


def axis(*weights: tuple[str, float]) -> torch.Tensor:
    """A unit latent direction of DrawnFaces that moves the named attributes by these weights."""
    v = torch.zeros(len(ATTRIBUTE_NAMES))
    for name, w in weights:
        v[ATTRIBUTE_NAMES.index(name)] = w
    return v / v.norm()


def measured(model, vectors, net=None, regions=True):
    spread = real_spread(reference_faces(model.image_size), net, model.image_size, regions)
    work = measure_effects(model, [SimpleNamespace(vector=v, scale=1.0) for v in vectors], net, spread, seeds=SEEDS,
                           regions=regions)
    while True:
        try:
            next(work)
        except StopIteration as finished:
            return finished.value


def effect(quantity, size, low, high, values=None):
    return Effect(quantity, quantity.replace("_", " "), size, low, high, values)


# --------------------------------------------------------------------------------------------- regions

def test_regions_are_where_each_colour_is_drawn():
    weights = region_weights(32)
    assert weights.shape == (len(REGIONS), 32, 32)
    assert torch.allclose(weights.flatten(1).sum(1), torch.ones(len(REGIONS)))
    assert ((weights > 0).sum(0) <= 1).all()  # no pixel belongs to two regions
    rows = [float((w.sum(1) * torch.arange(32)).sum()) for w in weights]  # each region's mean row
    where = dict(zip(REGIONS, rows))
    assert where["hair"] < where["skin"] < where["shirt"]  # crown, lower face, below the neck
    assert weights[list(REGIONS).index("background"), 0, 0] > 0  # the corner is background


def test_region_colours_read_the_background_of_a_drawn_face(drawn):
    z = torch.zeros(1, len(ATTRIBUTE_NAMES))
    image = drawn.decode(z)
    colours = region_colours(image, region_weights(32))[0]
    corner = (image[0, :, 1, 1] + 1) / 2
    assert torch.allclose(colours[list(REGIONS).index("background")], corner, atol=0.12)


def test_hue_names():
    assert [hue_name(c) for c in ((0.9, 0.2, 0.2), (0.95, 0.9, 0.3), (0.3, 0.4, 0.9), (0.5, 0.5, 0.52))] == \
           ["red", "yellow", "blue", "grey"]


# --------------------------------------------------------------------------------------------- words

def test_a_model_of_other_pictures_gets_no_words_about_a_faces_regions(drawn, feature_net):
    """Regions are where Synthetic Faces have their background, skin, hair and shirt: meaningless elsewhere."""
    found, = measured(drawn, [axis(("skin_tone", 1.0))], feature_net, regions=False)
    assert found and not [e for e in found if "." in e.quantity]  # attributes only, no "skin.lightness"
    with_regions, = measured(drawn, [axis(("skin_tone", 1.0))], feature_net)
    assert [e for e in with_regions if e.quantity == "skin.lightness"]


def test_a_main_directions_words_follow_the_measured_sign(drawn):
    skin, reverse = measured(drawn, [axis(("skin_tone", 1.0)), axis(("skin_tone", -1.0))])
    (up_low, up_high), = unique_words([telling(skin)])
    (down_low, down_high), = unique_words([telling(reverse)])
    assert "darker skin" in up_high and "lighter skin" in up_low  # the renderer's skin darkens as skin_tone grows
    assert (down_low, down_high) == (up_high, up_low)


def test_a_colour_is_named_by_the_colour_each_end_shows(drawn):
    # Background hue runs red (0) -> purple (0.8): the low end shows red-orange, the high end blue-purple. Each
    # end's words name the hue of that end's own faces, read here from the corner pixels.
    found, = measured(drawn, [axis(("background_hue", 1.0))])
    colour = next(e for e in found if e.quantity == "background.colour")
    assert colour.size >= NAME_MIN
    ends = []
    for sign in (-2, 2):
        images = drawn.decode(drawn.latents_for_seeds(SEEDS) + sign * axis(("background_hue", 1.0)))
        ends.append(hue_name(((images[:, :, 0, 0] + 1) / 2).mean(0)))
    assert ends[0] != ends[1]
    assert (colour.low_words, colour.high_words) == (f"{MORE[ends[0]]} background", f"{MORE[ends[1]]} background")


def test_no_two_main_directions_get_the_same_name(drawn):
    # Two directions that both mostly darken the hair; the second also changes the shirt. A third does nothing.
    vectors = [axis(("hair_color", 1.0)), axis(("hair_color", 1.0), ("shirt_hue", 0.6)), axis(("hair_color", -1.0))]
    found = measured(drawn, vectors)
    principal = [Direction(f"pc:{i}", f"Direction {i + 1}", v, 1.0, effects=telling(f))
                 for i, (v, f) in enumerate(zip(vectors, found))]
    name_principal(principal)
    names = [frozenset((d.low_words, d.high_words)) for d in principal]
    assert all(d.low_words and d.high_words for d in principal)
    assert len(set(names)) == 3
    assert "hair" in principal[0].high_words
    assert "shirt" in principal[1].high_words  # told apart by what it does besides
    assert principal[2].low_words.startswith(principal[0].high_words)  # the same change, the other way round


def test_alike_directions_are_told_apart_by_what_the_first_does_not_lead_with():
    first = [effect("head_tilt", 3.0, "tilted right", "tilted left"), effect("smile", 1.0, "frown", "broad smile"),
             effect("glasses", 0.9, "no glasses", "glasses")]
    second = [effect("head_tilt", 2.0, "tilted left", "tilted right"), effect("smile", 1.5, "broad smile", "frown"),
              effect("gaze", 0.8, "looking left", "looking right")]
    weak = [effect("gaze", NAME_MIN / 2, "looking left", "looking right")]
    words = unique_words([first, second, weak])
    assert words[0] == ("tilted right", "tilted left")
    assert words[1] == ("tilted left, looking left", "tilted right, looking right")  # smile is among first's leaders
    assert words[2] == ("", "")  # nothing it does is large enough to name it by


def test_colour_attributes_do_not_name_directions_but_their_pixels_do():
    found = [effect("hair_color", 3.0, "grey", "black"), effect("hair.lightness", 2.0, "lighter hair", "darker hair")]
    assert [e.quantity for e in telling(found)] == ["hair.lightness"]
    assert [e.quantity for e in telling(found, own="hair_color")] == ["hair_color", "hair.lightness"]


# --------------------------------------------------------------------------------------------- named sliders

def test_a_named_slider_is_kept_only_if_it_was_measured_to_move_its_attribute(drawn, feature_net):
    vectors = [axis(("smile", 1.0)), axis(("hair_length", 1.0)), axis(("smile", -1.0)), axis(("glasses", 1.0))]
    labels = ["Smile", "Smile", "Smile", "Glasses"]
    keys = ["attr:smile", "attr:smile", "attr:smile", "attr:glasses"]
    found = measured(drawn, vectors, feature_net)
    candidates = [Direction(k, label, v, 1.0, effects=telling(f, k[5:]), effect_faces=len(SEEDS), effect_amount=2.0)
                  for k, label, v, f in zip(keys, labels, vectors, found)]
    smile = candidates[0].effects[0]
    assert smile.quantity == "smile" and smile.rises and smile.size >= MIN_ATTRIBUTE_CHANGE
    assert candidates[1].effects[0].size < MIN_ATTRIBUTE_CHANGE  # hair length does not move the smile
    notes = []
    kept, failed = keep_measured(candidates, len(SEEDS), notes)
    # The hair-length line and the line pointing the wrong way are not shown; glasses really appear.
    assert [id(d) for d in kept] == [id(candidates[0]), id(candidates[3])]
    assert failed == ["smile", "smile"] and "hardly changed them" in notes[0]
    glasses = candidates[3].effects[0]
    assert glasses.share and glasses.values[2] > 0.9 and glasses.values[0] < 0.1  # share of faces at -2, 0, +2
    assert smile.scale == "from frown (-1) to broad smile (1)" and smile.values[0] < smile.values[1] < smile.values[2]


def test_without_the_feature_network_no_named_slider_is_shown(drawn):
    found, = measured(drawn, [axis(("smile", 1.0))])
    candidate = Direction("attr:smile", "Smile", axis(("smile", 1.0)), 1.0, effects=telling(found, "smile"))
    notes = []
    kept, failed = keep_measured([candidate], len(SEEDS), notes, measurable=False)
    assert kept == [] and failed == ["smile"] and "feature network" in notes[0]
