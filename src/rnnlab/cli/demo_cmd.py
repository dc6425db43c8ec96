"""``rnnlab demo``: a flip-flop network and an N-parity curriculum, with their report page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._output import cell, terminal


def demo(
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
    progress: bool = typer.Option(True, help="show progress bars"),
) -> None:
    """Train a 3-bit flip-flop LeakyRNN to MSE < 0.01 and a multi-head N-parity curriculum; write a page."""
    from ..demo import run_demo

    console = terminal()
    console.print("[bold]rnnlab demo[/]: 3-bit flip-flop, then a multi-head N-parity curriculum (N = 2..6)")
    page, runs = run_demo(out, progress=progress)
    for run in runs:
        s = run.summary()
        console.print(f"  {run.id}: {s['status']}, " + ", ".join(
            f"{k} {cell(v)}" for k, v in s.items() if k in ("final_mse", "final_accuracy", "max_n_reached", "steps")))
    console.print(f"report: {page.resolve()}")
