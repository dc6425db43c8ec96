"""Leaky (continuous-time, Euler-discretised) rate RNN with per-neuron time constants.

Standard form (e.g. Song, Yang & Wang 2016; Yang et al. 2019), with ``α = dt/τ`` per neuron::

    h_t = (1 − α) ⊙ h_{t−1} + α ⊙ φ(W h_{t−1} + U x_t + b) + √(2α) σ ξ_t,   ξ_t ~ N(0, I)

"Wrapped" form of the timescales paper (Khajehabdollahi, Zeraati et al. 2024), where the
nonlinearity is applied after the leak::

    h_t = φ((1 − α) ⊙ h_{t−1} + α ⊙ (W h_{t−1} + U x_t + b) + √(2α) σ ξ_t)

Readout ``y_t = W_out h_t + b_out``. ``τ`` is per neuron, initialised as ``tau + U(0, tau_spread)``
(the paper uses 1 + U(0, 1) with dt = 1) and kept ``≥ dt`` by the parameterisation
``τ = dt + softplus(τ̃)``; with ``train_tau=False`` it is held fixed. ``self_connections=False``
zeroes the diagonal of ``W`` in every step (the paper's networks have no self-connections,
so τ is each neuron's only self-memory). With τ = dt (α = 1) the model is a vanilla
discrete-time RNN. ``W`` is initialised ``N(0, gain²/N)``, ``U`` as ``N(0, 1/I)``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field, ValidationInfo, field_validator

from ._base import ModelConfig, RecurrentModel, _inverse_softplus

_ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,
    "softplus": jax.nn.softplus,
}


class LeakyRNNConfig(ModelConfig):
    name: ClassVar[str] = "leaky_rnn"
    description: ClassVar[str] = "leaky rate RNN with trainable per-neuron time constants τ ≥ dt"
    paper: ClassVar[str] = "Song, Yang & Wang 2016; Khajehabdollahi, Zeraati et al. 2024"

    activation: Literal["tanh", "relu", "leaky_relu", "softplus"] = Field("tanh", description="nonlinearity φ")
    variant: Literal["standard", "wrapped"] = Field(
        "standard", description="'wrapped': φ applied after the leak, as in the timescales paper"
    )
    dt: float = Field(1.0, gt=0, description="integration step")
    tau: float = Field(1.0, gt=0, description="initial time constant (same units as dt; must be ≥ dt)")
    tau_spread: float = Field(0.0, ge=0, description="τ initialised as tau + U(0, tau_spread)")
    train_tau: bool = Field(True, description="train τ (else held fixed)")
    noise: float = Field(0.0, ge=0, description="std σ of private recurrent noise")
    self_connections: bool = Field(True, description="keep the diagonal of W")
    gain: float = Field(1.0, ge=0, description="W initialised N(0, gain²/N)")

    @field_validator("tau")
    @classmethod
    def _tau_above_dt(cls, tau: float, info: ValidationInfo) -> float:
        dt = info.data.get("dt", 1.0)
        if tau < dt:
            raise ValueError(f"must be >= dt = {dt}")
        return tau

    def build(self, input_size, output_size, key):
        return LeakyRNN(self, input_size, output_size, key)


class LeakyRNN(RecurrentModel):
    W: jax.Array
    U: jax.Array
    b: jax.Array
    tau_raw: jax.Array

    def __init__(self, cfg: LeakyRNNConfig, input_size: int, output_size: int, key):
        n = cfg.hidden_size
        kw, ku, kt, kr = jax.random.split(key, 4)
        self.cfg = cfg
        self.W = cfg.gain * jax.random.normal(kw, (n, n)) / jnp.sqrt(n)
        self.U = jax.random.normal(ku, (n, input_size)) / jnp.sqrt(max(input_size, 1))
        self.b = jnp.zeros(n)
        tau0 = cfg.tau + cfg.tau_spread * jax.random.uniform(kt, (n,))
        # τ = dt + softplus(τ̃); τ0 = dt exactly would need τ̃ = −∞, so start 1e-3·dt above it.
        self.tau_raw = _inverse_softplus(jnp.maximum(tau0 - cfg.dt, 1e-3 * cfg.dt))
        self.readout_layer = eqx.nn.Linear(n, output_size, key=kr)

    @property
    def stochastic(self) -> bool:
        return self.cfg.noise > 0

    def taus(self):
        raw = self.tau_raw if self.cfg.train_tau else jax.lax.stop_gradient(self.tau_raw)
        return self.cfg.dt + jax.nn.softplus(raw)

    def recurrent_weights(self):
        """The effective recurrent matrix ``W`` (diagonal removed if configured)."""
        if self.cfg.self_connections:
            return self.W
        return self.W * (1.0 - jnp.eye(self.W.shape[0], dtype=self.W.dtype))

    def initial_state(self):
        return jnp.zeros(self.cfg.hidden_size)

    def input_drive(self, x):
        return self.U @ x + self.b

    def update(self, h, drive, key):
        cfg = self.cfg
        phi = _ACTIVATIONS[cfg.activation]
        alpha = cfg.dt / self.taus()
        rec = self.recurrent_weights() @ h + drive
        noise = 0.0
        if cfg.noise > 0:
            noise = jnp.sqrt(2 * alpha) * cfg.noise * jax.random.normal(key, h.shape)
        if cfg.variant == "standard":
            h = (1 - alpha) * h + alpha * phi(rec) + noise
        else:
            h = phi((1 - alpha) * h + alpha * rec + noise)
        return h, h
