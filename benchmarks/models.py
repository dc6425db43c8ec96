"""Training-step time and peak memory of every model family, side by side.

One full training step as ``rnnlab.train`` runs it (``make_step``: sample a batch of the
adding problem, run the model, masked loss, gradient, clipping, Adam), jitted, at N = 128
hidden units, T = 500 steps, batch 64 by default. Time is the median of ``--repeats`` calls
after compilation; memory is XLA's ``memory_analysis()`` of the compiled step: arguments +
outputs + temporaries (XLA allocates the temporaries of a program as one buffer, so this is
its peak; the stats' own ``peak_memory_in_bytes`` is not filled in on CPU). Models with a
parallel mode also run in it, with the default Hillis–Steele ``scan='doubling'`` (O(T log T)
work and residual memory, fast to compile) and with ``scan='associative'``
(``jax.lax.associative_scan``, work-efficient); ``×`` is sequential time / parallel time.

``--quick``: leaky_rnn, gru and lru only, N = 16, T = 50, batch 8, 2 repeats (a smoke run).

Run:  .venv/bin/python benchmarks/models.py [--length 500] [--hidden 128] [--batch 64] [--quick]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import _report
import equinox as eqx
import jax
import jax.numpy as jnp

from rnnlab import models, tasks
from rnnlab.train import TrainConfig, initial_state, make_optimizer, make_step

# (label, model name, parameters); models with a ``mode`` get a parallel row too.
CASES = [
    ("leaky_rnn (tanh)", "leaky_rnn", {}),
    ("leaky_rnn Dale 20%", "leaky_rnn", {"dale": True, "density": 0.2}),
    ("low_rank_rnn r=2", "low_rank_rnn", {"rank": 2}),
    ("gru", "gru", {}),
    ("lstm", "lstm", {}),
    ("lru", "lru", {}),
    ("s4d", "s4d", {}),
    ("lmu", "lmu", {"theta": 500.0}),
    ("lmu feedback", "lmu", {"theta": 500.0, "hidden_feedback": True}),
    ("min_gru", "min_gru", {}),
    ("min_lstm", "min_lstm", {}),
    ("spiking_rnn LIF", "spiking_rnn", {}),
    ("spiking_rnn ALIF", "spiking_rnn", {"neuron": "alif"}),
    ("elm (d_m=128)", "elm", {}),
    ("cfc", "cfc", {}),
    ("ltc (6 unfolds)", "ltc", {}),
    ("cortico_cerebellar", "cortico_cerebellar", {}),
]


def measure(name: str, params: dict, N: int, T: int, B: int, repeats: int) -> tuple[list[float], float]:
    """``(seconds of each timed step, peak bytes)``."""
    task = tasks.get("adding", length=T)
    cfg = TrainConfig(lr=1e-3, clip=1.0, batch_size=B)
    opt = make_optimizer(cfg)
    state = initial_state(models.config(name, hidden_size=N, **params), task, cfg, jax.random.PRNGKey(0), opt)
    budget = jnp.asarray(10**9)
    step = make_step(task, opt, B, remat=cfg.uses_remat(state.model))  # as train does
    compiled = eqx.filter_jit(step).lower(state, budget).compile()
    mem = compiled.compiled.memory_analysis()
    peak = mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
    state, (loss, _) = compiled(state, budget)
    loss.block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        state, (loss, _) = compiled(state, budget)
        loss.block_until_ready()
        times.append(time.perf_counter() - t0)
    return times, peak


def run(quick: bool = False, hidden: int = 128, length: int = 500, batch: int = 64, repeats: int = 10,
        only: list[str] | None = None) -> list[dict]:
    """Rows ``models.<label>`` (sequential step, ms; peak memory in the row) and
    ``models.<label>.<scan>`` (parallel mode against sequential, ratio sequential / parallel)."""
    N, T, B = (16, 50, 8) if quick else (hidden, length, batch)
    if quick:
        repeats, only = 2, only or ["leaky_rnn (tanh)", "gru", "lru"]
    print(f"training step, N={N}, T={T}, batch={B}, {jax.devices()[0].platform}; median of {repeats}")
    head = f"{'ms':>8} {'MiB':>7}"
    print(f"{'':<20} {'sequential':^16} | {'parallel, doubling':^24} | {'parallel, associative':^24}")
    print(f"{'model':<20} {head} | {head} {'×':>7} | {head} {'×':>7}")
    rows = []
    for label, name, params in CASES:
        if only and not any(s in label for s in only):
            continue
        key = "models." + re.sub(r"\W+", "_", label).strip("_")
        seq_t, seq_mem = measure(name, params, N, T, B, repeats)
        seq = statistics.median(seq_t)
        line = f"{label:<20} {seq * 1e3:>8.1f} {seq_mem / 2**20:>7.1f}"
        rows.append(_report.row(key, f"{label} training step (N={N}, T={T}, batch {B})", seq * 1e3, "ms",
                                samples=[t * 1e3 for t in seq_t], peak_mib=seq_mem / 2**20))
        fields = models.REGISTRY[name].model_fields
        if "mode" in fields and not params.get("hidden_feedback"):
            for scan in ("doubling", "associative") if "scan" in fields else ("doubling",):
                extra = {"scan": scan} if "scan" in fields else {}
                par_t, par_mem = measure(name, {**params, "mode": "parallel", **extra}, N, T, B, repeats)
                par = statistics.median(par_t)
                line += f" | {par * 1e3:>8.1f} {par_mem / 2**20:>7.1f} {seq / par:>6.2f}x"
                rows.append(_report.row(
                    f"{key}.{scan}", f"{label} training step, parallel ({scan}) vs sequential", par * 1e3, "ms",
                    samples=[t * 1e3 for t in par_t], reference=seq * 1e3,
                    reference_samples=[t * 1e3 for t in seq_t], reference_name="sequential", ratio=seq / par,
                    ratio_of="sequential time / parallel time", peak_mib=par_mem / 2**20))
        print(line, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--only", nargs="*", help="labels (substrings) to run")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
