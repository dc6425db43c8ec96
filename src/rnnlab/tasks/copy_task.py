"""Copy memory task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016).

``K = n_tokens`` symbols ``a_1 … a_K`` from a vocabulary of 8 are shown one per step, followed
by ``D`` blank steps (``delay``, fixed or drawn per trial), one marker step, and ``K`` recall
steps during which the network must output ``a_1 … a_K`` in order::

    t:        0 … K−1 | K … K+D−1 | K+D  | K+D+1 … 2K+D
    input:    a_1…a_K |  blank    | mark | blank
    target:      –    |    –      |  –   | a_1 … a_K

Inputs are one-hot on 10 channels (0–7 the symbols, 8 blank, 9 marker). Outputs: 8
classes, cross-entropy **only on the recall steps** (unlike Arjovsky et al., who also score
the blank outputs, which makes accuracy meaningless), so the metric is the recall accuracy.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field

from ._base import Batch
from ._random import integers, uniforms
from ._timing import Duration, TimedTask, draw_steps, max_steps, window

_VOCAB, _BLANK, _MARK = 8, 8, 9


class Copy(TimedTask):
    name: ClassVar[str] = "copy"
    description: ClassVar[str] = "recall K symbols in order after a long blank delay"
    paper: ClassVar[str] = "Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016, ICML"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = _VOCAB
    harder_fields: ClassVar[tuple[str, ...]] = ("delay",)

    dt: float = Field(1.0, gt=0, description="time step (durations in steps at dt=1)")
    n_tokens: int = Field(10, ge=1, description="symbols to memorise, K")
    delay: Duration = Field(50.0, description="blank steps between the symbols and the marker")

    @property
    def n_inputs(self) -> int:
        return _VOCAB + 2

    @property
    def n_outputs(self) -> int:
        return _VOCAB

    @property
    def n_steps(self) -> int:
        return 2 * self.n_tokens + max_steps(self.delay, self.dt) + 1

    def sample(self, key, batch_size, level=None) -> Batch:
        B, T, K = batch_size, self.n_steps, self.n_tokens
        u_d, u_a = uniforms(key, (B,), (B, K))
        mark = K + draw_steps(u_d, self.delay, self.dt)  # [B]
        tokens = integers(u_a, 0, _VOCAB)
        t = jnp.arange(T)[None, :]
        recall = window(mark + 1, mark + 1 + K, T)  # [B, T]
        symbol_in = jnp.pad(tokens, ((0, 0), (0, T - K)))
        codes = jnp.where(t < K, symbol_in, jnp.where(t == mark[:, None], _MARK, _BLANK))
        live = t < (mark + 1 + K)[:, None]
        inputs = live[:, :, None] * jax.nn.one_hot(codes, _VOCAB + 2)
        idx = jnp.clip(t - mark[:, None] - 1, 0, K - 1)
        targets = recall[:, :, None] * jax.nn.one_hot(jnp.take_along_axis(tokens, idx, axis=1), _VOCAB)
        mask = jnp.broadcast_to(recall[:, :, None], targets.shape)
        info = {"tokens": tokens, "marker": mark, "recall_on": mark + 1, "recall_off": mark + 1 + K}
        return Batch(inputs, targets, mask, info)
