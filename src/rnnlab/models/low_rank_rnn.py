"""Low-rank RNN (Mastrogiuseppe & Ostojic 2018, Neuron 99:609).

The recurrent matrix is a sum of ``r`` outer products, trained only through its factors::

    J = m nᵀ / N,        m, n ∈ ℝ^{N×r}

so ``rank J ≤ r`` at every step of training. The dynamics are LeakyRNN's (same ``tau``,
``variant``, ``activation``, ``noise`` options) with ``W = J``::

    h_t = (1 − α) ⊙ h_{t−1} + α ⊙ φ(J h_{t−1} + U x_t + b)

(M&O write the voltage form ``ẋ = −x + J φ(x) + I``; for constant input the two are the same
dynamics under ``h = φ(x)``-type changes of variable, and the low-rank structure, with the
activity confined near span(m) plus the input directions, is the same.) ``m`` and ``n`` are
initialised i.i.d. ``N(0, 1)`` (O(1) entries as in the paper, so the overlaps ``nᵀm/N`` are
O(1/√N)); ``U ~ N(0, 1/I)``. ``recurrent_weights()`` returns ``J``. The shared leaky options
(``tau_param``, ``initial_state``, ``bias``) act as in ``leaky_rnn``.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field, model_validator

from .leaky_rnn import _h0, _LeakyConfig, _LeakyDynamics, _readout, _tau_raw


class LowRankRNNConfig(_LeakyConfig):
    name: ClassVar[str] = "low_rank_rnn"
    description: ClassVar[str] = "leaky RNN with rank-r connectivity J = m nᵀ / N"
    paper: ClassVar[str] = "Mastrogiuseppe & Ostojic 2018, Neuron"

    rank: int = Field(1, gt=0, description="rank r of J (≤ hidden_size)")
    init_scale: float = Field(1.0, ge=0, description="std of the entries of m and n at init")

    @model_validator(mode="after")
    def _check(self):
        if self.rank > self.hidden_size:
            raise ValueError(f"rank: must be <= hidden_size = {self.hidden_size} (got {self.rank})")
        return self

    def build(self, input_size, output_size, key):
        return LowRankRNN(self, input_size, output_size, key)


class LowRankRNN(_LeakyDynamics):
    m: jax.Array
    n: jax.Array
    U: jax.Array
    b: jax.Array
    tau_raw: jax.Array
    h0: jax.Array | None

    def __init__(self, cfg: LowRankRNNConfig, input_size: int, output_size: int, key):
        N, r = cfg.hidden_size, cfg.rank
        km, kn, ku, kt, kr = jax.random.split(key, 5)
        self.cfg = cfg
        self.m = cfg.init_scale * jax.random.normal(km, (N, r))
        self.n = cfg.init_scale * jax.random.normal(kn, (N, r))
        self.U = jax.random.normal(ku, (N, input_size)) / jnp.sqrt(max(input_size, 1))
        self.b = jnp.zeros(N)
        self.tau_raw = _tau_raw(cfg, kt, N)
        self.readout_layer = _readout(cfg, N, output_size, kr)
        self.h0 = _h0(cfg, key, N)

    def recurrent_weights(self):
        """``J = m nᵀ / N``."""
        return self.m @ self.n.T / self.cfg.hidden_size

    def _recurrent(self, h):
        return self.m @ (self.n.T @ h) / self.cfg.hidden_size  # J h in O(N r), J never formed

    def _recurrent_diagonal(self):
        return jnp.sum(self.m * self.n, axis=1) / self.cfg.hidden_size  # diag J in O(N r)
