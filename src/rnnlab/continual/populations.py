"""Which weight matrices projection methods protect, and the population activity each one reads.

A weight matrix ``W`` (out × in) acting on a population activity ``x`` changes its output on
the earlier tasks' activity by ``ΔW x``; projecting every update as ``ΔW ← ΔW (I − P)``, ``P``
the orthogonal projector onto the span of the earlier tasks' ``x``, makes that change zero.
The biases are weights on a constant input 1 and are projected together with the matrix they
add to (the input ``[x; 1]``). Per model:

* ``leaky_rnn`` (``a_t = W h_{t−1} + U x_t + b``, ``y_t = W_out h_t + b_out``):
  ``rec``: ``W`` on the presynaptic state ``h_{t−1}`` (``h_0`` the initial state);
  ``in``: ``[U b]`` on ``[x_t; 1]``; ``out``: ``[W_out b_out]`` on ``[h_t; 1]``.
* ``spiking_rnn`` (``I_t = … + W_in x_t + b + W_rec s_{t−1}``, ``y_t = W_out r_t + b_out``):
  ``rec``: ``W_rec`` on the previous step's spikes ``s_{t−1}``; ``in``: ``[W_in b]`` on
  ``[x_t; 1]``; ``out``: ``[W_out b_out]`` on ``[r_t; 1]`` (the readout trace).

With ``post`` (Duncker et al. 2020) the recurrent and input matrices are also projected on
the postsynaptic side, ``ΔW ← (I − Q) ΔW (I − P)``, ``Q`` the projector onto the earlier tasks'
recurrent drive (``W h_{t−1} + U x_t + b`` for the rate network, the synaptic input
``W_rec s_{t−1} + W_in x_t + b`` for the spiking one), so new learning also moves the drive
only in directions the earlier tasks did not use.

Every other trainable parameter (time constants, thresholds) would change the earlier tasks'
dynamics in a way no projection controls; projection methods freeze them after the first
stage. Models whose effective weights are not the stored matrix (Dale's law ``|W|``, sparse
masks, no self-connections) or that encode inputs as spikes (``encoding: delta``) are refused.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..errors import ConfigError
from ..models import LeakyRNN, LeakyRNNConfig, ModelConfig, SpikingRNNConfig

__all__ = ["POPULATIONS", "check_model", "sizes", "activities", "project", "freeze_others"]

POPULATIONS = ("rec", "in", "out")


def check_model(model: Any, method: str) -> None:
    """``ConfigError`` naming the field when ``method`` cannot project the gradients of ``model``
    (a built model or its ``ModelConfig``)."""
    where = f"train.continual.method: '{method}'"
    c = model if isinstance(model, ModelConfig) else model.cfg
    if isinstance(c, LeakyRNNConfig):
        if c.dale or c.density < 1 or c.mask is not None or not c.self_connections:
            raise ConfigError(f"{where} needs the stored recurrent matrix to be the effective one "
                              f"(model.params.dale, density, mask, self_connections must be off/default)")
        return
    if isinstance(c, SpikingRNNConfig):
        if c.encoding != "current":
            raise ConfigError(f"{where} needs model.params.encoding 'current' (delta encoders are not projected)")
        return
    raise ConfigError(f"{where} projects the weights of leaky_rnn and spiking_rnn models, got "
                      f"'{c.name}' (use finetune or ewc)")


def _mats(model) -> dict[str, tuple[str, str | None]]:
    """population -> (matrix field, bias field or None)."""
    if isinstance(model, LeakyRNN):
        return {"rec": ("W", None), "in": ("U", "b" if model.cfg.bias else None)}
    return {"rec": ("W_rec", None), "in": ("W_in", "b")}


def sizes(model) -> dict[str, int]:
    """The dimension of each population's (bias-augmented) input."""
    mats = _mats(model)
    n_in = getattr(model, mats["in"][0]).shape[1] + (mats["in"][1] is not None)
    lin = model.readout_layer
    return {"rec": model.hidden_size, "in": n_in, "out": lin.weight.shape[1] + (lin.bias is not None),
            "post": model.hidden_size}


def _states(model, inputs, key):
    """Every state of one trial ``[T+1, ...]`` (the initial state first) by ``lax.scan`` of ``step``."""
    def body(s, xk):
        s, _ = model.step(s, *xk)
        return s, s

    keys = jax.random.split(key, inputs.shape[0]) if model.stochastic else None
    s0 = model.initial_state()
    _, seq = jax.lax.scan(body, s0, (inputs, keys))
    return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), s0, seq)


def activities(model, inputs, key=None) -> dict[str, jax.Array]:
    """Each population's activity over a batch, flattened to ``[B·T, d]`` (see the module doc);
    ``key`` drives the private noise of a stochastic model."""
    B, T, _ = inputs.shape
    keys = jax.random.split(jax.random.PRNGKey(0) if key is None else key, B)
    states = jax.vmap(lambda x, k: _states(model, x, k))(inputs, keys)  # [B, T+1, ...]
    ones = jnp.ones((B, T, 1))
    mats = _mats(model)
    if isinstance(model, LeakyRNN):
        prev, act = states[:, :-1], states[:, 1:]
        drive_rec = jnp.einsum("ij,btj->bti", model.recurrent_weights(), prev)
    else:
        prev, act = states.s[:, :-1], states.trace[:, 1:]
        drive_rec = jnp.einsum("ij,btj->bti", model.W_rec, prev)
    x_in = jnp.concatenate([inputs, ones], -1) if mats["in"][1] is not None else inputs
    drive = drive_rec + jnp.einsum("ij,btj->bti", getattr(model, mats["in"][0]), inputs)
    if mats["in"][1] is not None:
        drive = drive + getattr(model, mats["in"][1])
    x_out = jnp.concatenate([act, ones], -1) if model.readout_layer.bias is not None else act
    flat = lambda a: a.reshape(B * T, a.shape[-1])  # noqa: E731
    return {"rec": flat(prev), "in": flat(x_in), "out": flat(x_out), "post": flat(drive)}


def _right(g, bias_g, P):
    """``[g bias_g] (I − P)`` split back into the matrix and bias parts."""
    if bias_g is None:
        return g - g @ P, None
    G = jnp.concatenate([g, bias_g[:, None]], 1)
    G = G - G @ P
    return G[:, :-1], G[:, -1]


def project(grads, model, P: dict[str, jax.Array], post: bool):
    """The gradient with each protected matrix projected, ``ΔW ← ΔW (I − P)`` (and with ``post``
    ``(I − Q) ΔW (I − P)`` for the recurrent and input matrices); ``P`` maps population to projector."""
    mats = _mats(model)
    for pop in ("rec", "in"):
        w, b = mats[pop]
        g, gb = _right(getattr(grads, w), getattr(grads, b) if b else None, P[pop])
        if post:
            Q = P["post"]
            g = g - Q @ g
            gb = None if gb is None else gb - Q @ gb
        grads = eqx.tree_at(lambda t: getattr(t, w), grads, g)
        if b:
            grads = eqx.tree_at(lambda t: getattr(t, b), grads, gb)
    lin = grads.readout_layer
    g, gb = _right(lin.weight, lin.bias, P["out"])
    grads = eqx.tree_at(lambda t: t.readout_layer.weight, grads, g)
    if gb is not None:
        grads = eqx.tree_at(lambda t: t.readout_layer.bias, grads, gb)
    return grads


def freeze_others(grads, model, frozen):
    """Every gradient leaf that is not a projected matrix or bias times ``1 − frozen``."""
    out = jax.tree.map(lambda g: g * (1 - frozen), grads)
    for w in [f for pair in _mats(model).values() for f in pair if f]:
        out = eqx.tree_at(lambda t: getattr(t, w), out, getattr(grads, w))
    out = eqx.tree_at(lambda t: t.readout_layer.weight, out, grads.readout_layer.weight)
    if grads.readout_layer.bias is not None:
        out = eqx.tree_at(lambda t: t.readout_layer.bias, out, grads.readout_layer.bias)
    return out
