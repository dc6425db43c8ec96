"""Forward solve: Newton iterations over the whole sequence, with a sequential fallback.

Iteration k → k+1 (Lim et al. 2024, eq. 5; Danieli et al. 2025)::

    s^{k+1}_t = F(s^k_{t−1}, d_t) + A_t (s^{k+1}_{t−1} − s^k_{t−1}),   s_0 fixed,

a linear recurrence in s^{k+1} solved by an associative scan. ``A_t = J_t = ∂F/∂s(s^k_{t−1})``
is Newton's method on the stacked residual ``s_t − F(s_{t−1})``; ``A_t = diag(J_t)`` is
quasi-Newton (quasi-DEER, Gonzalez et al. 2024); the damped variant uses ``J_t / (1 + λ)``.
Whatever ``A_t`` is, the fixed point is the true trajectory, and since s_0 is exact the
first k states are exact after k iterations, so at most T iterations are ever needed.

Stop when ``max|s^{k+1} − s^k| ≤ atol + rtol·|s^{k+1}|`` element-wise for every trial, or
after ``max_iter``. Trials that did not converge or are non-finite are recomputed by the
sequential ``lax.scan``, which is only evaluated when some trial needs it (``_fallback``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _scan
from ._fallback import lazy_fix
from ._options import SolverOptions
from ._system import System, jacobians, shift

__all__ = ["newton", "sequential"]


def _iterate(system: System, params, drives, s0, states, dense: bool, shrink: float):
    """One (quasi-)Newton step for one trial: ``states [T, n] -> states [T, n]``."""
    prev = shift(states, s0)
    f, J = jacobians(system, params, prev, drives, dense)
    A = J * shrink if shrink != 1.0 else J
    Ap = (A @ prev[..., None])[..., 0] if dense else A * prev
    return _scan.forward(A, f - Ap, s0)


def sequential(system: System, params, drives, s0):
    """The reference: ``lax.scan`` of F over time for one trial, ``[T, n]``."""

    def body(s, d):
        s = system.step(params, s, d)
        return s, s

    return jax.lax.scan(body, s0, drives)[1]


def newton(system: System, params, drives, s0, guess, opts: SolverOptions):
    """Batched solve: ``drives [B, T, …]``, ``s0 [B, n]``, ``guess [B, T, n]``.

    Returns ``(states [B, T, n], iterations, converged [B], fell_back [B])``.
    """
    atol, rtol = opts.tolerances(s0.dtype)
    dense = opts.dense(system.size)
    shrink = 1.0 / (1.0 + opts.damping)
    step = jax.vmap(lambda d, s0, s: _iterate(system, params, d, s0, s, dense, shrink))

    def cond(carry):
        k, _, conv, finite = carry
        return (k < opts.max_iter) & jnp.any(~conv & finite)

    def body(carry):
        k, states, _, _ = carry
        new = step(drives, s0, states)
        conv = jnp.all(jnp.abs(new - states) <= atol + rtol * jnp.abs(new), axis=(1, 2))
        finite = jnp.all(jnp.isfinite(new), axis=(1, 2))
        return k + 1, new, conv, finite

    B = guess.shape[0]
    init = (jnp.asarray(0, jnp.int32), guess, jnp.zeros(B, bool), jnp.ones(B, bool))
    k, states, conv, finite = jax.lax.while_loop(cond, body, init)
    ok = conv & finite

    def fix(states):
        seq = jax.vmap(lambda d, s0: sequential(system, params, d, s0))(drives, s0)
        return jnp.where(ok[:, None, None], states, seq)

    states = lazy_fix(~jnp.all(ok), fix, states)
    return states, k, ok, ~ok
