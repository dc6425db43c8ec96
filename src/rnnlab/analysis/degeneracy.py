"""Solution degeneracy across task-trained networks (Huang, Singh, Martinelli & Rajan, NeurIPS 2025).

How differently do networks trained on the same task solve it? Three levels, each with a
null that measures what one and the same network gives on resampled trials:

* **Behaviour**: the loss of every network on the out-of-distribution task
  ``task.harder(ood_factor)`` (trials or delays ``ood_factor`` × longer), all on the same
  ``n_trials`` trials; degeneracy = standard deviation across networks (``ddof=1``), also
  given as the coefficient of variation ``std / mean``. Null: each network's loss on
  ``n_null`` independent OOD batches; the std (and CV) across batches, averaged over networks.
* **Dynamics**: the hidden-state trajectories of all networks on the same ``n_trials``
  in-distribution trials; a HAVOK DMD per network (``rnnlab.analysis.dmd``), then the DSA
  distance ``min_{C∈O(r)} ‖A_i − C A_j Cᵀ‖`` for every pair (``similarity_transform_distance``);
  degeneracy = mean over pairs. Null: each network against itself on a second, independent
  set of trials (its DMD refitted), averaged over networks.
* **Weights**: the permutation-aligned Frobenius distance of every pair
  (``rnnlab.analysis.weight_distance``) divided by the number of parameters compared;
  degeneracy = mean over pairs. Null: 0 by construction — weights do not depend on trials,
  so a network compared with itself is at distance 0 under the identity permutation.

All runs are noise-free (a model's private noise is switched off), so identical networks give
exactly identical behaviour and trajectories.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import equinox as eqx
import jax
import numpy as np
from threadpoolctl import threadpool_limits

from ..models import run
from ..tasks.compiled import sample_batch
from ..train import member
from ._dynamics import _deterministic, state_trajectories
from ._results import Result, _figure, _finish
from .dsa import dmd, similarity_transform_distances
from .similarity import _unit_params, _weight_distance

__all__ = ["DegeneracyResult", "degeneracy"]


@dataclass(frozen=True)
class DegeneracyResult(Result):
    """Behavioural, dynamical and weight degeneracy of a set of networks, with their nulls.

    Attributes:
        names: ``[E]`` network labels.
        ood_loss, ood_metric: ``[E]`` each network's loss and task metric on the shared OOD trials.
        null_loss: ``[E, n_null]`` each network's OOD loss on independent resampled batches.
        behaviour, behaviour_cv: std (and std/mean) of ``ood_loss`` across networks;
        behaviour_null, behaviour_cv_null: the same across resampled batches, mean over networks.
        dsa_distances: ``[E, E]`` pairwise DSA distance (``dsa_score``); dsa_null: ``[E]`` each
        network against itself on independent trials; dynamics, dynamics_null: their means.
        weight_distances: ``[E, E]`` permutation-aligned distance / parameter count;
        weight_distances_unaligned: the same without alignment; weights: mean over pairs;
        weight_null: 0 by construction.
    """

    names: np.ndarray
    ood_loss: np.ndarray
    ood_metric: np.ndarray
    null_loss: np.ndarray
    dsa_distances: np.ndarray
    dsa_null: np.ndarray
    weight_distances: np.ndarray
    weight_distances_unaligned: np.ndarray
    behaviour: float
    behaviour_cv: float
    behaviour_null: float
    behaviour_cv_null: float
    dynamics: float
    dynamics_null: float
    weights: float
    weight_null: float
    ood_factor: float
    n_trials: int
    dsa_score: str
    metric_name: str

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        s["n_networks"] = len(self.names)
        return s

    def levels(self) -> list[tuple[str, float, float]]:
        """``(level, degeneracy, null)`` rows for tables."""
        return [
            ("behaviour (std of OOD loss)", self.behaviour, self.behaviour_null),
            ("behaviour (CV of OOD loss)", self.behaviour_cv, self.behaviour_cv_null),
            (f"dynamics (mean DSA, {self.dsa_score})", self.dynamics, self.dynamics_null),
            ("weights (aligned distance / n_params)", self.weights, self.weight_null),
        ]

    def plot(self, path: str | Path | None = None):
        """OOD loss per network (with the resampling spread), the DSA and weight distance matrices."""
        fig, (a0, a1, a2) = _figure(3, size=(4.2, 3.8))
        x = np.arange(len(self.names))
        a0.errorbar(x, self.null_loss.mean(1), yerr=self.null_loss.std(1, ddof=1) if self.null_loss.shape[1] > 1
                    else None, fmt="none", ecolor="0.6", capsize=3, label="resampled batches (null)")
        a0.plot(x, self.ood_loss, "ko", label="shared OOD trials")
        a0.set(xticks=x, xlabel="network", ylabel=f"loss on ×{self.ood_factor:g} task",
               title=f"behaviour: std {self.behaviour:.3g} (null {self.behaviour_null:.3g})")
        a0.set_xticklabels(self.names, rotation=90, fontsize=7)
        a0.legend(fontsize=7)
        for ax, D, t in ((a1, self.dsa_distances, f"dynamics: DSA {self.dynamics:.3g} (null {self.dynamics_null:.3g})"),
                         (a2, self.weight_distances, f"weights: {self.weights:.3g} (null 0)")):
            im = ax.imshow(D, cmap="viridis")
            ax.set(xticks=x, yticks=x, title=t)
            ax.set_xticklabels(self.names, rotation=90, fontsize=7)
            ax.set_yticklabels(self.names, fontsize=7)
            fig.colorbar(im, ax=ax, shrink=0.8)
        return _finish(fig, path)


def _as_list(models: Any) -> list[Any]:
    """A list of single models from a list, or from a model stacked over a leading member axis."""
    if isinstance(models, (list, tuple)):
        return list(models)
    w = models.readout_layer.weight
    if w.ndim == 3:
        return [member(models, e) for e in range(w.shape[0])]
    raise ValueError("models: give a list of networks or an ensemble stacked over a leading member axis")


@eqx.filter_jit
def _loss_metric(model, task, batch):
    _, out = run(model, batch.inputs)
    return task.loss_fn(out, batch), task.metric(out, batch)


def _pair_weight_distances(nets: list[Any], iu: tuple[np.ndarray, np.ndarray]) -> list[tuple[int, int, Any]]:
    """``weight_distance`` of every pair ``(iu[0][p], iu[1][p])``, one thread per core: its time
    is in scipy's assignment solver and BLAS, which release the GIL (1,225 pairs per group).
    BLAS is held to one thread meanwhile: its own threads on these small products only contend
    with the workers (on 2 cores, 2 workers with 2 BLAS threads each ran slower than one loop)."""
    params = [_unit_params(m) for m in nets]  # once per network (JAX arrays to float64), not per pair

    def one(ij):
        return ij[0], ij[1], _weight_distance(params[ij[0]], params[ij[1]])

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
        return list(ex.map(one, zip(*iu)))


def _mean_offdiag(D: np.ndarray) -> float:
    iu = np.triu_indices(len(D), 1)
    return float(D[iu].mean())


def _std_cv(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    s = np.std(x, axis=axis, ddof=1)
    m = np.mean(x, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return s, np.where(s == 0, 0.0, s / np.abs(m))


def degeneracy(
    models: Any,
    task: Any,
    key: Any = 0,
    *,
    ood_factor: float = 2.0,
    n_trials: int = 64,
    n_null: int = 8,
    n_delays: int = 10,
    rank: int = 10,
    delay_interval: int = 1,
    dsa_score: Literal["euclidean", "angular"] = "euclidean",
    dsa_starts: int = 8,
    dsa_steps: int = 400,
    names: Sequence[str] | None = None,
) -> DegeneracyResult:
    """Degeneracy of ``models`` (a list, or an ensemble stacked over its first axis) on ``task``.

    Args:
        key: integer seed or PRNG key for all trials.
        ood_factor: the OOD task is ``task.harder(ood_factor)`` (Huang et al.: 2).
        n_trials: trials of the shared OOD batch and of each DSA trial set.
        n_null: independent OOD batches of the behavioural null.
        n_delays: delays of the DMD of DSA.
        rank: rank of the DMD of DSA (capped at ``n_delays · D``).
        delay_interval: steps between delays of the DMD of DSA.
        dsa_score: "euclidean" (``‖A − C B Cᵀ‖_F``, Huang et al.) or "angular" (radians).
        dsa_starts: optimiser starts of ``similarity_transform_distance``.
        dsa_steps: optimiser steps of ``similarity_transform_distance``.
        names: network labels (default ``0..E−1``).
    """
    if dsa_score not in ("euclidean", "angular"):
        raise ValueError(f"dsa_score: must be 'euclidean' or 'angular' (got {dsa_score!r})")
    nets = [_deterministic(m) for m in _as_list(models)]
    E = len(nets)
    if E < 2:
        raise ValueError(f"models: degeneracy needs at least 2 networks (got {E})")
    if n_null < 2:
        raise ValueError(f"n_null: needs at least 2 resampled batches (got {n_null})")
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_ood, k_null, k_dyn, k_dyn2 = jax.random.split(key, 4)

    # behaviour
    ood = task.harder(ood_factor)
    shared = sample_batch(ood, k_ood, n_trials)
    lm = np.array([[float(v) for v in _loss_metric(m, ood, shared)] for m in nets])
    batches = [sample_batch(ood, k, n_trials) for k in jax.random.split(k_null, n_null)]
    null_loss = np.array([[float(_loss_metric(m, ood, b)[0]) for b in batches] for m in nets])
    b_std, b_cv = _std_cv(lm[:, 0], 0)
    n_std, n_cv = _std_cv(null_loss, 1)

    # dynamics
    x1, x2 = sample_batch(task, k_dyn, n_trials).inputs, sample_batch(task, k_dyn2, n_trials).inputs
    idx = 0 if dsa_score == "euclidean" else 1

    def fit(m, x):
        s = np.asarray(state_trajectories(m, x), dtype=np.float64)
        return dmd(s, n_delays, min(rank, n_delays * s.shape[-1]), delay_interval).A

    A1 = [fit(m, x1) for m in nets]
    A2 = [fit(m, x2) for m in nets]

    # every pair and the E null pairs (each network on two trial sets) in one batched optimisation
    iu = np.triu_indices(E, 1)
    lhs = [A1[i] for i in iu[0]] + A1
    rhs = [A1[j] for j in iu[1]] + A2
    dists = similarity_transform_distances(lhs, rhs, dsa_starts, dsa_steps)[idx]
    D = np.zeros((E, E))
    D[iu] = dists[: len(iu[0])]
    D = D + D.T
    dsa_null = dists[len(iu[0]):]
    W, Wu = np.zeros((E, E)), np.zeros((E, E))
    for i, j, wd in _pair_weight_distances(nets, iu):
        W[i, j] = W[j, i] = wd.normalized
        Wu[i, j] = Wu[j, i] = wd.unaligned / wd.n_params

    labels = np.array([str(s) for s in (names if names is not None else range(E))])
    return DegeneracyResult(
        names=labels, ood_loss=lm[:, 0], ood_metric=lm[:, 1], null_loss=null_loss,
        dsa_distances=D, dsa_null=dsa_null, weight_distances=W, weight_distances_unaligned=Wu,
        behaviour=float(b_std), behaviour_cv=float(b_cv), behaviour_null=float(n_std.mean()),
        behaviour_cv_null=float(n_cv.mean()), dynamics=_mean_offdiag(D), dynamics_null=float(dsa_null.mean()),
        weights=_mean_offdiag(W), weight_null=0.0, ood_factor=float(ood_factor), n_trials=int(n_trials),
        dsa_score=dsa_score, metric_name=task.metric_name,
    )
