"""Go / No-Go (NeuroGym ``GoNogo``).

Periods: fixation → stimulus → delay → decision. A trial is *go* with probability
``p_go``; during the stimulus one of two cue channels is on (go cue or no-go cue), plus
noise ``ξ ~ N(0, sigma²/dt)``. Inputs: ``[fixation, go_cue, nogo_cue]`` (fixation 1 before the
decision period). The network must respond (class 1) after a go cue and withhold
(class 0) after a no-go cue once the fixation input goes off. Output: two classes,
cross-entropy only during the decision period (see ``_decision``).
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field

from . import _decision as dec
from ._base import Batch
from ._random import uniforms
from ._timing import Duration, TimedTask, bounds_info, layout, min_steps, window


class GoNogo(TimedTask):
    name: ClassVar[str] = "go_nogo"
    description: ClassVar[str] = "respond after a go cue, withhold after a no-go cue, across a delay"
    paper: ClassVar[str] = "NeuroGym GoNogo (Molano-Mazon et al. 2022)"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 2
    harder_fields: ClassVar[tuple[str, ...]] = ("delay",)
    periods: ClassVar[tuple[tuple[str, str], ...]] = (("fixation", "fixation"), ("stimulus", "stimulus"), ("delay", "delay"), ("decision", "decision"))

    dt: float = Field(100.0, gt=0, description="time step (ms)")
    fixation: Duration = Field(0.0, description="fixation period")
    stimulus: Duration = Field(500.0, description="cue period")
    delay: Duration = Field(500.0, description="delay between cue and decision")
    decision: Duration = Field(500.0, description="decision period (scored)")
    p_go: float = Field(0.5, ge=0.0, le=1.0, description="probability of a go trial")
    sigma: float = Field(0.0, ge=0.0, description="input noise (std sigma/sqrt(dt))")

    _steps = min_steps("stimulus", "decision")

    @property
    def n_inputs(self) -> int:
        return 3

    @property
    def n_outputs(self) -> int:
        return 2

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, periods = batch_size, self.n_steps, self._periods()
        u_t, u_g, u_n = uniforms(key, (len(periods), B), (B,), (B, T, 2))
        bounds, _ = layout(u_t, periods, self.dt)
        go = (u_g < self.p_go).astype(jnp.int32)
        stim = window(*bounds["stimulus"], T)[:, :, None]
        cue = stim * (jax.nn.one_hot(1 - go, 2)[:, None, :] + dec.noise(u_n, self.sigma, self.dt))
        fix = window(bounds["fixation"][0], bounds["decision"][0], T)
        inputs = jnp.concatenate([fix[:, :, None], cue], axis=-1)
        targets, mask = dec.decision_targets(go, window(*bounds["decision"], T))
        return Batch(inputs, targets, mask, {"go": go, **bounds_info(bounds)})
