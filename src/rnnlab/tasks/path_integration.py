"""Path integration in 2-D or 3-D (Huang, Singh, Martinelli & Rajan 2025, NeurIPS).

An agent starts at the origin. Its heading ``θ`` (and, in 3-D, elevation ``φ``) performs a
random walk, ``θ_t = θ_{t−1} + turn_std·√dt·ε_t`` (``θ_0`` uniform, ``φ_0 = 0``), and its speed is
``v_t ~ U[0, max_speed]`` each step. Velocity::

    2-D: u_t = v_t (cos θ_t, sin θ_t)
    3-D: u_t = v_t (cos φ_t cos θ_t, cos φ_t sin θ_t, sin φ_t)

Inputs are the heading angles as cosine/sine pairs (no wrap-around jump) and the speed:
``[cos θ, sin θ, v]`` in 2-D, ``[cos θ, sin θ, cos φ, sin φ, v]`` in 3-D. The output is the
position, kept inside the box ``[−box, box]^dim``::

    p_t = B(p_{t−1} + dt · u_t),   p_{−1} = 0

where ``B`` either **clips** each coordinate to the box (``boundary="clip"``, default: the
agent slides along the wall) or **reflects** it (``boundary="reflect"``: ``x ↦ 2·box − x`` above,
``−2·box − x`` below; a single fold suffices since ``max_speed · dt ≤ 2·box`` is required).
Loss: MSE on every step of the trial (Huang et al. train to 0.05); padding is unscored.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax
import jax.numpy as jnp
from pydantic import Field, field_validator

from ._base import Batch
from ._prefix import cumsum
from ._random import normal, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, window


def _bound(p, box: float, boundary: str):
    if boundary == "clip":
        return jnp.clip(p, -box, box)
    return jnp.where(p > box, 2 * box - p, jnp.where(p < -box, -2 * box - p, p))


class PathIntegration(TimedTask):
    name: ClassVar[str] = "path_integration"
    description: ClassVar[str] = "integrate heading and speed inputs into a position inside a box"
    paper: ClassVar[str] = "Huang, Singh, Martinelli & Rajan 2025, NeurIPS"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("duration",)

    dim: Literal[2, 3] = Field(2, description="2-D or 3-D space")
    dt: float = Field(0.1, gt=0, description="time step")
    duration: Duration = Field(10.0, description="trial duration")
    box: float = Field(5.0, gt=0, description="half-width of the box [-box, box]")
    max_speed: float = Field(1.0, gt=0, description="speed drawn from U[0, max_speed] each step")
    turn_std: float = Field(1.0, ge=0, description="heading random-walk std per sqrt(time)")
    boundary: Literal["clip", "reflect"] = Field("clip", description="how the box walls act")

    _steps = min_steps("duration")

    @field_validator("max_speed")
    @classmethod
    def _one_fold(cls, max_speed, info):
        dt, box = info.data.get("dt"), info.data.get("box")
        if dt is not None and box is not None and max_speed * dt > 2 * box:
            raise ValueError(f"one step (max_speed * dt = {max_speed * dt}) must not exceed 2 * box = {2 * box}")
        return max_speed

    @property
    def n_inputs(self) -> int:
        return 3 if self.dim == 2 else 5

    @property
    def n_outputs(self) -> int:
        return self.dim

    @property
    def n_steps(self) -> int:
        return max_steps(self.duration, self.dt)

    def velocity(self, inputs):
        """Velocity ``[..., dim]`` from the inputs (the rule the targets integrate)."""
        v = inputs[..., -1:]
        if self.dim == 2:
            return v * inputs[..., 0:2]
        cos_p, sin_p = inputs[..., 2:3], inputs[..., 3:4]
        return v * jnp.concatenate([cos_p * inputs[..., 0:2], sin_p], axis=-1)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, n_angles = batch_size, self.n_steps, self.dim - 1
        u_n, u_0, u_turn, u_v = uniforms(key, (B,), (B, 1), (B, T, n_angles), (B, T, 1))
        n = draw_steps(u_n, self.duration, self.dt)
        live = window(jnp.zeros_like(n), n, T)[:, :, None]
        start = jnp.zeros((B, 1, n_angles)).at[:, :, 0].set(2 * jnp.pi * u_0)
        turns = (self.turn_std * jnp.sqrt(self.dt) * normal(u_turn)).at[:, 0].set(0.0)
        angles = start + cumsum(turns, axis=1)
        speed = self.max_speed * u_v
        trig = jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1).reshape(B, T, 2 * n_angles)
        inputs = live * jnp.concatenate([trig, speed], axis=-1)

        def step(p, u):
            p = _bound(p + self.dt * u, self.box, self.boundary)
            return p, p

        _, pos = jax.lax.scan(step, jnp.zeros((B, self.dim)), jnp.swapaxes(self.velocity(inputs), 0, 1))
        targets = live * jnp.swapaxes(pos, 0, 1)
        mask = jnp.broadcast_to(live, targets.shape)
        return Batch(inputs, targets, mask, {"end": n, "angles": angles, "speed": speed[..., 0]})
