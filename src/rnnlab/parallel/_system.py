"""The recurrence as a function of flat vectors, and its Jacobians.

A model's ``update(state, drive, key)`` is turned into ``F(params, s, d) -> s'`` on the
flattened state ``s ∈ ℝⁿ`` (``jax.flatten_util.ravel_pytree``: an LSTM's ``(h, c)`` becomes
one vector of size 2N). ``params`` are the model's floating-point arrays (what gradients
are taken with respect to); everything else is closed over.
"""

from __future__ import annotations

from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = ["System", "make_system", "shift", "jacobians"]

# Without a closed form (RecurrentModel.update_diagonal), diagonal Jacobians are extracted
# from dense per-step Jacobians computed in chunks of time holding at most this many entries.
_CHUNK_ENTRIES = 1 << 22


class System(eqx.Module):
    """``F`` on flat states, with the pieces to go back to the model's state pytree."""

    step: Callable = eqx.field(static=True)  # (params, s [n], d) -> s' [n]
    step_diagonal: Callable = eqx.field(static=True)  # (params, s, d) -> (s', diag ∂s'/∂s) | None
    unravel: Callable = eqx.field(static=True)  # s [n] -> state pytree
    size: int = eqx.field(static=True)


def make_system(model, state0) -> tuple[System, Any, Any]:
    """``(system, params, s0_flat)`` for ``model`` started from ``state0``."""
    params, static = eqx.partition(model, eqx.is_inexact_array)
    s0, unravel = ravel_pytree(state0)

    def step(p, s, d):
        new, _ = eqx.combine(p, static).update(unravel(s), d, None)
        return ravel_pytree(new)[0]

    def step_diagonal(p, s, d):
        out = eqx.combine(p, static).update_diagonal(unravel(s), d)
        return None if out is None else (ravel_pytree(out[0])[0], ravel_pytree(out[1])[0])

    return System(step, step_diagonal, unravel, s0.shape[0]), params, s0


def shift(states: jax.Array, s0: jax.Array) -> jax.Array:
    """Previous states ``s_{t−1}`` for t = 1..T: ``[s0, s_1, …, s_{T−1}]``."""
    return jnp.concatenate([s0[None], states[:-1]], axis=0)


def jacobians(system: System, params, prev, drives, dense: bool):
    """``(F(s_{t−1}, d_t), J_t)`` for all t, J_t = ∂F/∂s at s_{t−1}: ``[T, n, n]`` or its diagonal ``[T, n]``."""

    def value_and_jac(s, d):
        f = lambda s: (system.step(params, s, d),) * 2  # noqa: E731 - value as aux
        jac, value = jax.jacfwd(f, has_aux=True)(s)
        return value, (jac if dense else jnp.diagonal(jac))

    if not dense:
        # the model's closed form (RecurrentModel.update_diagonal): one step's cost, no n×n;
        # None (no closed form) passes through vmap unchanged
        closed = jax.vmap(lambda s, d: system.step_diagonal(params, s, d))(prev, drives)
        if closed is not None:
            return closed
    T, n = prev.shape
    if dense or T * n * n <= _CHUNK_ENTRIES:
        return jax.vmap(value_and_jac)(prev, drives)
    chunk = max(1, _CHUNK_ENTRIES // (n * n))
    return jax.lax.map(lambda a: value_and_jac(*a), (prev, drives), batch_size=chunk)
