"""The progress bar of sweep stages (training, analyses): counts, elapsed and remaining time."""

from __future__ import annotations


class Bar:
    def __init__(self, enabled: bool, total: int, done: int, label: str = "sweep"):
        self.enabled = enabled
        if enabled:
            from rich.progress import (
                BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
            )

            self.p = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                              TimeRemainingColumn())
            self.t = self.p.add_task(label, total=total, completed=done)

    def __enter__(self):
        if self.enabled:
            self.p.__enter__()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)

    def advance(self):
        if self.enabled:
            self.p.advance(self.t)

    def finish(self):
        """Show the stage complete (items found already done were never advanced)."""
        if self.enabled:
            self.p.update(self.t, completed=self.p.tasks[0].total)
