import pytest
import torch

from models.gan import (
    GAN,
    LOSSES,
    Discriminator,
    GANConfig,
    MinibatchStd,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    recalibrate_batchnorm,
)
from models.generative import Encoding
from tests.models.tiny import tiny_gan


def test_shapes_and_ranges():
    gan = GAN(tiny_gan()).eval()
    z = gan.sample_latents(3, seed=1)
    assert z.shape == (3, 8)
    images = gan.decode(z)
    assert images.shape == (3, 3, 16, 16) and images.abs().max() <= 1
    assert gan.discriminator(images).shape == (3,)


@pytest.mark.parametrize("size", [32, 64])
def test_dcgan_layout_at_other_sizes(size):
    gan = GAN(GANConfig(image_size=size, generator_channels=8, discriminator_channels=8))
    assert gan.generator(torch.randn(2, 64)).shape == (2, 3, size, size)


def test_dcgan_initialisation():
    gan = GAN(GANConfig())
    convs = [m.weight for m in gan.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    weights = torch.cat([w.flatten() for w in convs])
    assert abs(weights.mean().item()) < 1e-3
    assert abs(weights.std().item() - 0.02) < 1e-3


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_push_the_right_way(loss):
    good, bad = torch.full((8,), 3.0), torch.full((8,), -3.0)
    # The discriminator is happier (lower loss) when it scores real high and fake low.
    assert discriminator_loss(loss, good, bad) < discriminator_loss(loss, bad, good)
    # The generator is happier when its images are scored as real.
    assert generator_loss(loss, good) < generator_loss(loss, bad)


def test_minimax_gradient_vanishes_where_non_saturating_does_not():
    scores = torch.full((4,), -8.0, requires_grad=True)  # D confidently rejects the fakes
    (g_mm,) = torch.autograd.grad(generator_loss("minimax", scores), scores)
    (g_ns,) = torch.autograd.grad(generator_loss("non-saturating", scores), scores)
    assert g_mm.abs().max() < 1e-3 < g_ns.abs().max()


def test_gradient_penalty_is_zero_for_a_unit_slope_critic():
    class Linear(torch.nn.Module):
        def forward(self, x):  # gradient norm 1 everywhere
            return x.flatten(1)[:, 0]

    real, fake = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    assert gradient_penalty(Linear(), real, fake).item() == pytest.approx(0.0, abs=1e-6)
    gp = gradient_penalty(Discriminator(tiny_gan(loss="wgan-gp")), real, fake)
    assert gp.item() > 0 and gp.requires_grad


def test_wgan_gp_defaults_and_spectral_norm():
    assert tiny_gan(loss="wgan-gp").discriminator_steps == 5
    assert tiny_gan().discriminator_steps == 1
    d = Discriminator(tiny_gan(spectral_norm=True))
    assert any("parametrizations" in name for name, _ in d.named_parameters())
    with pytest.raises(ValueError):
        GANConfig(loss="nonsense")


def test_minibatch_std_sees_how_varied_a_batch_is():
    d = Discriminator(tiny_gan(minibatch_std=True))
    for n in (8, 5, 1):  # whole groups, an odd batch, a single image
        assert d(torch.randn(n, 3, 16, 16)).shape == (n,)
    layer = MinibatchStd()
    same = layer(torch.ones(4, 2, 4, 4))[:, -1]
    varied = layer(torch.randn(4, 2, 4, 4))[:, -1]
    assert same.max() < 1e-3 < varied.min()  # identical images: no spread; different ones: some


def test_inversion_finds_a_latent_that_rebuilds_the_image():
    torch.manual_seed(0)
    gan = GAN(tiny_gan())
    recalibrate_batchnorm(gan.generator, 8, batches=4, batch_size=32)
    gan.eval()
    target_z = gan.sample_latents(2, seed=100)
    target = gan.decode(target_z)
    start_error = (gan.decode(gan.sample_latents(2, seed=0)) - target).pow(2).mean().item()
    steps = list(gan.encode_steps(target, Encoding(search_steps=60, restarts=2)))
    assert len(steps) == 60 and steps[-1].finished
    assert steps[-1].state.shape == (2, 8)
    final_error = (gan.decode(steps[-1].state) - target).pow(2).mean().item()
    assert final_error < 0.5 * start_error
    assert steps[-1].loss < steps[0].loss
    # inversion leaves the generator as it was
    assert all(p.requires_grad for p in gan.generator.parameters())


def test_recalibrated_batchnorm_makes_eval_match_training_statistics():
    torch.manual_seed(0)
    gan = GAN(tiny_gan())
    for m in gan.generator.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(5.0)  # wildly wrong statistics
    z = torch.randn(256, 8)
    gan.generator.train()
    with torch.no_grad():
        train_mode = gan.generator(z).mean().item()
    recalibrate_batchnorm(gan.generator, 8, batches=8, batch_size=64)
    gan.generator.eval()
    with torch.no_grad():
        eval_mode = gan.generator(z).mean().item()
    assert abs(train_mode - eval_mode) < 0.05
