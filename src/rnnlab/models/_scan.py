"""Shared pieces of the linear-recurrence models (LRU, S4D, LMU, minGRU/minLSTM).

* ``linear_scan``: ``h_t = a_t ⊙ h_{t−1} + b_t`` for all t at once, as a prefix scan of the
  affine maps ``(a, b)`` composed as ``(a_i, b_i) ∘ (a_j, b_j) = (a_j a_i, a_j b_i + b_j)``;
  ``h_0`` enters exactly through ``b_1 ← a_1 h_0 + b_1``. Real or complex, any trailing shape.
* ``log_scan``: the same recurrence with positive ``a, b`` given as logarithms (Heinsen 2023;
  Feng et al. 2024), composed in log space as ``(la_i + la_j, logaddexp(lb_i + la_j, lb_j))``
  — a prefix scan instead of Heinsen's ``cumsum``/``logcumsumexp``, which subtracts the
  large ``cumsum(log a)`` and loses float32 precision over long sequences. The initial state
  is added afterwards, ``h_t = exp(Σ_{s≤t} la_s) h_0 + h_t|_{h_0=0}``, which is exact for any
  sign of ``h_0`` (``log h_0`` in place of the drive is the known minGRU-pytorch#9 bug).
* Prefix scans (``scan`` setting): ``'doubling'`` (default) is the Hillis–Steele/Kogge–Stone
  scan — ⌈log₂ T⌉ rounds ``e_t ← e_{t−2^k} ∘ e_t`` inside one ``lax.fori_loop``: O(T log T)
  work, O(log T) depth, and it compiles in about a second on CPU, where
  ``'associative'`` (``jax.lax.associative_scan``, work-efficient Blelloch) takes 5–20 s to
  compile with its gradient. The price: reverse mode keeps every round's ``(a, b)``, about
  log₂ T times the memory of the associative scan (see ``benchmarks/models.py``); choose
  ``'associative'`` for long sequences on an accelerator. Both give the same result up to
  float rounding.
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

from ._base import ModelConfig, RecurrentModel

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


def prefix_scan(combine, elems: tuple, identity: tuple, method: str = "doubling") -> tuple:
    """Inclusive prefix compositions ``e_1 ∘ … ∘ e_t`` along axis 0 of every array in ``elems``."""
    if method == "associative":
        return jax.lax.associative_scan(combine, elems)
    T = elems[0].shape[0]
    t = jnp.arange(T).reshape((T,) + (1,) * (elems[0].ndim - 1))

    def round_(k, el):
        d = 2**k
        left = tuple(jnp.where(t >= d, jnp.roll(e, d, axis=0), jnp.asarray(i, e.dtype)) for e, i in zip(el, identity))
        return combine(left, el)

    return jax.lax.fori_loop(0, (T - 1).bit_length(), round_, elems)


def linear_scan(a: jax.Array, b: jax.Array, h0: jax.Array, method: str = "doubling") -> jax.Array:
    """States ``h_1..h_T`` of ``h_t = a_t ⊙ h_{t−1} + b_t``; ``a`` broadcasts against ``b [T, ...]``."""
    a = jnp.broadcast_to(a, b.shape)
    b = b.at[0].add(a[0] * h0)
    return prefix_scan(_affine, (a, b), (1, 0), method)[1]


def _log_affine(ei, ej):
    lai, lbi = ei
    laj, lbj = ej
    return lai + laj, jnp.logaddexp(lbi + laj, lbj)


def log_scan(log_a: jax.Array, log_b: jax.Array, h0: jax.Array, method: str = "doubling") -> jax.Array:
    """``h_t = a_t h_{t−1} + b_t`` from ``log a, log b [T, ...]`` (a, b > 0); any real ``h0``."""
    cum_a, cum_b = prefix_scan(_log_affine, (log_a, log_b), (0.0, -jnp.inf), method)
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


class ModeConfig(ModelConfig):
    """A ``mode`` switch between stepping ``update`` and ``parallel_trial``."""

    mode: Literal["sequential", "parallel"] = Field(
        "sequential", description="'parallel': whole trials at once (same result as stepping)"
    )


class ScanConfig(ModeConfig):
    """``mode`` plus the prefix-scan implementation of the parallel mode."""

    scan: Literal["doubling", "associative"] = Field(
        "doubling", description="parallel prefix scan: 'doubling' (fast compile) or jax.lax.associative_scan"
    )


class EncoderConfig(ModelConfig):
    """An optional pointwise MLP encoder in front of a linear recurrence."""

    encoder: Literal["none", "mlp"] = Field("none", description="'mlp': u = GELU(W x + b) before the recurrence")
    encoder_width: int | None = Field(None, gt=0, description="MLP encoder width (default hidden_size)")

    def encoder_size(self, input_size: int) -> int | None:
        """Width of the MLP encoder, or None without one."""
        return None if self.encoder == "none" else (self.encoder_width or self.hidden_size)


class DiagonalConfig(ScanConfig, EncoderConfig):
    """Fields of the complex diagonal recurrences (LRU, S4D)."""

    state_size: int | None = Field(None, gt=0, description="complex state size P (default hidden_size)")
    activation: Literal["gelu", "tanh", "relu", "identity"] = Field("gelu", description="φ after Re(Cx) + Du")

    @property
    def P(self) -> int:
        return self.state_size or self.hidden_size


class DiagonalModel(RecurrentModel):
    """``x_t = λ ⊙ x_{t−1} + B̃ u_t``, activity ``φ(Re(C x_t) + D u_t)``; the state is ``[Re x, Im x]``.

    Subclasses define ``eigenvalues()`` (λ, complex ``[P]``), ``input_matrix()`` (B̃, complex
    ``[P, E]``) and the fields ``C_re, C_im [N, P]``, ``D [N, E]``, ``encoder``.
    """

    def initial_state(self):
        return jnp.zeros(2 * self.cfg.P)

    def input_drive(self, x):
        u = self.encoder(x)
        return to_real(self.input_matrix() @ u), self.D @ u

    def _out(self, x, du):
        y = x.real @ self.C_re.T - x.imag @ self.C_im.T + du  # Re(C x) + D u
        return ACTIVATIONS[self.cfg.activation](y)

    def update(self, state, drive, key):
        bu, du = drive
        x = self.eigenvalues() * to_complex(state) + to_complex(bu)
        return to_real(x), self._out(x, du)

    def parallel_trial(self, drives, state0):
        bu, du = drives
        x = linear_scan(self.eigenvalues(), to_complex(bu), to_complex(state0), self.cfg.scan)
        return to_real(x[-1]), self._out(x, du)
