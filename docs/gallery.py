"""Build the docs gallery from real runs: train networks, analyse them, copy their figures.

    .venv/bin/python docs/gallery.py            # writes docs/gallery/*.png and docs/gallery/runs.md

1. The demo's two runs (``rnnlab.demo``): a 64-unit LeakyRNN on 3-bit flip-flop trained to
   MSE < 0.01, and the timescales paper's LeakyRNN on a multi-head N-parity curriculum.
   Each is trained through the run store (``rnnlab.store.train_run``), then analysed with
   ``rnnlab analyze RUN`` (timescales, fixed points, geometry), and the figures the store
   and the analyses wrote (``RUN/figures/*.png``, ``RUN/analysis/*.png``) are copied.
2. Example trials of every registered task (``rnnlab.tasks.plot_examples``).

``runs.md`` lists each run's id, status, steps and final metric, read from its
``summary.json``; the gallery page includes it. The runs go to a temporary folder, which is
deleted afterwards (``--keep DIR`` keeps them in ``DIR``). The figures are committed rather
than made at ``mkdocs build`` time: training the two networks to their thresholds takes
minutes on a 2-core machine, the docs build seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax

import rnnlab
from rnnlab import tasks
from rnnlab.demo import FLIPFLOP, PARITY
from rnnlab.store import train_run

OUT = Path(__file__).resolve().parent / "gallery"
RNNLAB = Path(sys.executable).with_name("rnnlab")
RUNS = (("flipflop", "3-bit flip-flop, LeakyRNN (64 units)", FLIPFLOP),
        ("nparity", "multi-head N-parity curriculum, LeakyRNN (64 units)", PARITY))


def _train_and_analyse(root: Path, name: str, cfg: dict) -> dict:
    t0 = time.perf_counter()
    run, _ = train_run(cfg, root, progress=False)
    subprocess.run([str(RNNLAB), "analyze", run.id, "--out", str(root), "--no-progress"],
                   check=True, stdout=subprocess.DEVNULL)
    for folder in ("figures", "analysis"):
        for png in sorted((run.dir / folder).glob("*.png")):
            shutil.copyfile(png, OUT / f"{name}-{png.name}")
    summary = json.loads((run.dir / "summary.json").read_text())
    summary["_seconds"] = time.perf_counter() - t0
    summary["_id"] = run.id
    return summary


def _row(title: str, s: dict) -> str:
    final = ", ".join(f"{k.removeprefix('final_')} {v:.4g}" for k, v in s.items()
                      if k.startswith("final_") and isinstance(v, float))
    reached = f" (N reached: {s['max_n_reached'][0]})" if "max_n_reached" in s else ""
    return (f"| {title} | `{s['_id']}` | {s['status']}{reached} | {s['steps']} | {final} | "
            f"{s['_seconds']:.0f} s |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="keep the runs in this folder")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    tmp = Path(tempfile.mkdtemp(prefix="rnnlab-gallery-"))
    root = args.keep or tmp / "runs"
    try:
        for name in tasks.names():
            tasks.plot_examples(tasks.get(name), jax.random.PRNGKey(0), n=3,
                                path=OUT / f"task-{name}.png")
        rows = [_row(title, _train_and_analyse(root, name, cfg)) for name, title, cfg in RUNS]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (OUT / "runs.md").write_text(
        "| run | id | status | steps | final evaluation | wall time |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Made by `python docs/gallery.py` with rnnlab {rnnlab.__version__}, JAX "
        f"{jax.__version__}, on {os.cpu_count()} CPU cores.\n")
    print(f"gallery written to {OUT}")


if __name__ == "__main__":
    main()
