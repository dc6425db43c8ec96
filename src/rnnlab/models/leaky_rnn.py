"""Leaky (continuous-time, Euler-discretised) rate RNN with per-neuron time constants.

Standard form (e.g. Song, Yang & Wang 2016; Yang et al. 2019), with ``α = dt/τ`` per neuron::

    h_t = (1 − α) ⊙ h_{t−1} + α ⊙ φ(W h_{t−1} + U x_t + b) + √(2α) σ ξ_t,   ξ_t ~ N(0, I)

"Wrapped" form of the timescales paper (Khajehabdollahi, Zeraati et al. 2024), where the
nonlinearity is applied after the leak::

    h_t = φ((1 − α) ⊙ h_{t−1} + α ⊙ (W h_{t−1} + U x_t + b) + √(2α) σ ξ_t)

Readout ``y_t = W_out h_t + b_out``. ``τ`` is per neuron, initialised as ``tau + U(0, tau_spread)``
(the paper uses 1 + U(0, 1) with dt = 1); with ``train_tau=False`` it is held fixed. It is kept
``≥ dt`` by one of two parameterisations (``tau_param``):

* ``"softplus"`` (default): ``τ = dt + softplus(τ̃)``, the stored parameter ``τ̃`` unbounded.
  Then ``∂L/∂τ̃ = σ(τ̃) ∂L/∂τ``: gradient steps on ``τ̃`` move τ by ``σ(τ̃)²`` times what a
  step on τ itself would (to first order), so slowly for τ near dt.
* ``"direct"`` (the timescales paper's code: ``torch.clamp(τ, min=1)`` at use, dt = 1, no
  reparameterisation): the stored parameter is τ itself, used as ``max(τ, dt)``; ``∂L/∂τ`` is
  the plain derivative where ``τ ≥ dt`` and exactly 0 where ``τ < dt`` (as in PyTorch's
  clamp, the gradient passes at ``τ = dt``). Plain SGD on it then moves τ as in the paper.

``self_connections=False`` zeroes the diagonal of ``W`` in every step (the paper's networks have
no self-connections, so τ is each neuron's only self-memory). With τ = dt (α = 1) the model is
a vanilla discrete-time RNN. ``W`` is initialised ``N(0, gain²/N)`` (``init``: see
``models.init``; ``"aligned_rank"`` is built here from ``U`` and ``W_out``), ``U`` as
``N(0, 1/I)``.

Initial state (``initial_state``): ``"zeros"`` (default) or ``"uniform"``, ``h0_i = h0_scale ·
U(0, 1)`` per unit (the timescales paper: ``0.1 · torch.rand``). The paper redraws h0 at every
forward pass (a fresh draw per batch and trial) and does not train it. Here it is drawn once,
from the init key, and stored as a fixed buffer ``h0`` used through ``stop_gradient`` (so it
gets a zero gradient), and every trial starts from the same h0: ``initial_state()`` takes no
randomness. The paper's h0 thus adds trial-to-trial variability (std ``0.1/√12 ≈ 0.029`` per
unit) that this version lacks. Like every frozen float leaf (τ with ``train_tau=False``), the
buffer is still shrunk by AdamW's decoupled weight decay, by a factor ``1 − lr·wd`` per step
(``1 − 10⁻⁷`` at the defaults); Adam and SGD leave it exactly unchanged.

``bias=False`` (Liu et al. 2024, ICLR: bias-free CTRNN and readout): no recurrent bias ``b``
(kept as zeros and unused, so it gets no gradient) and a readout without ``b_out``.

Connectivity constraints (the effective matrix is what ``recurrent_weights()`` returns and
what every step uses)::

    W_eff = (|W̃| ⊙ M) · D     with dale=True,    D = diag(+1 for E units, −1 for I units)
    W_eff =  W̃ ⊙ M            otherwise

* Dale's law (Song, Yang & Wang 2016): the first ``round(excitatory_fraction · N)`` units are
  excitatory; the sign acts on presynaptic columns. At init ``|W̃|`` has its inhibitory
  columns scaled by ``N_E/N_I`` (balanced: zero mean input) and the whole matrix by
  ``1/√((1 − 2/π)(f_E + f_I (N_E/N_I)²))``, so that a Gaussian ``W̃`` keeps bulk radius ``gain``.
  ``dale_readout``: ``y = (|W_out| ⊙ 1_E) h + b_out`` reads out from E units only with
  non-negative weights.
* ``M`` is a fixed 0/1 mask: a random sparse mask of ``density`` drawn at init from the key
  (W̃ then scaled by ``1/√density``), times the optional user ``mask`` (N×N of 0/1), times
  ``1 − I`` without self-connections; ``None`` when there is none. It is stored as a float
  array but used only through ``where(M > 0.5, ·, 0)``, so it gets no gradient and optimiser
  steps (even weight decay) cannot change it. (A boolean leaf would break ``train``, whose
  optimiser state covers every array while gradients cover floating-point ones only.)
"""

from __future__ import annotations

from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field, ValidationInfo, field_validator, model_validator

from . import init as _init
from ._base import ModelConfig, RecurrentModel, _inverse_softplus

_ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,
    "softplus": jax.nn.softplus,
}


class _LeakyConfig(ModelConfig):
    """Fields shared by the leaky rate networks (``LeakyRNN``, ``LowRankRNN``)."""

    activation: Literal["tanh", "relu", "leaky_relu", "softplus"] = Field("tanh", description="nonlinearity φ")
    variant: Literal["standard", "wrapped"] = Field(
        "standard", description="'wrapped': φ applied after the leak, as in the timescales paper"
    )
    dt: float = Field(1.0, gt=0, description="integration step")
    tau: float = Field(1.0, gt=0, description="initial time constant (same units as dt; must be ≥ dt)")
    tau_spread: float = Field(0.0, ge=0, description="τ initialised as tau + U(0, tau_spread)")
    train_tau: bool = Field(True, description="train τ (else held fixed)")
    tau_param: Literal["softplus", "direct"] = Field(
        "softplus", description="τ = dt + softplus(τ̃), or 'direct': τ stored as is, used as max(τ, dt) (timescales paper)"
    )
    noise: float = Field(0.0, ge=0, description="std σ of private recurrent noise")
    initial_state: Literal["zeros", "uniform"] = Field(
        "zeros", description="h0 = 0, or 'uniform': h0_scale·U(0,1) per unit, drawn once at init (timescales paper)"
    )
    h0_scale: float = Field(0.1, ge=0, description="scale of the 'uniform' initial state")
    bias: bool = Field(True, description="recurrent bias b and readout bias (False: neither, as in Liu et al. 2024)")

    @field_validator("tau")
    @classmethod
    def _tau_above_dt(cls, tau: float, info: ValidationInfo) -> float:
        dt = info.data.get("dt", 1.0)
        if tau < dt:
            raise ValueError(f"must be >= dt = {dt}")
        return tau


class LeakyRNNConfig(_LeakyConfig):
    name: ClassVar[str] = "leaky_rnn"
    description: ClassVar[str] = "leaky rate RNN with trainable per-neuron time constants τ ≥ dt"
    remat_single: ClassVar[bool] = True  # see rnnlab.models._base (rematerialisation)
    paper: ClassVar[str] = "Song, Yang & Wang 2016; Khajehabdollahi, Zeraati et al. 2024; Liu et al. 2024"

    self_connections: bool = Field(True, description="keep the diagonal of W")
    gain: float = Field(1.0, ge=0, description="W initialised N(0, gain²/N)")
    init: Literal["gaussian", "orthogonal", "identity", "rank", "aligned_rank"] = Field(
        "gaussian", description="W initialisation ('aligned_rank': low rank along the input and readout weights)"
    )
    init_rank: int | None = Field(None, gt=0, description="rank r of the 'rank' and 'aligned_rank' inits (≤ hidden_size)")
    init_noise: float = Field(0.01, ge=0, description="noise std (×1/√N) of the 'identity' init")
    dale: bool = Field(False, description="Dale's law: fixed E/I sign per presynaptic unit")
    excitatory_fraction: float = Field(0.8, gt=0, le=1, description="fraction of excitatory units (Dale)")
    dale_readout: bool = Field(False, description="read out from E units with non-negative weights (needs dale)")
    density: float = Field(1.0, gt=0, le=1, description="fraction of recurrent connections kept (random fixed mask)")
    mask: tuple[tuple[bool, ...], ...] | None = Field(None, description="fixed N×N 0/1 connectivity mask")

    @model_validator(mode="after")
    def _check(self):
        n = self.hidden_size
        if self.init in ("rank", "aligned_rank") and self.init_rank is None:
            raise ValueError(f"init_rank: required with init='{self.init}'")
        if self.init_rank is not None and self.init_rank > n:
            raise ValueError(f"init_rank: must be <= hidden_size = {n} (got {self.init_rank})")
        if self.dale and self.n_excitatory < 1:
            raise ValueError(f"excitatory_fraction: leaves no excitatory unit at hidden_size = {n}")
        if self.dale_readout and not self.dale:
            raise ValueError("dale_readout: needs dale=True")
        if self.mask is not None and (len(self.mask) != n or any(len(r) != n for r in self.mask)):
            raise ValueError(f"mask: must be {n}×{n} (hidden_size)")
        return self

    @property
    def n_excitatory(self) -> int:
        return int(round(self.excitatory_fraction * self.hidden_size))

    def build(self, input_size, output_size, key):
        return LeakyRNN(self, input_size, output_size, key)


class _LeakyDynamics(RecurrentModel):
    """The leaky update shared by rate networks; subclasses define ``U``, ``b``, ``tau_raw``
    and ``recurrent_weights()``."""

    @property
    def stochastic(self) -> bool:
        return self.cfg.noise > 0

    def taus(self):
        """``dt + softplus(τ̃)``, or with ``tau_param="direct"`` ``max(τ, dt)`` (gradient 0 below dt)."""
        cfg = self.cfg
        raw = self.tau_raw if cfg.train_tau else jax.lax.stop_gradient(self.tau_raw)
        if cfg.tau_param == "direct":
            return jnp.where(raw >= cfg.dt, raw, cfg.dt)
        return cfg.dt + jax.nn.softplus(raw)

    def tau_raw_for(self, tau):
        """The stored parameter ``tau_raw`` that gives time constants ``tau`` (all ``> dt``)."""
        return _tau_raw_of(self.cfg, tau)

    def initial_state(self):
        return jnp.zeros(self.cfg.hidden_size) if self.h0 is None else jax.lax.stop_gradient(self.h0)

    def input_drive(self, x):
        return self.U @ x + self.b if self.cfg.bias else self.U @ x

    def _recurrent(self, h):
        return self.recurrent_weights() @ h

    def _recurrent_diagonal(self):
        """``diag W`` of the effective recurrent matrix."""
        return jnp.diagonal(self.recurrent_weights())

    def update_diagonal(self, h, drive):
        """Standard: ``∂h'_i/∂h_i = (1 − α_i) + α_i φ'(a_i) W_ii``, a = W h + drive; wrapped:
        ``φ'(z_i) ((1 − α_i) + α_i W_ii)``, z = (1 − α) h + α a."""
        cfg = self.cfg
        if cfg.noise > 0:
            return None
        phi = _ACTIVATIONS[cfg.activation]
        alpha = cfg.dt / self.taus()
        a = self._recurrent(h) + drive
        w = self._recurrent_diagonal()
        if cfg.variant == "standard":
            y, dy = jax.jvp(phi, (a,), (jnp.ones_like(a),))
            return (1 - alpha) * h + alpha * y, (1 - alpha) + alpha * dy * w
        y, dy = jax.jvp(phi, ((1 - alpha) * h + alpha * a,), (jnp.ones_like(a),))
        return y, dy * ((1 - alpha) + alpha * w)

    def update(self, h, drive, key):
        cfg = self.cfg
        phi = _ACTIVATIONS[cfg.activation]
        alpha = cfg.dt / self.taus()
        rec = self._recurrent(h) + drive
        noise = 0.0
        if cfg.noise > 0:
            noise = jnp.sqrt(2 * alpha) * cfg.noise * jax.random.normal(key, h.shape)
        if cfg.variant == "standard":
            h = (1 - alpha) * h + alpha * phi(rec) + noise
        else:
            h = phi((1 - alpha) * h + alpha * rec + noise)
        return h, h


def _tau_raw(cfg: _LeakyConfig, key, n: int):
    return _tau_raw_of(cfg, cfg.tau + cfg.tau_spread * jax.random.uniform(key, (n,)))


def _tau_raw_of(cfg: _LeakyConfig, tau):
    if cfg.tau_param == "direct":
        return jnp.asarray(tau, jnp.float32)
    # τ = dt + softplus(τ̃); τ = dt exactly would need τ̃ = −∞, so start 1e-3·dt above it.
    return _inverse_softplus(jnp.maximum(tau - cfg.dt, 1e-3 * cfg.dt))


def _h0(cfg: _LeakyConfig, key, n: int):
    """The fixed initial state ``h0_scale · U(0, 1)`` per unit, or ``None`` for zeros."""
    if cfg.initial_state == "zeros":
        return None
    return cfg.h0_scale * jax.random.uniform(jax.random.fold_in(key, 6), (n,))


def _readout(cfg: _LeakyConfig, n: int, output_size: int, key) -> eqx.nn.Linear:
    return eqx.nn.Linear(n, output_size, use_bias=cfg.bias, key=key)


class LeakyRNN(_LeakyDynamics):
    W: jax.Array
    U: jax.Array
    b: jax.Array
    tau_raw: jax.Array
    mask: jax.Array | None
    h0: jax.Array | None

    def __init__(self, cfg: LeakyRNNConfig, input_size: int, output_size: int, key):
        n = cfg.hidden_size
        kw, ku, kt, kr = jax.random.split(key, 4)
        self.cfg = cfg
        self.U = jax.random.normal(ku, (n, input_size)) / jnp.sqrt(max(input_size, 1))
        self.readout_layer = _readout(cfg, n, output_size, kr)
        if cfg.init == "aligned_rank":
            W = _init.aligned_rank(kw, n, cfg.init_rank, self.U, self.readout_layer.weight.T, cfg.gain)
        else:
            W = _init.recurrent(cfg.init, kw, n, cfg.gain, cfg.init_rank, cfg.init_noise)
        self.mask = _mask(cfg, jax.random.fold_in(key, 5))
        if cfg.density < 1:
            W = W / jnp.sqrt(cfg.density)
        if cfg.dale:
            W = _dale_balance(jnp.abs(W), n, cfg.n_excitatory)
        self.W = W
        self.b = jnp.zeros(n)
        self.tau_raw = _tau_raw(cfg, kt, n)
        self.h0 = _h0(cfg, key, n)

    def signs(self) -> jax.Array:
        """Presynaptic signs D (+1 E, −1 I); all +1 without Dale's law."""
        n, ne = self.cfg.hidden_size, self.cfg.n_excitatory
        if not self.cfg.dale:
            return jnp.ones(n)
        return jnp.where(jnp.arange(n) < ne, 1.0, -1.0)

    def recurrent_weights(self):
        """The effective recurrent matrix (Dale signs, masks and diagonal applied)."""
        W = jnp.abs(self.W) * self.signs()[None, :] if self.cfg.dale else self.W
        return W if self.mask is None else jnp.where(self.mask > 0.5, W, 0.0)

    def readout(self, activity):
        if not self.cfg.dale_readout:
            return self.readout_layer(activity)
        lin = self.readout_layer
        w = jnp.abs(lin.weight) * (self.signs() > 0)[None, :]
        return w @ activity + (0.0 if lin.bias is None else lin.bias)


def _mask(cfg: LeakyRNNConfig, key):
    n = cfg.hidden_size
    if cfg.density == 1 and cfg.mask is None and cfg.self_connections:
        return None
    m = jnp.ones((n, n), bool)
    if cfg.density < 1:
        m = jax.random.bernoulli(key, cfg.density, (n, n))
    if cfg.mask is not None:
        m = m & jnp.asarray(cfg.mask, bool)
    if not cfg.self_connections:
        m = m & ~jnp.eye(n, dtype=bool)
    return m.astype(jnp.float32)


def _dale_balance(W, n: int, ne: int):
    ni = n - ne
    if ni == 0:
        return W / jnp.sqrt(1 - 2 / jnp.pi)
    r = ne / ni
    W = W * jnp.where(jnp.arange(n) < ne, 1.0, r)[None, :]
    return W / jnp.sqrt((1 - 2 / jnp.pi) * (ne / n + ni / n * r**2))
