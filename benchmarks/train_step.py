"""Median training-step time of rnnlab's LeakyRNN against a PyTorch eager loop, same run.

Both do the same maths: N = 128 tanh units, batch 64, 3 inputs and 3 outputs (3-bit
flip-flop), per-neuron α = dt/τ with τ = dt + softplus(τ̃) trained,

    u_t = U x_t + b                      (one matrix product over the whole sequence)
    h_t = (1 − α) h_{t−1} + α tanh(W h_{t−1} + u_t),    y_t = W_out h_t + b_out

masked MSE, backward, global-norm clipping at 1 and an Adam update. rnnlab's step is the one
``rnnlab.train`` runs (``make_step``: it also samples the batch in the jitted program);
PyTorch iterates over ``unbind(0)`` of the time axis (never ``x[t]``, whose backward
zero-fills the whole tensor at each step) and gets a pre-sampled batch.

Run:  .venv/bin/pip install -e ".[bench]" && .venv/bin/python benchmarks/train_step.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import models, tasks
from rnnlab.train import TrainConfig, initial_state, make_optimizer, make_step

N, B, I = 128, 64, 3


def time_rnnlab(T: int, repeats: int) -> float:
    task = tasks.get("flipflop", n_bits=I, n_steps=T)
    cfg = TrainConfig(lr=1e-3, clip=1.0, batch_size=B)
    opt = make_optimizer(cfg)
    state = initial_state(models.config("leaky_rnn", hidden_size=N), task, cfg, jax.random.PRNGKey(0), opt)
    step = eqx.filter_jit(make_step(task, opt, B))
    budget = jnp.asarray(10**9)
    state, (loss, _) = step(state, budget)  # compile
    loss.block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        state, (loss, _) = step(state, budget)
        loss.block_until_ready()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_torch(T: int, repeats: int, threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    b = tasks.get("flipflop", n_bits=I, n_steps=T).sample(jax.random.PRNGKey(0), B)
    x = torch.tensor(np.asarray(b.inputs)).transpose(0, 1).contiguous()  # [T, B, I]
    y = torch.tensor(np.asarray(b.targets)).transpose(0, 1).contiguous()
    mask = torch.tensor(np.asarray(b.mask)).transpose(0, 1).contiguous()
    W = torch.nn.Parameter(torch.randn(N, N) / N**0.5)
    U = torch.nn.Parameter(torch.randn(N, I) / I**0.5)
    bias = torch.nn.Parameter(torch.zeros(N))
    tau_raw = torch.nn.Parameter(torch.full((N,), 0.5))
    readout = torch.nn.Linear(N, I)
    params = [W, U, bias, tau_raw, *readout.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        alpha = 1.0 / (1.0 + torch.nn.functional.softplus(tau_raw))
        u = torch.addmm(bias, x.reshape(-1, I), U.t()).reshape(T, B, N)
        h = torch.zeros(B, N)
        Wt = W.t()
        hs = []
        for u_t in u.unbind(0):
            h = torch.lerp(h, torch.tanh(torch.addmm(u_t, h, Wt)), alpha)
            hs.append(h)
        out = readout(torch.stack(hs))
        loss = ((out - y) ** 2 * mask).sum() / mask.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("PyTorch is needed for the reference: .venv/bin/pip install -e '.[bench]'")
    targets = {200: 1.2, 1000: 1.5}
    print(f"LeakyRNN training step, N={N}, batch={B}; median of {args.repeats} (ms)")
    print(f"{'T':>6} {'rnnlab':>10} {'pytorch':>10} {'speed-up':>9} {'target':>7}")
    for T in args.lengths:
        ours = time_rnnlab(T, args.repeats)
        ref = time_torch(T, args.repeats, args.threads)
        tgt = targets.get(T)
        mark = "" if tgt is None else (f"{tgt:.1f}x " + ("met" if ref / ours >= tgt else "MISSED"))
        print(f"{T:>6} {ours * 1e3:>10.2f} {ref * 1e3:>10.2f} {ref / ours:>8.2f}x {mark:>7}")


if __name__ == "__main__":
    main()
