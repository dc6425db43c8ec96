"""Candidate for the training step (issue: the single network): ``lax.scan(..., unroll=k)`` in
the models' time loop, against the plain scan (``unroll=1``), timed in the same process.

Unrolling puts ``k`` time steps in each iteration of XLA's while loop: fewer loop iterations
and buffer updates, and room for XLA to fuse across steps, at the price of a larger program
(compilation time grows with ``k``). It changes no value: the steps run in the same order.

For each model the training step of ``train_step.rnnlab_step`` (N = 128, batch 64, flip-flop,
masked MSE, clipping, Adam) is built once per ``k`` with ``RecurrentModel.scan_trial``
replaced by the same scan with ``unroll=k``, and the variants are timed interleaved
(``_report.alternate``). Ratio = plain-scan time / unrolled time (above 1: unrolling wins). It is
not part of ``rnnlab``: it would go into the one model interface (``scan_trial``) only where it
wins on an idle machine.

Run:  .venv/bin/python benchmarks/scan_unroll.py [--models leaky_rnn gru lstm]
      [--lengths 200 1000] [--unrolls 2 4 8] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from collections.abc import Iterator

import _report
import train_step


@contextlib.contextmanager
def _unrolled(k: int) -> Iterator[None]:
    """``RecurrentModel.scan_trial`` as the default, with ``unroll=k`` (restored on exit)."""
    import jax

    from rnnlab.models import _base

    plain = _base.RecurrentModel.scan_trial

    def scan_trial(self, inputs, state0, keys, remat=False):
        final, (activity, outputs) = jax.lax.scan(_base._loop_body(self, remat), state0, (inputs, keys), unroll=k)
        return final, activity, outputs

    _base.RecurrentModel.scan_trial = scan_trial
    try:
        yield
    finally:
        _base.RecurrentModel.scan_trial = plain


def run(quick: bool = False, lengths: list[int] | None = None, models: list[str] | None = None,
        unrolls: list[int] | None = None) -> list[dict]:
    """Rows ``scan_unroll.<model>.T<T>.u<k>``: the step (ms) with ``unroll=k`` against ``unroll=1``."""
    lengths = lengths or ([20] if quick else [200, 1000])
    models = models or list(train_step.GATES)
    unrolls = unrolls or ([2] if quick else [2, 4, 8])
    rounds, per_round = (1, 2) if quick else (4, 5)
    print(f"training step with lax.scan unroll=k, N={train_step.N}, batch={train_step.B}; "
          f"{rounds} interleaved rounds of {per_round} (ms)")
    rows = []
    for model in models:
        for T in lengths:
            fns = {1: train_step.rnnlab_step(model, T)}
            for k in unrolls:
                with _unrolled(k):
                    fns[k] = train_step.rnnlab_step(model, T)  # traced and compiled inside
            t = _report.alternate({str(k): f for k, f in fns.items()}, rounds, per_round)
            plain = statistics.median(t["1"])
            print(f"{model:>9} T={T:<5} unroll 1: {plain * 1e3:8.2f}" + "".join(
                f"   {k}: {statistics.median(t[str(k)]) * 1e3:8.2f} ({plain / statistics.median(t[str(k)]):.2f}x)"
                for k in unrolls), flush=True)
            for k in unrolls:
                mk = statistics.median(t[str(k)])
                rows.append(_report.row(
                    f"scan_unroll.{model}.T{T}.u{k}", f"{model} training step, T={T}, lax.scan unroll={k} vs 1",
                    mk * 1e3, "ms", samples=[s * 1e3 for s in t[str(k)]], reference=plain * 1e3,
                    reference_name="unroll=1", reference_samples=[s * 1e3 for s in t["1"]],
                    ratio=plain / mk, ratio_of="unroll=1 time / unrolled time"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=None, help="trial lengths (default 200 1000)")
    ap.add_argument("--models", nargs="+", choices=list(train_step.GATES), default=None)
    ap.add_argument("--unrolls", type=int, nargs="+", default=None, help="unroll factors (default 2 4 8)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
