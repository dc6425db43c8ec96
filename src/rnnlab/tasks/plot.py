"""A picture of a task: a few example trials, inputs above targets, scored steps shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._base import Task
from .compiled import sample_batch

_MAX_LINES = 10  # channels drawn per panel (and named in the legend); more are summarised


def plot_examples(task: Task, key, n: int = 3, path: str | Path | None = None) -> Path:
    """Write a PNG of ``n`` example trials of ``task`` and return its path.

    Each column is one trial: inputs on top, targets below, each channel a step line (values
    hold for a whole time step: a bit is a plateau, not a ramp) named in the legend. Time is
    in the task's unit (``Task.clock``: ms where ``dt`` is in ms, else steps). The steps where
    a target entry is scored (mask > 0) are shaded one step wide each, so a single scored step
    shows; targets that are never scored in the trial (unused readout heads) are left out and
    the legend says so. ``path`` defaults to ``<task name>_examples.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path if path is not None else f"{task.name}_examples.png")
    batch = sample_batch(task, key, n)
    inputs, targets, mask = (np.asarray(a) for a in (batch.inputs, batch.targets, batch.mask))
    dt, unit = task.clock()
    T = inputs.shape[1]
    t = np.arange(T) * dt
    fig, axes = plt.subplots(2, n, figsize=(3.4 * n + 1.6, 4.8), sharex=True, squeeze=False)
    for i in range(n):
        scored = mask[i] > 0
        _lines(axes[0, i], t, inputs[i], np.ones(inputs.shape[-1], bool), "in")
        _lines(axes[1, i], t, targets[i], scored.any(axis=0), "target")
        ax = axes[1, i]
        for s in np.flatnonzero(scored.any(axis=-1)):
            ax.axvspan(t[s] - dt / 2, t[s] + dt / 2, color="tab:orange", alpha=0.18, lw=0)
        axes[0, i].set_title(f"trial {i}", fontsize=9)
        axes[1, i].set_xlabel(f"time ({unit})")
    axes[0, 0].set_ylabel("inputs")
    axes[1, 0].set_ylabel("targets (scored steps shaded)")
    for row in (0, 1):
        handles, labels = axes[row, -1].get_legend_handles_labels()
        if handles:
            axes[row, -1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                                 frameon=False)
    fig.suptitle(f"{task.name}: {task.description}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _lines(ax, t: np.ndarray, values: np.ndarray, keep: np.ndarray, prefix: str) -> None:
    """Step lines of the channels in ``keep`` (at most ``_MAX_LINES`` labelled; the rest grey)."""
    shown = np.flatnonzero(keep)
    for k, c in enumerate(shown):
        label = f"{prefix} {c}" if k < _MAX_LINES else None
        style = {} if k < _MAX_LINES else {"color": "0.7"}
        ax.plot(t, values[:, c], drawstyle="steps-mid", lw=1, label=label, **style)
    hidden = len(keep) - len(shown)
    if hidden:
        ax.plot([], [], " ", label=f"({hidden} never-scored {prefix} channels not drawn)")
    if len(shown) > _MAX_LINES:
        ax.plot([], [], color="0.7", label=f"{len(shown) - _MAX_LINES} more (grey)")
