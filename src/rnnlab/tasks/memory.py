"""Binary memory tasks of Khajehabdollahi, Zeraati et al. (ICLR 2024): N-parity and N-DMS.

A trial is a binary sequence ``x_1 … x_L`` fed one bit per step on one input channel. The
length ``L`` is drawn once per batch from ``[N+2, 4N+2)``. Only the last step is scored, with
a two-class cross-entropy.

- **N-parity**: bits are Bernoulli(p) with ``p ~ U(0, 1)`` drawn per sequence (deliberately
  unbalanced); label ``= (x_{L−N+1} + … + x_L) mod 2``, the parity of the last N bits.
- **N-DMS** (delayed match-to-sample): bits Bernoulli(0.5); label ``= [x_{L−N+1} == x_L]``,
  i.e. ``x[−N] == x[−1]`` in Python's indexing (trivially 1 for N = 1, as in the paper).

Readout heads: ``heads="single"`` scores one N; ``heads="multi"`` scores every N in 1..n
at once, one two-class head per N (the paper's "multi-head" networks). With ``n_heads`` set,
the outputs are laid out as ``n_heads`` heads, head ``k`` (0-based) answering for N = k + 1;
a curriculum allocates the heads it will need up front so that shapes never change.

Arrays are ``T = 4n + 1`` steps long (the longest possible L); a trial of length L < T is
followed by zeros that are never scored, so the output at step L is exactly that of a
length-L sequence. ``sample(key, B, level)`` takes a traced ``level ≤ n`` that plays the
role of N (shapes stay those of ``n``). ``max_length`` (set by ``harder``) draws lengths from
``[N+2, max_length]`` instead, for tests on longer sequences than those trained on: members of an ensemble can sit at different stages
of a curriculum in one program.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax
import jax.numpy as jnp
from pydantic import Field, ValidationInfo, field_validator

from ._base import Batch, Task
from ._prefix import cumsum
from ._random import integers, uniforms


class _BinaryMemoryTask(Task):
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    n_classes: ClassVar[int] = 2
    has_levels: ClassVar[bool] = True
    balanced: ClassVar[bool]

    n: int = Field(2, ge=1, description="memory depth N (largest N for heads='multi')")
    heads: Literal["single", "multi"] = Field("single", description="one head for N, or heads for 1..N")
    n_heads: int | None = Field(None, ge=1, description="readout heads allocated (head k answers N=k+1)")
    max_length: int | None = Field(
        None, ge=3, description="longest sequence (default 4n+1); lengths ~ U[N+2, max_length] when set"
    )

    @field_validator("n_heads")
    @classmethod
    def _enough_heads(cls, n_heads: int | None, info: ValidationInfo) -> int | None:
        n = info.data.get("n", 1)
        if n_heads is not None and n_heads < n:
            raise ValueError(f"must be >= n = {n}")
        return n_heads

    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_head_slots(self) -> int:
        if self.n_heads is not None:
            return self.n_heads
        return 1 if self.heads == "single" else self.n

    @property
    def n_outputs(self) -> int:
        return 2 * self.n_head_slots

    @property
    def n_steps(self) -> int:
        return self.max_length if self.max_length is not None else 4 * self.n + 1

    def harder(self, factor: float = 2.0) -> "_BinaryMemoryTask":
        """The same N with sequences up to ``factor`` times longer (out-of-distribution lengths)."""
        if not factor > 0:
            raise ValueError(f"factor: must be > 0 (got {factor})")
        return self.model_copy(update={"max_length": max(int(round(self.n_steps * factor)), self.n + 2)})

    def head_ns(self, level) -> jnp.ndarray:
        """The N each head answers for, at curriculum ``level``."""
        if self.n_heads is None and self.heads == "single":
            return jnp.reshape(jnp.asarray(level), (1,))
        return jnp.arange(1, self.n_head_slots + 1)

    def active_heads(self, level) -> jnp.ndarray:
        ns = self.head_ns(level)
        return ns <= level if self.heads == "multi" else ns == level

    def _labels(self, bits, length, ns):
        raise NotImplementedError  # pragma: no cover - abstract

    def sample(self, key, batch_size, level=None) -> Batch:
        level = jnp.asarray(self.n if level is None else level, jnp.int32)
        T = self.n_steps
        u_len, u_p, u_bits = uniforms(key, (), (batch_size, 1), (batch_size, T))
        high = 4 * level + 2 if self.max_length is None else self.max_length + 1
        length = integers(u_len, level + 2, high)
        p = jnp.full((batch_size, 1), 0.5) if self.balanced else u_p
        t = jnp.arange(T)
        bits = (u_bits < p) & (t[None, :] < length)
        bits = bits.astype(jnp.int32)
        ns = self.head_ns(level)
        labels = self._labels(bits, length, ns)  # [B, H]
        active = self.active_heads(level)
        last = (t == length - 1).astype(jnp.float32)  # [T]
        onehot = jax.nn.one_hot(labels, 2)  # [B, H, 2]
        H = ns.shape[0]
        targets = last[None, :, None, None] * onehot[:, None, :, :]
        mask = last[:, None, None] * active[None, :, None].astype(jnp.float32)
        mask = jnp.broadcast_to(mask[None], (batch_size, T, H, 2))
        return Batch(
            inputs=bits[..., None].astype(jnp.float32),
            targets=targets.reshape(batch_size, T, 2 * H),
            mask=mask.reshape(batch_size, T, 2 * H),
            info={
                "bits": bits,
                "length": jnp.full((batch_size,), length),
                "labels": labels,
                "p": p[:, 0],
                "level": jnp.full((batch_size,), level),
            },
        )


class NParity(_BinaryMemoryTask):
    name: ClassVar[str] = "nparity"
    description: ClassVar[str] = "N-parity: parity of the last N bits of a binary sequence, scored at the end"
    paper: ClassVar[str] = "Khajehabdollahi, Zeraati et al. 2024, ICLR"
    balanced: ClassVar[bool] = False

    def _labels(self, bits, length, ns):
        csum = jnp.concatenate([jnp.zeros_like(bits[:, :1]), cumsum(bits, axis=1)], axis=1)
        end = jnp.take(csum, length, axis=1)[:, None]  # [B, 1]
        start = jnp.take(csum, jnp.clip(length - ns, 0), axis=1)  # [B, H]
        return (end - start) % 2


class NDMS(_BinaryMemoryTask):
    name: ClassVar[str] = "ndms"
    description: ClassVar[str] = "N-delayed match-to-sample: is the bit N steps back equal to the last bit"
    paper: ClassVar[str] = "Khajehabdollahi, Zeraati et al. 2024, ICLR"
    balanced: ClassVar[bool] = True

    def _labels(self, bits, length, ns):
        last = jnp.take(bits, length - 1, axis=1)[:, None]
        past = jnp.take(bits, jnp.clip(length - ns, 0), axis=1)
        return (past == last).astype(jnp.int32)
