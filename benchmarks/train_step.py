"""Median training-step time of rnnlab's models against PyTorch in the same process, and as a
fraction of this machine's matrix-product throughput (the step's roofline).

Every step: N = 128 units, batch 64, 3 inputs and 3 outputs (3-bit flip-flop), masked MSE,
backward, global-norm clipping at 1 and an Adam update (lr 1e-3). rnnlab's step is the one
``rnnlab.train`` runs (``make_step``: it also samples the batch in the jitted program);
PyTorch gets a pre-sampled batch (time-major).

* ``leaky_rnn`` against a PyTorch eager loop doing the same maths: per-neuron α = dt/τ with
  τ = dt + softplus(τ̃) trained,

      u_t = U x_t + b,    h_t = (1 − α) h_{t−1} + α tanh(W h_{t−1} + u_t),    y_t = W_out h_t + b_out

  PyTorch iterates over ``unbind(0)`` of the time axis (never ``x[t]``, whose backward
  zero-fills the whole tensor at each step).
* ``gru`` and ``lstm`` (``models.config("gru"/"lstm", hidden_size=128)``: PyTorch's gate
  equations and gate order) against PyTorch's fused ``nn.GRU`` / ``nn.LSTM`` (oneDNN on CPU)
  followed by an ``nn.Linear`` readout.

The two sides are timed in interleaved rounds (``_report.alternate``): each round calls each
step once untimed, then ``repeats / rounds`` times timed; the median and the spread (min–max)
of all timed calls are reported. PyTorch runs on ``--threads`` intra-op threads (default: all
cores).

Roofline. The FLOPs of one step are counted analytically, matrix products only (the
element-wise gate and loss arithmetic is O(T B N), against O(T B N²) for the products, and
is left out). A model with g gate blocks (leaky: 1, GRU: 3, LSTM: 4) does per time step
the products ``W_h h`` ([B, N] × [N, gN]), the input drive ``W_i x`` ([B, I] × [I, gN]) and the
readout ([B, N] × [N, O]). Forward: 2B(gN² + gNI + NO) per step. Backward: a product
``Y = X W`` needs ``dX = dY Wᵀ`` and ``dW = Xᵀ dY``, twice its forward FLOPs, except that the
input drive needs no gradient with respect to the inputs (once). In all, per step

    F = 2 T B (3 g N² + 2 g N I + 3 N O)

(with N = 128, B = 64, I = O = 3: g = 1 → 6.54 MFLOP per time step; the sampler, clipping and
Adam's O(parameters) work are not counted). The limit is this machine's throughput on the
step's own recurrent product, measured in the same run: ``jnp.dot`` of [B, N] × [N, gN],
jitted, chained T times in one ``fori_loop`` (each product feeds the next, so that the loop
runs as the recurrence does and dispatch is not timed), median of repeats. The roofline is
(F / step time) / (matmul FLOP/s).

Run:  .venv/bin/pip install -e ".[bench]" && .venv/bin/python benchmarks/train_step.py
      [--lengths 200 1000] [--models leaky_rnn gru lstm] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import _report

N, B, I = 128, 64, 3
GATES = {"leaky_rnn": 1, "gru": 3, "lstm": 4}
REFERENCE = {"leaky_rnn": "PyTorch eager", "gru": "PyTorch nn.GRU", "lstm": "PyTorch nn.LSTM"}


def step_flops(gates: int, T: int, batch: int = B, hidden: int = N, inputs: int = I, outputs: int = I) -> float:
    """Matrix-product FLOPs of one training step (forward and backward; see the module docstring)."""
    g, n = gates, hidden
    return 2.0 * T * batch * (3 * g * n * n + 2 * g * n * inputs + 3 * n * outputs)


def train_config():
    """The ``TrainConfig`` of the benchmarked step: Adam (lr 1e-3), clipping at 1, batch ``B``."""
    from rnnlab.train import TrainConfig

    return TrainConfig(lr=1e-3, clip=1.0, batch_size=B)


def rnnlab_setup(model: str, T: int):
    """``(task, optimiser, train state)`` of the benchmarked step: flip-flop, Adam with clipping."""
    import jax

    from rnnlab import models, tasks
    from rnnlab.train import initial_state, make_optimizer

    task = tasks.get("flipflop", n_bits=I, n_steps=T)
    cfg = train_config()
    opt = make_optimizer(cfg)
    return task, opt, initial_state(models.config(model, hidden_size=N), task, cfg, jax.random.PRNGKey(0), opt)


def rnnlab_step(model: str, T: int) -> Callable[[], None]:
    """One jitted training step of ``model`` as ``rnnlab.train`` runs it (compiled on return)."""
    import equinox as eqx
    import jax.numpy as jnp

    from rnnlab.train import make_step

    task, opt, state = rnnlab_setup(model, T)
    step = eqx.filter_jit(make_step(task, opt, B, remat=train_config().uses_remat(state.model)))  # as train does
    budget = jnp.asarray(10**9)
    box = [state]

    def go():
        box[0], (loss, _) = step(box[0], budget)
        loss.block_until_ready()

    go()  # compile
    return go


def _torch_batch(T: int):
    import jax
    import numpy as np
    import torch

    from rnnlab import tasks

    b = tasks.get("flipflop", n_bits=I, n_steps=T).sample(jax.random.PRNGKey(0), B)
    return [torch.tensor(np.asarray(a)).transpose(0, 1).contiguous() for a in (b.inputs, b.targets, b.mask)]


def torch_loss(model: str, T: int, threads: int) -> tuple[Callable[[], Any], list]:
    """``(loss, params)``: the PyTorch reference of ``model`` (an eager loop for ``leaky_rnn``, the
    fused ``nn.GRU`` / ``nn.LSTM`` for ``gru`` / ``lstm``) as a function computing the masked MSE
    on a fixed batch, and its parameters."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y, mask = _torch_batch(T)  # [T, B, ·]
    readout = torch.nn.Linear(N, I)
    if model == "leaky_rnn":
        W = torch.nn.Parameter(torch.randn(N, N) / N**0.5)
        U = torch.nn.Parameter(torch.randn(N, I) / I**0.5)
        bias = torch.nn.Parameter(torch.zeros(N))
        tau_raw = torch.nn.Parameter(torch.full((N,), 0.5))
        params = [W, U, bias, tau_raw, *readout.parameters()]

        def hidden():
            alpha = 1.0 / (1.0 + torch.nn.functional.softplus(tau_raw))
            u = torch.addmm(bias, x.reshape(-1, I), U.t()).reshape(T, B, N)
            h = torch.zeros(B, N)
            Wt = W.t()
            hs = []
            for u_t in u.unbind(0):
                h = torch.lerp(h, torch.tanh(torch.addmm(u_t, h, Wt)), alpha)
                hs.append(h)
            return torch.stack(hs)
    else:
        rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[model](I, N)
        params = [*rnn.parameters(), *readout.parameters()]

        def hidden():
            return rnn(x)[0]

    def loss():
        return ((readout(hidden()) - y) ** 2 * mask).sum() / mask.sum()

    return loss, params


def torch_step(model: str, T: int, threads: int) -> Callable[[], None]:
    """The PyTorch reference step of ``model`` (``torch_loss``; backward, clipping, Adam),
    warmed up on return."""
    import torch

    loss, params = torch_loss(model, T, threads)
    opt = torch.optim.Adam(params, lr=1e-3)

    def go():
        opt.zero_grad(set_to_none=True)
        loss().backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for _ in range(3):
        go()
    return go


def matmul_flops_per_s(gates: int, T: int, min_seconds: float) -> list[float]:
    """FLOP/s of ``T`` chained jitted products [B, N] × [N, gN] (one per call's sample).

    Each product's g blocks are summed back to [B, N] (g B N additions, not counted) and fed to
    the next; the blocks of W are one orthogonal matrix divided by g, so the values neither grow
    nor vanish (no denormals)."""
    import jax
    import jax.numpy as jnp
    from _timing import times_s

    q, _ = jnp.linalg.qr(jax.random.normal(jax.random.PRNGKey(0), (N, N)))
    W = jnp.concatenate([q / gates] * gates, axis=1)
    h0 = jax.random.normal(jax.random.PRNGKey(1), (B, N))

    @jax.jit
    def chain(h, W):
        return jax.lax.fori_loop(0, T, lambda _, h: jnp.dot(h, W).reshape(B, gates, N).sum(1), h)

    ts = times_s(chain, h0, W, min_seconds=min_seconds, min_repeats=3)
    return [2.0 * B * N * gates * N * T / t for t in ts]


def run(quick: bool = False, lengths: list[int] | None = None, models: list[str] | None = None,
        repeats: int = 30, threads: int | None = None) -> list[dict]:
    """Rows ``train_step.<model>.T<T>``: rnnlab's step (ms) against PyTorch's, ratio PyTorch /
    rnnlab (a speed-up), and the roofline."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("PyTorch is needed for the reference: .venv/bin/pip install -e '.[bench]'") from None
    lengths = lengths or ([200] if quick else [200, 1000])
    models = models or list(GATES)
    if quick:
        repeats = 2
    rounds = max(1, min(5, repeats // 2))
    per_round = max(1, repeats // rounds)
    threads = threads or _report.cores()
    print(f"training step, N={N}, batch={B}; {rounds} interleaved rounds of {per_round} (ms); "
          f"PyTorch threads {threads}")
    print(f"{'model':>9} {'T':>5} {'rnnlab':>9} {'pytorch':>9} {'speed-up':>9} {'GFLOP/s':>8} "
          f"{'matmul':>8} {'roofline':>8}")
    rows = []
    for model in models:
        g = GATES[model]
        for T in lengths:
            ours, ref = rnnlab_step(model, T), torch_step(model, T, threads)
            peak = matmul_flops_per_s(g, T, min_seconds=0.2 if quick else 2.0)
            t = _report.alternate({"rnnlab": ours, "torch": ref}, rounds, per_round)
            m_ours, m_ref = statistics.median(t["rnnlab"]), statistics.median(t["torch"])
            flops = step_flops(g, T)
            achieved, limit = flops / m_ours, statistics.median(peak)
            print(f"{model:>9} {T:>5} {m_ours * 1e3:>9.2f} {m_ref * 1e3:>9.2f} {m_ref / m_ours:>8.2f}x "
                  f"{achieved / 1e9:>8.2f} {limit / 1e9:>8.2f} {achieved / limit:>8.1%}", flush=True)
            rows.append(_report.row(
                f"train_step.{model}.T{T}", f"{model} training step, T={T}, vs {REFERENCE[model]}",
                m_ours * 1e3, "ms", samples=[s * 1e3 for s in t["rnnlab"]],
                reference=m_ref * 1e3, reference_name=REFERENCE[model],
                reference_samples=[s * 1e3 for s in t["torch"]],
                ratio=m_ref / m_ours, ratio_of="PyTorch time / rnnlab time", roofline=achieved / limit,
                flops=flops, achieved_gflops=achieved / 1e9, matmul_gflops=limit / 1e9,
                matmul_gflops_spread=[min(peak) / 1e9, max(peak) / 1e9], threads=threads,
            ))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=None, help="sequence lengths T (default 200 1000)")
    ap.add_argument("--models", nargs="+", choices=list(GATES), default=None)
    ap.add_argument("--repeats", type=int, default=30, help="timed calls per side")
    ap.add_argument("--threads", type=int, default=None, help="PyTorch intra-op threads (default: all cores)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
