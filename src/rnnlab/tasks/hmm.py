"""Emissions of a categorical hidden Markov model (Torre, Viscione, Pompe, Grewe & Mante 2025, NeurIPS).

A latent state ``s_t ∈ {0 … S−1}`` follows a Markov chain with uniform start,
``P(s_t = j | s_{t−1} = i) = A_ij``, and emits one of 3 symbols, ``P(y_t = k | s_t = i) = E_ik``.
The three families of the paper (repo ``EliaTorre/hmmrnn``, ``scripts/config.py``):

- ``linear`` (``HMMTwo`` … ``HMMFive``, S ≥ 2 states in a chain): neighbour transitions
  ``q = target_prob^(1/(S−1))``, self-transition ``1 − 2q`` (``1 − q`` at the two ends);
  emissions ``E_i = [0.99(1 − α), 0.01, 0.99α]`` with ``α = i/(S−1)``.
- ``fully`` (S ≥ 2, fully connected): ``A_ii = stay_prob``, ``A_ij = (1 − stay_prob)/(S − 1)``;
  near-diagonal emissions, state ``i`` emits symbol ``i mod 3`` with probability 0.98 and each
  other symbol with 0.01.
- ``cyclic`` (``HMMCycle4``, S = 4 on a ring): ``A_ii = 0.9``, ``A_{i,i±1} = 0.05``; emissions
  ``[1, 0, 0], [0.6, 0, 0.4], [0, 0, 1], [0.4, 0, 0.6]``.

The network receives i.i.d. ``N(0, 1)`` noise (``n_noise`` channels) and outputs the symbols
(one-hot targets, 3 classes, cross-entropy on every step). Note: the input carries no
information about the sequence, so per-step cross-entropy can only teach the marginal
emission statistics; the paper matches whole-sequence distributions (Sinkhorn divergence).
``info["states"]`` holds the true latent states and ``info["symbols"]`` the emissions.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, field_validator

from ._base import Batch
from ._random import categorical, integers, normal, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, min_steps, window

_DEFAULT_STATES = {"linear": 3, "fully": 3, "cyclic": 4}
_CYCLIC_EMISSIONS = [[1.0, 0.0, 0.0], [0.6, 0.0, 0.4], [0.0, 0.0, 1.0], [0.4, 0.0, 0.6]]


class HMM(TimedTask):
    name: ClassVar[str] = "hmm"
    description: ClassVar[str] = "emit the symbol sequences of a categorical HMM from noise input"
    paper: ClassVar[str] = "Torre, Viscione, Pompe, Grewe & Mante 2025, NeurIPS"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 3
    harder_fields: ClassVar[tuple[str, ...]] = ("duration",)

    family: Literal["linear", "fully", "cyclic"] = Field("linear", description="HMM family")
    n_states: int | None = Field(None, ge=2, description="latent states S (default: 3, or 4 for cyclic)")
    dt: float = Field(1.0, gt=0, description="time step (durations in steps at dt=1)")
    duration: Duration = Field(30.0, description="sequence length")
    n_noise: int = Field(1, ge=1, description="input noise channels")
    target_prob: float = Field(0.05, gt=0, lt=1, description="linear: q = target_prob^(1/(S-1))")
    stay_prob: float = Field(0.95, gt=0, lt=1, description="fully: self-transition probability")

    _steps = min_steps("duration")

    @field_validator("n_states")
    @classmethod
    def _cyclic_has_four(cls, n_states, info):
        if info.data.get("family") == "cyclic" and n_states not in (None, 4):
            raise ValueError("the cyclic HMM has 4 states")
        return n_states

    @field_validator("target_prob")
    @classmethod
    def _chain_is_stochastic(cls, p, info):
        S = info.data.get("n_states") or 3
        if info.data.get("family") == "linear" and S > 2 and p ** (1 / (S - 1)) > 0.5:
            raise ValueError(f"too large for {S} states: the self-transition 1 - 2q is negative")
        return p

    @property
    def n_latent(self) -> int:
        """The number of latent states in use."""
        return self.n_states or _DEFAULT_STATES.get(self.family, 3)

    def transition_matrix(self) -> np.ndarray:
        """``A[i, j] = P(s_t = j | s_{t-1} = i)``, shape ``[S, S]``."""
        S = self.n_latent
        A = np.zeros((S, S))
        if self.family == "linear":
            q = self.target_prob ** (1 / (S - 1))
            for i in range(S):
                for j in (i - 1, i + 1):
                    if 0 <= j < S:
                        A[i, j] = q
                A[i, i] = 1 - A[i].sum()
        elif self.family == "fully":
            A[:] = (1 - self.stay_prob) / (S - 1)
            np.fill_diagonal(A, self.stay_prob)
        else:
            for i in range(S):
                A[i, i], A[i, (i + 1) % S], A[i, (i - 1) % S] = 0.9, 0.05, 0.05
        return A

    def emission_matrix(self) -> np.ndarray:
        """``E[i, k] = P(y_t = k | s_t = i)``, shape ``[S, 3]``."""
        S = self.n_latent
        if self.family == "linear":
            a = np.arange(S)[:, None] / (S - 1)
            return np.concatenate([0.99 * (1 - a), np.full_like(a, 0.01), 0.99 * a], axis=1)
        if self.family == "fully":
            return np.where(np.arange(3)[None, :] == np.arange(S)[:, None] % 3, 0.98, 0.01)
        return np.asarray(_CYCLIC_EMISSIONS)

    @property
    def n_inputs(self) -> int:
        return self.n_noise

    @property
    def n_outputs(self) -> int:
        return 3

    @property
    def n_steps(self) -> int:
        return max_steps(self.duration, self.dt)

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T = batch_size, self.n_steps
        A = jnp.asarray(self.transition_matrix(), jnp.float32)
        E = jnp.asarray(self.emission_matrix(), jnp.float32)
        u_n, u_0, u_s, u_y, u_x = uniforms(key, (B,), (B,), (T - 1, B), (B, T), (B, T, self.n_noise))
        s0 = integers(u_0, 0, self.n_latent)

        def step(s, u):
            s = categorical(u, A[s])
            return s, s

        _, rest = jax.lax.scan(step, s0, u_s)
        states = jnp.concatenate([s0[:, None], jnp.swapaxes(rest, 0, 1)], axis=1)  # [B, T]
        symbols = categorical(u_y, E[states])
        n = draw_steps(u_n, self.duration, self.dt)
        live = window(jnp.zeros_like(n), n, T)[:, :, None]
        targets = live * jax.nn.one_hot(symbols, 3)
        inputs = live * normal(u_x)
        mask = jnp.broadcast_to(live, targets.shape)
        return Batch(inputs, targets, mask, {"states": states, "symbols": symbols, "end": n})
