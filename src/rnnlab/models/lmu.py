"""Legendre Memory Unit (Voelker, Kajić & Eliasmith 2019, NeurIPS).

A fixed linear memory ``m ∈ ℝ^{C×d}`` (``memory_channels`` C, ``order`` d) holds the Legendre
coefficients of the last ``theta`` time units of its input ``u_t ∈ ℝ^C`` (Padé approximant of a
delay of θ)::

    θ ṁ = A m + B u,    A_ij = (2i + 1) · (−1 if i < j else (−1)^{i−j+1}),   B_i = (2i + 1)(−1)^i

discretised by zero-order hold at build time with SciPy (``Ā = e^{A dt/θ}``, ``B̄`` from the
matrix exponential of the augmented matrix ``[[A, B], [0, 0]] dt/θ``, as ``cont2discrete``
does); ``Ā, B̄`` are constants, not parameters. A nonlinear hidden layer ``h ∈ ℝ^N`` reads the memory::

    u_t = e_x · e(x_t) [+ e_h · h_{t−1} + e_m · m_{t−1}]            (e = identity or MLP encoder)
    m_t = Ā m_{t−1} + B̄ u_t                                           (per channel)
    h_t = φ(W_x e(x_t) + W_m m_t + b [+ W_h h_{t−1}])                 activity h_t

The bracketed terms are the original LMU's hidden feedback (``hidden_feedback=True``): the
memory then depends nonlinearly on the past, the state is ``(m, h)`` and only the sequential
mode exists. Without them (the default; Chilkuri & Eliasmith 2021, "Parallelizing Legendre
Memory Unit Training") the memory is a linear time-invariant filter of the input and
``mode='parallel'`` computes it for a whole trial as a causal convolution with the impulse
response ``H_k = Ā^k B̄`` (FFT), the initial memory entering as ``Ā^{t+1} m_0`` (powers by
doubling, O(log T) depth). Ā is dense, so an associative scan over it would cost O(d³) per
combination; the convolution is the cheap equivalent. Weights ``N(0, 1/fan_in)``.
"""

from __future__ import annotations

import functools
from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, model_validator

from ._base import RecurrentModel
from ._scan import ACTIVATIONS, Encoder, EncoderConfig, ModeConfig


class LMUConfig(ModeConfig, EncoderConfig):
    name: ClassVar[str] = "lmu"
    description: ClassVar[str] = "Legendre memory unit: fixed Legendre delay memory read by a hidden layer"
    paper: ClassVar[str] = "Voelker, Kajić & Eliasmith 2019, NeurIPS"

    order: int = Field(16, gt=0, description="memory order d (Legendre coefficients per channel)")
    theta: float = Field(100.0, gt=0, description="memory window θ (same units as dt)")
    dt: float = Field(1.0, gt=0, description="time step")
    memory_channels: int = Field(1, gt=0, description="memory channels C (each with its own d coefficients)")
    hidden_feedback: bool = Field(
        False, description="original LMU: h_{t−1}, m_{t−1} feed the memory (sequential only)"
    )
    activation: Literal["tanh", "gelu", "relu", "identity"] = Field("tanh", description="hidden nonlinearity φ")

    @model_validator(mode="after")
    def _check(self):
        if self.mode == "parallel" and self.hidden_feedback:
            raise ValueError("mode: 'parallel' needs hidden_feedback=False (the feedback loop is nonlinear)")
        return self

    def build(self, input_size, output_size, key):
        return LMU(self, input_size, output_size, key)


@functools.lru_cache(maxsize=32)
def legendre_memory(order: int, theta: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """ZOH-discretised ``(Ā [d, d], B̄ [d])`` of the Legendre delay system (float64)."""
    from scipy.linalg import expm

    i = np.arange(order)[:, None]
    j = np.arange(order)[None, :]
    A = (2 * i + 1) * np.where(i < j, -1.0, (-1.0) ** (i - j + 1)) / theta
    B = (2 * np.arange(order) + 1) * (-1.0) ** np.arange(order) / theta
    M = np.zeros((order + 1, order + 1))
    M[:order, :order], M[:order, order] = A * dt, B * dt
    E = expm(M)  # [[e^{A dt}, ∫_0^dt e^{As} ds B], [0, 1]]
    return E[:order, :order], E[:order, order]


@functools.lru_cache(maxsize=32)
def _impulse(order: int, theta: float, dt: float, T: int) -> np.ndarray:
    """``H_k = Ā^k B̄`` for k < T, ``[T, d]``."""
    A, B = legendre_memory(order, theta, dt)
    H = np.empty((T, order))
    h = B
    for k in range(T):
        H[k] = h
        h = A @ h
    return H


def _causal_conv(u, H):
    """``m_t = Σ_{s≤t} H_{t−s} u_s`` for ``u [T, C]``, ``H [T, d]`` → ``[T, C, d]`` (FFT)."""
    T = u.shape[0]
    n = 2 * T
    U = jnp.fft.rfft(u, n=n, axis=0)[:, :, None]
    Hf = jnp.fft.rfft(H, n=n, axis=0)[:, None, :]
    return jnp.fft.irfft(U * Hf, n=n, axis=0)[:T]


def _free_response(A, m0, T):
    """``Ā^{t+1} m_0`` for t < T, ``[T, C, d]``, by doubling (log₂ T batched matrix products)."""
    X = (m0 @ A.T)[None]
    P = A
    while X.shape[0] < T:
        X = jnp.concatenate([X, X @ P.T], axis=0)
        P = P @ P
    return X[:T]


class LMU(RecurrentModel):
    e_x: jax.Array
    W_x: jax.Array
    W_m: jax.Array
    b: jax.Array
    e_h: jax.Array | None
    e_m: jax.Array | None
    W_h: jax.Array | None
    encoder: Encoder

    def __init__(self, cfg: LMUConfig, input_size: int, output_size: int, key):
        N, C, d = cfg.hidden_size, cfg.memory_channels, cfg.order
        ks = jax.random.split(key, 8)
        width = cfg.encoder_size(input_size)
        E = Encoder.size(input_size, width)
        self.cfg = cfg
        self.e_x = jax.random.normal(ks[0], (C, E)) / jnp.sqrt(E)
        self.W_x = jax.random.normal(ks[1], (N, E)) / jnp.sqrt(E)
        self.W_m = jax.random.normal(ks[2], (N, C * d)) / jnp.sqrt(C * d)
        self.b = jnp.zeros(N)
        fb = cfg.hidden_feedback
        self.e_h = jax.random.normal(ks[3], (C, N)) / jnp.sqrt(N) if fb else None
        self.e_m = jnp.zeros((C, C * d)) if fb else None
        self.W_h = jax.random.normal(ks[4], (N, N)) / jnp.sqrt(N) if fb else None
        self.encoder = Encoder(input_size, width, ks[5])
        self.readout_layer = eqx.nn.Linear(N, output_size, key=ks[6])

    def _memory(self):
        A, B = legendre_memory(self.cfg.order, self.cfg.theta, self.cfg.dt)
        return jnp.asarray(A, jnp.float32), jnp.asarray(B, jnp.float32)

    def initial_state(self):
        m = jnp.zeros((self.cfg.memory_channels, self.cfg.order))
        return (m, jnp.zeros(self.cfg.hidden_size)) if self.cfg.hidden_feedback else m

    def input_drive(self, x):
        e = self.encoder(x)
        return self.e_x @ e, self.W_x @ e + self.b

    def update(self, state, drive, key):
        u, hx = drive
        A, B = self._memory()
        phi = ACTIVATIONS[self.cfg.activation]
        if not self.cfg.hidden_feedback:
            m = state @ A.T + u[:, None] * B
            h = phi(hx + self.W_m @ m.reshape(-1))
            return m, h
        m, h = state
        u = u + self.e_h @ h + self.e_m @ m.reshape(-1)
        m = m @ A.T + u[:, None] * B
        h = phi(hx + self.W_m @ m.reshape(-1) + self.W_h @ h)
        return (m, h), h

    def parallel_trial(self, drives, state0):
        u, hx = drives
        T = u.shape[0]
        A, _ = self._memory()
        H = jnp.asarray(_impulse(self.cfg.order, self.cfg.theta, self.cfg.dt, T), jnp.float32)
        m = _causal_conv(u, H) + _free_response(A, state0, T)
        h = ACTIVATIONS[self.cfg.activation](hx + m.reshape(T, -1) @ self.W_m.T)
        return m[-1], h
