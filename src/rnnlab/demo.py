"""The demo: two real training runs and a page that shows them.

1. A LeakyRNN (64 units) on 3-bit flip-flop (Sussillo & Barak 2013), trained until the
   evaluation MSE is below 0.01.
2. A LeakyRNN in the form of the timescales paper (leaky-ReLU wrapped around the leak, no
   self-connections, τ ~ 1 + U(0, 1)) trained with a multi-head N-parity curriculum from
   N = 2 to N = 6 (Khajehabdollahi, Zeraati et al. 2024).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import write_page
from .report.html import provenance
from .report.run_report import run_sections
from .store import Run, runs_root, train_run

FLIPFLOP: dict[str, Any] = {
    "task": {"name": "flipflop", "params": {"n_bits": 3, "n_steps": 100, "p": 0.05}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 64}},
    "train": {"steps": 6000, "lr": 3e-3, "batch_size": 64, "eval_every": 100, "threshold": 0.01},
    "seed": 0,
}

PARITY: dict[str, Any] = {
    "task": {"name": "nparity", "params": {}},
    "model": {"name": "leaky_rnn", "params": {
        "hidden_size": 64, "variant": "wrapped", "activation": "leaky_relu",
        "tau": 1.0, "tau_spread": 1.0, "self_connections": False}},
    "train": {"steps": 8000, "lr": 1e-3, "batch_size": 128, "eval_every": 200, "eval_batch_size": 512,
              "curriculum": {"kind": "multi", "start": 2, "max_n": 6, "threshold": 0.98}},
    "seed": 0,
}


def run_demo(root: str | Path | None = None, progress: bool = True) -> tuple[Path, list[Run]]:
    """Train both demo runs under ``root`` and write ``<root>/demo/index.html``; returns its path."""
    root = runs_root(root)
    runs = []
    for cfg in (FLIPFLOP, PARITY):
        run, _ = train_run(cfg, root, progress=progress)
        runs.append(run)
    sections = []
    for title, run in zip(("3-bit flip-flop, LeakyRNN", "multi-head N-parity curriculum, LeakyRNN"), runs):
        # the run page's own summary rows and captioned figures, gathered into one section per run
        summary, *parts = run_sections(run.dir, run.summary())
        sections.append({"heading": f"{title}  ({run.id})", "summary": summary["summary"],
                         "figures": [f for part in parts for f in part["figures"]],
                         "links": [(run.dir / "index.html", f"the run's own page ({run.id})")]})
    page = write_page(root / "demo" / "index.html", "rnnlab demo", sections, provenance=provenance())
    return page, runs
