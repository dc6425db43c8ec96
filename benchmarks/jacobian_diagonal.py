"""Quasi-DEER's Jacobian diagonals: closed form (``RecurrentModel.update_diagonal``) against the
diagonal of the full per-step Jacobian (``jax.jacfwd``: n JVPs per step), in the same run.

For each model and hidden size N it times ``diag(∂F/∂s)`` and ``F`` at all T steps of one
trial (what every quasi-DEER Newton iteration and its adjoint solve compute), and checks that
both give the same numbers. Median over at least 2 s per case, on one host device.

Run:  .venv/bin/python benchmarks/jacobian_diagonal.py [--length 1000] [--hidden 64,256]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from _timing import median_ms
from rnnlab import models
from rnnlab.parallel._system import System, jacobians, make_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=1000, help="sequence length T")
    ap.add_argument("--hidden", default="64,256", help="comma-separated hidden sizes N")
    args = ap.parse_args()
    T = args.length
    print(f"diag(dF/ds) and F at T = {T} steps, ms: from n JVPs (jacfwd) vs closed form")
    for name in ["leaky_rnn", "gru", "lstm"]:
        for N in [int(n) for n in args.hidden.split(",")]:
            m = models.get(name, input_size=3, output_size=1, key=jax.random.PRNGKey(0), hidden_size=N)
            system, params, s0 = make_system(m, m.initial_state())
            no_closed_form = System(system.step, lambda p, s, d: None, system.unravel, system.size)
            prev = 0.5 * jax.random.normal(jax.random.PRNGKey(1), (T, system.size))
            drives = jax.vmap(m.input_drive)(jax.random.normal(jax.random.PRNGKey(2), (T, 3)))
            jvps = jax.jit(lambda p, s, d: jacobians(no_closed_form, p, s, d, dense=False))
            closed = jax.jit(lambda p, s, d: jacobians(system, p, s, d, dense=False))
            (fa, da), (fb, db) = jvps(params, prev, drives), closed(params, prev, drives)
            np.testing.assert_allclose(db, da, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(fb, fa, rtol=1e-5, atol=1e-6)
            ref = median_ms(jvps, params, prev, drives, min_seconds=2.0)
            ours = median_ms(closed, params, prev, drives, min_seconds=2.0)
            print(f"    {name:9s} N={N:4d} (state size {system.size:4d}): jacfwd {ref:9.2f}  closed form "
                  f"{ours:7.2f}  -> {ref / ours:6.1f}x  (same values: yes)")


if __name__ == "__main__":
    jnp.zeros(())  # start JAX before timing anything
    main()
