"""Diagonal state-space model, S4D-style (Gu, Gupta, Goel & Ré 2022, "On the Parameterization
and Initialization of Diagonal State Space Models"), in the multi-input multi-output form of
S5 (Smith, Warrington & Linderman 2023).

Continuous-time diagonal system on ``x ∈ ℂ^P`` (``state_size``), input ``u`` (``x`` or an MLP
encoding of it), zero-order-hold discretised with a trainable step ``Δ = exp(log Δ)`` per mode::

    λ = −exp(ã) + i ω                  (Re λ < 0: stable for every parameter value)
    Ā = exp(Δ λ),   B̄ = (Ā − 1)/λ ⊙ B           (ZOH, element-wise)
    x_t = Ā ⊙ x_{t−1} + B̄ u_t,     y_t = Re(C x_t) + D u_t,     activity φ(y_t)

S4D-Lin initialisation ``λ_n = −½ + iπn`` (``init='real'``: S4D-Real, ``λ_n = −(n + 1)``);
``log Δ ~ U(log dt_min, log dt_max)``; ``B ~ (N + iN)/√(2I)``, ``C ~ c_std (N + iN)/√2``
(S4D: std 1), ``D ~ N(0, 1/I)``. A single impulse moves the state by only ``|B̄| ≈ Δ|B|``,
so with small steps a single layer needs a large ``c_std`` to read sparse events out quickly
(the adding test uses ``dt_max = 0.01``, ``c_std = 3.5``). Complex parameters are stored as
real/imaginary pairs and the state as ``[Re x, Im x]``. ``mode='parallel'`` evaluates a trial
with a parallel prefix scan (``_scan.linear_scan``; ``scan='associative'`` for
``jax.lax.associative_scan``); ``mode='sequential'`` steps ``update``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field, model_validator

from ._scan import DiagonalConfig, DiagonalModel, Encoder, complex_normal


class S4DConfig(DiagonalConfig):
    name: ClassVar[str] = "s4d"
    description: ClassVar[str] = "diagonal complex state-space model with ZOH and trainable step Δ"
    paper: ClassVar[str] = "Gu et al. 2022 (S4D); Smith et al. 2023 (S5)"

    init: Literal["lin", "real"] = Field("lin", description="S4D-Lin λ_n = −½ + iπn or S4D-Real λ_n = −(n + 1)")
    c_std: float = Field(1.0, gt=0, description="std of the complex entries of C at init (S4D: 1)")
    dt_min: float = Field(1e-3, gt=0, description="smallest initial step Δ")
    dt_max: float = Field(1e-1, gt=0, description="largest initial step Δ")

    @model_validator(mode="after")
    def _check(self):
        if self.dt_min > self.dt_max:
            raise ValueError(f"dt_max: must be >= dt_min = {self.dt_min} (got {self.dt_max})")
        return self

    def build(self, input_size, output_size, key):
        return S4D(self, input_size, output_size, key)


class S4D(DiagonalModel):
    log_neg_re: jax.Array
    im: jax.Array
    log_dt: jax.Array
    B_re: jax.Array
    B_im: jax.Array
    C_re: jax.Array
    C_im: jax.Array
    D: jax.Array
    encoder: Encoder

    def __init__(self, cfg: S4DConfig, input_size: int, output_size: int, key):
        P, N = cfg.P, cfg.hidden_size
        kt, kb, kc, kd, ke, kr = jax.random.split(key, 6)
        width = cfg.encoder_size(input_size)
        E = Encoder.size(input_size, width)
        self.cfg = cfg
        n = jnp.arange(P, dtype=jnp.float32)
        lin = cfg.init == "lin"
        self.log_neg_re = jnp.full(P, jnp.log(0.5)) if lin else jnp.log(n + 1)
        self.im = jnp.pi * n if lin else jnp.zeros(P)
        lo, hi = jnp.log(cfg.dt_min), jnp.log(cfg.dt_max)
        self.log_dt = lo + (hi - lo) * jax.random.uniform(kt, (P,))
        self.B_re, self.B_im = complex_normal(kb, (P, E), 1.0 / jnp.sqrt(E))
        self.C_re, self.C_im = complex_normal(kc, (N, P), cfg.c_std)
        self.D = jax.random.normal(kd, (N, E)) / jnp.sqrt(E)
        self.encoder = Encoder(input_size, width, ke)
        self.readout_layer = eqx.nn.Linear(N, output_size, key=kr)

    def continuous_eigenvalues(self) -> jax.Array:
        return -jnp.exp(self.log_neg_re) + 1j * self.im

    def eigenvalues(self) -> jax.Array:
        """Ā = exp(Δ λ), the discrete-time eigenvalues (``|Ā| < 1``)."""
        return jnp.exp(jnp.exp(self.log_dt) * self.continuous_eigenvalues())

    def input_matrix(self) -> jax.Array:
        """B̄ = (Ā − 1)/λ ⊙ B by zero-order hold (complex ``[P, E]``)."""
        lam = self.continuous_eigenvalues()
        return ((self.eigenvalues() - 1) / lam)[:, None] * (self.B_re + 1j * self.B_im)

    def taus(self):
        """Decay time constants ``−1/log|Ā| = 1/(Δ exp(ã))`` of the P modes (in steps)."""
        return 1.0 / (jnp.exp(self.log_dt) * jnp.exp(self.log_neg_re))
