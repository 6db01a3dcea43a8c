"""The latent flow's trainer: its denoiser stage is flow matching (the autoencoder stage and the rest are the
latent families' shared trainer, models/families/latent_space_trainer.py; the model is in models/latent_flow.py).
Not yet registered as a family: the app's views of it (its path beside diffusion's, its likelihood) come first.

Its autoencoder is meant to be latent diffusion's, so that the two families differ only in their objective and
sampler. (A warm start copies every weight whose name and shape match, the U-Net's too, which learnt another
objective: which weights a flow takes from a latent diffusion checkpoint is still to be settled, with its family.)"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.families.latent_space_trainer import LatentSpaceTrainer
from models.flow_matching import flow_path
from models.latent_flow import LatentFlow
from models.trainer import StepResult


class VelocityNet(nn.Module):
    """The U-Net as the velocity field: what the denoiser stage optimises (and torchrun wraps)."""

    def __init__(self, model: LatentFlow):
        super().__init__()
        self.unet = model.unet

    def forward(self, z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(z_t, t * LatentFlow.time_units)


class LatentFlowTrainer(LatentSpaceTrainer):
    second_stage = VelocityNet

    def _denoiser_step(self, x: torch.Tensor, attributes: torch.Tensor | None,
                       where: tuple[torch.Tensor, int] | None = None) -> StepResult:
        z0 = self._clean_latents(x, where)
        t = torch.rand(z0.shape[0], generator=self.noise).to(z0.device)
        noise = torch.randn(z0.shape, generator=self.noise).to(z0.device)
        z_t, target = flow_path(z0, noise, t)
        loss = F.mse_loss(self.net(z_t, t), target)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trained.parameters(), 1.0)  # as latent diffusion's, for a fair match
        self.opt.step()
        self._done()
        return StepResult({"loss": loss.item()}, {"scale_factor": round(float(self.model.scale_factor), 5)})
