"""Delayed match-to-sample with ring-coded stimuli (NeuroGym ``DelayMatchSample``; Yang et al. 2019).

Periods: fixation → sample → delay → test → decision. The sample direction is one of
``n_dirs`` equally spaced angles ``θ_s = 2π s / n_dirs``; with probability 1/2 the test
shows the same direction (match), otherwise a different one drawn uniformly from the
other ``n_dirs − 1``. Stimuli are coded by ``n_ring`` units with preferred angles
``φ_k = 2π k / n_ring``::

    r_k(θ) = (1 + cos(θ − φ_k)) / 2 + ξ,   ξ ~ N(0, sigma²/dt)

on during the sample and test periods (0 elsewhere). Inputs: ``[fixation, r_0 … r_{n_ring−1}]``
(fixation 1 before the decision period). Output: two classes (0 non-match, 1 match),
cross-entropy only during the decision period (see ``_decision``).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from pydantic import Field

from . import _decision as dec
from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, bounds_info, layout, min_steps, window


class DelayMatchSample(TimedTask):
    name: ClassVar[str] = "delay_match_sample"
    description: ClassVar[str] = "is the ring-coded test stimulus the same as the sample held over a delay"
    paper: ClassVar[str] = "Miller et al. 1996; NeuroGym DelayMatchSample; Yang et al. 2019, Nat Neurosci"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 2
    harder_fields: ClassVar[tuple[str, ...]] = ("delay",)
    periods: ClassVar[tuple[tuple[str, str], ...]] = (("fixation", "fixation"), ("sample", "sample_period"), ("delay", "delay"), ("test", "test"), ("decision", "decision"))

    dt: float = Field(100.0, gt=0, description="time step (ms)")
    fixation: Duration = Field(300.0, description="fixation period")
    sample_period: Duration = Field(500.0, description="sample stimulus period")
    delay: Duration = Field(1000.0, description="delay between sample and test")
    test: Duration = Field(500.0, description="test stimulus period")
    decision: Duration = Field(900.0, description="decision period (scored)")
    n_dirs: int = Field(8, ge=2, description="number of stimulus directions")
    n_ring: int = Field(8, ge=3, description="ring units coding a direction")
    sigma: float = Field(1.0, ge=0.0, description="input noise (std sigma/sqrt(dt))")

    _steps = min_steps("sample_period", "test", "decision")

    @property
    def n_inputs(self) -> int:
        return 1 + self.n_ring

    @property
    def n_outputs(self) -> int:
        return 2

    def ring(self, theta):
        """Noise-free ring code ``[..., n_ring]`` of angles ``theta``."""
        phi = 2 * jnp.pi * jnp.arange(self.n_ring) / self.n_ring
        return 0.5 * (1.0 + jnp.cos(theta[..., None] - phi))

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, periods = batch_size, self.n_steps, self._periods()
        u_t, (u_s, u_m, u_o), u_n = uniforms(key, (len(periods), B), (3, B), (B, T, self.n_ring))
        bounds, _ = layout(u_t, periods, self.dt)
        s = integers(u_s, 0, self.n_dirs)
        match = (u_m < 0.5).astype(jnp.int32)
        test = jnp.where(match == 1, s, (s + integers(u_o, 1, self.n_dirs)) % self.n_dirs)
        th_s, th_t = (2 * jnp.pi * d / self.n_dirs for d in (s, test))
        w_s, w_t = window(*bounds["sample"], T), window(*bounds["test"], T)
        on = (w_s + w_t)[:, :, None]
        code = w_s[:, :, None] * self.ring(th_s)[:, None] + w_t[:, :, None] * self.ring(th_t)[:, None]
        code = code + on * dec.noise(u_n, self.sigma, self.dt)
        fix = window(bounds["fixation"][0], bounds["decision"][0], T)
        inputs = jnp.concatenate([fix[:, :, None], code], axis=-1)
        targets, mask = dec.decision_targets(match, window(*bounds["decision"], T))
        info = {"sample_dir": th_s, "test_dir": th_t, "match": match}
        return Batch(inputs, targets, mask, {**info, **bounds_info(bounds)})
