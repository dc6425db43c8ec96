"""Running a study: scale → sweep → trained networks → analyses → tables → claims → page.

``run(study, scale)`` validates everything first (study, scale, seeds, output folder), then
builds one sweep from the scale (each distinct condition is a sweep case; conditions that
resolve to the same config share their networks) and runs it with the sweep machinery in
``<study dir>/runs`` (ensembles for seeds, local workers or a Ray cluster, resumable: a
re-run trains nothing finished and recomputes only analyses whose settings changed). It then
assembles the per-network table and the per-condition group table, evaluates every claim,
and writes ``claims.json``, ``table.csv``, ``groups.csv``, the study's figures and
``index.html`` into the study folder.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..store import catalog, runs_root
from ..store._paths import check_writable
from ..sweep.executors import check_ray
from ..store._atomic import write_text_atomic
from ..sweep.groups import group_rows
from ..sweep.runner import run_spec
from ..sweep.spec import SweepRun, SweepSpec, apply_overrides, expand, numbers
from ._base import Scale, Study, StudyData

__all__ = ["StudyResult", "run", "load", "study_dir", "evaluate_claims"]

_MAX_SEEDS = 10_000


@dataclass
class StudyResult:
    """What ``run`` returns.

    Attributes:
        claims: one row per claim (``id, statement, statistic, value, ci_low, ci_high, test, p,
            p_holm, effect_size, effect_name, n, outcome, reason, needs``), a pandas DataFrame.
        table: one row per (condition, network); groups: one row per condition.
        dir: the study folder (``index.html``, ``claims.json``, ``table.csv``, ``runs/``).
    """

    study: Study
    scale: str
    dir: Path
    claims: Any
    table: Any
    groups: Any

    @property
    def page(self) -> Path:
        return self.dir / "index.html"


def study_dir(study: Study, scale: str, out: str | Path | None = None) -> Path:
    """``out``, else ``<runs>/studies/<name>-<scale>``."""
    return Path(out) if out is not None else runs_root() / "studies" / f"{study.name}-{scale}"


def _validate(study: Study, scale: str, seeds: Any, out: Path) -> Scale:
    sc = study.scale(scale)
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= _MAX_SEEDS:
            raise ConfigError(f"seeds: must be an integer from 1 to {_MAX_SEEDS} (got {seeds!r})")
    check_writable(out, "out")
    return sc


def _sweep(study: Study, sc: Scale, seeds: int) -> tuple[SweepSpec, list[SweepRun], list[int]]:
    """The scale as a validated sweep; ``case_of[i]`` is the sweep case of condition ``i``."""
    cases: list[dict[str, Any]] = []
    resolved: list[dict[str, Any]] = []
    case_of = []
    for cond in sc.conditions:
        cfg = apply_overrides(sc.base, cond.overrides)
        if cfg in resolved:
            case_of.append(resolved.index(cfg))
        else:
            case_of.append(len(cases))
            resolved.append(cfg)
            cases.append(dict(cond.overrides))
    spec = SweepSpec(name=f"{study.name}-{sc.name}", base=sc.base, cases=cases, seeds=seeds,
                     analyses=list(sc.analyses), group_analyses=list(sc.group_analyses))
    return spec, expand(spec, f"study {study.name} ({sc.name})"), case_of


def run(
    study: Study | str,
    scale: str = "quick",
    *,
    seeds: int | None = None,
    out: str | Path | None = None,
    ray: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> StudyResult:
    """Run (or resume) ``study`` at ``scale`` and evaluate its claims.

    Args:
        study: a ``Study`` or a registered name (``rnnlab.studies.names()``).
        scale: ``"quick"`` or ``"paper"``.
        seeds: networks per condition (default: the scale's).
        out: the study folder (default ``<runs>/studies/<name>-<scale>``).
        ray: address of a Ray cluster to train on (default: local worker processes).
        workers: local worker processes (default: one per core).
    """
    from . import get

    study = get(study) if isinstance(study, str) else study
    d = study_dir(study, scale, out)
    sc = _validate(study, scale, seeds, d)
    n_seeds = seeds or sc.seeds
    spec, runs, case_of = _sweep(study, sc, n_seeds)  # validates every run config before anything is created
    if ray is not None:
        check_ray(ray)
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    run_spec(spec, runs, d / "runs", ray=ray, workers=workers, progress=progress)
    elapsed = time.time() - t0
    _write_manifest(d, study, sc, n_seeds, elapsed)
    return load(study, scale, out=d, progress=progress, _sweep_parts=(spec, runs, case_of))


def load(study: Study | str, scale: str = "quick", *, out: str | Path | None = None, progress: bool = False,
         _sweep_parts: tuple | None = None) -> StudyResult:
    """Rebuild tables, claims, figures and page of a study folder from what is on disk."""
    from . import get
    from .report import write_study_report

    study = get(study) if isinstance(study, str) else study
    d = study_dir(study, scale, out)
    manifest = _read_manifest(d)
    sc = study.scale(scale)
    if _sweep_parts is None:
        spec, runs, case_of = _sweep(study, sc, manifest.get("seeds", sc.seeds))
    else:
        spec, runs, case_of = _sweep_parts
    data = _data(sc, spec, runs, case_of, d)
    claims = evaluate_claims(study, data)
    write_text_atomic(d / "claims.json", json.dumps(_finite(claims.to_dict(orient="records")), indent=1, default=_json))
    data.table.to_csv(d / "table.csv", index=False)
    data.groups.to_csv(d / "groups.csv", index=False)
    write_study_report(study, data, claims, manifest, progress=progress)
    return StudyResult(study, scale, d, claims, data.table, data.groups)


def _data(sc: Scale, spec: SweepSpec, runs: list[SweepRun], case_of: list[int], d: Path) -> StudyData:
    import pandas as pd

    rows = {r["id"]: r for r in catalog.query(d / "runs")}
    by_case: dict[int, list[SweepRun]] = {}
    for r in runs:
        by_case.setdefault(r.case, []).append(r)
    group_of_case = {ci: rs[0].group for ci, rs in by_case.items()}
    grows = {g["group"]: g for g in group_rows(spec, runs, d / "runs")}
    table, groups = [], []
    for cond, ci in zip(sc.conditions, case_of):
        statuses = []
        for r in by_case.get(ci, []):
            row = rows.get(r.id, {})
            metrics = row.get("metrics") or {}
            status = row.get("status", "remaining")
            statuses.append(status)
            rec: dict[str, Any] = {**cond.labels, "seed": r.config.seed, "id": r.id, "status": status,
                                   "steps": metrics.get("steps")}
            rec.update({k: v for k, v in numbers(metrics).items() if k not in rec})
            errors = {k: v for k, v in metrics.items() if k.startswith("error:")}
            if errors:
                rec["analysis_errors"] = "; ".join(f"{k[6:]}: {v}" for k, v in errors.items())
            table.append(rec)
        g = grows.get(group_of_case.get(ci), {})
        grec = {**cond.labels, "networks": len(statuses),
                **{s: statuses.count(s) for s in ("converged", "budget", "failed")}}
        grec.update({k: v for k, v in g.items() if k not in ("group", "networks") and "." in k})
        groups.append(grec)
    return StudyData(pd.DataFrame(table), pd.DataFrame(groups), sc, d)


def evaluate_claims(study: Study, data: StudyData):
    """Evaluate every claim; a claim whose evaluation raises is ``inconclusive`` with the error as reason.

    ``p_holm`` is the Holm–Bonferroni adjusted p-value over the study's claims (family-wise).
    """
    import pandas as pd

    from .claims import holm

    rows = []
    for c in study.claims:
        try:
            t = c.evaluate(data).to_dict()
        except Exception as e:  # reported, never hidden: the claim could not be tested
            t = {"statistic": "", "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "test": "",
                 "p": math.nan, "effect_size": math.nan, "effect_name": "", "n": 0, "outcome": "inconclusive",
                 "reason": f"could not be evaluated: {e.__class__.__name__}: {e}".splitlines()[0][:300]}
        rows.append({"id": c.id, "statement": c.statement, **t, "needs": c.needs})
    df = pd.DataFrame(rows)
    ps = df["p"].to_numpy(float)
    ok = np.isfinite(ps)
    adj = np.full(len(ps), np.nan)
    if ok.any():
        adj[ok] = holm(ps[ok])
    df.insert(df.columns.get_loc("p") + 1, "p_holm", adj)
    return df


def _finite(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NaN/inf become None (JSON has no NaN)."""
    def clean(v):
        v = v.item() if isinstance(v, (np.floating, np.integer)) else v
        return None if isinstance(v, float) and not math.isfinite(v) else v
    return [{k: clean(v) for k, v in r.items()} for r in records]


def _json(v: Any) -> Any:
    return str(v)


def _write_manifest(d: Path, study: Study, sc: Scale, seeds: int, elapsed: float) -> None:
    prev = _read_manifest(d)
    manifest = {"study": study.name, "version": study.version, "paper": study.paper, "scale": sc.name,
                "seeds": seeds, "conditions": [c.labels for c in sc.conditions],
                "last_run_s": round(elapsed, 1), "runs_total_s": round(prev.get("runs_total_s", 0) + elapsed, 1),
                "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_text_atomic(d / "study.json", json.dumps(manifest, indent=1, default=str))


def _read_manifest(d: Path) -> dict[str, Any]:
    p = d / "study.json"
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except ValueError:
        raise ConfigError(f"{p}: damaged study manifest (not JSON)") from None
