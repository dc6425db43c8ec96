"""A progress bar over the named steps of a command (loading, each analysis, the page), with
the step under way shown as its description; the first step says when it is compiling."""

from __future__ import annotations

import contextlib
from typing import Iterator


class _Steps:
    def __init__(self, progress, task):
        self._p, self._t = progress, task

    def total(self, n: int) -> None:
        """Set the number of steps (the first one, loading, included)."""
        if self._p is not None:
            self._p.update(self._t, total=n)

    def next(self, description: str) -> None:
        """The previous step is done; ``description`` is under way."""
        if self._p is not None:
            self._p.update(self._t, advance=1, description=description)


@contextlib.contextmanager
def steps(enabled: bool, first: str, total: int | None = None) -> Iterator[_Steps]:
    """A bar whose first step is ``first`` (``total`` steps, or set later with ``.total``);
    completed when the block ends without an error, removed when it raises. Disabled, it prints
    nothing."""
    if not enabled:
        yield _Steps(None, None)
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), transient=False) as p:
        t = p.add_task(first, total=total)
        try:
            yield _Steps(p, t)
        except BaseException:
            p.update(t, visible=False)  # the error's one line is all that is left on the screen
            raise
        p.update(t, completed=p.tasks[0].total or 1, total=p.tasks[0].total or 1, description="done")
