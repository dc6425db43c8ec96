"""``rnnlab runs list|show|reindex``: answered from the SQLite catalog and the run directories;
``reindex`` rebuilds the catalog from the directories."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .._format import num, readable
from ..store._paths import runs_root
from ..store.status import STATUSES
from ._choices import choice
from ._output import print_json, print_rows, terminal

app = typer.Typer(help="List and inspect runs.", no_args_is_help=True)
Status = choice("Status", STATUSES)


def _metric(metrics: dict) -> str:
    for k, v in metrics.items():
        if k.startswith("final_") and isinstance(v, (int, float)) and not k.endswith("per_member"):
            return f"{k[6:]} {num(v)}"
    return ""


def _n_reached(metrics: dict) -> str:
    """Curriculum: the N each member reached ("" without a curriculum)."""
    ns = metrics.get("max_n_reached")
    return ",".join(str(n) for n in ns) if ns else ""


@app.command("list")
def list_runs(
    task: Optional[str] = typer.Option(None, help="only runs of this task"),
    model: Optional[str] = typer.Option(None, help="only runs of this model"),
    status: Optional[Status] = typer.Option(None, help="only runs with this status"),
    out: Optional[Path] = typer.Option(None, help="runs folder"),
    as_json: bool = typer.Option(False, "--json", help="print the catalog rows as JSON"),
) -> None:
    """Runs in the catalog, newest first. Status: converged (threshold or last curriculum level
    reached), budget (step budget spent without), failed, interrupted, created or running."""
    from ..store.catalog import query

    rows = query(runs_root(out), task=task, model=model, status=status.value if status else None)
    if as_json:
        print_json(rows)
        return
    print_rows([{"id": r["id"], "task": r["task"], "model": r["model"], "seed": r["seed"], "status": r["status"],
                 "metric": _metric(r["metrics"]), "N reached": _n_reached(r["metrics"]),
                 "duration (s)": None if r["duration"] is None else round(r["duration"], 1),
                 "created": r["created"]} for r in rows], "id", f"runs in {runs_root(out)}")


@app.command("show")
def show(run_id: str, out: Optional[Path] = typer.Option(None, help="runs folder"),
         as_json: bool = typer.Option(False, "--json", help="print config and summary as JSON")) -> None:
    """A run's config and summary."""
    import yaml

    from ..store import open_run

    run = open_run(run_id, out)
    summary, cfg = run.summary(), run.config()
    if as_json:
        print_json({"id": run.id, "dir": str(run.dir), "config": cfg.model_dump(mode="json"), "summary": summary,
                    "page": str(run.page.resolve()) if run.page.is_file() else None})
        return
    console = terminal()
    status = summary.get("status", "unknown")
    n = _n_reached(summary)
    console.print(f"[bold]{run.id}[/]  ({run.dir})  status [bold]{status}[/]" + (f", N reached {n}" if n else ""))
    console.print(cfg.to_yaml())
    console.print(yaml.safe_dump(readable(summary), sort_keys=False, width=1000))
    if run.page.is_file():
        console.print(f"report: {run.page.resolve()}")


@app.command("reindex")
def reindex_cmd(out: Optional[Path] = typer.Option(None, help="runs folder")) -> None:
    """Rebuild the catalog (catalog.sqlite) from the run directories, their config and summary
    verified; the old catalog is kept as catalog.sqlite.damaged-<time> (or .previous-<time>).
    Exits with status 1 if a run directory failed verification (it is listed, and left out)."""
    
    from ..store import reindex

    root = runs_root(out)
    ids, skipped, aside = reindex(root)
    console = terminal()
    if aside is not None:
        console.print(f"previous catalog moved to {aside}")
    console.print(f"catalog {root / 'catalog.sqlite'} rebuilt: {len(ids)} runs")
    for run_id, err in skipped.items():
        console.print(f"[red]left out[/] {run_id}: {err}", soft_wrap=True)
    if skipped:
        raise typer.Exit(1)
