"""Shared helpers of the model tests."""

import jax.numpy as jnp


def unrolled_readout_loss(x):
    """``loss(model)``: the summed squared readout over the steps of ``x [T, I]``, unrolled in
    Python (a few steps compile faster than a ``lax.scan``)."""

    def loss(m):
        s, total = m.initial_state(), 0.0
        for xt in x:
            s, a = m.step(s, xt)
            total = total + jnp.sum(m.readout(a) ** 2)
        return total

    return loss
