"""Training checks: can a leaky RNN trained with ``rnnlab.train`` solve the task library?

Usage::

    python benchmarks/task_training.py [--steps N] [--lr LR] [--hidden H] [--batch B] [--quick] [TASK ...]

``--quick``: flip-flop only, 50 steps, 16 units (a smoke run of the plumbing; it does not pass).

Trains ``leaky_rnn`` (tanh, Adam with the default gradient clip) on each task with
``threshold=`` stopping, then scores the trained network on a fresh batch of
``EVAL_TRIALS`` trials and prints steps (all stages), wall time, the final metric and whether
it passes:

* MSE below the thresholds of Huang, Singh, Martinelli & Rajan (2025): flip-flop 0.001,
  delayed discrimination 0.01, sine 0.05, path integration 0.05 (their setting: 128 units,
  Adam, lr 1e-3, a discrete-time RNN, i.e. τ = dt);
* decision accuracy ≥ 0.9 on perceptual_decision, context_decision, delay_match_sample
  (NeuroGym-style leaky units, τ = 2·dt).

perceptual_decision draws coherence 0 on a fifth of its trials (a coin flip carried by no
evidence) and 6.4 % on another fifth, so even the ideal observer (the sign of the summed
evidence) scores only ≈ 0.897 on its default parameters: 0.9 overall is out of reach by
construction. Its check is therefore the accuracy on the trials with evidence (coherence > 0,
ideal ≈ 0.994); the overall accuracy is printed next to it.

Settings (``CHECKS``; the command-line options override them for every selected task): the
MSE tasks stop at 0.8 × their threshold on two evaluations in a row (``stop``, ``patience``),
so that the check on fresh trials has a margin over the evaluation noise; delayed
discrimination and sine use a cosine learning-rate decay (``decay``: the error of delayed
discrimination sits on the trials with nearly equal pulses, which need a sharp comparison);
sine uses leaky units with τ = 3·dt and starts from a recurrent gain of 1.5 (``tau``,
``gain``): with τ = dt and gain 1 (lr 1e-3 or 1e-2, with or without a curriculum over trial
durations) the network stays at the trivial MSE ≈ 0.5 (zero output) for thousands of steps;
with τ = dt and gain 1.5 it reached 0.27 in 12,000 steps; with τ = 3·dt and the cosine decay
over 16,000 steps it passes 0.05 (0.028 at step 6,400).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import rnnlab
from rnnlab import models, tasks

EVAL_TRIALS = 2048

_MSE = dict(hidden=128, tau=1.0, lr=1e-3, batch=64, patience=1)
_DECISION = dict(hidden=128, tau=2.0, lr=1e-3, batch=64, steps=6000)

#: task -> (threshold on the checked metric, training settings; ``stop``: threshold for stopping)
CHECKS: dict[str, tuple[float, dict]] = {
    "flipflop": (0.001, {**_MSE, "steps": 20000, "stop": 0.0008}),
    "delayed_discrimination": (0.01, {**_MSE, "steps": 20000, "stop": 0.008, "lr": 3e-3, "batch": 128, "decay": True}),
    "sine": (0.05, {**_MSE, "steps": 16000, "stop": 0.04, "lr": 3e-3, "decay": True, "gain": 1.5, "tau": 3.0}),
    "path_integration": (0.05, {**_MSE, "steps": 10000, "stop": 0.04}),
    "perceptual_decision": (0.9, {**_DECISION, "stop": 0.88}),
    "context_decision": (0.9, _DECISION),
    "delay_match_sample": (0.9, _DECISION),
}


def _checked_metric(task, model) -> tuple[float, float]:
    """``(checked metric, overall metric)`` of ``model`` on ``EVAL_TRIALS`` fresh trials."""
    batch = task.sample(jax.random.PRNGKey(10**6), EVAL_TRIALS)
    _, out = models.run(model, batch.inputs)
    overall = float(task.metric(out, batch))
    if task.name != "perceptual_decision":
        return overall, overall
    keep = np.asarray(batch.info["coherence"]) > 0
    coherent = jax.tree.map(lambda x: x[keep], batch)
    return float(task.metric(out[keep], coherent)), overall


def _train(model, task, s: dict, steps: int, stop: float):
    return rnnlab.train(
        model, task, key=0, steps=steps, lr=s["lr"], lr_schedule="cosine" if s.get("decay") else "constant",
        batch_size=s["batch"], eval_every=100, eval_batch_size=1024, threshold=stop, patience=s.get("patience", 0),
        progress=False,
    )


def check(name: str, **overrides) -> dict:
    """Train on task ``name`` (``CHECKS`` settings, updated by ``overrides``) and score it."""
    threshold, settings = CHECKS[name]
    s = {**settings, **{k: v for k, v in overrides.items() if v is not None}}
    task = tasks.get(name)
    stop = s.get("stop", threshold)
    model = models.config("leaky_rnn", hidden_size=s["hidden"], tau=s["tau"], init=s.get("init", "gaussian"),
                          gain=s.get("gain", 1.0))
    start, steps = time.perf_counter(), 0
    for params in s.get("stages", ()):  # shorter trials first
        model = (result := _train(model, tasks.get(name, **params), s, s["stage_steps"], stop)).model
        steps += int(result.history.step[-1])
    result = _train(model, task, s, s["steps"], stop)
    seconds = time.perf_counter() - start
    metric, overall = _checked_metric(task, result.model)
    return dict(name=name, steps=steps + int(result.history.step[-1]), seconds=seconds, metric=metric,
                overall=overall, threshold=threshold, passes=bool(task.passes(metric, threshold)), settings=s)


def run(quick: bool = False, names: list[str] | None = None, **overrides) -> list[dict]:
    """Rows ``task_training.<task>``: the checked metric on fresh trials (``passes`` in the row)."""
    import _report  # here: tests load this file without benchmarks/ on the path

    if quick:
        names, overrides = names or ["flipflop"], {**overrides, "steps": 50, "hidden": 16}
    print(f"backend: {jax.default_backend()}  fresh evaluation trials: {EVAL_TRIALS}")
    cols = ("metric", 8), ("thresh", 7), ("steps", 6), ("seconds", 8), ("final", 8), ("overall", 8)
    print(f"{'task':22s} " + " ".join(f"{c:>{w}s}" for c, w in cols) + "  pass  settings")
    rows = []
    for name in names or list(CHECKS):
        r = check(name, **overrides)
        metric = tasks.REGISTRY[name].metric_name
        s = " ".join(f"{k}={v}" for k, v in r["settings"].items() if k != "stages")
        print(f"{name:22s} {metric:>8s} {r['threshold']:7.3g} {r['steps']:6d} {r['seconds']:8.1f} "
              f"{r['metric']:8.4g} {r['overall']:8.4g}  {'yes' if r['passes'] else 'NO':4s}  {s}", flush=True)
        rows.append(_report.row(f"task_training.{name}", f"{name}: leaky RNN trained to its threshold", r["metric"],
                                metric, threshold=r["threshold"], passes=r["passes"], steps=r["steps"],
                                seconds=r["seconds"]))
    return rows


def main() -> None:
    import _report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=None)
    for opt, kind in (("steps", int), ("lr", float), ("hidden", int), ("batch", int), ("tau", float)):
        parser.add_argument(f"--{opt}", type=kind, default=None)
    _report.cli(run, parser)


if __name__ == "__main__":
    main()
