"""How the command line prints: tables whose names never wrap or truncate, a per-row layout
when a table is wider than the terminal, numbers through ``rnnlab._format``, and JSON for
``--json``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Sequence

from .._format import num

if TYPE_CHECKING:
    from rich.console import Console


def terminal() -> "Console":
    """A Rich console (Rich's console module is imported on first use: start-up time)."""
    from rich.console import Console

    return Console()


def cell(v: Any) -> str:
    """A table cell: numbers formatted, lists joined, None empty."""
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ",".join(cell(x) for x in v)
    return num(v)


def print_rows(rows: Sequence[dict[str, Any]], key: str, title: str | None = None,
               columns: Sequence[str] | None = None, console: "Console | None" = None,
               long: Sequence[str] = ()) -> None:
    """Print ``rows`` as a table keyed by column ``key`` (never wrapped or cut; nor any column
    in ``long`` cut, only folded), or, when even the narrowest table is wider than the
    terminal, as one block per row (``key`` in bold, then ``column: value`` lines)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cols = list(columns or dict.fromkeys(k for r in rows for k in r))
    table = Table(title=title, show_lines=bool(long))
    for c in cols:  # no_wrap: a column is never narrower than its longest value
        table.add_column(c, no_wrap=c not in long, overflow="fold", style="bold" if c == key else None)
    for r in rows:
        table.add_row(*(cell(r.get(c)) for c in cols))
    if _min_width(cols, rows, long) <= console.width or not rows:
        console.print(table)
        return
    if title:
        console.print(f"[bold]{title}[/]")
    for r in rows:
        console.print(f"[bold]{cell(r.get(key))}[/]", soft_wrap=True)
        for c in cols:
            if c != key and r.get(c) not in (None, ""):
                console.print(f"  {c}: {cell(r.get(c))}", soft_wrap=True)


def _min_width(cols: Sequence[str], rows: Sequence[dict[str, Any]], long: Sequence[str]) -> int:
    """Width of the table with no value cut: whole values, the longest word of a ``long`` one,
    plus borders and padding (3 per column, 1 for the edge)."""
    def need(c: str) -> int:
        texts = [cell(r.get(c)) for r in rows]
        if c in long:
            return max([len(w) for t in texts for w in t.split()] + [max(map(len, c.split()), default=1)])
        return max([len(t) for t in texts] + [max(map(len, c.split()), default=1)])
    return sum(need(c) + 3 for c in cols) + 1


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (full precision; NaN/inf as null)."""
    import json

    sys.stdout.write(json.dumps(_finite(data), indent=1, default=str) + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
