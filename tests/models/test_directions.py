"""Latent directions: the regression helpers recover planted directions; every family gets usable sliders."""

import json

import pytest
import torch

from models.data import synthetic_faces
from models.diffusion import Diffusion
from models.direction_effects import MIN_ATTRIBUTE_CHANGE, Effect
from models.direction_fitting import attribute_fit, block_sums, lift_blocks, pca
from models.directions import (
    BLOCK_GRID,
    AnalysisError,
    Codes,
    Direction,
    LatentAnalysis,
    analyse_latent_space,
    attribute_directions,
    load_analysis,
    save_analysis,
)
from models.face_renderer import ATTRIBUTE_NAMES
from models.feature_net import DEFAULT_FEATURE_NET, FeatureNet, load_feature_net
from models.gan import GAN
from models.generative import last
from models.vae import VAE
from tests.models.tiny import DrawnFaces, tiny_diffusion, tiny_gan, tiny_vae

pytestmark = pytest.mark.usefixtures("one_thread")


def run(model, **kw):
    steps = list(analyse_latent_space(model, **kw))
    assert all(s.result is None for s in steps[:-1]) and steps[-1].result is not None
    assert [s.done for s in steps] == sorted(s.done for s in steps) and steps[-1].done == steps[-1].total
    return steps[-1].result


def check_directions(directions, shape):
    for d in directions:
        assert d.vector.shape == shape and d.vector.dtype == torch.float32
        assert float(d.vector.norm()) == pytest.approx(1.0, abs=1e-5)
        assert d.scale > 0



@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(128, 16, seed=1)


@pytest.fixture(scope="module")
def feature_net():
    torch.manual_seed(0)
    return FeatureNet().eval()


# --------------------------------------------------------------------------------------------- helpers

def planted(n=2000, d=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen) * torch.linspace(0.2, 2.0, d)  # anisotropic, like VAE means
    u = torch.randn(d, generator=gen)
    return x, u / u.norm(), gen


def test_attribute_fit_recovers_the_direction_a_planted_attribute_moves_the_latents():
    # Latents = attribute along u + anisotropic variation of everything else: the slider must walk along u
    # (the readout of y from x would not: it leans away from the high-variance dimensions).
    noise, u, gen = planted()
    y = torch.rand(len(noise), generator=gen) + 5.0
    x = noise + 4.0 * y[:, None] * u
    w, r2, score = attribute_fit(x, y)
    assert torch.nn.functional.cosine_similarity(w.float(), u, dim=0) > 0.99
    assert r2 == score and 0.2 < r2 < 0.9  # the noise along u is real and the held-out R² says so


def test_attribute_fit_recovers_a_planted_binary_attribute_and_reports_accuracy():
    noise, u, gen = planted(seed=1)
    y = (torch.rand(len(noise), generator=gen) < 0.3).float()
    w, r2, accuracy = attribute_fit(noise * 0.3 + 3.0 * y[:, None] * u, y, binary=True)
    assert torch.nn.functional.cosine_similarity(w.float(), u, dim=0) > 0.99
    assert accuracy > 0.9 and r2 > 0.5


def test_white_codes_use_the_readout_which_needs_fewer_samples():
    x = torch.randn(300, 64, generator=torch.Generator().manual_seed(5))
    u = torch.nn.functional.normalize(torch.randn(64, generator=torch.Generator().manual_seed(6)), dim=0)
    y = x @ u
    readout, _, _ = attribute_fit(x, y, white=True)
    covariance, _, _ = attribute_fit(x, y)
    cos = [float(torch.nn.functional.cosine_similarity(v.float(), u, dim=0)) for v in (readout, covariance)]
    assert cos[0] > 0.999 and cos[1] < 0.98


def test_an_attribute_unrelated_to_the_latents_scores_near_zero():
    noise, _, gen = planted(seed=2)
    _, r2, _ = attribute_fit(noise, torch.rand(len(noise), generator=gen))
    assert r2 < 0.02


def test_pca_finds_the_long_axis_first():
    x, _, _ = planted()
    components, explained, scores = pca(x, 10)
    assert components[0].abs().argmax() == 15  # the dimension with the largest spread
    assert torch.all(explained[:-1] >= explained[1:]) and float(explained.sum()) <= 1 + 1e-9
    assert scores.shape == (len(x), 10)


def test_block_lifting_is_the_transpose_of_block_sums():
    z, w = torch.randn(5, 3, 16, 16), torch.randn(3 * BLOCK_GRID**2).double()
    lifted = lift_blocks(w, (3, 16, 16), BLOCK_GRID)
    assert torch.allclose(block_sums(z, BLOCK_GRID) @ w, z.double().flatten(1) @ lifted.flatten())


def test_attribute_directions_point_toward_high_words_and_skip_what_is_not_encoded():
    z = torch.randn(1500, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    codes = block_sums(z, BLOCK_GRID)
    u = torch.randn(codes.shape[1], generator=torch.Generator().manual_seed(3)).double()
    labels = torch.rand(len(z), len(ATTRIBUTE_NAMES), generator=torch.Generator().manual_seed(4)).double()
    skin = ATTRIBUTE_NAMES.index("skin_tone")
    labels[:, skin] = (codes @ u) / (codes @ u).std() * 0.1 + 0.5
    space = Codes(codes, lambda w: lift_blocks(w, (3, 16, 16), BLOCK_GRID), labels, white=True)
    found, missing = attribute_directions(space)
    assert [d.key for d in found] == ["attr:skin_tone"] and "smile" in missing
    d = found[0]
    assert (d.low_words, d.high_words) == ("light", "dark") and d.score > 0.9
    projection = z.flatten(1) @ d.vector.flatten()
    assert torch.corrcoef(torch.stack([projection.double(), labels[:, skin]]))[0, 1] > 0.95
    assert projection.std() == pytest.approx(d.scale, rel=1e-3)


# --------------------------------------------------------------------------------------------- families

def test_vae_analysis_orders_dimensions_by_kl_and_keeps_reconstruction_errors(faces):
    torch.manual_seed(0)
    model = VAE(tiny_vae()).eval()
    result = run(model, faces=faces, feature_net=None)
    assert result.family == "vae" and result.info["labels"] == "ground truth"
    assert 1 <= len(result.principal) <= 4
    check_directions(result.principal + result.attributes, (4,))
    assert sorted(result.dim_order) == [0, 1, 2, 3]
    kl = [result.dim_kl[i] for i in result.dim_order]
    assert kl == sorted(kl, reverse=True)
    assert len(result.recon_errors) == len(faces) and result.recon_errors == sorted(result.recon_errors)
    scores = [d.score for d in result.principal]
    assert scores == sorted(scores, reverse=True)


def test_vae_without_faces_or_feature_net_has_no_attribute_bank_and_says_why():
    model = VAE(tiny_vae()).eval()
    result = run(model, faces=None, feature_net=None, samples=64)
    assert result.attributes == [] and result.recon_errors == []
    assert any("No attribute sliders" in note for note in result.notes)


def test_gan_analysis_with_and_without_the_feature_net(feature_net):
    torch.manual_seed(0)
    model = GAN(tiny_gan()).eval()
    labelled = run(model, faces=None, feature_net=feature_net, samples=128)
    check_directions(labelled.principal + labelled.attributes, (8,))
    assert 1 <= len(labelled.principal) <= 10 and labelled.dim_order == list(range(8)) and labelled.dim_kl == []
    assert labelled.info["labels"] == "feature network"
    unlabelled = run(model, faces=None, feature_net=None, samples=64)
    check_directions(unlabelled.principal, (8,))
    assert unlabelled.attributes == [] and any("feature network" in note for note in unlabelled.notes)


def test_diffusion_directions_are_constant_on_the_noise_blocks(feature_net):
    torch.manual_seed(0)
    model = Diffusion(tiny_diffusion()).eval()
    result = run(model, faces=None, feature_net=feature_net, samples=64, diffusion_steps=2)
    assert result.dim_order == [] and result.principal
    check_directions(result.principal + result.attributes, (3, 16, 16))
    block = 16 // BLOCK_GRID
    for d in result.principal + result.attributes:
        blocks = d.vector.view(3, BLOCK_GRID, block, BLOCK_GRID, block)
        assert torch.allclose(blocks, blocks[:, :, :1, :, :1].expand_as(blocks))


def test_stopping_early_leaves_no_error_and_grad_mode_untouched(faces):
    steps = analyse_latent_space(VAE(tiny_vae()).eval(), faces=faces, feature_net=None)
    first = next(steps)
    assert first.result is None and first.done < first.total
    assert torch.is_grad_enabled()
    steps.close()


# --------------------------------------------------------------------------------------------- saving

def test_save_and_load_round_trip(tmp_path, faces):
    result = last_result = run(VAE(tiny_vae()).eval(), faces=faces, feature_net=None)
    path = save_analysis(tmp_path / "a.safetensors", result)
    loaded = load_analysis(path, latent_shape=(4,))
    for bank in ("principal", "attributes"):
        for a, b in zip(getattr(loaded, bank), getattr(last_result, bank), strict=True):
            assert torch.equal(a.vector, b.vector)
            assert (a.key, a.label, a.scale, a.low_words, a.high_words, a.score) == \
                   (b.key, b.label, b.scale, b.low_words, b.high_words, b.score)
    assert (loaded.dim_order, loaded.dim_kl, loaded.recon_errors, loaded.notes, loaded.info) == \
           (result.dim_order, result.dim_kl, result.recon_errors, result.notes, result.info)


def measured_analysis() -> LatentAnalysis:
    """A small analysis whose directions carry measured effects, as analyse_latent_space makes them."""
    def vector(i):
        return torch.nn.functional.one_hot(torch.tensor(i), 4).float()
    tilt = Effect("head_tilt", "head tilt", 3.5, "tilted right", "tilted left", (0.4, 0.0, -0.5),
                  scale="from tilted left (-1) to tilted right (1)")
    hair = Effect("hair.lightness", "hair lightness", 0.7, "lighter hair", "darker hair")
    glasses = Effect("glasses", "glasses", 1.2, "no glasses", "glasses", (0.0625, 0.25, 0.6875), share=True)
    principal = [Direction("pc:0", "Direction 1", vector(0), 1.3, "tilted right", "tilted left", 0.2, [tilt, hair], 16,
                           2.0)]
    attributes = [Direction("attr:glasses", "Glasses", vector(1), 1.0, "no glasses", "glasses", 0.9, [glasses, hair],
                            16, 2.0)]
    return LatentAnalysis("gan", principal, attributes, [0, 1, 2, 3], [], [], ["a note"], {"seconds": 1.0},
                          ["smile", "nose size"])


def rewritten(path, tmp_path, change) -> object:
    """A copy of a saved analysis whose metadata `change(meta)` altered."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    with safe_open(path, "pt") as f:
        meta = json.loads(f.metadata()["latent_explorer"])
    change(meta)
    out = tmp_path / "changed.safetensors"
    save_file(load_file(path), out, metadata={"latent_explorer": json.dumps(meta)})
    return out


def test_measured_effects_and_missing_attributes_round_trip(tmp_path):
    analysis = measured_analysis()
    loaded = load_analysis(save_analysis(tmp_path / "a.safetensors", analysis), latent_shape=(4,))
    for bank in ("principal", "attributes"):
        for a, b in zip(getattr(loaded, bank), getattr(analysis, bank), strict=True):
            assert (a.effects, a.effect_faces, a.effect_amount) == (b.effects, b.effect_faces, b.effect_amount)
    assert loaded.missing_attributes == ["smile", "nose size"]
    assert loaded.attributes[0].effects[0].values == (0.0625, 0.25, 0.6875) and loaded.attributes[0].effects[0].share
    assert loaded.principal[0].effects[0].scale == "from tilted left (-1) to tilted right (1)"


@pytest.mark.parametrize("change", [
    lambda m: m.update(format_version=1),  # made before effects were measured: recomputed
    lambda m: m["principal"][0]["effects"][0].update(size=-1.0),
    lambda m: m["principal"][0]["effects"][0].update(size=float("nan")),
    lambda m: m["principal"][0]["effects"][0].update(values=[0.1, 0.2]),
    lambda m: m["principal"][0]["effects"][0].update(low_words=3),
    lambda m: m["principal"][0]["effects"][0].pop("quantity"),
    lambda m: m["principal"][0]["effects"][0].update(scale=None),
    lambda m: m["attributes"][0]["effects"][0].update(values=[0.0, 0.5, 1.5]),  # a share above 100 %
    lambda m: m["attributes"][0].update(effects=m["attributes"][0]["effects"][1:]),  # a named slider never checked
    lambda m: m["attributes"][0].update(effect_faces=0),
    lambda m: m["principal"][0].update(effect_amount="2"),
    lambda m: m.update(missing_attributes="smile"),
    lambda m: m.pop("missing_attributes"),
], ids=["old format", "negative size", "nan size", "two values", "words not text", "no quantity",
        "scale not text", "share over 1", "attribute unchecked", "no faces", "amount not a number",
        "missing not a list", "missing absent"])
def test_bad_measured_effects_are_rejected(tmp_path, change):
    path = save_analysis(tmp_path / "a.safetensors", measured_analysis())
    with pytest.raises(AnalysisError, match="damaged"):
        load_analysis(rewritten(path, tmp_path, change))


def test_main_directions_of_an_analysed_model_have_unique_measured_names():
    # Faces drawn by the renderer from their latents, read by the shipped feature network: real effects to name.
    net = load_feature_net(DEFAULT_FEATURE_NET)[0].eval()
    result = run(DrawnFaces(32), faces=None, feature_net=net, samples=256, effect_faces=8)
    named = [frozenset((d.low_words, d.high_words)) for d in result.principal if d.low_words]
    assert named and len(named) == len(set(named))
    for d in result.principal + result.attributes:
        assert d.effects and d.effect_faces == 8 and d.effect_amount == 2.0
    for d in result.principal:
        sizes = [e.size for e in d.effects]
        assert sizes == sorted(sizes, reverse=True)
        if d.low_words:  # named by its largest measured effect, in the measured direction
            assert d.low_words.startswith(d.effects[0].low_words) and d.high_words.startswith(d.effects[0].high_words)
    # Every shown named slider was measured to move its attribute; the others are listed as missing.
    for d in result.attributes:
        own = d.effects[0]
        assert own.quantity == d.key[5:] and own.rises and own.size >= MIN_ATTRIBUTE_CHANGE
    shown = {d.label.lower() for d in result.attributes}
    assert shown.isdisjoint(result.missing_attributes)
    assert len(shown) + len(result.missing_attributes) == len(ATTRIBUTE_NAMES)


def test_damaged_or_mismatched_analyses_raise_analysis_error(tmp_path, faces):
    path = save_analysis(tmp_path / "a.safetensors", run(VAE(tiny_vae()).eval(), faces=faces, feature_net=None))
    with pytest.raises(AnalysisError, match="other latents"):
        load_analysis(path, latent_shape=(8,))
    data = path.read_bytes()
    for name, content in {"cut": data[: len(data) - 20], "junk": b"\x01" * 64, "empty": b""}.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(AnalysisError, match="damaged"):
            load_analysis(tmp_path / name)
    with pytest.raises(AnalysisError, match="cannot be read"):
        load_analysis(tmp_path / "missing")
    assert isinstance(AnalysisError("x"), ValueError)


def test_a_single_sample_model_step_runs_with_last():
    # analyse_latent_space is an ordinary step generator: `last` from generative.py runs it to its end.
    final = last(analyse_latent_space(GAN(tiny_gan()).eval(), faces=None, feature_net=None, samples=16))
    assert final.done == final.total and isinstance(final.result, LatentAnalysis)
    assert final.result.family == "gan" and final.result.dim_order == list(range(8))
    assert 1 <= len(final.result.principal) <= 10 and final.result.attributes == []
    check_directions(final.result.principal, (8,))
