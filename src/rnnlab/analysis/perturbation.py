"""Ablation and weight/τ perturbation of trained networks (Khajehabdollahi, Zeraati et al., ICLR 2024).

Method, as in the paper's ``compute_ablate_tau.py`` and ``accuracy_perturbation_ablation.py``:

* **Ablation** of a set of units S silences them: their recurrent row and column
  (``W[S, :] = W[:, S] = 0``), their input weights (``U[S, :] = 0``) and their readout column
  (``W_out[:, S] = 0``) are zeroed, so no ablated unit receives input from, or sends output
  to, anything. The bias ``b[S]`` is zeroed too (a deviation that changes no output, since the
  unit's outgoing weights are already zero, but leaves the unit's activity at φ(0)). GRU/LSTM:
  the rows of every gate (``W_h``, ``W_i``, ``b_h``, ``b_i``) and the column of ``W_h``; an
  ablated gated unit then stays at 0. LowRankRNN (``J = m nᵀ/N``): rows of ``m`` and ``n``.
  Units are ablated one at a time or cumulatively, in index order, by trained τ
  (fastest or slowest first, as the paper's 20 fastest / 20 slowest), or as "kick neurons":
  the units whose single ablation changes the metric most.
* **Perturbation** of the recurrent weights (or of τ) along a random Gaussian direction
  ``d ~ N(0, I)`` (Li et al., NeurIPS 2020, eq. 5, the paper's "normalized rnn")::

      normalized:      W ← W + ε ‖W‖_F d / ‖d‖_F      (relative Frobenius size exactly ε)
      multiplicative:  W ← W ⊙ (1 + ε d)
      additive:        W ← W + ε d

  ``perturbation_curve`` reports the metric for several ε along the same directions;
  ``retrain_after`` retrains a perturbed network with ``rnnlab.train`` until it passes a
  threshold again and reports the steps it took.

All metrics of one curve are computed on one fixed batch, so differences are paired.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import run
from ..models._base import _inverse_softplus
from ..models.gated import GRU, LSTM
from ..models.leaky_rnn import LeakyRNN
from ..models.low_rank_rnn import LowRankRNN
from ..tasks.compiled import sample_batch
from ..train import train
from ._results import Result, _figure, _finish

__all__ = [
    "AblationCurve", "PerturbationCurve", "Retraining",
    "ablate", "ablation_curve", "perturb", "perturbation_curve", "retrain_after",
]


# ---- evaluation ---------------------------------------------------------------------------
def _key(key: Any) -> jax.Array:
    return jax.random.PRNGKey(key) if isinstance(key, int) else key


@eqx.filter_jit
def _metric_jit(model, task, batch, key):
    _, outputs = run(model, batch.inputs, key)
    return task.metric(outputs, batch)


def _metric(model: Any, task: Any, batch: Any, key: Any) -> float:
    """The task metric of ``model`` on ``batch`` (one jitted program per model structure)."""
    return float(_metric_jit(model, task, batch, key))


# ---- ablation -------------------------------------------------------------------------------
def ablate(model: Any, units: Sequence[int] | np.ndarray) -> Any:
    """A copy of ``model`` with ``units`` silenced (see the module docstring); ``[]`` changes nothing.

    Raises:
        TypeError: for models other than LeakyRNN, LowRankRNN, GRU and LSTM.
        ValueError: a unit index outside ``0..N−1``.
    """
    n = model.hidden_size
    units = np.unique(np.asarray(units, dtype=int).ravel())
    if units.size and (units.min() < 0 or units.max() >= n):
        raise ValueError(f"units: indices must lie in 0..{n - 1} (got {units.tolist()})")
    if not isinstance(model, (LeakyRNN, LowRankRNN, GRU, LSTM)):
        raise TypeError(f"ablate: {type(model).__name__} is not supported (LeakyRNN, LowRankRNN, GRU, LSTM)")
    keep = np.ones(n, np.float32)
    keep[units] = 0.0
    return _ablate(model, jnp.asarray(keep))


@eqx.filter_jit
def _ablate(model: Any, k: jax.Array) -> Any:
    model = eqx.tree_at(lambda m: m.readout_layer.weight, model, model.readout_layer.weight * k[None, :])
    if isinstance(model, LeakyRNN):
        return eqx.tree_at(
            lambda m: (m.W, m.U, m.b), model, (model.W * k[:, None] * k[None, :], model.U * k[:, None], model.b * k)
        )
    if isinstance(model, LowRankRNN):
        return eqx.tree_at(
            lambda m: (m.m, m.n, m.U, m.b), model,
            (model.m * k[:, None], model.n * k[:, None], model.U * k[:, None], model.b * k),
        )
    kg = jnp.tile(k, model.cfg.n_gates)
    return eqx.tree_at(
        lambda m: (m.W_h, m.W_i, m.b_h, m.b_i), model,
        (model.W_h * kg[:, None] * k[None, :], model.W_i * kg[:, None], model.b_h * kg, model.b_i * kg),
    )


@dataclass(frozen=True)
class AblationCurve(Result):
    """Task metric as units are ablated.

    Attributes:
        units: ``[k]`` the units in ablation order; metric: ``[k]`` the metric with unit
        ``units[j]`` ablated alone (``cumulative=False``) or with ``units[:j+1]`` ablated;
        baseline: the intact network's metric; taus: ``[N]`` single-neuron τ (NaN if the
        model has none); order: "index", "tau" or "kick"; slowest: τ order slowest first.
    """

    units: np.ndarray
    metric: np.ndarray
    taus: np.ndarray
    baseline: float
    order: str
    cumulative: bool
    slowest: bool
    metric_name: str
    higher_is_better: bool

    @property
    def drop(self) -> np.ndarray:
        """How much worse than the intact network each entry is (positive = worse)."""
        d = self.baseline - self.metric
        return d if self.higher_is_better else -d

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        s.update(n_ablated=len(self.units), max_drop=float(np.max(self.drop)) if len(self.units) else 0.0)
        return s

    def plot(self, path: str | Path | None = None):
        """The metric against the ablation sequence, with the intact baseline."""
        fig, (ax,) = _figure(size=(5, 3.5))
        x = np.arange(1, len(self.units) + 1)
        ax.plot(x, self.metric, "k.-")
        ax.axhline(self.baseline, color="tab:blue", ls="--", label="intact")
        what = {"index": "by index", "kick": "by single-ablation effect",
                "tau": f"by τ, {'slowest' if self.slowest else 'fastest'} first"}[self.order]
        ax.set(xlabel=f"{'units ablated: first j' if self.cumulative else 'ablated unit: j-th'} ({what})",
               ylabel=self.metric_name, title="cumulative ablation" if self.cumulative else "single-unit ablation")
        ax.legend(fontsize=8)
        return _finish(fig, path)


def ablation_curve(
    model: Any,
    task: Any,
    key: Any,
    order: Literal["index", "tau", "kick"] = "index",
    k: int | None = None,
    *,
    units: Sequence[int] | None = None,
    slowest: bool = False,
    cumulative: bool = False,
    batch_size: int = 256,
) -> AblationCurve:
    """Metric of ``model`` on ``task`` when its units are ablated one at a time or cumulatively.

    Args:
        order: ``"index"``: ``units`` in the given order (default ``0..N−1``); ``"tau"``: by the
            model's τ, fastest first (``slowest=True``: slowest first); ``"kick"``: by the size of
            the metric change when the unit alone is ablated, largest first.
        k: use only the first ``k`` units of the order (default all).
        cumulative: ablate ``units[:j+1]`` at entry ``j`` instead of ``units[j]`` alone.
        batch_size: trials of the one evaluation batch sampled from ``key``.
    """
    k_data, k_run = jax.random.split(_key(key))
    batch = sample_batch(task, k_data, batch_size)
    base = _metric(model, task, batch, k_run)
    n = model.hidden_size
    taus = model.taus()
    taus = np.full(n, np.nan) if taus is None else np.asarray(taus, dtype=np.float64)

    def one(us):
        return _metric(ablate(model, us), task, batch, k_run)

    single = None
    if order == "index":
        seq = np.arange(n) if units is None else np.asarray(units, dtype=int).ravel()
    elif order == "tau":
        if np.isnan(taus).all():
            raise TypeError(f"ablation_curve: {type(model).__name__} has no time constants τ for order='tau'")
        seq = np.argsort(-taus if slowest else taus, kind="stable")
    elif order == "kick":
        single = np.array([one([u]) for u in range(n)])
        seq = np.argsort(-np.abs(single - base), kind="stable")
    else:
        raise ValueError(f"order: must be 'index', 'tau' or 'kick' (got {order!r})")
    seq = seq[:k] if k is not None else seq
    if cumulative:
        metric = np.array([one(seq[: j + 1]) for j in range(len(seq))])
    elif single is not None:
        metric = single[seq]
    else:
        metric = np.array([one([u]) for u in seq])
    return AblationCurve(seq, metric, taus, base, order, cumulative, slowest, task.metric_name, task.higher_is_better)


# ---- perturbation -------------------------------------------------------------------------
def _recurrent_name(model: Any) -> str:
    for name in ("W", "W_h"):
        if isinstance(getattr(model, name, None), jax.Array):
            return name
    raise TypeError(f"{type(model).__name__} has no single recurrent weight matrix (W or W_h)")


def _displace(x: jax.Array, d: jax.Array, eps: float, kind: str, ref: jax.Array) -> jax.Array:
    if kind == "normalized":
        return x + eps * jnp.linalg.norm(ref) * d / jnp.linalg.norm(d)
    if kind == "multiplicative":
        return x * (1 + eps * d)
    if kind == "additive":
        return x + eps * d
    raise ValueError(kind)


def perturb(
    model: Any,
    eps: float,
    key: Any,
    target: Literal["weights", "tau"] = "weights",
    kind: Literal["normalized", "multiplicative", "additive"] = "normalized",
) -> Any:
    """A copy of ``model`` perturbed along the Gaussian direction drawn from ``key``.

    ``target="weights"``: the recurrent matrix (``W`` of a LeakyRNN — the stored matrix
    before Dale signs; on a masked network only existing connections are moved and ``‖W‖``
    is taken over them — or ``W_h`` of a GRU/LSTM). ``target="tau"``: the time constants
    ``τ``, kept ``≥ dt (1 + 10⁻³)`` afterwards (so the normalised size is exact unless that
    bound bites). ``eps = 0`` returns the model unchanged.
    """
    if target not in ("weights", "tau"):
        raise ValueError(f"target: must be 'weights' or 'tau' (got {target!r})")
    if kind not in ("normalized", "multiplicative", "additive"):
        raise ValueError(f"kind: must be 'normalized', 'multiplicative' or 'additive' (got {kind!r})")
    if eps == 0:
        return model
    if target == "tau" and (model.taus() is None or not hasattr(model, "tau_raw")):
        raise TypeError(f"perturb: {type(model).__name__} has no trainable time constants τ")
    name = _recurrent_name(model) if target == "weights" else "tau_raw"
    return _perturb(model, jnp.asarray(eps, jnp.float32), _key(key), name, kind)


@eqx.filter_jit
def _perturb(model: Any, eps: jax.Array, key: jax.Array, name: str, kind: str) -> Any:
    if name == "tau_raw":
        tau, dt = model.taus(), model.cfg.dt
        d = jax.random.normal(key, tau.shape, tau.dtype)
        new = jnp.maximum(_displace(tau, d, eps, kind, tau), dt * (1 + 1e-3))
        raw = model.tau_raw_for(new) if hasattr(model, "tau_raw_for") else _inverse_softplus(new - dt)
        return eqx.tree_at(lambda m: m.tau_raw, model, raw)
    W = getattr(model, name)
    d = jax.random.normal(key, W.shape, W.dtype)
    mask = getattr(model, "mask", None) if name == "W" else None
    ref = W
    if mask is not None:
        on = mask > 0.5
        d, ref = jnp.where(on, d, 0.0), jnp.where(on, W, 0.0)
    return eqx.tree_at(lambda m: getattr(m, name), model, _displace(W, d, eps, kind, ref))


@dataclass(frozen=True)
class PerturbationCurve(Result):
    """Task metric under random perturbations of growing size.

    Attributes:
        eps: ``[E]`` perturbation sizes; metric: ``[E, D]`` metric per size and direction (the
        same D directions at every size); baseline: the unperturbed metric.
    """

    eps: np.ndarray
    metric: np.ndarray
    baseline: float
    target: str
    kind: str
    metric_name: str
    higher_is_better: bool

    @property
    def drop(self) -> np.ndarray:
        """``[E, D]`` how much worse than unperturbed (positive = worse)."""
        d = self.baseline - self.metric
        return d if self.higher_is_better else -d

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        s["mean_drop"] = self.drop.mean(axis=1).tolist()
        return s

    def plot(self, path: str | Path | None = None):
        """Metric against ε: every direction (thin) and the mean (thick)."""
        fig, (ax,) = _figure(size=(5, 3.5))
        ax.plot(self.eps, self.metric, color="0.7", lw=0.8)
        ax.plot(self.eps, self.metric.mean(axis=1), "k.-", lw=2, label="mean")
        ax.axhline(self.baseline, color="tab:blue", ls="--", label="unperturbed")
        ax.set(xlabel=f"ε ({self.kind}, {self.target})", ylabel=self.metric_name, title="perturbation")
        ax.legend(fontsize=8)
        return _finish(fig, path)


def perturbation_curve(
    model: Any,
    task: Any,
    key: Any,
    eps_values: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0),
    n_directions: int = 10,
    *,
    target: Literal["weights", "tau"] = "weights",
    kind: Literal["normalized", "multiplicative", "additive"] = "normalized",
    batch_size: int = 256,
) -> PerturbationCurve:
    """Metric of ``model`` perturbed by each ε along ``n_directions`` random directions (see ``perturb``)."""
    k_data, k_run, k_dir = jax.random.split(_key(key), 3)
    batch = sample_batch(task, k_data, batch_size)
    base = _metric(model, task, batch, k_run)
    dirs = jax.random.split(k_dir, n_directions)
    eps = np.asarray(eps_values, dtype=np.float64)
    metric = np.array(
        [[_metric(perturb(model, float(e), d, target, kind), task, batch, k_run) for d in dirs] for e in eps]
    )
    return PerturbationCurve(eps, metric, base, target, kind, task.metric_name, task.higher_is_better)


# ---- retraining -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Retraining(Result):
    """Recovery of a perturbed network by retraining.

    Attributes:
        steps: ``[K]`` training steps at each evaluation of the retraining run.
        metric: ``[K]`` its evaluation metric.
        metric_before: the metric of the original network on one fixed batch.
        metric_perturbed: the same for the perturbed network.
        metric_after: the same for the retrained network.
        steps_to_recover: steps until the threshold was passed (0 if the perturbed network
            already passed it, −1 if it never did within ``max_steps``).
    """

    steps: np.ndarray
    metric: np.ndarray
    eps: float
    threshold: float
    metric_before: float
    metric_perturbed: float
    metric_after: float
    steps_to_recover: int
    recovered: bool
    metric_name: str

    def plot(self, path: str | Path | None = None):
        """The retraining run's metric against steps, with the threshold and the original level."""
        fig, (ax,) = _figure(size=(5, 3.5))
        ax.plot(np.r_[0, self.steps], np.r_[self.metric_perturbed, self.metric], "k.-")
        ax.axhline(self.threshold, color="tab:red", ls=":", label="threshold")
        ax.axhline(self.metric_before, color="tab:blue", ls="--", label="before perturbation")
        ax.set(xlabel="retraining step", ylabel=self.metric_name,
               title=f"ε = {self.eps:g}: " + (f"recovered in {self.steps_to_recover} steps" if self.recovered
                                                else "not recovered"))
        ax.legend(fontsize=8)
        return _finish(fig, path)


def retrain_after(
    model: Any,
    task: Any,
    eps: float,
    key: Any,
    threshold: float,
    max_steps: int = 2000,
    *,
    target: Literal["weights", "tau"] = "weights",
    kind: Literal["normalized", "multiplicative", "additive"] = "normalized",
    eval_batch: int = 256,
    **train_settings: Any,
) -> Retraining:
    """Perturb ``model`` by ``eps`` then retrain it with ``rnnlab.train`` until ``threshold``.

    The before/perturbed/after metrics use one batch of ``eval_batch`` trials from ``key``;
    ``train_settings`` go to ``train`` (``lr``, ``batch_size``, ``eval_every`` ...). The steps
    to recover are resolved to ``eval_every`` (train checks the threshold at evaluations).
    """
    k_data, k_run, k_dir, k_train = jax.random.split(_key(key), 4)
    batch = sample_batch(task, k_data, eval_batch)
    before = _metric(model, task, batch, k_run)
    pert = perturb(model, eps, k_dir, target, kind)
    hit = _metric(pert, task, batch, k_run)
    if bool(task.passes(hit, threshold)):
        empty = np.zeros(0)
        return Retraining(empty.astype(int), empty, eps, threshold, before, hit, hit, 0, True, task.metric_name)
    res = train(pert, task, key=k_train, steps=max_steps, threshold=threshold, progress=False, **train_settings)
    h = res.history
    recovered = h.status[0] == "converged"
    after = _metric(res.model, task, batch, k_run)
    return Retraining(
        np.asarray(h.step, dtype=int), np.asarray(h.metric, dtype=np.float64)[:, 0], eps, threshold,
        before, hit, after, int(h.stop_step[0]) if recovered else -1, recovered, task.metric_name,
    )
