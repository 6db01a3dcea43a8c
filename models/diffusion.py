"""Denoising diffusion: noise schedules, forward noising, DDPM and DDIM sampling, DDIM inversion.

Notation (Ho et al. 2020; Song et al. 2021): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t in [0, T).
The network predicts eps from (x_t, t). Every sampler is a generator that yields one `Progress` per step
with the time step t, x_t and the predicted x_0, so a caller can preview every step and stop at any one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from models.config_check import Choice, Whole
from models.diffusion_unet import UNet, UNetConfig
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, Decoding, Encoding, GenerativeModel
from models.progress import Progress

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddim", "ddpm", "dpm++")  # Decoding.sampler values a diffusion family accepts
NOISE_FLOOR = 8e-4  # the least abar a sampler starts from (see NoiseSchedule.sampling_timesteps)
EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t (N,3,H,W), t (N,) long) -> eps


@dataclass
class DiffusionConfig(UNetConfig):
    schedule: str = "cosine"
    timesteps: int = 1000

    # Checked by UNetConfig.__post_init__ with the U-Net's own fields. The schedule's buffers hold a few numbers per
    # time step; DDPM sampling takes one network call per step.
    RANGES: ClassVar[dict] = {**UNetConfig.RANGES, "schedule": Choice(SCHEDULES), "timesteps": Whole(2, 10_000)}


def linear_betas(timesteps: int, start: float = 1e-4, end: float = 0.02) -> torch.Tensor:
    """Ho et al.'s schedule, rescaled so that any T keeps the same total amount of noise: (T,) float64."""
    scale = 1000 / timesteps
    return torch.linspace(start * scale, end * scale, timesteps, dtype=torch.float64, device="cpu")


def cosine_betas(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """Nichol & Dhariwal's schedule: abar_t follows a squared cosine, so little is destroyed early: (T,)."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64, device="cpu") / timesteps
    abar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - abar[1:] / abar[:-1]).clamp(0, 0.999)


class NoiseSchedule(nn.Module):
    """abar_t and friends as buffers (derived from the config, so not saved in checkpoints)."""

    def __init__(self, kind: str = "cosine", timesteps: int = 1000):
        super().__init__()
        # On the CPU even inside `with torch.device("meta")` (a checkpoint's model is built there first, to check its
        # shapes): a few thousand numbers, and PyTorch's meta linspace took 1.8 s on its first call.
        betas = linear_betas(timesteps) if kind == "linear" else cosine_betas(timesteps)
        self.kind, self.timesteps = kind, timesteps
        self.register_buffer("betas", betas.float(), persistent=False)
        abar = torch.cumprod(1 - betas, 0).float()
        self.register_buffer("alphas_cumprod", abar, persistent=False)
        # The same with abar = 1 in front, so that t = -1 (a clean image) indexes like any other step.
        self.register_buffer("_abar_from_minus_one", torch.cat([abar.new_ones(1), abar]), persistent=False)

    def abar(self, t: torch.Tensor) -> torch.Tensor:
        """abar_t for integer t (any shape); t = -1 means 'no noise at all' (abar = 1)."""
        t = torch.as_tensor(t, device=self._abar_from_minus_one.device)
        return self._abar_from_minus_one[t.long() + 1]

    def signal_and_noise(self) -> tuple[torch.Tensor, torch.Tensor]:
        """sqrt(abar_t) and sqrt(1 - abar_t) for every t: how much image and how much noise x_t holds."""
        return self.alphas_cumprod.sqrt(), (1 - self.alphas_cumprod).sqrt()

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Forward process q(x_t | x_0): x0, noise (N, 3, H, W); t (N,) long -> x_t."""
        abar = self.abar(t).view(-1, 1, 1, 1)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def sampling_timesteps(self, steps: int) -> list[int]:
        """`steps` time steps, descending to 0 (all of them when steps >= T).

        They are evenly spaced from the last step whose abar is still at least NOISE_FLOOR down to 0, so that a
        5-step sampler starts from (nearly) pure noise as a 50-step one does; for 50 steps of a 1000-step cosine
        schedule this is DDIM's own grid 980, 960, ..., 0. They stop short of T-1: under the cosine schedule
        abar_{T-1} is about 2e-9, the image is all but gone, a step to or from there is ill-conditioned and DDIM
        inversion would lose the image there. Starting at t = 980 (abar about 9e-4, a signal of 3 %) from pure
        noise costs nothing visible.
        """
        steps = max(1, min(int(steps), self.timesteps))
        top = int((self.alphas_cumprod >= NOISE_FLOOR).sum().item()) - 1
        if steps >= top + 1 or top < 1:  # as many steps as the grid has: every one (DDPM's own sampler)
            stride = self.timesteps / steps
            return [int(i * stride) for i in range(steps)][::-1]
        if steps == 1:
            return [top]
        return [round(top * (steps - 1 - i) / (steps - 1)) for i in range(steps)]

    def logsnr_timesteps(self, steps: int) -> list[int]:
        """`steps` time steps from the same start as sampling_timesteps down to 0, evenly spaced in log
        signal-to-noise ratio (lambda) rather than in t, as DPM-Solver recommends for small images: a multistep
        solver then takes equal steps in lambda. Evenly spaced t would leave its last step, into t = 0 where lambda
        shoots up, many times longer than the one before, and the second-order extrapolation across it overshoots
        (measured with the exact noise predictor of Gaussian data: 10 steps landed 5x farther from the ODE's
        solution than DDIM's). Near t = 0 whole steps are coarse in lambda; each time step is kept at least one
        below the one before, so there are always `steps` distinct ones."""
        grid = self.sampling_timesteps(steps)
        if len(grid) < 3 or grid == list(range(len(grid) - 1, -1, -1)):
            return grid
        abar = self.alphas_cumprod.double()
        lam = 0.5 * (abar.log() - (1 - abar).log())
        targets = torch.linspace(float(lam[grid[0]]), float(lam[0]), len(grid), dtype=torch.float64)
        ts = [int((lam - target).abs().argmin()) for target in targets]
        ts[-1] = 0
        for i in range(len(ts) - 2, -1, -1):  # strictly descending, counted up from 0
            ts[i] = max(ts[i], ts[i + 1] + 1)
        # Nearly as many steps as the grid has (a short schedule): no room to space them; the even grid.
        return grid if ts[0] > grid[0] else ts


def diffusion_loss(eps_fn: EpsFn, schedule: NoiseSchedule, x0: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Ho et al.'s simple loss: mean squared error of the predicted noise, at a uniformly drawn t per image."""
    t = torch.randint(0, schedule.timesteps, (x0.shape[0],), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
    return F.mse_loss(eps_fn(schedule.q_sample(x0, t, noise), t), noise)


def _predict_x0(schedule: NoiseSchedule, x: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
    abar = schedule.abar(torch.tensor(t))
    return (x - (1 - abar).sqrt() * eps) / abar.sqrt()


def _time(t: int, x: torch.Tensor) -> torch.Tensor:
    return torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)


@torch.no_grad()
def sample(eps_fn: EpsFn, schedule: NoiseSchedule, x_T: torch.Tensor, steps: int = 50, eta: float = 0.0,
           seed: int = 0, clip: bool = True) -> Iterator[Progress]:
    """The generalised DDIM sampler: eta = 0 is deterministic DDIM, eta = 1 is DDPM's ancestral sampling.

    With eta = 1 the step variance equals DDPM's posterior variance beta~_t, so over all T steps this is
    exactly Ho et al.'s sampler, and over fewer steps it is DDPM on a respaced schedule.
    clip keeps the predicted x_0 inside [-1, 1] within each update (and uses the noise consistent with
    it): a small pixel-space model otherwise drifts into saturated colours. ddim_invert undoes this
    clipped step exactly.
    x_T: (N, 3, H, W) standard normal noise. Yields (t, x_t, predicted x_0) at every step.
    """
    timesteps = schedule.sampling_timesteps(steps)
    noise_gen = torch.Generator().manual_seed(int(seed))
    x = x_T
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        eps = eps_fn(x, _time(t, x))
        x0 = _predict_x0(schedule, x, eps, t)
        abar, abar_prev = schedule.abar(torch.tensor(t)), schedule.abar(torch.tensor(t_prev))
        if clip:
            x0 = x0.clamp(-1, 1)
            eps = (x - abar.sqrt() * x0) / (1 - abar).sqrt()
        sigma = eta * ((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev)).sqrt()
        x = abar_prev.sqrt() * x0 + (1 - abar_prev - sigma**2).clamp(min=0).sqrt() * eps
        if eta > 0 and t_prev >= 0:
            x = x + sigma * torch.randn(x.shape, generator=noise_gen).to(x.device, x.dtype)
        yield Progress(i + 1, len(timesteps), state=x, image=x0, t=t_prev)  # clamped above when clip


def ddpm_sample(eps_fn: EpsFn, schedule: NoiseSchedule, x_T: torch.Tensor, steps: int | None = None,
                seed: int = 0) -> Iterator[Progress]:
    """DDPM ancestral sampling over all T steps (or a respaced subset of `steps`)."""
    return sample(eps_fn, schedule, x_T, steps or schedule.timesteps, eta=1.0, seed=seed)


def ddim_sample(eps_fn: EpsFn, schedule: NoiseSchedule, x_T: torch.Tensor, steps: int = 50, eta: float = 0.0,
                seed: int = 0) -> Iterator[Progress]:
    """DDIM sampling with `steps` steps; eta in [0, 1] blends from deterministic to DDPM-like."""
    return sample(eps_fn, schedule, x_T, steps, eta=eta, seed=seed)


@torch.no_grad()
def dpm_solver_sample(eps_fn: EpsFn, schedule: NoiseSchedule, x_T: torch.Tensor, steps: int = 20,
                      clip: bool = True) -> Iterator[Progress]:
    """DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
    Models", Algorithm 2): a second-order multistep solver of the diffusion ODE in its data-prediction form.

    With lambda_t = log(alpha_t / sigma_t) and h the step in lambda, one step is
        x_i = (sigma_i / sigma_{i-1}) x_{i-1} - alpha_i (exp(-h_i) - 1) D_i,
    where D_i = x0_{i-1} on the first step (first order: this is DDIM) and afterwards
        D_i = (1 + 1 / (2 r_i)) x0_{i-1} - 1 / (2 r_i) x0_{i-2},  r_i = h_{i-1} / h_i,
    a linear extrapolation of the predicted clean image from the last two network calls, so the second order
    costs no extra call. The last step, to a clean image (sigma = 0, lambda infinite), is first order: the
    predicted x_0 itself. clip keeps each predicted x_0 inside [-1, 1] (pixels; not a latent).
    The steps are evenly spaced in lambda (NoiseSchedule.logsnr_timesteps), not in t.
    x_T: (N, C, H, W) standard normal noise. Yields (t, x_t, predicted x_0) at every step, as `sample` does.
    """
    timesteps = schedule.logsnr_timesteps(steps)
    x, previous = x_T, None
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        abar, abar_prev = schedule.abar(torch.tensor(t)), schedule.abar(torch.tensor(t_prev))
        x0 = _predict_x0(schedule, x, eps_fn(x, _time(t, x)), t)
        if clip:
            x0 = x0.clamp(-1, 1)
        if t_prev < 0:
            x = x0
        else:
            alpha, sigma = abar.sqrt(), (1 - abar).sqrt()
            alpha_prev, sigma_prev = abar_prev.sqrt(), (1 - abar_prev).sqrt()
            h = torch.log(alpha_prev / sigma_prev) - torch.log(alpha / sigma)
            data = x0
            if previous is not None:
                r = previous[1] / h
                data = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * previous[0]
            x = (sigma_prev / sigma) * x - alpha_prev * torch.expm1(-h) * data
            previous = (x0, h)
        yield Progress(i + 1, len(timesteps), state=x, image=x0, t=t_prev)  # clamped above when clip


def run_sampler(eps_fn: EpsFn, schedule: NoiseSchedule, x_T: torch.Tensor, sampler: str, steps: int | None,
                eta: float = 0.0, seed: int = 0, clip: bool = True) -> Iterator[Progress]:
    """The sampler a Decoding names: "ddim" (steps default 50, eta), "ddpm" (all T steps unless told), "dpm++"
    (DPM-Solver++ 2M, steps default 20). ValueError naming the choices for any other."""
    if sampler == "ddpm":
        return sample(eps_fn, schedule, x_T, steps or schedule.timesteps, eta=1.0, seed=seed, clip=clip)
    if sampler == "ddim":
        return sample(eps_fn, schedule, x_T, steps or 50, eta=eta, seed=seed, clip=clip)
    if sampler == "dpm++":
        return dpm_solver_sample(eps_fn, schedule, x_T, steps or 20, clip=clip)
    raise ValueError(f"unknown sampler {sampler!r}; choose {', '.join(SAMPLERS)}")


@torch.no_grad()
def ddim_invert(eps_fn: EpsFn, schedule: NoiseSchedule, x0: torch.Tensor, steps: int = 50, refine: int = 4,
                clip: bool = True) -> Iterator[Progress]:
    """DDIM inversion: run the deterministic sampler backwards, image x0 -> the x_T that DDIM maps back to it.

    A sampling step from t_next to t uses the noise predicted at x_{t_next}, a point inversion has not
    reached yet. Plain inversion (refine = 0) uses the noise at x_t instead, which a less than perfect
    network turns into a visible error. Each of `refine` fixed-point iterations (as in Pan et al. 2023
    and ReNoise, 2024) costs one more network evaluation and solves for the x_{t_next} from which the
    sampler's step lands exactly on x_t.
    With clip, the iterations solve for the clipped step only where the sampler would clip (its predicted
    x_0 outside [-1, 1]) and for the plain step elsewhere, where the two agree. Solving for the clipped
    step everywhere is unstable at low noise (its update divides by the small noise scale): on a 32 px
    model trained 3,000 steps it sent x_T to a standard deviation of 148 and the round trip missed by
    0.94 (mean absolute error, range 2); this way x_T has a standard deviation of 1.03 and the clipped
    sampler brings back the image within 0.001-0.003.
    Yields (t, x_t, predicted x_0); the last state is x_T, shape of x0.
    """
    timesteps = schedule.sampling_timesteps(steps)[::-1]
    x = x0
    t_cur = -1
    for i, t_next in enumerate(timesteps):
        abar, abar_next = schedule.abar(torch.tensor(t_cur)), schedule.abar(torch.tensor(t_next))
        a, s, a_next, s_next = abar.sqrt(), (1 - abar).sqrt(), abar_next.sqrt(), (1 - abar_next).sqrt()
        t = _time(t_next, x)
        guess = x
        for k in range(1 + max(0, refine)):
            eps = eps_fn(guess, t)
            x0_pred = (x - s * eps) / a  # the image the step must keep (exact for an unclipped step)
            solved = a_next * x0_pred + s_next * eps
            if clip and k > 0 and t_cur >= 0:
                # Where the sampler would clip, solve for its clipped step instead.
                sampler_x0 = (guess - s_next * eps) / a_next
                clipped_eps = (x - a * sampler_x0.clamp(-1, 1)) / s
                solved = torch.where(sampler_x0.abs() > 1, a_next * sampler_x0.clamp(-1, 1) + s_next * clipped_eps,
                                     solved)
            guess = solved
        x, t_cur = guess, t_next
        yield Progress(i + 1, len(timesteps), state=x, image=x0_pred.clamp(-1, 1) if clip else x0_pred, t=t_next)


class Diffusion(GenerativeModel):
    family = "diffusion"

    def __init__(self, config: DiffusionConfig | None = None):
        super().__init__(config or DiffusionConfig())
        self.unet = UNet(self.config)
        self.schedule = NoiseSchedule(self.config.schedule, self.config.timesteps)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (3, self.image_size, self.image_size)

    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predicted noise for x_t (N, 3, H, W) at time steps t (N,) long."""
        return self.unet(x, t)

    def loss(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise-prediction loss of a batch x0 (N, 3, H, W) in [-1, 1]; see diffusion_loss."""
        return diffusion_loss(self.eps, self.schedule, x0, generator)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        """Sampling from x_T = latents; steps defaults to 50 for DDIM, 20 for DPM-Solver++ and all T for DDPM."""
        d = decoding
        return run_sampler(self.eps, self.schedule, latents, d.sampler, d.steps, eta=d.eta, seed=d.seed)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING,
                     refine: int = 4) -> Iterator[Progress]:
        """DDIM inversion with encoding.decoding's steps (50 by default); decode with the same Decoding to get the
        image back."""
        return ddim_invert(self.eps, self.schedule, images, encoding.decoding.steps or 50, refine)
