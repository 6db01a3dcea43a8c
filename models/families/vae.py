"""The variational autoencoder: its trainer and its description."""

from __future__ import annotations

from typing import Any

from models.family import Family, Option, register_family
from models.trainer import NextBatch, OneOptimiserTrainer, StepResult
from models.vae import VAE, VAEConfig, vae_loss

ACTIVE_DIM_THRESHOLD = 0.05  # nats of KL a latent dimension must carry to count as "in use"


class VAETrainer(OneOptimiserTrainer):
    @classmethod
    def default_lr(cls, config: VAEConfig) -> float:
        return 1e-3

    def step(self, next_batch: NextBatch) -> StepResult:
        self.model.train()
        x = next_batch()
        loss, parts, kl_dims = vae_loss(x, *self.net(x), beta=self.model.config.beta)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        kl = [round(float(v), 4) for v in kl_dims]
        return StepResult(parts, {"kl_per_dim": kl, "active_dims": sum(v > ACTIVE_DIM_THRESHOLD for v in kl)})


def _presets(image_size: int, channels: int | None) -> dict[str, Any]:
    return {"base_channels": channels} if channels else {}


FAMILY = register_family(Family(
    name="vae", title="VAE", noun="a VAE", model_class=VAE, config_class=VAEConfig, trainer_class=VAETrainer,
    presets=_presets, default_ema=0.0,
    options=(Option("latent_dim", "Latent numbers", "size of the latent vector (how many numbers describe a face)"),
             Option("beta", "β (KL weight)", "weight of the KL term: above 1 fewer, tidier dimensions (β-VAE) and "
                    "blurrier faces", step=0.5)),
    losses=("loss", "reconstruction", "kl"), encoding="encoder", directions="encoder", order=10,
    ship_bars={"recall": 0.5}))
