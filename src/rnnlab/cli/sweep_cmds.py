"""``rnnlab sweep run|status|table``: grids of runs, locally or on a Ray cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

app = typer.Typer(help="Sweeps of many networks.", no_args_is_help=True)
_OUT = typer.Option(None, "--out", help="runs folder (the sweep lives in <out>/sweeps/<name>)")


@app.command("run")
def run(
    sweep: Path,
    ray: Optional[str] = typer.Option(None, "--ray", help="Ray cluster address (host:port or 'auto'), or 'local': "
                                      "a one-machine cluster on 127.0.0.1 started for the sweep"),
    workers: Optional[int] = typer.Option(None, help="local worker processes (default: cores)"),
    out: Optional[Path] = _OUT,
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Run or resume a sweep: finished runs are skipped, failed or interrupted ones re-run."""
    from ..sweep import run_sweep

    counts = run_sweep(sweep, out, ray=ray, workers=workers, progress=progress)
    Console().print(", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command("status")
def status(sweep: Path, out: Optional[Path] = _OUT) -> None:
    """Finished (converged, or stopped on the step budget), failed, running and remaining runs."""
    from ..sweep.runner import n_finished, sweep_status

    c = sweep_status(sweep, out)
    total = sum(c.values())
    console = Console()
    with Progress(TextColumn("[bold]done"), BarColumn(), MofNCompleteColumn(), console=console,
                  auto_refresh=False) as p:
        p.add_task("done", total=total, completed=n_finished(c))
        p.refresh()
    console.print(", ".join(f"{k} {v}" for k, v in c.items()) + f" (of {total})")


@app.command("table")
def table(
    sweep: Path,
    csv: Optional[Path] = typer.Option(None, help="CSV path (default <sweep folder>/results.csv)"),
    out: Optional[Path] = _OUT,
) -> None:
    """One row per run with its swept values, status and metrics; also written as CSV."""
    from ..sweep import load_sweep, sweep_dir, sweep_group_rows, sweep_rows, write_table

    rows = sweep_rows(sweep, out)
    spec, _ = load_sweep(sweep)
    d = sweep_dir(spec, out)
    path = write_table(rows, csv or d / "results.csv")
    console = Console()
    console.print(_table(f"sweep {spec.name}", rows, "id"))
    console.print(f"csv: {path.resolve()}")
    if spec.group_analyses:
        groups = sweep_group_rows(sweep, out)
        gpath = write_table(groups, d / "groups.csv")
        shown = [{k: v for k, v in g.items() if k.split(".")[-1] not in _GROUP_DETAIL} for g in groups]
        console.print(_table(f"sweep {spec.name}: groups ({', '.join(spec.group_analyses)})", shown, "group"))
        console.print(f"csv: {gpath.resolve()}")
    if (d / "index.html").is_file():
        console.print(f"report: {(d / 'index.html').resolve()}")


# columns of the group CSV left out of the printed table (settings, not results)
_GROUP_DETAIL = {"n_networks", "n_trials", "ood_factor", "behaviour_cv_null", "weight_null"}


def _table(title: str, rows: list[dict], key: str) -> Table:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    t = Table(title=title)
    for c in cols:
        t.add_column(c, no_wrap=c == key)
    for r in rows:
        t.add_row(*(f"{r[c]:.4g}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols))
    return t
