"""N-bit flip-flop (Sussillo & Barak 2013, *Neural Computation* 25:626).

Each of ``N`` input channels carries sparse pulses ``x_{t,i} ∈ {−1, 0, +1}``: at each step a
pulse occurs with probability ``p`` and has a random sign. Output ``i`` holds the sign of the
most recent pulse on channel ``i``::

    y*_{t,i} = x_{s,i},   s = max{ s' ≤ t : x_{s',i} ≠ 0 }     (0 before the first pulse)

The trained network must store ``2^N`` memories; a well-trained network has ``2^N`` stable
fixed points near the corners of the output cube. Loss: MSE over all steps (Huang et al. 2025
train to MSE 0.001). Gaussian noise of standard deviation ``noise`` is added to the inputs
only; the targets follow the clean pulses, given in ``info["pulses"]``.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from pydantic import Field

from ._base import Batch, Task
from ._prefix import cummax
from ._random import normal, uniforms


class FlipFlop(Task):
    name: ClassVar[str] = "flipflop"
    description: ClassVar[str] = "N-bit flip-flop: each output holds the sign of the last pulse on its channel"
    paper: ClassVar[str] = "Sussillo & Barak 2013, Neural Computation"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("n_steps",)

    n_bits: int = Field(3, ge=1, description="number of channels N")
    n_steps: int = Field(100, ge=2, description="trial length T in steps")
    p: float = Field(0.05, gt=0.0, le=1.0, description="pulse probability per step and channel")
    noise: float = Field(0.0, ge=0.0, description="std of Gaussian input noise")

    @property
    def n_inputs(self) -> int:
        return self.n_bits

    @property
    def n_outputs(self) -> int:
        return self.n_bits

    def sample(self, key, batch_size, level=None) -> Batch:
        # One uniform u per step and channel decides both the pulse (u < p) and, given a pulse,
        # its sign (u < p/2: +1): conditional on u < p, u/p is again U[0, 1). The held target
        # comes from a running maximum of 2t + [sign > 0] over pulse times (no gather), and the
        # noise is drawn only if it is used: this sampler runs once per training step of every
        # ensemble member, where its cost is comparable to the network's forward pass.
        shape = (batch_size, self.n_steps, self.n_bits)
        u, *u_noise = uniforms(key, shape, *([shape] if self.noise > 0 else []))
        on = u < self.p
        up = u < 0.5 * self.p
        pulses = jnp.where(on, jnp.where(up, 1.0, -1.0), 0.0)
        t = jnp.arange(self.n_steps, dtype=jnp.int32)[None, :, None]
        last = cummax(jnp.where(on, 2 * t + up.astype(jnp.int32), -1), axis=1)
        targets = jnp.where(last >= 0, jnp.where(last % 2 == 1, 1.0, -1.0), 0.0)
        inputs = pulses + self.noise * normal(u_noise[0]) if u_noise else pulses
        return Batch(inputs, targets, jnp.ones_like(targets), {"pulses": pulses})
