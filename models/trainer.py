"""What every family's trainer shares: one optimisation step per call, its optimisers and moving averages (the
trainers are in models/families/, the loop in train.py).

A trainer works on plain modules or on their DistributedDataParallel wrappers (`wrap`), so one code path
serves a single process and `torchrun`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from models.family import get_family
from models.generative import Decoding, GenerativeModel

Wrap = Callable[[nn.Module], nn.Module]
NextBatch = Callable[[], torch.Tensor]


@dataclass
class StepResult:
    losses: dict[str, float]  # scalars, all must be finite
    extra: dict[str, Any] = field(default_factory=dict)  # JSON-able details (e.g. KL per dimension)


class EMA:
    """An exponential moving average of a module's weights: smoother, better samples than the raw weights."""

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        # A short warm-up so early samples are not dominated by the random initial weights.
        decay = min(self.decay, (1 + step) / (10 + step))
        for ema_p, p in zip(self.module.parameters(), module.parameters()):
            ema_p.lerp_(p.detach(), 1 - decay)
        for ema_b, b in zip(self.module.buffers(), module.buffers()):
            ema_b.copy_(b)


def adam(params, lr: float, betas=(0.9, 0.999)) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=betas)


class FamilyTrainer:
    """Base: subclasses implement step(); the model they export is what checkpoints and samples use."""

    images_per_step = 1  # real images consumed per step, in units of the batch size

    def __init__(self, model: GenerativeModel, lr: float | None, ema: float | None, wrap: Wrap,
                 generator: torch.Generator):
        self.model = model
        self.lr = self.default_lr(model.config) if lr is None else lr
        self.ema_decay = get_family(model.family).default_ema if ema is None else ema
        self.wrap = wrap
        self.noise = generator  # CPU generator for every random draw the step makes

    @classmethod
    def default_lr(cls, config: Any) -> float:
        """The learning rate of a run that does not choose one."""
        raise NotImplementedError

    def step(self, next_batch: NextBatch) -> StepResult:
        raise NotImplementedError

    def export(self) -> GenerativeModel:
        """The model to save and sample from (moving-average weights where the family keeps them)."""
        return self.model

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def preview(self, model: GenerativeModel, latents: torch.Tensor, decoding: Decoding) -> torch.Tensor:
        """The sample grid's images, from the exported model: its samples from the grid's fixed latents. A trainer
        whose samples would show nothing of what it trains (an autoencoder stage) shows something that does."""
        return model.decode(latents, decoding)

    def _randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=self.noise).to(self.model.device)


class OneOptimiserTrainer(FamilyTrainer):
    """The common case: one network (`net`, the model wrapped for torchrun) and one Adam over all its weights, saved
    and resumed with the model. A family's trainer then says only what one step is and its default learning rate."""

    def __init__(self, model: GenerativeModel, lr: float | None, ema: float | None, wrap: Wrap,
                 generator: torch.Generator):
        super().__init__(model, lr, ema, wrap, generator)
        self.net = wrap(model)
        self.opt = adam(model.parameters(), self.lr)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])


def make_trainer(model: GenerativeModel, lr: float | None, ema: float | None, wrap: Wrap,
                 generator: torch.Generator) -> FamilyTrainer:
    return get_family(model.family).trainer_class(model, lr, ema, wrap, generator)


def adaptive_weight(reconstruction: torch.Tensor, adversarial: torch.Tensor, last: nn.Parameter) -> torch.Tensor:
    """How much the adversarial term must be scaled for its gradient at `last` (the decoder's output layer) to be as
    large as the reconstruction's (Esser et al. 2021); detached, and bounded so a vanishing gradient cannot make it
    explode."""
    (g_rec,) = torch.autograd.grad(reconstruction, last, retain_graph=True)
    (g_adv,) = torch.autograd.grad(adversarial, last, retain_graph=True)
    return (g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(0.0, 1e4).detach()


def agreed(values: torch.Tensor) -> torch.Tensor:
    """The mean of `values` over every torchrun process (as they are, in one process). Whether the discriminator
    steps is decided from it, so that every process takes the same branch: one that skips the step while another
    steps would leave DistributedDataParallel's gradient exchange waiting, or mixed with the next one."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / dist.get_world_size()
