"""``(params, drives, s0) -> states`` with gradients by the implicit function theorem.

The forward pass is ``_newton.newton``; its iterations are never differentiated. The
backward pass takes the converged states, solves the adjoint recurrence (``_adjoint``) and
pulls ``λ`` back through F's dependence on parameters, drives and ``s_0`` with one
``jax.vjp`` of F vmapped over trials and time::

    ∂L/∂θ = Σ_t (∂F/∂θ)ᵀ λ_t,   ∂L/∂d_t = (∂F/∂d)ᵀ λ_t,   ∂L/∂s_0 = J_1ᵀ λ_1.

The same gradient as backpropagating through ``lax.scan`` (up to solver tolerance), at the
cost of one adjoint solve instead of a stored tape of every Newton iteration.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._adjoint import adjoint
from ._newton import newton
from ._options import SolverOptions
from ._system import System, shift

__all__ = ["solve_states"]


def _prev(states, s0):
    return jax.vmap(shift)(states, s0)


def solve_states(system: System, opts: SolverOptions):
    """A differentiable ``f(params, drives [B,T,…], s0 [B,n], guess [B,T,n]) -> (states, (k, ok, fell_back))``."""

    @jax.custom_vjp
    def f(params, drives, s0, guess):
        states, k, ok, fell = newton(system, params, drives, s0, guess, opts)
        return states, (k, ok, fell)

    def fwd(params, drives, s0, guess):
        out = f(params, drives, s0, guess)
        return out, (params, drives, s0, out[0], jnp.zeros_like(guess))

    def bwd(res, cts):
        params, drives, s0, states, zero_guess = res
        prev = _prev(states, s0)
        lam = adjoint(system, params, prev, drives, cts[0], opts)
        step = jax.vmap(jax.vmap(system.step, (None, 0, 0)), (None, 0, 0))
        _, pull = jax.vjp(step, params, prev, drives)
        g_params, g_prev, g_drives = pull(lam)
        return g_params, g_drives, g_prev[:, 0], zero_guess

    f.defvjp(fwd, bwd)
    return f
