"""How the command line prints: tables whose names never wrap or truncate, a per-row layout
when a table is wider than the terminal, numbers through ``rnnlab._format``, and JSON for
``--json``."""

from __future__ import annotations

import sys
import textwrap
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
               columns: Sequence[str] | None = None, long: Sequence[str] = ()) -> None:
    """Print ``rows`` as a table keyed by column ``key`` (no value wrapped or cut, except the
    columns in ``long``, folded at word boundaries), or, when even the narrowest table is wider
    than the terminal, as one block per row (``key`` in bold, then ``column: value`` lines).
    The tables are drawn by ``rnnlab.cli._table`` (its docstring says why not by Rich)."""
    from ._table import BOLD, RESET, colour, render, terminal_width, widths

    cols = list(columns or dict.fromkeys(k for r in rows for k in r))
    if not rows:
        print(f"{title}: none" if title else "none")
        return
    cells = [[cell(r.get(c)) for c in cols] for r in rows]
    bold = colour()
    width = terminal_width()
    ws = widths(cols, cells, [c in long for c in cols], width)
    if ws is not None:
        print(render(cols, cells, ws, key=cols.index(key) if key in cols else None, title=title,
                     lines=bool(long), bold=bold))
        return
    b0, b1 = (BOLD, RESET) if bold else ("", "")
    if title:
        print(f"{b0}{title}{b1}")
    for r in rows:
        print(f"{b0}{cell(r.get(key))}{b1}")
        for c in cols:
            if c != key and r.get(c) not in (None, ""):
                text = f"  {c}: {cell(r.get(c))}"
                print(textwrap.fill(text, width, subsequent_indent="    ", break_long_words=False,
                                    break_on_hyphens=False) if c in long else text)


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
