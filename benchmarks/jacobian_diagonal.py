"""Quasi-DEER's Jacobian diagonals: closed form (``RecurrentModel.update_diagonal``) against the
diagonal of the full per-step Jacobian (``jax.jacfwd``: n JVPs per step), in the same run.

For each model and hidden size N it times ``diag(∂F/∂s)`` and ``F`` at all T steps of one
trial (what every quasi-DEER Newton iteration and its adjoint solve compute), and checks that
both give the same numbers. The two are timed in interleaved rounds (``_report.alternate_s``),
at least 2 s of calls each, on one host device; ``--quick``: T = 50, N = 8, 0.1 s.

Run:  .venv/bin/python benchmarks/jacobian_diagonal.py [--length 1000] [--hidden 64,256] [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import _report
import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import models
from rnnlab.parallel._system import System, jacobians, make_system


def run(quick: bool = False, length: int = 1000, hidden: str = "64,256") -> list[dict]:
    """Rows ``jacobian_diagonal.<model>.N<N>``: closed form (ms) against ``jacfwd``, ratio jacfwd / closed."""
    jnp.zeros(())  # start JAX before timing anything
    T = 50 if quick else length
    sizes = [8] if quick else [int(n) for n in hidden.split(",")]
    print(f"diag(dF/ds) and F at T = {T} steps, ms: from n JVPs (jacfwd) vs closed form")
    rows = []
    for name in ["leaky_rnn", "gru", "lstm"]:
        for N in sizes:
            m = models.get(name, input_size=3, output_size=1, key=jax.random.PRNGKey(0), hidden_size=N)
            system, params, s0 = make_system(m, m.initial_state())
            no_closed_form = System(system.step, lambda p, s, d: None, system.unravel, system.size)
            prev = 0.5 * jax.random.normal(jax.random.PRNGKey(1), (T, system.size))
            drives = jax.vmap(m.input_drive)(jax.random.normal(jax.random.PRNGKey(2), (T, 3)))
            jvps = jax.jit(lambda p, s, d, sys_=no_closed_form: jacobians(sys_, p, s, d, dense=False))
            closed = jax.jit(lambda p, s, d, sys_=system: jacobians(sys_, p, s, d, dense=False))
            (fa, da), (fb, db) = jvps(params, prev, drives), closed(params, prev, drives)
            np.testing.assert_allclose(db, da, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(fb, fa, rtol=1e-5, atol=1e-6)
            args = (params, prev, drives)
            t = _report.alternate_s({"jacfwd": lambda f=jvps, a=args: jax.block_until_ready(f(*a)),
                                     "closed": lambda f=closed, a=args: jax.block_until_ready(f(*a))},
                                    0.1 if quick else 2.0)
            ref, ours = statistics.median(t["jacfwd"]) * 1e3, statistics.median(t["closed"]) * 1e3
            print(f"    {name:9s} N={N:4d} (state size {system.size:4d}): jacfwd {ref:9.2f}  closed form "
                  f"{ours:7.2f}  -> {ref / ours:6.1f}x  (same values: yes)")
            rows.append(_report.row(
                f"jacobian_diagonal.{name}.N{N}", f"{name} N={N} Jacobian diagonals at T={T}, closed form vs jacfwd",
                ours, "ms", samples=[x * 1e3 for x in t["closed"]], reference=ref, reference_name="jax.jacfwd",
                reference_samples=[x * 1e3 for x in t["jacfwd"]], ratio=ref / ours, ratio_of="jacfwd time / ours"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=1000, help="sequence length T")
    ap.add_argument("--hidden", default="64,256", help="comma-separated hidden sizes N")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
