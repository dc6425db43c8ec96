"""minGRU and minLSTM (Feng, Tung, Ahmed, Bengio & Hajimirsadeghi 2024, "Were RNNs All We
Needed?"): gated recurrences whose gates depend on the input only, so the recurrence is
linear in the state and a whole trial can be evaluated by a parallel scan.

minGRU::

    z_t = σ(k_t),  k_t = W_z x_t + b_z,    h̃_t = W_h x_t + b_h
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ g(h̃_t),        g(v) = v + ½ (v ≥ 0),  σ(v) (v < 0)

minLSTM (with the paper's normalisation of the two gates)::

    f_t = σ(W_f x_t + b_f),  i_t = σ(W_i x_t + b_i),   f' = f / (f + i),  i' = i / (f + i)
    h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ g(h̃_t)

``g > 0`` (the paper's log-space variant, used in both modes so that they compute the same
function) keeps ``h`` positive from ``h_0 ≥ 0``. ``mode='parallel'`` evaluates the trial in log
space (Heinsen): ``log(1 − z) = −softplus(k)``, ``log z = −softplus(−k)``; for minLSTM
``d = softplus(−k_f) − softplus(−k_i)``, ``log f' = −softplus(d)``, ``log i' = −softplus(−d)``;
``log g(v) = log(max(v, 0) + ½)`` or ``−softplus(−v)``. The log-space prefix is an associative
scan (see ``_scan.log_scan``) and the initial state is added exactly, for any ``h_0``.
Activity ``h``; output ``W_out h + b_out``. Weights ``N(0, 1/I)``; ``forget_bias`` sets
``b_z = −forget_bias`` (minGRU) or ``b_f = +forget_bias`` (minLSTM): a positive value makes
units remember longer at init.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field

from ._base import RecurrentModel
from ._scan import ScanConfig, log_scan


class _MinConfig(ScanConfig):
    n_gates: ClassVar[int]
    keep_sign: ClassVar[float]  # sign of forget_bias in the first gate's bias (z: −, f: +)

    forget_bias: float = Field(0.0, description="initial bias towards keeping the state (−b_z or +b_f)")


class MinGRUConfig(_MinConfig):
    name: ClassVar[str] = "min_gru"
    description: ClassVar[str] = "minGRU: input-only gates, parallel log-space scan"
    paper: ClassVar[str] = "Feng et al. 2024, Were RNNs All We Needed?"
    n_gates: ClassVar[int] = 2
    keep_sign: ClassVar[float] = -1.0

    def build(self, input_size, output_size, key):
        return MinGRU(self, input_size, output_size, key)


class MinLSTMConfig(_MinConfig):
    name: ClassVar[str] = "min_lstm"
    description: ClassVar[str] = "minLSTM: input-only normalised forget/input gates, parallel log-space scan"
    paper: ClassVar[str] = "Feng et al. 2024, Were RNNs All We Needed?"
    n_gates: ClassVar[int] = 3
    keep_sign: ClassVar[float] = 1.0

    def build(self, input_size, output_size, key):
        return MinLSTM(self, input_size, output_size, key)


def _g(v):
    return jnp.where(v >= 0, jax.nn.relu(v) + 0.5, jax.nn.sigmoid(v))


def _log_g(v):
    return jnp.where(v >= 0, jnp.log(jax.nn.relu(v) + 0.5), -jax.nn.softplus(-v))


class _MinRNN(RecurrentModel):
    W: jax.Array
    b: jax.Array

    def __init__(self, cfg: _MinConfig, input_size: int, output_size: int, key):
        n, g = cfg.hidden_size, cfg.n_gates
        kw, kr = jax.random.split(key)
        self.cfg = cfg
        self.W = jax.random.normal(kw, (g * n, input_size)) / jnp.sqrt(max(input_size, 1))
        self.b = jnp.zeros(g * n).at[:n].set(cfg.keep_sign * cfg.forget_bias)  # first block: z or f
        self.readout_layer = eqx.nn.Linear(n, output_size, key=kr)

    def initial_state(self):
        return jnp.zeros(self.cfg.hidden_size)

    def input_drive(self, x):
        return self.W @ x + self.b

    def _gates(self, drive):
        """``(log a, log b_gate, h̃)`` with ``h_t = a h_{t−1} + b_gate g(h̃)``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def update(self, h, drive, key):
        log_a, log_z, v = self._gates(drive)
        h = jnp.exp(log_a) * h + jnp.exp(log_z) * _g(v)
        return h, h

    def parallel_trial(self, drives, state0):
        log_a, log_z, v = jax.vmap(self._gates)(drives)
        h = log_scan(log_a, log_z + _log_g(v), state0, self.cfg.scan)
        return h[-1], h


class MinGRU(_MinRNN):
    def _gates(self, drive):
        k, v = jnp.split(drive, 2)
        return -jax.nn.softplus(k), -jax.nn.softplus(-k), v


class MinLSTM(_MinRNN):
    def _gates(self, drive):
        kf, ki, v = jnp.split(drive, 3)
        d = jax.nn.softplus(-kf) - jax.nn.softplus(-ki)
        return -jax.nn.softplus(d), -jax.nn.softplus(-d), v
