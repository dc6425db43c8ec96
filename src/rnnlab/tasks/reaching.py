"""Centre-out reaching with muscle-like outputs from an oscillatory teacher (Salatiello & Giese 2020).

Periods: hold → delay (target shown) → movement (after the go cue). The target ``k`` is one
of ``n_targets`` directions ``θ_k = 2πk/K``. Inputs: ``[cos θ_k, sin θ_k, hold]`` — the target
is shown from the delay onset on, and ``hold`` is 1 until the movement starts (its offset is
the go cue).

A fixed "motor cortex" teacher of ``n_teacher`` oscillators, drawn from ``teacher_seed``
(frequency ``f_j ~ U[freq_low, freq_high]`` Hz per unit, phase ``φ_jk ~ U[0, 2π)`` per unit and
target), is silent before the movement and during it (``τ = t − go`` steps of ``M``)::

    r_j(τ) = sin(π (τ + 1) / (M + 1)) · sin(2π f_j τ dt/1000 + φ_jk)

and drives ``n_muscles`` multiphasic, non-negative muscle-like outputs through a fixed
readout ``W`` (``W_mj ~ N(0, 2/n_teacher)``)::

    y*_m(t) = max(0, Σ_j W_mj r_j(t))

Loss: MSE over the trial (zeros before the go cue). ``info["teacher"]`` holds the teacher
activities ``[B, T, n_teacher]``; with ``n_recorded > 0``, that many teacher units (a fixed
random subset, ``recorded_units()``) are appended to the targets, so a network can be
trained on the behaviour and on sparse "recordings" of the teacher, as in the paper.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, field_validator

from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, bounds_info, layout, min_steps, total_steps, window


class Reaching(TimedTask):
    name: ClassVar[str] = "reaching"
    description: ClassVar[str] = "centre-out reach: muscle-like outputs of a fixed oscillatory teacher"
    paper: ClassVar[str] = "Salatiello & Giese 2020, RNN learning of performance and intrinsic population dynamics"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("delay",)

    dt: float = Field(20.0, gt=0, description="time step (ms)")
    hold: Duration = Field(200.0, description="hold period before the target appears")
    delay: Duration = Field((200.0, 600.0), description="target shown, movement withheld")
    movement: Duration = Field(600.0, description="movement period after the go cue")
    n_targets: int = Field(8, ge=1, description="number of reach directions")
    n_teacher: int = Field(50, ge=1, description="teacher oscillators")
    n_muscles: int = Field(4, ge=1, description="muscle-like outputs")
    freq_low: float = Field(1.0, gt=0, description="lowest teacher frequency (Hz)")
    freq_high: float = Field(3.0, gt=0, description="highest teacher frequency (Hz)")
    teacher_seed: int = Field(0, ge=0, description="seed of the fixed teacher")
    n_recorded: int = Field(0, ge=0, description="teacher units appended to the targets")

    _steps = min_steps("movement")

    @field_validator("freq_high")
    @classmethod
    def _freq_order(cls, high, info):
        if high < info.data.get("freq_low", 0.0):
            raise ValueError(f"must be >= freq_low = {info.data['freq_low']}")
        return high

    @field_validator("n_recorded")
    @classmethod
    def _recorded_units(cls, n, info):
        if n > info.data.get("n_teacher", n):
            raise ValueError(f"at most n_teacher = {info.data['n_teacher']}")
        return n

    def teacher_params(self) -> dict[str, np.ndarray]:
        """The fixed teacher: ``freqs [n_teacher]``, ``phases [n_teacher, K]``, ``readout [n_muscles, n_teacher]``."""
        rng = np.random.default_rng(self.teacher_seed)
        return {
            "freqs": rng.uniform(self.freq_low, self.freq_high, self.n_teacher),
            "phases": rng.uniform(0, 2 * np.pi, (self.n_teacher, self.n_targets)),
            "readout": rng.normal(0, np.sqrt(2 / self.n_teacher), (self.n_muscles, self.n_teacher)),
            "recorded": np.sort(rng.permutation(self.n_teacher)[: self.n_recorded]),
        }

    def recorded_units(self) -> np.ndarray:
        """Indices of the teacher units appended to the targets."""
        return self.teacher_params()["recorded"]

    @property
    def n_inputs(self) -> int:
        return 3

    @property
    def n_outputs(self) -> int:
        return self.n_muscles + self.n_recorded

    @property
    def n_behaviour(self) -> int:
        """The behavioural target columns (the muscles); the ``n_recorded`` after them are
        recordings (``rnnlab.objectives.data_constrained``)."""
        return self.n_muscles

    def _periods(self):
        return [("hold", self.hold), ("delay", self.delay), ("movement", self.movement)]

    @property
    def n_steps(self) -> int:
        return total_steps(self._periods(), self.dt)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, periods = batch_size, self.n_steps, self._periods()
        u_t, u_k = uniforms(key, (len(periods), B), (B,))
        bounds, _ = layout(u_t, periods, self.dt)
        go, end = bounds["movement"]
        target = integers(u_k, 0, self.n_targets)
        theta = 2 * jnp.pi * target / self.n_targets
        shown = window(bounds["delay"][0], end, T)[:, :, None]
        hold = window(jnp.zeros_like(go), go, T)[:, :, None]
        inputs = jnp.concatenate([shown * jnp.stack([jnp.cos(theta), jnp.sin(theta)], -1)[:, None], hold], -1)
        p = self.teacher_params()
        units = p.pop("recorded")
        p = {k: jnp.asarray(v, jnp.float32) for k, v in p.items()}
        tau = (jnp.arange(T)[None, :] - go[:, None]).astype(jnp.float32)  # [B, T]
        env = jnp.sin(jnp.pi * (tau + 1) / (end - go + 1)[:, None]) * window(go, end, T)
        phase = p["phases"].T[target]  # [B, n_teacher]
        osc = jnp.sin(2 * jnp.pi * p["freqs"] * tau[..., None] * self.dt / 1000 + phase[:, None, :])
        teacher = env[..., None] * osc  # [B, T, n_teacher]
        muscles = jax.nn.relu(teacher @ p["readout"].T)
        targets = jnp.concatenate([muscles, teacher[..., units]], axis=-1)
        live = window(jnp.zeros_like(end), end, T)[:, :, None]
        mask = jnp.broadcast_to(live, targets.shape)
        return Batch(inputs, targets, mask, {"target": target, "teacher": teacher, **bounds_info(bounds)})
