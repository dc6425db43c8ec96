"""Where a result came from: installed versions and the git commit. Light on purpose (no JAX):
report pages and the benchmark scripts both stamp their output with it."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["version", "git_commit"]


def version(dist: str) -> str | None:
    """The installed version of distribution ``dist``; None if it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_commit(where: str | Path | None = None) -> str | None:
    """``HEAD`` of the repository at ``where`` (default: the working directory), 12 hex digits,
    followed by ``(modified)`` if tracked files differ; None outside git."""
    cwd = None if where is None else str(where)
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=cwd)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()[:12]
    return f"{commit} (modified)" if dirty.returncode == 0 and dirty.stdout.strip() else commit
