"""Per-network analyses a sweep can run on each finished network; each returns scalars."""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from ..models import RecurrentModel
from ..tasks import Task


def _ood_loss(model: RecurrentModel, task: Task) -> dict[str, Any]:
    """Loss on the task's harder (out-of-distribution) version, if it has one, else on fresh trials."""
    from ..models import run

    harder = task.harder() if hasattr(task, "harder") else task
    batch = harder.sample(jax.random.PRNGKey(2024), 256)
    _, out = run(model, batch.inputs)
    return {"ood_loss": float(harder.loss_fn(out, batch))}


def _weights_norm(model: RecurrentModel, task: Task) -> dict[str, Any]:
    """Frobenius norm and effective rank of the recurrent weights (if the model exposes them)."""
    if not hasattr(model, "recurrent_weights"):
        return {}
    W = np.asarray(model.recurrent_weights())
    s = np.linalg.svd(W, compute_uv=False)
    p = s / s.sum()
    return {"w_frobenius": float(np.linalg.norm(W)), "w_effective_rank": float(np.exp(-(p * np.log(p + 1e-30)).sum()))}


ANALYSES: dict[str, Callable[[RecurrentModel, Task], dict[str, Any]]] = {
    "ood_loss": _ood_loss,
    "weights_norm": _weights_norm,
}
