"""Running sums and maxima on CPU: ``jax.lax.cumsum``/``cummax`` against the associative scan
that the task samplers use (``rnnlab.tasks._prefix``), in the same run, same values checked.

Array ``[64, 32, T, 3]`` (members × trials × steps × channels, a flip-flop ensemble's batch),
scanned along T. The two are timed in interleaved rounds (``_report.alternate_s``), at least
1 s of calls each; ``--quick``: T = 100 only, 0.1 s.

Run:  .venv/bin/python benchmarks/prefix_scan.py [--lengths 100,1000] [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import _report
import jax
import jax.numpy as jnp
import numpy as np

from rnnlab.tasks._prefix import cummax, cumsum


def run(quick: bool = False, lengths: str = "100,1000") -> list[dict]:
    """Rows ``prefix_scan.<op>.T<T>``: the associative scan (ms) against ``jax.lax``, ratio lax / ours."""
    jnp.zeros(())  # start JAX before timing anything
    print("ms per call: lax reference vs associative scan")
    rows = []
    for T in [100] if quick else [int(t) for t in lengths.split(",")]:
        x = jax.random.randint(jax.random.PRNGKey(0), (64, 32, T, 3), -1, 200)
        for name, ref, ours in [("cummax", jax.lax.cummax, cummax), ("cumsum", jax.lax.cumsum, cumsum)]:
            f, g = jax.jit(lambda x, ref=ref: ref(x, axis=2)), jax.jit(lambda x, ours=ours: ours(x, axis=2))
            np.testing.assert_array_equal(g(x), f(x))
            t = _report.alternate_s({"lax": lambda f=f, x=x: jax.block_until_ready(f(x)),
                                     "ours": lambda g=g, x=x: jax.block_until_ready(g(x))}, 0.1 if quick else 1.0)
            a, b = statistics.median(t["lax"]) * 1e3, statistics.median(t["ours"]) * 1e3
            print(f"    T={T:5d} {name}: lax {a:7.2f}  associative scan {b:7.2f}  -> {a / b:5.1f}x (same values)")
            rows.append(_report.row(
                f"prefix_scan.{name}.T{T}", f"{name} along T={T} of [64, 32, T, 3], associative scan vs lax",
                b, "ms", samples=[s * 1e3 for s in t["ours"]], reference=a, reference_name=f"jax.lax.{name}",
                reference_samples=[s * 1e3 for s in t["lax"]], ratio=a / b, ratio_of="lax time / ours"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="100,1000", help="comma-separated sequence lengths T")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
