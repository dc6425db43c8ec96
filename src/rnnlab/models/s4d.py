"""Diagonal state-space model, S4D-style (Gu, Gupta, Goel & Ré 2022, "On the Parameterization
and Initialization of Diagonal State Space Models"), in the multi-input multi-output form of
S5 (Smith, Warrington & Linderman 2023).

Continuous-time diagonal system on ``x ∈ ℂ^P`` (``state_size``), input ``u`` (``x`` or an MLP
encoding of it), zero-order-hold discretised with a trainable step ``Δ = exp(log Δ)`` per mode::

    λ = −exp(ã) + i ω                  (Re λ < 0: stable for every parameter value)
    Ā = exp(Δ λ),   B̄ = (Ā − 1)/λ ⊙ B           (ZOH, element-wise)
    x_t = Ā ⊙ x_{t−1} + B̄ u_t,     y_t = Re(C x_t) + D u_t,     activity φ(y_t)

S4D-Lin initialisation ``λ_n = −½ + iπn``; ``log Δ ~ U(log dt_min, log dt_max)``;
``B ~ (N + iN)/√(2I)``, ``C ~ (N + iN)/√P``, ``D ~ N(0, 1/I)``. Complex parameters are stored as
real/imaginary pairs and the state as ``[Re x, Im x]``. ``mode='parallel'`` evaluates a trial
with ``jax.lax.associative_scan``; ``mode='sequential'`` steps ``update``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field, model_validator

from ._base import RecurrentModel
from ._scan import ACTIVATIONS, Encoder, LinearRecurrenceConfig, complex_normal, linear_scan, to_complex, to_real


class S4DConfig(LinearRecurrenceConfig):
    name: ClassVar[str] = "s4d"
    description: ClassVar[str] = "diagonal complex state-space model with ZOH and trainable step Δ"
    paper: ClassVar[str] = "Gu et al. 2022 (S4D); Smith et al. 2023 (S5)"

    state_size: int | None = Field(None, gt=0, description="complex state size P (default hidden_size)")
    dt_min: float = Field(1e-3, gt=0, description="smallest initial step Δ")
    dt_max: float = Field(1e-1, gt=0, description="largest initial step Δ")
    activation: Literal["gelu", "tanh", "relu", "identity"] = Field("gelu", description="φ after Re(Cx) + Du")

    @model_validator(mode="after")
    def _check(self):
        if self.dt_min > self.dt_max:
            raise ValueError(f"dt_max: must be >= dt_min = {self.dt_min} (got {self.dt_max})")
        return self

    @property
    def P(self) -> int:
        return self.state_size or self.hidden_size

    def build(self, input_size, output_size, key):
        return S4D(self, input_size, output_size, key)


class S4D(RecurrentModel):
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
        self.log_neg_re = jnp.full(P, jnp.log(0.5))
        self.im = jnp.pi * jnp.arange(P, dtype=jnp.float32)
        lo, hi = jnp.log(cfg.dt_min), jnp.log(cfg.dt_max)
        self.log_dt = lo + (hi - lo) * jax.random.uniform(kt, (P,))
        self.B_re, self.B_im = complex_normal(kb, (P, E), 1.0 / jnp.sqrt(E))
        self.C_re, self.C_im = complex_normal(kc, (N, P), 1.0 / jnp.sqrt(P))
        self.D = jax.random.normal(kd, (N, E)) / jnp.sqrt(E)
        self.encoder = Encoder(input_size, width, ke)
        self.readout_layer = eqx.nn.Linear(N, output_size, key=kr)

    def continuous_eigenvalues(self) -> jax.Array:
        return -jnp.exp(self.log_neg_re) + 1j * self.im

    def discrete(self) -> tuple[jax.Array, jax.Array]:
        """``(Ā [P], B̄ [P, E])`` by zero-order hold."""
        lam = self.continuous_eigenvalues()
        A = jnp.exp(jnp.exp(self.log_dt) * lam)
        return A, ((A - 1) / lam)[:, None] * (self.B_re + 1j * self.B_im)

    def eigenvalues(self) -> jax.Array:
        """Ā, the discrete-time eigenvalues (``|Ā| < 1``)."""
        return self.discrete()[0]

    def taus(self):
        """Decay time constants ``−1/log|Ā| = 1/(Δ exp(ã))`` of the P modes (in steps)."""
        return 1.0 / (jnp.exp(self.log_dt) * jnp.exp(self.log_neg_re))

    def initial_state(self):
        return jnp.zeros(2 * self.cfg.P)

    def input_drive(self, x):
        u = self.encoder(x)
        return to_real(self.discrete()[1] @ u), self.D @ u

    def _out(self, x, du):
        y = x.real @ self.C_re.T - x.imag @ self.C_im.T + du
        return ACTIVATIONS[self.cfg.activation](y)

    def update(self, state, drive, key):
        bu, du = drive
        x = self.eigenvalues() * to_complex(state) + to_complex(bu)
        return to_real(x), self._out(x, du)

    def parallel_trial(self, drives, state0):
        bu, du = drives
        x = linear_scan(self.eigenvalues(), to_complex(bu), to_complex(state0))
        return to_real(x[-1]), self._out(x, du)
