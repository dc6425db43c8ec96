"""The one-step map of any model as a function of a flat state vector.

Analyses of the dynamics (fixed points, Jacobians) work on ``F(h, u) = model.step(h, u)[0]``.
A model's state may be a pytree (the LSTM's ``(h, c)``); it is flattened with
``jax.flatten_util.ravel_pytree`` so that every analysis sees a vector ``h ∈ R^D``.
Models with private noise are analysed noise-free (their ``noise`` setting set to 0).
"""

from __future__ import annotations

import copy
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = ["state_trajectories"]


def _deterministic(model: Any) -> Any:
    """``model`` with its private noise switched off (a shallow copy; the original is untouched)."""
    if not getattr(model, "stochastic", False):
        return model
    cfg = model.cfg
    if "noise" not in type(cfg).model_fields:
        raise TypeError(f"cannot switch off the noise of {type(model).__name__}")
    quiet = copy.copy(model)
    object.__setattr__(quiet, "cfg", cfg.model_copy(update={"noise": 0.0}))
    return quiet


def _input_size(model: Any) -> int:
    """Number of inputs ``I`` of a model (read from its input weights)."""
    size = getattr(model, "input_size", None)
    if isinstance(size, int):
        return size
    for name in ("U", "W_i"):
        w = getattr(model, name, None)
        if w is not None and jnp.ndim(w) == 2:
            return int(w.shape[1])
    raise TypeError(f"cannot infer the input size of {type(model).__name__}; pass the input u explicitly")


def _flat_step(model: Any, h: jax.Array, u: jax.Array) -> jax.Array:
    """``F(h, u)``: one noise-free step of ``model`` on the flat state ``h`` (traceable)."""
    _, unravel = ravel_pytree(model.initial_state())
    return ravel_pytree(model.step(unravel(h), u, None)[0])[0]


def _flat_activity(model: Any, h: jax.Array, u: jax.Array) -> jax.Array:
    """The activity emitted by the step from flat state ``h`` (``model.step(h, u)[1]``)."""
    _, unravel = ravel_pytree(model.initial_state())
    return model.step(unravel(h), u, None)[1]


@eqx.filter_jit
def _trajectories(model: Any, inputs: jax.Array) -> jax.Array:
    h0 = ravel_pytree(model.initial_state())[0]

    def trial(x):
        def body(h, u):
            h = _flat_step(model, h, u)
            return h, h

        return jax.lax.scan(body, h0, x)[1]

    return jax.vmap(trial)(inputs)


def state_trajectories(model: Any, inputs: Any) -> jax.Array:
    """Flat states ``[B, T, D]`` of noise-free runs on ``inputs [B, T, I]`` from the initial state.

    For single-vector models (LeakyRNN, GRU) this equals the activity returned by ``run``;
    for the LSTM it is the concatenation ``[h, c]``.
    """
    return _trajectories(_deterministic(model), jnp.asarray(inputs))
