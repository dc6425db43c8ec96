"""How ``rnnlab.models.run`` lays out the time loop, measured against the alternatives in one run.

1. Layout: ``run`` (time-major, input drive and readout inside the loop) against a reference
   that hoists them (``U x`` for the whole sequence in one product before the loop, the
   readout after it, trials ``vmap``-ed over a ``lax.scan`` each, as ``run`` did before).
   Forward pass (loss) of an ensemble of 64 leaky RNNs (N = 32, T = 100, batch 32), and the
   gradient of one GRU (N = 128, T = 500, batch 64).
2. Rematerialisation: the gradient with ``remat=True`` against ``remat=False``, for the same
   ensemble and for single GRU / LSTM / leaky networks (N = 128, T = 500, batch 64).

The compared programs are timed in interleaved rounds (``_report.alternate_s``), at least 3 s
of calls each, on one host device; ``--quick``: N = 8, T = 20, batch 4, ensembles of 4, 0.1 s.
Run:  .venv/bin/python benchmarks/run_layout.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import _report
import equinox as eqx
import jax
import jax.numpy as jnp

from rnnlab import models


def _hoisted_run(model, inputs, key=None, remat=False):
    """The reference layout: drive before the loop, readout after it, batch-major."""

    def trial(x):
        drives = jax.vmap(model.input_drive)(x)
        _, act = jax.lax.scan(lambda s, d: model.update(s, d, None), model.initial_state(), drives)
        return act, jax.vmap(model.readout)(act)

    return jax.vmap(trial)(inputs)


def _loss_fn(runner, remat):
    def loss(model, x):
        _, out = runner(model, x, remat=remat)
        return jnp.mean(jnp.sin(out) ** 2)

    return loss


def _models(name, N, E):
    keys = jax.random.split(jax.random.PRNGKey(0), E)
    build = lambda k: models.get(name, input_size=3, output_size=3, key=k, hidden_size=N)
    return eqx.filter_vmap(build)(keys) if E > 1 else build(keys[0])


def _program(loss, E, grad):
    f = eqx.filter_value_and_grad(loss) if grad else loss
    return eqx.filter_jit(eqx.filter_vmap(f, in_axes=(0, 0)) if E > 1 else f)


def _pair(name, N, T, B, E, progs, quick):
    """Median ms of each of ``progs`` (``{label: program}``) on the same models and inputs, interleaved."""
    m = _models(name, N, E)
    x = jax.random.normal(jax.random.PRNGKey(1), ((E,) if E > 1 else ()) + (B, T, 3))
    t = _report.alternate_s({k: (lambda p=p: jax.block_until_ready(p(m, x))) for k, p in progs.items()},
                            0.1 if quick else 3.0)
    return {k: [s * 1e3 for s in v] for k, v in t.items()}


def _row(id, what, ours, ours_label, ref, ref_label):
    mo, mr = statistics.median(ours), statistics.median(ref)
    return _report.row(id, what, mo, "ms", samples=ours, reference=mr, reference_name=ref_label,
                       reference_samples=ref, ratio=mr / mo, ratio_of=f"{ref_label} time / {ours_label} time")


def run(quick: bool = False) -> list[dict]:
    """Rows ``run_layout.layout.*`` (run against hoisting, ratio hoisted / run) and
    ``run_layout.remat.*`` (remat against stored activations, ratio stored / remat)."""
    small = (lambda N, T, B, E: (8, 20, 4, min(E, 4))) if quick else (lambda N, T, B, E: (N, T, B, E))
    rows = []
    print("[1] layout: hoisted drive/readout (reference) against run (time-major, inside the loop), ms")
    for name, N, T, B, E, grad in [("leaky_rnn", 32, 100, 32, 64, False), ("gru", 128, 500, 64, 1, True)]:
        N, T, B, E = small(N, T, B, E)
        t = _pair(name, N, T, B, E, {"hoisted": _program(_loss_fn(_hoisted_run, False), E, grad),
                                     "run": _program(_loss_fn(models.run, False), E, grad)}, quick)
        what = "gradient" if grad else "forward"
        ref, ours = statistics.median(t["hoisted"]), statistics.median(t["run"])
        print(f"    {name} N={N} T={T} B={B} E={E} {what}: hoisted {ref:.1f}  run {ours:.1f}  -> {ref / ours:.2f}x")
        rows.append(_row(f"run_layout.layout.{name}", f"{name} N={N} T={T} B={B} E={E} {what}: run vs hoisted",
                         t["run"], "run", t["hoisted"], "hoisted"))
    print("[2] rematerialisation: gradient with remat=False against remat=True, ms")
    for name, N, T, B, E in [("leaky_rnn", 32, 100, 32, 64), ("gru", 128, 500, 64, 1), ("lstm", 128, 500, 64, 1),
                             ("leaky_rnn", 128, 500, 64, 1)]:
        N, T, B, E = small(N, T, B, E)
        t = _pair(name, N, T, B, E, {"stored": _program(_loss_fn(models.run, False), E, True),
                                     "remat": _program(_loss_fn(models.run, True), E, True)}, quick)
        off, on = statistics.median(t["stored"]), statistics.median(t["remat"])
        print(f"    {name} N={N} T={T} B={B} E={E}: stored {off:.1f}  remat {on:.1f}  -> {off / on:.2f}x")
        rows.append(_row(f"run_layout.remat.{name}.E{E}", f"{name} N={N} T={T} B={B} E={E} gradient: remat vs stored",
                         t["remat"], "remat", t["stored"], "stored"))
    return rows


def main():
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
