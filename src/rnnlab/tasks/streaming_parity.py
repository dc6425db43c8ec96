"""Streaming (running) parity: the parity of all bits so far, at every step.

Bits ``x_t ~ Bernoulli(p)`` arrive one per step on one input channel; at every step ``t`` of a
length-``n`` sequence the target is::

    y*_t = (x_0 + x_1 + … + x_t) mod 2

two classes, cross-entropy on every step of the sequence (padding unscored). The regular
language that RNNs can learn and transformers struggle to length-generalise (e.g. Deletang
et al. 2023, "Neural Networks and the Chomsky Hierarchy"): train on short sequences,
then test on far longer ones with ``harder(factor)`` (``length`` multiplied by ``factor``).
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field

from ._base import Batch
from ._prefix import cumsum
from ._random import uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, window


class StreamingParity(TimedTask):
    name: ClassVar[str] = "streaming_parity"
    description: ClassVar[str] = "running parity of all bits so far, emitted at every step"
    paper: ClassVar[str] = "Deletang et al. 2023, ICLR (parity); length generalisation benchmark"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 2
    harder_fields: ClassVar[tuple[str, ...]] = ("length",)

    dt: float = Field(1.0, gt=0, description="time step (lengths in steps at dt=1)")
    length: Duration = Field(20.0, description="sequence length (fixed or (low, high))")
    p: float = Field(0.5, gt=0.0, lt=1.0, description="probability of a 1 bit")

    _steps = min_steps("length")

    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_outputs(self) -> int:
        return 2

    @property
    def n_steps(self) -> int:
        return max_steps(self.length, self.dt)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T = batch_size, self.n_steps
        u_n, u_b = uniforms(key, (B,), (B, T))
        n = draw_steps(u_n, self.length, self.dt)
        live = window(jnp.zeros_like(n), n, T)
        bits = ((u_b < self.p) * live).astype(jnp.int32)
        parity = cumsum(bits, axis=1) % 2
        targets = live[:, :, None] * jax.nn.one_hot(parity, 2)
        mask = jnp.broadcast_to(live[:, :, None], targets.shape)
        return Batch(bits[..., None].astype(jnp.float32), targets, mask, {"bits": bits, "end": n})
