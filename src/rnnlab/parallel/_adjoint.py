"""Backward solve: the adjoint recurrence of the converged trajectory.

With ``g_t = ∂L/∂s_t`` the direct cotangents, the implicit function theorem applied to
``s_t − F(s_{t−1}, d_t) = 0`` gives the adjoint (a reverse linear recurrence)::

    λ_t = g_t + J_{t+1}ᵀ λ_{t+1},   λ_T = g_T,   J_{t+1} = ∂F/∂s at (s_t, d_{t+1}),

then ``∂L/∂θ = Σ_t (∂F/∂θ)ᵀ λ_t`` etc. (pulled back in ``_implicit``).

* dense: one reverse associative scan with the Jacobians at the converged states.
* diagonal: quasi-Newton on the adjoint system, matrix-free: with ``D_t = diag(J_t)``,
  ``λ^{k+1}_t = g_t + (J_{t+1} − D_{t+1})ᵀ λ^k_{t+1} + D_{t+1} λ^{k+1}_{t+1}`` — a reverse
  diagonal scan whose right-hand side uses one vmapped ``jax.vjp`` of F. Exact after at most
  T iterations; stops when ``max|Δλ| ≤ atol·max|λ| + rtol·|λ|`` (cotangents have no natural
  unit, so atol is relative to their scale).

Trials with non-finite or unconverged adjoints are recomputed by a sequential reverse
``lax.scan`` of vector–Jacobian products (ordinary BPTT), as in the forward solve
(evaluated only when needed, ``_fallback``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import _scan
from ._fallback import lazy_fix
from ._options import SolverOptions
from ._system import System, jacobians

__all__ = ["adjoint"]


def _next(x):
    """Row t holds row t+1 (last row zero)."""
    return jnp.concatenate([x[1:], jnp.zeros_like(x[:1])], axis=0)


def _sequential(system: System, params, prev, drives, g):
    """Reverse ``lax.scan``: ``λ_t = g_t + J_{t+1}ᵀ λ_{t+1}`` by one VJP per step."""
    nxt = jax.tree.map(lambda x: jnp.concatenate([x[1:], x[-1:]], axis=0), (prev, drives))

    def body(lam_next, xs):
        (p, d), g_t = xs
        _, vjp = jax.vjp(lambda s: system.step(params, s, d), p)
        lam = g_t + vjp(lam_next)[0]
        return lam, lam

    return jax.lax.scan(body, jnp.zeros_like(g[-1]), (nxt, g), reverse=True)[1]


def _dense(system: System, params, prev, drives, g):
    _, J = jacobians(system, params, prev, drives, dense=True)
    return _scan.reverse(jnp.swapaxes(_next(J), -1, -2), g)


def _diagonal(system: System, params, prev, drives, g, opts: SolverOptions):
    atol, rtol = opts.tolerances(g.dtype)
    _, D = jacobians(system, params, prev, drives, dense=False)
    D = _next(D)
    _, vjp = jax.vjp(lambda P: jax.vmap(system.step, (None, 0, 0))(params, P, drives), prev)

    def cond(carry):
        k, _, conv, finite = carry
        return (k < opts.max_iter) & ~conv & finite

    def body(carry):
        k, lam, _, _ = carry
        lam_next = _next(lam)
        rhs = g + _next(vjp(lam)[0]) - D * lam_next
        new = _scan.reverse(D, rhs)
        scale = jnp.max(jnp.abs(new))
        conv = jnp.all(jnp.abs(new - lam) <= atol * scale + rtol * jnp.abs(new))
        return k + 1, new, conv, jnp.all(jnp.isfinite(new))

    init = (jnp.asarray(0, jnp.int32), jnp.zeros_like(g), jnp.asarray(False), jnp.asarray(True))
    _, lam, conv, finite = jax.lax.while_loop(cond, body, init)
    return jnp.where(conv & finite, lam, jnp.nan)


def adjoint(system: System, params, prev, drives, g, opts: SolverOptions):
    """Batched adjoints ``λ [B, T, n]`` from ``prev [B, T, n]`` (``s_{t−1}``) and cotangents ``g``."""
    if opts.dense(system.size):
        lam = jax.vmap(lambda p, d, g: _dense(system, params, p, d, g))(prev, drives, g)
    else:
        lam = jax.vmap(lambda p, d, g: _diagonal(system, params, p, d, g, opts))(prev, drives, g)
    ok = jnp.all(jnp.isfinite(lam), axis=(1, 2))

    def fix(lam):
        seq = jax.vmap(lambda p, d, g: _sequential(system, params, p, d, g))(prev, drives, g)
        return jnp.where(ok[:, None, None], lam, seq)

    return lazy_fix(~jnp.all(ok), fix, lam)
