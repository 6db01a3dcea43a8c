"""The two-stage trainer of the families that work in an autoencoder's latent (latent diffusion, the latent flow):
the autoencoder stage, the denoiser stage's latents (each data set image encoded once by the frozen encoder) and its
moving average; each family gives its denoiser stage's objective."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from models.latent_autoencoder import hinge_discriminator_loss, kl_to_standard_normal
from models.latent_space import LatentSpaceConfig, LatentSpaceModel
from models.trainer import EMA, FamilyTrainer, NextBatch, StepResult, adam, adaptive_weight, agreed

GAN_BETAS = (0.5, 0.9)  # CompVis's for the first stage's autoencoder and discriminator


class FirstStage(nn.Module):
    """The encoder and decoder as one module: what the autoencoder stage optimises (and torchrun wraps)."""

    def __init__(self, model: LatentSpaceModel):
        super().__init__()
        self.encoder, self.decoder = model.encoder, model.decoder

    def forward(self, x: torch.Tensor, noise: torch.Tensor):
        mean, logvar = self.encoder(x)
        return self.decoder(mean + (0.5 * logvar).exp() * noise), mean, logvar


class LatentSpaceTrainer(FamilyTrainer):
    """Both stages of a LatentSpaceModel: the autoencoder stage here; a subclass gives the module the denoiser stage
    optimises (`second_stage`) and its step (`_denoiser_step`, which `_clean_latents` feeds)."""

    @classmethod
    def default_lr(cls, config: LatentSpaceConfig) -> float:
        return 2e-4 if config.stage == "denoiser" else 1e-4

    @staticmethod
    def second_stage(model: LatentSpaceModel) -> nn.Module:
        """The denoiser stage's trained networks as one module (what torchrun wraps and the moving average keeps)."""
        raise NotImplementedError

    def __init__(self, model: LatentSpaceModel, lr, ema, wrap, generator):
        super().__init__(model, lr, ema, wrap, generator)
        self.stage = model.config.stage
        self.steps_done = 0
        if self.stage == "autoencoder":
            self.trained: nn.Module = FirstStage(model)
            self.net = wrap(self.trained)
            self.opt = adam(self.trained.parameters(), self.lr, GAN_BETAS)
            self.d_net = wrap(model.discriminator) if model.config.adversarial_weight > 0 else None
            self.opt_d = adam(model.discriminator.parameters(), self.lr, GAN_BETAS)
        else:
            self.trained = self.second_stage(model)
            self.net = wrap(self.trained)
            self.opt = adam(self.trained.parameters(), self.lr)
            self.d_net, self.opt_d = None, None
        self.ema = EMA(self.trained, self.ema_decay) if self.ema_decay > 0 else None
        self.preview_faces: torch.Tensor | None = None  # the autoencoder stage's grid: these faces, reconstructed
        # The denoiser stage's frozen encoder gives each data set image the same mean and log-variance every epoch:
        # kept per image after its first encoding, which was about a third of a CPU step (it still draws a fresh
        # latent from them every time).
        self.moments: torch.Tensor | None = None
        self.encoded: torch.Tensor | None = None

    def preview(self, model: LatentSpaceModel, latents: torch.Tensor, decoding) -> torch.Tensor:
        """The denoiser stage's grid is samples; the autoencoder stage's (whose denoiser is untrained) shows real
        faces of the run's first batch over their reconstructions, row by row."""
        if self.stage != "autoencoder" or self.preview_faces is None:
            return super().preview(model, latents, decoding)
        faces = self.preview_faces[:max(1, latents.shape[0] // 2)].to(model.device)
        recon = model.from_latent(model.to_latent(faces))
        per_row = max(1, int(round(latents.shape[0] ** 0.5)))
        rows = [torch.cat([faces[i:i + per_row], recon[i:i + per_row]]) for i in range(0, len(faces), per_row)]
        return torch.cat(rows)

    def step(self, next_batch: NextBatch) -> StepResult:
        self.model.train()
        if self.stage == "autoencoder":
            return self._autoencoder_step(next_batch())
        images, attributes = next_batch.labelled() if hasattr(next_batch, "labelled") else (next_batch(), None)
        indices = getattr(next_batch, "last_indices", None)
        return self._denoiser_step(images, attributes, (indices, len(next_batch)) if indices is not None else None)

    def _autoencoder_step(self, x: torch.Tensor) -> StepResult:
        cfg = self.model.config
        if self.preview_faces is None:
            self.preview_faces = x[:32].detach().cpu().clone()
        noise = torch.randn(x.shape[0], cfg.latent_channels, cfg.latent_size, cfg.latent_size,
                            generator=self.noise).to(x.device)
        recon, mean, logvar = self.net(x, noise)
        # CompVis's units: the error summed over each image's pixels, the KL summed over its latent.
        pixel = (recon - x).abs().flatten(1).sum(1).mean()
        kl = kl_to_standard_normal(mean, logvar)
        loss = pixel + cfg.kl_weight * kl
        losses = {"reconstruction": (recon - x).abs().mean().item(), "kl": kl.item()}
        adversarial_on = self.d_net is not None and self.steps_done >= cfg.discriminator_start
        if adversarial_on:
            D = self.model.discriminator
            D.requires_grad_(False)
            try:
                g_loss = -self.d_net(recon).mean()
                weight = cfg.adversarial_weight * adaptive_weight(pixel, g_loss, self.model.decoder.last)
            finally:
                D.requires_grad_(True)
            loss = loss + weight * g_loss
            losses |= {"g_loss": g_loss.item(), "adversarial_weight": float(weight)}
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if adversarial_on:
            d_loss = hinge_discriminator_loss(self.d_net(x), self.d_net(recon.detach()))
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            losses["d_loss"] = d_loss.item()
        self._done()
        return StepResult({"loss": loss.item()} | losses, {"adversarial_on": adversarial_on})

    @torch.no_grad()
    def _measure_scale(self, z: torch.Tensor) -> None:
        """CompVis's scale factor: 1 / the standard deviation of the first batch's latents (every process's)."""
        moments = agreed(torch.stack([z.mean(), z.pow(2).mean()]))
        std = (moments[1] - moments[0] ** 2).clamp_min(1e-12).sqrt()
        self.model.scale_factor.fill_(float(1.0 / std))

    @torch.no_grad()
    def _moments(self, x: torch.Tensor, where: tuple[torch.Tensor, int] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen encoder's mean and log-variance of x; where = (x's indices in the data set, its size) keeps
        them per image, so that each image is encoded once."""
        encoder = self.model.encoder.eval()
        if where is None:
            return encoder(x)
        indices, size = where
        if self.moments is None or len(self.moments) != size:
            c, h = self.model.config.latent_channels, self.model.config.latent_size
            self.moments = torch.zeros(size, 2 * c, h, h, device=x.device)
            self.encoded = torch.zeros(size, dtype=torch.bool, device=x.device)
        new = ~self.encoded[indices]
        if new.any():
            self.moments[indices[new]] = torch.cat(encoder(x[new]), dim=1)
            self.encoded[indices[new]] = True
        return self.moments[indices].chunk(2, dim=1)

    @torch.no_grad()
    def _clean_latents(self, x: torch.Tensor, where: tuple[torch.Tensor, int] | None) -> torch.Tensor:
        """The denoiser stage's training latents of images x: a draw from the frozen encoder's posterior, scaled
        (the scale factor measured on the first batch, where it is not yet known)."""
        mean, logvar = self._moments(x, where)
        z_unscaled = mean + (0.5 * logvar).exp() * torch.randn(mean.shape, generator=self.noise).to(x.device)
        if float(self.model.scale_factor) <= 0:
            self._measure_scale(z_unscaled)
        return z_unscaled * self.model.scale_factor

    def _denoiser_step(self, x: torch.Tensor, attributes: torch.Tensor | None,
                       where: tuple[torch.Tensor, int] | None = None) -> StepResult:
        raise NotImplementedError

    def _done(self) -> None:
        self.steps_done += 1
        if self.ema is not None:
            self.ema.update(self.trained, self.steps_done)

    def export(self) -> LatentSpaceModel:
        exported = copy.deepcopy(self.model)
        if self.stage == "autoencoder":
            # The scale factor is measured on the latents of one autoencoder: one being trained makes it stale, and
            # zero tells the denoiser stage started from this checkpoint to measure it again.
            exported.scale_factor.zero_()
        if self.ema is not None:
            trained = FirstStage(exported) if self.stage == "autoencoder" else self.second_stage(exported)
            trained.load_state_dict(self.ema.module.state_dict())
        return exported.eval()

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
                "ema": self.ema.module.state_dict() if self.ema else None, "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        if self.opt_d is not None and state.get("opt_d") is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.steps_done = int(state.get("steps_done", 0))


def latent_presets(image_size: int, channels: int | None) -> dict[str, Any]:
    """A 4x smaller latent (16 x 16 at 64 px); the denoiser's levels halve it down to 4 x 4, attention at 8 x 8."""
    latent = max(4, image_size // 4)
    levels = max(1, min(3, latent.bit_length() - 3))
    config: dict[str, Any] = {"channel_mults": (1,) + (2,) * (levels - 1),
                              "attention_resolutions": (latent // 2,) if levels > 1 else ()}
    return config | ({"base_channels": channels} if channels else {})
