"""The ``rnnlab`` command line (Typer). ``main`` turns rnnlab's errors into one-line messages.

The command modules import nothing heavy at the top (JAX, the models, the tasks are imported
inside the commands that compute), and ``main`` imports only the module of the command it is
given (``rnnlab runs list`` imports ``runs_cmds`` alone; help, completion and unknown commands
get the whole tree, ``--version`` none), so ``rnnlab --help``, ``--version`` and ``runs list`` start about as fast
as Typer itself (``benchmarks/cli_startup.py``). ``app`` is the whole tree, built on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Optional

import typer

from .._host_devices import started, use_host_devices
from ..errors import RnnlabError

__all__ = ["app", "main"]


def _command(module: str, attr: str) -> Callable[[typer.Typer, str], None]:
    return lambda app, name: app.command(name)(getattr(importlib.import_module(f".{module}", __name__), attr))


def _group(module: str, attr: str) -> Callable[[typer.Typer, str], None]:
    return lambda app, name: app.add_typer(getattr(importlib.import_module(f".{module}", __name__), attr), name=name)


# every top-level command: its name and how it is added (in the order ``--help`` lists them)
_COMMANDS: dict[str, Callable[[typer.Typer, str], None]] = {
    "train": _command("train_cmd", "train"),
    "demo": _command("demo_cmd", "demo"),
    "export": _command("export_cmd", "export"),
    "runs": _group("runs_cmds", "app"),
    "sweep": _group("sweep_cmds", "app"),
    "study": _group("study_cmds", "app"),
    "tasks": _group("catalog_cmds", "tasks_app"),
    "models": _group("catalog_cmds", "models_app"),
    "analyze": _command("analyze_cmds", "analyze"),
    "compare": _command("analyze_cmds", "compare"),
    "degeneracy": _command("analyze_cmds", "degeneracy"),
}


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"rnnlab {__version__}")
        raise typer.Exit()


def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                 help="print rnnlab's version and exit")) -> None:
    """Train recurrent networks on neuroscience tasks, then take them apart."""


def _app(names: Any = None) -> typer.Typer:
    """The ``rnnlab`` app with the commands ``names`` (default: all of them)."""
    app = typer.Typer(
        name="rnnlab",
        help="Train recurrent networks on neuroscience tasks, then take them apart.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain Click help: Rich's help panels cost ~0.2 s of every --help (cli_startup.py)
    )
    app.callback()(_root)
    for name in _COMMANDS if names is None else names:
        _COMMANDS[name](app, name)
    return app


def _for_argv(argv: list[str]) -> typer.Typer:
    """The app for this command line: only the command named first, when one is (the root's
    options come before it; ``--help`` alone, completion and typos get the whole tree)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None and "--version" in argv and "--help" not in argv:
        return _app([])  # the root's eager --version prints and exits before any command
    return _app([first] if first in _COMMANDS else None)


def __getattr__(name: str) -> Any:  # ``rnnlab.cli.app``: the whole tree, built once on first use
    if name == "app":
        globals()["app"] = _app()
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if not started():
        use_host_devices()  # ensembles spread over the cores (rnnlab._host_devices)
    try:
        _for_argv(sys.argv[1:])()
    except (RnnlabError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; resume with `rnnlab train --resume RUN`", file=sys.stderr)
        sys.exit(130)
