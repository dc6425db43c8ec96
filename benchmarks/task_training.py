"""Can a small leaky RNN learn the decision tasks? Trains one per task and prints the final metric.

Usage::

    python benchmarks/task_training.py [--steps 1500] [--hidden 64] [TASK ...]

Trains ``leaky_rnn`` (64 units, tanh, τ = 2·dt so α = 0.5) with Adam on each task until the
decision accuracy reaches ``--threshold`` or the step budget runs out, and prints steps,
wall time and the final accuracy (a well-posed task should end far above chance, 0.5; the
perceptual decision task tops out near 0.9, as a fifth of its trials have zero coherence).
"""

from __future__ import annotations

import argparse
import time

import rnnlab
from rnnlab import tasks

DEFAULT = ("perceptual_decision", "context_decision", "delay_match_sample")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(DEFAULT))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threshold", type=float, default=0.95)
    args = parser.parse_args()
    model = rnnlab.models.config("leaky_rnn", hidden_size=args.hidden, tau=2.0)
    print(f"{'task':22s} {'steps':>6s} {'seconds':>8s} {'final':>7s}")
    for name in args.names:
        task = tasks.get(name)
        start = time.perf_counter()
        result = rnnlab.train(
            model, task, key=0, steps=args.steps, lr=args.lr, batch_size=64,
            eval_every=100, threshold=args.threshold, progress=False,
        )
        steps = int(result.history.step[-1])
        final = float(result.history.final("metric")[0])
        print(f"{name:22s} {steps:6d} {time.perf_counter() - start:8.1f} {final:7.3f}", flush=True)


if __name__ == "__main__":
    main()
