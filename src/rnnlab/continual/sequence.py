"""A task sequence on one shared input/output space, and the accuracy matrix.

The stages of a continual run are the sub-tasks of a ``multitask`` (``rnnlab.tasks.multitask``):
every trial is laid out as in the mixture — inputs padded to ``max I_r`` channels plus a
one-hot rule input of ``R`` channels, outputs padded to ``max O_r`` (mask 0 on padding) — so
one network with one readout serves every stage. ``sequence(task)`` returns a
``SequenceTask``: the same layout, but ``sample(key, B, level=r)`` draws all ``B`` trials from
stage ``r`` (``level`` may be traced, so one compiled training program serves every stage;
the driver keeps the stage index in ``TrainState.level``).

Forgetting (Lopez-Paz & Ranzato 2017, GEM): with ``R[i, j]`` the accuracy on task ``j``
after training stage ``i`` (``S`` stages),

    average accuracy   ACC = (1/S) Σ_j R[S−1, j]
    backward transfer  BWT = 1/(S−1) Σ_{j<S−1} (R[S−1, j] − R[j, j])

BWT < 0 is forgetting; 0 means earlier tasks kept exactly what they had when learned.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..models import run
from ..tasks import Task
from ..tasks._base import Batch
from ..tasks.multitask import MultiTask

__all__ = ["SequenceTask", "sequence", "stage_accuracies", "accuracy_matrix_metrics", "average_accuracy",
           "backward_transfer"]


class SequenceTask(MultiTask):
    """The stages of a multitask: ``sample(key, B, level=r)`` draws trials of stage ``r`` only,
    in the mixture's layout (build with ``sequence``)."""

    name: ClassVar[str] = "task_sequence"
    description: ClassVar[str] = "the sub-tasks of a multitask, one stage at a time, in the shared layout"

    @property
    def n_stages(self) -> int:
        return len(self.tasks)

    def sample(self, key, batch_size, level=None) -> Batch:
        """``batch_size`` trials of stage ``level`` (0 when None); every sub-task is drawn and the
        stage's selected, so ``level`` may be a traced integer."""
        r = jnp.asarray(0 if level is None else level, jnp.int32)
        B, T, R = batch_size, self.n_steps, self.n_rules
        I, O = self.n_inputs - R, self.n_outputs
        keys = jax.random.split(key, R)
        batches = [t.sample(k, B) for t, k in zip(self.tasks, keys)]
        pad = lambda x, w: jnp.pad(x, ((0, 0), (0, T - x.shape[1]), (0, w - x.shape[2])))  # noqa: E731
        pick = lambda xs: jnp.stack(xs)[r]  # noqa: E731
        inputs = pick([pad(b.inputs, I) for b in batches])
        targets = pick([pad(b.targets, O) for b in batches])
        mask = pick([pad(b.mask, O) for b in batches])
        cue = jnp.broadcast_to(jax.nn.one_hot(r, R), (B, T, R))
        info = {"rule": jnp.full((B,), r)}
        for nm, b in zip(self._keys(), batches):
            info.update({f"{nm}/{k}": v for k, v in b.info.items()})
        return Batch(jnp.concatenate([inputs, cue], axis=-1), targets, mask, info)


@functools.lru_cache(maxsize=None)
def _sequence_class(base: type) -> type:
    """``SequenceTask`` with the loss settings of the multitask class ``base``."""
    attrs = {k: getattr(base, k) for k in ("loss", "metric_name", "higher_is_better", "n_classes")}
    return type(f"SequenceTask_{base.loss}", (SequenceTask,), {**attrs, "__annotations__": {},
                                                                 "__module__": __name__})


def sequence(task: Task) -> SequenceTask:
    """The stages of ``task`` (a ``multitask``), in its layout.

    Raises:
        ConfigError: ``task`` is not a multitask (naming ``task``), or has a single sub-task.
    """
    if isinstance(task, SequenceTask):
        return task
    if not isinstance(task, MultiTask):
        raise ConfigError(f"task: continual learning needs a 'multitask' whose sub-tasks are the stages "
                          f"(task: {{name: multitask, params: {{tasks: [...]}}}}), got '{task.name}'")
    if len(task.tasks) < 2:
        raise ConfigError(f"task: continual learning needs at least 2 sub-tasks (stages), got {len(task.tasks)}")
    return _sequence_class(type(task))(tasks=task.tasks)


@eqx.filter_jit
def _metric(model, task: SequenceTask, key, batch_size: int, r):
    batch = task.sample(key, batch_size, r)
    _, outputs = run(model, batch.inputs, key)
    return task.metric(outputs, batch)


def stage_accuracies(model, task: Task, key, batch_size: int = 256, ensemble: bool = False) -> np.ndarray:
    """The metric of ``model`` on every stage: ``[S]`` (``[E, S]`` for a stacked ensemble).

    Stage ``r`` is evaluated on ``batch_size`` trials drawn with ``fold_in(key, r)`` (the same
    trials for every model and member given the same key)."""
    seq = sequence(task)
    fn = eqx.filter_vmap(_metric, in_axes=(0, None, None, None, None)) if ensemble else _metric
    out = [np.asarray(fn(model, seq, jax.random.fold_in(key, r), batch_size, jnp.asarray(r)))
           for r in range(seq.n_stages)]
    return np.stack(out, axis=-1)


def _check_square(R: np.ndarray) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 1:
        raise ConfigError(f"R: the accuracy matrix must be square [S, S] (stage × task), got shape {R.shape}")
    return R


def average_accuracy(R) -> float:
    """``ACC = mean_j R[S−1, j]``: accuracy on every task after the last stage."""
    R = _check_square(R)
    return float(R[-1].mean())


def backward_transfer(R) -> float:
    """``BWT = mean_{j<S−1} (R[S−1, j] − R[j, j])`` (Lopez-Paz & Ranzato 2017); NaN for S = 1."""
    R = _check_square(R)
    S = R.shape[0]
    if S < 2:
        return float("nan")
    return float(np.mean(R[-1, :-1] - np.diag(R)[:-1]))


def accuracy_matrix_metrics(R) -> dict[str, float]:
    """Flat scalar columns of an accuracy matrix: ``acc@stage=i,task=j`` for every entry (after
    stage i, on task j; 1-based), ``acc_average``, ``acc_bwt``, ``acc_first_final`` (task 1
    after the last stage), ``acc_earlier_final`` (mean over the tasks before the last, after the
    last stage) and ``acc_learned`` (mean of the diagonal: each task right after it was learned)."""
    R = _check_square(R)
    S = R.shape[0]
    out = {f"acc@stage={i + 1},task={j + 1}": float(R[i, j]) for i in range(S) for j in range(S)}
    out.update(acc_average=average_accuracy(R), acc_bwt=backward_transfer(R), acc_first_final=float(R[-1, 0]),
               acc_earlier_final=float(R[-1, :-1].mean()) if S > 1 else float("nan"),
               acc_learned=float(np.mean(np.diag(R))))
    return out
