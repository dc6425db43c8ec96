"""``rnnlab study list|show|run|report``: papers' claims as runnable studies."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from ._output import terminal

app = typer.Typer(help="Studies: a paper's central claims, reproduced across seeds.", no_args_is_help=True)

_SCALES = ("quick", "paper")


def _minutes(m: float) -> str:
    if not math.isfinite(m):
        return "not measured"
    return f"~{m:.3g} min" if m < 120 else f"~{m / 60:.3g} h"


@app.command("list")
def list_studies(as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table")) -> None:
    """Every study: name, paper, what it tests, and its scales with their expected wall time."""
    from rich.table import Table

    from .. import studies

    rows = []
    for name in studies.names():
        s = studies.get(name)
        rows.append({"name": s.name, "paper": s.paper, "summary": s.summary,
                     "scales": {k: {"expected_minutes": v.expected_minutes, "hardware": v.hardware}
                                for k, v in s.scales.items()}})
    if as_json:
        print(json.dumps(rows, indent=1, default=lambda v: None))
        return
    t = Table(show_lines=True)
    t.add_column("study", no_wrap=True, style="bold")
    t.add_column("paper", overflow="fold")
    t.add_column("what it tests", overflow="fold")
    t.add_column("scales", overflow="fold")
    for r in rows:
        t.add_row(r["name"], r["paper"], r["summary"],
                  "\n".join(f"{k}: {_minutes(v['expected_minutes'])} ({v['hardware']})" for k, v in r["scales"].items()))
    terminal().print(t)


@app.command("show")
def show(name: str, as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """A study's conditions, settings and claims at each scale."""
    from rich.table import Table

    from .. import studies

    s = studies.get(name)
    data = {"name": s.name, "paper": s.paper, "version": s.version, "summary": s.summary,
            "claims": [{"id": c.id, "statement": c.statement, "needs": f"{c.needs} scale"} for c in s.claims],
            "scales": {k: {"seeds": v.seeds, "conditions": [c.labels for c in v.conditions],
                           "overrides": [c.overrides for c in v.conditions], "base": v.base,
                           "analyses": v.analyses, "group_analyses": v.group_analyses,
                           "expected_minutes": v.expected_minutes, "hardware": v.hardware, "estimate": v.estimate}
                       for k, v in s.scales.items()}}
    if as_json:
        print(json.dumps(data, indent=1, default=lambda v: None))
        return
    c = terminal()
    c.print(f"[bold]{s.name}[/] (version {s.version}): {s.paper}\n{s.summary}\n")
    t = Table(title="claims", show_lines=True)
    t.add_column("id", no_wrap=True, style="bold")
    t.add_column("statement", overflow="fold")
    t.add_column("testable at", no_wrap=True)
    for cl in s.claims:
        t.add_row(cl.id, cl.statement, f"{cl.needs} scale")
    c.print(t)
    for k, v in s.scales.items():
        c.print(f"\n[bold]{k}[/]: {len(v.conditions)} conditions × {v.seeds} seeds, expected "
                f"{_minutes(v.expected_minutes)} on {v.hardware}" + (f" ({v.estimate})" if v.estimate else ""))
        c.print("  conditions: " + "; ".join(", ".join(f"{a}={b}" for a, b in cd.labels.items()) for cd in v.conditions))
        c.print(f"  base config: {json.dumps(v.base)}")
        c.print(f"  analyses: {json.dumps(v.analyses)}; group analyses: {v.group_analyses}")


def _print_claims(result, as_json: bool) -> None:
    from rich.table import Table

    from ..studies.report import format_claims

    if as_json:
        print(json.dumps({"dir": str(result.dir), "page": str(result.page),
                          "claims": json.loads((result.dir / "claims.json").read_text())}, indent=1))
        return
    rows = format_claims(result.claims)
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    c = terminal()
    title = f"claims of {result.study.name} ({result.scale})"
    width = max(len(r[0]) for r in rows) + 12 + max(len(r[2]) for r in rows) + max(len(r[3]) for r in rows) + 7 + 5 + 19
    if c.width < width:  # too narrow for the table: one claim per line, nothing cut
        c.print(f"[bold]{title}[/]")
        for r in rows:
            c.print(f"  [bold]{r[0]}[/]: [{colour.get(r[1], 'white')}]{r[1]}[/]  value {r[2]} {r[3]}  p {r[4]}"
                    f"  ({r[5]})", overflow="fold")
        c.print(f"page: {result.page}")
        return
    t = Table(title=title)
    for col in ("claim", "outcome", "value", "95% CI", "p", "testable at"):
        t.add_column(col, no_wrap=True, style="bold" if col == "claim" else None)
    for r in rows:
        t.add_row(r[0], f"[{colour.get(r[1], 'white')}]{r[1]}[/]", *r[2:])
    c.print(t)
    c.print(f"page: {result.page}")


@app.command("run")
def run(
    name: str,
    scale: str = typer.Option("quick", "--scale", help="quick (minutes on a laptop) or paper (the paper's sizes)"),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="networks per condition (default: the scale's)"),
    out: Optional[Path] = typer.Option(None, "--out", help="study folder (default <runs>/studies/<name>-<scale>)"),
    ray: Optional[str] = typer.Option(None, "--ray", help="Ray cluster address (host:port or 'auto')"),
    workers: Optional[int] = typer.Option(None, "--workers", help="local worker processes (default: cores)"),
    progress: bool = typer.Option(True, help="show progress bars"),
    as_json: bool = typer.Option(False, "--json", help="print the claims as JSON"),
) -> None:
    """Train, analyse and evaluate a study's claims (resumable), then print the claim table."""
    from .. import studies
    from ..errors import ConfigError

    if scale not in _SCALES:
        raise ConfigError(f"--scale: must be one of {', '.join(_SCALES)} (got '{scale}')")
    result = studies.run(name, scale, seeds=seeds, out=out, ray=ray, workers=workers,
                         progress=progress and not as_json)
    _print_claims(result, as_json)


@app.command("report")
def report(directory: Path, as_json: bool = typer.Option(False, "--json", help="print the claims as JSON")) -> None:
    """Rebuild a study folder's tables, claims and page from what is on disk."""
    from .. import studies
    from ..errors import ConfigError

    manifest = directory / "study.json"
    if not manifest.is_file():
        raise ConfigError(f"{directory}: not a study folder (no study.json)")
    try:
        m = json.loads(manifest.read_text())
        name, scale = m["study"], m["scale"]
    except (ValueError, KeyError):
        raise ConfigError(f"{manifest}: damaged study manifest") from None
    _print_claims(studies.load(name, scale, out=directory), as_json)
