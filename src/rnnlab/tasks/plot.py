"""A picture of a task: a few example trials, inputs above targets, scored steps shaded."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from ._base import Task


def plot_examples(task: Task, key, n: int = 3, path: str | Path | None = None) -> Path:
    """Write a PNG of ``n`` example trials of ``task`` and return its path.

    Each column is one trial: inputs on top, targets below, with the steps where any
    target entry is scored (mask > 0) shaded. ``path`` defaults to ``<task name>_examples.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path if path is not None else f"{task.name}_examples.png")
    batch = jax.jit(lambda k: task.sample(k, n))(key)
    inputs, targets, mask = (np.asarray(a) for a in (batch.inputs, batch.targets, batch.mask))
    fig, axes = plt.subplots(2, n, figsize=(3.2 * n, 4.5), sharex=True, squeeze=False)
    t = np.arange(inputs.shape[1])
    for i in range(n):
        axes[0, i].plot(t, inputs[i], lw=1)
        axes[1, i].plot(t, targets[i], lw=1)
        scored = mask[i].max(axis=-1) > 0
        ax = axes[1, i]
        ax.fill_between(t, 0, 1, where=scored, step="mid", color="tab:orange", alpha=0.2, lw=0,
                        transform=ax.get_xaxis_transform())
        axes[0, i].set_title(f"trial {i}", fontsize=9)
        axes[1, i].set_xlabel("step")
    axes[0, 0].set_ylabel("inputs")
    axes[1, 0].set_ylabel("targets (scored shaded)")
    fig.suptitle(f"{task.name}: {task.description}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
