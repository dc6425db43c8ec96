"""The LSTM's hand-written reverse pass (``rnnlab.models._lstm_vjp``, used by
``LSTM.scan_batch``) against autodiff of the plain ``lax.scan``, over a batch and per trial.

``step_profile.py`` found rnnlab's LSTM step losing to PyTorch's fused ``nn.LSTM`` in the
backward pass, not the forward. The hand-written reverse pass (equations in
``rnnlab.models._lstm_vjp``) carries only ``(∂L/∂h, ∂L/∂c)`` through the backward scan, one
product per step, and forms the weight gradients as one contraction over all steps and trials
afterwards, as PyTorch's fused kernels do; autodiff accumulates ``∂L/∂W_h`` and ``∂L/∂W_i``
inside the backward loop (two more products per step, one with the 3-wide input).

Timed, interleaved (``_report.alternate_s``), at the training step's shapes (N = 128, batch 64,
3 inputs), T = 200 / 1000, the gradient of ``Σ H²`` with respect to ``(W_h, W_i, b)``:

* over the batch (``lstm_batch``, as ``LSTM.scan_batch`` runs it): rows ``lstm_vjp.T<T>``;
* the same reverse pass written per trial (``lstm_trial``) and ``vmap``-ed over the batch, as a
  per-trial ``scan_trial`` would run it: each trial's weight gradient is formed on its own
  (``[B, 4N, N]``) and summed by ``custom_vjp``'s batching rule, instead of one contraction over
  ``T·B``; rows ``lstm_vjp.vmap.T<T>``. This is why the model interface has ``scan_batch``.

All give the same gradients as autodiff (checked first, to float32 rounding). Ratio = autodiff
time / hand-written time (above 1, the hand-written pass is faster).

Run:  .venv/bin/python benchmarks/lstm_vjp.py [--quick]
"""

from __future__ import annotations

import argparse

import _report
import jax
import jax.numpy as jnp
import numpy as np
from leaky_vjp import gradient_row

from rnnlab.models._lstm_vjp import _bwd, _fwd, _scan, lstm_batch


def _forward(W_h, W_i, b, X, h0, c0):
    """The plain ``lax.scan`` (differentiated by autodiff)."""
    return _scan(W_h, W_i, b, X, h0, c0)[0]


@jax.custom_vjp
def lstm_trial(W_h, W_i, b, X, h0, c0):
    """``lstm_batch`` of one trial (``X [T, I]``, ``h0, c0 [N]``), for ``vmap`` over trials."""
    return _forward(W_h, W_i, b, X[:, None], h0[None], c0[None])[:, 0]


def _fwd_trial(W_h, W_i, b, X, h0, c0):
    H, res = _fwd(W_h, W_i, b, X[:, None], h0[None], c0[None])  # a batch of one inside
    return H[:, 0], res


def _bwd_trial(res, gH):
    dW_h, dW_i, db, dX, dh0, dc0 = _bwd(res, gH[:, None])
    return dW_h, dW_i, db, dX[:, 0], dh0[0], dc0[0]


lstm_trial.defvjp(_fwd_trial, _bwd_trial)


def _grads(T: int, B: int, N: int, n_in: int = 3):
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    W_h = jax.random.uniform(k1, (4 * N, N), minval=-1, maxval=1) / N**0.5
    W_i = jax.random.uniform(k2, (4 * N, n_in), minval=-1, maxval=1) / N**0.5
    b = jax.random.uniform(k3, (4 * N,), minval=-1, maxval=1) / N**0.5
    X = jax.random.normal(k4, (T, B, n_in))
    h0 = c0 = jnp.zeros((B, N))
    loss = lambda f: lambda W_h, W_i, b: jnp.sum(f(W_h, W_i, b, X, h0, c0) ** 2)
    per_trial = jax.vmap(lstm_trial, in_axes=(None, None, None, 1, 0, 0), out_axes=1)
    hand = jax.jit(jax.grad(loss(lstm_batch), argnums=(0, 1, 2)))
    vmapped = jax.jit(jax.grad(loss(per_trial), argnums=(0, 1, 2)))
    auto = jax.jit(jax.grad(loss(_forward), argnums=(0, 1, 2)))
    for f in (hand, vmapped):  # same gradients first
        for g1, g2 in zip(f(W_h, W_i, b), auto(W_h, W_i, b)):
            np.testing.assert_allclose(g1, g2, rtol=2e-4, atol=2e-4 * float(jnp.abs(g2).max()))
    return {"hand-written": lambda: jax.block_until_ready(hand(W_h, W_i, b)),
            "per trial, vmapped": lambda: jax.block_until_ready(vmapped(W_h, W_i, b)),
            "autodiff": lambda: jax.block_until_ready(auto(W_h, W_i, b))}


def run(quick: bool = False) -> list[dict]:
    """Rows ``lstm_vjp.T<T>`` (over the batch, as ``LSTM.scan_batch`` runs it) and
    ``lstm_vjp.vmap.T<T>`` (per trial under ``vmap``): gradient time (ms) against autodiff of
    the scan (``leaky_vjp.gradient_row``)."""
    rows = []
    for T in (20,) if quick else (200, 1000):
        B, N = (4, 8) if quick else (64, 128)
        t = _report.alternate_s(_grads(T, B, N), 0.1 if quick else 4.0)
        batch = gradient_row(f"lstm_vjp.T{T}", f"LSTM recurrence gradient, hand-written VJP over the batch vs "
                             f"autodiff (T={T})", t, "hand-written")
        trial = gradient_row(f"lstm_vjp.vmap.T{T}", f"LSTM recurrence gradient, hand-written VJP per trial under "
                             f"vmap vs autodiff (T={T})", t, "per trial, vmapped")
        print(f"    T={T} B={B} N={N}: autodiff {batch['reference']:.1f} ms  over the batch {batch['value']:.1f} ms "
              f"-> {batch['ratio']:.2f}x;  per trial under vmap {trial['value']:.1f} ms -> {trial['ratio']:.2f}x")
        rows += [batch, trial]
    return rows


def main() -> None:
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
