"""Khajehabdollahi, Zeraati et al. 2024 (ICLR), "Emergent mechanisms for long timescales depend
on training curriculum and affect performance in memory tasks".

Task: N-parity (``rnnlab.tasks.NParity``): a binary sequence, one bit per step, bits
Bernoulli(p) with p ~ U(0, 1) per sequence, length L ~ U[N+2, 4N+2) per batch; the label is the
parity of the last N bits, scored with a two-class cross-entropy at the last step only.

Network (the paper's "default" model, ``src/models/RNN_Stack.py``): per-neuron trainable τ,
``h_t = LeakyReLU((1 − 1/τ) h_{t−1} + (W h_{t−1} + b + U x_t + b_in)/τ)`` with the diagonal of
W zeroed (no self-connections: τ is each unit's only self-memory), τ trained directly
(initialised 1 + U(0, 1), clamped at 1 when used: ``tau_param="direct"``), h0 = 0.1·U(0, 1)
(``initial_state="uniform"``), one linear two-class readout head per N.

Training (``training/train.py``): SGD, lr 0.05, momentum 0.1, Nesterov, gradient-norm clip 2,
batch 256. Curricula from N = 2: ``single`` (one head: move to N + 1 when its accuracy exceeds
98 %) and ``multi`` ("cumulative": heads 1..N kept; add N + 1 when the mean over heads and the
newest head exceed 98 %). The paper evaluates on 50 test batches after each 600-step epoch, for
up to 1000 epochs (600,000 steps), with 500 units; ``quick`` uses 64 units, 6,000 steps and an
evaluation every 200 steps on 512 trials; ``paper`` uses the paper's sizes with evaluations every
600 steps on 2,048 trials (12,800 in the paper; chosen to bound the cost of evaluations).

Measured per network (``rnnlab.sweep.analyses``), on the model saved when each N was passed:
mean single-neuron τ; network timescale τ_net from the autocorrelation of each unit's activity
on long random inputs (the paper's method, fit range chosen by the data, fits at their bound
flagged); the training step at which each N was passed; accuracy drops after ablating the 10
slowest / fastest-τ units and under normalised weight perturbations ``W += ε‖W‖_F d/‖d‖_F``;
forgetting (the final network's accuracy on earlier N with that N's head against the stage
model's); accuracy on sequences twice as long as trained (generalisation in length).

Claims compare the curricula at N* = the largest N passed by every network of both curricula
(per-network values at that N), and trends over N = 2..N* (cluster-aware Spearman: the
networks, not the (network, N) points, are the independent samples).

Where a setting of the paper is unknown (the initial scale of W and U, the readout
initialisation) rnnlab's defaults are used: W ~ N(0, 1/N), U ~ N(0, 1/I), PyTorch-style
linear readouts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register
from ._base import Claim, Scale, Study, StudyData, product
from ._figures import panel_grid, save, trend_panel
from .claims import compare, trend

_MODEL = {"name": "leaky_rnn", "params": {
    "hidden_size": 64, "variant": "wrapped", "activation": "leaky_relu", "dt": 1.0, "tau": 1.0,
    "tau_spread": 1.0, "self_connections": False, "tau_param": "direct", "initial_state": "uniform"}}
_TRAIN = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.1, "nesterov": True, "clip": 2.0, "batch_size": 256,
          "eval_every": 200, "eval_batch_size": 512, "steps": 6000,
          "curriculum": {"kind": "multi", "start": 2, "max_n": 40, "threshold": 0.98}}
_CURRICULA = {"single": {"train.curriculum.kind": "single"}, "multi": {"train.curriculum.kind": "multi"}}


def _analyses(n_steps: int, n_trials: int) -> list:
    return [
        "curriculum",
        {"name": "timescales", "params": {}},
        {"name": "network_timescales", "params": {"n_steps": n_steps, "n_trials": n_trials, "burn_in": 500,
                                                  "fit_lag": "auto", "tau_max": 1000.0, "stages": True}},
        {"name": "ablation", "params": {"at": "stages", "k": 10}},
        {"name": "perturbation", "params": {"at": "stages", "eps": [0.05, 0.1], "n_draws": 4}},
        {"name": "forgetting", "params": {}},
        {"name": "generalisation", "params": {"at": "stages", "factors": [2.0]}},
        {"name": "dimensionality", "params": {"at": "stages"}},
    ]


QUICK = Scale(
    name="quick",
    base={"task": {"name": "nparity", "params": {}}, "model": _MODEL, "train": _TRAIN},
    conditions=product(curriculum=_CURRICULA),
    seeds=4,
    analyses=_analyses(10_000, 4),
    expected_minutes=9.0,
    estimate="measured: one whole quick run, idle 2-core machine",
)

PAPER = Scale(
    name="paper",
    base={"task": {"name": "nparity", "params": {}},
          "model": {**_MODEL, "params": {**_MODEL["params"], "hidden_size": 500}},
          "train": {**_TRAIN, "steps": 600_000, "eval_every": 600, "eval_batch_size": 2048,
                    "curriculum": {**_TRAIN["curriculum"], "max_n": 100}}},
    conditions=product(curriculum=_CURRICULA),
    seeds=4,
    analyses=_analyses(100_000, 10),
    expected_minutes=12_600.0,
    hardware="2 CPU cores; meant for a workstation or a Ray cluster",
    estimate="extrapolated by benchmarks/study_scale.py: time per ensemble step at N = 2, 10, 30 "
             "(0.2, 0.5, 1.5 s for 4 networks of 500 units), interpolated to N = 100 and spread evenly over "
             "the 600,000-step budget; the paper's pace through N is not recorded, so this is an order of magnitude",
)


def _common_n(data: StudyData) -> int:
    """N* = the largest N passed by every network (both curricula); 0 if some network passed none."""
    t = data.table
    m = t["max_n_passed"].to_numpy(float) if "max_n_passed" in t else np.array([0.0])
    m = m[np.isfinite(m)]
    return int(m.min()) if len(m) else 0


def _at(data: StudyData, col: str, curriculum: str, n: int | None = None):
    n = _common_n(data) if n is None else n
    t = data.where(curriculum=curriculum)
    key = f"{col}@N={n}"
    if n < 2 or key not in t:
        raise ValueError(f"no column {key} (N* = {n}: some network passed no level beyond the start)")
    return t[key].to_numpy(float)


def _trend_over_n(data: StudyData, col: str, curriculum: str, direction: str, reliable: str | None = None):
    n_max = _common_n(data)
    long = data.long(*(c for c in (col, reliable) if c), table=data.where(curriculum=curriculum))
    long = long[(long["N"] >= 2) & (long["N"] <= n_max)]
    flagged = long[reliable].to_numpy(float) < 0.5 if reliable and reliable in long else None
    return trend(long["N"].to_numpy(float), long[col].to_numpy(float), direction,
                 groups=long["id"].to_numpy(), flagged=flagged)


def _single_tau_grows(data):
    return _trend_over_n(data, "tau_mean", "single", "increasing")


def _tau_single_gt_multi(data):
    return compare(_at(data, "tau_mean", "single"), _at(data, "tau_mean", "multi"), "greater")


def _multi_taunet_grows(data):
    return _trend_over_n(data, "tau_net_mean", "multi", "increasing", reliable="tau_net_reliable")


def _multi_faster(data):
    return compare(_at(data, "steps_to", "multi"), _at(data, "steps_to", "single"), "less")


def _robust(col: str):
    def evaluate(data):
        return compare(_at(data, col, "single"), _at(data, col, "multi"), "greater")
    return evaluate


def _single_forgets(data):
    return compare(data.where(curriculum="single")["forgetting_mean"].to_numpy(float),
                   data.where(curriculum="multi")["forgetting_mean"].to_numpy(float), "greater")


def _multi_generalises(data):
    return compare(_at(data, "gen_metric@x=2", "multi"), _at(data, "gen_metric@x=2", "single"), "greater")


def _figures(data: StudyData, out: Path) -> list[tuple[Path, str]]:
    figs = []
    long = data.long("tau_mean", "tau_net_mean", "steps_to", "ablate_slow_drop", "ablate_fast_drop",
                     "perturb_drop@eps=0p1", "gen_metric@x=2")
    fig, axes = panel_grid(3)
    trend_panel(axes[0], long, "N", "tau_mean", "curriculum", ylabel="mean single-neuron τ (steps)",
                title="τ against N")
    trend_panel(axes[1], long, "N", "tau_net_mean", "curriculum", ylabel="mean τ_net (steps, log scale)",
                title="network timescale against N", logy=True)
    trend_panel(axes[2], long, "N", "steps_to", "curriculum", ylabel="training step at which N was passed",
                title="training needed")
    figs.append((save(fig, out / "timescales.png"),
                 "Single-neuron τ, network timescale τ_net and the training step at which each N was passed, "
                 "against N, for single- and multi-head curricula (paper Fig. 2–3): points are networks, "
                 "lines the mean ± SEM over networks."))
    fig, axes = panel_grid(3)
    trend_panel(axes[0], long, "N", "ablate_slow_drop", "curriculum", ylabel="accuracy drop",
                title="ablating the 10 slowest-τ units")
    trend_panel(axes[1], long, "N", "ablate_fast_drop", "curriculum", ylabel="accuracy drop",
                title="ablating the 10 fastest-τ units")
    trend_panel(axes[2], long, "N", "perturb_drop@eps=0p1", "curriculum", ylabel="accuracy drop",
                title="weight perturbation ε = 0.1")
    figs.append((save(fig, out / "robustness.png"),
                 "Robustness at each N (paper Fig. 5): accuracy lost when the 10 slowest or fastest units are "
                 "ablated, and under a normalised weight perturbation of size ε = 0.1‖W‖."))
    acc = data.long("acc_final", "acc_stage")
    fig, axes = panel_grid(2)
    trend_panel(axes[0], acc, "N", "acc_final", "curriculum", ylabel="accuracy of the final network",
                title="forgetting of earlier N")
    trend_panel(axes[1], long, "N", "gen_metric@x=2", "curriculum", ylabel="accuracy",
                title="sequences 2× longer than trained")
    figs.append((save(fig, out / "forgetting.png"),
                 "Left: the final network's accuracy on each earlier N with that N's head (single-head networks "
                 "forget, paper Fig. 4). Right: accuracy on sequences twice as long as trained."))
    return figs


STUDY = register(Study(
    name="khajehabdollahi2024",
    paper="Khajehabdollahi, Zeraati et al. 2024, ICLR",
    summary="N-parity with leaky RNNs of trainable τ: single-head curricula lengthen single-neuron τ, "
            "multi-head curricula lengthen the network timescale τ_net instead, train faster and are more robust.",
    version="1",
    scales={"quick": QUICK, "paper": PAPER},
    claims=[
        Claim("single_tau_grows", "In single-head networks, single-neuron τ grows with N.", _single_tau_grows,
              needs="paper"),
        Claim("tau_single_gt_multi", "At the largest N reached, mean single-neuron τ is larger for single-head "
              "than for multi-head networks (multi-head τ stays near its initial value).", _tau_single_gt_multi),
        Claim("multi_taunet_grows", "In multi-head networks, the network timescale τ_net grows with N.",
              _multi_taunet_grows, needs="paper"),
        Claim("multi_faster", "Multi-head networks reach N in fewer training steps than single-head networks.",
              _multi_faster),
        Claim("multi_robust_ablation_slow", "Multi-head networks lose less accuracy when their slowest-τ units "
              "are ablated.", _robust("ablate_slow_drop"), needs="paper"),
        Claim("multi_robust_ablation_fast", "Multi-head networks lose less accuracy when their fastest-τ units "
              "are ablated.", _robust("ablate_fast_drop"), needs="paper"),
        Claim("multi_robust_perturbation", "Multi-head networks lose less accuracy under weight perturbation "
              "(ε = 0.1).", _robust("perturb_drop@eps=0p1"), needs="paper"),
        Claim("single_forgets", "Single-head networks forget earlier N more than multi-head networks.",
              _single_forgets),
        Claim("multi_generalises", "Multi-head networks generalise better beyond their training distribution "
              "(sequences twice as long).", _multi_generalises, needs="paper"),
    ],
    figures=_figures,
    doc=__doc__ or "",
))
