"""Linear Recurrent Unit (Orvieto et al. 2023, ICML, "Resurrecting Recurrent Neural Networks
for Long Sequences").

A complex diagonal linear recurrence on a state ``x ∈ ℂ^P`` (``state_size``), read out to
``N = hidden_size`` real units through a pointwise nonlinearity φ::

    Λ = exp(−exp(ν) + i exp(θ))                   (element-wise; |λ| = exp(−exp(ν)) < 1 always)
    x_t = Λ ⊙ x_{t−1} + γ ⊙ (B u_t),              γ = exp(γ̃), γ̃ initialised to log √(1 − |λ|²)
    y_t = Re(C x_t) + D u_t,       activity a_t = φ(y_t),       output W_out a_t + b_out

``u_t = x_t`` or an MLP encoding of it (``encoder='mlp'``). Ring initialisation: ``|λ|`` has
density ∝ r on ``[r_min, r_max]`` (``ν = log(−½ log(U(r_max² − r_min²) + r_min²))``) and phase
``U(0, max_phase)``. ``B ~ (N + iN)/√(2 I)`` (Glorot with the paper's √2 for taking the real part),
``C ~ (N + iN)/√P``, ``D ~ N(0, 1/I)``. Complex parameters are stored as real/imaginary float
pairs (``B_re``, ``B_im``...) so any Optax optimiser works; the state is kept as the real vector
``[Re x, Im x]``. The recurrence is element-wise (``Λ ⊙ x``, never a matrix product: the
dot-product collapse of Gothos/LRU-pytorch PR #2).

``mode='sequential'``: ``update`` is one step and ``run`` scans it; ``mode='parallel'``: the
whole trial by a parallel prefix scan (``_scan.linear_scan``; ``scan='associative'`` for
``jax.lax.associative_scan``), equal up to float rounding.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field, model_validator

from ._scan import DiagonalConfig, DiagonalModel, Encoder, complex_normal


class LRUConfig(DiagonalConfig):
    name: ClassVar[str] = "lru"
    description: ClassVar[str] = "linear recurrent unit: complex diagonal recurrence, ring init, γ normalisation"
    paper: ClassVar[str] = "Orvieto et al. 2023, ICML"

    r_min: float = Field(0.0, ge=0, lt=1, description="smallest |λ| at init")
    r_max: float = Field(0.99, gt=0, lt=1, description="largest |λ| at init")
    max_phase: float = Field(2 * math.pi, gt=0, le=2 * math.pi, description="phases of λ drawn in U(0, max_phase)")

    @model_validator(mode="after")
    def _check(self):
        if self.r_min > self.r_max:
            raise ValueError(f"r_max: must be >= r_min = {self.r_min} (got {self.r_max})")
        return self

    def build(self, input_size, output_size, key):
        return LRU(self, input_size, output_size, key)


class LRU(DiagonalModel):
    nu_log: jax.Array
    theta_log: jax.Array
    gamma_log: jax.Array
    B_re: jax.Array
    B_im: jax.Array
    C_re: jax.Array
    C_im: jax.Array
    D: jax.Array
    encoder: Encoder

    def __init__(self, cfg: LRUConfig, input_size: int, output_size: int, key):
        P, N = cfg.P, cfg.hidden_size
        k1, k2, kb, kc, kd, ke, kr = jax.random.split(key, 7)
        width = cfg.encoder_size(input_size)
        E = Encoder.size(input_size, width)
        self.cfg = cfg
        u1, u2 = (jax.random.uniform(k, (P,), minval=1e-6) for k in (k1, k2))  # no log(0)
        self.nu_log = jnp.log(-0.5 * jnp.log(u1 * (cfg.r_max**2 - cfg.r_min**2) + cfg.r_min**2))
        self.theta_log = jnp.log(cfg.max_phase * u2)
        self.gamma_log = jnp.log(jnp.sqrt(1 - jnp.abs(self.eigenvalues()) ** 2))
        self.B_re, self.B_im = complex_normal(kb, (P, E), 1.0 / jnp.sqrt(E))
        self.C_re, self.C_im = complex_normal(kc, (N, P), 1.0 / jnp.sqrt(P))
        self.D = jax.random.normal(kd, (N, E)) / jnp.sqrt(E)
        self.encoder = Encoder(input_size, width, ke)
        self.readout_layer = eqx.nn.Linear(N, output_size, key=kr)

    def eigenvalues(self) -> jax.Array:
        """Λ (complex, ``[P]``)."""
        return jnp.exp(-jnp.exp(self.nu_log) + 1j * jnp.exp(self.theta_log))

    def taus(self):
        """Decay time constants ``−1/log|λ| = exp(−ν)`` of the P modes (in steps)."""
        return jnp.exp(-self.nu_log)

    def input_matrix(self) -> jax.Array:
        """``γ ⊙ B`` (complex ``[P, E]``)."""
        return jnp.exp(self.gamma_log)[:, None] * (self.B_re + 1j * self.B_im)
