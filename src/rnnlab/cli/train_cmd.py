"""``rnnlab train``: train from flags or a YAML config, or resume an interrupted run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._choices import choice
from ._output import cell, terminal
from ._params import parse_params

# the choices of the TrainConfig fields of the same names (rnnlab.train.config)
Optimizer = choice("Optimizer", ("adam", "adamw", "sgd"))
Curriculum = choice("Curriculum", ("single", "multi"))
Schedule = choice("Schedule", ("constant", "cosine"))
Solver = choice("Solver", ("sequential", "parallel"))


def train(
    task: str = typer.Option("flipflop", help="task name (see `rnnlab tasks`)"),
    model: str = typer.Option("leaky_rnn", help="model name (see `rnnlab models`)"),
    hidden_size: int = typer.Option(64, help="recurrent units N"),
    steps: int = typer.Option(2000, help="training-step budget"),
    lr: float = typer.Option(1e-3, help="learning rate"),
    lr_schedule: Schedule = typer.Option("constant", help="learning-rate schedule over the step budget"),
    batch_size: int = typer.Option(64, help="trials per step"),
    optimizer: Optimizer = typer.Option("adam", help="Optax optimiser"),
    clip: Optional[float] = typer.Option(1.0, help="global gradient-norm clip (0: off)"),
    eval_every: int = typer.Option(100, help="steps between evaluations (and checkpoints)"),
    seed: int = typer.Option(0, help="PRNG seed, 0 <= seed < 2**32 (the same run as rnnlab.train(..., key=seed))"),
    ensemble: Optional[int] = typer.Option(None, help="train this many networks at once"),
    threshold: Optional[float] = typer.Option(None, help="stop when the task metric reaches this"),
    patience: int = typer.Option(0, help="extra evaluations after reaching the threshold"),
    curriculum: Optional[Curriculum] = typer.Option(None, help="curriculum over N (nparity/ndms)"),
    max_n: int = typer.Option(10, help="last N of the curriculum"),
    solver: Solver = typer.Option("sequential", help="lax.scan, or the parallel-in-time Newton solver"),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="task parameter KEY=VALUE"),
    model_param: Optional[list[str]] = typer.Option(None, "--model-param", "-m", help="model parameter KEY=VALUE"),
    config: Optional[Path] = typer.Option(None, help="YAML run config (replaces the flags above)"),
    name: Optional[str] = typer.Option(None, help="run id (a plain folder name; default: date-task-model-random)"),
    resume: Optional[str] = typer.Option(
        None, help="resume the interrupted run with this id or path (refused while another process trains it)"),
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Train a network; writes a run directory with config, weights, history, figures and index.html."""
    from ..config import load_config, parse_config
    from ..store import create_run, open_run

    console = terminal()
    if resume:
        run = open_run(resume, out)
        console.print(f"resuming run [bold]{run.id}[/]")
        _execute(run, resume=True, progress=progress)
    else:
        if config is not None:
            cfg = load_config(config)
        else:
            train_cfg = {"steps": steps, "lr": lr, "lr_schedule": lr_schedule.value, "batch_size": batch_size,
                         "optimizer": optimizer.value, "clip": clip or None, "eval_every": eval_every,
                         "ensemble": ensemble, "threshold": threshold, "patience": patience,
                         "solver": solver.value}
            if curriculum:
                train_cfg["curriculum"] = {"kind": curriculum.value, "max_n": max_n}
            cfg = parse_config({
                "task": {"name": task, "params": parse_params(param, "--param")},
                "model": {"name": model, "params": {"hidden_size": hidden_size, **parse_params(model_param, "--model-param")}},
                "train": train_cfg,
                "seed": seed,
            }, "options")
        run = create_run(cfg, out, run_id=name)
        console.print(f"run [bold]{run.id}[/] in {run.dir}")
        _execute(run, progress=progress)
    s = run.summary()
    reached = f"; N reached {max(s['max_n_reached'])}" if s.get("max_n_reached") else ""
    console.print(f"status {s.get('status')}{reached}; " + ", ".join(
        f"{k} {cell(v)}" for k, v in s.items() if k.startswith("final_") and isinstance(v, float)))
    console.print(f"report: {run.page.resolve()}")


def _execute(run, **kw) -> None:
    """``execute``, naming the run to resume when Ctrl-C or SIGTERM stops it (exit status 130)."""
    from ..store import execute

    try:
        execute(run, **kw)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; resume with `rnnlab train --resume {run.id}`", err=True)
        raise
