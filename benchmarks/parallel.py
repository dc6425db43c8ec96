"""Sequential ``lax.scan`` vs the parallel-in-time Newton solver (``rnnlab.parallel``), same run.

For each sequence length T and hidden size N it times one forward + backward pass (the
gradient of ``mean(y²)`` with respect to every parameter) of a batch of B trials:

* sequential: ``rnnlab.models.run`` (``lax.scan``, backpropagation through time);
* parallel: ``rnnlab.parallel.run`` (DEER/quasi-DEER Newton iterations with associative
  scans; gradients by the implicit function theorem), ``jacobian="auto"`` unless given.

Times are medians over ``--repeats`` calls after one compiling call (compile time is shown
separately). The Newton iteration count and whether any trial fell back to the sequential
scan are printed with each row. Configurations whose estimated memory or work is too large
for this machine get a smaller batch or are skipped, and the reason is printed.

On a CPU the parallel solver is expected to lose: it does O(n³ log T)-depth but O(T n³)
more work per iteration than the O(T n²) sequential scan, and a CPU has little parallelism
to trade work for depth. DEER's reported speed-ups (Lim et al. 2024) are on GPUs.

``--quick``: T = 100, N = 2, batch 2, one timed call (a smoke run of the plumbing).

Run:  .venv/bin/python benchmarks/parallel.py [--lengths 1000,10000] [--hidden 1,16] [--batch 16] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import _report
import equinox as eqx
import jax
import jax.numpy as jnp

from rnnlab import models, parallel

I, O = 2, 1


def _ints(s: str) -> list[int]:
    return [int(float(x)) for x in s.split(",") if x]


def _estimates(T: int, n_flat: int, B: int, dense: bool) -> tuple[float, float]:
    """Rough (bytes, flops) of one Newton iteration: Jacobians by n JVPs, one scan of [T, n, n+1]."""
    if dense:
        mem = 6.0 * 4 * B * T * n_flat * (n_flat + 1)  # Jacobians, packed pairs, scan levels, adjoint
        work = B * T * (2 * n_flat**3 + 4 * n_flat**3)
    else:
        mem = 12.0 * 4 * B * T * n_flat
        work = B * T * (2 * n_flat**3 + 8 * n_flat)
    return mem, work


def _timed(f, *args, repeats: int, budget_s: float):
    """Median wall time of up to ``repeats`` calls after a compiling one (fewer once ``budget_s`` is spent)."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(f(*args))
    compile_s = time.perf_counter() - t0
    times = []
    while len(times) < repeats and sum(times) < budget_s:
        t0 = time.perf_counter()
        out = jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), compile_s, out


def _fit_batch(T: int, n_flat: int, B: int, dense: bool, mem_budget: float, work_budget: float):
    """Largest batch ≤ B within both budgets, or ``(None, reason)``."""
    mem, work = _estimates(T, n_flat, 1, dense)
    fit = min(B, int(mem_budget / mem), int(work_budget / work))
    if fit >= 1:
        return fit, None
    if mem > mem_budget:
        return None, f"~{mem / 1e9:.1f} GB per Newton iteration even at batch 1 (--mem-gb {mem_budget / 1e9:g})"
    return None, (f"~{work / 1e9:.0f} GFLOP per Newton iteration even at batch 1 (Jacobians by {n_flat} JVPs "
                  f"per step; --max-gflop {work_budget / 1e9:g})")


def _programs(jacobian: str, max_iter: int):
    def seq_loss(m, x):
        return jnp.mean(models.run(m, x)[1] ** 2)

    def par_loss(m, x):
        _, y, info = parallel.run(m, x, jacobian=jacobian, max_iter=max_iter)
        return jnp.mean(y**2), info

    seq = eqx.filter_jit(eqx.filter_value_and_grad(seq_loss))
    par = eqx.filter_jit(eqx.filter_value_and_grad(par_loss, has_aux=True))
    return seq, par


def run(quick: bool = False, lengths: list[int] | None = None, hidden: list[int] | None = None, batch: int = 16,
        model: str = "gru", jacobian: str = "auto", max_iter: int = 100, repeats: int = 3, budget_s: float = 5.0,
        mem_gb: float = 2.0, max_gflop: float = 10.0) -> list[dict]:
    """Rows ``parallel.<model>.T<T>.N<N>``: the parallel solver's forward + backward (ms) against
    the sequential scan's, ratio sequential / parallel."""
    if quick:
        lengths, hidden, batch, repeats = [100], [2], 2, 1
    lengths, hidden = lengths or [1000, 10000, 100000], hidden or [1, 16, 64]
    seq, par = _programs(jacobian, max_iter)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), model {model}, "
          f"jacobian={jacobian}, max_iter={max_iter}, median of {repeats}")
    head = f"{'T':>7} {'N':>3} {'B':>3} {'jac':>5} {'seq ms':>10} {'par ms':>10} {'speed-up':>8} {'iters':>5} " \
           f"{'fell back':>9} {'|Δloss|':>8} {'compile s (seq/par)':>19}"
    print(head)
    print("-" * len(head))
    rows = []
    for n in hidden:
        m = models.get(model, input_size=I, output_size=O, key=jax.random.PRNGKey(0), hidden_size=n)
        n_flat = 2 * n if model == "lstm" else n
        dense = parallel.SolverOptions(jacobian=jacobian).dense(n_flat)
        for T in lengths:
            B, why = _fit_batch(T, n_flat, batch, dense, mem_gb * 1e9, max_gflop * 1e9)
            if B is None:
                print(f"{T:>7} {n:>3}  skipped: {why}", flush=True)
                continue
            x = jax.random.normal(jax.random.PRNGKey(1), (B, T, I))
            t_seq, c_seq, (l_seq, _) = _timed(seq, m, x, repeats=repeats, budget_s=budget_s)
            t_par, c_par, ((l_par, info), _) = _timed(par, m, x, repeats=repeats, budget_s=budget_s)
            fell = int(jnp.sum(info.fell_back))
            if B < batch:
                print(f"{T:>7} {n:>3}  note: batch {B} instead of {batch} (memory/work budget)", flush=True)
            print(f"{T:>7} {n:>3} {B:>3} {'dense' if dense else 'diag':>5} {1e3 * t_seq:>10.1f} {1e3 * t_par:>10.1f} "
                  f"{t_seq / t_par:>7.2f}x {int(info.iterations):>5} {f'{fell}/{B}':>9} "
                  f"{abs(float(l_seq) - float(l_par)):>8.1e} {c_seq:>9.1f}/{c_par:<9.1f}", flush=True)
            rows.append(_report.row(
                f"parallel.{model}.T{T}.N{n}", f"{model} N={n} T={T} batch {B} gradient: parallel solver vs scan",
                1e3 * t_par, "ms", reference=1e3 * t_seq, reference_name="sequential scan", ratio=t_seq / t_par,
                ratio_of="sequential time / parallel time", newton_iterations=int(info.iterations),
                fell_back=fell, batch=B))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lengths", type=_ints, default=None, help="comma-separated T values (default 1000,10000,100000)")
    ap.add_argument("--hidden", type=_ints, default=None, help="comma-separated hidden sizes N (default 1,16,64)")
    ap.add_argument("--batch", type=int, default=16, help="trials per batch")
    ap.add_argument("--model", default="gru", choices=models.names(), help="model family")
    ap.add_argument("--jacobian", default="auto", choices=["auto", "dense", "diagonal"])
    ap.add_argument("--max-iter", type=int, default=100, help="Newton iterations before the fallback")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per configuration (median)")
    ap.add_argument("--budget-s", type=float, default=5.0, help="stop repeating once this much time is spent")
    ap.add_argument("--mem-gb", type=float, default=2.0, help="memory budget; the batch shrinks to fit it")
    ap.add_argument("--max-gflop", type=float, default=10.0,
                    help="work budget per Newton iteration; the batch shrinks to fit it")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
