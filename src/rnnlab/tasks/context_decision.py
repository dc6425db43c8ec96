"""Context-dependent decision making (Mante, Sussillo, Shenoy & Newsome 2013, *Nature* 503:78).

Two noisy modalities (motion and colour in the paper) each carry evidence for one of two
choices, independently: modality ``m ∈ {0, 1}`` has choice ``c_m`` and coherence ``coh_m``.
A context cue says which modality to integrate; the correct answer is ``c_context`` and the
other modality is a distractor. Periods: fixation → stimulus → delay → decision. Inputs
(7 channels, the layout of NeuroGym's ``ContextDecisionMaking``)::

    [fixation, mod0_ch0, mod0_ch1, mod1_ch0, mod1_ch1, context0, context1]

``fixation`` is 1 before the decision period; the modality channels carry
``(1 ± coh_m/100)/2 + ξ`` during the stimulus (the larger on ``c_m``, ``ξ ~ N(0, sigma²/dt)``);
the context one-hot is on from trial start until the decision period. Output: two classes,
cross-entropy only during the decision period (see ``_decision``), target ``c_context``.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field, field_validator

from . import _decision as dec
from ._base import Batch
from ._random import uniforms
from ._timing import Duration, TimedTask, bounds_info, layout, min_steps, window


class ContextDecision(TimedTask):
    name: ClassVar[str] = "context_decision"
    description: ClassVar[str] = "integrate the modality named by a context cue, ignore the other"
    paper: ClassVar[str] = "Mante, Sussillo, Shenoy & Newsome 2013, Nature"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 2
    harder_fields: ClassVar[tuple[str, ...]] = ("stimulus", "delay")
    periods: ClassVar[tuple[tuple[str, str], ...]] = (("fixation", "fixation"), ("stimulus", "stimulus"), ("delay", "delay"), ("decision", "decision"))

    dt: float = Field(100.0, gt=0, description="time step (ms)")
    fixation: Duration = Field(300.0, description="fixation period (context cue already on)")
    stimulus: Duration = Field(800.0, description="stimulus period")
    delay: Duration = Field((200.0, 800.0), description="delay between stimulus and decision")
    decision: Duration = Field(100.0, description="decision period (scored)")
    coherences: tuple[float, ...] = Field((5.0, 15.0, 50.0), min_length=1, description="coherences (percent)")
    sigma: float = Field(1.0, ge=0.0, description="input noise (std sigma/sqrt(dt))")

    _steps = min_steps("decision")

    @field_validator("coherences")
    @classmethod
    def _percent(cls, coherences):
        return dec.check_coherences(coherences)

    @property
    def n_inputs(self) -> int:
        return 7

    @property
    def n_outputs(self) -> int:
        return 2

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, periods = batch_size, self.n_steps, self._periods()
        u_t, u_c, u_coh, u_ctx, u_n = uniforms(key, (len(periods), B), (B, 2), (B, 2), (B,), (B, T, 4))
        bounds, _ = layout(u_t, periods, self.dt)
        stim = window(*bounds["stimulus"], T)[:, :, None]
        before = window(bounds["fixation"][0], bounds["decision"][0], T)[:, :, None]
        choices = (u_c < 0.5).astype(jnp.int32)
        coh = dec.draw_coherence(u_coh, self.coherences)
        context = (u_ctx < 0.5).astype(jnp.int32)
        means = jnp.concatenate([dec.evidence(choices[:, m], coh[:, m]) for m in range(2)], axis=-1)  # [B, 4]
        mods = stim * (means[:, None, :] + dec.noise(u_n, self.sigma, self.dt))
        cue = before * jax.nn.one_hot(context, 2)[:, None, :]
        inputs = jnp.concatenate([before, mods, cue], axis=-1)
        label = jnp.take_along_axis(choices, context[:, None], axis=1)[:, 0]
        targets, mask = dec.decision_targets(label, window(*bounds["decision"], T))
        info = {
            "context": context, "label": label,
            "choice_0": choices[:, 0], "choice_1": choices[:, 1],
            "coherence_0": coh[:, 0], "coherence_1": coh[:, 1],
        }
        return Batch(inputs, targets, mask, {**info, **bounds_info(bounds)})
