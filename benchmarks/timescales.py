"""Benchmark: network timescales of one 64-unit leaky RNN (Khajehabdollahi et al. 2024's
τ_net: simulate long inputs, autocorrelation per unit, exponential fits), and where the time goes.

``rnnlab.analysis.network_timescales`` with its defaults (10 trials of 2·10⁴ steps after a
500-step burn-in, the paper's 30 fitted lags) and with the paper's length (10 trials of 10⁵
steps), on a 64-unit LeakyRNN with per-neuron τ on the N-bit flip-flop task (untrained: the
cost does not depend on the weights). Each call is split into simulation, autocorrelation
(``_raw_ac``: FFT along time) and fits (``fit_timescale``: two ``curve_fit`` per unit), timed
where ``timescales_from_activity`` calls them. The autocorrelation is also timed against the
direct sum ``Σ_t x̃_t x̃_{t+k}`` over the same lags (one BLAS dot per lag and unit block), in
the same process, interleaved: the ratio FFT / direct.

    python benchmarks/timescales.py [--quick] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import time

import _report
import jax
import numpy as np

import rnnlab


def _direct_ac(x: np.ndarray, max_lag: int) -> np.ndarray:
    """The reference: the unbiased AC along axis 0 of ``x [T, ...]`` as one product per lag."""
    xc = x - x.mean(axis=0, keepdims=True)
    n = xc.shape[0]
    return np.stack([np.einsum("t...,t...->...", xc[: n - k], xc[k:]) / (n - k) for k in range(max_lag + 1)])


def run(quick: bool = False, repeats: int = 5) -> list[dict]:
    """Rows ``timescales.network.<steps>`` (seconds per network, with its split) and
    ``timescales.ac`` (FFT autocorrelation against the direct sum)."""
    if quick:
        repeats = 1
    mod = importlib.import_module("rnnlab.analysis.timescales")
    task = rnnlab.tasks.get("flipflop", n_bits=3)
    model = rnnlab.models.get("leaky_rnn", input_size=task.n_inputs, output_size=task.n_outputs,
                              key=jax.random.PRNGKey(0), hidden_size=64, tau_spread=2.0)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = []
    raw_ac = mod._raw_ac  # the unwrapped function, for the comparison with the direct sum
    for n_steps in ((2_000,) if quick else (20_000, 100_000)):
        mod.network_timescales(model, task, n_steps=n_steps)  # compilation, not timed
        totals, parts = [], []
        for _ in range(repeats):
            with _report.timed_calls(mod, ("_raw_ac", "fit_timescale")) as calls:
                start = time.perf_counter()
                mod.network_timescales(model, task, n_steps=n_steps)
                totals.append(time.perf_counter() - start)
            parts.append(calls.seconds)
        total = statistics.median(totals)
        ac = statistics.median(p["_raw_ac"] for p in parts)
        fits = statistics.median(p["fit_timescale"] for p in parts)
        sim = total - ac - fits
        print(f"{n_steps} steps x 10 trials: {total:.2f} s per network (simulation and inputs {sim:.2f}, "
              f"autocorrelation {ac:.2f}, fits {fits:.2f})")
        rows.append(_report.row(f"timescales.network.{n_steps}", f"network timescales, 64 units, 10 trials of "
                                f"{n_steps:,} steps", total, "s", samples=totals, simulation=sim,
                                autocorrelation=ac, fits=fits))

    x = np.random.default_rng(0).standard_normal((20_000 if not quick else 2_000, 10, 64))
    fft_t, direct_t = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        a = raw_ac(x, 60)
        fft_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        b = _direct_ac(x, 60)
        direct_t.append(time.perf_counter() - start)
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    f, d = statistics.median(fft_t), statistics.median(direct_t)
    print(f"autocorrelation, 60 lags of 10 x 64 series of {x.shape[0]:,} steps: FFT {f * 1e3:.1f} ms, "
          f"direct {d * 1e3:.1f} ms, ratio {f / d:.2f}")
    rows.append(_report.row("timescales.ac", f"autocorrelation (60 lags, 640 series of {x.shape[0]:,} steps), "
                            "FFT vs direct sum", f * 1e3, "ms", samples=[t * 1e3 for t in fft_t],
                            reference=d * 1e3, reference_name="direct sum per lag",
                            reference_samples=[t * 1e3 for t in direct_t], ratio=f / d, ratio_of="FFT / direct"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
