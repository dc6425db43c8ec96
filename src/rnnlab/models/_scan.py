"""Shared pieces of the linear-recurrence models (LRU, S4D, LMU, minGRU/minLSTM).

* ``linear_scan``: ``h_t = a_t ⊙ h_{t−1} + b_t`` for all t at once (``jax.lax.associative_scan``
  on the affine maps ``(a, b)``, composed as ``(a_i, b_i) ∘ (a_j, b_j) = (a_j a_i, a_j b_i + b_j)``);
  ``h_0`` enters exactly through ``b_1 ← a_1 h_0 + b_1``. Real or complex, any trailing shape.
* ``log_scan``: the same recurrence with positive ``a, b`` given as logarithms (Heinsen 2023;
  Feng et al. 2024), composed in log space as ``(la_i + la_j, logaddexp(lb_i + la_j, lb_j))``
  — an associative scan instead of Heinsen's ``cumsum``/``logcumsumexp``, which subtracts the
  large ``cumsum(log a)`` and loses float32 precision over long sequences. The initial state
  is added afterwards, ``h_t = exp(Σ_{s≤t} la_s) h_0 + h_t|_{h_0=0}``, which is exact for any
  sign of ``h_0`` (``log h_0`` in place of the drive is the known minGRU-pytorch#9 bug).
* ``Encoder``: optional pointwise MLP ``u = GELU(W x + b)`` in front of a linear recurrence.
  A linear recurrence of the raw input cannot form products of input channels (the adding
  problem needs ``marker × value``); a pointwise nonlinearity before it can.
* Complex states are kept as real vectors ``[Re, Im]`` so that analyses see real arrays.
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field

from ._base import ModelConfig

ACTIVATIONS = {
    "gelu": jax.nn.gelu,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "identity": lambda x: x,
}


def _affine(ei, ej):
    ai, bi = ei
    aj, bj = ej
    return aj * ai, aj * bi + bj


def linear_scan(a: jax.Array, b: jax.Array, h0: jax.Array) -> jax.Array:
    """States ``h_1..h_T`` of ``h_t = a_t ⊙ h_{t−1} + b_t``; ``a`` broadcasts against ``b [T, ...]``."""
    a = jnp.broadcast_to(a, b.shape)
    b = b.at[0].add(a[0] * h0)
    return jax.lax.associative_scan(_affine, (a, b))[1]


def _log_affine(ei, ej):
    lai, lbi = ei
    laj, lbj = ej
    return lai + laj, jnp.logaddexp(lbi + laj, lbj)


def log_scan(log_a: jax.Array, log_b: jax.Array, h0: jax.Array) -> jax.Array:
    """``h_t = a_t h_{t−1} + b_t`` from ``log a, log b [T, ...]`` (a, b > 0); any real ``h0``."""
    cum_a, cum_b = jax.lax.associative_scan(_log_affine, (log_a, log_b))
    return jnp.exp(cum_a) * h0 + jnp.exp(cum_b)


def to_complex(s: jax.Array) -> jax.Array:
    re, im = jnp.split(s, 2, axis=-1)
    return jax.lax.complex(re, im)


def to_real(z: jax.Array) -> jax.Array:
    return jnp.concatenate([jnp.real(z), jnp.imag(z)], axis=-1)


def complex_normal(key, shape, scale) -> tuple[jax.Array, jax.Array]:
    """Real and imaginary parts of ``scale · (N(0,1) + i N(0,1)) / √2``."""
    kr, ki = jax.random.split(key)
    s = scale / jnp.sqrt(2.0)
    return s * jax.random.normal(kr, shape), s * jax.random.normal(ki, shape)


class Encoder(eqx.Module):
    """``u = GELU(W x + b)`` (``width`` units) or the identity when ``width`` is None."""

    W: jax.Array | None
    b: jax.Array | None

    def __init__(self, input_size: int, width: int | None, key):
        if width is None:
            self.W = self.b = None
        else:
            self.W = jax.random.normal(key, (width, input_size)) / jnp.sqrt(max(input_size, 1))
            self.b = jnp.zeros(width)

    @staticmethod
    def size(input_size: int, width: int | None) -> int:
        return input_size if width is None else width

    def __call__(self, x):
        return x if self.W is None else jax.nn.gelu(self.W @ x + self.b)


class LinearRecurrenceConfig(ModelConfig):
    """Fields shared by the models with a linear recurrence and a parallel mode."""

    mode: Literal["sequential", "parallel"] = Field(
        "sequential", description="'parallel': whole trials by an associative scan (same result)"
    )
    encoder: Literal["none", "mlp"] = Field("none", description="'mlp': u = GELU(W x + b) before the recurrence")
    encoder_width: int | None = Field(None, gt=0, description="MLP encoder width (default hidden_size)")

    def encoder_size(self, input_size: int) -> int | None:
        """Width of the MLP encoder, or None without one."""
        return None if self.encoder == "none" else (self.encoder_width or self.hidden_size)
