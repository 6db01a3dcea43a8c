"""One optimisation step of each family, with its optimisers and moving averages; the loop is in train.py.

A trainer works on plain modules or on their DistributedDataParallel wrappers (`wrap`), so one code path
serves a single process and `torchrun`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from models.diffusion import Diffusion, diffusion_loss
from models.gan import (
    GAN,
    default_optimizer_settings,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    recalibrate_batchnorm,
)
from models.generative import GenerativeModel
from models.vae import VAE, vae_loss

ACTIVE_DIM_THRESHOLD = 0.05  # nats of KL a latent dimension must carry to count as "in use"
DEFAULT_LR = {"vae": 1e-3, "diffusion": 2e-4}  # the GAN's follows its loss (default_optimizer_settings)
DEFAULT_EMA = {"vae": 0.0, "gan": 0.999, "diffusion": 0.999}

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


def _adam(params, lr: float, betas=(0.9, 0.999)) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=betas)


class FamilyTrainer:
    """Base: subclasses implement step(); the model they export is what checkpoints and samples use."""

    images_per_step = 1  # real images consumed per step, in units of the batch size

    def __init__(self, model: GenerativeModel, lr: float | None, ema: float | None, wrap: Wrap,
                 generator: torch.Generator):
        self.model = model
        self.lr = lr
        self.ema_decay = DEFAULT_EMA[model.family] if ema is None else ema
        self.wrap = wrap
        self.noise = generator  # CPU generator for every random draw the step makes

    def step(self, next_batch: NextBatch) -> StepResult:
        raise NotImplementedError

    def export(self) -> GenerativeModel:
        """The model to save and sample from (moving-average weights where the family keeps them)."""
        return self.model

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=self.noise).to(self.model.device)


class VAETrainer(FamilyTrainer):
    def __init__(self, model: VAE, lr, ema, wrap, generator):
        super().__init__(model, lr, ema, wrap, generator)
        self.net = wrap(model)
        self.opt = _adam(model.parameters(), lr or DEFAULT_LR["vae"])

    def step(self, next_batch: NextBatch) -> StepResult:
        self.model.train()
        x = next_batch()
        loss, parts, kl_dims = vae_loss(x, *self.net(x), beta=self.model.config.beta)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        kl = [round(float(v), 4) for v in kl_dims]
        return StepResult(parts, {"kl_per_dim": kl, "active_dims": sum(v > ACTIVE_DIM_THRESHOLD for v in kl)})

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])


class GANTrainer(FamilyTrainer):
    def __init__(self, model: GAN, lr, ema, wrap, generator):
        super().__init__(model, lr, ema, wrap, generator)
        cfg = model.config
        default_lr, betas = default_optimizer_settings(cfg.loss)
        self.g_net, self.d_net = wrap(model.generator), wrap(model.discriminator)
        self.opt_g = _adam(model.generator.parameters(), lr or default_lr, betas)
        self.opt_d = _adam(model.discriminator.parameters(), lr or default_lr, betas)
        self.images_per_step = cfg.discriminator_steps
        self.ema = EMA(model.generator, self.ema_decay) if self.ema_decay > 0 else None
        self.steps_done = 0

    def step(self, next_batch: NextBatch) -> StepResult:
        cfg, G, D = self.model.config, self.model.generator, self.model.discriminator
        self.model.train()
        d_losses, gps, real_scores, fake_scores = [], [], [], []
        for _ in range(cfg.discriminator_steps):
            real = next_batch()
            with torch.no_grad():
                fake = G(self._randn(real.shape[0], cfg.latent_dim))
            rs, fs = self.d_net(real), self.d_net(fake)
            d_loss = discriminator_loss(cfg.loss, rs, fs)
            total = d_loss
            if cfg.loss == "wgan-gp":
                gp = gradient_penalty(self.d_net, real, fake)
                total = d_loss + cfg.gp_weight * gp
                gps.append(gp.item())
            self.opt_d.zero_grad(set_to_none=True)
            total.backward()
            self.opt_d.step()
            d_losses.append(d_loss.item())
            real_scores.append(rs.detach())
            fake_scores.append(fs.detach())

        # The generator's step sees the discriminator but must not change it (and need not compute its grads).
        D.requires_grad_(False)
        try:
            fake = self.g_net(self._randn(real.shape[0], cfg.latent_dim))
            g_loss = generator_loss(cfg.loss, D(fake))
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        finally:
            D.requires_grad_(True)
        self.steps_done += 1
        if self.ema is not None:
            self.ema.update(G, self.steps_done)

        rs, fs = torch.cat(real_scores), torch.cat(fake_scores)
        as_prob = (lambda s: s.mean()) if cfg.loss == "wgan-gp" else (lambda s: torch.sigmoid(s).mean())
        losses = {"d_loss": sum(d_losses) / len(d_losses), "g_loss": g_loss.item(),
                  "d_real": float(as_prob(rs)), "d_fake": float(as_prob(fs))}
        if gps:
            losses["gradient_penalty"] = sum(gps) / len(gps)
        return StepResult(losses)

    def export(self) -> GAN:
        exported = copy.deepcopy(self.model)
        if self.ema is not None:
            exported.generator.load_state_dict(self.ema.module.state_dict())
        recalibrate_batchnorm(exported.generator, exported.config.latent_dim)
        return exported.eval()

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "ema": self.ema.module.state_dict() if self.ema else None, "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.steps_done = int(state.get("steps_done", 0))


class DiffusionTrainer(FamilyTrainer):
    def __init__(self, model: Diffusion, lr, ema, wrap, generator, grad_clip: float = 1.0):
        super().__init__(model, lr, ema, wrap, generator)
        self.net = wrap(model.unet)
        self.opt = _adam(model.unet.parameters(), lr or DEFAULT_LR["diffusion"])
        self.ema = EMA(model.unet, self.ema_decay) if self.ema_decay > 0 else None
        self.grad_clip = grad_clip
        self.steps_done = 0

    def step(self, next_batch: NextBatch) -> StepResult:
        self.model.train()
        loss = diffusion_loss(self.net, self.model.schedule, next_batch(), self.noise)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        # Rare large gradients at tiny t would otherwise throw the small network off course.
        torch.nn.utils.clip_grad_norm_(self.model.unet.parameters(), self.grad_clip)
        self.opt.step()
        self.steps_done += 1
        if self.ema is not None:
            self.ema.update(self.model.unet, self.steps_done)
        return StepResult({"loss": loss.item()})

    def export(self) -> Diffusion:
        exported = copy.deepcopy(self.model)
        if self.ema is not None:
            exported.unet.load_state_dict(self.ema.module.state_dict())
        return exported.eval()

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "ema": self.ema.module.state_dict() if self.ema else None, "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.steps_done = int(state.get("steps_done", 0))


TRAINERS = {"vae": VAETrainer, "gan": GANTrainer, "diffusion": DiffusionTrainer}


def make_trainer(model: GenerativeModel, lr: float | None, ema: float | None, wrap: Wrap,
                 generator: torch.Generator) -> FamilyTrainer:
    return TRAINERS[model.family](model, lr, ema, wrap, generator)
