"""Line drawing (Pemberton, Boven et al. 2021, NeurIPS; repo ``neuralml/ccDNI``, ``src/dataset/linedraw.py``).

One input pulse at ``t = 0`` names one of 7 targets (one-hot on 7 channels): target 0 is the
origin, targets 1–6 lie on a circle of radius ``radius`` at angles ``a_i = 2π(i−1)/6``,
``p_i = radius · (sin a_i, cos a_i)`` (the repository's convention). The 2-D output draws
the straight line from the origin to the target over the ``n = round(seqlen/dt)`` steps of
the trial (``np.linspace(0, p, n)`` in the repository)::

    y*(t) = p_k · t / (n − 1),   t = 0 … n − 1

Loss: MSE on every step of the trial; a ``(low, high)`` seqlen draws ``n`` per trial and
the padding after ``n`` is unscored.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field

from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, window


class LineDrawing(TimedTask):
    name: ClassVar[str] = "line_drawing"
    description: ClassVar[str] = "draw a straight 2-D line to one of 7 targets named by a pulse at t=0"
    paper: ClassVar[str] = "Pemberton, Boven et al. 2021, NeurIPS"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("seqlen",)

    dt: float = Field(1.0, gt=0, description="time step (durations in steps at dt=1)")
    seqlen: Duration = Field(10.0, description="trial length (drawing time)")
    radius: float = Field(10.0, gt=0, description="radius of the circle of targets")

    _steps = min_steps("seqlen", minimum=2)

    def target_points(self) -> np.ndarray:
        """The 7 end points ``[7, 2]`` (row 0 the origin)."""
        a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
        return np.concatenate([np.zeros((1, 2)), self.radius * np.stack([np.sin(a), np.cos(a)], -1)])

    @property
    def n_inputs(self) -> int:
        return 7

    @property
    def n_outputs(self) -> int:
        return 2

    @property
    def n_steps(self) -> int:
        return max_steps(self.seqlen, self.dt)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T = batch_size, self.n_steps
        u_n, u_k = uniforms(key, (B,), (B,))
        n = draw_steps(u_n, self.seqlen, self.dt)
        k = integers(u_k, 0, 7)
        inputs = jnp.zeros((B, T, 7)).at[:, 0].set(jax.nn.one_hot(k, 7))
        end = jnp.asarray(self.target_points(), jnp.float32)[k]  # [B, 2]
        frac = jnp.arange(T)[None, :] / (n[:, None] - 1)
        live = window(jnp.zeros_like(n), n, T)[:, :, None]
        targets = live * frac[:, :, None] * end[:, None, :]
        mask = jnp.broadcast_to(live, targets.shape)
        return Batch(inputs, targets, mask, {"target": k, "end": n})
