"""Candidate for the training step (issue: the single network): the leaky recurrence over a
whole batch with a hand-written reverse pass, against autodiff of the plain ``lax.scan``.

Forward (``[T, B, N]`` time-major, α = dt/τ per neuron, drives ``d_t = U x_t + b`` given)::

    h_t = (1 − α) ⊙ h_{t−1} + α ⊙ φ(a_t),    a_t = W h_{t−1} + d_t

Reverse, from the cotangent ``ḡ_t`` of every ``h_t``: a backward scan carries ``c_t = ∂L/∂h_t``
through the recurrence alone::

    g_t = ḡ_t + c_{t+1},   δ_t = g_t ⊙ α ⊙ φ'(a_t),   c_t = (1 − α) ⊙ g_t + Wᵀ δ_t

and every parameter gradient is then one contraction over all steps and trials at once::

    ∂L/∂W = Σ_{t,b} δ_t h_{t−1}ᵀ   (one [N, T·B] × [T·B, N] matrix product)
    ∂L/∂α = Σ_{t,b} g_t ⊙ (φ(a_t) − h_{t−1}),   ∂L/∂d_t = δ_t,   ∂L/∂h_0 = c_1

Why by hand: autodiff of ``lax.scan`` accumulates ``∂L/∂W`` inside the backward loop, one
``[N, B] × [B, N]`` outer product per step, so the loop does two small matrix products per
step instead of one and the weight gradient never becomes one large, efficient product. The
pre-activations ``a_t`` are recomputed before the backward scan as one product
``H_{t−1} Wᵀ + D`` over all steps (so the forward stores only the states ``H``), and ``φ'`` is
taken by ``jax.jvp`` of the model's nonlinearity.

This script checks that both give the same gradients (to float32 rounding) and times the
gradient of ``Σ H²`` with respect to ``(W, α, D)`` both ways, interleaved (``_report.alternate_s``),
at the training step's shapes (N = 128, batch 64) and T = 200 / 1000. It is not part of
``rnnlab``: it is kept in the models only where it wins on an idle machine (``run_all.py``
records the ratio; ratio = autodiff time / hand-written time).

Run:  .venv/bin/python benchmarks/leaky_vjp.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from functools import partial
from typing import Callable

import _report
import jax
import jax.numpy as jnp
import numpy as np


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def leaky_scan(phi: Callable, W, alpha, drives, h0):
    """States ``H [T, B, N]`` of the leaky recurrence from ``drives [T, B, N]`` and ``h0 [N]``."""
    return _forward(phi, W, alpha, drives, h0)


def _forward(phi, W, alpha, drives, h0):
    def step(h, d):
        h = (1 - alpha) * h + alpha * phi(h @ W.T + d)
        return h, h

    h = jnp.broadcast_to(h0, drives.shape[1:])
    return jax.lax.scan(step, h, drives)[1]


def _fwd(phi, W, alpha, drives, h0):
    H = _forward(phi, W, alpha, drives, h0)
    return H, (W, alpha, drives, h0, H)


def _bwd(phi, res, gH):
    W, alpha, drives, h0, H = res
    prev = jnp.concatenate([jnp.broadcast_to(h0, H.shape[1:])[None], H[:-1]], axis=0)
    A = jnp.einsum("tbj,ij->tbi", prev, W) + drives
    phiA, dphi = jax.jvp(phi, (A,), (jnp.ones_like(A),))
    slope = alpha * dphi
    keep = 1 - alpha

    def back(c, gs):
        g_bar, s = gs
        g = g_bar + c
        delta = g * s
        return keep * g + delta @ W, (delta, g)

    c0, (delta, G) = jax.lax.scan(back, jnp.zeros_like(H[0]), (gH, slope), reverse=True)
    dW = jnp.einsum("tbi,tbj->ij", delta, prev)
    dalpha = jnp.sum(G * (phiA - prev), axis=(0, 1))
    dh0 = jnp.sum(c0, axis=0) if h0.ndim == 1 else c0
    return dW, dalpha, delta, dh0


leaky_scan.defvjp(_fwd, _bwd)


def _grads(T: int, B: int, N: int):
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    W = jax.random.normal(k1, (N, N)) / N**0.5
    alpha = jax.random.uniform(k2, (N,), minval=0.2, maxval=1.0)
    D = jax.random.normal(k3, (T, B, N))
    h0 = jnp.zeros(N)
    loss = lambda f: lambda W, a, d: jnp.sum(f(jnp.tanh, W, a, d, h0) ** 2)  # noqa: E731
    hand = jax.jit(jax.grad(loss(leaky_scan), argnums=(0, 1, 2)))
    auto = jax.jit(jax.grad(loss(_forward), argnums=(0, 1, 2)))
    for g1, g2 in zip(hand(W, alpha, D), auto(W, alpha, D)):  # same gradients first
        np.testing.assert_allclose(g1, g2, rtol=2e-4, atol=2e-4 * float(jnp.abs(g2).max()))
    return {"hand-written": lambda: jax.block_until_ready(hand(W, alpha, D)),
            "autodiff": lambda: jax.block_until_ready(auto(W, alpha, D))}


def gradient_row(id: str, name: str, t: dict[str, list[float]], hand: str, auto: str = "autodiff") -> dict:
    """A row of a hand-written reverse pass (``t[hand]``, seconds) against autodiff (``t[auto]``):
    ms, ratio autodiff / hand-written (above 1, the hand-written pass is faster)."""
    h, a = (statistics.median(t[k]) * 1e3 for k in (hand, auto))
    return _report.row(id, name, h, "ms", samples=[s * 1e3 for s in t[hand]], reference=a,
                       reference_name="autodiff of lax.scan", reference_samples=[s * 1e3 for s in t[auto]],
                       ratio=a / h, ratio_of="autodiff time / hand-written time")


def run(quick: bool = False) -> list[dict]:
    """Rows ``leaky_vjp.T<T>``: the hand-written reverse pass's gradient time (ms) against
    autodiff of the scan (``gradient_row``)."""
    rows = []
    for T in (20,) if quick else (200, 1000):
        B, N = (4, 8) if quick else (64, 128)
        t = _report.alternate_s(_grads(T, B, N), 0.1 if quick else 4.0)
        r = gradient_row(f"leaky_vjp.T{T}", f"leaky recurrence gradient, hand-written VJP vs autodiff (T={T})",
                         t, "hand-written")
        print(f"    T={T} B={B} N={N}: autodiff {r['reference']:.1f} ms  hand-written {r['value']:.1f} ms  "
              f"-> {r['ratio']:.2f}x")
        rows.append(r)
    return rows


def main() -> None:
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
