"""Sussillo & Barak 2013, "Opening the black box: low-dimensional dynamics in high-dimensional
recurrent neural networks" (*Neural Computation* 25:626–649): the 3-bit flip-flop.

Task (``rnnlab.tasks.FlipFlop``): three input channels of sparse ±1 pulses; output i holds the
sign of the last pulse on channel i, so the network must store 2³ = 8 memories.

Network: the paper trains a 1000-unit continuous-time tanh network
``τ ẋ = −x + J tanh(x) + B u`` with Hessian-free optimisation. Here: a discrete-time tanh RNN
``h_t = tanh(W h_{t−1} + U x_t + b)`` (rnnlab's ``leaky_rnn`` with τ = dt, τ not trained, the
network of Huang et al. 2025) trained with Adam to MSE ≤ 0.001 (the flip-flop threshold of
Huang et al.); at ``paper`` scale a 1000-unit leaky (Euler, τ = 10 dt) tanh network, closer to
the paper's continuous-time one. Chosen because the paper's optimiser (Hessian-free) is not in
rnnlab; the claims concern the trained solution, not the optimiser.

Analysis (``fixed_points`` per network, ``rnnlab.analysis.find_fixed_points``): minimise
``q(h) = ½‖F(h, 0) − h‖²`` from states visited on task trials, refine by Newton, classify by
the eigenvalues of the step Jacobian (discrete time: stable when every |λ| < 1; a saddle with
one unstable direction has exactly one |λ| > 1), and read out each point.

Claims (across seeds; each network is one sample):
  * ``eight_stable``: exactly 2³ = 8 stable fixed points;
  * ``corners``: their readouts are the 8 corners of the output cube {−1, +1}³;
  * ``saddles_between``: saddle points with one unstable direction whose readouts lie between
    two corners (one output coordinate near 0, the others near ±1), mediating the flips.
Tested as proportions: the fraction of networks with the property exceeds one half (one-sided
exact binomial test, Clopper–Pearson CI).

Trials are 50 steps with pulses at p = 0.1 per step and channel (Huang et al.'s setting): a
memory must last ~10 steps. Longer trials with rarer pulses would demand longer memories, but
rnnlab's flip-flop targets 0 before a channel's first pulse, so with rare pulses the network
must also hold an "unset" state per channel (3³ = 27 memories, not 8); a version tried once
trained networks with 14–122 fixed points. The paper's own trial statistics are not recorded
in our notes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register
from ._base import Claim, Condition, Scale, Study, StudyData
from .claims import proportion

_TASK = {"name": "flipflop", "params": {"n_bits": 3, "n_steps": 50, "p": 0.1}}
_FP = {"name": "fixed_points", "params": {"n_inits": 512, "corners": True}}

QUICK = Scale(
    name="quick",
    base={"task": _TASK,
          "model": {"name": "leaky_rnn", "params": {"hidden_size": 64, "dt": 1.0, "tau": 1.0, "train_tau": False}},
          "train": {"steps": 3000, "eval_every": 100, "batch_size": 32, "eval_batch_size": 128, "lr": 0.01,
                    "lr_schedule": "cosine", "threshold": 0.001, "patience": 1}},
    conditions=[Condition({"network": "tanh-64"})],
    seeds=6,
    analyses=[_FP],
    expected_minutes=1.0,
    estimate="measured: one whole quick run, idle 2-core machine",
)

PAPER = Scale(
    name="paper",
    base={"task": {"name": "flipflop", "params": {"n_bits": 3, "n_steps": 200, "p": 0.05}},
          "model": {"name": "leaky_rnn", "params": {"hidden_size": 1000, "dt": 1.0, "tau": 10.0,
                                                      "train_tau": False, "gain": 1.5}},
          "train": {"steps": 20000, "eval_every": 200, "batch_size": 64, "eval_batch_size": 256, "lr": 1e-3,
                    "lr_schedule": "cosine", "threshold": 0.001, "patience": 1}},
    conditions=[Condition({"network": "leaky-tanh-1000"})],
    seeds=10,
    analyses=[{"name": "fixed_points", "params": {"n_inits": 2048, "corners": True}}],
    expected_minutes=float("nan"),
    hardware="a workstation or Ray cluster",
    estimate="not measured: 10 × 1000-unit networks, 20,000 steps each",
)


def _finished(data: StudyData):
    t = data.table
    return t[t["status"].isin(["converged", "budget"])]


def _successes(t, cols: list[str], test) -> np.ndarray:
    """1.0 where ``test`` holds for a network, 0.0 where not, NaN where a column is missing (dropped)."""
    vals = [t[c].to_numpy(float) if c in t else np.full(len(t), np.nan) for c in cols]
    known = np.all([np.isfinite(v) for v in vals], axis=0)
    return np.where(known, test(*vals).astype(float), np.nan)


def _eight_stable(data: StudyData):
    return proportion(_successes(_finished(data), ["fp_n_stable"], lambda n: n == 8), 0.5)


def _corners(data: StudyData):
    # a network without stable points has no stable readouts at the corners (a failure, not a
    # missing value): its fraction at corners is undefined, its count of corners covered is 0
    t = _finished(data)
    at = np.nan_to_num(t["fp_stable_at_corners"].to_numpy(float)) if "fp_stable_at_corners" in t else 0.0
    return proportion(_successes(t, ["fp_corners_covered"], lambda c: (c == 8) & (at >= 1.0)), 0.5)


def _saddles(data: StudyData):
    return proportion(_successes(_finished(data), ["fp_saddles_between"], lambda s: s >= 1), 0.5)


def _figures(data: StudyData, out: Path) -> list[tuple[Path, str]]:
    from matplotlib.figure import Figure

    from ..analysis import find_fixed_points
    from ..models import run
    from ..store.run import Run

    out.mkdir(parents=True, exist_ok=True)
    t = _finished(data)
    figs = []
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, col, title in zip(axes, ["fp_n_stable", "fp_corners_covered", "fp_saddles_between"],
                              ["stable fixed points", "cube corners covered", "saddles between corners"]):
        vals = t[col].to_numpy(float) if col in t else np.array([])
        ax.bar(np.arange(len(vals)), vals, color="tab:blue")
        ax.axhline(8 if col != "fp_saddles_between" else 12, color="k", ls=":", lw=1,
                   label="ideal cube: 8 corners" if col != "fp_saddles_between" else "ideal cube: 12 edges")
        ax.set(xlabel="network (seed)", ylabel="count", title=title)
        ax.set_xticks(np.arange(len(vals)), [str(s) for s in t["seed"]][:len(vals)])
        ax.legend(fontsize=7)
    p = out / "fixed_point_counts.png"
    fig.savefig(p, dpi=110)
    figs.append((p, "Per network: stable fixed points (paper: 8), distinct cube corners their readouts "
                    "cover (paper: 8), and saddles with one unstable direction whose readout lies between two corners."))
    if len(t):
        run0 = Run(data.dir / "runs", t["id"].iloc[0])
        model, task = run0.load_model(), run0.config().build_task()
        import jax

        from ..tasks.compiled import sample_batch

        batch = sample_batch(task, jax.random.PRNGKey(0), 64)
        activity, _ = run(model, batch.inputs)
        fps = find_fixed_points(model, activity, n_init=512, key=0)
        p = out / "fixed_points_seed0.png"
        fps.plot(p)
        figs.append((p, f"Fixed points of network {t['id'].iloc[0]} (seed {t['seed'].iloc[0]}) in the first "
                        "principal components of its task trajectories: stable points and saddles."))
    return figs


STUDY = register(Study(
    name="sussillo2013",
    paper="Sussillo & Barak 2013, Neural Computation 25:626",
    summary="3-bit flip-flop: the trained network stores its 8 memories as 8 stable fixed points at the corners "
            "of the output cube, with saddles of one unstable direction between them.",
    version="1",
    scales={"quick": QUICK, "paper": PAPER},
    claims=[
        Claim("eight_stable", "The trained 3-bit flip-flop network has exactly 2³ = 8 stable fixed points.",
              _eight_stable),
        Claim("corners", "The readouts of the stable fixed points are the 8 corners of the output cube.", _corners),
        Claim("saddles_between", "Saddle points with one unstable direction lie between the stable fixed points "
              "(their readouts between two corners).", _saddles),
    ],
    figures=_figures,
    doc=__doc__ or "",
))
