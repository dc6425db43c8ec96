"""Helpers of the per-network analyses: the task at a curriculum level, laid out for a model's
readout; column names of per-level and per-parameter results; one jitted metric.

A curriculum network has ``n_heads = max_n`` two-class readout heads from the start (head k
answers N = k + 1, ``rnnlab.train.curricula``), but a sweep hands the analyses the task of its
config, whose own layout may differ (``nparity`` with ``n = start`` and one head). The task an
analysis evaluates a model on is therefore rebuilt from the model's readout size: ``n_heads =
output_size / 2`` heads (one head: ``n_heads`` unset, the single head answers for N), at the
level N wanted. ``heads="single"`` scores head N alone, ``"multi"`` heads 1..N.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import equinox as eqx
import jax

from ..errors import ConfigError
from ..models import run
from ..tasks import Task

if TYPE_CHECKING:
    from .analyses import NetworkContext


def at_level(task: Task, model: Any, n: int | None = None, heads: str | None = None, name: str = "analysis") -> Task:
    """``task`` at level ``n`` (default: its own), with as many heads as ``model`` reads out.

    Tasks without levels come back unchanged. Raises ``ConfigError`` (naming ``name``) when
    the model's readout does not fit the task (or has no head for N).
    """
    if not task.has_levels:
        if model.output_size != task.n_outputs:
            raise ConfigError(f"{name}: model outputs ({model.output_size}) do not match task '{task.name}' "
                              f"({task.n_outputs})")
        return task
    params = task.params()
    n = int(params["n"] if n is None else n)
    slots, rem = divmod(model.output_size, task.n_classes)
    if rem or slots < 1:
        raise ConfigError(f"{name}: model outputs ({model.output_size}) are not {task.n_classes}-class heads")
    if slots > 1 and n > slots:
        raise ConfigError(f"{name}: the model has {slots} heads, none for N = {n}")
    params.update(n=n, n_heads=slots if slots > 1 else None, heads=heads or params["heads"])
    if slots == 1:
        params["heads"] = "single"
    return type(task)(**params)


def final_level(task: Task, ctx: "NetworkContext") -> int | None:
    """The level the trained model ended at: the history's last level (curriculum), else the
    largest stage passed, else the task's own ``n``; None for tasks without levels."""
    if not task.has_levels:
        return None
    level = getattr(ctx.history, "level", None) or []
    if level and level[-1] and int(level[-1][0]) > 0:
        return int(level[-1][0])
    if ctx.stage_models:
        return max(int(n) for n in ctx.stage_models)
    return int(task.params()["n"])


def param_column(name: str, param: str, value: float) -> str:
    """The column of a result at one parameter value: ``"<name>@<param>=<value>"``, the value
    written ``%g`` with its decimal point as ``p`` (``("perturb_drop", "eps", 0.1) →
    "perturb_drop@eps=0p1"``, ``2 → "2"``, ``1e-05 → "1e-05"``), so that column names hold no
    ``.`` (a sweep table reads ``a.b`` as result ``b`` of group analysis ``a``)."""
    return f"{name}@{param}={float(value):g}".replace(".", "p")


def per_n(name: str, n: int) -> str:
    """The column of a per-level result: ``"<name>@N=<n>"`` (the study layer melts these)."""
    return f"{name}@N={int(n)}"


def stage_task(task: Task, model: Any, ctx: "NetworkContext", n: int, name: str = "analysis") -> Task:
    """The task of stage ``n``: ``ctx.task_at(n)`` where the sweep gives it (the curriculum's own
    ``stage_task``), else ``at_level(task, model, n)``."""
    task_at = getattr(ctx, "task_at", None)
    return task_at(n) if task_at is not None else at_level(task, model, n, name=name)


def stage_list(ctx: "NetworkContext") -> list[tuple[int, Any]]:
    """The stage models as ``(N, model)`` sorted by N."""
    return sorted((int(n), m) for n, m in ctx.stage_models.items())


@eqx.filter_jit
def _metric(model: Any, task: Task, batch: Any) -> jax.Array:
    return task.metric(run(model, batch.inputs)[1], batch)


def metric(model: Any, task: Task, batch: Any) -> float:
    """The task metric of ``model`` on ``batch`` (private noise, if any, from ``PRNGKey(0)``)."""
    return float(_metric(model, task, batch))
