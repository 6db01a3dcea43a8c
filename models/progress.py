"""The one progress type of every long computation.

A long computation (sampling, inversion, evaluation, the latent-space analysis, training the feature network) is
a generator that yields one `Progress` per step, so a caller can show it, preview it and stop by simply not asking
for the next step. The worker passes the numbers and words on to the panels (without the tensors) in its `Step`.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Step `done` of `total` of a long computation, and what it has so far."""

    done: int  # steps done so far
    total: int  # steps in all; 0 when not known (then it is never `finished`: the last step says so by its result)
    message: str = ""  # what is being done, in words for a person
    _: KW_ONLY  # the rest by name: a call written for an older field order fails at once instead of mixing them up
    state: Any = None  # the running value: x_t for diffusion, z for GAN inversion (a tensor); on the last step, the answer
    image: Any = None  # the current best guess of the image, a tensor (N, 3, H, W) in [-1, 1]
    t: int | None = None  # diffusion time step of `state`; -1 once it is a clean image
    loss: float | None = None  # the objective being lowered: inversion's reconstruction error, a training loss
    result: Any = None  # set on the last step only, where the computation makes one (an analysis, a trained net)

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done >= self.total
