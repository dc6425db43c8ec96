"""Recurrent spiking network of LIF / ALIF units in discrete time, trained with surrogate
gradients (Neftci, Mostafa & Zenke 2019; ALIF: Bellec et al. 2018, LSNN).

Current-based synapses, membrane, spike, adaptation, all per unit, ``β = exp(−dt/τ)``::

    I_t = β_syn I_{t−1} + W_in x_t + b + W_rec s_{t−1}        (synaptic=False: I_t without the first term)
    V_t = β_mem V_{t−1} + I_t − θ_{t−1} s_{t−1}                (reset='subtract')
    V_t = (β_mem V_{t−1} + I_t)(1 − s_{t−1})                   (reset='zero')
    θ_t = θ + β_a a_{t−1}   (ALIF units; θ for LIF),   a_t = ρ a_{t−1} + s_t,   ρ = exp(−dt/τ_a)
    s_t = H(V_t − θ_t)                                          (blocked for ``refractory`` steps after a spike)

The reset is applied one step late and detached from the gradient, exactly as snnTorch's
``Leaky``/``RLeaky`` (``reset_delay=True``), so that with ``synaptic=False`` and ``neuron='lif'``
the forward pass equals ``RLeaky`` step for step. ``H`` is an exact Heaviside with a
surrogate derivative (``surrogate``: fast_sigmoid, superspike, arctan; ``surrogate.py``).
τ_mem, τ_syn are trained as ``τ = dt + softplus(τ̃) ≥ dt`` (``train_tau``); thresholds as
``θ = threshold · exp(θ̃) > 0`` (``train_threshold``).

Readout: the activity handed to ``readout`` (and analysed) is a leaky trace of the spikes,
kept in the state, ``r_t = β_out r_{t−1} + (1 − β_out) s_t`` (unit DC gain, so ``r`` is a
running firing rate per step; ``tau_out = dt`` gives the raw spikes), and the output is
``W_out r_t + b_out`` — a leaky-integrator readout, since integration commutes with the linear
map. The spikes themselves are ``state.s``. ``regularization``: ``rate_reg · mean_i (r̄_i −
target_rate)²`` with ``r̄_i`` unit i's mean trace over the batch and time.

Inputs: ``encoding='current'`` injects ``W_in x`` directly; ``'delta'`` first turns each channel
into ON/OFF spikes with a trainable threshold (``spike_encoder.DeltaEncoder``).
Initial weights: ``W_in ~ N(0, 1/I)``, ``W_rec ~ N(0, 1/N)``, times ``input_gain`` resp.
``rec_gain`` and ``(1 − β_mem)(1 − β_syn)`` (the inverse DC gain of the membrane), so that a
unit input moves V by about ``input_gain`` thresholds.
"""

from __future__ import annotations

from typing import ClassVar, Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field, ValidationInfo, field_validator

from ._base import ModelConfig, RecurrentModel, _inverse_softplus
from .spike_encoder import DeltaEncoder
from .surrogate import spike


class SpikingState(NamedTuple):
    i_syn: jax.Array  # synaptic current
    v: jax.Array  # membrane potential
    s: jax.Array  # spikes of the last step
    reset: jax.Array  # θ_t s_t, subtracted at the next step
    a: jax.Array  # adaptation variable
    refrac: jax.Array  # steps left in the refractory period
    trace: jax.Array  # leaky spike trace (the activity)
    enc_ref: jax.Array  # delta-encoder reference levels ([0] without the encoder)


class SpikingRNNConfig(ModelConfig):
    name: ClassVar[str] = "spiking_rnn"
    description: ClassVar[str] = "recurrent LIF/ALIF spiking network with surrogate gradients"
    paper: ClassVar[str] = "Neftci, Mostafa & Zenke 2019; Bellec et al. 2018"

    neuron: Literal["lif", "alif"] = Field("lif", description="LIF or adaptive-threshold ALIF units")
    alif_fraction: float = Field(1.0, gt=0, le=1, description="fraction of units that adapt (neuron='alif')")
    dt: float = Field(1.0, gt=0, description="time step")
    tau_mem: float = Field(20.0, gt=0, description="initial membrane time constant (≥ dt)")
    tau_syn: float = Field(5.0, gt=0, description="initial synaptic time constant (≥ dt)")
    synaptic: bool = Field(True, description="current-based synapses (False: I_t = input, as snnTorch Leaky)")
    train_tau: bool = Field(True, description="train τ_mem and τ_syn")
    threshold: float = Field(1.0, gt=0, description="initial firing threshold θ")
    train_threshold: bool = Field(True, description="train θ")
    tau_adapt: float = Field(200.0, gt=0, description="adaptation time constant τ_a (≥ dt)")
    beta_adapt: float = Field(1.8, ge=0, description="threshold increase β_a per unit of adaptation")
    reset: Literal["subtract", "zero"] = Field("subtract", description="reset by subtraction or to zero")
    refractory: int = Field(0, ge=0, description="refractory period in steps")
    surrogate: Literal["fast_sigmoid", "superspike", "arctan"] = Field("fast_sigmoid", description="surrogate gradient")
    surrogate_slope: float = Field(5.0, gt=0, description="surrogate steepness k (width 1/k)")
    tau_out: float = Field(10.0, gt=0, description="readout trace time constant (≥ dt; dt: raw spikes)")
    encoding: Literal["current", "delta"] = Field("current", description="inputs as currents or delta spikes")
    encoder_threshold: float = Field(0.1, gt=0, description="initial delta-encoder threshold")
    input_gain: float = Field(3.0, ge=0, description="input weight scale (thresholds per unit input)")
    rec_gain: float = Field(1.0, ge=0, description="recurrent weight scale")
    rate_reg: float = Field(0.0, ge=0, description="weight of the firing-rate regulariser")
    target_rate: float = Field(0.02, ge=0, le=1, description="target spikes per step of the regulariser")

    @field_validator("tau_mem", "tau_syn", "tau_adapt", "tau_out")
    @classmethod
    def _tau_above_dt(cls, tau: float, info: ValidationInfo) -> float:
        dt = info.data.get("dt", 1.0)
        if tau < dt:
            raise ValueError(f"must be >= dt = {dt}")
        return tau

    def build(self, input_size, output_size, key):
        return SpikingRNN(self, input_size, output_size, key)


def _beta(dt, tau):
    return jnp.exp(-dt / tau)


class SpikingRNN(RecurrentModel):
    W_in: jax.Array
    W_rec: jax.Array
    b: jax.Array
    tau_mem_raw: jax.Array
    tau_syn_raw: jax.Array
    theta_raw: jax.Array
    encoder: DeltaEncoder | None

    def __init__(self, cfg: SpikingRNNConfig, input_size: int, output_size: int, key):
        n = cfg.hidden_size
        ki, kw, kr = jax.random.split(key, 3)
        self.cfg = cfg
        delta = cfg.encoding == "delta"
        n_in = 2 * input_size if delta else input_size
        scale = 1 - _beta(cfg.dt, cfg.tau_mem)
        if cfg.synaptic:
            scale = scale * (1 - _beta(cfg.dt, cfg.tau_syn))
        self.W_in = cfg.input_gain * scale * jax.random.normal(ki, (n, n_in)) / jnp.sqrt(max(n_in, 1))
        self.W_rec = cfg.rec_gain * scale * jax.random.normal(kw, (n, n)) / jnp.sqrt(n)
        self.b = jnp.zeros(n)
        self.tau_mem_raw = jnp.full(n, _inverse_softplus(jnp.maximum(cfg.tau_mem - cfg.dt, 1e-3 * cfg.dt)))
        self.tau_syn_raw = jnp.full(n, _inverse_softplus(jnp.maximum(cfg.tau_syn - cfg.dt, 1e-3 * cfg.dt)))
        self.theta_raw = jnp.zeros(n)
        self.encoder = (
            DeltaEncoder(input_size, cfg.encoder_threshold, cfg.surrogate, cfg.surrogate_slope) if delta else None
        )
        self.readout_layer = eqx.nn.Linear(n, output_size, key=kr)

    def _tau(self, raw):
        raw = raw if self.cfg.train_tau else jax.lax.stop_gradient(raw)
        return self.cfg.dt + jax.nn.softplus(raw)

    def taus(self):
        """Membrane time constants τ_mem."""
        return self._tau(self.tau_mem_raw)

    def thresholds(self):
        raw = self.theta_raw if self.cfg.train_threshold else jax.lax.stop_gradient(self.theta_raw)
        return self.cfg.threshold * jnp.exp(raw)

    def _adaptive(self):
        """β_a per unit (0 for LIF units)."""
        cfg = self.cfg
        if cfg.neuron == "lif":
            return jnp.zeros(cfg.hidden_size)
        n_alif = int(round(cfg.alif_fraction * cfg.hidden_size))
        return jnp.where(jnp.arange(cfg.hidden_size) < n_alif, cfg.beta_adapt, 0.0)

    def initial_state(self):
        z = jnp.zeros(self.cfg.hidden_size)
        ref = jnp.zeros(0 if self.encoder is None else self.encoder.theta_raw.shape[0])
        return SpikingState(z, z, z, z, z, z, z, ref)

    def input_drive(self, x):
        return x if self.encoder is not None else self.W_in @ x + self.b

    def update(self, st: SpikingState, drive, key):
        cfg = self.cfg
        ref = st.enc_ref
        if self.encoder is not None:
            spikes_in, ref = self.encoder(drive, ref)
            drive = self.W_in @ spikes_in + self.b
        current = drive + self.W_rec @ st.s
        i_syn = _beta(cfg.dt, self._tau(self.tau_syn_raw)) * st.i_syn + current if cfg.synaptic else current
        v = _beta(cfg.dt, self.taus()) * st.v + i_syn
        v = v - st.reset if cfg.reset == "subtract" else v * (1 - jax.lax.stop_gradient(st.s))
        theta = self.thresholds() + self._adaptive() * st.a
        s = spike(v - theta, cfg.surrogate, cfg.surrogate_slope)
        refrac = st.refrac
        if cfg.refractory > 0:
            s = s * (st.refrac <= 0)
            refrac = jnp.where(s > 0, float(cfg.refractory), jnp.maximum(refrac - 1, 0.0))
        a = _beta(cfg.dt, cfg.tau_adapt) * st.a + s
        b_out = _beta(cfg.dt, cfg.tau_out)
        trace = b_out * st.trace + (1 - b_out) * s
        reset = jax.lax.stop_gradient(theta * s)
        return SpikingState(i_syn, v, s, reset, a, refrac, trace, ref), trace

    def regularization(self, activity):
        if self.cfg.rate_reg == 0:
            return jnp.zeros(())
        rates = activity.mean(axis=(0, 1))
        return self.cfg.rate_reg * jnp.mean((rates - self.cfg.target_rate) ** 2)
