"""Selective copy (Gu & Dao 2023, Mamba; as implemented by Feng et al. 2024, "Were RNNs All We Needed?").

Follows ``BorealisAI/minRNNs`` ``data/selective_copy.py``: a vocabulary of 16 tokens with
``PRED = 0`` and ``EMPTY = 15``. ``K = n_tokens`` tokens drawn uniformly from ``1 … 14`` are
scattered at ``K`` distinct positions, chosen uniformly and kept in order, of a length-``L``
sequence of ``EMPTY`` tokens (``L = length``, fixed or drawn per trial); ``K`` ``PRED`` markers
follow. At the ``K`` marker steps the output must be the tokens in their order of appearance::

    input:   EMPTY … a_1 … EMPTY … a_K … EMPTY | PRED … PRED
    target:                –                   | a_1  … a_K

Inputs: one-hot over the 16 tokens. Outputs: 16 classes, cross-entropy only at the
marker steps (the targets of the reference). Padding after ``L + K`` is zero and unscored.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field, field_validator

from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, step_range, window

_VOCAB, _PRED, _EMPTY = 16, 0, 15


class SelectiveCopy(TimedTask):
    name: ClassVar[str] = "selective_copy"
    description: ClassVar[str] = "recall, in order, K tokens scattered among blanks in a long sequence"
    paper: ClassVar[str] = "Feng et al. 2024, Were RNNs All We Needed? (after Gu & Dao 2023)"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = _VOCAB
    harder_fields: ClassVar[tuple[str, ...]] = ("length",)

    dt: float = Field(1.0, gt=0, description="time step (lengths in steps at dt=1)")
    n_tokens: int = Field(16, ge=1, description="tokens to copy, K")
    length: Duration = Field(256.0, description="length L of the sequence holding the tokens")

    @field_validator("length")
    @classmethod
    def _holds_tokens(cls, length, info):
        dt, k = info.data.get("dt"), info.data.get("n_tokens")
        if dt is not None and k is not None and step_range(length, dt)[0] < k:
            raise ValueError(f"must hold n_tokens = {k} steps at dt={dt}")
        return length

    @property
    def n_inputs(self) -> int:
        return _VOCAB

    @property
    def n_outputs(self) -> int:
        return _VOCAB

    @property
    def n_steps(self) -> int:
        return max_steps(self.length, self.dt) + self.n_tokens

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, K = batch_size, self.n_steps, self.n_tokens
        u_n, u_a, u_p = uniforms(key, (B,), (B, K), (B, T))
        n = draw_steps(u_n, self.length, self.dt)
        tokens = integers(u_a, 1, _VOCAB - 1)
        t = jnp.arange(T)[None, :]
        score = jnp.where(t < n[:, None], u_p, jnp.inf)  # K smallest scores: K uniform distinct positions
        positions = jnp.sort(jnp.argsort(score, axis=1)[:, :K], axis=1)  # [B, K]
        rows = jnp.arange(B)[:, None]
        codes = jnp.where(t < n[:, None], _EMPTY, _PRED).at[rows, positions].set(tokens)
        live = window(jnp.zeros_like(n), n + K, T)[:, :, None]
        pred = window(n, n + K, T)
        idx = jnp.clip(t - n[:, None], 0, K - 1)
        targets = pred[:, :, None] * jax.nn.one_hot(jnp.take_along_axis(tokens, idx, axis=1), _VOCAB)
        mask = jnp.broadcast_to(pred[:, :, None], targets.shape)
        info = {"tokens": tokens, "positions": positions, "pred_on": n, "pred_off": n + K}
        return Batch(live * jax.nn.one_hot(codes, _VOCAB), targets, mask, info)
