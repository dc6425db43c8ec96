"""Liu, Baratin, Cornford, Mihalas, Shea-Brown & Lajoie 2024 (ICLR), "How connectivity structure
shapes rich and lazy learning in neural circuits".

Network (``BioRNN_RichLazy/main.py``): a bias-free ReLU RNN with α = dt/τ = 1,
``h_t = ReLU(W h_{t−1} + U x_t)``, linear readout without bias (rnnlab: ``leaky_rnn`` with
τ = dt, ``activation="relu"``, ``bias=False``). Initial connectivity: ``W0 = 1.25·N(0, 1)/√N``
truncated by its SVD to rank r and rescaled to the Frobenius norm of the full-rank W0
(``init="rank"``); the exception the paper reports, low-rank structure aligned with the task,
is ``init="aligned_rank"`` (W0's column space spanned by the input weights, its row space by
the readout weights, same Frobenius norm).

Training: SGD, lr 0.003, momentum 0.9, batch 32, 10,000 iterations (``paper``), cross-entropy.
The paper's NeuroGym datasets score every time step; rnnlab's decision tasks score the decision
period only (the choice is the same; the per-step fixation loss is absent). Tasks with the
paper's timings at dt = 100 ms: perceptual decision (stimulus 700 ms, decision 100 ms), and at
``paper`` scale also delayed match-to-sample and context-dependent decision.

Measured (``rich_lazy`` per network, against the saved initial model): the relative weight
change ‖W_T − W_0‖_F / ‖W_0‖_F, the tangent-kernel alignment ``Tr(K_T K_0)/(‖K_T‖ ‖K_0‖)`` with
K the empirical NTK w.r.t. W on a fixed probe batch, and the representation (Gram) alignment.
Lower alignment and larger weight change mean richer (less lazy) learning.

Claims (random rank-r initialisations, each network one sample): weight change decreases with
the initial rank; kernel alignment increases with it; a task-aligned rank-1 initialisation
learns more lazily (smaller weight change) than a random rank-1 one.
"""

from __future__ import annotations

from pathlib import Path

from . import register
from ._base import Claim, Condition, Scale, Study, StudyData
from ._figures import panel_grid, save, trend_panel
from .claims import compare, trend

_2AF = {"name": "perceptual_decision", "params": {"dt": 100.0, "fixation": 0.0, "stimulus": 700.0, "delay": 0.0,
                                                    "decision": 100.0}}
_DMS = {"name": "delay_match_sample", "params": {"dt": 100.0, "fixation": 0.0, "sample_period": 100.0,
                                                   "delay": 500.0, "test": 100.0, "decision": 100.0}}
_CXT = {"name": "context_decision", "params": {"dt": 100.0, "fixation": 0.0, "stimulus": 200.0, "delay": 500.0,
                                                 "decision": 100.0}}


def _model(n: int) -> dict:
    return {"name": "leaky_rnn", "params": {"hidden_size": n, "activation": "relu", "dt": 1.0, "tau": 1.0,
                                            "train_tau": False, "gain": 1.25, "bias": False, "init": "rank",
                                            "init_rank": n}}


def _conditions(n: int, ranks: list[int], tasks: dict[str, dict]) -> list[Condition]:
    out = []
    for tname, task in tasks.items():
        for r in ranks:
            out.append(Condition({"task": tname, "init": "random", "rank": r},
                                 {"task": task, "model.params.init_rank": r}))
        out.append(Condition({"task": tname, "init": "aligned", "rank": 1},
                             {"task": task, "model.params.init": "aligned_rank", "model.params.init_rank": 1}))
    return out


_TRAIN = {"optimizer": "sgd", "lr": 0.003, "momentum": 0.9, "clip": None, "batch_size": 32, "eval_every": 250,
          "eval_batch_size": 256}
_RICH = {"name": "rich_lazy", "params": {}}

QUICK = Scale(
    name="quick",
    base={"task": _2AF, "model": _model(64), "train": {**_TRAIN, "steps": 2000}},
    conditions=_conditions(64, [1, 4, 16, 64], {"2AF": _2AF}),
    seeds=4,
    analyses=[_RICH],
    expected_minutes=1.0,
    estimate="measured: one whole quick run, idle 2-core machine",
)

PAPER = Scale(
    name="paper",
    base={"task": _2AF, "model": _model(300), "train": {**_TRAIN, "steps": 10_000}},
    conditions=_conditions(300, [1, 30, 100, 300], {"2AF": _2AF, "DMS": _DMS, "CXT": _CXT}),
    seeds=5,
    analyses=[_RICH],
    expected_minutes=float("nan"),
    hardware="a workstation or Ray cluster",
    estimate="not measured",
)


def _random(data: StudyData, task: str = "2AF"):
    t = data.where(task=task, init="random")
    return t


def _richer(data):
    t = _random(data)
    return trend(t["rank"].to_numpy(float), t["weight_change_rel"].to_numpy(float), "decreasing")


def _less_aligned(data):
    t = _random(data)
    return trend(t["rank"].to_numpy(float), t["kernel_alignment"].to_numpy(float), "increasing")


def _aligned_lazier(data):
    a = data.where(task="2AF", init="aligned")["weight_change_rel"].to_numpy(float)
    r = data.where(task="2AF", init="random", rank=1)["weight_change_rel"].to_numpy(float)
    return compare(a, r, "less")


def _figures(data: StudyData, out: Path) -> list[tuple[Path, str]]:
    figs = []
    t = data.table
    rnd = t[t["init"] == "random"]
    fig, axes = panel_grid(3)
    for ax, col, lab in zip(axes, ["weight_change_rel", "kernel_alignment", "representation_alignment"],
                            ["‖ΔW‖ / ‖W₀‖", "tangent-kernel alignment", "representation alignment"]):
        trend_panel(ax, rnd, "rank", col, "task", ylabel=lab, xlabel="initial rank r", logx=True, title=lab)
        al = t[t["init"] == "aligned"]
        if len(al) and col in al:
            ax.plot(al["rank"].astype(float), al[col].astype(float), "k*", ms=8, label="aligned rank 1")
            ax.legend(fontsize=7)
    figs.append((save(fig, out / "rich_lazy.png"),
                 "Rich vs lazy learning against the rank of the initial connectivity (paper Fig. 2): relative "
                 "weight change, tangent-kernel alignment and representation alignment between the initial and "
                 "trained network; stars: rank-1 initialisations aligned with the task's input and readout."))
    return figs


STUDY = register(Study(
    name="liu2024",
    paper="Liu, Baratin, Cornford, Mihalas, Shea-Brown & Lajoie 2024, ICLR",
    summary="Low-rank initial connectivity biases learning towards the rich regime (larger weight change, lower "
            "kernel alignment), except when the low-rank structure is aligned with the task.",
    version="1",
    scales={"quick": QUICK, "paper": PAPER},
    claims=[
        Claim("low_rank_richer", "Lower initial rank gives a larger relative weight change ‖ΔW‖/‖W₀‖ (richer "
              "learning).", _richer),
        Claim("low_rank_less_aligned", "Lower initial rank gives lower tangent-kernel alignment between the "
              "initial and trained network.", _less_aligned),
        Claim("aligned_exception", "A low-rank initialisation aligned with the task learns more lazily (smaller "
              "weight change) than a random one of the same rank.", _aligned_lazier),
    ],
    figures=_figures,
    doc=__doc__ or "",
))
