"""Latent diffusion: its config, conditions, guidance, both training stages, inversion and checkpoints."""

import pytest
import torch

from models.checkpoint import load_checkpoint, save_checkpoint
from models.config_check import ConfigError
from models.face_renderer import ATTRIBUTE_NAMES
from models.families.latent_diffusion import LatentDiffusionTrainer
from models.family import build_model, get_family
from models.generative import Decoding, Encoding
from models.latent_diffusion import (
    CONDITION_DIM,
    LatentDiffusionConfig,
    classifier_log_likelihood,
    condition_vector,
    training_condition,
)
from tests.models.tiny import tiny_latent_diffusion


def tiny_model(**kw):
    torch.manual_seed(0)
    return build_model("latent-diffusion", tiny_latent_diffusion(**kw)).eval()


def test_config_ranges_and_shapes():
    assert LatentDiffusionConfig(latent_factor=8, latent_channels=8).latent_size == 8
    with pytest.raises(ConfigError, match="latent_factor"):
        LatentDiffusionConfig(latent_factor=5)
    with pytest.raises(ConfigError, match="channel_mults"):
        LatentDiffusionConfig(image_size=16, latent_factor=4, channel_mults=(1, 2, 2, 2))
    model = tiny_model()
    assert model.latent_shape == (2, 4, 4)
    assert model.to_latent(torch.zeros(3, 3, 16, 16)).shape == (3, 2, 4, 4)
    assert model.from_latent(torch.zeros(3, 2, 4, 4)).shape == (3, 3, 16, 16)


def test_condition_vector_marks_the_given_attributes():
    c = condition_vector((("smile", 1.0), ("glasses", 1.0)), 2)
    a = len(ATTRIBUTE_NAMES)
    assert c.shape == (2, CONDITION_DIM) and CONDITION_DIM == 2 * a
    smile, glasses = ATTRIBUTE_NAMES.index("smile"), ATTRIBUTE_NAMES.index("glasses")
    assert c[0, a + smile] == 1 and c[0, a + glasses] == 1 and c[0, a:].sum() == 2
    assert c[0, smile] == pytest.approx(1.0) and c[0, glasses] == pytest.approx(1.0)  # smile 1 is the top of -1..1
    assert condition_vector((("smile", -1.0),), 1)[0, smile] == pytest.approx(0.0)
    assert condition_vector((), 1).abs().sum() == 0  # nothing wanted: the unconditional model
    with pytest.raises(ValueError, match="unknown attribute"):
        condition_vector((("moustache", 1.0),), 1)


def test_training_condition_drops_and_keeps():
    g = torch.Generator().manual_seed(0)
    attributes = torch.rand(500, len(ATTRIBUTE_NAMES))
    a = len(ATTRIBUTE_NAMES)
    assert training_condition(attributes, 1.0, g).abs().sum() == 0  # always dropped
    c = training_condition(attributes, 0.0, g)
    given = c[:, a:]
    assert set(given.unique().tolist()) <= {0.0, 1.0}
    assert 0.3 < given.mean() < 0.7  # a random share of the attributes per image
    assert (c[:, :a] * (1 - given)).abs().sum() == 0  # values only where given
    dropped = (training_condition(attributes, 0.3, g)[:, a:].sum(1) == 0).float().mean()
    assert 0.2 < dropped < 0.45


def test_classifier_free_guidance_mixes_the_two_predictions():
    model = tiny_model()
    z, t = torch.randn(2, 2, 4, 4), torch.tensor([50, 10])
    wanted = (("smile", 1.0),)
    cond = condition_vector(wanted, 2)
    eps_u, eps_c = model.eps(z, t), model.eps(z, t, cond)
    with torch.no_grad():
        one = model.guided_eps(Decoding(attributes=wanted, guidance=1.0, guide="free"))(z, t)
        three = model.guided_eps(Decoding(attributes=wanted, guidance=3.0, guide="free"))(z, t)
        zero = model.guided_eps(Decoding(attributes=wanted, guidance=0.0, guide="free"))(z, t)
    assert torch.allclose(one, eps_c, atol=1e-5) and torch.allclose(zero, eps_u, atol=1e-5)
    assert torch.allclose(three, eps_u + 3 * (eps_c - eps_u), atol=1e-4)
    assert model.guided_eps(Decoding()) == model.eps  # nothing wanted: unguided
    each = model.guided_eps(Decoding(attributes_each=(wanted, ()), guidance=1.0, guide="free"))(z, t)
    assert torch.allclose(each[0], eps_c[0], atol=1e-5) and torch.allclose(each[1], eps_u[1], atol=1e-5)
    with pytest.raises(ValueError, match="unknown attribute"):
        model.guided_eps(Decoding(attributes=(("moustache", 1.0),)))
    with pytest.raises(ValueError, match="guide"):
        model.guided_eps(Decoding(attributes=wanted, guide="oracle"))


def test_classifier_guidance_climbs_the_classifiers_log_likelihood():
    model = tiny_model()
    wanted = (("glasses", 1.0), ("hair_color", 1.0))
    z, t = torch.randn(4, 2, 4, 4), torch.full((4,), 60)
    eps = model.eps(z, t).detach()
    guided = model.guided_eps(Decoding(attributes=wanted, guide="classifier", guidance=5.0))(z, t).detach()
    # Predicting less noise along the gradient means a predicted clean latent further up log p(wanted | z_t):
    # a small move of z_t the way guidance moves it raises the classifier's log-likelihood.
    step = (eps - guided) * 1e-2
    with torch.no_grad():
        before = classifier_log_likelihood(model.classifier(z, t), wanted).sum()
        after = classifier_log_likelihood(model.classifier(z + step, t), wanted).sum()
    assert not torch.allclose(eps, guided) and after > before
    outputs = torch.zeros(1, len(ATTRIBUTE_NAMES))
    outputs[0, ATTRIBUTE_NAMES.index("glasses")] = 4.0
    assert classifier_log_likelihood(outputs, (("glasses", 1.0),)) > classifier_log_likelihood(
        outputs, (("glasses", 0.0),))


@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "dpm++"])
def test_every_sampler_decodes_faces(sampler):
    model = tiny_model()
    z = torch.randn(2, *model.latent_shape)
    steps = list(model.decode_steps(z, Decoding(sampler=sampler, steps=6)))
    assert len(steps) == 6 and steps[-1].image.shape == (2, 3, 16, 16)
    assert steps[-1].state.shape == (2, 2, 4, 4)
    assert torch.allclose(model.decode(z, Decoding(sampler=sampler, steps=6)), steps[-1].image, atol=1e-5)
    assert steps[-1].image.abs().max() <= 1.0


def test_inversion_gives_back_what_the_first_stage_reconstructs():
    """encode_steps inverts the encoder's latent with DDIM; decoding the result with the same steps returns the
    autoencoder's own reconstruction (the best any latent model can do)."""
    model = tiny_model()
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        recon = model.from_latent(model.to_latent(images))
    encoding = Encoding(decoding=Decoding(steps=20))
    z_T = list(model.encode_steps(images, encoding))[-1].state
    back = model.decode(z_T, encoding.decoding)
    assert z_T.shape == (2, *model.latent_shape)
    assert (back - recon).abs().mean() < 0.05


def run_steps(trainer, images, attributes, n):
    class Batches:
        def __call__(self):
            return images

        def labelled(self):
            return images, attributes

    return [trainer.step(Batches()) for _ in range(n)]


def test_autoencoder_stage_learns_to_reconstruct_and_previews_reconstructions():
    model = tiny_model(stage="autoencoder").train()
    trainer = LatentDiffusionTrainer(model, 3e-3, 0.0, lambda m: m, torch.Generator().manual_seed(0))
    images = torch.rand(8, 3, 16, 16) * 2 - 1
    denoiser_before = {k: v.clone() for k, v in model.unet.state_dict().items()}
    results = run_steps(trainer, images, None, 40)
    first, last = results[0].losses["reconstruction"], results[-1].losses["reconstruction"]
    assert last < 0.7 * first, (first, last)
    assert all(torch.equal(v, model.unet.state_dict()[k]) for k, v in denoiser_before.items())
    grid = trainer.preview(trainer.export(), torch.randn(16, *model.latent_shape), Decoding(steps=2))
    assert grid.shape == (16, 3, 16, 16)
    assert torch.allclose(grid[:4], images[:4])  # the first row: the real faces, over their reconstructions


def test_an_autoencoder_stage_checkpoint_asks_for_its_scale_to_be_measured_again():
    """The scale factor belongs to the autoencoder it was measured on; one trained further makes it stale."""
    model = tiny_model(stage="autoencoder")
    model.scale_factor.fill_(0.8)  # as a warm start from a shipped model brings it
    trainer = LatentDiffusionTrainer(model, 1e-3, 0.0, lambda m: m, torch.Generator().manual_seed(0))
    run_steps(trainer, torch.rand(4, 3, 16, 16) * 2 - 1, None, 1)
    assert float(trainer.export().scale_factor) == 0.0


def test_adversarial_term_joins_after_its_start():
    model = tiny_model(stage="autoencoder", adversarial_weight=0.5, discriminator_start=2).train()
    trainer = LatentDiffusionTrainer(model, 1e-3, 0.0, lambda m: m, torch.Generator().manual_seed(0))
    results = run_steps(trainer, torch.rand(4, 3, 16, 16) * 2 - 1, None, 3)
    assert [r.extra["adversarial_on"] for r in results] == [False, False, True]
    assert "d_loss" in results[2].losses and "d_loss" not in results[0].losses


def test_denoiser_stage_freezes_the_autoencoder_measures_the_scale_and_learns():
    model = tiny_model(stage="denoiser").train()
    trainer = LatentDiffusionTrainer(model, 2e-3, 0.0, lambda m: m, torch.Generator().manual_seed(0))
    images = torch.rand(16, 3, 16, 16) * 2 - 1
    attributes = torch.rand(16, len(ATTRIBUTE_NAMES))
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    with torch.no_grad():
        mean, logvar = model.encoder(images)
    results = run_steps(trainer, images, attributes, 60)
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in encoder_before.items())
    # The scale factor: 1 / the spread of the first batch's latents, a posterior sample: its variance is the means'
    # plus the posterior's own (an untrained encoder's is about 1).
    spread = (mean.var() + logvar.exp().mean()).sqrt().item()
    assert float(model.scale_factor) == pytest.approx(1 / spread, rel=0.1)
    early = sum(r.losses["loss"] for r in results[:10]) / 10
    late = sum(r.losses["loss"] for r in results[-10:]) / 10
    assert late < early and "classifier_loss" in results[0].losses


def test_denoiser_stage_encodes_each_data_set_image_once():
    model = tiny_model(stage="denoiser").train()
    trainer = LatentDiffusionTrainer(model, 2e-3, 0.0, lambda m: m, torch.Generator().manual_seed(0))
    data = torch.rand(6, 3, 16, 16) * 2 - 1
    encoded = []
    model.encoder.register_forward_hook(lambda module, args, out: encoded.append(len(args[0])))

    class Batches:  # the training loop's BatchSource: batches of a data set, and which of its images they are
        last_indices = None

        def __len__(self):
            return len(data)

        def __call__(self):
            return self.labelled()[0]

        def labelled(self):
            self.last_indices = torch.tensor(order.pop(0))
            return data[self.last_indices], None

    order = [[0, 1, 2], [2, 3, 4], [4, 1, 5], [0, 5, 3]]
    for _ in range(4):
        trainer.step(Batches())
    assert encoded == [3, 2, 1]  # the third batch only had image 5 not seen before, the fourth none
    with torch.no_grad():
        mean, logvar = model.encoder(data)
    assert torch.allclose(trainer.moments, torch.cat([mean, logvar], dim=1), atol=1e-5)


def test_checkpoint_keeps_the_scale_and_drops_the_discriminator(tmp_path):
    model = tiny_model()
    model.scale_factor.fill_(2.5)
    path = save_checkpoint(tmp_path / "ld.safetensors", model, dataset={"name": "test"}, step=3)
    loaded = load_checkpoint(path).model
    assert float(loaded.scale_factor) == 2.5
    z = torch.randn(1, *model.latent_shape)
    assert torch.allclose(loaded.decode(z, Decoding(steps=3)), model.decode(z, Decoding(steps=3)), atol=1e-5)
    family = get_family("latent-diffusion")
    assert family.guided and family.iterative and family.encoding == "inversion"
    assert not any(k.startswith("discriminator.") for k in family.inference_weights(model.state_dict()))
