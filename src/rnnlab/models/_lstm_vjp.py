"""The LSTM's time loop over a batch with a hand-written reverse pass (``LSTM.scan_batch``).

Forward, time-major ``[T, B, ·]`` (gates in PyTorch's order i, f, g, o; ``b = b_i + b_h``)::

    z_t = x_t W_iᵀ + h_{t−1} W_hᵀ + b,   i, f, o = σ(z_i, z_f, z_o),   g = tanh z_g
    c_t = f ⊙ c_{t−1} + i ⊙ g,           h_t = o ⊙ tanh c_t

Reverse, from the cotangents ``ḡ_t`` of every ``h_t``: a backward scan carries
``(∂L/∂h, ∂L/∂c)`` through the recurrence alone, one matrix product per step::

    δh_t = ḡ_t + ∂h_{t+1},   δc_t = ∂c_{t+1} + δh_t ⊙ o ⊙ (1 − tanh² c_t)
    δz_t = [δc_t ⊙ g ⊙ i(1−i),  δc_t ⊙ c_{t−1} ⊙ f(1−f),  δc_t ⊙ i ⊙ (1−g²),  δh_t ⊙ tanh c_t ⊙ o(1−o)]
    ∂h_{t−1} = δz_t W_h,   ∂c_{t−1} = δc_t ⊙ f

and the parameter gradients are then one contraction each over all steps and trials:
``∂L/∂W_h = Σ_{t,b} δz_tᵀ h_{t−1}`` (``[4N, T·B] × [T·B, N]``), ``∂L/∂W_i = Σ δz_tᵀ x_t``,
``∂L/∂b = Σ δz_t``, ``∂L/∂x_t = δz_t W_i``. The forward stores the gates and ``tanh c``.

Why by hand: autodiff of ``lax.scan`` accumulates ``∂L/∂W_h`` and ``∂L/∂W_i`` inside the
backward loop, two more products per step (one against the few-wide input of a typical task);
``benchmarks/step_profile.py`` found the LSTM's step losing to PyTorch's fused ``nn.LSTM`` in
that backward pass. Why over the batch: written per trial and ``vmap``-ed, ``custom_vjp``
forms every trial's weight gradient on its own and sums them afterwards, which cost most of
the gain (``benchmarks/lstm_vjp.py`` times both against autodiff). The same kind of pass for
the leaky RNN was slower than autodiff (``benchmarks/leaky_vjp.py``), and the GRU's, though
faster than autodiff on the gradient, did not speed up its training step
(``benchmarks/gru_vjp.py``), so only the LSTM has it.

A ``jax.custom_vjp`` has no forward-mode derivative; the analyses that need one (Jacobians,
fixed points) differentiate ``step``, which is untouched.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__: list[str] = []


def lstm_gates(z: Float[Array, "... 4n"], c: Float[Array, "... n"]):
    """``(h', c', (i, f, g, o, tanh c'))`` from the pre-activations ``z`` (split in four along
    the last axis) and the cell state ``c``: the LSTM's equations, shared by ``LSTM.update``,
    ``LSTM.update_diagonal`` and the batched loop here."""
    i, f, g, o = jnp.split(z, 4, axis=-1)
    i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
    c = f * c + i * g
    tc = jnp.tanh(c)
    return o * tc, c, (i, f, g, o, tc)


def _cell(W_h, W_i, b, h, c, x):
    return lstm_gates(x @ W_i.T + h @ W_h.T + b, c)


def _scan(W_h, W_i, b, X, h0, c0):
    def step(hc, x):
        h, c, gates = _cell(W_h, W_i, b, *hc, x)
        return (h, c), (h, c, gates)

    return jax.lax.scan(step, (h0, c0), X)[1]


@jax.custom_vjp
def lstm_batch(
    W_h: Float[Array, "4n n"], W_i: Float[Array, "4n n_in"], b: Float[Array, " 4n"],
    X: Float[Array, "time batch n_in"], h0: Float[Array, "batch n"], c0: Float[Array, "batch n"],
) -> Float[Array, "time batch n"]:
    """Every hidden state ``H [T, B, N]`` of a batch of trials."""
    return _scan(W_h, W_i, b, X, h0, c0)[0]


def _fwd(W_h, W_i, b, X, h0, c0):
    H, C, gates = _scan(W_h, W_i, b, X, h0, c0)
    return H, (W_h, W_i, X, h0, c0, H, C, gates)


def _bwd(res, gH):
    W_h, W_i, X, h0, c0, H, C, (I, F, G, O, TC) = res
    Cprev = jnp.concatenate([c0[None], C[:-1]])

    def back(carry, xs):
        dh_next, dc_next = carry
        gh, i, f, g, o, tc, cp = xs
        dh = gh + dh_next
        dc = dc_next + dh * o * (1 - tc * tc)
        dz = jnp.concatenate([dc * g * i * (1 - i), dc * cp * f * (1 - f), dc * i * (1 - g * g),
                              dh * tc * o * (1 - o)], axis=-1)
        return (dz @ W_h, dc * f), dz

    (dh0, dc0), DZ = jax.lax.scan(back, (jnp.zeros_like(h0), jnp.zeros_like(c0)), (gH, I, F, G, O, TC, Cprev),
                                  reverse=True)
    Hprev = jnp.concatenate([h0[None], H[:-1]])
    dW_h = jnp.einsum("tbi,tbj->ij", DZ, Hprev)
    dW_i = jnp.einsum("tbi,tbj->ij", DZ, X)
    return dW_h, dW_i, DZ.sum(axis=(0, 1)), DZ @ W_i, dh0, dc0


lstm_batch.defvjp(_fwd, _bwd)
