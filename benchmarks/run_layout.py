"""How ``rnnlab.models.run`` lays out the time loop, measured against the alternatives in one run.

1. Layout: ``run`` (time-major, input drive and readout inside the loop) against a reference
   that hoists them (``U x`` for the whole sequence in one product before the loop, the
   readout after it, trials ``vmap``-ed over a ``lax.scan`` each, as ``run`` did before).
   Forward pass (loss) of an ensemble of 64 leaky RNNs (N = 32, T = 100, batch 32), and the
   gradient of one GRU (N = 128, T = 500, batch 64).
2. Rematerialisation: the gradient with ``remat=True`` against ``remat=False``, for the same
   ensemble and for single GRU / LSTM / leaky networks (N = 128, T = 500, batch 64).

Median over at least 3 s per case, on one host device.
Run:  .venv/bin/python benchmarks/run_layout.py
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from _timing import median_ms
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
    build = lambda k: models.get(name, input_size=3, output_size=3, key=k, hidden_size=N)  # noqa: E731
    return eqx.filter_vmap(build)(keys) if E > 1 else build(keys[0])


def _program(loss, E, grad):
    f = eqx.filter_value_and_grad(loss) if grad else loss
    return eqx.filter_jit(eqx.filter_vmap(f, in_axes=(0, 0)) if E > 1 else f)


def main():
    print("[1] layout: hoisted drive/readout (reference) against run (time-major, inside the loop), ms")
    for name, N, T, B, E, grad in [("leaky_rnn", 32, 100, 32, 64, False), ("gru", 128, 500, 64, 1, True)]:
        m = _models(name, N, E)
        x = jax.random.normal(jax.random.PRNGKey(1), ((E,) if E > 1 else ()) + (B, T, 3))
        ref = median_ms(_program(_loss_fn(_hoisted_run, False), E, grad), m, x)
        ours = median_ms(_program(_loss_fn(models.run, False), E, grad), m, x)
        what = "gradient" if grad else "forward"
        print(f"    {name} N={N} T={T} B={B} E={E} {what}: hoisted {ref:.1f}  run {ours:.1f}  -> {ref / ours:.2f}x")
    print("[2] rematerialisation: gradient with remat=False against remat=True, ms")
    for name, N, T, B, E in [("leaky_rnn", 32, 100, 32, 64), ("gru", 128, 500, 64, 1), ("lstm", 128, 500, 64, 1),
                             ("leaky_rnn", 128, 500, 64, 1)]:
        m = _models(name, N, E)
        x = jax.random.normal(jax.random.PRNGKey(1), ((E,) if E > 1 else ()) + (B, T, 3))
        off = median_ms(_program(_loss_fn(models.run, False), E, True), m, x)
        on = median_ms(_program(_loss_fn(models.run, True), E, True), m, x)
        print(f"    {name} N={N} T={T} B={B} E={E}: stored {off:.1f}  remat {on:.1f}  -> {off / on:.2f}x")


if __name__ == "__main__":
    main()
