"""Dynamical Similarity Analysis (Ostrow, Eisen, Kozachkov & Fiete, NeurIPS 2023; reference
implementation ``mitchellostrow/DSA``), as used by Huang et al. 2025 to measure the
degeneracy of the dynamics of task-trained RNNs.

1. Delay embedding (Hankel matrix): with ``d = n_delays`` and ``s = delay_interval``, each
   row of a trial ``x [T, N]`` becomes ``[x_t, x_{t−s}, …, x_{t−(d−1)s}]`` (``T − (d−1)s`` rows,
   ``dN`` columns); trials are stacked.
2. Reduced-rank (HAVOK) DMD: SVD of the stacked Hankel matrix ``Hᵀ = U S Vᵀ``; the first
   ``r`` columns of ``V`` are the time courses of the leading modes. Within each trial,
   ``V_{t+1} ≈ V_t Aᵀ`` is solved by least squares, giving the ``r × r`` linear operator ``A``.
   (Its eigenvalues are those of the underlying linear dynamics when the data are linear.)
3. Procrustes over vector fields: ``d(A, B) = min_{C ∈ O(r)} ‖A − C B Cᵀ‖_F``. Because
   ``‖C B Cᵀ‖ = ‖B‖``, this is the maximiser of ``⟨A, C B Cᵀ⟩``; it is found by Adam (Optax) on
   ``‖Â − C B̂ Cᵀ‖²`` (``Â = A/‖A‖``) over ``C = C₀ (I − S)(I + S)⁻¹``, ``S = K − Kᵀ`` (the
   Cayley map, as in the reference implementation: orthogonal for every ``K``, and several
   times cheaper to compile and run than ``expm(S)``), from several starts ``C₀`` optimised
   together under ``vmap``; the best start wins. The starts: three spectral ones
   (eigenbases of ``A + Aᵀ``, ``AᵀA``, ``AAᵀ`` matched to those of ``B``, with signs chosen
   greedily — exact when ``A`` is an orthogonal conjugate of ``B``, whose sign-flip
   symmetries otherwise trap gradient descent), the identity, a reflection (the
   ``det = −1`` half of O(r)) and random orthogonal matrices.
4. Reported as Euclidean ``‖A − C B Cᵀ‖_F`` (on the unnormalised operators) and angular
   ``arccos(⟨A, C B Cᵀ⟩ / (‖A‖ ‖B‖))`` (in radians, in [0, π]). Operators of different sizes
   are zero-padded to the larger one, as in the reference implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.sparse.linalg import svds

from ._results import Result, _figure, _finish

__all__ = ["DMD", "DSAResult", "delay_embed", "dmd", "similarity_transform_distance", "similarity_transform_distances", "dsa"]


def delay_embed(x: Any, n_delays: int, delay_interval: int = 1) -> np.ndarray:
    """Delay embedding of ``x [T, N]`` or ``[K, T, N]`` → ``[K, T − (d−1)s, d·N]`` (newest lag first)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    T = x.shape[1]
    span = (n_delays - 1) * delay_interval
    if span >= T - 1:
        raise ValueError(f"trials of {T} steps are too short for {n_delays} delays at interval {delay_interval}")
    blocks = [x[:, span - d * delay_interval : T - d * delay_interval] for d in range(n_delays)]
    return np.concatenate(blocks, axis=-1)


@dataclass(frozen=True)
class DMD(Result):
    """A reduced-rank HAVOK DMD model: ``A [r, r]``, its eigenvalues (by decreasing ``|λ|``) and
    the leading singular values of the Hankel matrix (all of them when it is small, else the
    leading ``2·rank + 10``)."""

    A: np.ndarray
    eigenvalues: np.ndarray
    singular_values: np.ndarray
    n_delays: int
    delay_interval: int
    rank: int

    def plot(self, path: str | Path | None = None):
        """Eigenvalues of ``A`` (unit circle dotted) and the Hankel singular values."""
        fig, (a0, a1) = _figure(2)
        _eig_plot(a0, [(self.eigenvalues, "A")])
        a1.semilogy(np.arange(1, len(self.singular_values) + 1), self.singular_values, "k.")
        a1.axvline(self.rank + 0.5, color="r", ls=":")
        a1.set(xlabel="mode", ylabel="singular value", title=f"Hankel spectrum (rank {self.rank})")
        return _finish(fig, path)


def _eig_plot(ax, items):
    th = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(th), np.sin(th), "k:", lw=1)
    for (e, label), m in zip(items, ("o", "x")):
        ax.scatter(e.real, e.imag, marker=m, label=label, facecolors="none" if m == "o" else None)
    ax.set(xlabel="Re λ", ylabel="Im λ", aspect="equal", title="DMD eigenvalues")
    ax.legend(fontsize=8)


_FULL_SVD_MAX = 256  # below this smaller side the full SVD is as fast as the Lanczos one


def _leading_singular(M: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """``(U_r [m, rank], s)``: the leading ``rank`` left singular vectors of ``M [m, F]`` and its
    leading singular values (all of them for a small ``M``, else the leading ``2·rank + 10``).

    A degeneracy study fits a DMD to hundreds of Hankel matrices of ``64·41 × 960`` whose full
    SVD (every singular triplet, ``O(m F²)``) is what it spent most of its time on; ARPACK's
    Lanczos bidiagonalisation (``scipy.sparse.linalg.svds``, ``tol=0``: to machine precision,
    fixed start vector) computes only the triplets used. DSA needs only the span of ``U_r``
    (an orthonormal change of basis ``U_r Q`` conjugates ``A`` to ``Qᵀ A Q``, a distance of 0),
    so the two agree to rounding (``tests/test_analysis_similarity.py``)."""
    m, F = M.shape
    k = min(2 * rank + 10, min(m, F) - 1)
    if min(m, F) <= _FULL_SVD_MAX or k <= rank:
        u, s, _ = np.linalg.svd(M, full_matrices=False)
        return u[:, :rank], s
    u, s, _ = svds(M, k=k, tol=0, random_state=0)
    order = np.argsort(-s)
    return u[:, order[:rank]], s[order]


def dmd(x: Any, n_delays: int, rank: int, delay_interval: int = 1) -> DMD:
    """HAVOK DMD of ``x [T, N]`` or ``[K, T, N]`` (steps 1–2 of the module docstring)."""
    H = delay_embed(x, n_delays, delay_interval)  # [K, T', F]
    K, Tp, F = H.shape
    if not 0 < rank <= min(F, K * Tp):
        raise ValueError(f"rank must be in [1, {min(F, K * Tp)}], got {rank}")
    V, s = _leading_singular(H.reshape(K * Tp, F), rank)
    V = V.reshape(K, Tp, rank)
    Vm, Vp = V[:, :-1].reshape(-1, rank), V[:, 1:].reshape(-1, rank)
    A = np.linalg.lstsq(Vm, Vp, rcond=None)[0].T
    e = np.linalg.eigvals(A)
    return DMD(A, e[np.argsort(-np.abs(e))], s, int(n_delays), int(delay_interval), int(rank))


def _orthogonal_starts(n: int, n_starts: int, seed: int) -> np.ndarray:
    """Identity, a reflection, then Haar-random orthogonal matrices (QR with sign fix)."""
    eye = np.eye(n)
    refl = eye.copy()
    refl[0, 0] = -1.0
    g = np.random.default_rng(seed).standard_normal((max(n_starts - 2, 0), n, n))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]
    return np.concatenate([eye[None], refl[None], q])[:n_starts]


def _spectral_starts(A: np.ndarray, B: np.ndarray, seed: int) -> list[np.ndarray]:
    """Starts aligning the eigenbases of ``M(A)`` and ``M(B)`` for ``M ∈ {X + Xᵀ, XᵀX, XXᵀ}``.

    If ``A = C B Cᵀ`` then ``M(A) = C M(B) Cᵀ``, so ``C = P_A S P_Bᵀ`` (orthonormal eigenvectors
    ``P``, by eigenvalue) up to the signs ``S = diag(±1)`` when the eigenvalues are distinct.
    The signs maximise ``Σ_ij Ã_ij B̃_ij s_i s_j`` (``Ã = P_Aᵀ A P_A``), found by greedy sign flips.
    """
    rng = np.random.default_rng(seed)
    starts = []
    for M in (lambda X: X + X.T, lambda X: X.T @ X, lambda X: X @ X.T):
        PA, PB = np.linalg.eigh(M(A))[1], np.linalg.eigh(M(B))[1]
        G = (PA.T @ A @ PA) * (PB.T @ B @ PB)
        G = G + G.T
        best, best_val = None, -np.inf
        for s in [np.ones(len(A))] + [rng.choice([-1.0, 1.0], len(A)) for _ in range(3)]:
            for _ in range(100):  # flip s_i when it raises sᵀGs: gain −4 s_i Σ_{j≠i} G_ij s_j
                gain = -s * (G @ s - np.diag(G) * s)
                i = int(np.argmax(gain))
                if gain[i] <= 1e-12:
                    break
                s[i] = -s[i]
            if s @ G @ s > best_val:
                best, best_val = s.copy(), s @ G @ s
        starts.append(PA @ np.diag(best) @ PB.T)
    return starts


@eqx.filter_jit
def _optimise_C(A, B, C0, steps: int, lr: float):
    """Adam on ``‖A − C B Cᵀ‖²`` over ``C = C₀ cayley(K − Kᵀ)`` for every start, for a batch of
    pairs: ``A, B [P, n, n]``, ``C0 [P, S, n, n]`` -> ``(C [P, S, n, n], loss [P, S])``. One
    program for all pairs and starts (a degeneracy study compares 1,225 pairs per group)."""
    opt = optax.adam(lr)

    def orth(C0, K):
        S = K - K.T
        eye = jnp.eye(K.shape[0], dtype=K.dtype)
        return C0 @ jnp.linalg.solve(eye + S, eye - S)  # Cayley map: orthogonal, det +1

    def pair(A, B, C0s):
        def loss(K, C0):
            C = orth(C0, K)
            return jnp.sum((A - C @ B @ C.T) ** 2)

        def one(C0):
            K = jnp.zeros_like(A)

            def step(carry, _):
                K, st = carry
                g = jax.grad(loss)(K, C0)
                upd, st = opt.update(g, st, K)
                return (optax.apply_updates(K, upd), st), None

            (KT, _), _ = jax.lax.scan(step, (K, opt.init(K)), None, length=steps)
            l0, lT = loss(K, C0), loss(KT, C0)  # keep the start if Adam did not improve on it
            return jnp.where(lT < l0, orth(C0, KT), C0), jnp.minimum(lT, l0)

        return jax.vmap(one)(C0s)

    return jax.vmap(pair)(A, B, C0)


_CHUNK = 256  # pairs per program (padded to it, so one compilation serves every chunk)


def similarity_transform_distances(
    As: Any, Bs: Any, n_starts: int = 8, steps: int = 400, lr: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(euclidean [P], angular [P], [C_p])`` of ``min_{C∈O(n)} ‖A_p − C B_p Cᵀ‖_F`` for each
    pair ``(As[p], Bs[p])`` (steps 3–4 of the method), optimised in batches: pairs whose padded
    size ``n`` agrees run in one vmapped program, ``_CHUNK`` at a time. ``seed`` draws the
    random starting rotations (the same for every pair, as for one pair at a time)."""
    pairs = [(np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)) for A, B in zip(As, Bs)]
    P = len(pairs)
    euclid, angular, Cs = np.zeros(P), np.zeros(P), [None] * P
    by_size: dict[int, list[int]] = {}
    for p, (A, B) in enumerate(pairs):
        by_size.setdefault(max(A.shape[0], B.shape[0]), []).append(p)
    for n, idx in by_size.items():
        A = np.stack([_pad(pairs[p][0], n) for p in idx])
        B = np.stack([_pad(pairs[p][1], n) for p in idx])
        na, nb = np.linalg.norm(A, axis=(1, 2)), np.linalg.norm(B, axis=(1, 2))
        An, Bn = A / na[:, None, None], B / nb[:, None, None]
        orth = _orthogonal_starts(n, max(n_starts, 1), seed)
        C0 = np.stack([np.concatenate([_spectral_starts(a, b, seed), orth]) for a, b in zip(An, Bn)])
        best = np.zeros((len(idx), n, n))
        chunk = min(_CHUNK, len(idx))
        for lo in range(0, len(idx), chunk):
            sl = np.arange(lo, lo + chunk).clip(max=len(idx) - 1)  # the last chunk padded by repeats
            C, losses = _optimise_C(jnp.asarray(An[sl], jnp.float32), jnp.asarray(Bn[sl], jnp.float32),
                                    jnp.asarray(C0[sl], jnp.float32), int(steps), float(lr))
            C, losses = np.asarray(C, dtype=np.float64), np.asarray(losses)
            keep = sl[: len(idx) - lo]  # the pairs of this chunk, without the padding repeats
            best[keep] = C[np.arange(len(keep)), np.argmin(losses[: len(keep)], axis=1)]
        u, _, vt = np.linalg.svd(best)  # re-orthonormalise (float32 drift) before scoring in float64
        best = u @ vt
        CBC = best @ B @ np.swapaxes(best, 1, 2)
        cos = np.sum(A * CBC, axis=(1, 2)) / (na * nb)
        for k, p in enumerate(idx):
            euclid[p] = float(np.linalg.norm(A[k] - CBC[k]))
            angular[p] = float(np.arccos(np.clip(cos[k], -1.0, 1.0)))
            Cs[p] = best[k]
    return euclid, angular, Cs


def similarity_transform_distance(
    A: Any, B: Any, n_starts: int = 8, steps: int = 400, lr: float = 0.05, seed: int = 0
) -> tuple[float, float, np.ndarray]:
    """``(euclidean, angular, C)`` for ``min_{C∈O(n)} ‖A − C B Cᵀ‖_F`` (steps 3–4 of the method);
    ``seed`` draws the random starting rotations. One pair of ``similarity_transform_distances``."""
    e, a, C = similarity_transform_distances([A], [B], n_starts, steps, lr, seed)
    return float(e[0]), float(a[0]), C[0]


def _pad(M: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, n))
    out[: M.shape[0], : M.shape[1]] = M
    return out


@dataclass(frozen=True)
class DSAResult(Result):
    """DSA between two systems: distances, the optimal ``C`` and both DMD operators."""

    euclidean: float
    angular: float
    C: np.ndarray
    A: np.ndarray
    B: np.ndarray
    eigenvalues_A: np.ndarray
    eigenvalues_B: np.ndarray

    def plot(self, path: str | Path | None = None):
        """The DMD eigenvalues of both systems."""
        fig, (ax,) = _figure(size=(4.5, 4.5))
        _eig_plot(ax, [(self.eigenvalues_A, "A (x)"), (self.eigenvalues_B, "B (y)")])
        ax.set_title(f"DSA: angular {self.angular:.3g}, euclidean {self.euclidean:.3g}")
        return _finish(fig, path)


def dsa(
    x: Any,
    y: Any,
    n_delays: int = 10,
    rank: int = 10,
    delay_interval: int = 1,
    n_starts: int = 8,
    steps: int = 400,
    lr: float = 0.05,
    seed: int = 0,
) -> DSAResult:
    """DSA distance between the dynamics of ``x`` and ``y`` (each ``[T, N]`` or ``[K, T, N]``).

    Each may also be a ``DMD`` already fitted (then the embedding arguments are not used for it).
    """
    dx = x if isinstance(x, DMD) else dmd(x, n_delays, rank, delay_interval)
    dy = y if isinstance(y, DMD) else dmd(y, n_delays, rank, delay_interval)
    e, a, C = similarity_transform_distance(dx.A, dy.A, n_starts, steps, lr, seed)
    return DSAResult(e, a, C, dx.A, dy.A, dx.eigenvalues, dy.eigenvalues)
