"""``rnnlab train``: train from flags or a YAML config, or resume an interrupted run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from ..config import load_config, parse_config
from ..store import create_run, execute, open_run
from ._params import parse_params


def train(
    task: str = typer.Option("flipflop", help="task name (see `rnnlab tasks`)"),
    model: str = typer.Option("leaky_rnn", help="model name (see `rnnlab models`)"),
    hidden_size: int = typer.Option(64, help="recurrent units N"),
    steps: int = typer.Option(2000, help="training-step budget"),
    lr: float = typer.Option(1e-3, help="learning rate"),
    batch_size: int = typer.Option(64, help="trials per step"),
    optimizer: str = typer.Option("adam", help="adam | adamw | sgd"),
    seed: int = typer.Option(0, help="PRNG seed, 0 <= seed < 2**32 (the same run as rnnlab.train(..., key=seed))"),
    ensemble: Optional[int] = typer.Option(None, help="train this many networks at once"),
    threshold: Optional[float] = typer.Option(None, help="stop when the task metric reaches this"),
    curriculum: Optional[str] = typer.Option(None, help="single | multi (nparity/ndms)"),
    max_n: int = typer.Option(10, help="last N of the curriculum"),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="task parameter KEY=VALUE"),
    model_param: Optional[list[str]] = typer.Option(None, "--model-param", "-m", help="model parameter KEY=VALUE"),
    config: Optional[Path] = typer.Option(None, help="YAML run config (replaces the flags above)"),
    resume: Optional[str] = typer.Option(
        None, help="resume the interrupted run with this id or path (refused while another process trains it)"),
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Train a network; writes a run directory with config, weights, history, figures and index.html."""
    console = Console()
    if resume:
        run = open_run(resume, out)
        console.print(f"resuming run [bold]{run.id}[/]")
        _execute(run, resume=True, progress=progress)
    else:
        if config is not None:
            cfg = load_config(config)
        else:
            train_cfg = {"steps": steps, "lr": lr, "batch_size": batch_size, "optimizer": optimizer,
                         "ensemble": ensemble, "threshold": threshold}
            if curriculum:
                train_cfg["curriculum"] = {"kind": curriculum, "max_n": max_n}
            cfg = parse_config({
                "task": {"name": task, "params": parse_params(param, "--param")},
                "model": {"name": model, "params": {"hidden_size": hidden_size, **parse_params(model_param, "--model-param")}},
                "train": train_cfg,
                "seed": seed,
            }, "options")
        run = create_run(cfg, out)
        console.print(f"run [bold]{run.id}[/] in {run.dir}")
        _execute(run, progress=progress)
    s = run.summary()
    reached = f"; N reached {max(s['max_n_reached'])}" if s.get("max_n_reached") else ""
    console.print(f"status {s.get('status')}{reached}; " + ", ".join(
        f"{k} {v:.4g}" for k, v in s.items() if k.startswith("final_") and isinstance(v, float)))
    console.print(f"report: {run.page.resolve()}")


def _execute(run, **kw) -> None:
    """``execute``, naming the run to resume when Ctrl-C or SIGTERM stops it (exit status 130)."""
    try:
        execute(run, **kw)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; resume with `rnnlab train --resume {run.id}`", err=True)
        raise
