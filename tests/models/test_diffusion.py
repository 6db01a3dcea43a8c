import pytest
import torch

from models.diffusion import (
    Diffusion,
    NoiseSchedule,
    cosine_betas,
    ddim_invert,
    ddim_sample,
    ddpm_sample,
    linear_betas,
    run_sampler,
    sample,
)
from models.generative import Decoding, Encoding, last
from tests.models.tiny import tiny_diffusion

DATA_STD = 0.5


def gaussian_eps(schedule: NoiseSchedule):
    """The exact noise predictor when the data are N(0, DATA_STD^2): E[eps | x_t] in closed form."""

    def eps(x, t):
        abar = schedule.abar(t).view(-1, 1, 1, 1)
        return (1 - abar).sqrt() * x / (abar * DATA_STD**2 + 1 - abar)

    return eps


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedules(kind):
    s = NoiseSchedule(kind, 1000)
    abar = s.alphas_cumprod
    assert abar.shape == (1000,)
    assert (abar[1:] < abar[:-1]).all() and 0 < abar[-1] < 0.01 and abar[0] > 0.99
    assert s.abar(torch.tensor(-1)) == 1.0
    signal, noise = s.signal_and_noise()
    assert torch.allclose(signal**2 + noise**2, torch.ones(1000))


def test_schedule_formulas():
    assert linear_betas(1000)[0].item() == pytest.approx(1e-4) and linear_betas(1000)[-1].item() == pytest.approx(0.02)
    # The cosine schedule destroys information more slowly in the middle than the linear one.
    lin, cos = NoiseSchedule("linear"), NoiseSchedule("cosine")
    assert cos.alphas_cumprod[500] > lin.alphas_cumprod[500]
    assert cosine_betas(1000).max() <= 0.999


def test_forward_process_statistics():
    s = NoiseSchedule("linear", 1000)
    x0 = torch.full((20000, 1, 1, 1), 0.8)
    t = torch.full((20000,), 300)
    xt = s.q_sample(x0, t, torch.randn_like(x0))
    abar = s.alphas_cumprod[300]
    assert xt.mean().item() == pytest.approx((abar.sqrt() * 0.8).item(), abs=0.02)
    assert xt.var().item() == pytest.approx((1 - abar).item(), abs=0.02)


def test_sampling_timesteps():
    s = NoiseSchedule("cosine", 1000)
    ts = s.sampling_timesteps(50)
    assert len(ts) == 50 and ts[0] == 980 and ts[-1] == 0 and ts == sorted(ts, reverse=True)
    assert len(set(s.sampling_timesteps(999))) == 999
    assert s.sampling_timesteps(1000) == list(range(999, -1, -1))


def test_every_sampler_yields_each_step_and_stops_when_asked():
    s = NoiseSchedule("cosine", 100)
    calls = []
    eps_fn = gaussian_eps(s)

    def counting(x, t):
        calls.append(int(t[0]))
        return eps_fn(x, t)

    steps = ddim_sample(counting, s, torch.randn(2, 3, 4, 4), steps=10)
    for i, step in enumerate(steps):
        assert step.state.shape == (2, 3, 4, 4) and step.image.shape == (2, 3, 4, 4)
        assert step.done == i + 1 and step.total == 10
        if i == 2:
            break
    assert len(calls) == 3  # nothing computed after the caller stopped asking
    all_steps = list(ddpm_sample(eps_fn, s, torch.randn(1, 3, 4, 4)))
    assert len(all_steps) == 100 and all_steps[-1].t == -1 and all_steps[0].t == 98


def test_eta_one_step_is_ddpm_posterior_step():
    """DDIM with eta = 1 is exactly DDPM's ancestral step: posterior mean plus sqrt(beta~) noise."""
    s = NoiseSchedule("linear", 100)
    eps_fn = gaussian_eps(s)
    x = torch.randn(3, 3, 4, 4) * 3  # large enough that x0 gets clipped
    step = next(sample(eps_fn, s, x, steps=100, eta=1.0, seed=5))
    t, tp = 99, 98
    abar, abar_prev, beta = s.alphas_cumprod[t], s.alphas_cumprod[tp], s.betas[t]
    eps = eps_fn(x, torch.full((3,), t))
    x0 = ((x - (1 - abar).sqrt() * eps) / abar.sqrt()).clamp(-1, 1)
    mean = abar_prev.sqrt() * beta / (1 - abar) * x0 + (1 - beta).sqrt() * (1 - abar_prev) / (1 - abar) * x
    var = (1 - abar_prev) / (1 - abar) * beta
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(step.state, mean + var.sqrt() * noise, atol=1e-5)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_samplers_reach_the_data_distribution(eta):
    s = NoiseSchedule("cosine", 1000)
    x_T = torch.randn(4000, 1, 1, 1, generator=torch.Generator().manual_seed(0))
    steps = 1000 if eta == 1.0 else 50
    final = list(sample(gaussian_eps(s), s, x_T, steps=steps, eta=eta, clip=False))[-1]
    assert final.state.std().item() == pytest.approx(DATA_STD, rel=0.05)
    assert final.state.mean().item() == pytest.approx(0.0, abs=0.05)


def test_ddim_is_deterministic_and_ddpm_follows_its_seed():
    s = NoiseSchedule("cosine", 100)
    eps_fn, x_T = gaussian_eps(s), torch.randn(2, 3, 4, 4)
    a = list(ddim_sample(eps_fn, s, x_T, 20, eta=0.0, seed=1))[-1].state
    b = list(ddim_sample(eps_fn, s, x_T, 20, eta=0.0, seed=2))[-1].state
    assert torch.equal(a, b)
    c = list(ddpm_sample(eps_fn, s, x_T, seed=1))[-1].state
    d = list(ddpm_sample(eps_fn, s, x_T, seed=1))[-1].state
    e = list(ddpm_sample(eps_fn, s, x_T, seed=2))[-1].state
    assert torch.equal(c, d) and not torch.equal(c, e)


def test_ddim_inversion_round_trip_with_exact_noise_predictor():
    s = NoiseSchedule("cosine", 1000)
    eps_fn = gaussian_eps(s)
    x0 = torch.rand(2, 3, 8, 8) - 0.5
    x_T = list(ddim_invert(eps_fn, s, x0, steps=100, refine=0, clip=False))[-1].state
    # For N(0, s^2) data the deterministic flow maps x0 to x0 / s: it really went all the way to noise.
    assert torch.allclose(x_T, x0 / DATA_STD, atol=0.05)
    back = list(sample(eps_fn, s, x_T, steps=100, clip=False))[-1].state
    assert (back - x0).abs().max().item() < 0.02


def test_model_surface_and_determinism():
    torch.manual_seed(0)
    model = Diffusion(tiny_diffusion())
    torch.nn.init.normal_(model.unet.out.weight, std=0.05)  # a non-trivial noise predictor
    model.eval()
    z = model.sample_latents(2, seed=3)
    assert z.shape == (2, 3, 16, 16) and model.latent_shape == (3, 16, 16)
    a, b = model.decode(z, Decoding(steps=5)), model.decode(z, Decoding(steps=5))
    assert torch.equal(a, b) and a.shape == (2, 3, 16, 16) and a.abs().max() <= 1
    assert len(list(model.decode_steps(z, Decoding(sampler="ddpm")))) == 100  # DDPM defaults to all T steps
    with pytest.raises(ValueError):
        list(model.decode_steps(z, Decoding(sampler="euler")))
    loss = model.loss(torch.rand(4, 3, 16, 16) * 2 - 1)
    assert loss.ndim == 0 and loss.item() > 0


def test_trained_tiny_model_inverts_and_regenerates_an_image():
    from models.data import synthetic_faces

    torch.manual_seed(0)
    data = synthetic_faces(count=16, size=16, seed=0)
    model = Diffusion(tiny_diffusion())
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(150):  # far from converged: inversion must cope with an imperfect network
        loss = model.loss(data.batch(torch.randint(0, 4, (32,))))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    faces = data.batch(torch.arange(16))
    fifty = Decoding(steps=50)
    latents = model.encode(faces[:2], Encoding(decoding=fifty))
    assert latents.shape == (2, 3, 16, 16)
    back = model.decode(latents, fifty)
    distance = (back[:, None] - faces[None]).abs().flatten(2).mean(2)  # (2 regenerated, 16 faces)
    assert distance.argmin(1).tolist() == [0, 1]  # each comes back as itself, not as another face
    assert distance[0, 0] < 0.03 and distance[1, 1] < 0.03  # and closely: under 1.5 % of the range
    plain = model.decode(last(model.encode_steps(faces[:2], Encoding(decoding=fifty), refine=0)).state, fifty)
    assert (plain - faces[:2]).abs().mean() > 2 * distance[[0, 1], [0, 1]].mean()  # refinement is what makes it close


def test_dpm_solver_reaches_the_ode_solution_in_fewer_steps_than_ddim():
    """DPM-Solver++ 2M and DDIM solve the same probability-flow ODE; with the exact noise predictor the second-order
    solver's 10 steps land nearer the 1000-step solution than DDIM's 10 steps do."""
    s = NoiseSchedule("cosine", 1000)
    eps_fn = gaussian_eps(s)
    x_T = torch.randn(500, 1, 2, 2, generator=torch.Generator().manual_seed(3))
    reference = list(sample(eps_fn, s, x_T, steps=1000, clip=False))[-1].state
    ddim = list(run_sampler(eps_fn, s, x_T, "ddim", 10, clip=False))[-1].state
    dpm = list(run_sampler(eps_fn, s, x_T, "dpm++", 10, clip=False))[-1].state
    ddim_error, dpm_error = (ddim - reference).abs().mean(), (dpm - reference).abs().mean()
    assert dpm_error < 0.5 * ddim_error, (dpm_error, ddim_error)
    steps = list(run_sampler(eps_fn, s, x_T, "dpm++", 20, clip=False))
    assert len(steps) == 20 and steps[-1].t == -1 and steps[-1].state.std() == pytest.approx(DATA_STD, rel=0.05)
    with pytest.raises(ValueError, match="dpm"):
        run_sampler(eps_fn, s, x_T, "euler", 10)
