"""Linear recurrences in O(log T) depth with ``jax.lax.associative_scan``.

Forward ``s_t = A_t s_{t−1} + b_t`` (t = 1..T, s_0 given): the pairs ``e_t = (A_t, b_t)``
compose as affine maps, ``e_i ∘ e_j = (A_j A_i, A_j b_i + b_j)`` (apply e_i, then e_j),
which is associative; the prefix compositions' offsets are the states once ``s_0`` is
folded into ``b_1 ← A_1 s_0 + b_1``. ``A_t`` is a matrix ``[n, n]`` (dense, DEER) or a vector
``[n]`` (diagonal, quasi-DEER: element-wise products).

Reverse ``λ_t = M_t λ_{t+1} + g_t`` with ``M_T = 0`` is the same scan run backwards in time.

Each pair is packed into one array — ``[A | b]`` of shape ``[n, n+1]``, or ``[a; b]`` of shape
``[2, n]`` — so that the scan slices and interleaves one array per level instead of two:
it compiles about three times faster on CPU (XLA compile time dominates at moderate T).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["forward", "reverse"]


def _dense(Mi, Mj):
    """``[A_i | b_i] ∘ [A_j | b_j] = [A_j A_i | A_j b_i + b_j]``."""
    widths = [(0, 0)] * (Mj.ndim - 1) + [(Mi.shape[-1] - 1, 0)]
    return Mj[..., :-1] @ Mi + jnp.pad(Mj[..., -1:], widths)


def _diagonal(Mi, Mj):
    """``[a_i; b_i] ∘ [a_j; b_j] = [a_j a_i; a_j b_i + b_j]``."""
    aj = Mj[..., :1, :]
    return aj * Mi + jnp.concatenate([jnp.zeros_like(aj), Mj[..., 1:, :]], axis=-2)


def _scan(A, b, reverse: bool):
    if A.ndim == 3:
        M = jnp.concatenate([A, b[..., None]], axis=-1)
        return jax.lax.associative_scan(_dense, M, reverse=reverse)[..., -1]
    M = jnp.stack([A, b], axis=-2)
    return jax.lax.associative_scan(_diagonal, M, reverse=reverse)[..., 1, :]


def forward(A: jax.Array, b: jax.Array, s0: jax.Array) -> jax.Array:
    """States ``s_1..s_T [T, n]`` of ``s_t = A_t s_{t−1} + b_t`` (``A`` is ``[T, n, n]`` or ``[T, n]``)."""
    first = A[0] @ s0 if A.ndim == 3 else A[0] * s0
    return _scan(A, b.at[0].add(first), reverse=False)


def reverse(M: jax.Array, g: jax.Array) -> jax.Array:
    """``λ_1..λ_T`` of ``λ_t = M_t λ_{t+1} + g_t``, ``λ_{T+1} = 0`` (``M_T`` is ignored)."""
    return _scan(M.at[-1].set(0), g, reverse=True)
