"""Recurrent-weight initialisations and the effective rank of a matrix.

All return an ``N×N`` float32 matrix scaled so that its bulk spectral radius is about ``gain``:

* ``gaussian``: ``W_ij ~ N(0, gain²/N)`` (circular law, radius ``gain``).
* ``orthogonal``: ``gain · Q`` with ``Q`` Haar-orthogonal (QR of a Gaussian, signs fixed).
* ``identity``: ``gain · I + noise · N(0, 1/N)`` (identity plus noise; Le, Jaitly & Hinton 2015).
* ``rank``: a full-rank Gaussian ``W0 = gain · N(0, 1/N)`` truncated by its SVD to rank ``r``
  and rescaled to the Frobenius norm of ``W0`` (Liu et al. 2024, ICLR, "How connectivity
  structure shapes rich and lazy learning").

``effective_rank(W) = exp(H(p))`` with ``p_i = s_i / Σ s_j`` the normalised singular values and
``H`` their Shannon entropy (Roy & Vetterli 2007): ``N`` for an orthogonal matrix, 1 for rank one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["gaussian", "orthogonal", "identity", "rank_truncated", "recurrent", "effective_rank"]


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
    s = jnp.where(jnp.arange(n) < rank, s, 0.0)
    w = (u * s) @ vt
    return w * jnp.linalg.norm(w0) / jnp.linalg.norm(w)


def recurrent(kind: str, key, n: int, gain: float = 1.0, rank: int | None = None, noise: float = 0.0) -> jax.Array:
    """Dispatch on ``kind`` ∈ {gaussian, orthogonal, identity, rank}."""
    if kind == "gaussian":
        return gaussian(key, n, gain)
    if kind == "orthogonal":
        return orthogonal(key, n, gain)
    if kind == "identity":
        return identity(key, n, gain, noise)
    if kind == "rank":
        return rank_truncated(key, n, rank if rank is not None else n, gain)
    raise ValueError(f"init: unknown initialisation {kind!r}")


def effective_rank(w) -> jax.Array:
    """Roy & Vetterli's effective rank ``exp(−Σ p log p)``, ``p`` = normalised singular values."""
    s = jnp.linalg.svd(jnp.asarray(w), compute_uv=False)
    p = s / jnp.sum(s)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))
