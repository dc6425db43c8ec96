"""Candidate for the training step (issue: the single network): the GRU's time loop over a
batch with a hand-written reverse pass, against autodiff of the plain ``lax.scan``, on the
gradient alone and on the whole training step.

Forward, time-major ``[T, B, ·]`` (PyTorch's gate order r, z, n, ``rnnlab.models.gated.gru_gates``;
the input drive ``a_t = x_t W_iᵀ + b_i`` is one product over all steps and trials, before the loop)::

    u_t = h_{t−1} W_hᵀ + b_h,   r = σ(a_r + u_r),   z = σ(a_z + u_z),   n = tanh(a_n + r ⊙ u_n)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

Reverse, from the cotangents ``ḡ_t`` of every ``h_t``: a backward scan carries ``∂L/∂h``
through the recurrence alone, one matrix product per step::

    δh_t = ḡ_t + ∂h_{t+1},   δa_n = δh_t ⊙ (1 − z) ⊙ (1 − n²),
    δa_r = δa_n ⊙ u_n ⊙ r(1 − r),   δa_z = δh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
    δu_t = [δa_r, δa_z, δa_n ⊙ r],   ∂h_{t−1} = δh_t ⊙ z + δu_t W_h

and the parameter gradients are then one contraction each over all steps and trials:
``∂L/∂W_h = Σ_{t,b} δu_tᵀ h_{t−1}``, ``∂L/∂b_h = Σ δu_t``, ``∂L/∂W_i = Σ δa_tᵀ x_t`` with
``δa_t = [δa_r, δa_z, δa_n]``, ``∂L/∂b_i = Σ δa_t``, ``∂L/∂x_t = δa_t W_i``. The forward stores
``r, z, n`` and ``u_n``. This is the LSTM's kept pass (``rnnlab.models._lstm_vjp``) for the GRU.

Timed, interleaved (``_report.alternate_s``), at the training step's shapes (N = 128, batch 64,
3 inputs), T = 200 / 1000, after checking that both give the same gradients (float32 rounding):

* rows ``gru_vjp.T<T>``: the gradient of ``Σ H²`` with respect to ``(W_h, W_i, b_i, b_h)``;
* rows ``gru_vjp.step.T<T>``: the training step of ``train_step.py`` (``rnnlab.train.make_step``,
  flip-flop, Adam with clipping) with this pass as ``GRU.scan_batch`` against the model as it is
  (per-trial ``lax.scan`` under ``vmap``, autodiff). This row decides: the pass goes into the
  model only if the step is faster on an idle machine.

Ratio = autodiff time / hand-written time (above 1, the hand-written pass is faster).

Run:  .venv/bin/python benchmarks/gru_vjp.py [--quick]
"""

from __future__ import annotations

import argparse

import _report
import jax
import jax.numpy as jnp
import numpy as np
import train_step
from leaky_vjp import gradient_row

from rnnlab.models import gated


def _scan(W_h, W_i, b_i, b_h, X, h0):
    def step(h, a):
        h, gates = gated.gru_gates(a, h @ W_h.T + b_h, h)
        return h, (h, gates)

    return jax.lax.scan(step, h0, X @ W_i.T + b_i)[1]


@jax.custom_vjp
def gru_batch(W_h, W_i, b_i, b_h, X, h0):
    """Every hidden state ``H [T, B, N]`` of a batch of trials ``X [T, B, I]`` from ``h0 [B, N]``."""
    return _scan(W_h, W_i, b_i, b_h, X, h0)[0]


def _fwd(W_h, W_i, b_i, b_h, X, h0):
    H, gates = _scan(W_h, W_i, b_i, b_h, X, h0)
    return H, (W_h, W_i, X, h0, H, gates)


def _bwd(res, gH):
    W_h, W_i, X, h0, H, (R, Z, Nn, Un) = res
    Hprev = jnp.concatenate([h0[None], H[:-1]])

    def back(dh_next, xs):
        gh, r, z, n, u_n, hp = xs
        dh = gh + dh_next
        da_n = dh * (1 - z) * (1 - n * n)
        du = jnp.concatenate([da_n * u_n * r * (1 - r), dh * (hp - n) * z * (1 - z), da_n * r], axis=-1)
        return dh * z + du @ W_h, (du, da_n)

    dh0, (DU, DAn) = jax.lax.scan(back, jnp.zeros_like(h0), (gH, R, Z, Nn, Un, Hprev), reverse=True)
    n = h0.shape[-1]
    DA = jnp.concatenate([DU[..., : 2 * n], DAn], axis=-1)
    dW_h = jnp.einsum("tbi,tbj->ij", DU, Hprev)
    dW_i = jnp.einsum("tbi,tbj->ij", DA, X)
    return dW_h, dW_i, DA.sum(axis=(0, 1)), DU.sum(axis=(0, 1)), DA @ W_i, dh0


gru_batch.defvjp(_fwd, _bwd)


def _scan_batch(self, inputs, remat=False):
    """``GRU.scan_batch`` with this pass (as ``LSTM.scan_batch`` runs ``_lstm_vjp``)."""
    if remat:
        return None
    h0 = jnp.broadcast_to(self.initial_state(), (inputs.shape[1], self.cfg.hidden_size))
    H = gru_batch(self.W_h, self.W_i, self.b_i, self.b_h, inputs, h0)
    return H, jax.vmap(jax.vmap(self.readout))(H)


def _grads(T: int, B: int, N: int, n_in: int = 3):
    k1, k2, k3, k4, k5 = jax.random.split(jax.random.PRNGKey(0), 5)
    u = lambda k, shape: jax.random.uniform(k, shape, minval=-1, maxval=1) / N**0.5
    params = (u(k1, (3 * N, N)), u(k2, (3 * N, n_in)), u(k3, (3 * N,)), u(k4, (3 * N,)))
    X = jax.random.normal(k5, (T, B, n_in))
    h0 = jnp.zeros((B, N))
    loss = lambda f: lambda p: jnp.sum(f(*p, X, h0) ** 2)
    hand = jax.jit(jax.grad(loss(gru_batch)))
    auto = jax.jit(jax.grad(loss(lambda *a: _scan(*a)[0])))
    for g1, g2 in zip(hand(params), auto(params)):  # same gradients first
        np.testing.assert_allclose(g1, g2, rtol=2e-4, atol=2e-4 * float(jnp.abs(g2).max()))
    return {"hand-written": lambda: jax.block_until_ready(hand(params)),
            "autodiff": lambda: jax.block_until_ready(auto(params))}


def _steps(T: int):
    """The training step with the pass as ``GRU.scan_batch`` and as the model is (each compiled on return)."""
    plain = train_step.rnnlab_step("gru", T)
    gated.GRU.scan_batch = _scan_batch
    try:
        hand = train_step.rnnlab_step("gru", T)
    finally:
        del gated.GRU.scan_batch  # back to RecurrentModel.scan_batch
    return {"hand-written": hand, "autodiff": plain}


def run(quick: bool = False) -> list[dict]:
    """Rows ``gru_vjp.T<T>`` (gradient) and ``gru_vjp.step.T<T>`` (training step): time (ms) with
    the hand-written pass against autodiff of the scan (``leaky_vjp.gradient_row``)."""
    rows = []
    for T in (20,) if quick else (200, 1000):
        B, N = (4, 8) if quick else (64, 128)
        t = _report.alternate_s(_grads(T, B, N), 0.1 if quick else 4.0)
        g = gradient_row(f"gru_vjp.T{T}", f"GRU recurrence gradient, hand-written VJP over the batch vs autodiff "
                         f"(T={T})", t, "hand-written")
        t = _report.alternate_s(_steps(T), 0.1 if quick else 6.0)
        s = gradient_row(f"gru_vjp.step.T{T}", f"GRU training step (N=128, batch 64), hand-written VJP over the "
                         f"batch vs the model's per-trial scan (T={T})", t, "hand-written")
        print(f"    T={T}: gradient (B={B} N={N}) autodiff {g['reference']:.1f} ms, hand-written {g['value']:.1f} ms "
              f"-> {g['ratio']:.2f}x;  training step {s['reference']:.1f} ms, with the pass {s['value']:.1f} ms "
              f"-> {s['ratio']:.2f}x")
        rows += [g, s]
    return rows


def main() -> None:
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
