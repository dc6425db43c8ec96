"""``rnnlab runs list|show|reindex``: answered from the SQLite catalog and the run directories;
``reindex`` rebuilds the catalog from the directories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..store import STATUSES, open_run, query, reindex, runs_root

app = typer.Typer(help="List and inspect runs.", no_args_is_help=True)


def _metric(metrics: dict) -> str:
    for k, v in metrics.items():
        if k.startswith("final_") and isinstance(v, (int, float)) and not k.endswith("per_member"):
            return f"{k[6:]} {v:.4g}"
    return ""


def _n_reached(metrics: dict) -> str:
    """Curriculum: the N each member reached ("" without a curriculum)."""
    ns = metrics.get("max_n_reached")
    return ",".join(str(n) for n in ns) if ns else ""


@app.command("list")
def list_runs(
    task: Optional[str] = typer.Option(None, help="only runs of this task"),
    model: Optional[str] = typer.Option(None, help="only runs of this model"),
    status: Optional[str] = typer.Option(None, help=" | ".join(STATUSES)),
    out: Optional[Path] = typer.Option(None, help="runs folder"),
) -> None:
    """Runs in the catalog, newest first. Status: converged (threshold or last curriculum level
    reached), budget (step budget spent without), failed, interrupted, created or running."""
    rows = query(runs_root(out), task=task, model=model, status=status)
    table = Table(title=f"runs in {runs_root(out)}")
    table.add_column("id", no_wrap=True, min_width=max((len(r["id"]) for r in rows), default=2))
    for col in ("task", "model", "seed", "status", "metric", "N reached", "duration (s)", "created"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["task"], r["model"], str(r["seed"]), r["status"], _metric(r["metrics"]),
                      _n_reached(r["metrics"]), f"{r['duration']:.1f}" if r["duration"] is not None else "",
                      r["created"])
    Console().print(table)


@app.command("show")
def show(run_id: str, out: Optional[Path] = typer.Option(None, help="runs folder")) -> None:
    """A run's config and summary."""
    run = open_run(run_id, out)
    console = Console()
    status = run.summary().get("status", "unknown")
    n = _n_reached(run.summary())
    console.print(f"[bold]{run.id}[/]  ({run.dir})  status [bold]{status}[/]" + (f", N reached {n}" if n else ""))
    console.print(run.config().to_yaml())
    console.print(json.dumps(run.summary(), indent=1))
    if run.page.is_file():
        console.print(f"report: {run.page.resolve()}")


@app.command("reindex")
def reindex_cmd(out: Optional[Path] = typer.Option(None, help="runs folder")) -> None:
    """Rebuild the catalog (catalog.sqlite) from the run directories, their config and summary
    verified; the old catalog is kept as catalog.sqlite.damaged-<time> (or .previous-<time>).
    Exits with status 1 if a run directory failed verification (it is listed, and left out)."""
    root = runs_root(out)
    ids, skipped, aside = reindex(root)
    console = Console()
    if aside is not None:
        console.print(f"previous catalog moved to {aside}")
    console.print(f"catalog {root / 'catalog.sqlite'} rebuilt: {len(ids)} runs")
    for run_id, err in skipped.items():
        console.print(f"[red]left out[/] {run_id}: {err}", soft_wrap=True)
    if skipped:
        raise typer.Exit(1)
