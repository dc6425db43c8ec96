"""Recurrent-weight initialisations and the effective rank of a matrix.

All return an ``N×N`` float32 matrix scaled so that its bulk spectral radius is about ``gain``:

* ``gaussian``: ``W_ij ~ N(0, gain²/N)`` (circular law, radius ``gain``).
* ``orthogonal``: ``gain · Q`` with ``Q`` Haar-orthogonal (QR of a Gaussian, signs fixed).
* ``identity``: ``gain · I + noise · N(0, 1/N)`` (identity plus noise; Le, Jaitly & Hinton 2015).
* ``rank``: a full-rank Gaussian ``W0 = gain · N(0, 1/N)`` truncated by its SVD to rank ``r``
  and rescaled to the Frobenius norm of ``W0`` (Liu et al. 2024, ICLR, "How connectivity
  structure shapes rich and lazy learning").
* ``aligned_rank`` (function ``aligned_rank``): the singular values of ``rank``, with singular
  vectors aligned with the task: ``W = Σ_{k≤r} s_k u_k v_kᵀ``, ``u_k`` (the column space: where
  the recurrence writes) orthonormal directions of the input weights' columns and ``v_k`` (the
  row space: what it reads) of the readout weights' rows, padded with random orthogonal
  directions where ``r`` exceeds their number. It needs the network's input and readout
  weights, so the network builds it (``recurrent`` refuses it).

``effective_rank(W) = exp(H(p))`` with ``p_i = s_i / Σ s_j`` the normalised singular values and
``H`` their Shannon entropy (Roy & Vetterli 2007): ``N`` for an orthogonal matrix, 1 for rank one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = ["gaussian", "orthogonal", "identity", "rank_truncated", "aligned_rank", "recurrent", "effective_rank"]


def gaussian(key, n: int, gain: float = 1.0) -> jax.Array:
    return gain * jax.random.normal(key, (n, n)) / jnp.sqrt(n)


def orthogonal(key, n: int, gain: float = 1.0) -> jax.Array:
    q, r = jnp.linalg.qr(jax.random.normal(key, (n, n)))
    return gain * q * jnp.sign(jnp.diagonal(r))[None, :]


def identity(key, n: int, gain: float = 1.0, noise: float = 0.0) -> jax.Array:
    return gain * jnp.eye(n) + noise * jax.random.normal(key, (n, n)) / jnp.sqrt(n)


def rank_truncated(key, n: int, rank: int, gain: float = 1.0) -> jax.Array:
    w0 = gaussian(key, n, gain)
    u, s, vt = jnp.linalg.svd(w0, full_matrices=False)
    return _rescaled_rank(w0, u, s, vt, rank)


def aligned_rank(
    key, n: int, rank: int, inputs: Float[Array, "n n_in"], outputs: Float[Array, "n n_out"], gain: float = 1.0
) -> jax.Array:
    """Rank-``r`` initialisation aligned with the input and readout weights.

    ``W = c Σ_{k≤r} s_k u_k v_kᵀ``, where ``s_1 ≥ … ≥ s_r`` are the top singular values of the
    full-rank Gaussian ``W0 = gaussian(key, n, gain)``, ``c = ‖W0‖_F / (Σ_{k≤r} s_k²)^{1/2}``
    (so ``‖W‖_F = ‖W0‖_F``: ``rank_truncated`` with other singular vectors), ``u_k`` the first
    ``r`` columns of the QR factor of ``[inputs, G]`` and ``v_k`` those of ``[outputs, G']``
    (``G, G'`` Gaussian ``n × r`` padding from ``key``). For ``r ≤ n_in`` the column space of
    ``W`` (what the recurrence feeds back into) lies in span(inputs), the directions the input
    drives; for ``r ≤ n_out`` its row space (what it reads) lies in span(outputs), the
    directions the readout sees. Liu et al. (2024, ICLR) find that low-rank initial
    connectivity biases learning towards the rich regime *except* when the low-rank structure
    is aligned with the task or its data statistics; this is such an aligned control.

    ``inputs`` ``[n, n_in]`` (e.g. ``U``) and ``outputs`` ``[n, n_out]`` (e.g. ``W_outᵀ``) need
    not be orthonormal; ``rank ≤ n``.
    """
    w0 = gaussian(key, n, gain)
    s = jnp.linalg.svd(w0, compute_uv=False)
    ku, kv = jax.random.split(jax.random.fold_in(key, 1))
    u = _basis(inputs, rank, ku)
    v = _basis(outputs, rank, kv)
    return _rescaled_rank(w0, u, s[:rank], v.T, rank)


def _basis(a: Float[Array, "n m"], rank: int, key) -> Float[Array, "n rank"]:
    """``rank`` orthonormal columns: a basis of span(a) first, then random orthogonal ones."""
    pad = jax.random.normal(key, (a.shape[0], rank), a.dtype)
    q, _ = jnp.linalg.qr(jnp.concatenate([a, pad], axis=1))
    return q[:, :rank]


def _rescaled_rank(w0, u, s, vt, rank: int) -> jax.Array:
    """``Σ_{k≤rank} s_k u_k v_kᵀ`` rescaled to ``‖w0‖_F``."""
    s = jnp.where(jnp.arange(s.shape[0]) < rank, s, 0.0)
    w = (u * s) @ vt
    return w * jnp.linalg.norm(w0) / jnp.linalg.norm(w)


def recurrent(kind: str, key, n: int, gain: float = 1.0, rank: int | None = None, noise: float = 0.0) -> jax.Array:
    """Dispatch on ``kind`` ∈ {gaussian, orthogonal, identity, rank} (``aligned_rank``: see there)."""
    if kind == "gaussian":
        return gaussian(key, n, gain)
    if kind == "orthogonal":
        return orthogonal(key, n, gain)
    if kind == "identity":
        return identity(key, n, gain, noise)
    if kind == "rank":
        return rank_truncated(key, n, rank if rank is not None else n, gain)
    if kind == "aligned_rank":
        raise ValueError("init: 'aligned_rank' needs the input and readout weights; use init.aligned_rank")
    raise ValueError(f"init: unknown initialisation {kind!r}")


def effective_rank(w) -> jax.Array:
    """Roy & Vetterli's effective rank ``exp(−Σ p log p)``, ``p`` = normalised singular values."""
    s = jnp.linalg.svd(jnp.asarray(w), compute_uv=False)
    p = s / jnp.sum(s)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))
