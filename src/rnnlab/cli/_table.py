"""Plain-text tables for the command line: a bold header, box lines, cells never cut, text
columns folded at word boundaries when the table would be wider than the terminal.

Why not Rich's ``Table``: importing ``rich.console`` and ``rich.table`` and rendering a first
table cost about 55 ms on the 2-core machine, as much as Typer's whole start-up, and
``rnnlab runs list`` is to start within 2x of a bare ``import typer, rich``
(``benchmarks/cli_startup.py``). The tables here need only aligned cells, a header and box
lines (drawn as Rich's default ``HEAVY_HEAD`` box, so every table of the CLI looks the same as
the Rich output around it); Rich keeps the progress bars and the coloured messages.
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Sequence

__all__: list[str] = []

BOLD, RESET = "\x1b[1m", "\x1b[0m"  # ANSI bold on / off


def terminal_width() -> int:
    """``$COLUMNS``, else the terminal's width, else 80 (output to a file or a pipe)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def colour() -> bool:
    """Bold text only on a terminal, and not under ``NO_COLOR`` (https://no-color.org)."""
    try:
        return sys.stdout.isatty() and "NO_COLOR" not in os.environ
    except (AttributeError, ValueError):
        return False


def _words(text: str) -> list[str]:
    return text.split() or [""]


def widths(header: Sequence[str], rows: Sequence[Sequence[str]], long: Sequence[bool],
           width: int) -> list[int] | None:
    """Column widths (without padding) that fit ``width``, or ``None`` when even the narrowest
    layout does not: a column is at least its longest header word and, unless it is ``long``,
    its longest cell (a ``long`` column folds, so it is at least its longest word)."""
    cols = range(len(header))
    natural = [max([len(header[c])] + [len(r[c]) for r in rows]) for c in cols]
    least = [max([len(w) for w in _words(header[c])]
                 + [len(w) for r in rows for w in (_words(r[c]) if long[c] else [r[c]])]) for c in cols]
    if total(least) > width:
        return None
    ws = list(natural)
    for c in cols:  # first fold the headers, then the long columns, widest first
        if total(ws) > width and not long[c]:
            ws[c] = least[c]
    while total(ws) > width:
        c = max((c for c in cols if long[c] and ws[c] > least[c]), key=lambda c: ws[c])
        ws[c] -= 1
    return ws


def total(ws: Sequence[int]) -> int:
    """Width of a table whose columns are ``ws`` wide: a space either side and a border each."""
    return sum(w + 3 for w in ws) + 1


def render(header: Sequence[str], rows: Sequence[Sequence[str]], ws: Sequence[int], key: int | None = None,
           title: str | None = None, lines: bool = False, bold: bool = False) -> str:
    """The table as text: ``title`` centred above it, the header in bold (and column ``key``
    when ``bold``), a rule between rows when ``lines``."""
    b0, b1 = (BOLD, RESET) if bold else ("", "")

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in ws) + right

    def block(cells: Sequence[str], edge: str, strong: Sequence[bool]) -> list[str]:
        wrapped = [textwrap.wrap(t, w, break_long_words=False, break_on_hyphens=False) or [""] for t, w in zip(cells, ws)]
        out = []
        for i in range(max(map(len, wrapped))):
            parts = []
            for c, w in enumerate(ws):
                text = wrapped[c][i] if i < len(wrapped[c]) else ""
                pad = text.ljust(w)
                parts.append(f" {b0}{pad}{b1} " if strong[c] and text else f" {pad} ")
            out.append(edge + edge.join(parts) + edge)
        return out

    out = []
    if title:
        out.append(title.center(total(ws)).rstrip())
    out.append(rule("┏", "━", "┳", "┓"))
    out += block(header, "┃", [True] * len(ws))
    out.append(rule("┡", "━", "╇", "┩"))
    for i, r in enumerate(rows):
        if lines and i:
            out.append(rule("├", "─", "┼", "┤"))
        out += block(r, "│", [c == key for c in range(len(ws))])
    out.append(rule("└", "─", "┴", "┘"))
    return "\n".join(out)
