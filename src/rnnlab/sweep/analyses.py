"""Per-network analyses a sweep (and so a study) runs on each finished network.

Each entry of ``ANALYSES`` is ``fn(model, task, ctx, **params) -> dict[str, scalar]``: the
trained ``model``, the task it was trained on, a ``NetworkContext`` with what else training
left (the initial model, the model at each curriculum stage, the history, the seed), and the
analysis's own parameters from the sweep file (``analyses: [{name: timescales, params:
{...}}]`` or just ``[timescales]``). The returned scalars become columns of the run table;
``run_analyses`` prefixes nothing, so names must be unique across analyses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import numpy as np

from ..models import RecurrentModel
from ..tasks import Task

__all__ = ["NetworkContext", "ANALYSES", "run_analyses", "analysis_names"]


@dataclass
class NetworkContext:
    """What an analysis may need besides the trained model.

    Attributes:
        initial_model: the model before training (``TrainResult.initial_model``), or None.
        stage_models: curriculum ``{N: model}``, the model at the moment it passed N
            (``TrainResult.stage_models(member)``); empty without a curriculum.
        history: the member's one-member ``History`` (or None).
        seed: the run's seed (analyses derive their PRNG keys from it).
    """

    initial_model: RecurrentModel | None = None
    stage_models: dict[int, RecurrentModel] = field(default_factory=dict)
    history: Any = None
    seed: int = 0

    def key(self, salt: int) -> jax.Array:
        return jax.random.fold_in(jax.random.PRNGKey(self.seed), salt)


def _ood_loss(model: RecurrentModel, task: Task, ctx: NetworkContext) -> dict[str, Any]:
    """Loss on the task's harder (out-of-distribution) version, if it has one, else on fresh trials."""
    from ..models import run

    harder = task.harder() if hasattr(task, "harder") else task
    batch = harder.sample(jax.random.PRNGKey(2024), 256)
    _, out = run(model, batch.inputs)
    return {"ood_loss": float(harder.loss_fn(out, batch))}


def _weights_norm(model: RecurrentModel, task: Task, ctx: NetworkContext) -> dict[str, Any]:
    """Frobenius norm and effective rank of the recurrent weights (if the model exposes them)."""
    if not hasattr(model, "recurrent_weights"):
        return {}
    W = np.asarray(model.recurrent_weights())
    s = np.linalg.svd(W, compute_uv=False)
    p = s / s.sum()
    return {"w_frobenius": float(np.linalg.norm(W)), "w_effective_rank": float(np.exp(-(p * np.log(p + 1e-30)).sum()))}


ANALYSES: dict[str, Callable[..., dict[str, Any]]] = {
    "ood_loss": _ood_loss,
    "weights_norm": _weights_norm,
}


def analysis_names(specs: list[Any]) -> list[str]:
    """The names in a list of analysis specs (``"name"`` or ``{"name": ..., "params": {...}}``)."""
    return [s if isinstance(s, str) else s["name"] for s in specs]


def run_analyses(specs: list[Any], model: RecurrentModel, task: Task, ctx: NetworkContext) -> dict[str, Any]:
    """Run each analysis spec on one network; the union of their scalar results."""
    out: dict[str, Any] = {}
    for s in specs:
        name, params = (s, {}) if isinstance(s, str) else (s["name"], dict(s.get("params") or {}))
        out.update(ANALYSES[name](model, task, ctx, **params))
    return out
