"""A sweep's page: the run table, each main metric against each swept value, the grid points.

``<sweep>/index.html`` holds, in the layout of every rnnlab page (summary with provenance,
contents, captions):

- a summary of the sweep (base task and model, grid, seeds, runs by status) and its files;
- the run table, one row per network (sortable by any column; the id links to the run's page);
- one figure per swept grid path × main metric (the task metric at the end of training,
  the training steps when some runs converged, the curriculum N reached): each seed a point,
  a line through the median over seeds at each value with the interquartile range as bars;
  runs differing in another grid path (or case) are separate lines;
- the grid-point table: per group of seeds the networks finished, the median metric and the
  group analyses' numbers; for a grid over one numeric value, each group-analysis number
  against it; then each group's analysis figures.

``write_run_pages`` draws the page of every finished run of the sweep that has none (or an
older one than its summary) with ``write_stored_run_report``, which draws what the run store
draws for a run trained on its own; the sweep driver calls it before writing the sweep page.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .figures import _save, plt
from .html import provenance, write_page

__all__ = ["main_metrics", "metric_figure", "run_table", "write_run_pages", "write_sweep_page"]

_LABELS = {
    "final_mse": "final MSE (evaluation batch)",
    "final_accuracy": "final accuracy (fraction correct)",
    "final_eval_loss": "final evaluation loss",
    "steps": "training steps run",
    "max_n_reached": "curriculum N reached",
    "wall_time_s": "training wall time (s)",
}
_FIRST = ("id", "seed", "status")
_HIDDEN = {"members"}  # always 1 in a sweep


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def main_metrics(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The outcome columns plotted against the swept values: each task metric ``final_<metric>``,
    ``steps`` when some run converged (steps to threshold), ``max_n_reached`` for curricula."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    out = [c for c in cols if c.startswith("final_") and c != "final_eval_loss"
           and not c.endswith("_per_member") and any(_finite(r.get(c)) for r in rows)]
    if any(r.get("status") == "converged" for r in rows) and any(r.get("status") == "budget" for r in rows):
        out.append("steps")
    if any(_finite(r.get("max_n_reached")) for r in rows):
        out.append("max_n_reached")
    return out


def _label(col: str) -> str:
    return _LABELS.get(col, col.replace("_", " "))


def _axis(values: list[Any]) -> tuple[np.ndarray, list[Any], bool, bool]:
    """Positions of ``values`` on the x axis: ``(x, ticks, numeric, log)``; text values are
    categories at 0, 1, ... in order of first appearance."""
    if all(_finite(v) for v in values):
        x = np.asarray(values, float)
        ticks = sorted(set(values))
        log = bool(x.min() > 0 and x.max() / x.min() >= 8)
        return x, ticks, True, log
    cats = list(dict.fromkeys(str(v) for v in values))
    return np.asarray([cats.index(str(v)) for v in values], float), cats, False, False


def metric_figure(rows: Sequence[dict[str, Any]], path_key: str, metric: str, out: Path,
                  series: Sequence[str] | None = None) -> tuple[Path, int] | None:
    """``metric`` of every run (points, one per seed) against the swept value ``path_key``, with
    the median over seeds at each value (line) and the interquartile range (bars). ``series[i]``
    names the line row ``i`` belongs to (runs differing in other swept values). Returns the PNG
    and the number of runs left out (no finite value), or None when no run has one."""
    series = list(series) if series is not None else ["all runs"] * len(rows)
    keep = [i for i, r in enumerate(rows) if _finite(r.get(metric)) and r.get(path_key) is not None]
    if not keep:
        return None
    x, ticks, numeric, log = _axis([rows[i][path_key] for i in keep])
    y = np.asarray([rows[i][metric] for i in keep], float)
    s = [series[i] for i in keep]
    names = list(dict.fromkeys(s))
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    rng = np.random.default_rng(0)
    positions = np.log(x) if log else x
    spacing = np.min(np.diff(np.unique(positions))) if len(np.unique(positions)) > 1 else 1.0
    for j, name in enumerate(names):
        idx = np.flatnonzero(np.asarray(s) == name)
        colour = f"C{j % 10}"
        offset = (j - (len(names) - 1) / 2) * 0.06 * spacing  # lines side by side, not on top of each other
        jitter = offset + rng.uniform(-0.04, 0.04, len(idx)) * spacing
        px = np.exp(positions[idx] + jitter) if log else positions[idx] + jitter
        ax.plot(px, y[idx], "o", ms=5, alpha=0.7, color=colour, mec="none")
        xs = np.unique(x[idx])
        groups = [y[idx][x[idx] == v] for v in xs]
        med = np.array([np.median(g) for g in groups])
        q1 = np.array([np.percentile(g, 25) for g in groups])
        q3 = np.array([np.percentile(g, 75) for g in groups])
        lx = np.exp(np.log(xs) + offset) if log else xs + offset
        ax.errorbar(lx, med, yerr=[med - q1, q3 - med], fmt="-", lw=1.8, capsize=3, color=colour,
                    label=name if len(names) > 1 else "median, IQR")
    if log:
        ax.set_xscale("log")
    ax.set_xticks(ticks if numeric else range(len(ticks)), [f"{t:g}" if numeric else str(t) for t in ticks])
    ax.minorticks_off()
    if metric in ("final_mse", "final_eval_loss") and y.min() > 0 and y.max() / y.min() > 10:
        ax.set_yscale("log")
    ax.set(xlabel=path_key, ylabel=_label(metric), title=f"{_label(metric)}\nagainst {path_key.split('.')[-1]}")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _save(fig, out), len(rows) - len(keep)


def run_table(rows: Sequence[dict[str, Any]], grid: Sequence[str], d: Path) -> dict[str, Any]:
    """The sortable run table: id (linked to the run's page where it exists), swept values, seed,
    status, then the numbers."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    rest = [c for c in cols if c not in _FIRST and c not in grid and c not in _HIDDEN]
    metrics = main_metrics(rows)
    rest = [c for c in metrics if c in rest] + [c for c in rest if c not in metrics]
    columns = ["id", *grid, "seed", "status", *rest]
    shown = []
    for r in rows:
        page = d / r["id"] / "index.html"
        shown.append({**r, "_page": page if page.is_file() else None})
    return {"caption": f"{len(rows)} networks, one row per run: click a header to sort, an id to open the run's "
                       "page (figures and summary)",
            "columns": columns, "rows": shown, "links": {"id": "_page"}, "sortable": True}


def _series(spec, runs, rows, path_key: str) -> list[str]:
    """Per run row, the values of the other swept paths (and the case) that split it into lines."""
    case = {r.id: r.case for r in runs}
    others = [k for k in spec.grid if k != path_key]
    out = []
    for r in rows:
        parts = [f"{k.split('.')[-1]}={r.get(k)}" for k in others]
        if len(spec.cases) > 1:
            parts.append(f"case {case.get(r['id'], 0)}")
        out.append(", ".join(parts) or "all runs")
    return out


def _trend_figure(rows: list[dict[str, Any]], key: str, analyses: Sequence[str], path: Path) -> Path | None:
    """Each group analysis's headline numbers (and their nulls) against the one swept numeric value."""
    xs = [r.get(key) for r in rows]
    if not all(_finite(x) for x in xs):
        return None
    cols = sorted({k for r in rows for k in r if "." in k and not k.endswith("_null") and k.split(".")[0]
                   in analyses and k.split(".")[1] not in ("n_networks", "n_trials", "ood_factor")})
    if not cols:
        return None
    fig, axes = plt.subplots(1, len(cols), figsize=(3.8 * len(cols), 3.4), squeeze=False)
    order = np.argsort(xs)
    x = np.asarray(xs, float)[order]
    for ax, c in zip(axes[0], cols):
        ax.plot(x, [rows[i].get(c, np.nan) for i in order], "o-", label="across seeds")
        null = [rows[i].get(c + "_null", rows[i].get(c.replace("weights", "weight") + "_null", np.nan)) for i in order]
        if np.isfinite(np.asarray(null, float)).any():
            ax.plot(x, null, "s--", color="0.5", label="null")
        ax.set(xlabel=key, ylabel=c.split(".", 1)[1].replace("_", " "), title=c)
        ax.title.set_fontsize(10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _grid_table(spec, runs, rows: list[dict[str, Any]], run_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per grid point: swept values, networks, finished, the median of each main metric, the group
    analyses' numbers."""
    from ..store import is_finished

    by_id = {r["id"]: r for r in run_rows}
    members: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        members.setdefault(r.group, []).append(by_id.get(r.id, {}))
    metrics = main_metrics(run_rows)
    out = []
    for row in rows:
        mine = members.get(row["group"], [])
        rec = {**row, "finished": sum(is_finished(m.get("status")) for m in mine)}
        for m in metrics:
            vals = [v[m] for v in mine if _finite(v.get(m))]
            rec[f"median {m}"] = float(np.median(vals)) if vals else ""
        out.append(rec)
    first = ["group", *spec.grid, "networks", "finished", *(f"median {m}" for m in metrics)]
    cols = first + [c for c in dict.fromkeys(k for r in out for k in r) if c not in first]
    caption = ("one row per grid point (its seeds): networks finished, the median over seeds of each main metric"
               + (", and the numbers of each group analysis (" + ", ".join(spec.group_analyses) + "; columns "
                  "analysis.number, nulls marked _null)" if spec.group_analyses else ""))
    return {"caption": caption, "columns": cols, "rows": out, "sortable": True}


def write_sweep_page(spec, runs, d: Path, run_rows: list[dict[str, Any]], group_rows: list[dict[str, Any]]) -> Path:
    """Write ``<sweep>/index.html`` (figures under ``<sweep>/figures`` and ``<sweep>/groups``)."""
    d = Path(d)
    counts = Counter(r.get("status", "remaining") for r in run_rows)
    base = runs[0].config if runs else None
    seeds = spec.n_seeds
    n_points = len({r.group for r in runs})
    intro = (f"Sweep {spec.name}: {len(run_rows)} networks, {n_points} grid point(s) × {seeds} seed(s)"
             + (f" of task {base.task.name} with model {base.model.name}" if base is not None else "") + ". "
             "Each network has its own page (the id in the run table); the figures below show each main metric "
             "against each swept value.")
    summary: dict[str, Any] = {
        "networks": len(run_rows), **{f"runs {k}": v for k, v in sorted(counts.items())},
        "grid": "; ".join(f"{k}: {v}" for k, v in spec.grid.items()) or "none",
        "cases": len(spec.cases), "seeds": spec.seed_list() if seeds <= 10 else seeds,
    }
    if base is not None:
        summary.update({"task (base)": base.task.name, "model (base)": base.model.name,
                        "training steps (budget)": base.train.steps})
    if spec.analyses:
        summary["per-network analyses"] = ", ".join(a if isinstance(a, str) else a.get("name", "?")
                                                    for a in spec.analyses)
    if spec.group_analyses:
        summary["group analyses"] = ", ".join(spec.group_analyses)
    links = [(d / name, text) for name, text in (
        ("sweep.yaml", "sweep.yaml (the sweep file)"), ("results.csv", "results.csv (rnnlab sweep table)"),
        ("groups.csv", "groups.csv (one row per grid point)")) if (d / name).is_file()]
    sections: list[dict[str, Any]] = [{"heading": "summary", "intro": intro, "summary": summary, "links": links},
                                      {"heading": "runs", "tables": [run_table(run_rows, list(spec.grid), d)]}]
    figs = []
    for key in spec.grid:
        series = _series(spec, runs, run_rows, key)
        for metric in main_metrics(run_rows):
            name = f"{metric}-vs-{key.replace('.', '_')}.png"
            drawn = metric_figure(run_rows, key, metric, d / "figures" / name, series)
            if drawn is None:
                continue
            png, left_out = drawn
            caption = (f"{_label(metric)} of each network (points, one per seed) against {key}; line: the median "
                       f"over seeds at each value, bars: the interquartile range"
                       + ("; one line per value of the other swept paths" if len(set(series)) > 1 else "")
                       + (f". {left_out} run(s) without a value (not finished or failed) left out" if left_out else "")
                       + ".")
            figs.append((png, caption))
    if figs:
        sections.append({"heading": "metrics against swept values", "figures": figs})
    grid_sec: dict[str, Any] = {"heading": "grid points", "tables": [_grid_table(spec, runs, group_rows, run_rows)]}
    if len(spec.grid) == 1 and spec.group_analyses:
        key = next(iter(spec.grid))
        fig = _trend_figure(group_rows, key, spec.group_analyses, d / "groups" / "trend.png")
        if fig is not None:
            caption = (f"each group analysis's numbers (points: one grid point, all its seeds) against {key}; "
                       "grey squares: the analysis's null")
            grid_sec["figures"] = [(fig, caption)]
    sections.append(grid_sec)
    for row in group_rows:
        found = [(p, f"{n} across the seeds of grid point {row['group']}") for n in spec.group_analyses
                 if (p := d / "groups" / row["group"] / f"{n}.png").is_file()]
        if found:
            sections.append({"heading": f"group {row['group']}",
                             "summary": {k: v for k, v in row.items() if k != "group"}, "figures": found})
    return write_page(d / "index.html", f"sweep {spec.name}", sections,
                      provenance=provenance({"sweep": spec.name}))


def write_run_pages(d: Path, run_ids: Sequence[str], statuses: dict[str, str],
                    workers: int | None = None) -> tuple[int, float]:
    """Draw the page of each finished run in ``run_ids`` (under ``d``) that has none, or one older
    than its ``summary.json``; returns ``(pages written, seconds taken)``.

    A page costs about as much as training a tiny network (model load, one compilation per
    network shape, four or five figures), so with many pages to draw (at least 8 per process and
    two processes) they are shared among up to ``workers`` spawned processes (default: the cores),
    each taking consecutive runs (the seeds of one grid point share their compilations);
    otherwise the driver draws them.
    """
    from ..store import is_finished

    start = time.perf_counter()
    todo = []
    for rid in run_ids:
        run_dir = Path(d) / rid
        page, summary = run_dir / "index.html", run_dir / "summary.json"
        if not is_finished(statuses.get(rid)) or not summary.is_file():
            continue
        if page.is_file() and page.stat().st_mtime_ns >= summary.stat().st_mtime_ns:
            continue
        todo.append(str(run_dir))
    n_pool = min(workers or os.cpu_count() or 1, len(todo) // _PER_WORKER)
    if n_pool < _MIN_POOL:
        for run_dir in todo:
            _draw_run_page(run_dir)
    else:
        chunk = math.ceil(len(todo) / n_pool)
        ctx = mp.get_context("spawn")  # JAX is not fork-safe
        with ProcessPoolExecutor(max_workers=n_pool, mp_context=ctx) as pool:
            list(pool.map(_draw_run_page, todo, chunksize=chunk))
    return len(todo), time.perf_counter() - start


_PER_WORKER = 8  # pages per spawned process at least (a process takes seconds to start)
_MIN_POOL = 2  # one process would only add its start-up to drawing in the driver


def _draw_run_page(run_dir: str) -> None:
    from .run_report import write_stored_run_report

    write_stored_run_report(Path(run_dir), f"sweep run {Path(run_dir).name}")
