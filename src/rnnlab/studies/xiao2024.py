"""Xiao, Meng, Zhang, Zhou, Lin & Wang 2024 (ICLR), "Hebbian learning based orthogonal
projection for continual learning of spiking neural networks" (HLOP), and the baselines it is
compared with: fine-tuning, EWC (Kirkpatrick et al. 2017) and exact orthogonal projection
(OWM, Zeng et al. 2019; GPM, Saha et al. 2021; Duncker et al. 2020).

Setting (``rnnlab.continual``): the sub-tasks of a ``multitask`` learned one after another in
one shared input/output layout with a one-hot rule input (Yang et al. 2019's layout; Duncker
et al. 2020 learn their cognitive tasks this way): perceptual decision (coherences 12.8–51.2 %),
go/no-go and context-dependent decision at dt = 100 ms. Network: rate RNN (``leaky_rnn``,
τ = 200 ms fixed) at ``quick`` scale; at ``paper`` scale also the recurrent LIF network
(``spiking_rnn``) and a fourth task (delayed match-to-sample). Every method trains with the
same SGD (momentum 0.9; projection methods need plain SGD) and the same per-stage budget.
Xiao et al. train spiking networks on image benchmarks (PMNIST, CIFAR-100, miniImageNet); this
study asks their question (does Hebbian-learned projection protect earlier tasks as well as
exact projection, where fine-tuning forgets?) on rnnlab's cognitive tasks instead.

Measured per network (sweep analysis ``continual``, re-evaluated on 512 fresh trials per task
and stage model): the accuracy matrix ``R[s, j]``, average accuracy and backward transfer
(Lopez-Paz & Ranzato 2017), and ``acc_earlier_final`` (mean accuracy on the tasks before the
last, after the last stage).

Claims, thresholds stated before any run (seeds paired: the same seed gives the same initial
network and the same first stage under every method):

* fine-tuning forgets: BWT below −0.05 (Wilcoxon signed-rank of BWT + 0.05 < 0);
* EWC forgets less than fine-tuning (paired BWT);
* exact projection and HLOP keep the earlier tasks above 0.8 accuracy after the last stage
  (chance is 0.5);
* HLOP is within 0.05 of exact projection in average accuracy (non-inferiority:
  ``ACC_hlop + 0.05 > ACC_projection``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register
from ._base import Claim, Condition, Scale, Study, StudyData
from ._figures import panel_grid, save
from .claims import paired

METHODS = ("finetune", "ewc", "projection", "hlop")

_PD = {"name": "perceptual_decision", "params": {"stimulus": 500.0, "coherences": [12.8, 25.6, 51.2]}}
_GNG = {"name": "go_nogo"}
_CXT = {"name": "context_decision", "params": {"stimulus": 500.0, "delay": 200.0}}
_DMS = {"name": "delay_match_sample", "params": {"sample_period": 300.0, "delay": 500.0, "test": 300.0,
                                                   "decision": 300.0}}

_LEAKY = {"name": "leaky_rnn", "params": {"hidden_size": 32, "dt": 100.0, "tau": 200.0, "train_tau": False}}
_SPIKING = {"name": "spiking_rnn", "params": {"hidden_size": 128, "dt": 1.0, "tau_mem": 2.0, "tau_syn": 1.0,
                                              "tau_out": 2.0}}

_BASE = {
    "task": {"name": "multitask", "params": {"tasks": [_PD, _GNG, _CXT]}},
    "model": _LEAKY,
    "train": {"steps": 600, "eval_every": 100, "batch_size": 32, "eval_batch_size": 256, "optimizer": "sgd",
              "lr": 0.1, "momentum": 0.9, "continual": {"method": "finetune", "ewc_lambda": 100.0}},
}


def _conditions(models: dict[str, dict]) -> list[Condition]:
    return [Condition({"model": mname, "method": m}, {"model": model, "train.continual.method": m})
            for mname, model in models.items() for m in METHODS]


QUICK = Scale(
    name="quick",
    base=_BASE,
    conditions=_conditions({"rate": _LEAKY}),
    seeds=6,
    analyses=["continual"],
    expected_minutes=4.0,
    estimate="measured: one whole quick run on the shared 2-core machine (load ≈ 4), see the study page",
)

PAPER = Scale(
    name="paper",
    base={**_BASE, "task": {"name": "multitask", "params": {"tasks": [_PD, _GNG, _CXT, _DMS]}},
          "model": {"name": "leaky_rnn", "params": {**_LEAKY["params"], "hidden_size": 256}},
          "train": {**_BASE["train"], "steps": 5000, "batch_size": 64, "lr": 0.05}},
    conditions=_conditions({"rate": {"name": "leaky_rnn", "params": {**_LEAKY["params"], "hidden_size": 256}},
                            "spiking": _SPIKING}),
    seeds=20,
    analyses=["continual"],
    expected_minutes=600.0,
    hardware="2 CPU cores; meant for a workstation or a GPU",
    estimate="extrapolated from quick (about 20 s per ensemble of 6 rate networks of 32 units for 3 × 600 "
             "steps): ×8 width (≈ ×20 per step for 256 units), ×11 steps, 4 stages, 20 seeds, spiking "
             "networks ≈ 3× the cost of rate ones; not measured",
)


def _by_seed(data: StudyData, method: str, col: str, model: str = "rate") -> tuple[np.ndarray, np.ndarray]:
    t = data.where(model=model, method=method).sort_values("seed")
    return t["seed"].to_numpy(), t[col].to_numpy(float) if col in t else np.full(len(t), np.nan)


def _versus_constant(method: str, col: str, level: float, direction: str):
    def evaluate(data: StudyData):
        _, v = _by_seed(data, method, col)
        return paired(v, np.full(v.shape, level), direction)
    return evaluate


def _versus_method(a: str, b: str, col: str, direction: str, margin: float = 0.0):
    def evaluate(data: StudyData):
        sa, va = _by_seed(data, a, col)
        sb, vb = _by_seed(data, b, col)
        common = np.intersect1d(sa, sb)
        return paired(va[np.isin(sa, common)] + margin, vb[np.isin(sb, common)], direction)
    return evaluate


def _figures(data: StudyData, out: Path) -> list[tuple[Path, str]]:
    t = data.table
    if "acc_average" not in t:
        return []
    figs = []
    for model in sorted(t["model"].unique()):
        cols = sorted({c for c in t.columns if c.startswith("acc@stage=")})
        S = int(round(np.sqrt(len(cols))))
        fig, axes = panel_grid(len(METHODS), 2.8, 2.8)
        for ax, m in zip(axes, METHODS):
            sub = data.where(model=model, method=m)
            R = np.array([[np.nanmean(sub[f"acc@stage={i + 1},task={j + 1}"].astype(float)) if len(sub) else np.nan
                           for j in range(S)] for i in range(S)])
            ax.imshow(R, vmin=0.5, vmax=1.0, cmap="viridis")
            for i in range(S):
                for j in range(S):
                    ax.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color="w" if R[i, j] < 0.8 else "k")
            ax.set(xticks=range(S), yticks=range(S), xticklabels=[f"T{j + 1}" for j in range(S)],
                   yticklabels=[f"after {i + 1}" for i in range(S)], title=m)
        figs.append((save(fig, out / f"accuracy_matrix_{model}.png"),
                     f"Accuracy matrix R[s, j] ({model} networks): accuracy on task j (columns) after training "
                     "stage s (rows), mean over seeds; colour from chance (0.5) to 1. Entries above the diagonal "
                     "are tasks not yet trained."))
        fig, axes = panel_grid(1, 4.2, 3.0)
        ax = axes[0]
        for k, m in enumerate(METHODS):
            sub = data.where(model=model, method=m)
            ys = np.array([sub[f"acc@stage={i + 1},task=1"].astype(float).to_numpy() for i in range(S)])
            if not ys.size:
                continue
            x = np.arange(1, S + 1) + (k - 1.5) * 0.04
            ax.plot(np.repeat(x, ys.shape[1]), ys.reshape(-1), "o", alpha=0.3, ms=3, color=f"C{k}")
            sem = ys.std(1, ddof=1) / np.sqrt(ys.shape[1]) if ys.shape[1] > 1 else np.zeros(S)
            ax.errorbar(x, ys.mean(1), yerr=sem, marker="s", ms=4, capsize=2, color=f"C{k}", label=m)
        ax.axhline(0.5, color="0.6", ls=":", lw=1)
        ax.set(xlabel="after stage", ylabel="accuracy on task 1", xticks=range(1, S + 1), ylim=(0.3, 1.02),
               title="task 1 across stages")
        ax.legend(fontsize=7)
        figs.append((save(fig, out / f"task1_across_stages_{model}.png"),
                     f"Accuracy on the first task after each stage ({model} networks): each seed a point, mean ± "
                     "SEM per method; dotted: chance."))
    return figs


STUDY = register(Study(
    name="xiao2024",
    paper="Xiao, Meng, Zhang, Zhou, Lin & Wang 2024, ICLR",
    summary="Cognitive tasks learned one after another: fine-tuning forgets, EWC and exact orthogonal "
            "projection protect earlier tasks, and Hebbian-learned projection (HLOP) does about as well as exact.",
    version="1",
    scales={"quick": QUICK, "paper": PAPER},
    claims=[
        Claim("finetune_forgets", "Fine-tuning forgets: backward transfer below −0.05.",
              _versus_constant("finetune", "acc_bwt", -0.05, "less")),
        Claim("ewc_forgets_less", "EWC forgets less than fine-tuning (higher backward transfer, same seeds).",
              _versus_method("ewc", "finetune", "acc_bwt", "greater")),
        Claim("projection_keeps_earlier", "Exact orthogonal projection keeps the earlier tasks above 0.8 accuracy "
              "after the last stage.", _versus_constant("projection", "acc_earlier_final", 0.8, "greater")),
        Claim("hlop_keeps_earlier", "HLOP keeps the earlier tasks above 0.8 accuracy after the last stage.",
              _versus_constant("hlop", "acc_earlier_final", 0.8, "greater")),
        Claim("hlop_within_margin_of_projection", "HLOP's average accuracy is within 0.05 of exact projection's "
              "(ACC_hlop + 0.05 > ACC_projection, same seeds).",
              _versus_method("hlop", "projection", "acc_average", "greater", margin=0.05)),
    ],
    figures=_figures,
    doc=__doc__ or "",
))
