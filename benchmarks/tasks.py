"""Sampling speed of every registered task: trials per second of the jitted sampler.

Usage::

    python benchmarks/tasks.py [--batch 256] [--seconds 1.0] [--quick] [TASK ...]

For each task (default parameters) it compiles ``jax.jit(lambda k: task.sample(k, batch))``,
reports the compile time, then calls it with fresh keys for about ``--seconds`` and reports
trials/second. Where NeuroGym is installed (optional; not a dependency), for the tasks that
have a NeuroGym counterpart (``NEUROGYM``) it also times, in the same run:

* ``ngym/s``: NeuroGym's own ``neurogym.Dataset`` (same ``dt``, batch, ``seq_len`` = the rnnlab
  task's ``T``), in sequences per second: each sequence holds as many time steps as one rnnlab
  trial (cut from NeuroGym's trial stream, so it may start and end mid-trial);
* ``ratio``: rnnlab trials/s divided by ``ngym/s``;
* ``bridge/s``: whole NeuroGym trials per second through ``tasks.from_neurogym`` (the same
  environment's NumPy code, seeded, padded and masked, called from the jitted sampler).

Without NeuroGym these columns are skipped with a note. ``--quick``: flipflop and
perceptual_decision, batch 32, 0.2 s each (a smoke run).
"""

from __future__ import annotations

import argparse
import time

import _report
import jax

from rnnlab import tasks

#: rnnlab task -> NeuroGym environment of the same design
NEUROGYM = {
    "perceptual_decision": "PerceptualDecisionMaking-v0",
    "context_decision": "ContextDecisionMaking-v0",
    "delay_match_sample": "DelayMatchSample-v0",
    "go_nogo": "GoNogo-v0",
    "ready_set_go": "ReadySetGo-v0",
}


def _time_calls(call, seconds: float) -> tuple[int, float]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call(n)
        n += 1
    return n, time.perf_counter() - start


def bench_rnnlab(task, batch: int, seconds: float) -> tuple[float, float]:
    """``(compile seconds, trials per second)`` of the jitted sampler."""
    sample = jax.jit(lambda k: task.sample(k, batch))
    key = jax.random.PRNGKey(0)
    start = time.perf_counter()
    jax.block_until_ready(sample(key))
    compile_s = time.perf_counter() - start
    n, elapsed = _time_calls(lambda i: jax.block_until_ready(sample(jax.random.fold_in(key, i))), seconds)
    return compile_s, n * batch / elapsed


def bench_neurogym(ngym, task, batch: int, seconds: float) -> tuple[float, float] | None:
    """``(Dataset sequences/s, bridge trials/s)`` for the matching NeuroGym environment, if any."""
    env_id = NEUROGYM.get(task.name)
    if env_id is None:
        return None
    data = ngym.Dataset(env_id, env_kwargs={"dt": task.dt}, batch_size=batch, seq_len=task.n_steps)
    data()
    n, elapsed = _time_calls(lambda i: data(), seconds)
    _, bridge = bench_rnnlab(tasks.from_neurogym(env_id, dt=task.dt), batch, seconds)
    return n * batch / elapsed, bridge


def run(quick: bool = False, names: list[str] | None = None, batch: int = 256, seconds: float = 1.0) -> list[dict]:
    """Rows ``tasks.<name>``: trials per second of the jitted sampler (against NeuroGym's
    ``Dataset`` where installed, ratio rnnlab / NeuroGym)."""
    if quick:
        names, batch, seconds = names or ["flipflop", "perceptual_decision"], 32, 0.2
    try:
        import neurogym as ngym
    except ImportError:
        ngym = None
        print("note: neurogym is not installed; the NeuroGym columns are skipped")
    print(f"backend: {jax.default_backend()}  batch: {batch}")
    header = f"{'task':24s} {'T':>5s} {'compile s':>10s} {'trials/s':>12s}"
    print(header + (f" {'ngym/s':>10s} {'ratio':>7s} {'bridge/s':>10s}" if ngym else ""))
    rows = []
    for name in names or tasks.names():
        task = tasks.get(name)
        compile_s, rate = bench_rnnlab(task, batch, seconds)
        line = f"{name:24s} {task.n_steps:5d} {compile_s:10.2f} {rate:12,.0f}"
        ref = bench_neurogym(ngym, task, batch, seconds) if ngym else None
        if ngym:
            cols = (f"{ref[0]:10,.0f}", f"{rate / ref[0]:7.1f}", f"{ref[1]:10,.0f}") if ref else ("-",) * 3
            line += " " + " ".join(f"{c:>{w}s}" for c, w in zip(cols, (10, 7, 10)))
        print(line, flush=True)
        extra = {"reference": ref[0], "reference_name": "NeuroGym Dataset", "ratio": rate / ref[0],
                 "ratio_of": "rnnlab rate / NeuroGym rate", "bridge_trials_per_s": ref[1]} if ref else {}
        rows.append(_report.row(f"tasks.{name}", f"{name} sampler (T={task.n_steps}, batch {batch})", rate,
                                "trials/s", compile_s=compile_s, **extra))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="tasks to time (default: all registered)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=1.0)
    _report.cli(run, parser)


if __name__ == "__main__":
    main()
