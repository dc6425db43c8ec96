"""A run's page with its analyses: ``index.html`` rebuilt from the files in the run directory.

The training section shows ``summary.json`` and the figures in ``figures/`` (as written by
``write_run_report``); then one section per analysis result saved under ``analysis/`` as
``NAME.json`` (+ ``NAME.npz``) with its figure ``NAME.png``. Because the page is rebuilt from
what is on disk, analyses run at different times all appear.
"""

from __future__ import annotations

import json
from pathlib import Path

from .html import write_page

__all__ = ["write_analysis_page"]

_RUN_FIGURES = (
    ("loss.png", "loss and metric against training step"),
    ("trials.png", "example trials"),
    ("taus.png", "single-neuron time constants τ"),
)


def _training_section(run_dir: Path) -> dict:
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    ensemble = (summary.get("members") or 1) > 1
    figs = []
    for name, caption in _RUN_FIGURES:
        if (run_dir / "figures" / name).is_file():
            if ensemble and name == "trials.png":
                caption += " (member 0)"
            figs.append((run_dir / "figures" / name, caption))
    return {"heading": "summary", "summary": summary, "figures": figs}


def _analysis_sections(run_dir: Path) -> list[dict]:
    sections = []
    for js in sorted((run_dir / "analysis").glob("*.json")):
        try:
            meta = json.loads(js.read_text())
        except json.JSONDecodeError:
            continue
        png = js.with_suffix(".png")
        kind = meta.get("type", "result")
        sections.append({
            "heading": f"analysis: {js.stem}",
            "summary": meta.get("summary", {}),
            "figures": [(png, f"{js.stem} ({kind})")] if png.is_file() else [],
        })
    return sections


def write_analysis_page(run_dir: str | Path, title: str) -> Path:
    """Rewrite ``run_dir/index.html``: the training summary and figures, then every saved analysis."""
    run_dir = Path(run_dir)
    sections = [_training_section(run_dir), *_analysis_sections(run_dir)]
    return write_page(run_dir / "index.html", title, sections)
