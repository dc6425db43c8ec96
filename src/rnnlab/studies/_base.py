"""What a study is: a paper's central claims as a named, versioned, runnable definition.

A study is data, not a second training loop: its scales say which networks to train (a base
run config, a list of conditions and a number of seeds), which per-network analyses
(``rnnlab.sweep.analyses``) and group analyses (``rnnlab.sweep.group_analyses``) to run on
them, and its claims say how to test the paper's statements on the resulting tables. The
runner (``rnnlab.studies.runner``) turns a scale into a sweep and runs it on the sweep
machinery (ensembles for seeds, local workers or Ray, resumable); claims are evaluated with
``rnnlab.studies.claims``.

Two scales in one definition: ``quick`` (minutes on 2 CPU cores: small networks and few
seeds, so the machinery is testable and the whole loop is seen at once) and ``paper`` (the
paper's sizes, seeds and budgets as far as they are known, with the expected wall time
stated). A claim that needs the ``paper`` scale to be testable says so (``needs="paper"``);
it is still evaluated at ``quick`` scale and shown, marked as such, on the page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .claims import ClaimTest

__all__ = ["Condition", "Scale", "Claim", "Study", "StudyData", "product"]


@dataclass(frozen=True)
class Condition:
    """One condition: table labels (``{"curriculum": "single"}``) and the run-config overrides
    that make it (dotted paths: ``{"train.curriculum.kind": "single"}``)."""

    labels: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)


def product(**factors: dict[Any, dict[str, Any]]) -> list[Condition]:
    """The full factorial design of named factors, each ``{level: overrides}``.

    ``product(curriculum={"single": {...}, "multi": {...}}, width={32: {...}, 64: {...}})``
    gives four conditions labelled ``{"curriculum": ..., "width": ...}``.
    """
    names = list(factors)
    out = []
    for combo in itertools.product(*(factors[n].items() for n in names)):
        labels = {n: level for n, (level, _) in zip(names, combo)}
        overrides: dict[str, Any] = {}
        for _, ov in combo:
            overrides.update(ov)
        out.append(Condition(labels, overrides))
    return out


@dataclass(frozen=True)
class Scale:
    """The networks of one scale of a study.

    Attributes:
        base: a run config without seed (task, model, train), shared by every condition.
        conditions: the conditions; identical resolved configs are trained once and appear
            under each of their conditions in the table.
        seeds: networks per condition (seeds ``0..seeds−1``).
        analyses, group_analyses: what the sweep runs per network and per condition.
        expected_minutes: wall time of a whole run at this scale, measured or estimated
            (``hardware`` says on what; ``estimate`` says how it was obtained).
    """

    name: Literal["quick", "paper"]
    base: dict[str, Any]
    conditions: list[Condition]
    seeds: int
    analyses: list[Any] = field(default_factory=list)
    group_analyses: list[str] = field(default_factory=list)
    expected_minutes: float = float("nan")
    hardware: str = "2 CPU cores"
    estimate: str = ""


@dataclass(frozen=True)
class Claim:
    """A falsifiable statement of the paper, tested across seeds.

    ``evaluate(data)`` returns a ``ClaimTest`` (statistic, CI, test, p, effect size and the
    outcome ``pass``/``fail``/``inconclusive``). ``needs="paper"``: at small scale the claim is
    not expected to be testable (the page says so); ``quick``: it holds robustly at ``quick``.
    """

    id: str
    statement: str
    evaluate: Callable[["StudyData"], "ClaimTest"]
    needs: Literal["quick", "paper"] = "quick"


@dataclass(frozen=True)
class Study:
    """A named, versioned study of one paper."""

    name: str
    paper: str
    summary: str
    version: str
    scales: dict[str, Scale]
    claims: list[Claim]
    figures: Callable[["StudyData", Path], list[tuple[Path, str]]] | None = None
    doc: str = ""

    def scale(self, name: str) -> Scale:
        from ..errors import ConfigError

        if name not in self.scales:
            raise ConfigError(f"scale: '{name}' is not a scale of study '{self.name}'; valid: {', '.join(self.scales)}")
        return self.scales[name]


@dataclass
class StudyData:
    """The tables a study's claims and figures read.

    Attributes:
        table: one row per (condition, network): the condition's labels, ``seed``, ``status``
            (converged / budget / failed), ``steps``, the run summary's numbers and every
            per-network analysis column (per-stage columns are named ``"<name>@N=<n>"``).
        groups: one row per condition: its labels and the group analyses' numbers.
        scale: the scale that was run; dir: the study folder.
    """

    table: "pd.DataFrame"
    groups: "pd.DataFrame"
    scale: Scale
    dir: Path

    def where(self, **labels: Any) -> "pd.DataFrame":
        """The rows of ``table`` whose labels equal the given values."""
        t = self.table
        for k, v in labels.items():
            t = t[t[k] == v]
        return t

    def long(self, *names: str, table: "pd.DataFrame | None" = None) -> "pd.DataFrame":
        """Per-N columns ``"<name>@N=<n>"`` melted into rows ``(…labels, seed, N, <name>…)``."""
        import pandas as pd

        t = self.table if table is None else table
        keep = [c for c in t.columns if "@" not in c and c not in names]  # final-model values of `names` give way
        parts = []
        for n in sorted({int(c.split("@N=")[1]) for c in t.columns if "@N=" in c}):
            cols = {f"{name}@N={n}": name for name in names if f"{name}@N={n}" in t.columns}
            if not cols:
                continue
            part = t[keep + list(cols)].rename(columns=cols)
            part.insert(len(keep), "N", n)
            parts.append(part)
        if not parts:
            return pd.DataFrame(columns=keep + ["N", *names])
        out = pd.concat(parts, ignore_index=True)
        for name in names:
            if name not in out:
                out[name] = float("nan")
        return out
