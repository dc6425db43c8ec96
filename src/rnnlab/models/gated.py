"""Gated recurrent networks: GRU (Cho et al. 2014) and LSTM (Hochreiter & Schmidhuber 1997).

GRU (PyTorch's convention)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h

LSTM, with forget-gate bias initialised to 1::

    i, f, g, o = W_i x + b_i + W_h h + b_h        (split in four)
    c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
    h' = σ(o) ⊙ tanh(c')

The activity read out and analysed is ``h``; the LSTM state is ``(h, c)``. Weights are
initialised U(−1/√N, 1/√N) as in PyTorch. ``run`` evaluates a batch of LSTM trials with a
hand-written reverse pass (``scan_batch``, ``rnnlab.models._lstm_vjp``), with the same values;
the GRU's candidate did not speed up its training step (``benchmarks/gru_vjp.py``).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import ModelConfig, RecurrentModel
from ._lstm_vjp import lstm_batch, lstm_gates


def _uniform(key, shape, n):
    bound = 1.0 / jnp.sqrt(n)
    return jax.random.uniform(key, shape, minval=-bound, maxval=bound)


class _GatedConfig(ModelConfig):
    n_gates: ClassVar[int]


class GRUConfig(_GatedConfig):
    name: ClassVar[str] = "gru"
    description: ClassVar[str] = "gated recurrent unit"
    paper: ClassVar[str] = "Cho et al. 2014"
    n_gates: ClassVar[int] = 3
    remat_single: ClassVar[bool] = True  # see rnnlab.models._base (rematerialisation)

    def build(self, input_size, output_size, key):
        return GRU(self, input_size, output_size, key)


class LSTMConfig(_GatedConfig):
    name: ClassVar[str] = "lstm"
    description: ClassVar[str] = "long short-term memory"
    paper: ClassVar[str] = "Hochreiter & Schmidhuber 1997"
    n_gates: ClassVar[int] = 4

    def build(self, input_size, output_size, key):
        return LSTM(self, input_size, output_size, key)


class _Gated(RecurrentModel):
    W_i: jax.Array
    W_h: jax.Array
    b_i: jax.Array
    b_h: jax.Array

    def __init__(self, cfg: _GatedConfig, input_size: int, output_size: int, key):
        n, g = cfg.hidden_size, cfg.n_gates
        k1, k2, k3, k4, kr = jax.random.split(key, 5)
        self.cfg = cfg
        self.W_i = _uniform(k1, (g * n, input_size), n)
        self.W_h = _uniform(k2, (g * n, n), n)
        self.b_i = _uniform(k3, (g * n,), n)
        self.b_h = _uniform(k4, (g * n,), n)
        self.readout_layer = eqx.nn.Linear(n, output_size, key=kr)

    def input_drive(self, x):
        return self.W_i @ x + self.b_i


def gru_gates(a: Float[Array, "... 3n"], u: Float[Array, "... 3n"], h: Float[Array, "... n"]):
    """``(h', (r, z, n, u_n))`` from the input drive ``a``, the recurrent drive ``u = W_h h + b_h``
    (each split in three along the last axis) and the state ``h``: the GRU's equations, shared
    by ``GRU.update`` and ``GRU.update_diagonal``."""
    a_r, a_z, a_n = jnp.split(a, 3, axis=-1)
    u_r, u_z, u_n = jnp.split(u, 3, axis=-1)
    r = jax.nn.sigmoid(a_r + u_r)
    z = jax.nn.sigmoid(a_z + u_z)
    n = jnp.tanh(a_n + r * u_n)
    return (1 - z) * n + z * h, (r, z, n, u_n)


class GRU(_Gated):
    def initial_state(self):
        return jnp.zeros(self.cfg.hidden_size)

    def update(self, h, drive, key):
        h, _ = gru_gates(drive, self.W_h @ h + self.b_h, h)
        return h, h

    def update_diagonal(self, h, drive):
        """``∂h'_i/∂h_i = z_i + (h_i − n_i) z_i(1 − z_i) W_hz,ii
        + (1 − z_i)(1 − n_i²) (r_i W_hn,ii + ĥn_i r_i(1 − r_i) W_hr,ii)``, ĥn = W_hn h + b_hn."""
        h_new, (r, z, n, hn) = gru_gates(drive, self.W_h @ h + self.b_h, h)
        wr, wz, wn = _block_diagonals(self.W_h, 3)
        dn = (1 - n**2) * (r * wn + hn * r * (1 - r) * wr)
        return h_new, z + (h - n) * z * (1 - z) * wz + (1 - z) * dn


class LSTM(_Gated):
    def __init__(self, cfg, input_size, output_size, key):
        super().__init__(cfg, input_size, output_size, key)
        n = cfg.hidden_size
        self.b_h = self.b_h.at[n : 2 * n].set(1.0)  # forget-gate bias
        self.b_i = self.b_i.at[n : 2 * n].set(0.0)

    def initial_state(self):
        n = self.cfg.hidden_size
        return (jnp.zeros(n), jnp.zeros(n))

    def update(self, state, drive, key):
        h, c = state
        h, c, _ = lstm_gates(drive + self.W_h @ h + self.b_h, c)
        return (h, c), h

    def scan_batch(self, inputs, remat=False):
        """The per-trial scan's values with a hand-written reverse pass over the whole batch
        (``rnnlab.models._lstm_vjp``); with ``remat``, ``None`` (the rematerialised per-trial scan)."""
        if remat:
            return None
        h0, c0 = (jnp.broadcast_to(s, (inputs.shape[1], *s.shape)) for s in self.initial_state())
        H = lstm_batch(self.W_h, self.W_i, self.b_i + self.b_h, inputs, h0, c0)
        return H, jax.vmap(jax.vmap(self.readout))(H)

    def update_diagonal(self, state, drive):
        """Diagonal of ∂(h', c')/∂(h, c): ``∂c'_i/∂c_i = σ(f_i)`` and
        ``∂h'_i/∂h_i = σ'(o_i) W_o,ii tanh(c'_i) + σ(o_i)(1 − tanh²c'_i) ∂c'_i/∂h_i`` with
        ``∂c'_i/∂h_i = c_i σ'(f_i) W_f,ii + tanh(g_i) σ'(i_i) W_i,ii + σ(i_i)(1 − tanh²g_i) W_g,ii``."""
        h, c = state
        h_new, c_new, (si, sf, tg, so, tc) = lstm_gates(drive + self.W_h @ h + self.b_h, c)
        wi, wf, wg, wo = _block_diagonals(self.W_h, 4)
        dc_dh = c * sf * (1 - sf) * wf + tg * si * (1 - si) * wi + si * (1 - tg**2) * wg
        dh_dh = so * (1 - so) * wo * tc + so * (1 - tc**2) * dc_dh
        return (h_new, c_new), (dh_dh, sf)


def _block_diagonals(W_h, k: int):
    """The diagonals of the k stacked ``n×n`` blocks of ``W_h`` (``[k n, n]``)."""
    n = W_h.shape[1]
    return jnp.split(jnp.diagonal(W_h.reshape(k, n, n), axis1=1, axis2=2).reshape(-1), k)
