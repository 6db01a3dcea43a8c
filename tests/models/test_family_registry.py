"""The family registry: the only list of families, in the app's order, and open to a family nobody planned for.

A fourth family, the sketch (tests/models/sketch_family.py) is registered for a test: it builds, is saved and loaded as a
checkpoint, trains through the same loop as the others, and resumes; afterwards the registry is as before.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.config_check import ConfigError
from models.directions import analyse_latent_space
from models.family import (
    build_model,
    families,
    family_names,
    family_of,
    find_family,
    get_family,
    inference_state_dict,
    register_family,
)
from models.generative import Encoding
from models.train import MODEL_FILE, STATE_FILE, train
from models.train_events import CheckpointEvent, DoneEvent, SamplesEvent, StartEvent, StepEvent
from models.train_settings import TrainSettings
from tests.models.sketch_family import FAMILY, NAME, Sketch, SketchConfig, SketchTrainer, registered_sketch

BUILT_IN = ("vae", "vae-gan", "gan", "diffusion", "latent-diffusion")


def built_in() -> tuple[str, ...]:
    """The families models/families/ registers, in the registry's order (another test may have added its own)."""
    return tuple(f.name for f in families() if f.trainer_class.__module__.startswith("models.families."))


@pytest.fixture
def sketch():
    with registered_sketch() as family:
        yield family


def test_the_built_in_families_in_the_apps_order():
    assert built_in() == BUILT_IN
    assert [get_family(name).title for name in BUILT_IN] == ["VAE", "VAE-GAN", "GAN", "Diffusion", "Latent diffusion"]
    orders = [f.order for f in families()]
    assert orders == sorted(orders)


def test_an_unknown_family_is_a_config_error_naming_the_known_ones():
    assert find_family("flow") is None and find_family(None) is None
    with pytest.raises(ConfigError) as info:
        get_family("flow")
    assert "'flow'" in str(info.value) and "vae, vae-gan, gan, diffusion" in str(info.value)
    with pytest.raises(ConfigError):
        build_model("flow", {})


@pytest.mark.parametrize("bad", ["Sketch", "Bad Name", "two words", "-x", "x-", "a--b", "a_b", "2d", "", "é", "a" * 41,
                                 None])
def test_a_family_name_that_is_no_flag_value_or_file_name_is_refused_in_a_sentence(bad):
    before = family_names()
    with pytest.raises(ValueError, match="cannot be added") as refused:
        register_family(dataclasses.replace(FAMILY, name=bad))
    words = str(refused.value)
    assert "its name should be lower-case letters and digits, words joined by single hyphens" in words
    assert "\n" not in words and len(words) < 260
    assert family_names() == before


@pytest.mark.parametrize("good", ["dash-ed", "v2", "vae-gan-2", "a" * 40])
def test_a_family_name_of_words_joined_by_hyphens_is_taken(good):
    with registered_sketch(dataclasses.replace(FAMILY, name=good)):
        assert get_family(good).title == "Sketch" and good in family_names()
    assert find_family(good) is None


def test_a_registered_family_takes_its_place_in_the_order_and_leaves_no_trace(sketch):
    names = family_names()
    assert names.index("vae") + 1 == names.index(NAME) < names.index("gan")  # order 15: after the VAE's 10, before 20
    assert get_family(NAME) is sketch and find_family(NAME) is sketch
    with pytest.raises(ValueError, match="already registered"):  # a name is one family: no silent replacing
        register_family(sketch)
    assert family_names().count(NAME) == 1 and get_family(NAME) is sketch


def test_leaving_the_block_unregisters_the_family():
    before = family_names()
    with registered_sketch():
        assert NAME in family_names()
    assert family_names() == before and find_family(NAME) is None


def test_a_fourth_family_builds_saves_and_loads_as_a_checkpoint(sketch, tmp_path):
    torch.manual_seed(0)
    model = build_model(NAME, {"image_size": 16, "hidden": 8})
    assert isinstance(model, Sketch) and family_of(model) is sketch and model.config == SketchConfig(hidden=8)
    assert set(inference_state_dict(model)) == set(model.state_dict())  # nothing of it is for training only
    path = save_checkpoint(tmp_path / "sketch.safetensors", model.eval(), step=3, dataset={"name": "SF"})
    checkpoint = load_checkpoint(path)
    assert checkpoint.family == NAME and checkpoint.step == 3
    assert checkpoint.describe().startswith("Sketch, 16 px, step 3")
    z = model.sample_latents(2, seed=1)
    assert torch.equal(model.decode(z), checkpoint.model.decode(z))
    found = checkpoint.model.encode(model.decode(z), Encoding(search_steps=3))
    assert found.shape == (2, 6)


def test_a_checkpoint_of_a_family_no_longer_registered_is_refused_by_name(tmp_path):
    with registered_sketch():
        path = save_checkpoint(tmp_path / "sketch.safetensors", build_model(NAME, SketchConfig()))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "'sketch'" in str(info.value) and "vae, vae-gan, gan, diffusion" in str(info.value)


def test_a_config_outside_the_familys_ranges_is_refused_naming_the_setting(sketch):
    with pytest.raises(ConfigError, match="setting 'hidden'"):
        build_model(NAME, {"image_size": 16, "hidden": 0})


def test_a_fourth_family_trains_resumes_and_is_loaded_like_the_others(sketch, tmp_path):
    settings = TrainSettings(NAME, str(tmp_path / "run"), steps=4, batch_size=8, image_size=16, data_count=16,
                             log_every=1, sample_every=2, sample_count=4, checkpoint_every=2,
                             model_options={"hidden": 8})
    assert sketch.default_lr(SketchConfig()) == SketchTrainer.default_lr(SketchConfig()) == 3e-3
    events = list(train(settings))
    assert isinstance(events[0], StartEvent) and events[0].family == NAME
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert [e.step for e in steps] == [1, 2, 3, 4] and all(set(e.losses) == {"loss"} for e in steps)
    assert [e.step for e in events if isinstance(e, SamplesEvent)] == [2, 4]
    assert [e.step for e in events if isinstance(e, CheckpointEvent)] == [2, 4]
    assert events[-1] == DoneEvent(4, "finished")
    assert (tmp_path / "run" / STATE_FILE).exists()
    checkpoint = load_checkpoint(tmp_path / "run" / MODEL_FILE)
    assert checkpoint.family == NAME and checkpoint.step == 4 and checkpoint.model.config.hidden == 8

    more = list(train(dataclasses.replace(settings, steps=6, resume=True)))
    assert more[0].step == 4 and more[-1] == DoneEvent(6, "finished")


def test_the_directions_of_a_fourth_family_come_from_its_samples(sketch):
    torch.manual_seed(0)
    model = build_model(NAME, SketchConfig()).eval()
    final = None
    for final in analyse_latent_space(model, faces=None, feature_net=None, samples=64, effect_faces=2):
        pass
    analysis = final.result
    assert analysis.family == NAME and analysis.dim_order == list(range(6))
    assert analysis.info["diffusion_steps"] is None  # it does not decode in steps
    assert any("no encoder" in note for note in analysis.notes)  # it finds latents by search
    assert all(d.vector.shape == (6,) for d in analysis.principal)


class SpatialSketch(Sketch):
    """The sketch with a latent shaped like an image, (3, 16, 16), and a decoder that draws in one pass."""

    family = "patchy"

    def __init__(self, config: SketchConfig):
        super().__init__(config)
        self.net[0] = torch.nn.Linear(3 * 16 * 16, config.hidden)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (3, 16, 16)

    def draw(self, latents: torch.Tensor) -> torch.Tensor:
        return super().draw(latents.flatten(1))


def test_a_latent_shaped_like_an_image_gets_block_directions_whatever_the_decoder():
    """The block sums follow from the latent's shape, not from decoding in steps: this family decodes in one pass."""
    with registered_sketch(dataclasses.replace(FAMILY, name=SpatialSketch.family, model_class=SpatialSketch)):
        torch.manual_seed(0)
        model = build_model(SpatialSketch.family, SketchConfig()).eval()
        final = None
        for final in analyse_latent_space(model, faces=None, feature_net=None, samples=64, effect_faces=2):
            pass
    analysis = final.result
    assert analysis.dim_order == [] and analysis.info["diffusion_steps"] is None
    assert any("coarse pattern of the latents" in note for note in analysis.notes)
    for d in analysis.principal:
        blocks = d.vector.unfold(1, 2, 2).unfold(2, 2, 2)  # (3, 8, 8, 2, 2): one 2x2 block per code
        assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))
