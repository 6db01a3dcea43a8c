"""Latent diffusion: its trainer's denoiser stage (the autoencoder stage and the rest are the latent families'
shared trainer, models/families/latent_space_trainer.py) and its description (the model is in
models/latent_diffusion.py, the first stage's networks in models/latent_autoencoder.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.families.latent_space_trainer import LatentSpaceTrainer, latent_presets
from models.family import TIME_FIGURE, BarAgainst, Family, Option, register_family
from models.feature_net import feature_net_loss
from models.latent_diffusion import CONDITION_DIM, LatentDiffusion, LatentDiffusionConfig, training_condition
from models.trainer import StepResult


class SecondStage(nn.Module):
    """The denoiser and the noise-aware classifier: what the denoiser stage optimises."""

    def __init__(self, model: LatentDiffusion):
        super().__init__()
        self.unet, self.classifier = model.unet, model.classifier

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, condition: torch.Tensor):
        return self.unet(z_t, t, condition), self.classifier(z_t, t)


class LatentDiffusionTrainer(LatentSpaceTrainer):
    second_stage = SecondStage

    def _denoiser_step(self, x: torch.Tensor, attributes: torch.Tensor | None,
                       where: tuple[torch.Tensor, int] | None = None) -> StepResult:
        cfg, model = self.model.config, self.model
        z0 = self._clean_latents(x, where)
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


FAMILY = register_family(Family(
    name="latent-diffusion", title="Latent diffusion", noun="a latent diffusion model", model_class=LatentDiffusion,
    config_class=LatentDiffusionConfig, trainer_class=LatentDiffusionTrainer, presets=latent_presets, default_ema=0.999,
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
