"""Explore's position in latent space: a base latent plus slider amounts along directions (numpy, no Qt).

latent = base + sum_k amount_k * scale_k * vector_k. A raw-number slider shows latent[i]; moving it
shifts base[i] so that latent[i] becomes the slider's value, so the direction sliders keep their meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from explorer.pictures.picture_state import encode_array
from models.generative import seed_latents


@dataclass
class LatentState:
    shape: tuple[int, ...]
    base: np.ndarray  # float32, `shape`
    seed: int = 0
    directions: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)  # key -> (unit vector, scale)
    amounts: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, shape: tuple[int, ...], seed: int) -> LatentState:
        return cls(tuple(shape), seed_latents([seed], shape)[0].numpy().astype(np.float32), seed)

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        self.base = seed_latents([seed], self.shape)[0].numpy().astype(np.float32)
        self.amounts.clear()

    def set_base(self, latent: np.ndarray) -> None:
        self.base = np.asarray(latent, dtype=np.float32).reshape(self.shape).copy()
        self.amounts.clear()

    def shift(self, delta: np.ndarray) -> None:
        """Move the latent by `delta` (latent shape) and keep the slider amounts: dragging on the latent map."""
        self.base = (self.base + np.asarray(delta, dtype=np.float32).reshape(self.shape)).astype(np.float32)

    def set_directions(self, directions: dict[str, tuple[np.ndarray, float]]) -> None:
        """New directions (a model's analysis arrived): the current latent is kept as the new base."""
        self.base = self.latent()
        self.directions = {k: (np.asarray(v, np.float32).reshape(self.shape), float(s))
                           for k, (v, s) in directions.items()}
        self.amounts.clear()

    def set_amount(self, key: str, amount: float) -> None:
        if key not in self.directions:
            raise KeyError(key)
        self.amounts[key] = float(amount)

    def latent(self) -> np.ndarray:
        z = self.base.astype(np.float32).copy()
        for key, amount in self.amounts.items():
            if amount:
                vector, scale = self.directions[key]
                z += np.float32(amount * scale) * vector
        return z

    def raw(self, index: int) -> float:
        return float(self.latent().reshape(-1)[index])

    def set_raw(self, index: int, value: float) -> None:
        flat = self.base.reshape(-1)
        flat[index] += np.float32(value - self.raw(index))

    def snapshot(self) -> tuple[np.ndarray, int, dict[str, float]]:
        """Everything a person can change here (base latent, seed, slider amounts), for undo."""
        return self.base.copy(), self.seed, dict(self.amounts)

    def apply_snapshot(self, snapshot: tuple[np.ndarray, int, dict[str, float]]) -> None:
        base, seed, amounts = snapshot
        self.base, self.seed = base.copy(), int(seed)
        self.amounts = {k: v for k, v in amounts.items() if k in self.directions}

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "seed": self.seed, "base": encode_array(self.base),
                "amounts": {k: v for k, v in self.amounts.items() if v}, "latent": encode_array(self.latent())}

    def restore(self, latent: np.ndarray, seed: int, base: np.ndarray, amounts: Mapping[str, float]) -> None:
        """Back to an exported face: `latent` exactly, with the slider amounts when this model has all their
        directions (else they are folded into the latent). Nothing changes when the latent is another model's size."""
        if latent.shape != self.shape:
            raise ValueError(f"This picture's face is {latent.size:,} numbers (shape {latent.shape}); the model shown "
                             f"has {self.base.size:,} (shape {self.shape}).")
        latent = np.array(latent, np.float32)
        self.seed = int(seed)
        if amounts and all(k in self.directions for k in amounts):
            self.base, self.amounts = np.array(base, np.float32).reshape(self.shape), dict(amounts)
            if np.array_equal(self.latent(), latent):
                return
        self.base, self.amounts = latent, {}  # exact latent first: sliders are only a view of it
