"""The denoising diffusion model: its trainer and its description."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from models.diffusion import Diffusion, DiffusionConfig, diffusion_loss
from models.family import Family, Option, register_family
from models.trainer import EMA, FamilyTrainer, NextBatch, StepResult, adam


class DiffusionTrainer(FamilyTrainer):
    @classmethod
    def default_lr(cls, config: DiffusionConfig) -> float:
        return 2e-4

    def __init__(self, model: Diffusion, lr, ema, wrap, generator, grad_clip: float = 1.0):
        super().__init__(model, lr, ema, wrap, generator)
        self.net = wrap(model.unet)
        self.opt = adam(model.unet.parameters(), self.lr)
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


def _presets(image_size: int, channels: int | None) -> dict[str, Any]:
    """A U-Net as deep as the size allows: 16 px has 2 levels ... 64 px and up 4, attention at 16 px (8 px below 64)."""
    levels = max(2, min(4, int(math.log2(image_size)) - 2))
    config: dict[str, Any] = {"channel_mults": (1,) + (2,) * (levels - 1),
                              "attention_resolutions": (16,) if image_size >= 64 else (8,)}
    return config | ({"base_channels": channels} if channels else {})


FAMILY = register_family(Family(
    name="diffusion", title="Diffusion", noun="a diffusion model", model_class=Diffusion,
    config_class=DiffusionConfig, trainer_class=DiffusionTrainer, presets=_presets, default_ema=0.999,
    options=(Option("schedule", "Noise schedule", "how noise is added over time: cosine keeps more signal in the "
                    "early steps"),),
    losses=("loss",), iterative=True, encoding="inversion", directions="samples", order=30,
    ship_bars={"precision": 0.8, "recall": 0.8}))
