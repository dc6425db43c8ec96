"""How well a network's dynamics match a recorded population (Computation-through-Dynamics
Benchmark style; Versteeg et al. 2024), as used to judge networks fitted to sparse recordings
(Salatiello & Giese 2020).

The network's states ``H [K, T, N]`` and the recorded (or teacher) population ``Y [K, T, U]``
on the same K trials, over the scored time points (``mask [K, T]``):

* **State R²** (``state_r2``): a linear map from network state to each recorded unit,
  ``ŷ = [h, 1] β``, fitted by ridge regression on the trials of ``folds − 1`` folds and scored on
  the held-out fold (folds of whole trials), ``R²_u = 1 − Σ (y_u − ŷ_u)² / Σ (y_u − ȳ_u)²`` over
  all held-out points (``ȳ_u`` the unit's mean over all scored points). ``β = (XᵀX + αI)⁻¹XᵀY``,
  ``α = ridge · tr(XᵀX)/(N + 1)``. Units not used to train the network (held-out units) test
  whether the network's dynamics, not only its fitted units, resemble the population's. With an
  exact linear relation R² → 1; with independent noise R² ≈ −(N + 1)/n_points (a held-out score
  of an overfitted map).
* **CCA** (``cca``): canonical correlations between the top ``k`` principal components of ``H``
  and of ``Y`` (SVCCA-style, Raghu et al. 2017; the reduction keeps CCA from fitting noise
  dimensions): the singular values of ``Q_Hᵀ Q_Y``, ``Q`` orthonormal bases of the centred
  PC scores. Mean canonical correlation 1 means the two k-dimensional subspaces are linearly
  identical.
* **Procrustes** angular shape distance (``rnnlab.analysis.similarity.procrustes_distance``,
  Williams et al. 2021) between the centred, normalised ``H`` and ``Y``.
* **DSA** (``rnnlab.analysis.dsa``, Ostrow et al. 2023): angular distance between the
  delay-embedded DMD operators of ``H`` and ``Y`` (comparing dynamics, not states).

Fixed points are not compared: the ``reaching`` teacher is a formula (oscillators with an
envelope), not a dynamical system with a vector field; the DMD eigenvalues of DSA compare the
two systems' linearised dynamics (frequencies and decay) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._results import Result, _figure, _finish
from .dsa import dsa
from .similarity import procrustes_distance

__all__ = ["StateR2", "state_r2", "cca", "NeuralFit", "neural_fit", "teacher_trials"]


def _flat(x: Any, mask: np.ndarray | None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, x.shape[-1]) if mask is None else x[mask]


def _check(states: Any, target: Any, mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    H, Y = np.asarray(states, np.float64), np.asarray(target, np.float64)
    if H.ndim != 3 or Y.ndim != 3:
        raise ValueError(f"states and target must be [trials, time, units], got shapes {H.shape} and {Y.shape}")
    if H.shape[:2] != Y.shape[:2]:
        raise ValueError(f"states and target need the same trials and time steps, got {H.shape[:2]} and {Y.shape[:2]}")
    m = np.ones(H.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    if m.shape != H.shape[:2]:
        raise ValueError(f"mask must be [trials, time] = {H.shape[:2]}, got {m.shape}")
    return H, Y, m


def _ridge(X: np.ndarray, Y: np.ndarray, ridge: float) -> np.ndarray:
    X1 = np.concatenate([X, np.ones((X.shape[0], 1))], 1)
    G = X1.T @ X1
    alpha = ridge * np.trace(G) / G.shape[0]
    if alpha <= 0:  # ordinary least squares: the minimum-norm solution, also when states are collinear
        return np.linalg.lstsq(X1, Y, rcond=None)[0]
    return np.linalg.solve(G + alpha * np.eye(G.shape[0]), X1.T @ Y)


@dataclass(frozen=True)
class StateR2(Result):
    """Cross-validated R² of each target unit from the network state: ``r2 [U]``, their mean
    and the variance-weighted mean (``1 − ΣSSE/ΣSST``)."""

    r2: np.ndarray
    mean: float
    weighted: float
    folds: int

    def summary(self) -> dict[str, Any]:
        return {"r2_mean": self.mean, "r2_weighted": self.weighted, "n_units": int(self.r2.size)}

    def plot(self, path: str | Path | None = None):
        fig, (ax,) = _figure(size=(5, 3))
        ax.bar(np.arange(self.r2.size), self.r2, color="C0")
        ax.set_xlabel("unit")
        ax.set_ylabel("held-out R²")
        ax.set_title(f"state R²: mean {self.mean:.3f}")
        return _finish(fig, path)


def state_r2(states: Any, target: Any, mask: Any = None, folds: int = 5, ridge: float = 1e-3,
             seed: int = 0, groups: Any = None, n_pcs: int | None = None) -> StateR2:
    """Cross-validated state R² (module docstring) of ``target [K, T, U]`` from ``states [K, T, N]``.

    Folds are of whole trials (a random split from ``seed``), or with ``groups [K]`` (condition
    labels, e.g. the reach target) of whole conditions: every fold then predicts conditions the
    map has never seen, so a network must share the population's structure across conditions,
    not only hold enough dimensions to memorise each condition's trajectory. ``mask [K, T]``
    selects the scored time points. Needs ``2 ≤ folds ≤`` the number of trials (groups).
    ``n_pcs``: regress on the top ``n_pcs`` principal components of the state (fitted on the
    training folds) instead of the whole state, so that networks of different sizes are
    compared with the same number of regressors and a wide network cannot fit any target
    by sheer dimension.
    """
    H, Y, m = _check(states, target, mask)
    K = H.shape[0]
    codes = np.arange(K) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
    if codes.shape != (K,):
        raise ValueError(f"groups: must give one label per trial ({K}), got shape {np.shape(groups)}")
    n = int(codes.max()) + 1
    if not 2 <= folds <= n:
        raise ValueError(f"folds: must be in [2, {n}] (the number of {'trials' if groups is None else 'groups'}), "
                         f"got {folds}")
    if ridge < 0:
        raise ValueError(f"ridge: must be >= 0, got {ridge}")
    if n_pcs is not None and n_pcs < 1:
        raise ValueError(f"n_pcs: must be >= 1 or None, got {n_pcs}")
    fold_of = (np.random.default_rng(seed).permutation(n) % folds)[codes]
    sse = np.zeros(Y.shape[-1])
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        X, Xt = _flat(H[train], m[train]), _flat(H[test], m[test])
        if n_pcs is not None:
            mu = X.mean(0)
            V = np.linalg.svd(X - mu, full_matrices=False)[2][:n_pcs].T
            X, Xt = (X - mu) @ V, (Xt - mu) @ V
        beta = _ridge(X, _flat(Y[train], m[train]), ridge)
        pred = Xt @ beta[:-1] + beta[-1]
        sse += ((_flat(Y[test], m[test]) - pred) ** 2).sum(0)
    Yall = _flat(Y, m)
    sst = ((Yall - Yall.mean(0)) ** 2).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(sst > 0, 1 - sse / sst, np.nan)
    weighted = float(1 - sse.sum() / sst.sum()) if sst.sum() > 0 else float("nan")
    return StateR2(r2, float(np.nanmean(r2)) if np.isfinite(r2).any() else float("nan"), weighted, folds)


def _pcs(X: np.ndarray, k: int) -> np.ndarray:
    X = X - X.mean(0)
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    k = min(k, int((s > s[0] * 1e-10).sum()) if s.size and s[0] > 0 else 0)
    return U[:, :k]  # orthonormal PC score directions


def cca(x: Any, y: Any, n_components: int = 10, mask: Any = None) -> np.ndarray:
    """Canonical correlations (descending) between the top ``n_components`` PCs of ``x [..., N₁]``
    and of ``y [..., N₂]`` (leading axes = matched samples; ``mask`` selects samples)."""
    m = None if mask is None else np.asarray(mask, bool)
    X, Y = _flat(x, m), _flat(y, m)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"x and y need the same samples, got {X.shape[0]} and {Y.shape[0]}")
    if n_components < 1:
        raise ValueError(f"n_components: must be >= 1, got {n_components}")
    Qx, Qy = _pcs(X, n_components), _pcs(Y, n_components)
    return np.clip(np.linalg.svd(Qx.T @ Qy, compute_uv=False), 0.0, 1.0)


@dataclass(frozen=True)
class NeuralFit(Result):
    """A network compared with a recorded population (module docstring).

    ``r2`` per target unit, ``recorded``: 0/1 per unit (used to train the network),
    ``canonical``: the canonical correlations; scalars: ``r2_heldout``, ``r2_recorded``
    (means over those units, NaN where there are none), ``cca_mean``, ``procrustes``
    (angular, radians), ``dsa`` (angular, radians; NaN when not computed).
    """

    r2: np.ndarray
    recorded: np.ndarray
    canonical: np.ndarray
    r2_heldout: float
    r2_recorded: float
    r2_all: float
    cca_mean: float
    procrustes: float
    dsa: float

    def summary(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("r2_heldout", "r2_recorded", "r2_all", "cca_mean", "procrustes", "dsa")}

    def plot(self, path: str | Path | None = None):
        """Held-out R² per unit (recorded units dark) and the canonical correlations."""
        fig, (a, b) = _figure(2, 1, size=(4.5, 3.2))
        colour = np.where(self.recorded > 0, "C3", "C0")
        a.bar(np.arange(self.r2.size), self.r2, color=colour)
        a.set_xlabel("teacher unit (red: recorded)")
        a.set_ylabel("cross-validated R²")
        a.set_title(f"state R²: held-out {self.r2_heldout:.3f}, recorded {self.r2_recorded:.3f}")
        b.plot(np.arange(1, self.canonical.size + 1), self.canonical, "o-")
        b.set_ylim(0, 1.02)
        b.set_xlabel("canonical dimension")
        b.set_ylabel("canonical correlation")
        b.set_title(f"CCA mean {self.cca_mean:.3f}, Procrustes {self.procrustes:.3f} rad")
        return _finish(fig, path)


def neural_fit(states: Any, target: Any, mask: Any = None, recorded: Sequence[int] = (), *, folds: int = 5,
               ridge: float = 1e-3, n_components: int = 10, dsa_delays: int | None = 5, dsa_rank: int = 8,
               seed: int = 0, groups: Any = None) -> NeuralFit:
    """Compare ``states [K, T, N]`` with a recorded population ``target [K, T, U]`` (module
    docstring). ``recorded``: indices of the target units the network was trained on (the rest
    are held out). ``groups``: condition labels per trial for the R² folds (``state_r2``).
    ``dsa_delays=None`` skips DSA; DSA uses every time step of each trial (give
    trials cut to the scored window)."""
    H, Y, m = _check(states, target, mask)
    rec = np.zeros(Y.shape[-1])
    idx = np.asarray(list(recorded), int)
    if idx.size and (idx.min() < 0 or idx.max() >= Y.shape[-1]):
        raise ValueError(f"recorded: unit indices must lie in [0, {Y.shape[-1]}), got {idx.tolist()}")
    rec[idx] = 1
    r2 = state_r2(H, Y, m, folds, ridge, seed, groups)
    held = r2.r2[rec == 0]
    mean = lambda v: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")  # noqa: E731
    canon = cca(H, Y, n_components, m)
    proc = procrustes_distance(_flat(H, m), _flat(Y, m))
    d = float("nan")
    if dsa_delays is not None:
        d = float(dsa(H, Y, n_delays=dsa_delays, rank=dsa_rank, seed=seed).angular)
    return NeuralFit(r2.r2, rec, canon, mean(held), mean(r2.r2[rec > 0]), r2.mean,
                     float(canon.mean()) if canon.size else float("nan"), proc, d)


def teacher_trials(model: Any, task: Any, n_trials: int = 64, key: Any = None,
                   window: str = "movement") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(states [K, W, N], teacher [K, W, U], outputs [K, W, O], conditions [K] or None)`` of noise-free runs of ``model``
    on ``n_trials`` trials of ``task``, cut to the ``window`` period (``info["<window>_on"]`` to
    ``_off``, which must last the same number of steps in every trial) — for ``reaching``, the
    movement period of the teacher; ``conditions`` are the trials' ``info["target"]`` where the
    task has one. For a task without a teacher (``recorded``), the recorded
    columns of the targets over each trial's scored steps (``window`` ignored, all steps kept)."""
    import jax

    from ..objectives.data_constrained import recording_columns
    from ..tasks.compiled import sample_batch
    from ._dynamics import state_trajectories
    from ..models import run

    key = jax.random.PRNGKey(2024) if key is None else key
    batch = sample_batch(task, key, n_trials)
    H = np.asarray(state_trajectories(model, batch.inputs))
    _, out = run(model, batch.inputs)
    out = np.asarray(out)
    cond = np.asarray(batch.info["target"]) if "target" in batch.info else None
    if "teacher" not in batch.info:
        nb, _ = recording_columns(task)
        return H, np.asarray(batch.targets[..., nb:]), out, cond
    Y = np.asarray(batch.info["teacher"])
    on, off = np.asarray(batch.info[f"{window}_on"]), np.asarray(batch.info[f"{window}_off"])
    lengths = off - on
    if np.unique(lengths).size != 1:
        raise ValueError(f"window: the '{window}' period must last the same number of steps in every trial, "
                         f"got {sorted(set(lengths.tolist()))}")
    W = int(lengths[0])
    cut = lambda a: np.stack([a[k, on[k]:on[k] + W] for k in range(a.shape[0])])  # noqa: E731
    return cut(H), cut(Y), cut(out), cond
