"""Pieces shared by the two-alternative decision tasks (NeuroGym-style timing).

Convention of every decision task in this library: two output classes, scored with
cross-entropy **only during the decision period** (the other steps have mask 0, so the
base class's ``accuracy`` is the decision accuracy). A fixation input is 1 until the
decision period starts; its offset is the go signal. Input noise has standard deviation
``sigma / sqrt(dt)`` per step, as in NeuroGym (``dt`` in ms).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._random import integers, normal


def evidence(choice, coherence):
    """``[B, 2]`` mean stimulus of the two choice channels: ``(1 ± coh/100) / 2``, the larger on ``choice``."""
    c = coherence / 100.0
    favoured = jax.nn.one_hot(choice, 2)
    return 0.5 * (1.0 - c[:, None]) + c[:, None] * favoured


def draw_coherence(u, coherences):
    """Coherences (percent) drawn uniformly from the tuple ``coherences``, from uniforms ``u``."""
    return jnp.asarray(coherences, jnp.float32)[integers(u, 0, len(coherences))]


def noise(u, sigma: float, dt: float):
    """Input noise ``N(0, sigma²/dt)`` from uniforms ``u``."""
    return (sigma / jnp.sqrt(dt)) * normal(u)


def decision_targets(label, decision_window):
    """One-hot ``label`` during the decision window; ``(targets, mask)`` of shape ``[B, T, 2]``."""
    win = decision_window[:, :, None]
    targets = win * jax.nn.one_hot(label, 2)[:, None, :]
    return targets, jnp.broadcast_to(win, targets.shape)


def check_coherences(coherences: tuple[float, ...]) -> tuple[float, ...]:
    """Validator body: every coherence lies in [0, 100] percent."""
    if any(not 0 <= c <= 100 for c in coherences):
        raise ValueError("must lie in [0, 100]")
    return coherences
