"""Magnitude pruning of recurrent weights, with or without fine-tuning.

Method (magnitude pruning; Han et al. 2015, "Learning both weights and connections"): to
reach sparsity ``s`` of an ``N_r × N`` recurrent matrix, the ``round(s · N_r N)`` entries of
smallest ``|W_ij|`` are set to zero (ties broken by index), so that exactly that many entries
are zero (more if the matrix already had more zeros, e.g. a sparse or self-connection-free
LeakyRNN, whose absent connections count as the smallest)::

    M_ij = 0  for the k smallest |W_ij|,  1 otherwise;      W ← W ⊙ M

LeakyRNN: ``W`` is the effective matrix ``recurrent_weights()`` (Dale signs, existing masks);
the pruning mask is stored in the model's fixed connectivity mask ``M`` (``mask`` field), so
every step uses ``where(M, W, 0)`` and the pruned connections stay exactly zero however the
model is trained further. GRU/LSTM: ``W_h`` (all gates) is pruned; ``finetune`` trains with an
optimiser whose updates are zeroed at the pruned entries (gradient masking before gradient
clipping and Adam, so the remaining weights see exactly the gradients of the masked network).

``pruning_curve`` reports the task metric at each sparsity, before and (optionally) after
``finetune_steps`` of retraining with ``rnnlab.train``, on one fixed evaluation batch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..models.gated import GRU, LSTM
from ..models.leaky_rnn import LeakyRNN
from ..tasks.compiled import sample_batch
from ..train import TrainConfig, TrainResult, train
from ..train.optim import make_optimizer
from ._results import Result, _figure, _finish
from .perturbation import _key, _metric

__all__ = ["PruningCurve", "prune", "finetune", "recurrent_sparsity", "pruning_curve"]


def _check(model: Any) -> None:
    if not isinstance(model, (LeakyRNN, GRU, LSTM)):
        raise TypeError(f"pruning: {type(model).__name__} is not supported (LeakyRNN, GRU, LSTM)")


@eqx.filter_jit
def _pruned_matrix(model: Any) -> jax.Array:
    return model.recurrent_weights() if isinstance(model, LeakyRNN) else model.W_h


def recurrent_sparsity(model: Any) -> float:
    """Fraction of exactly-zero entries of the recurrent matrix that pruning acts on."""
    _check(model)
    return float(np.mean(np.asarray(_pruned_matrix(model)) == 0))


def _keep_mask(W: np.ndarray, sparsity: float) -> np.ndarray:
    """0/1 mask zeroing the ``round(sparsity · size)`` entries of smallest magnitude."""
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparsity: must lie in [0, 1] (got {sparsity})")
    flat = np.abs(W).ravel()
    keep = np.ones(flat.size, np.float32)
    keep[np.argsort(flat, kind="stable")[: int(round(sparsity * flat.size))]] = 0.0
    return keep.reshape(W.shape)


def prune(model: Any, sparsity: float) -> Any:
    """A copy of ``model`` with the smallest-magnitude recurrent weights zeroed (see module docstring)."""
    _check(model)
    return _apply(model, jnp.asarray(_keep_mask(np.asarray(_pruned_matrix(model)), sparsity)))


@eqx.filter_jit
def _apply(model: Any, keep: jax.Array) -> Any:
    if isinstance(model, LeakyRNN):
        mask = keep if model.mask is None else keep * model.mask
        return eqx.tree_at(lambda m: (m.W, m.mask), model, (model.W * mask, mask), is_leaf=lambda x: x is None)
    return eqx.tree_at(lambda m: m.W_h, model, model.W_h * keep)


def _freeze_zeros(name: str) -> optax.GradientTransformation:
    """Zero the updates of ``params.<name>`` wherever that matrix is exactly 0 when training starts."""

    def init(params):
        return getattr(params, name) != 0

    def update(updates, keep, params=None):
        g = jnp.where(keep, getattr(updates, name), 0.0)
        return eqx.tree_at(lambda u: getattr(u, name), updates, g), keep

    return optax.GradientTransformation(init, update)


@functools.lru_cache(maxsize=32)
def _masked_optimizer(name: str, base: optax.GradientTransformation) -> optax.GradientTransformation:
    # cached: jitted training programs take the optimiser as a static argument
    freeze = _freeze_zeros(name)
    return optax.chain(freeze, base, freeze)


def finetune(model: Any, task: Any, key: Any, steps: int, **train_settings: Any) -> TrainResult:
    """Train a pruned ``model`` for ``steps`` with ``rnnlab.train``, keeping its pruned weights at zero.

    LeakyRNN: plain ``train`` (the mask does it). GRU/LSTM: the optimiser built from
    ``train_settings`` wrapped so that entries of ``W_h`` that are zero at the start never move.
    """
    if isinstance(model, LeakyRNN):
        return train(model, task, key=key, steps=steps, progress=False, **train_settings)
    _check(model)
    cfg = TrainConfig(steps=steps, **train_settings)
    opt = _masked_optimizer("W_h", make_optimizer(cfg))
    return train(model, task, cfg, key=key, optimizer=opt, progress=False)


@dataclass(frozen=True)
class PruningCurve(Result):
    """Task metric of a network pruned to growing sparsities.

    Attributes:
        sparsity: ``[S]`` target sparsities.
        achieved: ``[S]`` fraction of zero recurrent weights actually reached.
        metric: ``[S]`` metric after pruning.
        metric_finetuned: ``[S]`` after ``finetune_steps`` of retraining (NaN when
            ``finetune_steps = 0``).
        baseline: the unpruned network's metric.
    """

    sparsity: np.ndarray
    achieved: np.ndarray
    metric: np.ndarray
    metric_finetuned: np.ndarray
    baseline: float
    finetune_steps: int
    metric_name: str
    higher_is_better: bool

    def plot(self, path: str | Path | None = None):
        """Metric against sparsity, pruned and fine-tuned."""
        fig, (ax,) = _figure(size=(5, 3.5))
        ax.plot(self.achieved, self.metric, "k.-", label="pruned")
        if self.finetune_steps:
            ax.plot(self.achieved, self.metric_finetuned, ".-", color="tab:orange",
                    label=f"+ {self.finetune_steps} fine-tuning steps")
        ax.axhline(self.baseline, color="tab:blue", ls="--", label="unpruned")
        ax.set(xlabel="sparsity of recurrent weights", ylabel=self.metric_name, title="magnitude pruning")
        ax.legend(fontsize=8)
        return _finish(fig, path)


def pruning_curve(
    model: Any,
    task: Any,
    key: Any,
    sparsities: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 0.9, 0.95),
    finetune_steps: int = 0,
    *,
    eval_batch: int = 256,
    **train_settings: Any,
) -> PruningCurve:
    """Metric of ``model`` pruned to each sparsity, and after ``finetune`` if ``finetune_steps > 0``.

    The metric is measured on one batch of ``eval_batch`` trials from ``key``;
    ``train_settings`` (``lr``, ``batch_size``, ``eval_every`` ...) go to ``finetune``.
    """
    k_data, k_run, k_train = jax.random.split(_key(key), 3)
    batch = sample_batch(task, k_data, eval_batch)
    base = _metric(model, task, batch, k_run)
    s = np.asarray(sparsities, dtype=np.float64)
    achieved, metric, tuned = (np.full(len(s), np.nan) for _ in range(3))
    for i, sp in enumerate(s):
        pruned = prune(model, float(sp))
        achieved[i] = recurrent_sparsity(pruned)
        metric[i] = _metric(pruned, task, batch, k_run)
        if finetune_steps > 0:
            res = finetune(pruned, task, jax.random.fold_in(k_train, i), finetune_steps, **train_settings)
            tuned[i] = _metric(res.model, task, batch, k_run)
    return PruningCurve(s, achieved, metric, tuned, base, int(finetune_steps), task.metric_name, task.higher_is_better)
