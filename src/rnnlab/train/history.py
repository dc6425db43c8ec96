"""The record of a training run: one row per evaluation, one column per ensemble member."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def stage_file(n: int, member: int | None = None) -> str:
    """Where a run directory keeps the model that passed level ``n``: ``stages/N{n}.eqx`` for
    a single network, ``stages/m{member}-N{n}.eqx`` for member ``member`` of an ensemble run."""
    return f"stages/N{n}.eqx" if member is None else f"stages/m{member}-N{n}.eqx"


@dataclass
class History:
    """Evaluation-by-evaluation record of training.

    Per evaluation ``k``: ``step[k]`` (steps done by the ensemble clock), ``wall_time[k]``
    (seconds since the start, compilation included) and, per member ``e``,
    ``train_loss[k][e]`` (mean training loss since the previous evaluation),
    ``eval_loss[k][e]``, ``metric[k][e]`` (on fresh batches) and ``level[k][e]``
    (curriculum N; 0 without a curriculum).

    ``stages`` lists curriculum events ``{member, n, step, taus}``: the step at which a member
    reached N, and its single-neuron τ at that moment (empty list if the model has none).
    ``passed`` lists the moments a member *passed* level N by the advance rule (the last level
    ``max_n`` included): ``{member, n, step, file}``, where ``file`` is the path, relative to
    the run directory, of the model at that moment (``stage_file``). Histories written before
    ``passed`` existed read back with it empty.
    ``status[e]`` is ``"running"``, ``"converged"`` (threshold or last curriculum stage
    passed), ``"budget"`` (step budget spent) or ``"failed"`` (non-finite loss);
    ``stop_step[e]`` is the member's step count when it stopped.
    """

    n_members: int
    metric_name: str
    step: list[int] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    train_loss: list[list[float]] = field(default_factory=list)
    eval_loss: list[list[float]] = field(default_factory=list)
    metric: list[list[float]] = field(default_factory=list)
    level: list[list[int]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    passed: list[dict[str, Any]] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    stop_step: list[int | None] = field(default_factory=list)

    def __post_init__(self):
        if not self.status:
            self.status = ["running"] * self.n_members
            self.stop_step = [None] * self.n_members

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        return cls(**d)

    def array(self, name: str) -> np.ndarray:
        """A per-evaluation quantity as an array ``[n_evals, n_members]``."""
        return np.asarray(getattr(self, name), dtype=float)

    def final(self, name: str = "metric") -> np.ndarray:
        """Each member's value of ``name`` at its last evaluation (``[n_members]``)."""
        a = self.array(name)
        return a[-1] if len(a) else np.full(self.n_members, np.nan)

    def reached(self, member: int = 0) -> dict[int, int]:
        """Curriculum: ``{N: step}`` at which ``member`` reached each N."""
        return {s["n"]: s["step"] for s in self.stages if s["member"] == member}

    def passed_ns(self, member: int = 0) -> list[int]:
        """Curriculum: the levels N that ``member`` passed, in order."""
        return [p["n"] for p in self.passed if p["member"] == member]

    def member(self, e: int) -> "History":
        """The record of member ``e`` alone (a one-member history)."""
        col = lambda rows: [[r[e]] for r in rows]  # noqa: E731
        return History(
            n_members=1, metric_name=self.metric_name, step=list(self.step), wall_time=list(self.wall_time),
            train_loss=col(self.train_loss), eval_loss=col(self.eval_loss), metric=col(self.metric),
            level=col(self.level), stages=[{**s, "member": 0} for s in self.stages if s["member"] == e],
            passed=[{**p, "member": 0, "file": stage_file(p["n"])} for p in self.passed if p["member"] == e],
            status=[self.status[e]], stop_step=[self.stop_step[e]],
        )
