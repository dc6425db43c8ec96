"""Liquid time-constant (LTC) network (Hasani, Lechner, Amini, Rus & Grosu 2021, "Liquid
Time-constant Networks", AAAI 2021).

The ODE of the paper (eq. 1), with a per-unit conductance ``f`` (the paper's ``f(x, I, t, θ)``
as one sigmoid layer)::

    dh/dt = −[1/τ + f(h, x)] ⊙ h + f(h, x) ⊙ A,        f(h, x) = sigmoid(W_r h + W_i x + b)

so every unit relaxes towards ``A`` with an input- and state-dependent ("liquid") time
constant ``1/(1/τ + f)``. Integrated by the paper's fused implicit–explicit Euler solver
(Algorithm 1): ``ode_unfolds = K`` sub-steps of size ``Δ = dt/K`` per time step, the input
``x_t`` held over the step::

    repeat K times:   h ← (h + Δ f(h, x_t) ⊙ A) / (1 + Δ (1/τ + f(h, x_t)))

Each sub-step is a convex combination of ``h``, ``A`` and ``0`` (weights ``1, Δf, Δ/τ``), so the
state stays in the hull of ``h_0``, ``0`` and ``A``, for any step size. This is the per-unit
form of the paper; the ``ncps`` package's ``LTCCell`` uses instead a synaptic form (one
sigmoid, weight and reversal potential per synapse, ``f_ij = w_ij σ(σ_ij (h_j − μ_ij))``)
that is not implemented here.

``τ = softplus(τ̃) > 0`` per unit, initialised as ``tau + U(0, tau_spread)`` and trained unless
``train_tau=False`` (then ``τ̃`` enters through ``stop_gradient``). ``W_r ~ N(0, gain²/N)``,
``W_i ~ N(0, 1/I)``, ``b = 0``, ``A ~ N(0, 1)``, all trained. The state and activity are ``h``;
the readout is ``W_out h + b_out``; ``taus()`` returns the base time constants τ (the
effective ones are ``1/(1/τ + f) ≤ τ``). ``W_i x + b`` is computed outside the time loop.

The update is nonlinear in ``h``: the parallel mode is the generic Newton/DEER solver of
``rnnlab.parallel`` (``train(..., solver="parallel")``).

``mixed_memory=True`` (the ncps option of the same name): an LSTM cell runs before the LTC
cell in every step and the state is ``(h, c)`` (see ``_mixed_memory``); the LSTM's additive cell
state gives the long memory that the LTC cell alone lacks.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field

from . import _mixed_memory as _mm
from ._base import ModelConfig, RecurrentModel, _inverse_softplus
from .gated import LSTM


class LTCConfig(ModelConfig):
    name: ClassVar[str] = "ltc"
    description: ClassVar[str] = "liquid time-constant network, fused implicit–explicit Euler ODE solver"
    paper: ClassVar[str] = "Hasani et al. 2021, Liquid Time-constant Networks (AAAI)"

    ode_unfolds: int = Field(6, ge=1, description="fused-solver sub-steps K per time step")
    dt: float = Field(1.0, gt=0, description="time per step (sub-step Δ = dt / ode_unfolds)")
    tau: float = Field(1.0, gt=0, description="initial time constant τ")
    tau_spread: float = Field(0.0, ge=0, description="τ initialised as tau + U(0, tau_spread)")
    train_tau: bool = Field(True, description="train τ (else held fixed)")
    gain: float = Field(1.0, ge=0, description="W_r initialised N(0, gain²/N)")
    mixed_memory: bool = Field(False, description="an LSTM cell runs before the LTC cell in every step (long memory)")

    def build(self, input_size, output_size, key):
        return LTC(self, input_size, output_size, key)


class LTC(RecurrentModel):
    W_r: jax.Array
    W_i: jax.Array
    b: jax.Array
    A: jax.Array
    tau_raw: jax.Array
    memory: LSTM | None  # mixed memory only

    def __init__(self, cfg: LTCConfig, input_size: int, output_size: int, key):
        n = cfg.hidden_size
        kr, ki, ka, kt, ko = jax.random.split(key, 5)
        self.memory = _mm.build_memory(cfg.mixed_memory, n, input_size, jax.random.fold_in(key, 6))
        self.cfg = cfg
        self.W_r = cfg.gain * jax.random.normal(kr, (n, n)) / jnp.sqrt(n)
        self.W_i = jax.random.normal(ki, (n, input_size)) / jnp.sqrt(max(input_size, 1))
        self.b = jnp.zeros(n)
        self.A = jax.random.normal(ka, (n,))
        self.tau_raw = _inverse_softplus(cfg.tau + cfg.tau_spread * jax.random.uniform(kt, (n,)))
        self.readout_layer = eqx.nn.Linear(n, output_size, key=ko)

    def taus(self):
        raw = self.tau_raw if self.cfg.train_tau else jax.lax.stop_gradient(self.tau_raw)
        return jax.nn.softplus(raw)

    def initial_state(self):
        return _mm.initial_state(self.memory, self.cfg.hidden_size)

    def input_drive(self, x):
        return _mm.input_drive(self.memory, x, self.W_i @ x + self.b)

    def update(self, state, drive, key):
        return _mm.update(self.memory, state, drive, self._cell_update)

    def _cell_update(self, h, drive):
        K = self.cfg.ode_unfolds
        delta = self.cfg.dt / K
        leak = 1.0 / self.taus()

        def substep(_, h):
            f = jax.nn.sigmoid(self.W_r @ h + drive)
            return (h + delta * f * self.A) / (1 + delta * (leak + f))

        h = jax.lax.fori_loop(0, K, substep, h)
        return h, h
