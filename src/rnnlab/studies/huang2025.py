"""Huang, Singh, Martinelli & Rajan 2025 (NeurIPS), "Measuring and controlling solution
degeneracy across task-trained recurrent neural networks".

Network: ``h_t = tanh(W h_{t−1} + U x_t + b)`` with a linear readout (rnnlab's ``leaky_rnn`` with
τ = dt, τ not trained), Adam, trained until the flip-flop's MSE threshold 0.001 is reached,
then a patience of one evaluation (the paper: 3 epochs). Task: N-bit flip-flop
(``rnnlab.tasks.FlipFlop``). The paper trains 128-unit networks, 50 seeds per condition, widths
32–512 in its width sweep; its initialisation U(−1/√n, 1/√n) is replaced by rnnlab's N(0, 1/N)
(same variance scale up to a factor 3) and its learning-rate schedule by a cosine decay.

Degeneracy across the seeds of one condition (group analysis ``degeneracy``,
``rnnlab.analysis.degeneracy``): behavioural = std across networks of the loss on trials twice
as long (out of distribution); dynamical = mean pairwise DSA distance
``min_{C ∈ O(n)} ‖A_x − C A_y C⁻¹‖_F`` between delay-embedded DMD operators; weight =
mean pairwise ``min_P ‖W₁ − Pᵀ W₂ P‖_F`` over permutations, per parameter.

Experiments: width (3 bits, hidden size 32–128 at ``quick``) and task complexity (number of
flip-flop channels at 64 units). Networks that stop on the step budget without reaching the
threshold confound degeneracy (an unconverged network differs for another reason); a condition
holding any is flagged, and a claim whose conditions are more than a quarter flagged is
inconclusive.

Claims (Spearman trend of the condition-level degeneracy over the factor, exact permutation
p-value; each condition one point): weight and behavioural (and, at ``paper`` scale, dynamical)
degeneracy fall with width; more channels lower dynamical and raise weight degeneracy.
"""

from __future__ import annotations

from pathlib import Path

from . import register
from ._base import Claim, Condition, Scale, Study, StudyData
from ._figures import panel_grid, save, trend_panel
from .claims import trend


def _conditions(widths: list[int], bits: list[int], width_at: int) -> list[Condition]:
    out = [Condition({"experiment": "width", "width": w, "n_bits": 3},
                     {"model.params.hidden_size": w, "task.params.n_bits": 3}) for w in widths]
    out += [Condition({"experiment": "complexity", "width": width_at, "n_bits": b},
                      {"model.params.hidden_size": width_at, "task.params.n_bits": b}) for b in bits]
    return out


_BASE = {
    "task": {"name": "flipflop", "params": {"n_bits": 3, "n_steps": 50, "p": 0.1}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 64, "dt": 1.0, "tau": 1.0, "train_tau": False}},
    "train": {"steps": 4000, "eval_every": 100, "batch_size": 32, "eval_batch_size": 128, "lr": 0.01,
              "lr_schedule": "cosine", "threshold": 0.001, "patience": 1},
}

QUICK = Scale(
    name="quick",
    base=_BASE,
    conditions=_conditions([32, 48, 64, 96, 128], [2, 3, 4, 5], 64),
    seeds=5,
    analyses=["ood_loss"],
    group_analyses=["degeneracy"],
    expected_minutes=5.0,
    estimate="measured: one whole quick run, idle 2-core machine",
)

PAPER = Scale(
    name="paper",
    base={**_BASE, "model": {"name": "leaky_rnn", "params": {**_BASE["model"]["params"], "hidden_size": 128}},
          "train": {**_BASE["train"], "steps": 128_000, "batch_size": 64, "lr": 1e-3}},
    conditions=_conditions([32, 64, 96, 128, 192, 256, 384, 512], [1, 2, 3, 4, 5], 128),
    seeds=50,
    analyses=["ood_loss"],
    group_analyses=["degeneracy"],
    expected_minutes=5_800.0,
    hardware="2 CPU cores; meant for a workstation or a Ray cluster",
    estimate="upper bound by benchmarks/study_scale.py: 12 ensembles of 50 networks, 0.15 s (32 units) to 1.9 s "
             "(512 units) per step, the whole 128,000-step budget, two workers in parallel; networks stop at "
             "the MSE threshold long before that (quick: 800-1,900 steps), so expect a small fraction",
)


def _trend(experiment: str, x: str, level: str, direction: str):
    def evaluate(data: StudyData):
        g = data.groups[data.groups["experiment"] == experiment]
        flagged = (g["budget"].to_numpy(float) > 0) | (g["failed"].to_numpy(float) > 0)
        return trend(g[x].to_numpy(float), g[f"degeneracy.{level}"].to_numpy(float), direction, flagged=flagged)
    return evaluate


def _figures(data: StudyData, out: Path) -> list[tuple[Path, str]]:
    figs = []
    g = data.groups
    for exp, x, xlabel in (("width", "width", "hidden units"), ("complexity", "n_bits", "flip-flop channels")):
        sub = g[g["experiment"] == exp]
        fig, axes = panel_grid(3)
        for ax, level, lab in zip(axes, ["behaviour", "dynamics", "weights"],
                                  ["behavioural (std of OOD loss)", "dynamical (mean DSA)", "weight (per parameter)"]):
            col = f"degeneracy.{level}"
            if col in sub:
                trend_panel(ax, sub, x, col, xlabel=xlabel, ylabel=lab, title=f"{level} against {x}")
                null = f"{col}_null" if f"{col}_null" in sub else ("degeneracy.weight_null" if level == "weights"
                                                                  else None)
                if null and null in sub:
                    ax.plot(sub[x].astype(float), sub[null].astype(float), "s--", color="0.5", label="null")
                    ax.legend(fontsize=7)
        figs.append((save(fig, out / f"degeneracy_{exp}.png"),
                     f"Degeneracy across seeds against {xlabel} (paper Fig. 3–4): behavioural, dynamical and "
                     "weight levels, each condition's value over its seeds; grey: the null of each level."))
    return figs


STUDY = register(Study(
    name="huang2025",
    paper="Huang, Singh, Martinelli & Rajan 2025, NeurIPS",
    summary="Flip-flop networks across widths and numbers of channels: wider networks are less degenerate; "
            "more complex tasks lower dynamical and raise weight degeneracy.",
    version="1",
    scales={"quick": QUICK, "paper": PAPER},
    claims=[
        Claim("weights_fall_with_width", "Weight degeneracy decreases with width.",
              _trend("width", "width", "weights", "decreasing")),
        Claim("behaviour_falls_with_width", "Behavioural (OOD) degeneracy decreases with width.",
              _trend("width", "width", "behaviour", "decreasing"), needs="paper"),
        Claim("dynamics_falls_with_width", "Dynamical (DSA) degeneracy decreases with width.",
              _trend("width", "width", "dynamics", "decreasing"), needs="paper"),
        Claim("complexity_lowers_dynamics", "More flip-flop channels lower dynamical degeneracy.",
              _trend("complexity", "n_bits", "dynamics", "decreasing"), needs="paper"),
        Claim("complexity_raises_weights", "More flip-flop channels raise weight degeneracy.",
              _trend("complexity", "n_bits", "weights", "increasing"), needs="paper"),
    ],
    figures=_figures,
    doc=__doc__ or "",
))
