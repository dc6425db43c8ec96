"""The report of one training run: its figures and ``index.html`` in the run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..models import RecurrentModel
from ..tasks import Task
from ..train import History, member
from .figures import example_trials, loss_curve, tau_histogram
from .html import write_page

_MEANING = {
    "converged": "reached its threshold or passed the last curriculum level",
    "budget": "spent its step budget without converging",
    "failed": "stopped on a non-finite loss",
}


def _status_line(summary: dict[str, Any]) -> str:
    """``status (meaning)``, with the N reached for a curriculum (e.g. ``budget (...); N reached 4``)."""
    status = summary.get("status", "unknown")
    line = f"{status} ({_MEANING[status]})" if status in _MEANING else str(status)
    if summary.get("max_n_reached"):
        line += "; N reached " + ", ".join(str(n) for n in summary["max_n_reached"])
    return line


def write_run_report(
    run_dir: Path, title: str, model: RecurrentModel, task: Task, history: History,
    summary: dict[str, Any], ensemble: bool,
) -> list[Path]:
    """Draw the run's figures into ``run_dir/figures`` and write ``run_dir/index.html``.

    Returns the PNG paths (the page is ``run_dir / "index.html"``).
    """
    figdir = Path(run_dir) / "figures"
    first = member(model, 0) if ensemble else model
    figs = [
        (loss_curve(history, figdir / "loss.png"), "loss and metric against training step"),
        (example_trials(first, task, jax.random.PRNGKey(12345), figdir / "trials.png"),
         "example trials" + (" (member 0)" if ensemble else "")),
    ]
    taus = model.taus()
    if taus is not None:
        figs.append((tau_histogram(np.asarray(taus), figdir / "taus.png", history.stages),
                     "single-neuron time constants τ" + (" (all members)" if ensemble else "")))
    shown = {"status": _status_line(summary), **{k: v for k, v in summary.items() if k != "status"}}
    write_page(Path(run_dir) / "index.html", title,
               [{"heading": f"summary: {summary.get('status', 'unknown')}", "summary": shown, "figures": figs}])
    return [p for p, _ in figs]
