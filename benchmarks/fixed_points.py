"""Benchmark: fixed-point search on a 128-unit LeakyRNN trained on 3-bit flip-flop.

Trains the network (not timed), then runs ``find_fixed_points`` from 1024 initial states drawn
from its trajectories and prints the wall time of the search, compilation included, and the
number of stable / unstable fixed points (a well-trained network has 8 stable points at the
corners of the output cube and 19 saddles). A second call shows the time without compilation.

    python benchmarks/fixed_points.py

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

import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab.analysis import find_fixed_points  # noqa: E402


def main() -> None:
    task = rnnlab.tasks.get("flipflop", n_bits=3)
    t0 = time.perf_counter()
    res = rnnlab.train(
        rnnlab.models.config("leaky_rnn", hidden_size=128), task, key=0, steps=4000, lr=3e-3,
        batch_size=64, eval_every=100, threshold=0.002, progress=False,
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"training: {time.perf_counter() - t0:.1f} s, status {res.history.status[0]} at step "
          f"{res.history.stop_step[0]}, eval MSE {res.history.metric[-1][0]:.4f}")
    activity, _ = rnnlab.run(res.model, task.sample(jax.random.PRNGKey(1), 64).inputs)
    activity.block_until_ready()

    for label in ("search (with compilation)", "search (compiled)"):
        t0, c0 = time.perf_counter(), time.process_time()
        fp = find_fixed_points(res.model, activity, n_init=1024, key=0)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"{label}: {dt:.2f} s wall ({dc:.2f} s CPU) | {fp.n_init} initial states -> {fp.n_candidates} "
              f"candidates -> {len(fp.points)} fixed points: {fp.n_stable} stable, {fp.n_unstable} unstable")
    corners = np.sign(fp.outputs[fp.stable])
    err = np.abs(fp.outputs[fp.stable] - corners).max() if fp.n_stable else float("nan")
    print(f"stable points' readout: {len({tuple(c) for c in corners})} distinct corners, max |y − corner| = {err:.3f}")


if __name__ == "__main__":
    main()
