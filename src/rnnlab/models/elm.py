"""Expressive Leaky Memory (ELM) neuron (Spieler, Rahaman, Martius, Schölkopf & Levina 2024,
"The Expressive Leaky Memory Neuron: an Efficient and Expressive Phenomenological Neuron
Model Can Solve Long-Horizon Tasks", ICLR 2024), model v1 of the reference code
(``AaronSpieler/elmneuron``, ``expressive_leaky_memory_neuron.py``).

One neuron with ``S`` synapses, ``B`` dendritic branches and ``d_m`` memory units::

    s_t  = κ_s ⊙ s_{t−1} + ReLU(w_s) ⊙ x_t[route]                 synaptic traces  [S]
    b_t  = Σ_{synapses of branch k} s_t                           branch input     [B]
    Δm_t = 1.7159 · tanh(⅔ · MLP([b_t, κ_m ⊙ m_{t−1}]))            memory update    [d_m]
    m_t  = κ_m ⊙ m_{t−1} + λ (1 − κ_m) ⊙ Δm_t                      memory           [d_m]
    y_t  = W_y m_t + b_y                                          readout

    κ_s = exp(−dt/τ_s)  (τ_s fixed),    κ_m = exp(−dt/τ_m),
    τ_m = τ_min + (τ_max − τ_min) · sigmoid(p)

``MLP``: ``mlp_layers`` hidden layers of width ``mlp_hidden`` (default 2·d_m) with SiLU (the
paper's NeuronIO setting; the reference code's default is ReLU), then a linear layer to
``d_m``; weights and biases U(±1/√fan_in) as PyTorch's ``nn.Linear``. ``w_s`` starts at
``w_s_init`` (0.5) on every synapse. ``p`` (field ``tau_m_raw``) is initialised so that τ_m is log-spaced over
[τ_min, τ_max] (``p = log((τ − τ_min)/(τ_max − τ))``, with τ moved 1e-9·(τ_max − τ_min) inside
the interval to keep ``p`` finite); with ``learn_memory_tau=False`` (the default) ``p``
enters the forward pass through ``stop_gradient``, so its gradient is exactly zero.

Routing of the ``I`` inputs to synapses and branches (``n_branches = B``; default ``None``
means ``B = I``, the reference code's default of one synapse per branch):

* ``B ≤ I``: one synapse per input; input ``i`` sits on branch ``⌊i·B/I⌋``, so the branches
  receive contiguous blocks of inputs whose sizes differ by at most one (``S = I``).
* ``B > I``: every input has its own synapse on every branch (``S = B·I``; synapse
  ``k·I + i`` carries ``x_i`` to branch ``k``), each with its own weight and trace.

A layer of ``n_neurons`` ELM neurons (``hidden_size = n_neurons · d_m``): every neuron sees
all inputs through its own synapses, weights, MLP and τ_m (stacked along a leading neuron
axis, the single-neuron update ``vmap``-ed over it). The state is ``(traces [n_neurons, S],
memory [n_neurons, d_m])``; the activity is the memory, concatenated over neurons
(``[hidden_size]``), and ``taus()`` gives τ_m in the same order. The input drive
``ReLU(w_s) ⊙ x[route]`` is computed outside the time loop.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, model_validator

from ._base import ModelConfig, RecurrentModel


class ELMConfig(ModelConfig):
    name: ClassVar[str] = "elm"
    description: ClassVar[str] = "Expressive Leaky Memory neuron(s): synaptic traces, branches, MLP-gated leaky memory"
    paper: ClassVar[str] = "Spieler et al. 2024, The Expressive Leaky Memory Neuron (ICLR)"

    n_neurons: int = Field(1, gt=0, description="ELM neurons in the layer; hidden_size = n_neurons × memory units")
    n_branches: int | None = Field(None, gt=0, description="dendritic branches per neuron (default: one per input)")
    mlp_hidden: int | None = Field(None, gt=0, description="MLP hidden width (default 2 × memory units per neuron)")
    mlp_layers: int = Field(1, ge=1, description="hidden layers of the MLP (SiLU)")
    tau_s: float = Field(5.0, gt=0, description="fixed synaptic-trace time constant τ_s")
    memory_tau_min: float = Field(1.0, gt=0, description="lower bound τ_min of the memory time constants")
    memory_tau_max: float = Field(1000.0, gt=0, description="upper bound τ_max of the memory time constants")
    learn_memory_tau: bool = Field(False, description="train the memory time constants τ_m (else held fixed)")
    lambda_value: float = Field(5.0, gt=0, description="memory update scale λ")
    w_s_init: float = Field(0.5, description="initial synaptic weight w_s (used through ReLU)")
    dt: float = Field(1.0, gt=0, description="time step Δt")

    @model_validator(mode="after")
    def _check(self):
        if self.hidden_size % self.n_neurons:
            raise ValueError(f"n_neurons: must divide hidden_size = {self.hidden_size} (got {self.n_neurons})")
        if not self.memory_tau_max > self.memory_tau_min:
            raise ValueError(f"memory_tau_max: must be > memory_tau_min = {self.memory_tau_min}")
        return self

    @property
    def n_memory(self) -> int:
        """Memory units d_m per neuron."""
        return self.hidden_size // self.n_neurons

    def build(self, input_size, output_size, key):
        return ELM(self, input_size, output_size, key)


def _routing(n_inputs: int, n_branches: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(input index, branch index)`` of every synapse (see the module docstring)."""
    if n_branches <= n_inputs:
        inputs = np.arange(n_inputs)
        branches = inputs * n_branches // n_inputs
    else:
        inputs = np.tile(np.arange(n_inputs), n_branches)
        branches = np.repeat(np.arange(n_branches), n_inputs)
    return tuple(int(i) for i in inputs), tuple(int(b) for b in branches)


def _linear_init(key, n: int, fan_out: int, fan_in: int):
    """Stacked (over ``n`` neurons) weights and biases, U(±1/√fan_in) like ``torch.nn.Linear``."""
    kw, kb = jax.random.split(key)
    bound = 1.0 / math.sqrt(fan_in)
    W = jax.random.uniform(kw, (n, fan_out, fan_in), minval=-bound, maxval=bound)
    b = jax.random.uniform(kb, (n, fan_out), minval=-bound, maxval=bound)
    return W, b


def _custom_tanh(v):
    return 1.7159 * jnp.tanh(v * 2.0 / 3.0)


class ELM(RecurrentModel):
    w_s: jax.Array  # [n_neurons, S]
    mlp_W: tuple[jax.Array, ...]  # [n_neurons, out, in] per layer
    mlp_b: tuple[jax.Array, ...]  # [n_neurons, out]
    tau_m_raw: jax.Array  # p, [n_neurons, d_m]
    syn_input: tuple[int, ...] = eqx.field(static=True)
    syn_branch: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, cfg: ELMConfig, input_size: int, output_size: int, key):
        n, dm = cfg.n_neurons, cfg.n_memory
        n_branches = cfg.n_branches or input_size
        hidden = cfg.mlp_hidden or 2 * dm
        self.cfg = cfg
        self.syn_input, self.syn_branch = _routing(input_size, n_branches)
        self.w_s = jnp.full((n, len(self.syn_input)), cfg.w_s_init)
        keys = jax.random.split(key, cfg.mlp_layers + 2)
        sizes = [n_branches + dm] + [hidden] * cfg.mlp_layers + [dm]
        layers = [_linear_init(k, n, fo, fi) for k, fi, fo in zip(keys, sizes[:-1], sizes[1:])]
        self.mlp_W = tuple(W for W, _ in layers)
        self.mlp_b = tuple(b for _, b in layers)
        lo, hi = cfg.memory_tau_min, cfg.memory_tau_max
        frac = (np.logspace(np.log10(lo), np.log10(hi), dm) - lo) / (hi - lo)
        frac = np.clip(frac, 1e-9, 1 - 1e-9)  # keep p finite at the ends
        p = np.log(frac / (1 - frac))
        self.tau_m_raw = jnp.tile(jnp.asarray(p, jnp.float32), (n, 1))
        self.readout_layer = eqx.nn.Linear(cfg.hidden_size, output_size, key=keys[-1])

    @property
    def n_branches(self) -> int:
        return max(self.syn_branch) + 1

    def _tau_m(self):
        cfg = self.cfg
        p = self.tau_m_raw if cfg.learn_memory_tau else jax.lax.stop_gradient(self.tau_m_raw)
        return cfg.memory_tau_min + (cfg.memory_tau_max - cfg.memory_tau_min) * jax.nn.sigmoid(p)

    def taus(self):
        return self._tau_m().reshape(-1)

    def initial_state(self):
        n = self.cfg.n_neurons
        return jnp.zeros((n, len(self.syn_input))), jnp.zeros((n, self.cfg.n_memory))

    def input_drive(self, x):
        return jax.nn.relu(self.w_s) * x[jnp.asarray(self.syn_input)]

    def _neuron(self, W, b, kappa_m, s, m, drive):
        """One neuron's step; ``W, b`` are its MLP layers."""
        kappa_s = math.exp(-self.cfg.dt / self.cfg.tau_s)
        s = kappa_s * s + drive
        branch = jax.ops.segment_sum(s, jnp.asarray(self.syn_branch), num_segments=self.n_branches)
        a = jnp.concatenate([branch, kappa_m * m])
        for Wl, bl in zip(W[:-1], b[:-1]):
            a = jax.nn.silu(Wl @ a + bl)
        delta = _custom_tanh(W[-1] @ a + b[-1])
        m = kappa_m * m + self.cfg.lambda_value * (1 - kappa_m) * delta
        return s, m

    def update(self, state, drive, key):
        s, m = state
        kappa_m = jnp.exp(-self.cfg.dt / self._tau_m())
        s, m = jax.vmap(self._neuron)(self.mlp_W, self.mlp_b, kappa_m, s, m, drive)
        return (s, m), m.reshape(-1)
