"""Evaluate a trained network (or a stacked ensemble) on fresh trials of a task.

``evaluate(model, task, key, n_trials)`` samples one batch of ``n_trials`` trials from
``key``, runs the model on it and reports what training reports at an evaluation:

- ``loss``: the task's training loss on the batch (``task.loss_fn``): the masked MSE
  ``Σ m (y − y*)² / Σ m``, or the masked cross-entropy summed over readout heads
  (``rnnlab.losses``). The model's regulariser is *not* included.
- ``metric``: the task's metric (``task.metric``): MSE, or the accuracy averaged over the
  scored heads, accuracy being the fraction of scored positions where the arg-max class is
  the target class.
- ``head_metrics``: the metric per readout head (``task.head_metrics``; NaN for a head the
  batch does not score, e.g. heads above N in a curriculum layout).

The same key gives the same numbers. The key samples the batch and also drives the model's
private noise (as in training's evaluation), so ``evaluate(model, task,
fold_in(fold_in(member_key, 2), k), eval_batch_size)`` repeats evaluation ``k`` of a run.

For a binary metric measured on ``n`` independent trials with accuracy ``p``, the standard
error is ``sqrt(p (1 − p) / n)``. The memory tasks (N-parity, N-DMS) draw one sequence length
per batch, so trials of one batch share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from .errors import ConfigError
from .models import RecurrentModel, run
from .tasks import Task
from .train.preflight import check_types

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True)
class Evaluation:
    """The result of ``evaluate``.

    Attributes:
        loss: task loss, a float (an array ``[E]`` for an ensemble).
        metric: task metric (``[E]`` for an ensemble).
        head_metrics: metric per readout head ``[H]`` (``[E, H]`` for an ensemble).
        n_trials: trials evaluated (per member).
    """

    loss: Any
    metric: Any
    head_metrics: np.ndarray
    n_trials: int

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (lists for arrays; NaN kept as float NaN)."""
        return {
            "loss": np.asarray(self.loss).tolist(), "metric": np.asarray(self.metric).tolist(),
            "head_metrics": np.asarray(self.head_metrics).tolist(), "n_trials": self.n_trials,
        }


def _one(model: RecurrentModel, task: Task, key, n_trials: int):
    batch = task.sample(key, n_trials)
    _, outputs = run(model, batch.inputs, key)
    return task.loss_fn(outputs, batch), task.metric(outputs, batch), task.head_metrics(outputs, batch)


_single = eqx.filter_jit(_one)
_stacked = eqx.filter_jit(eqx.filter_vmap(_one, in_axes=(0, None, None, None)))


def _layout(task: Task, output_size: int) -> Task:
    """A levelled task laid out for a model with more heads (a curriculum model with
    ``max_n`` heads evaluated at level n): the same task with ``n_heads = output_size / C``."""
    c = task.n_classes or 1
    if task.has_levels and output_size != task.n_outputs and output_size % c == 0 and output_size // c >= task.n:
        return type(task)(**{**task.params(), "n_heads": output_size // c})
    return task


def _is_stacked(model: RecurrentModel, task: Task) -> bool:
    """Whether every array of ``model`` has one more axis than a model built from its config."""
    shapes = eqx.filter_eval_shape(model.cfg.build, task.n_inputs, model.output_size, jax.random.PRNGKey(0))
    ref = [x.ndim for x in jax.tree.leaves(shapes) if isinstance(x, jax.ShapeDtypeStruct)]
    got = [jnp.ndim(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]
    if len(ref) != len(got):
        raise ConfigError("model: its arrays do not match a model built from its config")
    return all(g == r + 1 for g, r in zip(got, ref))


def evaluate(
    model: RecurrentModel,
    task: Task,
    key: PRNGKeyArray | int,
    n_trials: int = 512,
    *,
    harder: float | None = None,
    ensemble: bool | None = None,
) -> Evaluation:
    """Loss and metric of ``model`` on ``n_trials`` fresh trials of ``task`` (module docstring).

    Args:
        model: a model, or an ensemble stacked along a leading member axis (``TrainResult.model``).
        task: the task; a levelled task (``nparity``/``ndms``) at level n is laid out for the
            model's heads, so a curriculum model with ``max_n`` heads is scored on the heads
            the task scores at n.
        key: PRNG key or integer seed of the batch (and of the model's noise).
        n_trials: trials in the batch.
        harder: evaluate on ``task.harder(harder)`` (longer trials: out of distribution).
        ensemble: whether ``model`` is stacked; ``None`` detects it (each array has one more
            axis than a model built from ``model.cfg``). An ensemble is evaluated in one
            vmapped program, every member on the same batch; results then have a leading axis E.

    Raises:
        ConfigError: ``n_trials`` or ``harder`` is not positive, or the model's outputs do not
            match the task's.
    """
    check_types(model, task)
    if not isinstance(model, RecurrentModel):
        raise ConfigError(f"model: expected a built model, got a {type(model).__name__} (train it, or build it "
                          "with models.get)")
    if not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ConfigError(f"n_trials: must be a positive integer (got {n_trials!r})")
    if harder is not None:
        if not harder > 0:
            raise ConfigError(f"harder: must be > 0 (got {harder})")
        task = task.harder(harder)
    task = _layout(task, model.output_size)
    if model.output_size != task.n_outputs:
        raise ConfigError(
            f"model.output_size: {model.output_size} does not match task '{task.name}' outputs ({task.n_outputs})")
    if isinstance(key, (int, np.integer)):
        key = jax.random.PRNGKey(int(key))
    stacked = _is_stacked(model, task) if ensemble is None else ensemble
    loss, metric, heads = (_stacked if stacked else _single)(model, task, key, int(n_trials))
    if stacked:
        return Evaluation(np.asarray(loss), np.asarray(metric), np.asarray(heads), int(n_trials))
    return Evaluation(float(loss), float(metric), np.asarray(heads), int(n_trials))
