"""The latent flow: it learns the velocity of straight noise-to-latent paths, decoding runs the flow and the
decoder, encoding runs the flow backwards (an exact inverse of decoding with the same steps), its likelihood is
per face and finite, and its forward process is a straight line."""

from __future__ import annotations

import pytest
import torch

from models.families.flow import LatentFlowTrainer
from models.flow_matching import bits_per_dim
from models.generative import Decoding, Encoding, last
from tests.models.test_latent_diffusion import run_steps
from models.latent_flow import LatentFlow
from tests.models.tiny import tiny_latent_flow


def tiny_flow(**kw):
    torch.manual_seed(0)
    return LatentFlow(tiny_latent_flow(**kw)).eval()


@pytest.fixture(scope="module")
def trained():
    """A tiny flow after a few dozen denoiser steps (an untrained U-Net's last layer is zero: no velocity at all)."""
    model = tiny_flow().train()
    autoencoder = {k: v.clone() for k, v in (model.encoder.state_dict() | model.decoder.state_dict()).items()}
    trainer = LatentFlowTrainer(model, 3e-3, 0.0, lambda m: m, torch.Generator().manual_seed(0))
    images = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    results = run_steps(trainer, images, None, 60)
    exported = trainer.export()
    after = exported.encoder.state_dict() | exported.decoder.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in autoencoder.items())
    return exported, images, results


def test_the_denoiser_stage_learns_the_velocity_and_leaves_the_autoencoder_alone(trained):
    model, _, results = trained
    early = sum(r.losses["loss"] for r in results[:10]) / 10
    late = sum(r.losses["loss"] for r in results[-10:]) / 10
    assert late < 0.98 * early, (early, late)  # much of the loss cannot go: x_t does not tell its own noise
    assert float(model.scale_factor) > 0


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_decoding_an_encoding_gives_the_latent_back(trained, sampler):
    model, images, _ = trained
    decoding = Decoding(sampler=sampler, steps=6)
    with torch.no_grad():
        z0 = model.to_latent(images[:4])
        noise = model.encode(images[:4], Encoding(decoding=decoding))
        assert noise.shape == (4, *model.latent_shape)
        again = last(model.latent_steps(noise, decoding)).state
        assert (again - z0).norm() / z0.norm() < 1e-4
        assert torch.allclose(model.decode(noise, decoding), model.from_latent(again))


def test_a_diffusion_sampler_name_gets_the_flows_own_solver_and_steps(trained):
    model, _, _ = trained
    assert model.method_of(Decoding(sampler="ddim")) == ("heun", 20)
    assert model.method_of(Decoding(sampler="euler", steps=3)) == ("euler", 3)
    steps = list(model.decode_steps(model.sample_latents(2), Decoding(sampler="dpm++", steps=4)))
    assert len(steps) == 4 and steps[-1].image.shape == (2, 3, 16, 16) and steps[-1].t == -1


def test_the_likelihood_of_faces_is_finite_and_per_face(trained):
    model, images, _ = trained
    final = last(model.log_likelihood_steps(images[:3], steps=4, probes=2, generator=torch.Generator().manual_seed(0)))
    assert final.result.shape == (3,) and torch.isfinite(final.result).all()
    assert torch.isfinite(bits_per_dim(final.result, 2 * 4 * 4)).all()


def test_the_forward_process_is_a_straight_line_from_latent_to_noise():
    model = tiny_flow()
    signal, noise = model.schedule.signal_and_noise()
    assert signal[0] == 1 and noise[0] == 0 and torch.allclose(signal + noise, torch.ones_like(signal))
    z0, eps = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    assert torch.allclose(model.schedule.q_sample(z0, torch.tensor([250]), eps), torch.full_like(z0, 0.25))


def test_the_weights_round_trip(trained):
    model, _, _ = trained
    loaded = LatentFlow(tiny_latent_flow())
    loaded.load_state_dict(model.state_dict())
    z = model.sample_latents(2)
    assert torch.allclose(loaded.decode(z, Decoding(steps=3)), model.decode(z, Decoding(steps=3)), atol=1e-5)
