"""``rnnlab sweep run|status|table``: grids of runs, locally or on a Ray cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._output import print_json, print_rows, terminal

app = typer.Typer(help="Sweeps of many networks.", no_args_is_help=True)
_OUT = typer.Option(None, "--out", help="runs folder (the sweep lives in <out>/sweeps/<name>)")
_JSON = typer.Option(False, "--json", help="print JSON instead of a table")


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
    terminal().print(", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command("status")
def status(sweep: Path, out: Optional[Path] = _OUT, as_json: bool = _JSON) -> None:
    """Finished (converged, or stopped on the step budget), failed, running and remaining runs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..sweep.runner import n_finished, sweep_status

    c = sweep_status(sweep, out)
    total = sum(c.values())
    if as_json:
        print_json({**c, "total": total})
        return
    console = terminal()
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
    as_json: bool = _JSON,
) -> None:
    """One row per run with its swept values, status and metrics; also written as CSV."""
    from ..sweep import load_sweep, sweep_dir, sweep_group_rows, sweep_rows, write_table

    rows = sweep_rows(sweep, out)
    spec, _ = load_sweep(sweep)
    d = sweep_dir(spec, out)
    path = write_table(rows, csv or d / "results.csv")
    groups = sweep_group_rows(sweep, out) if spec.group_analyses else []
    gpath = write_table(groups, d / "groups.csv") if groups else None
    if as_json:
        print_json({"runs": rows, "groups": groups, "csv": str(path.resolve()),
                    "groups_csv": str(gpath.resolve()) if gpath else None})
        return
    console = terminal()
    print_rows(rows, "id", f"sweep {spec.name}")
    console.print(f"csv: {path.resolve()}")
    if groups:
        shown = [{k: v for k, v in g.items() if k.split(".")[-1] not in _GROUP_DETAIL} for g in groups]
        print_rows(shown, "group", f"sweep {spec.name}: groups ({', '.join(spec.group_analyses)})")
        console.print(f"csv: {gpath.resolve()}")
    if (d / "index.html").is_file():
        console.print(f"report: {(d / 'index.html').resolve()}")


# columns of the group CSV left out of the printed table (settings, not results)
_GROUP_DETAIL = {"n_networks", "n_trials", "ood_factor", "behaviour_cv_null", "weight_null"}
