"""Latent diffusion: its trainer (two stages of one model) and its description (the model is in
models/latent_diffusion.py, the first stage's networks in models/latent_autoencoder.py)."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.families.vae_gan import adaptive_weight, agreed
from models.family import TIME_FIGURE, BarAgainst, Family, Option, register_family
from models.feature_net import feature_net_loss
from models.latent_autoencoder import hinge_discriminator_loss, kl_to_standard_normal
from models.latent_diffusion import CONDITION_DIM, LatentDiffusion, LatentDiffusionConfig, training_condition
from models.trainer import EMA, FamilyTrainer, NextBatch, StepResult, adam

GAN_BETAS = (0.5, 0.9)  # CompVis's for the first stage's autoencoder and discriminator


class FirstStage(nn.Module):
    """The encoder and decoder as one module: what the autoencoder stage optimises (and torchrun wraps)."""

    def __init__(self, model: LatentDiffusion):
        super().__init__()
        self.encoder, self.decoder = model.encoder, model.decoder

    def forward(self, x: torch.Tensor, noise: torch.Tensor):
        mean, logvar = self.encoder(x)
        return self.decoder(mean + (0.5 * logvar).exp() * noise), mean, logvar


class SecondStage(nn.Module):
    """The denoiser and the noise-aware classifier: what the denoiser stage optimises."""

    def __init__(self, model: LatentDiffusion):
        super().__init__()
        self.unet, self.classifier = model.unet, model.classifier

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, condition: torch.Tensor):
        return self.unet(z_t, t, condition), self.classifier(z_t, t)


class LatentDiffusionTrainer(FamilyTrainer):
    @classmethod
    def default_lr(cls, config: LatentDiffusionConfig) -> float:
        return 2e-4 if config.stage == "denoiser" else 1e-4

    def __init__(self, model: LatentDiffusion, lr, ema, wrap, generator):
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
            self.trained = SecondStage(model)
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

    def preview(self, model: LatentDiffusion, latents: torch.Tensor, decoding) -> torch.Tensor:
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

    def _denoiser_step(self, x: torch.Tensor, attributes: torch.Tensor | None,
                       where: tuple[torch.Tensor, int] | None = None) -> StepResult:
        cfg, model = self.model.config, self.model
        with torch.no_grad():
            mean, logvar = self._moments(x, where)
            z_unscaled = mean + (0.5 * logvar).exp() * torch.randn(mean.shape, generator=self.noise).to(x.device)
            if float(model.scale_factor) <= 0:
                self._measure_scale(z_unscaled)
            z0 = z_unscaled * model.scale_factor
        n = x.shape[0]
        if attributes is None:  # the user's own images: no attributes, so only the unconditional model
            condition = torch.zeros(n, CONDITION_DIM, device=x.device)
        else:
            condition = training_condition(attributes, cfg.condition_dropout, self.noise).to(x.device)
        t = torch.randint(0, model.schedule.timesteps, (n,), generator=self.noise).to(x.device)
        noise = torch.randn(z0.shape, generator=self.noise).to(x.device)
        z_t = model.schedule.q_sample(z0, t, noise)
        eps, outputs = self.net(z_t, t, condition)
        denoise = F.mse_loss(eps, noise)
        loss = denoise
        losses = {"loss": denoise.item()}
        if attributes is not None:
            classify = feature_net_loss(outputs, attributes)
            loss = loss + classify
            losses["classifier_loss"] = classify.item()
        else:
            loss = loss + 0.0 * outputs.sum()  # every weight takes part in the gradient (torchrun expects it)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        # Rare large gradients at tiny t would otherwise throw the small network off course.
        torch.nn.utils.clip_grad_norm_(self.trained.parameters(), 1.0)
        self.opt.step()
        self._done()
        return StepResult(losses, {"scale_factor": round(float(model.scale_factor), 5)})

    def _done(self) -> None:
        self.steps_done += 1
        if self.ema is not None:
            self.ema.update(self.trained, self.steps_done)

    def export(self) -> LatentDiffusion:
        exported = copy.deepcopy(self.model)
        if self.stage == "autoencoder":
            # The scale factor is measured on the latents of one autoencoder: one being trained makes it stale, and
            # zero tells the denoiser stage started from this checkpoint to measure it again.
            exported.scale_factor.zero_()
        if self.ema is not None:
            (FirstStage if self.stage == "autoencoder" else SecondStage)(exported).load_state_dict(
                self.ema.module.state_dict())
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


def _presets(image_size: int, channels: int | None) -> dict[str, Any]:
    """A 4x smaller latent (16 x 16 at 64 px); the denoiser's levels halve it down to 4 x 4, attention at 8 x 8."""
    latent = max(4, image_size // 4)
    levels = max(1, min(3, latent.bit_length() - 3))
    config: dict[str, Any] = {"channel_mults": (1,) + (2,) * (levels - 1),
                              "attention_resolutions": (latent // 2,) if levels > 1 else ()}
    return config | ({"base_channels": channels} if channels else {})


FAMILY = register_family(Family(
    name="latent-diffusion", title="Latent diffusion", noun="a latent diffusion model", model_class=LatentDiffusion,
    config_class=LatentDiffusionConfig, trainer_class=LatentDiffusionTrainer, presets=_presets, default_ema=0.999,
    options=(Option("stage", "Stage", "what this run trains: the autoencoder (first) or the denoiser on its "
                    "latent (then; start it from the autoencoder's checkpoint)", choices=("autoencoder", "denoiser")),
             Option("latent_channels", "Latent channels", "numbers per latent position (the latent is a small "
                    "image with this many channels)"),
             Option("latent_factor", "Latent shrink", "how many times smaller than the face the latent is on each "
                    "side (4 or 8)"),
             Option("autoencoder_channels", "Autoencoder width", "the first stage's channels at full image size "
                    "(doubled at each halving): wider reconstructs finer detail, narrower trains faster", step=8),
             Option("adversarial_weight", "Adversarial weight", "how hard a discriminator pushes the autoencoder's "
                    "decoder toward sharp detail (0: off): the VAE-GAN idea", step=0.1),
             Option("condition_dropout", "Unconditional share", "how often the denoiser trains without any "
                    "attribute, so it is also the unconditional model that guidance steers from", step=0.05),
             Option("schedule", "Noise schedule", "how noise is added over time: cosine keeps more signal in the "
                    "early steps")),
    losses=("loss", "reconstruction", "kl", "classifier_loss", "g_loss", "d_loss"),
    iterative=True, guided=True, encoding="inversion", directions="samples", order=35,
    training_only=("discriminator.",), ship_bars={"precision": 0.8, "recall": 0.8},
    # It draws 4x the pixels of the 32 px pixel-space model, and should still take at most a quarter of its time.
    bars_against=(BarAgainst(TIME_FIGURE, "diffusion", "at_most", 0.25),)))
