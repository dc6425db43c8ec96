"""Torre, Viscione, Pompe, Grewe & Mante 2025 (NeurIPS), "Mechanistic interpretability of RNNs
emulating hidden Markov models" (code: ``EliaTorre/hmmrnn``).

Task (``rnnlab.tasks.HMM``): the network receives i.i.d. N(0, 1) noise only and must emit
symbol sequences (3 symbols) distributed like a categorical HMM's: linear chains of 2–5
states, a fully connected 3-state HMM and a 4-state cyclic one (the paper's ``HMMTwo`` …
``HMMFive``, ``HMMFully``, ``HMMCycle4``; sequence lengths 100 for 2 states, 30 for 3–4, 40
for 5; 30 for the fully connected and cyclic HMMs, whose lengths our notes do not record).

Network (``scripts/rnn.py``): PyTorch ``nn.RNN`` with ReLU and no biases,
``h_t = ReLU(W h_{t−1} + U x_t)``, and a bias-free linear readout: rnnlab's ``leaky_rnn`` with
``τ = dt`` exactly (``tau_param="direct"``, ``train_tau=False``: α = 1), ``activation="relu"``,
``bias=False``. Differences: the paper draws h0 ~ N(0, I) per trial, rnnlab starts from 0;
rnnlab initialises W ~ N(0, 1/N) and U ~ N(0, 1/I) (PyTorch: U(±1/√N)); Adam's β₂ is 0.999
(paper 0.9); the paper keeps the model with the best validation loss, rnnlab the last.

Training (``rnnlab.objectives.distribution``): the readout logits are sampled by
straight-through Gumbel-softmax (τ = 1) and the Sinkhorn divergence (geomloss conventions,
blur 0.2) between the batch of flattened sampled sequences and the batch of HMM sequences is
minimised; Adam, gradient-norm clip 0.9. Baseline: the same network trained with the task's
per-step cross-entropy (the motivating failure: the input carries no information about the
sequence, so per-step supervision can only teach the marginal symbol frequencies, and the
sampled symbols come out i.i.d.).

Analyses per network (``rnnlab.sweep.hmm_analyses``, ``rnnlab.analysis.hmm_emulation``): the
network's Gumbel-sampled symbols against the HMM's on 2048 noise-driven trials (marginals,
transition matrix, residency times); the noise-free attractor (runs without input from states
visited under noise); kick neurons (units whose recurrent input, scaled by 0, removes
transitions of the arg-max symbols; scaled by 2, triggers them).

Claims (Sinkhorn-trained networks pooled over the HMMs; each network one sample; proportions
tested against one half with the exact binomial test). Tolerances against the sampling error
of the estimates (2048 trials × T steps: about 6·10⁴ symbols, so a marginal has a standard error
≤ 0.002 and a transition-matrix entry of a row visited 10⁴ times ≤ 0.005):

* ``marginals``: every emission marginal within 0.03 of the HMM's;
* ``transitions``: every entry of the transition matrix of the sampled symbols within 0.05 of
  the HMM's symbol transition matrix (rows both visit);
* ``residency``: for every symbol the HMM emits in ≥ 1 % of steps, the total-variation distance
  between the residency-time distributions (complete runs) at most 0.1;
* ``single_fixed_point``: without input, every run from 256 noise-visited states ends within 1 %
  (of the RMS size of the noise-driven states) of the mean final state;
* ``kick_neurons``: ablating the 3 units with the largest single-unit effect lowers the arg-max
  transition rate more than ablating 3 random other units (paired Wilcoxon, on noise not used to
  select them);
* ``cross_entropy_fails``: the cross-entropy baseline's transition matrices are farther from the
  HMM's than the Sinkhorn-trained networks' (Mann–Whitney on the largest entry difference).

Reading the results: a bias-free ReLU network always has the fixed point 0 at zero input, so
``single_fixed_point`` is only informative where the mean final state is not 0
(``attractor_norm``). The kick-neuron columns are also computed for the untrained network
(``kick_*_init``); where the trained and untrained values are alike, the claim says little about
training. ``transitions`` and ``residency`` are marked as needing the ``paper`` scale: the
``quick`` networks see 1,500 batches of 256 sequences, the paper's 1,500 of 4,096.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register
from ._base import Claim, Condition, Scale, Study, StudyData
from ._figures import save
from .claims import compare, paired, proportion

#: the paper's HMMs: (label, task params)
_HMMS = {
    "linear2": {"family": "linear", "n_states": 2, "duration": 100.0},
    "linear3": {"family": "linear", "n_states": 3, "duration": 30.0},
    "linear4": {"family": "linear", "n_states": 4, "duration": 30.0},
    "linear5": {"family": "linear", "n_states": 5, "duration": 40.0},
    "fully": {"family": "fully", "n_states": 3, "duration": 30.0},
    "cyclic": {"family": "cyclic", "n_states": 4, "duration": 30.0},
}
_SINKHORN = {"name": "sinkhorn", "blur": 0.2, "temperature": 1.0}
_TOL = {"marginal": 0.03, "transition": 0.05, "residency": 0.1}


def _model(n: int) -> dict:
    return {"name": "leaky_rnn", "params": {"hidden_size": n, "activation": "relu", "bias": False, "dt": 1.0,
                                            "tau": 1.0, "tau_param": "direct", "train_tau": False}}


def _conditions(hmms: list[str], n_noise: int, widths: list[int], baseline_width: int,
                clip: dict[str, float]) -> list[Condition]:
    out = []
    for h in hmms:
        task = {"name": "hmm", "params": {**_HMMS[h], "n_noise": n_noise}}
        for w in widths:
            out.append(Condition({"hmm": h, "objective": "sinkhorn", "width": w},
                                 {"task": task, "model.params.hidden_size": w, "train.objective": _SINKHORN,
                                  "train.clip": clip.get(h, 0.9)}))
        out.append(Condition({"hmm": h, "objective": "cross_entropy", "width": baseline_width},
                             {"task": task, "model.params.hidden_size": baseline_width, "train.objective": None,
                              "train.clip": clip.get(h, 0.9)}))
    return out


_ANALYSES = [{"name": "hmm_emulation", "params": {"n_trials": 2048}},
             {"name": "hmm_attractor", "params": {"n_trials": 256, "n_steps": 200}},
             {"name": "kick_neurons", "params": {"k": 3, "n_trials": 256}}]

QUICK = Scale(
    name="quick",
    base={"task": {"name": "hmm", "params": {**_HMMS["linear3"], "n_noise": 10}}, "model": _model(50),
          "train": {"steps": 1500, "eval_every": 250, "batch_size": 256, "eval_batch_size": 256, "lr": 3e-3,
                    "clip": 0.9, "objective": _SINKHORN}},
    conditions=_conditions(["linear3", "cyclic"], 10, [50], 50, {"cyclic": 0.3}),
    seeds=3,
    analyses=_ANALYSES,
    expected_minutes=9.5,
    hardware="2 CPU cores",
    estimate="measured: one whole quick run, 9 min 18 s wall (12 min CPU) on a shared 2-core machine at load "
             "average 2.4–5; training 5–6 min per Sinkhorn condition of 3 seeds, 1–1.5 min per baseline",
)

PAPER = Scale(
    name="paper",
    base={"task": {"name": "hmm", "params": {**_HMMS["linear3"], "n_noise": 100}}, "model": _model(150),
          "train": {"steps": 1500, "eval_every": 50, "batch_size": 4096, "eval_batch_size": 4096, "lr": 1e-3,
                    "clip": 0.9, "objective": _SINKHORN}},
    conditions=_conditions(list(_HMMS), 100, [50, 150, 200], 150, {"fully": 0.3, "cyclic": 0.3}),
    seeds=3,
    analyses=_ANALYSES,
    expected_minutes=float("nan"),
    hardware="a GPU workstation or Ray cluster",
    estimate="not measured: 54 Sinkhorn networks and 6 baselines, 1,500 steps of batch 4096 (the paper's 500 "
             "epochs of 10,000 sequences; 1,000 epochs for the fully connected HMM); each step solves three "
             "4096 × 4096 entropic OT problems (tens to hundreds of log-sum-exp passes over 1.7·10⁷ entries), "
             "seconds per step on 2 CPU cores",
)


def _sinkhorn(data: StudyData):
    t = data.table
    t = t[t["status"].isin(["converged", "budget"])]
    return t[t["objective"] == "sinkhorn"]


def _within(col: str, tol: float):
    def evaluate(data: StudyData):
        t = _sinkhorn(data)
        v = t[col].to_numpy(float) if col in t else np.full(len(t), np.nan)
        return proportion(np.where(np.isfinite(v), (v <= tol).astype(float), np.nan), 0.5)
    return evaluate


def _single(data: StudyData):
    t = _sinkhorn(data)
    return proportion(t["attractor_single"].to_numpy(float) if "attractor_single" in t else np.full(len(t), np.nan),
                      0.5)


def _kick(data: StudyData):
    t = _sinkhorn(data)
    return paired(t["kick_top_drop"].to_numpy(float), t["kick_random_drop"].to_numpy(float), "greater")


def _ce_fails(data: StudyData):
    t = data.table
    ce = t[t["objective"] == "cross_entropy"]["hmm_transition_max_diff"].to_numpy(float)
    return compare(ce, _sinkhorn(data)["hmm_transition_max_diff"].to_numpy(float), "greater")


def _figures(data: StudyData, out: Path) -> list[tuple[Path, str]]:
    import jax
    from matplotlib.figure import Figure

    from ..analysis.hmm_emulation import hmm_emulation, noise_free_attractor
    from ..store.run import Run

    out.mkdir(parents=True, exist_ok=True)
    figs = []
    t = data.table
    if "hmm_transition_max_diff" in t and len(t):
        fig = Figure(figsize=(7.5, 3.2), layout="constrained")
        axes = fig.subplots(1, 2)
        hmms = sorted(t["hmm"].unique())
        for ax, col, lab in zip(axes, ["hmm_transition_max_diff", "hmm_marginal_max_diff"],
                                ["largest |ΔA_ij| (transition matrix)", "largest |Δ P(y = k)| (marginals)"]):
            for j, obj in enumerate(["sinkhorn", "cross_entropy"]):
                for i, h in enumerate(hmms):
                    v = t[(t["hmm"] == h) & (t["objective"] == obj)][col].to_numpy(float)
                    ax.plot(np.full(len(v), i + 0.15 * (2 * j - 1)), v, "o", color=("tab:blue", "tab:red")[j],
                            label=obj if i == 0 else None)
            ax.axhline(_TOL["transition" if "transition" in col else "marginal"], color="k", ls=":", lw=1,
                       label="claim tolerance")
            ax.set_xticks(range(len(hmms)), hmms)
            ax.set(ylabel=lab, title=lab.split(" (")[0])
            ax.legend(fontsize=7)
        figs.append((save(fig, out / "distances.png"),
                     "Per network: the largest difference between the network's and the HMM's symbol transition "
                     "matrices (left) and emission marginals (right), Sinkhorn-trained vs cross-entropy baseline; "
                     "dotted: the claims' tolerances."))
    for obj in ("sinkhorn", "cross_entropy"):
        for h in sorted(t["hmm"].unique()) if len(t) else []:
            rows = t[(t["hmm"] == h) & (t["objective"] == obj)]
            if not len(rows):
                continue
            run0 = Run(data.dir / "runs", rows["id"].iloc[0])
            model, task = run0.load_model(), run0.config().build_task()
            emu = hmm_emulation(model, task, jax.random.PRNGKey(0), n_trials=1024)
            p = out / f"transitions_{h}_{obj}.png"
            emu.plot(p)
            figs.append((p, f"{h}, {obj}, seed {rows['seed'].iloc[0]}: symbol transition matrices of the HMM and "
                            f"of the network's Gumbel-sampled symbols (1024 noise-driven trials), and the "
                            f"residency-time distributions (lines: HMM, points: network)."))
            if obj == "sinkhorn":
                att = noise_free_attractor(model, task, jax.random.PRNGKey(0), n_trials=64, finder=False)
                p = out / f"attractor_{h}.png"
                att.plot(p)
                figs.append((p, f"{h}, Sinkhorn-trained, seed {rows['seed'].iloc[0]}: noise-driven (grey) and "
                                f"noise-free (blue) trajectories from the same states in the first two principal "
                                f"components of the noise-driven activity; star: the mean final state without "
                                f"input (the paper's fixed point)."))
    return figs


STUDY = register(Study(
    name="torre2025",
    paper="Torre, Viscione, Pompe, Grewe & Mante 2025, NeurIPS",
    summary="Noise-driven ReLU RNNs trained by Sinkhorn distribution matching emit HMM-like symbol sequences; "
            "without input they fall to one fixed point, and a few 'kick' units drive the transitions. Per-step "
            "cross-entropy matches only the marginals.",
    version="1",
    scales={"quick": QUICK, "paper": PAPER},
    claims=[
        Claim("marginals", f"In more than half of the Sinkhorn-trained networks every emission marginal of the "
              f"sampled symbols is within {_TOL['marginal']} of the HMM's.", _within("hmm_marginal_max_diff",
                                                                                    _TOL["marginal"])),
        Claim("transitions", f"In more than half of the Sinkhorn-trained networks every entry of the sampled "
              f"symbols' transition matrix is within {_TOL['transition']} of the HMM's.",
              _within("hmm_transition_max_diff", _TOL["transition"]), needs="paper"),
        Claim("residency", f"In more than half of the Sinkhorn-trained networks the residency-time distribution of "
              f"every symbol is within total-variation distance {_TOL['residency']} of the HMM's.",
              _within("hmm_residency_tv_max", _TOL["residency"]), needs="paper"),
        Claim("single_fixed_point", "Without input, the activity of more than half of the Sinkhorn-trained "
              "networks collapses to a single fixed point (all runs end within 1 % of their mean final state).",
              _single),
        Claim("kick_neurons", "Ablating the 3 units whose single ablation most lowers the transition rate lowers it "
              "more than ablating 3 random other units (a small set of units drives the transitions).", _kick),
        Claim("cross_entropy_fails", "Networks trained with per-step cross-entropy have transition matrices farther "
              "from the HMM's than Sinkhorn-trained networks (largest entry difference).", _ce_fails),
    ],
    figures=_figures,
    doc=__doc__ or "",
))
