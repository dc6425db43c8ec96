"""Group analyses of a finished sweep, the group table and the sweep's report page.

After the runs, every group (the seeds of one grid point) whose runs have all finished
(``converged`` or ``budget``: ``rnnlab.store.is_finished``) is analysed, several groups at a
time in spawned worker processes (the local executor's worker count): the networks are loaded
from their run directories and each of the sweep's ``group_analyses`` is run once. A result
is written to ``<sweep>/groups/<group>/<name>.json`` with the ids of the networks it used, so
a re-run recomputes it only if that set changed.
``<sweep>/index.html`` (``write_sweep_report``) holds the run table, the metrics against the
swept values, the grid-point table with these numbers, and the group figures.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

from ..store import catalog, is_finished
from ..store.run import Run
from .group_analyses import GROUP_ANALYSES
from .spec import SweepRun, SweepSpec, numbers, swept_values

__all__ = ["analyse_groups", "group_rows", "write_sweep_report"]


def _by_group(runs: list[SweepRun]) -> dict[str, list[SweepRun]]:
    out: dict[str, list[SweepRun]] = defaultdict(list)
    for r in runs:
        out[r.group].append(r)
    return out


def _result_paths(d: Path, group: str, name: str) -> tuple[Path, Path]:
    base = d / "groups" / group / name
    return base, base.with_name(name + ".ids.json")


def analyse_groups(
    spec: SweepSpec, runs: list[SweepRun], d: Path, on_group: Callable[[str], None] | None = None,
    workers: int = 1,
) -> list[str]:
    """Run the sweep's group analyses on every complete group not yet analysed, up to
    ``workers`` groups at a time in spawned processes; returns the groups done."""
    jobs = group_jobs(spec, runs, d)
    if not jobs:
        return []
    if workers <= 1 or len(jobs) == 1:
        results = map(_analyse_group, jobs)
        return [_report(g, on_group) for g in results]
    # Not pinned to a share of the cores as training workers are (``executors._worker_pool``):
    # analyses use every core they are given (BLAS, XLA), and the last group of a sweep often
    # runs alone; pinned, the 200-network study's analyses took 29.6 min instead of 21.8.
    ctx = mp.get_context("spawn")  # JAX is not fork-safe
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
        return [_report(g, on_group) for g in pool.map(_analyse_group, jobs)]


GroupJob = tuple[str, str, list[str], list[str], list[str]]  # (sweep folder, group, run ids, names, analyses)


def group_jobs(spec: SweepSpec, runs: list[SweepRun], d: Path) -> list[GroupJob]:
    """The group analyses of ``runs`` still to do: one job per group whose runs have all
    finished and whose results are missing or out of date, largest groups first (their
    networks' stored size: the analyses' cost grows with it), so that a small group, not a
    large one, runs last while the other workers are idle."""
    if not spec.group_analyses:
        return []
    status = {r["id"]: r["status"] for r in catalog.query(d)}
    jobs = []
    for group, members in _by_group(runs).items():
        ids = [r.id for r in members]
        if len(ids) < 2 or not all(is_finished(status.get(i)) for i in ids):
            continue
        todo = [n for n in spec.group_analyses if not _current(d, group, n, ids)]
        if todo:
            names = [f"s{r.config.seed}" for r in members]
            jobs.append((str(d), group, ids, names, todo))
    jobs.sort(key=lambda job: -sum(_model_bytes(Path(job[0]) / i) for i in job[2]))
    return jobs


def _model_bytes(run_dir: Path) -> int:
    f = run_dir / "model.eqx"
    return f.stat().st_size if f.is_file() else 0


def _report(group: str, on_group: Callable[[str], None] | None) -> str:
    if on_group is not None:
        on_group(group)
    return group


def _analyse_group(job: GroupJob) -> str:
    """Load one group's networks from their run directories and write each analysis."""
    d, group, ids, names, todo = job
    d = Path(d)
    task = Run(d, ids[0]).config().build_task()
    models = [Run(d, i).load_model() for i in ids]
    for name in todo:
        result = GROUP_ANALYSES[name](models, task, names)
        base, ids_path = _result_paths(d, group, name)
        result.save(base)
        result.plot(base.with_name(name + ".png"))
        ids_path.write_text(json.dumps(ids))
    return group


def _current(d: Path, group: str, name: str, ids: list[str]) -> bool:
    base, ids_path = _result_paths(d, group, name)
    return ids_path.is_file() and base.with_name(name + ".json").is_file() and json.loads(ids_path.read_text()) == ids


def group_rows(spec: SweepSpec, runs: list[SweepRun], d: Path) -> list[dict[str, Any]]:
    """One row per group: swept values, number of networks, and each group analysis's headline numbers."""
    rows = []
    for group, members in _by_group(runs).items():
        rec: dict[str, Any] = {"group": group, **swept_values(spec, members[0]), "networks": len(members)}
        for name in spec.group_analyses:
            base, _ = _result_paths(d, group, name)
            js = base.with_name(name + ".json")
            if js.is_file():
                summary = json.loads(js.read_text())["summary"]
                rec.update({f"{name}.{k}": v for k, v in numbers(summary).items()})
        rows.append(rec)
    return rows


def write_sweep_report(spec: SweepSpec, runs: list[SweepRun], d: Path, run_rows: list[dict[str, Any]]) -> Path:
    """``<sweep>/index.html`` (``rnnlab.report.sweep_report``), after drawing the page of every
    finished run that has none (``write_run_pages``: the run table links to them)."""
    from ..report.sweep_report import write_run_pages, write_sweep_page

    write_run_pages(d, [r["id"] for r in run_rows], {r["id"]: r.get("status") for r in run_rows})
    return write_sweep_page(spec, runs, d, run_rows, group_rows(spec, runs, d))
