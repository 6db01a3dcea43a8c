"""A tiny latent diffusion model that responds to its condition and its sampler, and the window with it beside the
tiny VAE, GAN and pixel diffusion models, every Explore render request recorded (for Explore's tests and bench's)."""

from __future__ import annotations


import pytest
import torch

from explorer.worker.requests import Render
from models.checkpoint import save_checkpoint
from models.data import synthetic_faces
from models.family import build_model
from tests.explorer.conftest import open_window
from tests.models.tiny import tiny_latent_diffusion


@pytest.fixture(scope="module")
def awake_latent_checkpoint(tmp_path_factory) -> str:
    """A tiny latent diffusion model (tests/models/tiny.py's, at 32 px: an 8 x 8 latent, the smallest the slider
    analysis divides into its 8 x 8 blocks; the 16 px fixture's 4 x 4 latent gets no sliders) with its
    zero-initialised layers given small random weights. Fresh, its denoiser predicts no noise at all, whatever the
    condition or the sampler, so neither guidance nor a draft could change its face and a test of them could not
    fail."""
    from models.latent_diffusion import LatentDiffusion

    torch.manual_seed(0)
    model: LatentDiffusion = build_model("latent-diffusion", tiny_latent_diffusion(image_size=32))
    faces = synthetic_faces(16, 32, 0)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        model.scale_factor.fill_(float(1.0 / model.first_stage(faces.batch(range(16)))[0].std()))
        for p in model.unet.parameters():
            if not p.abs().sum():
                p.add_(0.05 * torch.randn(p.shape, generator=generator))
    path = tmp_path_factory.mktemp("awake") / "latent-diffusion.safetensors"
    return str(save_checkpoint(path, model, dataset=faces.describe(), step=7))


@pytest.fixture()
def win(awake_latent_checkpoint, tiny_checkpoints, qtbot, tmp_path, monkeypatch):
    """The window with the tiny VAE, GAN, pixel diffusion and latent diffusion models; every render request made is
    recorded in `win.renders`."""
    window = open_window(qtbot, tmp_path, monkeypatch, [*tiny_checkpoints.values(), awake_latent_checkpoint])
    context = window.context
    renders: list[Render] = []
    submit = context.submit

    def recording(request):
        if isinstance(request, Render):
            renders.append(request)
        return submit(request)

    monkeypatch.setattr(context, "submit", recording)
    window.renders = renders
    yield window
    window.close()
