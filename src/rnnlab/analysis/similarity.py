"""Similarity of representations, weights and dynamics across networks.

* Linear CKA (Kornblith et al. 2019): with column-centred ``X [M, N₁]``, ``Y [M, N₂]``
  (rows = the same M conditions/time points),
  ``CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)``; invariant to orthogonal maps and isotropic scaling.
* Procrustes shape distance (Williams et al. 2021; netrep's ``LinearMetric(alpha=1,
  center_columns=True)``): centre the columns, scale to ``‖X‖_F = ‖Y‖_F = 1``; angular
  ``arccos ‖XᵀY‖_*`` (nuclear norm = ``max_Q tr(Xᵀ Y Q)`` over orthogonal ``Q``) or
  Euclidean ``min_Q ‖X − YQ‖_F = √(2 − 2‖XᵀY‖_*)``.
* Permutation-aligned weight distance (Huang et al. 2025): ``min_P ‖W₁ − P W₂ Pᵀ‖_F`` over
  permutations ``P`` of hidden units, with the same ``P`` applied to the input weights,
  per-unit vectors (biases, τ) and readout columns. The quadratic assignment is solved
  approximately by weight matching (Ainsworth et al. 2023): the unit-similarity matrix
  ``S = U₁U₂ᵀ + V₁ᵀV₂ + O₁ᵀO₂ + Σ_g (W₁ P₀ W₂ᵀ + W₁ᵀ P₀ W₂)`` (incoming + outgoing weights,
  with the recurrent terms linearised around the previous ``P₀``) is maximised with the
  Hungarian algorithm (``scipy.optimize.linear_sum_assignment``), iterated to a fixed point
  from several starts (identity, input/readout-only matching, random); every visited
  permutation is scored exactly and the best is kept, so the result never exceeds the
  unaligned distance (it is a local optimum of the quadratic assignment, not a certified
  global one).
* DSA (Ostrow et al. 2023): see ``rnnlab.analysis.dsa`` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..models.gated import GRU, LSTM
from ._results import Result, _figure, _finish
from .dsa import DMD, DSAResult, delay_embed, dmd, dsa, similarity_transform_distance, similarity_transform_distances

__all__ = [
    "linear_cka", "procrustes_distance", "WeightDistance", "weight_distance", "DistanceMatrix", "pairwise",
    "DMD", "DSAResult", "delay_embed", "dmd", "dsa", "similarity_transform_distance", "similarity_transform_distances",
]


def _centred(x: Any) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(-1, x.shape[-1])
    return x - x.mean(axis=0)


def linear_cka(x: Any, y: Any) -> float:
    """Linear CKA between ``x [..., N₁]`` and ``y [..., N₂]`` (leading axes = matched samples)."""
    X, Y = _centred(x), _centred(y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"x and y need the same samples, got {X.shape[0]} and {Y.shape[0]}")
    return float(np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)))


def procrustes_distance(x: Any, y: Any, kind: Literal["angular", "euclidean"] = "angular") -> float:
    """Procrustes shape distance between ``x [..., N₁]`` and ``y [..., N₂]`` (see module docstring)."""
    X, Y = _centred(x), _centred(y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"x and y need the same samples, got {X.shape[0]} and {Y.shape[0]}")
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
    nuc = float(np.clip(np.linalg.svd(X.T @ Y, compute_uv=False).sum(), -1.0, 1.0))
    if kind == "angular":
        return float(np.arccos(nuc))
    if kind == "euclidean":
        return float(np.sqrt(max(2.0 - 2.0 * nuc, 0.0)))
    raise ValueError(f"kind must be 'angular' or 'euclidean', got {kind!r}")


def _unit_params(model: Any) -> dict[str, np.ndarray]:
    """Weights indexed by hidden unit: rec [g, N, N], inp [g, N, I], vec [k, N], out [O, N], fixed [...]."""
    n = model.hidden_size
    out = np.asarray(model.readout_layer.weight, dtype=np.float64)
    fixed = np.asarray(model.readout_layer.bias if model.readout_layer.bias is not None else [], dtype=np.float64)
    if isinstance(model, (GRU, LSTM)):  # gate blocks stacked along rows
        g = model.W_h.shape[0] // n
        rec = np.asarray(model.W_h, dtype=np.float64).reshape(g, n, n)
        inp = np.asarray(model.W_i, dtype=np.float64).reshape(g, n, -1)
        vec = np.concatenate([np.asarray(model.b_i).reshape(g, n), np.asarray(model.b_h).reshape(g, n)])
        vec = vec.astype(np.float64)
    elif all(hasattr(model, a) for a in ("recurrent_weights", "U", "b", "taus")):  # leaky rate networks
        rec = np.asarray(model.recurrent_weights(), dtype=np.float64)[None]
        inp = np.asarray(model.U, dtype=np.float64)[None]
        vec = np.stack([np.asarray(model.b), np.asarray(model.taus())]).astype(np.float64)
    else:
        raise TypeError(f"weight_distance does not know the weights of {type(model).__name__}")
    return {"rec": rec, "inp": inp, "vec": vec, "out": out, "fixed": fixed}


def _permuted(p: dict[str, np.ndarray], perm: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "rec": p["rec"][:, perm][:, :, perm], "inp": p["inp"][:, perm], "vec": p["vec"][:, perm],
        "out": p["out"][:, perm], "fixed": p["fixed"],
    }


def _dist(p1, p2) -> dict[str, float]:
    return {k: float(np.linalg.norm(p1[k] - p2[k])) for k in p1}


@dataclass(frozen=True)
class WeightDistance(Result):
    """Permutation-aligned weight distance between two networks.

    Attributes:
        permutation: ``[N]``; unit ``i`` of network 1 is matched to unit ``permutation[i]`` of network 2.
        recurrent: ``‖W₁ − P W₂ Pᵀ‖_F`` (all gate blocks); input, vectors (biases and τ), readout:
            the other aligned parameter groups; total: the norm over all parameters (readout
            bias included); unaligned: ``total`` without permutation; n_params: parameters
            compared; normalized: ``total / n_params`` (Huang et al. 2025).
        W1, W2_aligned: ``[g, N, N]`` the recurrent matrices, for plotting.
    """

    permutation: np.ndarray
    recurrent: float
    input: float
    vectors: float
    readout: float
    total: float
    unaligned: float
    n_params: int
    normalized: float
    W1: np.ndarray
    W2_aligned: np.ndarray

    def plot(self, path: str | Path | None = None):
        """The recurrent matrices of network 1, aligned network 2, and their difference."""
        fig, axes = _figure(3, size=(3.3, 3.2))
        w1, w2 = self.W1[0], self.W2_aligned[0]
        v = float(np.max(np.abs(np.r_[w1.ravel(), w2.ravel()]))) or 1.0
        for ax, m, t in zip(axes, (w1, w2, w1 - w2), ("W₁", "P W₂ Pᵀ", f"difference ({self.recurrent:.3g})")):
            im = ax.imshow(m, cmap="RdBu_r", vmin=-v, vmax=v)
            ax.set(title=t, xticks=[], yticks=[])
        fig.colorbar(im, ax=axes, shrink=0.8)
        return _finish(fig, path)


def weight_distance(
    model1: Any, model2: Any, max_iter: int = 50, n_random: int = 4, seed: int = 0
) -> WeightDistance:
    """Permutation-aligned weight distance between two models of the same family and size
    (leaky rate networks with ``recurrent_weights()``, ``U``, ``b``, ``taus()`` — LeakyRNN,
    LowRankRNN — and GRU/LSTM, whose gate blocks share the permutation).

    Weight matching is iterated from the identity, from the assignment of the input/readout
    similarity alone, and from ``n_random`` random permutations; the best end point wins.
    """
    return _weight_distance(_unit_params(model1), _unit_params(model2), max_iter, n_random, seed)


def _weight_distance(p1: dict[str, np.ndarray], p2: dict[str, np.ndarray], max_iter: int = 50, n_random: int = 4,
                     seed: int = 0) -> WeightDistance:
    """``weight_distance`` of two networks' ``_unit_params`` (a group's networks are converted
    once, not once per pair)."""
    if any(p1[k].shape != p2[k].shape for k in p1):
        raise ValueError("the two models must have the same architecture and sizes")
    g, n = p1["rec"].shape[:2]
    static = (  # incoming input weights, per-unit vectors and outgoing readout weights
        np.einsum("gik,gjk->ij", p1["inp"], p2["inp"]) + p1["vec"].T @ p2["vec"] + p1["out"].T @ p2["out"]
    )
    # The linearised recurrent term Σ_g W1_g W2_g[:, P]ᵀ + W1_gᵀ W2_g[P, :] as one matrix product
    # [N, 2gN] × [2gN, N]: W2_g[:, P]ᵀ = W2_gᵀ[P, :], so both halves gather rows of fixed
    # matrices by P (one gather, one BLAS product per iteration; the tensordots of the same sum
    # transposed and copied their operands each time).
    left = np.concatenate([np.concatenate([w, w.T], axis=1) for w in p1["rec"]], axis=1)  # [N, 2gN]
    right = np.stack([m for w in p2["rec"] for m in (w.T, w)])  # [2g, N, N], rows gathered by P

    def linearised(perm):
        return static + left @ right[:, perm].reshape(2 * g * n, n)

    def score(perm):
        return float(np.sum(p1["rec"] * p2["rec"][:, perm[:, None], perm]) + static[np.arange(n), perm].sum())

    rng = np.random.default_rng(seed)
    starts = [np.arange(n), linear_sum_assignment(static, maximize=True)[1]]
    starts += [rng.permutation(n) for _ in range(n_random)]
    candidates = {p.tobytes(): p for p in starts}  # insertion-ordered: ties resolve as listed
    for perm in starts:
        seen = {perm.tobytes()}
        for _ in range(max_iter):
            new = linear_sum_assignment(linearised(perm), maximize=True)[1]
            if new.tobytes() in seen:  # a fixed point, or a cycle (alternating matching often
                break  # 2-cycles): every later iterate is one already seen
            seen.add(new.tobytes())
            perm = new
            candidates.setdefault(perm.tobytes(), perm)
    perm = max(candidates.values(), key=score)
    d = _dist(p1, _permuted(p2, perm))
    total = float(np.sqrt(sum(v**2 for v in d.values())))
    unaligned = float(np.sqrt(sum(v**2 for v in _dist(p1, p2).values())))
    n_params = int(sum(v.size for v in p1.values()))
    return WeightDistance(
        permutation=np.asarray(perm, dtype=np.int64), recurrent=d["rec"], input=d["inp"], vectors=d["vec"],
        readout=float(np.hypot(d["out"], d["fixed"])), total=total, unaligned=unaligned,
        n_params=n_params, normalized=total / n_params, W1=p1["rec"], W2_aligned=_permuted(p2, perm)["rec"],
    )


@dataclass(frozen=True)
class DistanceMatrix(Result):
    """Pairwise distances ``[n, n]`` between items (symmetric, zero diagonal) and their names."""

    distances: np.ndarray
    names: np.ndarray
    metric: str

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        iu = np.triu_indices(len(self.distances), 1)
        s.update(n=len(self.distances), mean_distance=float(self.distances[iu].mean()) if len(iu[0]) else None)
        return s

    def plot(self, path: str | Path | None = None):
        """Heat map of the distance matrix, each cell with its value (up to 12 networks). Long
        names (run ids) become ``#i`` on the axes, with a key beside the map."""
        n = len(self.names)
        long = max((len(str(x)) for x in self.names), default=0) > 12
        labels = [f"#{i}" for i in range(n)] if long else [str(x) for x in self.names]
        side = max(3.5, 0.45 * n + 1.5)
        width = max(len(str(x)) for x in self.names) * 0.065 + 0.5 if long else 0.0  # inches of the key
        if long:
            fig, (ax, key_ax) = _figure(2, size=((side + 0.8 + width) / 2, side),
                                        gridspec_kw={"width_ratios": [side + 0.8, width]})
        else:
            fig, (ax,) = _figure(size=(side + 0.8, side))
        D = np.asarray(self.distances, float)
        im = ax.imshow(D, cmap="viridis")
        ticks = np.arange(n)
        ax.set(xticks=ticks, yticks=ticks, title=self.metric, xlabel="network", ylabel="network")
        ax.set_xticklabels(labels, rotation=90 if not long else 0, fontsize=8)
        ax.set_yticklabels(labels, fontsize=8)
        if n <= 12:
            mid = np.nanmin(D) + 0.5 * (np.nanmax(D) - np.nanmin(D))
            for i in range(n):
                for j in range(n):
                    ax.text(j, i, f"{D[i, j]:.2g}", ha="center", va="center", fontsize=7,
                            color="black" if D[i, j] > mid else "white")
        fig.colorbar(im, ax=ax, shrink=0.8, label="distance")
        if long:  # the key beside the map, in an axes of its own (part of the layout)
            key_ax.axis("off")
            key_ax.text(0.0, 0.5, "\n".join(f"#{i}  {x}" for i, x in enumerate(self.names)), ha="left",
                        va="center", fontsize=7, family="monospace", transform=key_ax.transAxes)
        return _finish(fig, path)


def pairwise(
    items: Sequence[Any],
    metric: Callable[[Any, Any], Any],
    names: Sequence[str] | None = None,
    metric_name: str | None = None,
) -> DistanceMatrix:
    """All pairwise ``metric(items[i], items[j])`` for ``i < j`` (a float, or a result with a
    ``total``/``angular`` field), mirrored into a symmetric matrix with a zero diagonal."""
    n = len(items)
    D = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            v = metric(items[i], items[j])
            v = getattr(v, "angular", getattr(v, "total", v))
            D[i, j] = D[j, i] = float(v)
    labels = np.array([str(s) for s in (names if names is not None else range(n))])
    return DistanceMatrix(D, labels, metric_name or getattr(metric, "__name__", "distance"))
