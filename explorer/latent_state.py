"""Explore's position in latent space: a base latent plus slider amounts along directions (numpy, no Qt).

latent = base + sum_k amount_k * scale_k * vector_k. A raw-number slider shows latent[i]; moving it
shifts base[i] so that latent[i] becomes the slider's value, so the direction sliders keep their meaning.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import numpy as np

from models.generative import seed_latents


def encode_array(array: np.ndarray) -> str:
    """float32 array -> base64 text (exact: every bit survives a PNG text chunk)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def decode_array(text: str, shape: tuple[int, ...]) -> np.ndarray:
    array = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<f4")
    if array.size != int(np.prod(shape)):
        raise ValueError(f"expected {int(np.prod(shape))} numbers, found {array.size}")
    return array.astype(np.float32).reshape(shape)


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

    def restore(self, data: dict) -> None:
        """Back to an exported state; amounts along directions this model does not have are folded in."""
        shape = tuple(int(s) for s in data["shape"])
        if shape != self.shape:
            raise ValueError(f"this picture's latent has shape {shape}, the model's is {self.shape}")
        latent = decode_array(data["latent"], shape)
        amounts = {k: float(v) for k, v in data.get("amounts", {}).items()}
        self.seed = int(data.get("seed", 0))
        if amounts and all(k in self.directions for k in amounts):
            self.base = decode_array(data["base"], shape)
            self.amounts = amounts
            if np.array_equal(self.latent(), latent):
                return
        self.base, self.amounts = latent, {}  # exact latent first: sliders are only a view of it
