"""Flow matching: a velocity field that carries noise to data along (nearly) straight paths, and what it gives.

Lipman et al. 2023 ("Flow Matching for Generative Modeling") and Liu et al. 2023 (rectified flow). Time runs from
t = 0 (data) to t = 1 (noise), as diffusion's does: the path between a data point x0 and a noise draw e is the straight
line x_t = (1 - t) x0 + t e, along which it moves at the constant velocity e - x0. A network v(x_t, t) trained to
predict that velocity from x_t alone (the mean squared error, `flow_loss`) learns the velocity field of an ODE
whose solution from t = 1 to 0 carries the noise distribution onto the data's.

- Sampling (`flow_sample`) integrates that ODE from noise to data with Euler or Heun steps. Every step also has a
  guess of where it ends: x_t - t v (following the present velocity in a straight line to t = 0).
- Encoding (`flow_invert`) runs the same steps backwards from data to noise. Each backward step is solved so that
  the forward step lands exactly where it started (a fixed-point iteration), so decoding an encoding gives the
  latent back to the iteration's tolerance, not to the steps' truncation error: encode and decode are inverses
  (where the iteration settles; where it cannot, each step reports how far it missed).
- The exact log-likelihood (`log_likelihood`) comes from the instantaneous change of variables (Chen et al. 2018):
  along the ODE, d log p(x_t) / dt = -div v(x_t, t), so log p_0(x0) = log N(x_1; 0, I) + integral of div v from 0
  to 1. The divergence is the trace of v's Jacobian: exact (one backward pass per dimension) where that is cheap,
  Hutchinson's estimator (Grathwohl et al. 2019, FFJORD) otherwise: E[e^T J e] over random signs e.
- How straight a path is (`bend`): its length over the distance between its ends, less 1; 0 for a straight line.

Everything takes the velocity as a function v(x, t) of a batch x (N, ...) and times t (N,) in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from models.progress import Progress

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
METHODS = ("euler", "heun")
TIME_UNITS = 1000  # a step's `t` in Progress, and the network's time input: t in [0, 1] times this, as diffusion's
EXACT_TRACE_MAX = 64  # dimensions up to which the divergence is exact rather than estimated


def flow_path(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The straight path's point at times t (N,) and its velocity: (x_t, noise - x0)."""
    tt = t.view(-1, *([1] * (x0.dim() - 1))).to(x0)
    return (1 - tt) * x0 + tt * noise, noise - x0


def flow_loss(velocity: Velocity, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The flow matching loss: the squared error of the predicted velocity at a uniformly drawn t per example."""
    t = torch.rand(x0.shape[0], generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
    x_t, target = flow_path(x0, noise, t)
    return F.mse_loss(velocity(x_t, t), target)


def _times(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.full((x.shape[0],), float(t), device=x.device, dtype=x.dtype)


def _step(velocity: Velocity, x: torch.Tensor, t: float, t_next: float, method: str
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """One step from t to t_next: (the new point, the velocity the step moved at). Heun's is the mean of the
    velocity at the start and at Euler's guess of the end (Karras et al. 2022's second-order sampler)."""
    h = t_next - t
    v = velocity(x, _times(x, t))
    if method == "heun":
        v = 0.5 * (v + velocity(x + h * v, _times(x, t_next)))
    return x + h * v, v


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown flow sampler {method!r}; choose {' or '.join(METHODS)}")


def time_grid(steps: int) -> list[float]:
    """steps + 1 evenly spaced times from 1 (noise) down to 0 (data)."""
    if int(steps) < 1:
        raise ValueError(f"a flow needs at least 1 step, not {steps}")
    return [1.0 - i / steps for i in range(steps + 1)]


@torch.no_grad()
def flow_sample(velocity: Velocity, x1: torch.Tensor, steps: int = 20, method: str = "heun") -> Iterator[Progress]:
    """From noise x1 (t = 1) to data (t = 0) in `steps` steps (Euler: one network call a step; Heun: two). Each
    step's `state` is x at the new time, its `image` the straight-line guess of the end (on from x at the velocity
    the step moved at: x_t - t v; x itself at the last step) and `t` the new time in TIME_UNITS (-1 at the end, as
    a diffusion sampler says)."""
    check_method(method)
    grid = time_grid(steps)
    x = x1
    for i in range(steps):
        t, t_next = grid[i], grid[i + 1]
        x, v = _step(velocity, x, t, t_next, method)
        shown_t = round(t_next * TIME_UNITS) if t_next > 0 else -1
        yield Progress(i + 1, steps, state=x, image=x - t_next * v, t=shown_t)


INVERT_TOLERANCE = 1e-6  # how near (relative to the point's size) the forward step must land on where it started
INVERT_MAX_ITERATIONS = 50


@torch.no_grad()
def flow_invert(velocity: Velocity, x0: torch.Tensor, steps: int = 20, method: str = "heun",
                tolerance: float = INVERT_TOLERANCE, max_iterations: int = INVERT_MAX_ITERATIONS
                ) -> Iterator[Progress]:
    """From data x0 back to the noise that flow_sample with the same steps and method maps onto it. Each backward
    step from t_next up to t starts from the step run in reverse (a guess) and is refined by the fixed point
    x = x_next - (step(x) - x) until the forward step from x lands on x_next within `tolerance` (relative), or
    `max_iterations` have passed. The iteration settles only where a step is short against how fast the field
    changes (step size x its steepness below 1): where it does not, the closest point found is kept, and every
    step's `loss` is the worst relative miss so far, so a caller can tell an exact inverse from an approximate one.
    Yields each step's x (`state`, the last is the noise) and its time in TIME_UNITS."""
    check_method(method)
    grid = time_grid(steps)[::-1]  # 0 ... 1
    x, worst = x0, 0.0
    for i in range(steps):
        t_next, t = grid[i], grid[i + 1]  # the forward step goes from t down to t_next
        x_next = x
        size = x_next.norm().clamp_min(1e-12)
        x = x_next + (t - t_next) * velocity(x_next, _times(x, t_next))  # run backwards: the first guess
        best, best_miss = x, float("inf")
        for _ in range(max_iterations):
            landed, _ = _step(velocity, x, t, t_next, method)
            miss = float((landed - x_next).norm() / size)
            if miss < best_miss:
                best, best_miss = x, miss
            if miss <= tolerance or not math.isfinite(miss):
                break
            x = x + (x_next - landed)
        x, worst = best, max(worst, best_miss)
        yield Progress(i + 1, steps, state=x, t=round(t * TIME_UNITS), loss=worst)


def divergence(velocity: Velocity, x: torch.Tensor, t: torch.Tensor, probes: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(v(x, t), div v at x) per example. probes (K, N, ...) of random signs: Hutchinson's estimate, the mean of
    e^T J e; None: the exact trace, one backward pass per dimension."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity(x, t)
        if probes is None:
            flat = v.flatten(1)
            trace = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
            for d in range(flat.shape[1]):
                (grad,) = torch.autograd.grad(flat[:, d].sum(), x, retain_graph=True)
                trace = trace + grad.flatten(1)[:, d]
            return v.detach(), trace
        total = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        for k, e in enumerate(probes):
            (grad,) = torch.autograd.grad((v * e).sum(), x, retain_graph=k + 1 < len(probes))
            total = total + (grad * e).flatten(1).sum(1)
        return v.detach(), total / len(probes)


def log_likelihood(velocity: Velocity, x0: torch.Tensor, steps: int = 32, probes: int = 4,
                   generator: torch.Generator | None = None) -> Iterator[Progress]:
    """log p(x0) in nats per example (N,), by the instantaneous change of variables: x0 carried to noise along the
    ODE with Heun steps, the divergence integrated by the same steps (exact trace up to
    EXACT_TRACE_MAX dimensions, else Hutchinson's estimate with `probes` fixed sign vectors per example). The last
    step's `result` is the log-likelihood; `state` is where x0 ended (the noise)."""
    dims = x0[0].numel()
    signs = None
    if dims > EXACT_TRACE_MAX:
        draws = torch.randint(0, 2, (probes, *x0.shape), generator=generator).to(x0.device, x0.dtype)
        signs = draws * 2 - 1
    grid = time_grid(steps)[::-1]
    x = x0
    integral = torch.zeros(x0.shape[0], device=x0.device, dtype=x0.dtype)
    for i in range(steps):
        # Heun's step of the augmented ODE (x, log-density): the divergence takes the same two points as x.
        t, t_next = grid[i], grid[i + 1]
        h = t_next - t
        v, div = divergence(velocity, x, _times(x, t), signs)
        v_end, div_end = divergence(velocity, x + h * v, _times(x, t_next), signs)
        x = x + h * 0.5 * (v + v_end)
        integral = integral + h * 0.5 * (div + div_end)
        log_p = None
        if i + 1 == steps:
            prior = -0.5 * (x.flatten(1).pow(2).sum(1) + dims * math.log(2 * math.pi))
            log_p = prior + integral
        yield Progress(i + 1, steps, state=x.detach(), result=log_p)


def bits_per_dim(log_p: torch.Tensor, dims: int) -> torch.Tensor:
    """-log2 p / dims: the code length per number that the model's density gives (lower is more likely)."""
    return -log_p / (dims * math.log(2))


def bend(path: torch.Tensor) -> torch.Tensor:
    """How far each path bends: path (S+1, N, ...) of points from start to end -> its length over the straight
    distance between its ends, less 1 (N,): 0 for a straight line, 0.57 for a half circle (pi/2 - 1)."""
    steps = (path[1:] - path[:-1]).flatten(2).norm(dim=2).sum(0)
    chord = (path[-1] - path[0]).flatten(1).norm(dim=1)
    return steps / chord.clamp_min(1e-12) - 1
