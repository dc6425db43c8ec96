"""``rnnlab tasks`` and ``rnnlab models`` (and their ``list``/``show``): tables generated from
the registries."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from .._format import num
from ._output import print_json, print_rows
from ._params import parse_params
from ._progress import steps

tasks_app = typer.Typer(help="The task library.", invoke_without_command=True)
models_app = typer.Typer(help="The model zoo.", invoke_without_command=True)


def _rows(registry: dict) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(registry):
        cls = registry[name]
        defaults = {k: (None if f.is_required() else f.default) for k, f in cls.model_fields.items()}
        rows.append({"name": name, "description": cls.description, "paper": cls.paper, "parameters": defaults})
    return rows


def _print(kind: str, registry: dict, as_json: bool) -> None:
    rows = _rows(registry)
    if as_json:
        print_json(rows)
        return
    shown = [{**{k: v for k, v in r.items() if k != "parameters"}, "parameters (defaults)": ", ".join(
        k if v is None else f"{k}={num(v)}" if isinstance(v, float) else f"{k}={v!r}"
        for k, v in r["parameters"].items())} for r in rows]
    print_rows(shown, "name", kind, long=("description", "paper", "parameters (defaults)"))


def _registry(kind: str) -> dict:
    if kind == "tasks":
        from .. import tasks

        return tasks.REGISTRY
    from .. import models

    return models.REGISTRY


_JSON = typer.Option(False, "--json", help="print JSON instead of a table")


@tasks_app.callback()
def tasks_main(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """Every task with a one-line description and its parameters (also `rnnlab tasks list`)."""
    if ctx.invoked_subcommand is None:
        _print("tasks", _registry("tasks"), as_json)


@tasks_app.command("list")
def list_tasks(as_json: bool = _JSON) -> None:
    """Every task with a one-line description and its parameters."""
    _print("tasks", _registry("tasks"), as_json)


@models_app.callback()
def models_main(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """Every model with a one-line description and its parameters (also `rnnlab models list`)."""
    if ctx.invoked_subcommand is None:
        _print("models", _registry("models"), as_json)


@models_app.command("list")
def list_models(as_json: bool = _JSON) -> None:
    """Every model with a one-line description and its parameters."""
    _print("models", _registry("models"), as_json)


@tasks_app.command("show")
def show_task(
    name: str,
    n: int = typer.Option(3, help="number of example trials"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="task parameter KEY=VALUE"),
    figure_dir: Path = typer.Option(Path("task_examples"), "--figure-dir", help="folder for the figure"),
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Write a figure of a few example trials (inputs, targets, scored steps) and print its path."""
    with steps(progress, "loading JAX and the task", total=2) as bar:
        import jax

        from .. import tasks

        task = tasks.get(name, **parse_params(param, "--param"))
        bar.next("sampling (compiling) and drawing the trials")
        path = tasks.plot_examples(task, jax.random.PRNGKey(seed), n=n, path=figure_dir / f"{name}.png")
    print(path.resolve())
