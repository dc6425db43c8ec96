"""Per-network analyses a sweep (and so a study) runs on each finished network.

Each entry of ``ANALYSES`` is ``fn(model, task, ctx, **params) -> dict[str, scalar]``: the
trained ``model``, the task it was trained on, a ``NetworkContext`` with what else training
left (the initial model, the model at each curriculum stage, the history, the seed), and the
analysis's own parameters from the sweep file (``analyses: [{name: timescales, params:
{...}}]`` or just ``[timescales]``). The returned scalars become columns of the run table;
``run_analyses`` prefixes nothing, so names must be unique across analyses.

Conventions of the entries: every result is a flat scalar (booleans as 0/1 floats); a result
per curriculum level N is the column ``"<name>@N=<n>"`` (``"tau_mean@N=3"``), and one per
parameter value ``"<name>@<param>=<value>"`` with the value's decimal point written ``p``
(``"perturb_drop@eps=0p1"``, built by ``param_column``), so that no column name holds a ``.``;
random draws come from ``ctx.key(salt)`` only, so results are a function of the network and
its seed. A network is evaluated on the task it is given, at that task's level, laid out for
its readout heads.

Entries: ``ood_loss``, ``weights_norm`` (below); ``timescales``, ``network_timescales``,
``fixed_points``, ``rich_lazy``, ``ablation``, ``perturbation`` (``network_analyses``);
``forgetting``, ``generalisation`` (``curriculum_analyses``); ``neural_fit`` (comparison with a
recorded population, ``neural_fit_analysis``); ``hmm_emulation``, ``hmm_attractor``,
``kick_neurons`` (``hmm_analyses``); ``continual`` (accuracy matrix and backward transfer of a
continual run, ``rnnlab.continual.analysis``). Each docstring gives what it
measures, how, and the paper it follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import numpy as np

from ..models import RecurrentModel
from ..tasks import Task
from ..tasks.compiled import sample_batch
from ._levels import at_level, param_column

__all__ = ["NetworkContext", "ANALYSES", "run_analyses", "analysis_names", "param_column"]


@dataclass
class NetworkContext:
    """What an analysis may need besides the trained model.

    Attributes:
        initial_model: the model before training (``TrainResult.initial_model``), or None.
        stage_models: curriculum ``{N: model}``, the model at the moment it passed N
            (``TrainResult.stage_models(member)``); empty without a curriculum.
        history: the member's one-member ``History`` (or None).
        seed: the run's seed (analyses derive their PRNG keys from it).
        task_at: curriculum runs: ``task_at(N)`` is the task at level N laid out for the
            trained model's heads (``rnnlab.train.curricula.stage_task``); None otherwise.
    """

    initial_model: RecurrentModel | None = None
    stage_models: dict[int, RecurrentModel] = field(default_factory=dict)
    history: Any = None
    seed: int = 0
    task_at: Callable[[int], Task] | None = None

    def key(self, salt: int) -> jax.Array:
        return jax.random.fold_in(jax.random.PRNGKey(self.seed), salt)


def _ood_loss(model: RecurrentModel, task: Task, ctx: NetworkContext) -> dict[str, Any]:
    """Loss on the task's harder (out-of-distribution) version, if it has one, else on fresh trials.

    The trials come from a fixed key, the same for every network (not ``ctx.key``): the
    spread of this loss across networks is then behavioural degeneracy alone, without
    trial-sampling noise (Huang et al. 2025). The task is laid out for the model's heads.
    """
    from ..models import run

    task = at_level(task, model, name="ood_loss")
    harder = task.harder() if hasattr(task, "harder") else task
    batch = sample_batch(harder, jax.random.PRNGKey(2024), 256)
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


from . import curriculum_analyses as _cur, network_analyses as _net  # noqa: E402  (they use NetworkContext)
from . import hmm_analyses as _hmm  # noqa: E402
from . import neural_fit_analysis as _nf  # noqa: E402

ANALYSES: dict[str, Callable[..., dict[str, Any]]] = {
    "ood_loss": _ood_loss,
    "weights_norm": _weights_norm,
    "timescales": _net.timescales,
    "network_timescales": _net.network_timescales,
    "fixed_points": _net.fixed_points,
    "rich_lazy": _net.rich_lazy,
    "ablation": _net.ablation,
    "perturbation": _net.perturbation,
    "dimensionality": _net.dimensionality,
    "forgetting": _cur.forgetting,
    "generalisation": _cur.generalisation,
    "neural_fit": _nf.neural_fit,
    "hmm_emulation": _hmm.hmm_emulation,
    "hmm_attractor": _hmm.hmm_attractor,
    "kick_neurons": _hmm.kick_neurons,
}


def analysis_names(specs: list[Any]) -> list[str]:
    """The names in a list of analysis specs (``"name"`` or ``{"name": ..., "params": {...}}``)."""
    return [s if isinstance(s, str) else s["name"] for s in specs]


def _curriculum(model: RecurrentModel, task: Task, ctx: NetworkContext) -> dict[str, Any]:
    """Curriculum progress from the history: ``steps_to@N=n``, the training step at which the
    network passed level n (Khajehabdollahi, Zeraati et al. 2024 compare curricula by the
    training needed to reach each N), and ``max_n_passed``, the largest N passed (0 if none)."""
    if ctx.history is None:
        return {}
    passed = _passed(ctx.history)
    out: dict[str, Any] = {f"steps_to@N={n}": float(step) for n, step in sorted(passed.items())}
    out["max_n_passed"] = float(max(passed, default=0))
    return out


def _passed(history: Any) -> dict[int, int]:
    """``{N: step}`` at which member 0 passed N: reaching N + 1 means passing N; the last level is
    passed when the member converged."""
    reached = history.reached(0)
    passed = {n - 1: step for n, step in reached.items() if n - 1 >= 1 and n - 1 in reached}
    if history.status and history.status[0] == "converged" and reached:
        passed[max(reached)] = int(history.stop_step[0] or 0)
    return passed


ANALYSES["curriculum"] = _curriculum


def _continual(model: RecurrentModel, task: Task, ctx: NetworkContext, **params: Any) -> dict[str, Any]:
    """Continual learning: the accuracy matrix entries, average accuracy and backward transfer
    (``rnnlab.continual.analysis.continual_analysis``)."""
    from ..continual.analysis import continual_analysis

    return continual_analysis(model, task, ctx, **params)


ANALYSES["continual"] = _continual


def run_analyses(specs: list[Any], model: RecurrentModel, task: Task, ctx: NetworkContext) -> dict[str, Any]:
    """Run each analysis spec on one network; the union of their scalar results.

    Every analysis takes the parameter ``at``: ``"final"`` (default) analyses the trained model;
    ``"stages"`` every curriculum stage model (``ctx.stage_models``) on the task at its level,
    with each result key suffixed ``@N=<n>``; an integer n only the model that passed N = n
    (keys suffixed likewise; nothing if the network never passed n).
    """
    out: dict[str, Any] = {}
    for s in specs:
        name, params = (s, {}) if isinstance(s, str) else (s["name"], dict(s.get("params") or {}))
        at = params.pop("at", "final")
        fn = ANALYSES[name]
        if at == "final":
            out.update(fn(model, task, ctx, **params))
            continue
        ns = sorted(ctx.stage_models) if at == "stages" else [int(at)]
        for n in ns:
            if n not in ctx.stage_models or ctx.task_at is None:
                continue
            res = fn(ctx.stage_models[n], ctx.task_at(n), ctx, **params)
            out.update({f"{k}@N={n}": v for k, v in res.items()})
    return out
