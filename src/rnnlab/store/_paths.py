"""Where the run store writes: the runs folder, checked before anything is created, and
run ids that cannot leave it. Light on purpose (no JAX): ``rnnlab runs list`` needs only this
and the catalog."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import ConfigError

__all__ = ["runs_root", "check_writable", "writable_root", "check_run_id"]


def runs_root(root: str | Path | None = None) -> Path:
    """The runs folder: ``root``, else ``$RNNLAB_RUNS``, else ``./runs``."""
    return Path(root or os.environ.get("RNNLAB_RUNS", "runs"))


def check_writable(path: str | Path, where: str) -> Path:
    """``path`` if it is a folder rnnlab can write in, or can be created as one (nothing is
    created); ``ConfigError`` naming ``where`` and the reason otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{where} {path}: is a file, not a folder")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{where} {path}: cannot be created ({parent} is a file)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{where} {path}: not writable ({parent} is read-only for this user)")
    return path


def writable_root(root: str | Path | None = None) -> Path:
    """The runs folder, checked with ``check_writable`` (named as ``--out`` / ``$RNNLAB_RUNS``)."""
    return check_writable(runs_root(root), "runs folder (--out, $RNNLAB_RUNS)")


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is one plain folder name (letters, digits, ``_.-``; no separators,
    no ``..``); ``ConfigError`` otherwise, so that no id can write outside the runs folder."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise ConfigError(f"run_id: {run_id!r} is not a plain folder name (letters, digits, '_', '.', '-'; "
                          "at most 200, no '..')")
    return run_id
