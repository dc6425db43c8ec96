"""The ``rnnlab`` command line (Typer). ``main`` turns rnnlab's errors into one-line messages.

The command modules import nothing heavy at the top (JAX, the models, the tasks are imported
inside the commands that compute), so ``rnnlab --help``, ``--version`` and ``runs list`` start
about as fast as Typer itself (``benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from .._host_devices import started, use_host_devices
from ..errors import RnnlabError
from . import analyze_cmds, catalog_cmds, demo_cmd, export_cmd, runs_cmds, study_cmds, sweep_cmds, train_cmd

app = typer.Typer(
    name="rnnlab",
    help="Train recurrent networks on neuroscience tasks, then take them apart.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain Click help: Rich's help panels cost ~0.2 s of every --help (cli_startup.py)
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"rnnlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                  help="print rnnlab's version and exit")) -> None:
    """Train recurrent networks on neuroscience tasks, then take them apart."""


app.command("train")(train_cmd.train)
app.command("demo")(demo_cmd.demo)
app.command("export")(export_cmd.export)
app.add_typer(runs_cmds.app, name="runs")
app.add_typer(sweep_cmds.app, name="sweep")
app.add_typer(study_cmds.app, name="study")
app.add_typer(catalog_cmds.tasks_app, name="tasks")
app.add_typer(catalog_cmds.models_app, name="models")
analyze_cmds.register(app)


def main() -> None:
    if not started():
        use_host_devices()  # ensembles spread over the cores (rnnlab._host_devices)
    try:
        app()
    except (RnnlabError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; resume with `rnnlab train --resume RUN`", file=sys.stderr)
        sys.exit(130)
