"""How long one run's page takes to draw: the figures placed with fixed margins, as the package
draws them, against Matplotlib's layout engines.

A sweep draws one page per finished network (``rnnlab.report.sweep_report.write_run_pages``);
in the 200-network study (``study_rate.py``) those pages were the largest part of the sweep
report. This script trains two short runs into a temporary runs folder, the demo's flip-flop
(two-panel loss figure, example trials, τ histogram) and its multi-head N-parity curriculum
(three-panel loss figure, one row per head, τ per level), and draws each run's page again and
again (``write_stored_run_report``: model load, one batch, the figures, the HTML), in two
forms, taking turns:

* fixed: as the package draws it (``figures.place_grid``: margins in inches; ``_subplots``:
  titles fixed at the top of their axes);
* layout engine (the reference): the same figures placed by Matplotlib's constrained layout,
  titles placed automatically (``place_grid`` and ``_subplots`` patched for the call).

Row ``run_page.<task>``: ms per page; ratio = layout-engine time / fixed time (above 1: the
fixed margins are faster).

Run:  .venv/bin/python benchmarks/run_page.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

import _report


def _configs(quick: bool) -> dict[str, dict]:
    from rnnlab.demo import FLIPFLOP, PARITY

    steps = 20 if quick else 400  # the page is drawn whatever the run reached
    out = {}
    for name, cfg in (("flipflop", FLIPFLOP), ("nparity", PARITY)):
        train = {**cfg["train"], "steps": steps, "eval_every": steps // 4}
        out[name] = {**cfg, "train": train}
    return out


@contextlib.contextmanager
def _layout_engine():
    """The run page's figures placed by constrained layout, titles placed automatically."""
    from rnnlab.report import figures

    saved = figures.place_grid, figures._subplots
    figures.place_grid = lambda fig, **kw: fig.set_layout_engine("constrained")
    figures._subplots = figures.plt.subplots
    try:
        yield
    finally:
        figures.place_grid, figures._subplots = saved


def run(quick: bool = False) -> list[dict]:
    """Rows ``run_page.flipflop`` and ``run_page.nparity``."""
    from rnnlab.report.run_report import write_stored_run_report
    from rnnlab.store import train_run

    rows = []
    with tempfile.TemporaryDirectory() as root:
        for name, cfg in _configs(quick).items():
            run_obj, _ = train_run(cfg, Path(root), progress=False)

            def fixed(d=run_obj.dir):
                write_stored_run_report(d)

            def engine(d=run_obj.dir):
                with _layout_engine():
                    write_stored_run_report(d)

            t = _report.alternate_s({"fixed": fixed, "layout engine": engine}, 0.5 if quick else 20.0)
            ms, ref = (statistics.median(t[k]) * 1e3 for k in ("fixed", "layout engine"))
            rows.append(_report.row(f"run_page.{name}", f"one run's page ({name} demo config), fixed margins vs "
                                    "Matplotlib's constrained layout", ms, "ms",
                                    samples=[s * 1e3 for s in t["fixed"]], reference=ref,
                                    reference_name="constrained layout",
                                    reference_samples=[s * 1e3 for s in t["layout engine"]],
                                    ratio=ref / ms, ratio_of="layout-engine time / fixed-margin time"))
    return rows


def main() -> None:
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
