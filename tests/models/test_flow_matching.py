"""Flow matching's sampler, inversion, likelihood and bend, checked on Gaussian data, whose velocity field is known
in closed form: for x0 ~ N(mu, s^2 I) and noise e ~ N(0, I) on straight paths x_t = (1 - t) x0 + t e, the field is
E[e - x0 | x_t] = (t - (1 - t) s^2) / ((1 - t)^2 s^2 + t^2) (x_t - (1 - t) mu) - mu, and the flow it defines maps
noise x1 onto mu + s x1."""

from __future__ import annotations

import math

import pytest
import torch

from models.flow_matching import (
    bend,
    bits_per_dim,
    divergence,
    flow_invert,
    flow_loss,
    flow_path,
    flow_sample,
    log_likelihood,
)
from models.generative import last

MU, S = 0.7, 0.4


def gaussian_velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    t = t.view(-1, *([1] * (x.dim() - 1))).to(x)
    variance = (1 - t) ** 2 * S**2 + t**2
    return (t - (1 - t) * S**2) / variance * (x - (1 - t) * MU) - MU


def test_the_path_runs_straight_from_data_to_noise():
    x0, noise = torch.zeros(2, 3), torch.ones(2, 3)
    x_t, v = flow_path(x0, noise, torch.tensor([0.0, 0.25]))
    assert torch.equal(x_t[0], x0[0]) and torch.allclose(x_t[1], torch.full((3,), 0.25))
    assert torch.equal(v, noise - x0)


def test_the_true_field_has_the_least_loss():
    g = torch.Generator().manual_seed(0)
    x0 = MU + S * torch.randn(4096, 8, generator=g)
    best = flow_loss(gaussian_velocity, x0, torch.Generator().manual_seed(1))
    worse = flow_loss(lambda x, t: gaussian_velocity(x, t) + 0.1, x0, torch.Generator().manual_seed(1))
    assert best < worse


def test_sampling_carries_noise_onto_the_data_heun_closer_than_euler():
    x1 = torch.randn(16, 2, 3, 3, generator=torch.Generator().manual_seed(2))
    errors = {}
    for method in ("euler", "heun"):
        seen = list(flow_sample(gaussian_velocity, x1, 20, method))
        assert len(seen) == 20 and seen[-1].t == -1 and seen[0].t == 950
        assert torch.equal(seen[-1].image, seen[-1].state)  # at the end the guess is the point itself
        errors[method] = (seen[-1].state - (MU + S * x1)).abs().max().item()
    assert errors["heun"] < 5e-3 and errors["heun"] < errors["euler"] / 5, errors
    many = last(flow_sample(gaussian_velocity, x1, 200, "euler")).state
    assert (many - (MU + S * x1)).abs().max() < errors["euler"] / 5  # Euler converges as its steps shrink


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_encoding_is_the_exact_inverse_of_decoding_with_the_same_steps(method):
    x0 = MU + S * torch.randn(8, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    x1 = last(flow_invert(gaussian_velocity, x0, 8, method)).state
    back = last(flow_sample(gaussian_velocity, x1, 8, method)).state
    assert (back - x0).norm() / x0.norm() < 1e-5


def test_an_inversion_that_cannot_settle_says_how_far_it_missed():
    """v = -k x with 4 Euler steps of 0.25: the fixed point settles for k = 2 (step x steepness 0.5) and not for
    k = 10 (2.5): there the closest point is kept and its miss reported, never a silent blow-up."""
    x0 = torch.randn(4, 8, generator=torch.Generator().manual_seed(6))
    for k, settles in ((2.0, True), (10.0, False)):
        final = last(flow_invert(lambda x, t, k=k: -k * x, x0, 4, "euler"))
        back = last(flow_sample(lambda x, t, k=k: -k * x, final.state, 4, "euler")).state
        assert torch.isfinite(final.state).all()
        assert (final.loss <= 1e-6) == settles, (k, final.loss)
        if settles:
            assert (back - x0).norm() / x0.norm() < 1e-5


@pytest.mark.parametrize("dims", [6, 200])  # the exact trace, then Hutchinson's estimate (exact here: J is a I)
def test_the_log_likelihood_is_the_datas_own_density(dims):
    x0 = MU + S * torch.randn(5, dims, generator=torch.Generator().manual_seed(4))
    truth = (-0.5 * ((x0 - MU) / S) ** 2 - math.log(S) - 0.5 * math.log(2 * math.pi)).sum(1)
    final = last(log_likelihood(gaussian_velocity, x0, steps=40, generator=torch.Generator().manual_seed(5)))
    assert torch.allclose(final.result, truth, rtol=2e-3, atol=2e-2)
    assert torch.allclose(bits_per_dim(final.result, dims), -truth / (dims * math.log(2)), rtol=2e-3, atol=2e-3)


def test_the_divergence_is_the_jacobians_trace_exact_or_estimated():
    """A field v = A x with A not diagonal: the exact trace is trace(A); Hutchinson's estimate averages to it."""
    a = torch.randn(8, 8, generator=torch.Generator().manual_seed(7))
    x = torch.randn(3, 8, generator=torch.Generator().manual_seed(8))
    field = lambda x, t: x @ a.T  # noqa: E731
    _, exact = divergence(field, x, torch.zeros(3), None)
    assert torch.allclose(exact, a.trace().expand(3), atol=1e-5)
    signs = torch.randint(0, 2, (4000, 3, 8), generator=torch.Generator().manual_seed(9)).float() * 2 - 1
    _, estimate = divergence(field, x, torch.zeros(3), signs)
    assert torch.allclose(estimate, a.trace().expand(3), atol=0.25)
    assert not torch.allclose(exact, a.sum().expand(3), atol=0.5)  # not the sum of all its entries


def test_bend_is_zero_for_a_straight_path_and_pi_over_2_less_1_for_a_half_circle():
    line = torch.linspace(0, 1, 11)[:, None, None] * torch.tensor([[3.0, 4.0]])
    angles = torch.linspace(0, math.pi, 401)
    circle = torch.stack([angles.cos(), angles.sin()], dim=1)[:, None]
    assert bend(line).abs().max() < 1e-6
    assert bend(circle).item() == pytest.approx(math.pi / 2 - 1, abs=1e-4)


def test_a_wrong_method_or_step_count_is_one_sentence():
    with pytest.raises(ValueError, match="choose euler or heun"):
        list(flow_sample(gaussian_velocity, torch.zeros(1, 2), 4, "rk4"))
    with pytest.raises(ValueError, match="at least 1 step"):
        list(flow_sample(gaussian_velocity, torch.zeros(1, 2), 0))
