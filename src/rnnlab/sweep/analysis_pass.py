"""The per-network analysis pass of a sweep: run each analysis once per network, and again only
when it or the network changed.

After training, every finished run (``converged`` or ``budget``) is read back from its run
directory (trained model, initial model, curriculum stage models, history) and each of the
sweep's per-network analyses (``rnnlab.sweep.analyses.ANALYSES``) is run on it, several runs
at a time in spawned worker processes. Results are cached in ``<run>/analyses.json`` under a
key made of the analysis spec (name and parameters) and the SHA-256 of the trained weights,
so a re-run computes only what is missing or out of date; the catalog row's metrics become
the run summary plus every current analysis result (the columns of the sweep and study
tables). An analysis that raises is recorded as ``error:<name>`` with its message and its
columns stay empty; it does not stop the pass.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..store import catalog
from ..store.status import is_finished
from ..store._atomic import write_text_atomic
from ..store.run import Run
from ._progress import Bar
from .analyses import NetworkContext, run_analyses
from .spec import SweepRun

__all__ = ["analyse_runs"]

_CACHE = "analyses.json"

def _spec_key(spec: Any, weights_sha: str) -> str:
    body = {"name": spec, "params": {}} if isinstance(spec, str) else {"name": spec["name"],
                                                                         "params": spec.get("params") or {}}
    return hashlib.sha1(json.dumps({**body, "weights": weights_sha}, sort_keys=True).encode()).hexdigest()[:16]


def _weights_sha(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / "model.eqx").read_bytes()).hexdigest()


def _read_cache(run_dir: Path) -> dict[str, Any]:
    path = run_dir / _CACHE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return {}  # a damaged cache only costs a recomputation
    return data if isinstance(data, dict) else {}


def _context(run: Run, seed: int) -> tuple[NetworkContext, Any]:
    """The run read back from its directory as an analysis sees it, and the task of its final
    model (for a curriculum: the task at the last level reached, laid out for the model's heads)."""
    from ..train.curricula import final_task, stage_task

    cfg = run.config()
    task, cur = cfg.build_task(), cfg.train.curriculum
    history = run.history()
    initial = run.load_initial_model() if (run.dir / "initial_model.eqx").is_file() else None
    stages = run.stage_models() if (run.dir / "stages").is_dir() else {}
    task_at = (lambda n: stage_task(task, cur, n)) if cur else None
    ctx = NetworkContext(initial_model=initial, stage_models=stages, history=history, seed=seed, task_at=task_at)
    return ctx, final_task(task, cur, history.level)


def _analyse_one(job: tuple[str, str, int, list[Any]]) -> dict[str, Any]:
    """Worker: run the ``specs`` on one run; ``{spec_index: results}`` (errors recorded)."""
    d, run_id, seed, specs = job
    run = Run(Path(d), run_id)
    model = run.load_model()
    ctx, task = _context(run, seed)
    out: dict[str, Any] = {}
    for i, spec in enumerate(specs):
        name = spec if isinstance(spec, str) else spec["name"]
        try:
            out[str(i)] = run_analyses([spec], model, task, ctx)
        except Exception as e:  # one broken analysis must not take the pass down
            out[str(i)] = {f"error:{name}": f"{e.__class__.__name__}: {e}".splitlines()[0][:300],
                           f"traceback:{name}": traceback.format_exc(limit=4)}
    return out


def analyse_runs(
    specs: list[Any], runs: list[SweepRun], d: Path, *, workers: int = 1, progress: bool = False
) -> int:
    """Bring every finished run's analysis results up to date; returns how many runs were analysed."""
    if not specs:
        return 0
    status = {r["id"]: r for r in catalog.query(d)}
    jobs, keys, caches, todo = [], {}, {}, {}
    for r in runs:
        row = status.get(r.id)
        if row is None or not is_finished(row["status"]) or not (d / r.id / "model.eqx").is_file():
            continue
        sha = _weights_sha(d / r.id)
        caches[r.id] = cache = _read_cache(d / r.id)
        keys[r.id] = ks = [_spec_key(s, sha) for s in specs]
        todo[r.id] = [(s, k) for s, k in zip(specs, ks) if k not in cache]
        if todo[r.id]:
            jobs.append((str(d), r.id, r.config.seed, [s for s, _ in todo[r.id]]))
        else:
            _publish(d, r.id, ks, cache, row)
    if not jobs:
        return 0
    with Bar(progress, len(jobs), 0, "analyse") as bar:
        for (_, run_id, _, _), results in zip(jobs, _map(_analyse_one, jobs, workers)):
            cache = caches[run_id]
            for i, (spec, key) in enumerate(todo[run_id]):
                cache[key] = {"spec": spec, "results": results[str(i)]}
            write_text_atomic(d / run_id / _CACHE, json.dumps(cache, indent=1))
            _publish(d, run_id, keys[run_id], cache, status[run_id])
            bar.advance()
    return len(jobs)


def _publish(d: Path, run_id: str, keys: list[str], cache: dict[str, Any], row: dict[str, Any]) -> None:
    """Catalog metrics = the run's summary plus the current analyses' results."""
    metrics = dict(Run(d, run_id).summary() or row.get("metrics") or {})
    for k in keys:
        metrics.update({n: v for n, v in cache[k]["results"].items() if not n.startswith("traceback:")})
    catalog.update(d, run_id, metrics=metrics)


def _map(fn, jobs: list, workers: int):
    if workers <= 1 or len(jobs) == 1:
        yield from map(fn, jobs)
        return
    ctx = mp.get_context("spawn")  # JAX is not fork-safe
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
        yield from pool.map(fn, jobs)
