"""The VAE-GAN family (models/vae_gan.py, models/families/vae_gan.py): who learns from what, the equilibrium margin,
the adaptive weight, the moving average it exports, resuming, and the file it ships."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from models.checkpoint import load_checkpoint, save_checkpoint
from models.config_check import ConfigError
from models.families.vae_gan import VAEGANTrainer, adaptive_weight, equilibrium
from models.family import build_model, get_family, inference_state_dict
from models.train import check_settings
from models.train_settings import TrainSettings
from models.vae_gan import EQUILIBRIUM, VAEGAN, VAEGANConfig

ROOT = Path(__file__).resolve().parents[2]


def tiny(**kw) -> VAEGANConfig:
    return VAEGANConfig(**{"image_size": 16, "latent_dim": 4, "base_channels": 8, "max_channels": 16,
                           "discriminator_channels": 8, "recon_layer": 1, "discriminator_warmup": 0, **kw})


def trainer_for(config: VAEGANConfig, seed: int = 0, ema: float = 0.9) -> VAEGANTrainer:
    torch.manual_seed(seed)
    return VAEGANTrainer(VAEGAN(config), None, ema, lambda module: module, torch.Generator().manual_seed(seed))


def faces(n: int = 6, seed: int = 3) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def step(trainer: VAEGANTrainer, x: torch.Tensor, seed: int = 7):
    torch.manual_seed(seed)  # the reparameterisation's noise
    return trainer.step(lambda: x)


def encoder_grads(trainer):
    return [p.grad.clone() for p in trainer.model.encoder.parameters()]


@pytest.fixture(autouse=True)
def _threads(one_thread):
    yield


def test_a_tiny_vae_gan_trains_with_finite_losses():
    trainer, x = trainer_for(tiny()), faces()
    results = [step(trainer, x, seed) for seed in range(5)]
    family = get_family("vae-gan")
    for result in results:
        assert set(family.losses) <= set(result.losses)
        assert all(torch.isfinite(torch.tensor(v)) for v in result.losses.values())
        assert len(result.extra["kl_per_dim"]) == 4
    assert results[-1].losses["reconstruction"] < results[0].losses["reconstruction"]


def test_the_discriminator_learns_nothing_from_the_autoencoder_step():
    trainer, x = trainer_for(tiny(margin=0.0)), faces()
    recorded = {}
    step_d = trainer.opt_d.step

    def record_then_step(*args, **kwargs):
        recorded.update({n: p.grad.clone() for n, p in trainer.model.discriminator.named_parameters()})
        return step_d(*args, **kwargs)

    trainer.opt_d.step = record_then_step
    result = step(trainer, x)
    assert result.extra["discriminator_trained"] and result.losses["adversarial_weight"] > 0
    assert recorded  # its own step ran, with gradients
    for name, p in trainer.model.discriminator.named_parameters():  # nothing was added to them since
        assert torch.equal(p.grad, recorded[name]), name


def test_the_encoder_gets_no_adversarial_gradient():
    """The same step with and without the adversarial term: the encoder's gradients are the same, the decoder's not."""
    x = faces()
    with_adv, without = trainer_for(tiny(margin=0.0)), trainer_for(tiny(margin=0.0, adversarial_weight=0.0))
    assert step(with_adv, x).losses["adversarial_weight"] > 0
    assert step(without, x).losses["adversarial_weight"] == 0
    for a, b in zip(encoder_grads(with_adv), encoder_grads(without)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    decoder = [(a.grad, b.grad) for a, b in zip(with_adv.model.decoder.parameters(), without.model.decoder.parameters())]
    assert any(not torch.allclose(a, b) for a, b in decoder)  # the term was there, and reached the decoder


def test_only_the_discriminator_learns_while_it_warms_up():
    trainer, x = trainer_for(tiny(discriminator_warmup=2)), faces()
    autoencoder = {k: v.clone() for k, v in trainer.autoencoder.state_dict().items()}
    discriminator = {k: v.clone() for k, v in trainer.model.discriminator.state_dict().items()}
    for seed in range(2):
        result = step(trainer, x, seed)
        assert result.extra["discriminator_warmup"] and result.extra["discriminator_trained"]
    assert all(torch.equal(v, autoencoder[k]) for k, v in trainer.autoencoder.state_dict().items())
    assert all(torch.equal(v, trainer.ema.module.state_dict()[k]) for k, v in autoencoder.items())
    assert any(not torch.equal(v, discriminator[k]) for k, v in trainer.model.discriminator.state_dict().items())
    after = step(trainer, x, 2)  # then both learn
    assert "discriminator_warmup" not in after.extra and after.losses["adversarial_weight"] > 0
    assert any(not torch.equal(v, autoencoder[k]) for k, v in trainer.autoencoder.state_dict().items())


def test_the_equilibrium_margin():
    low, high = EQUILIBRIUM - 0.3, EQUILIBRIUM + 0.3
    assert equilibrium(EQUILIBRIUM, EQUILIBRIUM, 0.3) == (True, True)
    assert equilibrium(low - 0.01, EQUILIBRIUM, 0.3) == (False, True)  # winning too easily on real faces
    assert equilibrium(EQUILIBRIUM, low - 0.01, 0.3) == (False, True)  # ... or on fakes
    assert equilibrium(high + 0.01, EQUILIBRIUM, 0.3) == (True, False)  # losing: no adversarial term
    assert equilibrium(EQUILIBRIUM, high + 0.01, 0.3) == (True, False)
    assert equilibrium(low - 0.01, high + 0.01, 0.3) == (True, True)  # both would be off: both on
    assert equilibrium(0.0, 9.0, 0.0) == (True, True)  # margin 0: off


class Biased(torch.nn.Module):
    """The discriminator with its scores shifted: by `real` on a batch of real faces, `fake` on the fakes (twice as
    many: reconstructions and prior draws)."""

    def __init__(self, d, batch, real, fake):
        super().__init__()
        self.d, self.batch, self.real, self.fake = d, batch, real, fake

    def forward(self, x, layer=0):
        scores, features = self.d(x, layer)
        return scores + (self.real if len(x) == self.batch else self.fake), features


@pytest.mark.parametrize("real, fake, trained, adversarial", [
    (8.0, -8.0, False, True),  # D sure and right on both: it skips its update
    (-8.0, 8.0, True, False),  # D sure and wrong on both: the decoder gets no adversarial term
    (8.0, 8.0, True, True),  # each off for the other's reason: both play
])
def test_the_margin_in_a_step(real, fake, trained, adversarial):
    trainer, x = trainer_for(tiny(margin=0.3)), faces()
    trainer.d_net = Biased(trainer.model.discriminator, len(x), real, fake)
    before = {k: v.clone() for k, v in trainer.model.discriminator.state_dict().items() if "original" in k}
    result = step(trainer, x)
    assert result.extra["discriminator_trained"] is trained and result.extra["adversarial_on"] is adversarial
    after = trainer.model.discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) is (not trained)
    assert (result.losses["adversarial_weight"] > 0) is adversarial


def test_adaptive_weight_matches_the_gradients_at_the_last_layer():
    last = torch.nn.Parameter(torch.ones(3))
    reconstruction = (3.0 * last).sum()  # gradient 3 per weight
    adversarial = (last ** 2).sum()  # gradient 2 per weight
    weight = adaptive_weight(reconstruction, adversarial, last)
    assert weight.item() == pytest.approx(1.5, rel=1e-3) and not weight.requires_grad
    (g_rec,) = torch.autograd.grad(reconstruction, last, retain_graph=True)
    (g_adv,) = torch.autograd.grad(weight * adversarial, last)
    assert g_adv.norm().item() == pytest.approx(g_rec.norm().item(), rel=1e-3)
    flat = adaptive_weight((3.0 * last).sum(), 0.0 * last.sum(), last)  # no adversarial gradient: bounded
    assert 0 < flat.item() <= 1e4


def test_export_uses_the_moving_average_and_keeps_the_discriminator():
    trainer, x = trainer_for(tiny(), ema=0.9), faces()
    for seed in range(3):
        step(trainer, x, seed)
    exported = trainer.export()
    assert not exported.training and exported is not trainer.model
    average = trainer.ema.module.state_dict()
    for name, value in exported.state_dict().items():
        if name.startswith(("encoder.", "decoder.")):
            assert torch.equal(value, average[name]), name
    raw = dict(trainer.model.named_parameters())
    assert any(not torch.equal(p, raw[n]) for n, p in exported.named_parameters() if n.startswith("decoder."))
    assert all(torch.equal(p, raw[n]) for n, p in exported.named_parameters() if n.startswith("discriminator."))


def test_a_saved_state_gives_the_identical_next_step():
    x = faces()
    first = trainer_for(tiny(margin=0.3))
    for seed in range(2):
        step(first, x, seed)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)  # through a file's bytes, as training_state.pt is
    buffer.seek(0)
    second = trainer_for(tiny(margin=0.3), seed=99)  # other initial weights and noise
    second.load_state_dict(torch.load(buffer, weights_only=True))
    second.noise.set_state(first.noise.get_state())
    a, b = step(first, x, 11), step(second, x, 11)
    assert a.losses == b.losses and a.extra == b.extra
    for (name, p), q in zip(first.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(p, q), name
    assert all(torch.equal(p, q) for p, q in zip(first.ema.module.parameters(), second.ema.module.parameters()))
    assert second.steps_done == first.steps_done == 3


def test_the_shipped_file_holds_no_discriminator(tmp_path):
    trainer = trainer_for(tiny())
    step(trainer, faces())
    model = trainer.export()
    assert not any(k.startswith("discriminator.") for k in inference_state_dict(model))
    path = save_checkpoint(tmp_path / "vg.safetensors", model, step=1, dataset={"name": "test"})
    with safe_open(str(path), "pt") as file:
        names = list(file.keys())
    assert names and not any(name.startswith("discriminator.") for name in names)
    assert any(name.startswith("encoder.") for name in names) and any(name.startswith("decoder.") for name in names)
    loaded = load_checkpoint(path).model
    z = model.sample_latents(2, seed=1)
    assert isinstance(loaded, VAEGAN) and torch.equal(loaded.decode(z), model.decode(z))


def test_a_similarity_layer_deeper_than_the_discriminator_means_its_deepest():
    assert tiny(recon_layer=3).similarity_layer == 2  # 16 px: two halvings down to 4x4
    assert tiny(recon_layer=2).similarity_layer == 2 and tiny(recon_layer=1).similarity_layer == 1
    model = build_model("vae-gan", {"image_size": 16, "recon_layer": 6, "base_channels": 8, "max_channels": 16,
                                    "discriminator_channels": 8})
    _, features = model.discriminator(torch.zeros(1, 3, 16, 16), model.config.similarity_layer)
    assert features is not None and features.shape[-1] == 4  # the deepest block's 4x4 features
    check_settings(TrainSettings("vae-gan", "run", image_size=32, model_options={"recon_layer": 4}))  # no error
    with pytest.raises(ConfigError, match="setting 'recon_layer' should be"):
        tiny(recon_layer=7)


def test_torchrun_processes_decide_the_margin_alike(tmp_path):
    """A narrow margin makes the processes' own verdicts differ; if each decided alone, one would step its
    discriminator while the other did not, and their gradient exchange would break (it did, at step 2)."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(ROOT / "main.py"),
           "train", "--model", "vae-gan", "--out", str(run), "--steps", "12", "--device", "cpu", "--events",
           "--log-every", "1", "--image-size", "16", "--channels", "8", "--data-count", "32", "--batch-size", "8",
           "--latent-dim", "4", "--margin", "0.02", "--discriminator-warmup", "2", "--sample-every", "0"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert not [e for e in events if e["event"] in ("warning", "error")]  # and the replicas ended alike
    assert events[-1] == {"event": "done", "step": 12, "reason": "finished"}
