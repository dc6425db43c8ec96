"""Perceptual decision making (random-dot motion; NeuroGym ``PerceptualDecisionMaking-v0``).

Periods: fixation → stimulus → delay (optional, 0 by default) → decision. A trial draws a
choice ``c ∈ {0, 1}`` and a coherence ``coh`` (percent) from ``coherences``. Inputs
(3 channels)::

    x_fix(t)  = 1 before the decision period, 0 during it
    x_j(t)    = (1 + coh/100)/2 + ξ   if j = c    }  during the stimulus period,
              = (1 − coh/100)/2 + ξ   otherwise   }  0 elsewhere,   j ∈ {0, 1}

with ``ξ ~ N(0, sigma²/dt)`` (NeuroGym's noise scaling, ``dt`` in ms). At zero coherence
the choice is a coin flip carried by no evidence. Output: two classes (choice 0 / 1),
cross-entropy **only during the decision period**, target ``c`` (see ``_decision``); the
metric is the decision accuracy. ``info["signed_coherence"] = ±coh`` (+ for choice 1).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from pydantic import Field, field_validator

from . import _decision as dec
from ._base import Batch
from ._random import uniforms
from ._timing import Duration, TimedTask, bounds_info, layout, min_steps, window


class PerceptualDecision(TimedTask):
    name: ClassVar[str] = "perceptual_decision"
    description: ClassVar[str] = "two-choice decision on noisy evidence of variable coherence"
    paper: ClassVar[str] = "Britten et al. 1992; NeuroGym PerceptualDecisionMaking (Molano-Mazon et al. 2022)"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 2
    harder_fields: ClassVar[tuple[str, ...]] = ("stimulus", "delay")
    periods: ClassVar[tuple[tuple[str, str], ...]] = (("fixation", "fixation"), ("stimulus", "stimulus"), ("delay", "delay"), ("decision", "decision"))

    dt: float = Field(100.0, gt=0, description="time step (ms)")
    fixation: Duration = Field(100.0, description="fixation period (ms or (low, high))")
    stimulus: Duration = Field(2000.0, description="stimulus period")
    delay: Duration = Field(0.0, description="delay between stimulus and decision")
    decision: Duration = Field(100.0, description="decision period (scored)")
    coherences: tuple[float, ...] = Field(
        (0.0, 6.4, 12.8, 25.6, 51.2), min_length=1, description="coherences (percent) drawn uniformly"
    )
    sigma: float = Field(1.0, ge=0.0, description="input noise (std sigma/sqrt(dt))")

    _steps = min_steps("decision")

    @field_validator("coherences")
    @classmethod
    def _percent(cls, coherences):
        return dec.check_coherences(coherences)

    @property
    def n_inputs(self) -> int:
        return 3

    @property
    def n_outputs(self) -> int:
        return 2

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, periods = batch_size, self.n_steps, self._periods()
        u_t, (u_c, u_coh), u_n = uniforms(key, (len(periods), B), (2, B), (B, T, 2))
        bounds, _ = layout(u_t, periods, self.dt)
        stim = window(*bounds["stimulus"], T)
        fix = window(bounds["fixation"][0], bounds["decision"][0], T)
        choice = (u_c < 0.5).astype(jnp.int32)
        coh = dec.draw_coherence(u_coh, self.coherences)
        mean = dec.evidence(choice, coh)  # [B, 2]
        x = stim[:, :, None] * (mean[:, None, :] + dec.noise(u_n, self.sigma, self.dt))
        inputs = jnp.concatenate([fix[:, :, None], x], axis=-1)
        targets, mask = dec.decision_targets(choice, window(*bounds["decision"], T))
        info = {"choice": choice, "coherence": coh, "signed_coherence": jnp.where(choice == 1, coh, -coh)}
        return Batch(inputs, targets, mask, {**info, **bounds_info(bounds)})
