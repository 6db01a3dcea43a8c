"""The generative adversarial network: its trainer and its description."""

from __future__ import annotations

import copy
from typing import Any

import torch

from models.family import Family, Option, register_family
from models.gan import (
    GAN,
    GANConfig,
    default_optimizer_settings,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    recalibrate_batchnorm,
)
from models.trainer import EMA, FamilyTrainer, NextBatch, StepResult, adam


class GANTrainer(FamilyTrainer):
    @classmethod
    def default_lr(cls, config: GANConfig) -> float:
        return default_optimizer_settings(config.loss)[0]  # DCGAN's, or the WGAN-GP paper's

    def __init__(self, model: GAN, lr, ema, wrap, generator):
        super().__init__(model, lr, ema, wrap, generator)
        cfg = model.config
        _, betas = default_optimizer_settings(cfg.loss)
        self.g_net, self.d_net = wrap(model.generator), wrap(model.discriminator)
        self.opt_g = adam(model.generator.parameters(), self.lr, betas)
        self.opt_d = adam(model.discriminator.parameters(), self.lr, betas)
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


def _presets(image_size: int, channels: int | None) -> dict[str, Any]:
    return {"generator_channels": channels, "discriminator_channels": channels} if channels else {}


FAMILY = register_family(Family(
    name="gan", title="GAN", noun="a GAN", model_class=GAN, config_class=GANConfig, trainer_class=GANTrainer,
    presets=_presets, default_ema=0.999,
    options=(Option("latent_dim", "Latent numbers", "size of the latent vector (how many numbers describe a face)"),
             Option("loss", "GAN loss", "the game's scoring rule; non-saturating is the usual choice",
                    flag="--gan-loss", choices=("non-saturating", "minimax", "hinge", "wgan-gp")),
             Option("critic_steps", "Critic steps", "discriminator steps per generator step (0: the loss's own; 5 is "
                    "usual for wgan-gp)", special="the loss's own"),
             Option("spectral_norm", "Spectral norm", "spectral normalisation in the discriminator"),
             Option("minibatch_std", "Minibatch spread", "the discriminator also sees how varied a group of images "
                    "is (against mode dropping)")),
    losses=("d_loss", "g_loss", "d_real", "d_fake", "gradient_penalty"), truncation=True, encoding="search",
    directions="samples", training_only=("discriminator.",), order=20, ship_bars={"precision": 0.8, "recall": 0.5}))
