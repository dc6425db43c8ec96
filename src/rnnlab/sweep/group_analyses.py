"""Analyses of a whole group of a sweep: the networks that differ only in their seed.

A per-network analysis (``analyses.py``) looks at one network; a group analysis compares the
seeds of one grid point with each other, as degeneracy studies do (Huang, Singh, Martinelli &
Rajan 2025 trained 50 seeds per condition and compared them at three levels). The driver runs
these once every run of a group has completed, loading the networks from their run
directories, and writes each result under ``<sweep>/groups/<group>/<analysis>.{npz,json,png}``.

Each entry maps ``(models, task, names) -> Result`` (a ``rnnlab.analysis`` result with
``summary()``, ``save`` and ``plot``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..models import RecurrentModel
from ..tasks import Task


def _degeneracy(models: Sequence[RecurrentModel], task: Task, names: Sequence[str]) -> Any:
    """Behavioural, dynamical (DSA) and weight degeneracy with their nulls (``rnnlab.analysis.degeneracy``)."""
    from ..analysis import degeneracy

    return degeneracy(list(models), task, 0, names=list(names))


GROUP_ANALYSES: dict[str, Callable[[Sequence[RecurrentModel], Task, Sequence[str]], Any]] = {
    "degeneracy": _degeneracy,
}

