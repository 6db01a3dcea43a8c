"""A fourth model family the app has never heard of, for the model tests that check that a family is only its files.

The sketch is two linear layers from a small latent to the pixels; its trainer teaches it to draw the average face
(noise in, a batch's faces as the target), which is all a test needs: it builds, saves, loads, trains and decodes.
`registered_sketch()` adds it to the registry for a test and always takes it out again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from models.config_check import IMAGE_SIZE, Whole, check_ranges
from models.family import Family, Option, register_family, unregister_family
from models.generative import DEFAULT_DECODING, DEFAULT_ENCODING, Decoding, Encoding, GenerativeModel
from models.progress import Progress
from models.trainer import FamilyTrainer, NextBatch, StepResult, adam

NAME = "sketch"  # not "toy": tests/toy_family.py, the explorer's plug-in family, has that name


@dataclass
class SketchConfig:
    image_size: int = 16
    latent_dim: int = 6
    hidden: int = 16

    RANGES: ClassVar[dict] = {"image_size": IMAGE_SIZE, "latent_dim": Whole(1, 64), "hidden": Whole(1, 256)}

    def __post_init__(self):
        check_ranges(self)


class Sketch(GenerativeModel):
    family = NAME

    def __init__(self, config: SketchConfig):
        super().__init__(config)
        size = config.image_size
        self.net = nn.Sequential(nn.Linear(config.latent_dim, config.hidden), nn.Tanh(),
                                 nn.Linear(config.hidden, 3 * size * size))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent_dim,)

    def draw(self, latents: torch.Tensor) -> torch.Tensor:
        size = self.image_size
        return torch.tanh(self.net(latents)).view(-1, 3, size, size)

    def decode_steps(self, latents: torch.Tensor, decoding: Decoding = DEFAULT_DECODING) -> Iterator[Progress]:
        with torch.no_grad():
            image = self.draw(latents)
        yield Progress(1, 1, state=latents, image=image)

    def encode_steps(self, images: torch.Tensor, encoding: Encoding = DEFAULT_ENCODING) -> Iterator[Progress]:
        """A plain search: Adam on the latents, encoding.search_steps steps."""
        z = torch.zeros(len(images), *self.latent_shape, device=images.device, requires_grad=True)
        opt = torch.optim.Adam([z], lr=0.1)
        for i in range(encoding.search_steps):
            drawn = self.draw(z)
            loss = (drawn - images).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            yield Progress(i + 1, encoding.search_steps, state=z.detach().clone(), image=drawn.detach(),
                           loss=loss.item())


class SketchTrainer(FamilyTrainer):
    @classmethod
    def default_lr(cls, config: SketchConfig) -> float:
        return 3e-3

    def __init__(self, model: Sketch, lr, ema, wrap, generator):
        super().__init__(model, lr, ema, wrap, generator)
        self.net = wrap(model.net)
        self.opt = adam(model.net.parameters(), self.lr)

    def step(self, next_batch: NextBatch) -> StepResult:
        self.model.train()
        faces = next_batch()
        drawn = self.model.draw(self._randn(len(faces), self.model.config.latent_dim))
        loss = (drawn - faces).pow(2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return StepResult({"loss": loss.item()})

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])


def _presets(image_size: int, channels: int | None) -> dict[str, Any]:
    return {"hidden": channels} if channels else {}


FAMILY = Family(
    name=NAME, title="Sketch", noun="a sketch model", model_class=Sketch, config_class=SketchConfig, trainer_class=SketchTrainer,
    presets=_presets, options=(Option("hidden", "Hidden units", "width of the hidden layer"),
                               Option("latent_dim", "Latent numbers", "size of the latent vector")),
    encoding="search", directions="samples", order=15)


@contextmanager
def registered_sketch(family: Family = FAMILY) -> Iterator[Family]:
    """The sketch family (or a variant of it) in the registry for the length of the block, and never after it."""
    register_family(family)
    try:
        yield family
    finally:
        unregister_family(family.name)
