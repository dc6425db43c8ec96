"""A run's page with its analyses: ``index.html`` rebuilt from the files in the run directory.

The run's own sections (summary, training, behaviour, activity: ``run_report.run_sections``,
from ``summary.json`` and the figures ``figures.json`` lists) come first; then one section per
analysis result saved under ``analysis/`` as ``NAME.json`` (+ ``NAME.npz``) with its figure
``NAME.png`` (``run_report.analysis_sections``). Because the page is rebuilt from what is on
disk, analyses run at different times all appear.
"""

from __future__ import annotations

from pathlib import Path

from .run_report import write_run_page

__all__ = ["write_analysis_page"]


def write_analysis_page(run_dir: str | Path, title: str) -> Path:
    """Rewrite ``run_dir/index.html``: the run's summary and figures, then every saved analysis."""
    return write_run_page(Path(run_dir), title)
