"""Running sums and maxima on CPU: ``jax.lax.cumsum``/``cummax`` against the associative scan
that the task samplers use (``rnnlab.tasks._prefix``), in the same run, same values checked.

Array ``[64, 32, T, 3]`` (members × trials × steps × channels, a flip-flop ensemble's batch),
scanned along T. Median over at least 1 s per case.

Run:  .venv/bin/python benchmarks/prefix_scan.py [--lengths 100,1000]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from _timing import median_ms
from rnnlab.tasks._prefix import cummax, cumsum


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="100,1000", help="comma-separated sequence lengths T")
    args = ap.parse_args()
    print("ms per call: lax reference vs associative scan")
    for T in [int(t) for t in args.lengths.split(",")]:
        x = jax.random.randint(jax.random.PRNGKey(0), (64, 32, T, 3), -1, 200)
        for name, ref, ours in [("cummax", jax.lax.cummax, cummax), ("cumsum", jax.lax.cumsum, cumsum)]:
            f, g = jax.jit(lambda x: ref(x, axis=2)), jax.jit(lambda x: ours(x, axis=2))
            np.testing.assert_array_equal(g(x), f(x))
            a, b = median_ms(f, x, min_seconds=1.0), median_ms(g, x, min_seconds=1.0)
            print(f"    T={T:5d} {name}: lax {a:7.2f}  associative scan {b:7.2f}  -> {a / b:5.1f}x (same values)")


if __name__ == "__main__":
    jnp.zeros(())
    main()
