"""Public entry points: ``solve`` (one trial) and ``run`` (a batch, like ``rnnlab.models.run``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, PRNGKeyArray

from ..errors import ConfigError
from ..models import RecurrentModel
from ._implicit import solve_states
from ._options import SolveInfo, SolverOptions
from ._system import make_system

__all__ = ["solve", "run"]


def _check(model: RecurrentModel) -> None:
    if model.stochastic:
        noise = getattr(model.cfg, "noise", "?")
        raise ConfigError(
            f"noise: the parallel solver needs a deterministic model, but {type(model).__name__} has private "
            f"noise (noise={noise}); set noise=0 or use the sequential solver"
        )


def _options(options: SolverOptions | None, kw: dict) -> SolverOptions:
    if options is not None and kw:
        raise ConfigError(f"give either options= or solver keywords, not both (got {sorted(kw)})")
    try:
        return options if options is not None else SolverOptions(**kw)
    except TypeError as e:
        raise ConfigError(f"parallel solver: {e}") from None


def _batch(model: RecurrentModel, inputs, state0, guess, opts: SolverOptions):
    """Core of ``solve``/``run``: ``inputs [B, T, I]``, one shared ``state0``, ``guess`` batched or None."""
    _check(model)
    state0 = model.initial_state() if state0 is None else state0
    system, params, s0 = make_system(model, state0)
    B, T = inputs.shape[:2]
    drives = jax.vmap(jax.vmap(model.input_drive))(inputs)
    s0 = jnp.broadcast_to(s0, (B, system.size))
    flat = jax.vmap(jax.vmap(lambda s: ravel_pytree(s)[0]))
    if guess is None:
        guess = jnp.broadcast_to(s0[:, None], (B, T, system.size))
    else:
        guess = flat(guess).astype(s0.dtype)
    states, (k, ok, fell) = solve_states(system, opts)(params, drives, s0, guess)

    prev = jnp.concatenate([s0[:, None], states[:, :-1]], axis=1)
    step = jax.vmap(jax.vmap(lambda s, d: model.update(system.unravel(s), d, None)))
    new, activity = step(prev, drives)
    residual = jax.lax.stop_gradient(jnp.max(jnp.abs(flat(new) - states), axis=(1, 2)))
    final = jax.vmap(system.unravel)(states[:, -1])
    info = SolveInfo(iterations=k, converged=ok, fell_back=fell, residual=residual)
    return activity, final, info


def solve(
    model: RecurrentModel,
    inputs: Float[Array, "time n_in"],
    state0: Any = None,
    *,
    guess: Any = None,
    options: SolverOptions | None = None,
    **solver_kw: Any,
) -> tuple[Float[Array, "time n"], Any, SolveInfo]:
    """Evaluate ``model`` over one trial by Newton iterations in parallel over time.

    Args:
        model: any deterministic ``RecurrentModel`` (private ``noise`` is not supported).
        inputs: ``[T, I]``.
        state0: initial state (default ``model.initial_state()``).
        guess: initial guess of the states, the state pytree with a leading time axis
            (default: ``state0`` at every step).
        options: a ``SolverOptions``.
        **solver_kw: or its fields (``max_iter``, ``jacobian``, ``atol``, ``rtol``,
            ``damping``).

    Returns:
        ``(activity [T, N], final_state, info)``; ``info`` is a ``SolveInfo`` with scalars.
        Differentiable (implicit function theorem) and jittable.
    """
    opts = _options(options, solver_kw)
    guess = None if guess is None else jax.tree.map(lambda x: x[None], guess)
    activity, final, info = _batch(model, inputs[None], state0, guess, opts)
    squeeze = lambda x: x[0]  # noqa: E731
    info = SolveInfo(info.iterations, squeeze(info.converged), squeeze(info.fell_back), squeeze(info.residual))
    return activity[0], jax.tree.map(squeeze, final), info


def run(
    model: RecurrentModel,
    inputs: Float[Array, "batch time n_in"],
    key: PRNGKeyArray | None = None,
    *,
    state0: Any = None,
    guess: Any = None,
    options: SolverOptions | None = None,
    **solver_kw: Any,
) -> tuple[Float[Array, "batch time n"], Float[Array, "batch time n_out"], SolveInfo]:
    """``rnnlab.models.run`` by the parallel solver: ``(activity, outputs, info)``.

    All trials start from ``state0`` (default ``model.initial_state()``); ``key`` is accepted
    for symmetry and unused (deterministic models only). The batch is solved jointly: the
    Newton loop runs until every trial has converged, and if any trial fails, the failed
    ones are recomputed sequentially. ``info`` holds per-trial ``converged``, ``fell_back``,
    ``residual`` and the shared iteration count.
    """
    del key
    opts = _options(options, solver_kw)
    activity, _, info = _batch(model, inputs, state0, guess, opts)
    outputs = jax.vmap(jax.vmap(model.readout))(activity)
    return activity, outputs, info
