"""Ready-Set-Go interval reproduction (Jazayeri & Shadlen 2010; NeuroGym ``ReadySetGo``).

After a fixation period a *Ready* pulse and, ``m`` steps after its onset, a *Set* pulse are
given (``m`` drawn from ``measure``). The network must produce the interval
``p = max(round(gain · m), 1)`` after Set, i.e. respond at ``go = set + p``.

Output (one channel, MSE) — a ramp that reaches 1 at the reproduced time::

    y*(t) = 0                     t < set
    y*(t) = (t − set) / p         set ≤ t ≤ go
    y*(t) = 1                     go < t < go + post

so that the time the output crosses 1 is the produced Go (the threshold readout of
Wang et al. 2018). Every step of the trial is scored; the padding after ``go + post`` is not.
Inputs: ``[ready, set]``, each 1 during its ``pulse``-long pulse.
"""

from __future__ import annotations

import math
from typing import ClassVar

import jax.numpy as jnp
from pydantic import Field, field_validator

from ._base import Batch
from ._random import uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, step_range, window


class ReadySetGo(TimedTask):
    name: ClassVar[str] = "ready_set_go"
    description: ClassVar[str] = "reproduce the Ready-Set interval (times gain) after Set, as a ramp to 1"
    paper: ClassVar[str] = "Jazayeri & Shadlen 2010, Nat Neurosci; NeuroGym ReadySetGo"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    harder_fields: ClassVar[tuple[str, ...]] = ("measure",)

    dt: float = Field(50.0, gt=0, description="time step (ms)")
    fixation: Duration = Field(100.0, description="fixation period before Ready")
    pulse: float = Field(50.0, gt=0, description="length of the Ready and Set pulses")
    measure: Duration = Field((500.0, 1000.0), description="Ready-to-Set interval (onset to onset)")
    post: Duration = Field(250.0, description="scored period after Go (target held at 1)")
    gain: float = Field(1.0, gt=0, description="produced interval = gain x measured interval")

    _steps = min_steps("pulse")

    @field_validator("measure")
    @classmethod
    def _longer_than_pulse(cls, measure, info):
        dt, pulse = info.data.get("dt"), info.data.get("pulse")
        if dt is not None and pulse is not None and step_range(measure, dt)[0] <= step_range(pulse, dt)[0]:
            raise ValueError(f"must last more steps than pulse ({pulse}) at dt={dt}")
        return measure

    @property
    def n_inputs(self) -> int:
        return 2

    @property
    def n_outputs(self) -> int:
        return 1

    @property
    def n_steps(self) -> int:
        m = max_steps(self.measure, self.dt)
        produce = max(int(math.floor(self.gain * m + 0.5)), 1) + max_steps(self.post, self.dt)
        return max_steps(self.fixation, self.dt) + m + max(produce, max_steps(self.pulse, self.dt))

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, dt = batch_size, self.n_steps, self.dt
        ((u_f, u_m, u_p),) = uniforms(key, (3, B))
        ready = draw_steps(u_f, self.fixation, dt)
        m = draw_steps(u_m, self.measure, dt)
        set_on = ready + m
        p = jnp.maximum(jnp.floor(self.gain * m + 0.5).astype(jnp.int32), 1)
        go = set_on + p
        end = go + draw_steps(u_p, self.post, dt)
        width = step_range(self.pulse, dt)[0]
        inputs = jnp.stack([window(ready, ready + width, T), window(set_on, set_on + width, T)], axis=-1)
        t = jnp.arange(T)[None, :]
        ramp = jnp.clip((t - set_on[:, None]) / p[:, None], 0.0, 1.0)
        live = window(jnp.zeros_like(end), end, T)
        targets = (live * ramp)[:, :, None]
        info = {"ready_on": ready, "set_on": set_on, "go": go, "end": end, "interval": m, "produce": p}
        return Batch(inputs, targets, live[:, :, None], info)
