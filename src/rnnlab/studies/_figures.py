"""Figures shared by the studies: a measure against a factor, one line per condition, seeds as points."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["panel_grid", "trend_panel", "save"]


def panel_grid(n: int, width: float = 3.4, height: float = 3.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * n, height), layout="constrained")
    return fig, list(fig.subplots(1, n, squeeze=False)[0])


def trend_panel(ax, table, x: str, y: str, by: str | None = None, *, xlabel: str | None = None,
                ylabel: str | None = None, title: str | None = None, logx: bool = False, logy: bool = False,
                order: Sequence[Any] | None = None) -> None:
    """``y`` against ``x``: each network a faint point, the mean over networks ± SEM a line, one per ``by`` level."""
    import matplotlib

    t = table[np.isfinite(table[y].astype(float)) & np.isfinite(table[x].astype(float))] if len(table) else table
    levels = [None] if by is None else (list(order) if order is not None else sorted(t[by].unique(), key=str))
    colours = matplotlib.colormaps["tab10"]
    for i, lev in enumerate(levels):
        sub = t if lev is None else t[t[by] == lev]
        if not len(sub):
            continue
        c = colours(i % 10)
        jitter = (i - (len(levels) - 1) / 2) * 0.04
        xs = sub[x].astype(float).to_numpy()
        ax.plot(xs * (1 + jitter) if logx else xs + jitter, sub[y].astype(float), "o", color=c, alpha=0.3, ms=3)
        g = sub.groupby(x)[y].agg(["mean", "sem", "count"]).reset_index().sort_values(x)
        ax.errorbar(g[x].astype(float), g["mean"], yerr=g["sem"].fillna(0), color=c, marker="s", ms=4, lw=1.5,
                    capsize=2, label=None if lev is None else f"{by} = {lev}")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y, title=title or "")
    if by is not None and len(levels) > 1:
        ax.legend(fontsize=7)


def save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
