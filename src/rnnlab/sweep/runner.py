"""Running a sweep: skip what is finished, group the rest, execute, write results as they come.

The sweep's folder ``<runs>/sweeps/<name>/`` holds a copy of the sweep file, one run
directory per network and ``catalog.sqlite`` with exactly one row per run (keyed by the
deterministic run id). Re-running a sweep skips finished runs (``converged`` or ``budget``:
``rnnlab.store.is_finished``) and re-runs failed, interrupted or never-started ones; the
driver alone writes the catalog.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

from ..store import catalog, is_finished, runs_root
from ..store._faults import fault_point
from ..store._lock import run_lock
from ..store._paths import writable_root
from ..store.run import write_finished_run
from ..train import History
from ._idle_analyses import IdleCoreAnalyses
from ._progress import Bar as _Bar
from .analysis_pass import analyse_runs
from .executors import check_ray, run_local, run_ray
from .groups import analyse_groups, group_rows, write_sweep_report
from .spec import SweepRun, SweepSpec, load_sweep, numbers, swept_values

__all__ = ["sweep_dir", "run_sweep", "run_spec", "sweep_status", "n_finished", "sweep_rows", "sweep_group_rows",
           "write_table"]


def sweep_dir(spec: SweepSpec, root: str | Path | None = None) -> Path:
    return runs_root(root) / "sweeps" / spec.name


def _groups(runs: list[SweepRun], spec: SweepSpec) -> dict[str, dict[str, Any]]:
    by_group: dict[str, list[SweepRun]] = defaultdict(list)
    for r in runs:
        by_group[r.group if spec.group_seeds else r.id].append(r)
    # costliest groups first: with one group per worker, the last group to start then is a cheap
    # one, not the widest network training alone while the other cores idle
    order = sorted(by_group, key=lambda g: -sum(_cost(r) for r in by_group[g]))
    return {g: {"runs": [(r.id, r.config.model_dump(mode="json")) for r in by_group[g]]} for g in order}


def _cost(run: SweepRun) -> float:
    """A rough relative cost of training ``run``: steps × batch × N² (the recurrent matrix product
    dominates a step), only used to order the groups."""
    n = run.config.model.params.get("hidden_size", 64)
    n = n if isinstance(n, (int, float)) else 64
    return float(run.config.train.steps) * run.config.train.batch_size * n * n


def run_sweep(
    path: str | Path,
    root: str | Path | None = None,
    *,
    ray: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Counter:
    """Run (or resume) the sweep in ``path``; returns the count of runs per status."""
    spec, runs = load_sweep(path)
    writable_root(root)
    if ray is not None:
        check_ray(ray)
    d = sweep_dir(spec, root)
    d.mkdir(parents=True, exist_ok=True)
    if Path(path).resolve() != (d / "sweep.yaml").resolve():
        shutil.copyfile(path, d / "sweep.yaml")
    run_spec(spec, runs, d, ray=ray, workers=workers, progress=progress)
    write_sweep_report(spec, runs, d, sweep_rows(path, root))
    return sweep_status(path, root)


def run_spec(
    spec: SweepSpec,
    runs: list[SweepRun],
    d: Path,
    *,
    ray: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_group: Callable[[str], None] | None = None,
) -> None:
    """Train every unfinished run of an expanded sweep into folder ``d``, then run the
    per-network analyses that are missing or out of date, then the group analyses.

    What a study and a sweep file share: nothing done is trained again, and an analysis is
    recomputed only when its parameters (or the network) changed.
    """
    d.mkdir(parents=True, exist_ok=True)
    with run_lock(d, f"sweep folder {d}"):  # a second driver is refused; a killed one's rows read interrupted
        _run_spec(spec, runs, d, ray, workers, progress, on_group)


def _run_spec(spec, runs, d, ray, workers, progress, on_group) -> None:
    status = {r["id"]: r["status"] for r in catalog.query(d)}
    todo = [r for r in runs if not is_finished(status.get(r.id))]
    for r in todo:
        if r.id not in status:
            catalog.upsert(d, {"id": r.id, "task": r.config.task.name, "model": r.config.model.name,
                               "params": r.config.model_dump(mode="json"), "seed": r.config.seed,
                               "status": "pending", "created": "", "path": str(d / r.id)})
        catalog.update(d, r.id, status="running")
    fault_point("sweep", "dispatched")
    payloads = _groups(todo, spec)
    configs = {r.id: r.config for r in runs}
    n_workers = workers or os.cpu_count() or 1
    # group analyses on the cores idle while the last groups train (local workers, seeds grouped)
    idle = (IdleCoreAnalyses(spec, runs, d, n_workers)
            if payloads and not ray and n_workers > 1 and spec.group_seeds and spec.group_analyses else None)
    if payloads:
        stream = run_ray(payloads, ray) if ray else run_local(payloads, n_workers)
        with _Bar(progress, len(runs), len(runs) - len(todo), "train") as bar:
            for n_trained, (group, results) in enumerate(stream, 1):
                for res in results:
                    if "model" in res:
                        write_finished_run(d, res["id"], configs[res["id"]], res["model"],
                                           History.from_dict(res["history"]), res["summary"],
                                           initial_model=res.get("initial_model"),
                                           stage_models=res.get("stage_models"))
                    else:
                        catalog.update(d, res["id"], status="failed", metrics=res["summary"])
                    bar.advance()
                if idle is not None:
                    idle.trained(group, len(payloads) - n_trained)
    analyse_runs(spec.analyses, runs, d, workers=1 if ray else n_workers, progress=progress)
    early = idle.wait() if idle is not None else []  # groups analysed while others trained
    if on_group is not None:
        for group in early:
            on_group(group)
    if on_group is not None or not progress or not spec.group_analyses:
        analyse_groups(spec, runs, d, on_group=on_group, workers=1 if ray else n_workers)
        return
    n_groups = len({r.group for r in runs})
    with _Bar(True, n_groups, len(early), "group analyses") as bar:
        analyse_groups(spec, runs, d, on_group=lambda g: bar.advance(), workers=1 if ray else n_workers)
        bar.finish()


def sweep_group_rows(path: str | Path, root: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per group (grid point): swept values, network count, group-analysis numbers."""
    spec, runs = load_sweep(path)
    return group_rows(spec, runs, sweep_dir(spec, root))


_COUNTED = ("converged", "budget", "failed", "running")


def sweep_status(path: str | Path, root: str | Path | None = None) -> Counter:
    """Counts of ``converged``, ``budget``, ``failed``, ``running`` and ``remaining`` runs
    (``remaining``: never started or interrupted). A legacy ``completed`` (a catalog written
    before converged/budget were told apart) is counted under its own key."""
    spec, runs = load_sweep(path)
    status = {r["id"]: r["status"] for r in catalog.query(sweep_dir(spec, root))}
    counts = Counter({s: 0 for s in (*_COUNTED, "remaining")})
    for r in runs:
        s = status.get(r.id, "remaining")
        counts[s if s in _COUNTED or is_finished(s) else "remaining"] += 1
    return counts


def n_finished(counts: Counter) -> int:
    """How many runs of a ``sweep_status`` count are finished (``rnnlab.store.FINISHED``)."""
    return sum(v for k, v in counts.items() if is_finished(k))


def sweep_rows(path: str | Path, root: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per run: id, the swept values, seed, status and the scalar metrics."""
    spec, runs = load_sweep(path)
    rows = {r["id"]: r for r in catalog.query(sweep_dir(spec, root))}
    out = []
    for r in runs:
        row = rows.get(r.id, {})
        rec: dict[str, Any] = {"id": r.id, **swept_values(spec, r)}
        rec["seed"] = r.config.seed
        rec["status"] = row.get("status", "remaining")
        metrics = row.get("metrics") or {}
        rec.update(numbers(metrics))
        if metrics.get("max_n_reached"):  # curriculum: the N reached (one member per sweep run)
            rec["max_n_reached"] = max(metrics["max_n_reached"])
        out.append(rec)
    return out


def write_table(rows: list[dict[str, Any]], path: Path) -> Path:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return path
