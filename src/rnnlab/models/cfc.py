"""Closed-form continuous-time (CfC) cell (Hasani, Lechner, Amini, Liebenwein, Ray,
Tschaikowski, Teschl & Rus 2022, "Closed-form continuous-time neural networks", Nature
Machine Intelligence 4, 992–1003), following the reference implementation ``ncps``
(``CfCCell``).

Backbone on the input and the previous state (``backbone_layers = L`` layers of width
``backbone_units``; ``L = 0`` means no backbone, ``z = [x_t, h_{t−1}]``)::

    z = φ(W_L … φ(W_1 [x_t, h_{t−1}] + b_1) … + b_L),     φ = lecun_tanh(v) = 1.7159 tanh(0.666 v)

Heads and the closed-form update, with ``t = dt`` the time elapsed per step::

    f = W_f z + b_f,    g = tanh(W_g z + b_g),    h̃ = tanh(W_h z + b_h)
    σ_t = sigmoid(−f · t)
    'default':  h_t = σ_t ⊙ g + (1 − σ_t) ⊙ h̃            (the paper's gated CfC, eq. 10)
    'no_gate':  h_t = h̃ + σ_t ⊙ g                         (ncps' "no_gate" mode)
    'pure':     h_t = −A ⊙ exp(−t (|w_τ| + |f|)) ⊙ f + A    (the minimal CfC: the paper's approximate
                closed-form solution of the LTC ODE, eq. 3, with x(0) = 0; ncps' "pure" mode)

``ncps`` writes the gate as ``sigmoid(t_a · t + t_b)`` with a second linear head ``t_b``; at a
fixed step ``t = dt`` that is the paper's ``sigmoid(−f t)`` with ``f = −(t_a + t_b/t)``, an affine
head of the same form, so only ``f`` is kept here. Weights are initialised Xavier-uniform and
biases U(±1/√fan_in), as in ``ncps``; ``A = 1`` and ``w_τ = 0`` in the pure mode. The state and
the activity are ``h``; the readout is ``W_out h + b_out``.

The update is nonlinear in ``h``, so there is no associative-scan closed form: the parallel
mode is the generic Newton/DEER solver of ``rnnlab.parallel`` (``train(..., solver="parallel")``).
The first layer's input half, ``W_1[:, :I] x + b_1``, is computed outside the time loop.

``mixed_memory=True`` (the ncps option of the same name): an LSTM cell runs before the CfC
cell in every step and the state is ``(h, c)`` (see ``_mixed_memory``); the LSTM's additive cell
state gives the long memory that the CfC cell alone lacks.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from pydantic import Field

from . import _mixed_memory as _mm
from ._base import ModelConfig, RecurrentModel
from .gated import LSTM


def _lecun_tanh(v):
    return 1.7159 * jnp.tanh(0.666 * v)


ACTIVATIONS = {
    "lecun_tanh": _lecun_tanh,
    "tanh": jnp.tanh,
    "silu": jax.nn.silu,
    "relu": jax.nn.relu,
    "gelu": lambda v: jax.nn.gelu(v, approximate=False),
}


class CfCConfig(ModelConfig):
    name: ClassVar[str] = "cfc"
    description: ClassVar[str] = "closed-form continuous-time cell: time-gated interpolation of two heads"
    paper: ClassVar[str] = "Hasani et al. 2022, Closed-form continuous-time neural networks (Nat. Mach. Intell.)"

    variant: Literal["default", "no_gate", "pure"] = Field(
        "default", description="'default': gated CfC; 'no_gate': h̃ + σ g; 'pure': closed-form LTC solution"
    )
    backbone_units: int = Field(128, gt=0, description="width of the backbone layers")
    backbone_layers: int = Field(1, ge=0, description="backbone layers (0: the heads act on [x, h] directly)")
    backbone_activation: Literal["lecun_tanh", "tanh", "silu", "relu", "gelu"] = Field(
        "lecun_tanh", description="backbone nonlinearity φ"
    )
    dt: float = Field(1.0, gt=0, description="time t elapsed per step, in the gate sigmoid(−f t)")
    mixed_memory: bool = Field(False, description="an LSTM cell runs before the CfC cell in every step (long memory)")

    @property
    def n_heads(self) -> int:
        return 1 if self.variant == "pure" else 3

    def build(self, input_size, output_size, key):
        return CfC(self, input_size, output_size, key)


def _xavier(key, fan_out: int, fan_in: int):
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, (fan_out, fan_in), minval=-bound, maxval=bound)


def _bias(key, fan_out: int, fan_in: int):
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, (fan_out,), minval=-bound, maxval=bound)


class CfC(RecurrentModel):
    W: tuple[jax.Array, ...]  # backbone layers, then the heads [f; g; h̃] (or [f]) stacked
    b: tuple[jax.Array, ...]
    A: jax.Array | None  # pure mode only
    w_tau: jax.Array | None
    memory: LSTM | None  # mixed memory only

    def __init__(self, cfg: CfCConfig, input_size: int, output_size: int, key):
        n, L, U = cfg.hidden_size, cfg.backbone_layers, cfg.backbone_units
        self.cfg = cfg
        sizes = [input_size + n] + [U] * L
        head_in = sizes[-1]
        # each head is its own Linear(head_in, n) in ncps: Xavier bounds per head
        shapes = [(fo, fi) for fi, fo in zip(sizes[:-1], sizes[1:])] + [(n, head_in)] * cfg.n_heads
        keys = jax.random.split(key, 2 * len(shapes) + 2)
        self.memory = _mm.build_memory(cfg.mixed_memory, n, input_size, keys[-2])
        Ws = [_xavier(keys[2 * i], fo, fi) for i, (fo, fi) in enumerate(shapes)]
        bs = [_bias(keys[2 * i + 1], fo, fi) for i, (fo, fi) in enumerate(shapes)]
        self.W = tuple(Ws[:L]) + (jnp.concatenate(Ws[L:]),)
        self.b = tuple(bs[:L]) + (jnp.concatenate(bs[L:]),)
        pure = cfg.variant == "pure"
        self.A = jnp.ones(n) if pure else None
        self.w_tau = jnp.zeros(n) if pure else None
        self.readout_layer = eqx.nn.Linear(n, output_size, key=keys[-1])

    def initial_state(self):
        return _mm.initial_state(self.memory, self.cfg.hidden_size)

    def input_drive(self, x):
        return _mm.input_drive(self.memory, x, self.W[0][:, : x.shape[0]] @ x + self.b[0])

    def update(self, state, drive, key):
        return _mm.update(self.memory, state, drive, self._cell_update)

    def _cell_update(self, h, drive):
        cfg = self.cfg
        n, t = cfg.hidden_size, cfg.dt
        phi = ACTIVATIONS[cfg.backbone_activation]
        a = drive + self.W[0][:, self.W[0].shape[1] - n :] @ h
        for W, b in zip(self.W[1:], self.b[1:]):
            a = W @ phi(a) + b
        if cfg.variant == "pure":
            f = a
            h = -self.A * jnp.exp(-t * (jnp.abs(self.w_tau) + jnp.abs(f))) * f + self.A
            return h, h
        f, g, hh = jnp.split(a, 3)
        g, hh = jnp.tanh(g), jnp.tanh(hh)
        sig = jax.nn.sigmoid(-f * t)
        h = hh + sig * g if cfg.variant == "no_gate" else sig * g + (1 - sig) * hh
        return h, h
