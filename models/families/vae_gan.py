"""The VAE-GAN hybrid: its trainer and its description (the networks and the reasons are in models/vae_gan.py)."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from models.families.vae import ACTIVE_DIM_THRESHOLD
from models.family import BarAgainst, Family, Option, register_family
from models.gan import generator_loss
from models.trainer import EMA, FamilyTrainer, NextBatch, StepResult, adam, adaptive_weight, agreed
from models.vae import kl_per_dimension
from models.vae_gan import EQUILIBRIUM, VAEGAN, Autoencoder, VAEGANConfig

BETAS = (0.5, 0.999)  # DCGAN's: a GAN game with Adam's default momentum oscillates


def equilibrium(d_real: float, d_fake: float, margin: float) -> tuple[bool, bool]:
    """(train the discriminator?, give the decoder its adversarial term?) from the discriminator's cross-entropies
    on real faces and on fakes (Larsen et al.'s equilibrium; see models/vae_gan.py). margin 0: both, always."""
    if margin <= 0:
        return True, True
    low, high = EQUILIBRIUM - margin, EQUILIBRIUM + margin
    train_d = not (d_real < low or d_fake < low)  # winning too easily: it would only get more sure of itself
    train_adversarial = not (d_real > high or d_fake > high)  # losing: its verdicts would teach the decoder noise
    if not (train_d or train_adversarial):  # each off for the other's reason: let both play rather than neither
        return True, True
    return train_d, train_adversarial


class VAEGANTrainer(FamilyTrainer):
    @classmethod
    def default_lr(cls, config: VAEGANConfig) -> float:
        # Half DCGAN's 2e-4, for all three networks: a run usually fine-tunes a trained VAE (--init-from), whose
        # faces a large step would undo before the judge has anything to teach (measured: see models/vae_gan.py).
        return 1e-4

    def __init__(self, model: VAEGAN, lr, ema, wrap, generator):
        super().__init__(model, lr, ema, wrap, generator)
        self.autoencoder = Autoencoder(model)
        self.ae_net, self.d_net = wrap(self.autoencoder), wrap(model.discriminator)
        self.opt_ae = adam(self.autoencoder.parameters(), self.lr, BETAS)
        self.opt_d = adam(model.discriminator.parameters(), self.lr, BETAS)
        self.ema = EMA(self.autoencoder, self.ema_decay) if self.ema_decay > 0 else None
        self.steps_done = 0

    def step(self, next_batch: NextBatch) -> StepResult:
        cfg, D = self.model.config, self.model.discriminator
        self.model.train()
        x = next_batch()
        warming_up = self.steps_done < cfg.discriminator_warmup  # only the discriminator learns (models/vae_gan.py)
        with torch.set_grad_enabled(not warming_up):
            recon, mu, logvar, drawn = self.ae_net(x, self._randn(x.shape[0], cfg.latent_dim))

        # The discriminator: real faces against both kinds of fake (detached: this step teaches only it).
        fakes = torch.cat([recon, drawn]).detach()
        real_scores, _ = self.d_net(x)
        fake_scores, _ = self.d_net(fakes)
        d_real, d_fake = F.softplus(-real_scores).mean(), F.softplus(fake_scores).mean()
        # Neither player may run away with the game; decided on every process's average, so all decide alike.
        train_d, train_adversarial = equilibrium(*agreed(torch.stack([d_real, d_fake]).detach()).tolist(), cfg.margin)
        if train_d:
            self.opt_d.zero_grad(set_to_none=True)
            (d_real + d_fake).backward()
            self.opt_d.step()
        if warming_up:
            self.steps_done += 1
            return StepResult({"reconstruction": (recon - x).pow(2).flatten(1).sum(1).mean().item(),
                               "kl": kl_per_dimension(mu, logvar).sum().item(), "d_loss": (d_real + d_fake).item(),
                               "d_real": float(torch.sigmoid(real_scores.detach()).mean()),
                               "d_fake": float(torch.sigmoid(fake_scores.detach()).mean())},
                              {"discriminator_warmup": True, "discriminator_trained": train_d})

        # The encoder and decoder, against the discriminator as it now is. Frozen, so it learns nothing from this;
        # in eval mode, so its spectral norms are those of its weights as they are for all three looks (training
        # mode would take one more power-iteration step at each, and real and reconstructed faces' features would
        # be measured with slightly different scales).
        D.requires_grad_(False).eval()
        try:
            with torch.no_grad():
                _, real_features = D(x, cfg.similarity_layer)
            _, recon_features = D(recon, cfg.similarity_layer)
            drawn_scores, _ = D(drawn)
            pixel = (recon - x).pow(2).flatten(1).sum(1).mean()
            feature = (recon_features - real_features).pow(2).flatten(1).sum(1).mean()
            kl_dims = kl_per_dimension(mu, logvar)
            reconstruction = cfg.pixel_weight * pixel + cfg.feature_weight * feature
            adversarial = generator_loss("non-saturating", drawn_scores)
            weight = torch.zeros((), device=x.device)
            if train_adversarial and cfg.adversarial_weight > 0:
                last = self.model.decoder.layers[-1].weight
                weight = cfg.adversarial_weight * adaptive_weight(reconstruction, adversarial, last)
            loss = reconstruction + cfg.beta * kl_dims.sum() + weight * adversarial
            self.opt_ae.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_ae.step()
        finally:
            D.requires_grad_(True).train()
        self.steps_done += 1
        if self.ema is not None:
            self.ema.update(self.autoencoder, self.steps_done)

        kl = [round(float(v), 4) for v in kl_dims.detach()]
        losses = {"loss": loss.item(), "reconstruction": pixel.item(), "feature_reconstruction": feature.item(),
                  "kl": kl_dims.sum().item(), "d_loss": (d_real + d_fake).item(), "g_loss": adversarial.item(),
                  "d_real": float(torch.sigmoid(real_scores.detach()).mean()),
                  "d_fake": float(torch.sigmoid(fake_scores.detach()).mean()), "adversarial_weight": float(weight)}
        return StepResult(losses, {"kl_per_dim": kl, "active_dims": sum(v > ACTIVE_DIM_THRESHOLD for v in kl),
                                   "discriminator_trained": train_d, "adversarial_on": train_adversarial})

    def export(self) -> VAEGAN:
        exported = copy.deepcopy(self.model)
        if self.ema is not None:
            Autoencoder(exported).load_state_dict(self.ema.module.state_dict())
        return exported.eval()

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt_ae": self.opt_ae.state_dict(), "opt_d": self.opt_d.state_dict(),
                "ema": self.ema.module.state_dict() if self.ema else None, "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt_ae.load_state_dict(state["opt_ae"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.steps_done = int(state.get("steps_done", 0))


def _presets(image_size: int, channels: int | None) -> dict[str, Any]:
    return {"base_channels": channels, "discriminator_channels": channels} if channels else {}


FAMILY = register_family(Family(
    name="vae-gan", title="VAE-GAN", noun="a VAE-GAN", model_class=VAEGAN, config_class=VAEGANConfig,
    trainer_class=VAEGANTrainer, presets=_presets, default_ema=0.999,
    options=(Option("latent_dim", "Latent numbers", "size of the latent vector (how many numbers describe a face)"),
             Option("beta", "β (KL weight)", "weight of the KL term: above 1 fewer, tidier dimensions (β-VAE) and "
                    "blurrier faces", step=0.5),
             Option("recon_layer", "Similarity layer", "the discriminator layer whose features measure how close a "
                    "reconstruction is (1: the first, finest; beyond its depth: the deepest)"),
             Option("pixel_weight", "Pixel weight", "weight of the plain pixel error in the reconstruction (0: the "
                    "discriminator's features only, as in the paper)", step=0.5),
             Option("feature_weight", "Feature weight", "weight of the error in the discriminator's features",
                    step=0.5),
             Option("adversarial_weight", "Adversarial weight", "how hard the discriminator pushes the decoder, as a "
                    "share of the reconstruction's push", step=0.1),
             Option("margin", "Equilibrium margin", "skip the discriminator's update when it wins too easily, and "
                    "the decoder's adversarial term when it loses too badly (0: off)", step=0.05),
             Option("discriminator_warmup", "Judge-first steps", "steps at the start in which only the "
                    "discriminator learns, so its verdicts mean something before the decoder listens")),
    losses=("loss", "reconstruction", "feature_reconstruction", "kl", "d_loss", "g_loss", "d_real", "d_fake"),
    encoding="encoder", directions="encoder", training_only=("discriminator.",), order=15,
    ship_bars={"precision": 0.85, "recall": 0.5},
    # Issue 15's promise, against the shipped VAE it was warm-started from: no less convincing, sharper (closer to real
    # faces' detail), a space nearly as smooth, and held-out faces redrawn nearly as well.
    bars_against=(BarAgainst("precision", "vae", "at_least"), BarAgainst("sharpness", "vae", "closer_to_one"),
                  BarAgainst("ppl", "vae", "at_most", 1.5), BarAgainst("reconstruction_error", "vae", "at_most", 1.5))))
