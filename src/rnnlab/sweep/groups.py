"""Group analyses of a finished sweep, the group table and the sweep's report page.

After the runs, every group (the seeds of one grid point) whose runs have all finished
(``converged`` or ``budget``: ``rnnlab.store.is_finished``) is analysed, several groups at a
time in spawned worker processes (the local executor's worker count): the networks are loaded
from their run directories and each of the sweep's ``group_analyses`` is run once. A result
is written to ``<sweep>/groups/<group>/<name>.json`` with the ids of the networks it used, so
a re-run recomputes it only if that set changed.
``<sweep>/index.html`` gathers the group figures and, for a grid over one numeric value
(e.g. the hidden size), a plot of each headline number against it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..report.html import write_page
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


def _report(group: str, on_group: Callable[[str], None] | None) -> str:
    if on_group is not None:
        on_group(group)
    return group


def _analyse_group(job: tuple[str, str, list[str], list[str], list[str]]) -> str:
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


def _trend_figure(rows: list[dict[str, Any]], key: str, spec: SweepSpec, path: Path) -> Path | None:
    """Each group analysis's headline numbers (and nulls) against the one swept numeric value."""
    from matplotlib.figure import Figure

    xs = [r.get(key) for r in rows]
    if not all(isinstance(x, (int, float)) for x in xs):
        return None
    cols = sorted({k for r in rows for k in r if "." in k and not k.endswith("_null") and k.split(".")[0]
                   in spec.group_analyses and k.split(".")[1] not in ("n_networks", "n_trials", "ood_factor")})
    if not cols:
        return None
    fig = Figure(figsize=(3.6 * len(cols), 3.2), layout="constrained")
    axes = fig.subplots(1, len(cols), squeeze=False)[0]
    order = np.argsort(xs)
    for ax, c in zip(axes, cols):
        x = np.asarray(xs)[order]
        ax.plot(x, [rows[i].get(c, np.nan) for i in order], "o-", label="across seeds")
        null = [rows[i].get(c + "_null", rows[i].get(c.replace("weights", "weight") + "_null", np.nan)) for i in order]
        if np.isfinite(np.asarray(null, float)).any():
            ax.plot(x, null, "s--", color="0.5", label="null")
        ax.set(xlabel=key.split(".")[-1], title=c.split(".", 1)[1])
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    return path


def write_sweep_report(spec: SweepSpec, runs: list[SweepRun], d: Path, run_rows: list[dict[str, Any]]) -> Path:
    """``<sweep>/index.html``: run counts, the trend of each group analysis, and every group's figures."""
    rows = group_rows(spec, runs, d)
    counts: dict[str, int] = defaultdict(int)
    for r in run_rows:
        counts[r["status"]] += 1
    sections: list[dict[str, Any]] = [{"heading": "runs", "summary": {"networks": len(run_rows), **counts}}]
    if len(spec.grid) == 1 and spec.group_analyses:
        key = next(iter(spec.grid))
        fig = _trend_figure(rows, key, spec, d / "groups" / "trend.png")
        if fig is not None:
            sections.append({"heading": f"group analyses against {key}", "figures": [(fig, f"against {key}")]})
    for row in rows:
        figs = [(p, p.stem) for n in spec.group_analyses
                if (p := d / "groups" / row["group"] / f"{n}.png").is_file()]
        if figs or spec.group_analyses:
            sections.append({"heading": row["group"], "summary": {k: v for k, v in row.items() if k != "group"},
                             "figures": figs})
    return write_page(d / "index.html", f"sweep {spec.name}", sections)

