"""Adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015; Arjovsky et al. 2016).

A sequence of ``n`` steps (``length``, fixed or drawn per trial) has two input channels:
values ``v_t ~ U[0, 1]`` and a marker channel that is 1 at exactly two steps, one drawn
uniformly in the first half ``[0, ⌊n/2⌋)`` and one in the second half ``[⌊n/2⌋, n)``. At the
last step the output must be the sum of the two marked values::

    y*_{n−1} = Σ_t m_t v_t

Loss: MSE on that last step only (the padding and all earlier steps are unscored).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from pydantic import Field

from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, window


class Adding(TimedTask):
    name: ClassVar[str] = "adding"
    description: ClassVar[str] = "output the sum of the two marked values of a long sequence at its end"
    paper: ClassVar[str] = "Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("length",)

    dt: float = Field(1.0, gt=0, description="time step (lengths in steps at dt=1)")
    length: Duration = Field(50.0, description="sequence length (fixed or (low, high))")

    _steps = min_steps("length", minimum=2)

    @property
    def n_inputs(self) -> int:
        return 2

    @property
    def n_outputs(self) -> int:
        return 1

    @property
    def n_steps(self) -> int:
        return max_steps(self.length, self.dt)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T = batch_size, self.n_steps
        u_n, (u_1, u_2), u_v = uniforms(key, (B,), (2, B), (B, T))
        n = draw_steps(u_n, self.length, self.dt)
        half = n // 2
        first, second = integers(u_1, 0, half), integers(u_2, half, n)
        live = window(jnp.zeros_like(n), n, T)
        values = live * u_v
        t = jnp.arange(T)[None, :]
        marks = ((t == first[:, None]) | (t == second[:, None])).astype(jnp.float32)
        total = (marks * values).sum(axis=1)
        last = (t == (n - 1)[:, None]).astype(jnp.float32)[:, :, None]
        inputs = jnp.stack([values, marks], axis=-1)
        info = {"first": first, "second": second, "sum": total, "end": n}
        return Batch(inputs, last * total[:, None, None], last, info)
