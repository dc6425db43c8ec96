"""Figures of a training run: learning curves, example trials, time-constant histograms.

Each function draws one figure, writes it as PNG to ``path`` and returns the path.
"""

from __future__ import annotations

from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..models import RecurrentModel, run  # noqa: E402
from ..tasks import Task  # noqa: E402
from ..train import History  # noqa: E402

__all__ = ["loss_curve", "example_trials", "tau_histogram"]


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _members(ax, x, y, label, color):
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] > 1:
        ax.plot(x, y, color=color, alpha=0.25, lw=0.8)
        ax.plot(x, np.nanmean(y, 1), color=color, lw=2, label=f"{label} (mean of {y.shape[1]})")
    else:
        ax.plot(x, y.reshape(len(x), -1)[:, 0], color=color, lw=2, label=label)


def loss_curve(history: History, path: Path) -> Path:
    """Training and evaluation loss, the task metric and (for curricula) N against step."""
    steps = np.asarray(history.step)
    curriculum = bool(history.stages)
    n = 3 if curriculum else 2
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4))
    _members(axes[0], steps, history.train_loss, "train", "C0")
    _members(axes[0], steps, history.eval_loss, "eval", "C1")
    axes[0].set(xlabel="step", ylabel="loss", yscale="log", title="loss")
    axes[0].legend(fontsize=8)
    _members(axes[1], steps, history.metric, history.metric_name, "C2")
    axes[1].set(xlabel="step", ylabel=history.metric_name, title=history.metric_name)
    if history.metric_name == "mse":
        axes[1].set_yscale("log")
    if curriculum:
        _members(axes[2], steps, history.level, "N", "C3")
        axes[2].set(xlabel="step", ylabel="N", title="curriculum level")
    fig.tight_layout()
    return _save(fig, path)


def example_trials(model: RecurrentModel, task: Task, key, path: Path, n: int = 3) -> Path:
    """Inputs, targets (dashed), outputs (solid) and scored steps (shaded) of ``n`` trials.

    For cross-entropy tasks the output shown is the probability of the target's class
    family: ``softmax`` of each head, class 1.
    """
    batch = task.sample(key, n)
    _, out = run(model, batch.inputs, key)
    inputs, targets, mask, out = (np.asarray(a) for a in (batch.inputs, batch.targets, batch.mask, out))
    if task.loss == "cross_entropy":
        c = task.n_classes
        out = np.asarray(jax.nn.softmax(out.reshape(*out.shape[:-1], -1, c), -1))[..., 1]
        targets = targets.reshape(*targets.shape[:-1], -1, c)[..., 1]
        mask = mask.reshape(*mask.shape[:-1], -1, c)[..., 0]
    shown = np.flatnonzero(mask.reshape(-1, mask.shape[-1]).any(0))[:6]
    fig, axes = plt.subplots(2, n, figsize=(4.2 * n, 5), sharex=True, squeeze=False)
    t = np.arange(inputs.shape[1])
    for i in range(n):
        axes[0, i].plot(t, inputs[i], lw=1)
        axes[0, i].set_title(f"trial {i}: inputs")
        ax = axes[1, i]
        for j, ch in enumerate(shown):
            col = f"C{j % 10}"
            scored = mask[i, :, ch] > 0
            ax.plot(t, out[i, :, ch], color=col, lw=1.5)
            ax.plot(t[scored], targets[i, scored, ch], color=col, ls="--" if scored.sum() > 1 else "",
                    marker="" if scored.sum() > 1 else "o")
        ax.fill_between(t, 0, 1, where=mask[i].any(-1) > 0, transform=ax.get_xaxis_transform(),
                        color="grey", alpha=0.12, lw=0)
        ax.set(xlabel="step", title="outputs (solid), targets (dashed/dots)")
    fig.tight_layout()
    return _save(fig, path)


def tau_histogram(taus: np.ndarray, path: Path, stages: list[dict] | None = None) -> Path:
    """Histogram of single-neuron τ; with curriculum ``stages``, one per N reached (member 0)."""
    fig, ax = plt.subplots(figsize=(5, 3.4))
    taus = np.asarray(taus).ravel()
    if stages:
        seen = [s for s in stages if s["member"] == 0 and s["taus"]]
        for j, s in enumerate(seen):
            ax.hist(s["taus"], bins=30, histtype="step", lw=1.5, color=plt.cm.viridis(j / max(len(seen) - 1, 1)),
                    label=f"N={s['n']} (step {s['step']})")
    ax.hist(taus, bins=30, color="k", alpha=0.3, label="final")
    ax.set(xlabel="τ (units of dt)", ylabel="neurons", title="single-neuron time constants")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
