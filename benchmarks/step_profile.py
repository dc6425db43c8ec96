"""Where a training step's time goes, phase by phase, for rnnlab and for the PyTorch reference of
``train_step.py`` (same shapes, same maths), timed in the same process.

A training step (``rnnlab.train.make_step``) is: sample a batch, run the network and the
masked-MSE loss (forward), backpropagate through time (backward), clip the global gradient
norm and take an Adam step (update). Each side is timed as four nested programs, interleaved
(``_report.alternate``)::

    sample    the task's batch sampler alone (rnnlab only: PyTorch gets a pre-sampled batch)
    forward   network + loss on a fixed batch
    gradient  forward + backward (``eqx.filter_value_and_grad`` / ``loss.backward()``)
    step      the whole training step

and the phases are the differences: backward = gradient − forward, update = step − gradient
(for rnnlab − sample as well). Each nested program is compiled on its own, so XLA may fuse
it differently from the whole step; the differences are estimates, and a phase near zero may
come out slightly negative. The PyTorch forward records its autograd graph, as it does in
training.

The reference is PyTorch's fused ``nn.GRU`` / ``nn.LSTM`` (oneDNN) for the gated models and
an eager loop for the leaky RNN (``train_step.torch_step``'s models). Where rnnlab's step is
slower, the row's phase ratios say whether the forward pass or the backward pass loses.

Run:  .venv/bin/pip install -e ".[bench]" && .venv/bin/python benchmarks/step_profile.py
      [--models lstm gru leaky_rnn] [--lengths 200] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import _report
import train_step
from train_step import B, N

PHASES = ("forward", "backward", "update")


def _rnnlab_programs(model: str, T: int) -> dict[str, Callable[[], None]]:
    """The four nested rnnlab programs of ``model`` (compiled on return)."""
    import equinox as eqx
    import jax

    from rnnlab.train.loop import _loss

    task, _, state = train_step.rnnlab_setup(model, T)
    net = state.model
    remat = train_step.train_config().uses_remat(net)  # as train does
    key = jax.random.PRNGKey(1)
    batch = task.sample(key, B)
    sample = jax.jit(lambda k: task.sample(k, B))
    forward = eqx.filter_jit(lambda m, b, k: _loss(m, task, b, k))
    gradient = eqx.filter_jit(eqx.filter_value_and_grad(lambda m, b, k: _loss(m, task, b, k, remat=remat)))
    fns = {
        "sample": lambda: jax.block_until_ready(sample(key)),
        "forward": lambda: jax.block_until_ready(forward(net, batch, key)),
        "gradient": lambda: jax.block_until_ready(gradient(net, batch, key)),
        "step": train_step.rnnlab_step(model, T),  # its own train state, the same values
    }
    for fn in fns.values():
        fn()  # compile
    return fns


def _torch_programs(model: str, T: int, threads: int) -> dict[str, Callable[[], None]]:
    """Forward, gradient and whole step of ``train_step``'s PyTorch reference for ``model``."""
    loss, params = train_step.torch_loss(model, T, threads)

    def gradient():
        for p in params:
            p.grad = None
        loss().backward()

    return {"forward": loss, "gradient": gradient, "step": train_step.torch_step(model, T, threads)}


def _phases(t: dict[str, float], sampled: bool) -> dict[str, float]:
    return {"forward": t["forward"], "backward": t["gradient"] - t["forward"],
            "update": t["step"] - t["gradient"] - (t["sample"] if sampled else 0.0)}


def run(quick: bool = False, lengths: list[int] | None = None, models: list[str] | None = None,
        threads: int | None = None) -> list[dict]:
    """Rows ``step_profile.<model>.T<T>``: rnnlab's whole step (ms) against PyTorch's, with each
    side's phases (ms) and the PyTorch / rnnlab ratio of each phase."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("PyTorch is needed for the reference: .venv/bin/pip install -e '.[bench]'") from None
    lengths = lengths or [200]
    models = models or ["lstm", "gru", "leaky_rnn"]
    rounds, per_round = (1, 2) if quick else (5, 6)
    threads = threads or _report.cores()
    print(f"training step by phase, N={N}, batch={B}; {rounds} interleaved rounds of {per_round} (ms); "
          f"PyTorch threads {threads}")
    print(f"{'model':>9} {'T':>5} {'side':>8} {'sample':>8} {'forward':>8} {'backward':>9} {'update':>8} {'step':>8}")
    rows = []
    for model in models:
        for T in lengths:
            ours, ref = _rnnlab_programs(model, T), _torch_programs(model, T, threads)
            t = _report.alternate({**{f"rnnlab.{k}": f for k, f in ours.items()},
                                   **{f"torch.{k}": f for k, f in ref.items()}}, rounds, per_round)
            med = {k: statistics.median(v) * 1e3 for k, v in t.items()}
            r_t = {k.split(".", 1)[1]: v for k, v in med.items() if k.startswith("rnnlab.")}
            p_t = {k.split(".", 1)[1]: v for k, v in med.items() if k.startswith("torch.")}
            r_ph, p_ph = _phases(r_t, True), _phases(p_t, False)
            for side, tt, ph in (("rnnlab", r_t, r_ph), ("pytorch", p_t, p_ph)):
                samp = f"{tt['sample']:>8.2f}" if "sample" in tt else f"{'-':>8}"
                print(f"{model:>9} {T:>5} {side:>8} {samp} {ph['forward']:>8.2f} {ph['backward']:>9.2f} "
                      f"{ph['update']:>8.2f} {tt['step']:>8.2f}", flush=True)
            ratios = {p: p_ph[p] / r_ph[p] if r_ph[p] > 0 else float("nan") for p in PHASES}
            print(f"{'':>15} PyTorch / rnnlab: " + "  ".join(f"{p} {ratios[p]:.2f}x" for p in PHASES), flush=True)
            rows.append(_report.row(
                f"step_profile.{model}.T{T}", f"{model} training step by phase, T={T}, vs {train_step.REFERENCE[model]}",
                r_t["step"], "ms", samples=[s * 1e3 for s in t["rnnlab.step"]], reference=p_t["step"],
                reference_name=train_step.REFERENCE[model], reference_samples=[s * 1e3 for s in t["torch.step"]],
                ratio=p_t["step"] / r_t["step"], ratio_of="PyTorch time / rnnlab time",
                phases_ms={"rnnlab": {"sample": r_t["sample"], **r_ph}, "pytorch": p_ph},
                phase_ratios=ratios))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=None, help="trial lengths (default 200)")
    ap.add_argument("--models", nargs="+", choices=list(train_step.GATES), default=None)
    ap.add_argument("--threads", type=int, default=None, help="PyTorch intra-op threads (default: all cores)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
