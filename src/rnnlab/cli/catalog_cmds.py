"""``rnnlab tasks`` and ``rnnlab models``: tables generated from the registries."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import jax
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from .. import models, tasks
from ._params import parse_params

tasks_app = typer.Typer(help="The task library.", invoke_without_command=True)
models_app = typer.Typer(help="The model zoo.", invoke_without_command=True)


def _params(schema: type[BaseModel]) -> str:
    out = []
    for name, f in schema.model_fields.items():
        out.append(f"{name}={f.default!r}" if not f.is_required() else name)
    return ", ".join(out)


def _table(title: str, registry: dict) -> Table:
    table = Table(title=title, show_lines=True)
    for col in ("name", "description", "paper", "parameters (defaults)"):
        table.add_column(col, overflow="fold")
    for name in sorted(registry):
        cls = registry[name]
        table.add_row(name, cls.description, cls.paper, _params(cls))
    return table


@tasks_app.callback()
def list_tasks(ctx: typer.Context) -> None:
    """Every task with a one-line description and its parameters."""
    if ctx.invoked_subcommand is None:
        Console().print(_table("tasks", tasks.REGISTRY))


@models_app.callback()
def list_models(ctx: typer.Context) -> None:
    """Every model with a one-line description and its parameters."""
    if ctx.invoked_subcommand is None:
        Console().print(_table("models", models.REGISTRY))


@tasks_app.command("show")
def show_task(
    name: str,
    n: int = typer.Option(3, help="number of example trials"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="task parameter KEY=VALUE"),
    out: Path = typer.Option(Path("task_examples"), help="folder for the figure"),
) -> None:
    """Write a figure of a few example trials (inputs, targets, scored steps) and print its path."""
    task = tasks.get(name, **parse_params(param, "--param"))
    path = tasks.plot_examples(task, jax.random.PRNGKey(seed), n=n, path=out / f"{name}.png")
    print(path.resolve())
