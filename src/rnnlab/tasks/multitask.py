"""Multi-task batches with a rule input (Yang, Joglekar, Song, Newsome & Wang 2019, *Nat Neurosci*).

``multitask([task_1, …, task_R])`` builds a task whose trials come from the sub-tasks, the
rule ``r`` drawn uniformly per trial. Every sub-task batch is padded with zeros to the common
shape — ``T = max T_r`` steps, ``max I_r`` task inputs, ``max O_r`` outputs — and a one-hot rule
input of ``R`` channels, on for the whole trial, is appended::

    inputs  [B, T, max I_r + R]     (task inputs share channels, as in Yang et al.)
    targets [B, T, max O_r],  mask 0 on the padded steps and outputs

Mixed loss types are refused: all sub-tasks must have the same ``loss`` and, for
cross-entropy, the same ``n_classes`` (``ValueError`` naming ``tasks``); the metric is then
that of the sub-tasks (computed over the scored entries of the mixed batch).
``info["rule"]`` holds each trial's rule; each sub-task's info is under ``"<name>/<key>"``
(``"<name>#<r>/<key>"`` for repeated names), valid on the trials with that rule.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from pydantic import Field, field_validator

from ._base import Batch, Task
from ._random import integers, uniforms


def _check_same_loss(tasks) -> None:
    if len({(t.loss, t.n_classes) for t in tasks}) > 1:
        found = ", ".join(f"{t.name}: {t.loss}" + (f"/{t.n_classes} classes" if t.n_classes else "") for t in tasks)
        raise ValueError(f"all tasks must share one loss type (and class count); got {found}")


def _pad(x, T: int, width: int):
    return jnp.pad(x, ((0, 0), (0, T - x.shape[1]), (0, width - x.shape[2])))


class MultiTask(Task):
    """Build with ``multitask(...)``, which sets the loss class variables from the sub-tasks."""

    name: ClassVar[str] = "multitask"
    description: ClassVar[str] = "trials mixed from several tasks, with a one-hot rule input"
    paper: ClassVar[str] = "Yang, Joglekar, Song, Newsome & Wang 2019, Nat Neurosci"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False

    tasks: tuple[Task, ...] = Field(min_length=1, description="the sub-tasks")

    @field_validator("tasks")
    @classmethod
    def _same_loss(cls, tasks):
        _check_same_loss(tasks)
        return tasks

    @property
    def n_rules(self) -> int:
        return len(self.tasks)

    @property
    def n_inputs(self) -> int:
        return max(t.n_inputs for t in self.tasks) + self.n_rules

    @property
    def n_outputs(self) -> int:
        return max(t.n_outputs for t in self.tasks)

    @property
    def n_steps(self) -> int:
        return max(t.n_steps for t in self.tasks)

    def _keys(self) -> list[str]:
        names = [t.name for t in self.tasks]
        return [n if names.count(n) == 1 else f"{n}#{r}" for r, n in enumerate(names)]

    def params(self) -> dict[str, Any]:
        return {"tasks": [{"name": t.name, "params": t.params()} for t in self.tasks]}

    def harder(self, factor: float = 2.0) -> Task:
        """The mixture of the sub-tasks' ``harder(factor)`` versions."""
        return multitask([t.harder(factor) for t in self.tasks])

    def sample(self, key, batch_size, level=None) -> Batch:
        k_rule, *keys = jax.random.split(key, self.n_rules + 1)
        B, T, I, O = batch_size, self.n_steps, self.n_inputs - self.n_rules, self.n_outputs
        rule = integers(uniforms(k_rule, (B,))[0], 0, self.n_rules)
        batches = [t.sample(k, B) for t, k in zip(self.tasks, keys)]
        pick = lambda xs: jnp.stack(xs)[rule, jnp.arange(B)]  # noqa: E731
        inputs = pick([_pad(b.inputs, T, I) for b in batches])
        targets = pick([_pad(b.targets, T, O) for b in batches])
        mask = pick([_pad(b.mask, T, O) for b in batches])
        cue = jnp.broadcast_to(jax.nn.one_hot(rule, self.n_rules)[:, None, :], (B, T, self.n_rules))
        info = {"rule": rule}
        for name, b in zip(self._keys(), batches):
            info.update({f"{name}/{k}": v for k, v in b.info.items()})
        return Batch(jnp.concatenate([inputs, cue], axis=-1), targets, mask, info)


def multitask(tasks) -> MultiTask:
    """A task mixing ``tasks`` per trial with a one-hot rule input (see the module doc).

    Raises:
        ValueError: ``tasks`` is empty or mixes loss types (or class counts).
    """
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError("tasks: give at least one task")
    try:
        _check_same_loss(tasks)
    except ValueError as e:
        raise ValueError(f"tasks: {e}") from None
    first = tasks[0]
    cls = _multitask_class(first.loss, first.metric_name, first.higher_is_better, first.n_classes)
    return cls(tasks=tasks)


@functools.lru_cache(maxsize=None)
def _multitask_class(loss: str, metric_name: str, higher_is_better: bool, n_classes: int | None) -> type:
    """One ``MultiTask`` subclass per loss setting, so equal mixtures compare (and hash) equal."""
    attrs = {
        "loss": loss, "metric_name": metric_name, "higher_is_better": higher_is_better,
        "n_classes": n_classes, "__annotations__": {}, "__module__": __name__,
    }
    return type(f"MultiTask_{loss}", (MultiTask,), attrs)
