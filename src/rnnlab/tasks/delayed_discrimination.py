"""Delayed discrimination (Romo et al. 1999; Huang, Singh, Martinelli & Rajan 2025, NeurIPS).

Two pulses of amplitudes ``f1, f2 ~ U[f_min, f_max]`` (default [2, 10]) arrive on an
input channel separated by a delay (5–20 steps by default, drawn per trial). During the
response window the output must report which was larger::

    x(t)  = input_scale · f1   during stimulus 1,   input_scale · f2   during stimulus 2
    y*(t) = sign(f2 − f1)      during the response window, 0 before it

Periods: fixation → stimulus 1 → delay → stimulus 2 → response. Loss: MSE over the whole
trial (0 before the response; Huang et al. train to MSE 0.01); padding is unscored.
The ``n_channels`` variant repeats the task independently on each channel (shared timing).
Huang et al.'s out-of-distribution test doubles the delay: ``harder()``.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from pydantic import Field, field_validator

from ._base import Batch
from ._random import uniforms
from ._timing import Duration, TimedTask, bounds_info, layout, min_steps, window


class DelayedDiscrimination(TimedTask):
    name: ClassVar[str] = "delayed_discrimination"
    description: ClassVar[str] = "compare two pulse amplitudes across a delay: output sign(f2 - f1)"
    paper: ClassVar[str] = "Romo et al. 1999; Huang, Singh, Martinelli & Rajan 2025, NeurIPS"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("delay",)
    periods: ClassVar[tuple[tuple[str, str], ...]] = (("fixation", "fixation"), ("stim1", "pulse"), ("delay", "delay"), ("stim2", "pulse"), ("response", "response"))

    dt: float = Field(1.0, gt=0, description="time step (durations in steps at dt=1)")
    fixation: Duration = Field(2.0, description="period before the first pulse")
    pulse: Duration = Field(1.0, description="length of each pulse")
    delay: Duration = Field((5.0, 20.0), description="delay between the pulses")
    response: Duration = Field(5.0, description="response window")
    f_min: float = Field(2.0, description="smallest pulse amplitude")
    f_max: float = Field(10.0, description="largest pulse amplitude")
    input_scale: float = Field(0.1, gt=0, description="input = input_scale x amplitude")
    n_channels: int = Field(1, ge=1, description="independent channels")

    _steps = min_steps("pulse", "response")

    @field_validator("f_max")
    @classmethod
    def _range(cls, f_max, info):
        if not f_max > info.data.get("f_min", float("-inf")):
            raise ValueError(f"must be > f_min = {info.data['f_min']}")
        return f_max

    @property
    def n_inputs(self) -> int:
        return self.n_channels

    @property
    def n_outputs(self) -> int:
        return self.n_channels

    def sample(self, key, batch_size, level=None) -> Batch:
        B, C, T, periods = batch_size, self.n_channels, self.n_steps, self._periods()
        u_t, u_f = uniforms(key, (len(periods), B), (2, B, C))
        bounds, _ = layout(u_t, periods, self.dt)
        f = self.f_min + (self.f_max - self.f_min) * u_f
        w1, w2, wr = (window(*bounds[p], T)[:, :, None] for p in ("stim1", "stim2", "response"))
        inputs = self.input_scale * (w1 * f[0][:, None] + w2 * f[1][:, None])
        targets = wr * jnp.sign(f[1] - f[0])[:, None]
        live = window(bounds["fixation"][0], bounds["response"][1], T)[:, :, None]
        mask = jnp.broadcast_to(live, targets.shape)
        return Batch(inputs, targets, mask, {"f1": f[0], "f2": f[1], **bounds_info(bounds)})
