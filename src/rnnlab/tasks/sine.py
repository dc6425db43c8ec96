"""Sine-wave generation (Huang, Singh, Martinelli & Rajan 2025, NeurIPS; after Sussillo & Barak 2013).

Each of ``n_channels`` channels draws a frequency ``f`` (cycles per unit of time) uniformly
from ``train_freqs`` or, with ``split="test"``, from the held-out ``test_freqs``. Its input
is a static level coding the frequency, its output the sine wave::

    x(t) = f / 30                 (Huang et al. use f ∈ [1, 30], so x ∈ (0, 1])
    y*(t) = sin(2π f t dt),       t = 0, 1, …, n − 1

for a trial of ``n = round(duration / dt)`` steps (a range draws ``n`` per trial; the steps
after ``n`` are zero and unscored). Loss: MSE (Huang et al. train to MSE 0.05). The
default ``dt`` samples the fastest default frequency (29) about 7 times per cycle.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax.numpy as jnp
from pydantic import Field, field_validator

from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, window

_TRAIN = tuple(float(f) for f in range(1, 30, 4))  # 1, 5, ..., 29
_TEST = tuple(float(f) for f in range(3, 30, 4))  # 3, 7, ..., 27


class Sine(TimedTask):
    name: ClassVar[str] = "sine"
    description: ClassVar[str] = "static frequency input, sine-wave output; held-out test frequencies"
    paper: ClassVar[str] = "Huang, Singh, Martinelli & Rajan 2025, NeurIPS"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("duration",)

    dt: float = Field(0.005, gt=0, description="time step (s)")
    duration: Duration = Field(1.0, description="trial duration (s or (low, high))")
    train_freqs: tuple[float, ...] = Field(_TRAIN, description="training frequencies (Hz)")
    test_freqs: tuple[float, ...] = Field(_TEST, description="held-out frequencies (Hz)")
    split: Literal["train", "test"] = Field("train", description="which frequency set to sample from")
    n_channels: int = Field(1, ge=1, description="independent input/output channels")

    _steps = min_steps("duration")

    @field_validator("train_freqs", "test_freqs")
    @classmethod
    def _frequencies(cls, freqs):
        if not freqs:
            raise ValueError("the frequency set is empty")
        if any(f <= 0 for f in freqs):
            raise ValueError("frequencies must be > 0")
        return freqs

    @property
    def freqs(self) -> tuple[float, ...]:
        """The frequency set sampled from (``split``)."""
        return self.train_freqs if self.split == "train" else self.test_freqs

    @property
    def n_inputs(self) -> int:
        return self.n_channels

    @property
    def n_outputs(self) -> int:
        return self.n_channels

    @property
    def n_steps(self) -> int:
        return max_steps(self.duration, self.dt)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, C = batch_size, self.n_steps, self.n_channels
        u_n, u_f = uniforms(key, (B,), (B, C))
        n = draw_steps(u_n, self.duration, self.dt)
        f = jnp.asarray(self.freqs, jnp.float32)[integers(u_f, 0, len(self.freqs))]
        live = window(jnp.zeros_like(n), n, T)[:, :, None]
        t = jnp.arange(T, dtype=jnp.float32)[None, :, None] * self.dt
        inputs = live * (f[:, None, :] / 30.0)
        targets = live * jnp.sin(2 * jnp.pi * f[:, None, :] * t)
        mask = jnp.broadcast_to(live, targets.shape)
        return Batch(inputs, targets, mask, {"freq": f, "end": n})
