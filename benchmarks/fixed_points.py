"""Benchmark: fixed-point search on a 128-unit LeakyRNN trained on 3-bit flip-flop.

Trains the network (not timed), then runs ``find_fixed_points`` from 1024 initial states drawn
from its trajectories and prints the wall time of the search, compilation included, and the
number of stable / unstable fixed points (a well-trained network has 8 stable points at the
corners of the output cube and 19 saddles). A second call shows the time without compilation.

    python benchmarks/fixed_points.py [--quick]

``--quick``: 32 units, 100 training steps, 64 initial states (a smoke run of the plumbing).

OpenBLAS is limited to one thread (unless ``OPENBLAS_NUM_THREADS`` is set): XLA already uses
every core, and a second multi-threaded pool on a 2-core machine oversubscribes it (the
eigenvalues of 27 Jacobians then take seconds instead of ~0.1 s). rnnlab's persistent
compilation cache is switched off (unless ``RNNLAB_NO_CACHE`` is set), so that "with
compilation" means compiling, not reading a program compiled by an earlier run.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RNNLAB_NO_CACHE", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import _report  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab.analysis import find_fixed_points  # noqa: E402


def run(quick: bool = False) -> list[dict]:
    """Rows ``fixed_points.search_compiling`` and ``fixed_points.search`` (seconds of the search,
    with and without compilation; the fixed points found in the row)."""
    hidden, steps, n_init = (32, 100, 64) if quick else (128, 4000, 1024)
    task = rnnlab.tasks.get("flipflop", n_bits=3)
    t0 = time.perf_counter()
    res = rnnlab.train(
        rnnlab.models.config("leaky_rnn", hidden_size=hidden), task, key=0, steps=steps, lr=3e-3,
        batch_size=64, eval_every=min(100, steps), threshold=0.002, progress=False,
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"training: {time.perf_counter() - t0:.1f} s, status {res.history.status[0]} at step "
          f"{res.history.stop_step[0]}, eval MSE {res.history.metric[-1][0]:.4f}")
    activity, _ = rnnlab.run(res.model, task.sample(jax.random.PRNGKey(1), 64).inputs)
    activity.block_until_ready()

    rows = []
    for key, label in (("search_compiling", "search (with compilation)"), ("search", "search (compiled)")):
        t0, c0 = time.perf_counter(), time.process_time()
        fp = find_fixed_points(res.model, activity, n_init=n_init, key=0)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"{label}: {dt:.2f} s wall ({dc:.2f} s CPU) | {fp.n_init} initial states -> {fp.n_candidates} "
              f"candidates -> {len(fp.points)} fixed points: {fp.n_stable} stable, {fp.n_unstable} unstable")
        rows.append(_report.row(f"fixed_points.{key}", f"fixed-point {label}, N={hidden}, {n_init} initial states",
                                dt, "s", cpu_seconds=dc, n_stable=int(fp.n_stable), n_unstable=int(fp.n_unstable)))
    corners = np.sign(fp.outputs[fp.stable])
    err = np.abs(fp.outputs[fp.stable] - corners).max() if fp.n_stable else float("nan")
    print(f"stable points' readout: {len({tuple(c) for c in corners})} distinct corners, max |y − corner| = {err:.3f}")
    return rows


def main() -> None:
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
