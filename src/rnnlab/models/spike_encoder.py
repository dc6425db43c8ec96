"""Delta (send-on-delta) spike encoder with a trainable threshold, in the spirit of STAL
(learned spike-encoding thresholds).

Each continuous input channel ``x_i`` drives an ON and an OFF channel that spike when the
input has moved by more than the threshold ``ϑ_i`` from a reference ``r_i`` (the level last
signalled)::

    on_t  = H(x_t − r_{t−1} − ϑ),    off_t = H(r_{t−1} − x_t − ϑ)
    r_t   = r_{t−1} + ϑ (on_t − off_t)                        (r_0 = 0)

so a step of size Δ is signalled by ⌈Δ/ϑ⌉ spikes over as many steps. ``ϑ = threshold ·
exp(ϑ̃)`` (positive; ϑ̃ = 0 at init) is trained through the surrogate derivative of ``H``
(``surrogate.spike``). The reference is part of the network state.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .surrogate import spike


class DeltaEncoder(eqx.Module):
    theta_raw: jax.Array
    threshold: float = eqx.field(static=True)
    surrogate: str = eqx.field(static=True)
    slope: float = eqx.field(static=True)

    def __init__(self, n_inputs: int, threshold: float, surrogate: str, slope: float):
        self.theta_raw = jnp.zeros(n_inputs)
        self.threshold = threshold
        self.surrogate = surrogate
        self.slope = slope

    def thresholds(self) -> jax.Array:
        return self.threshold * jnp.exp(self.theta_raw)

    def __call__(self, x: jax.Array, ref: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(spikes [2I] = [on, off], new reference [I])``."""
        th = self.thresholds()
        on = spike(x - ref - th, self.surrogate, self.slope)
        off = spike(ref - x - th, self.surrogate, self.slope)
        return jnp.concatenate([on, off]), ref + th * (on - off)
