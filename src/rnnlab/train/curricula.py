"""Curricula over the memory depth N (Khajehabdollahi, Zeraati et al. 2024).

A curriculum task has ``cur.max_n`` readout heads allocated from the start (head k answers
N = k + 1), so the model's shape never changes; only the heads that are scored do. Each
ensemble member carries its own level N, a traced value: members advance independently
inside one vmapped program. The arrays of a batch are as long as the largest N of any
member needs (``4N + 1`` steps), so the program is recompiled when that maximum grows.

Advance rule (the paper's, with threshold 0.98 by default):

- ``single``: the head for N passes → N + 1 (the old head is no longer scored).
- ``multi``: the mean accuracy over heads 1..N passes *and* head N passes → N + 1.

A member that passes at N = ``max_n`` is done.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..tasks import Task
from .config import CurriculumConfig


def stage_task(task: Task, cur: CurriculumConfig, n: int) -> Task:
    """The task with arrays sized for level ``n`` and ``cur.max_n`` heads."""
    if not task.has_levels:
        raise ConfigError(f"curriculum: task '{task.name}' has no levels (use nparity or ndms)")
    if cur.start > cur.max_n:
        raise ConfigError(f"curriculum.start: must be <= max_n = {cur.max_n} (got {cur.start})")
    params = {**task.params(), "n": n, "heads": cur.kind, "n_heads": cur.max_n}
    return type(task)(**params)


def layout_task(task: Task, cur: CurriculumConfig) -> Task:
    """The task whose ``n_outputs`` a model trained with this curriculum must have."""
    return stage_task(task, cur, cur.max_n)


def final_task(task: Task, cur: CurriculumConfig | None, level: list[list[int]]) -> Task:
    """The task a trained model is shown and analysed on: without a curriculum ``task`` itself;
    with one, the task at the highest level any member had at the last evaluation
    (``History.level[-1]``; ``cur.start`` before any), laid out for the model's heads."""
    if cur is None:
        return task
    return stage_task(task, cur, int(np.max(level[-1])) if level else cur.start)


def advance(
    cur: CurriculumConfig, level: np.ndarray, head_metrics: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the advance rule to each member.

    Args:
        level: ``[E]`` current N of each member.
        head_metrics: ``[E, max_n]`` accuracy per head (NaN for unscored heads).

    Returns:
        ``(passed [E] bool, new_level [E])``.
    """
    idx = np.arange(len(level))
    newest = head_metrics[idx, level - 1]
    if cur.kind == "single":
        passed = newest >= cur.threshold
    else:
        active = np.arange(1, head_metrics.shape[1] + 1)[None, :] <= level[:, None]
        mean = np.where(active, head_metrics, 0.0).sum(1) / active.sum(1)
        passed = (mean >= cur.threshold) & (newest >= cur.threshold)
    return passed, np.where(passed, np.minimum(level + 1, cur.max_n), level)
