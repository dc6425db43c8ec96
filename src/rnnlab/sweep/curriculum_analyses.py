"""Per-network analyses of curricula over the memory depth N (Khajehabdollahi, Zeraati et al.,
ICLR 2024): forgetting of earlier N, and generalisation beyond the trained regime.

Same contract as ``network_analyses``: ``fn(model, task, ctx, **params) -> {column: float}``,
keys from ``ctx.key(salt)``, per-level columns ``"<name>@N=<n>"``. Head N of a curriculum
network answers level N (``rnnlab.train.curricula``); "accuracy at N" below is the accuracy
of head N alone on trials of level N (``heads="single"``), whatever the curriculum's kind.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..models import RecurrentModel
from ..tasks import Task
from ..tasks.compiled import sample_batch
from ..train import train
from ._levels import at_level, final_level, metric, param_column, per_n, stage_list

if TYPE_CHECKING:
    from .analyses import NetworkContext

__all__ = ["forgetting", "generalisation"]

_FORGET, _GEN = 21, 22


def forgetting(model: RecurrentModel, task: Task, ctx: "NetworkContext", batch_size: int = 512) -> dict[str, float]:
    """Catastrophic forgetting along a curriculum: does the final network still solve earlier N?

    For each level n in ``ctx.stage_models`` (the model at the moment it passed n), on one
    batch of ``batch_size`` level-n trials: ``acc_stage@N=n``, the accuracy of head n of that
    stage model, and ``acc_final@N=n``, the accuracy of head n of the final model.
    ``forgetting_mean`` is the mean of ``acc_stage − acc_final`` over the earlier levels, those
    below the level the final model ended at (the history's last level; without a history,
    every stage but the last), NaN if there are none. Khajehabdollahi, Zeraati et al. report
    that single-head networks forget earlier N (their old heads are no longer trained while the
    recurrent weights move on) and multi-head networks, which keep training every head, do not.
    """
    if not task.has_levels:
        raise ConfigError(f"forgetting: task '{task.name}' has no levels N (use nparity or ndms)")
    if not ctx.stage_models:
        raise ConfigError("forgetting: needs the curriculum stage models (ctx.stage_models is empty)")
    n_final = final_level(task, ctx)
    key = ctx.key(_FORGET)
    out: dict[str, float] = {}
    drops = []
    for n, stage in stage_list(ctx):
        t = at_level(task, model, n, heads="single", name="forgetting")
        batch = sample_batch(t, jax.random.fold_in(key, n), batch_size)
        a_stage, a_final = metric(stage, t, batch), metric(model, t, batch)
        out[per_n("acc_stage", n)], out[per_n("acc_final", n)] = a_stage, a_final
        if n < n_final:
            drops.append(a_stage - a_final)
    out["forgetting_mean"] = float(np.mean(drops)) if drops else float("nan")
    return out


def generalisation(
    model: RecurrentModel,
    task: Task,
    ctx: "NetworkContext",
    factors: Sequence[float] = (2.0, 4.0),
    batch_size: int = 512,
    finetune_steps: int = 0,
    finetune_threshold: float = 0.98,
    finetune_lr: float = 1e-3,
    finetune_batch_size: int = 64,
    finetune_eval_every: int = 50,
) -> dict[str, float]:
    """Generalisation beyond the trained regime, in two measurable forms.

    What the paper claims (abstract of Khajehabdollahi, Zeraati et al. 2024): the multi-head
    curriculum "allows RNNs to generalize better to tasks beyond their training regime". Its
    exact protocol was not extracted into rnnlab's notes, so this analysis measures the two
    closest things the trained model allows, and neither should be read as the paper's number:

    1. Longer sequences at the trained N (no training): ``gen_metric``, the task metric of
       the final model at its final level N (head N alone for levelled tasks), and
       ``gen_metric@x=<f>`` for each factor f in ``factors``, on trials up to f times longer
       (``task.harder(f)``: lengths U[N+2, f·(4N+1)] for the memory tasks, f× the steps for
       others), on the same key. ``f = 1`` is the trained distribution itself.
    2. Learning the next level (``finetune_steps > 0``; levelled tasks only; costly: a
       training run of up to that many steps): the final model is trained on level N + 1 with
       Adam (``finetune_lr``, ``finetune_batch_size``), head N + 1 alone scored. The head is the
       model's own (one-head layout: the single head is retrained; a slot for N + 1 already
       allocated: used as it is) or, when every head is taken, a new one appended with
       Equinox's default initialisation. Columns: ``gen_zero_shot`` (head N + 1 on level
       N + 1 before any training: chance for an untrained head), ``gen_finetune_steps``
       (steps until the accuracy reached ``finetune_threshold``, resolved to
       ``finetune_eval_every``; NaN if not within the budget), ``gen_finetune_metric`` (the
       accuracy at the end). The paper's curricula instead add N + 1 while they keep training
       the earlier heads (multi-head); this measures how quickly the trained dynamics support
       one more level.
    """
    t = at_level(task, model, heads="single" if task.has_levels else None, name="generalisation")
    key = ctx.key(_GEN)
    out = {"gen_metric": metric(model, t, sample_batch(t, key, batch_size))}
    for f in factors:
        longer = t.harder(float(f))
        out[param_column("gen_metric", "x", f)] = metric(model, longer, sample_batch(longer, key, batch_size))
    if finetune_steps > 0:
        if not task.has_levels:
            raise ConfigError(f"generalisation.finetune_steps: task '{task.name}' has no levels N")
        out.update(_next_level(model, task, int(t.params()["n"]) + 1, jax.random.fold_in(key, 1), finetune_steps, finetune_threshold,
                               finetune_lr, finetune_batch_size, finetune_eval_every, batch_size))
    return out


def _with_head(model: RecurrentModel, n: int, n_classes: int, key: jax.Array) -> RecurrentModel:
    """``model`` with a readout head for level ``n``: unchanged if it has one head (reused) or
    ``n`` heads already, else new heads appended up to ``n`` (Equinox's default init)."""
    old = model.readout_layer
    slots = old.out_features // n_classes
    if slots == 1 or slots >= n:
        return model
    lin = eqx.nn.Linear(old.in_features, n * n_classes, use_bias=old.bias is not None, key=key)
    new = eqx.tree_at(lambda m: m.weight, lin, jnp.concatenate([old.weight, lin.weight[old.out_features:]]))
    if old.bias is not None:
        new = eqx.tree_at(lambda m: m.bias, new, jnp.concatenate([old.bias, lin.bias[old.out_features:]]))
    return eqx.tree_at(lambda m: m.readout_layer, model, new)


def _next_level(model, task, n, key, steps, threshold, lr, batch_size, eval_every, eval_batch) -> dict[str, float]:
    k_head, k_eval, k_train = jax.random.split(key, 3)
    m = _with_head(model, n, task.n_classes, k_head)
    t = at_level(task, m, n, heads="single", name="generalisation")
    zero = metric(m, t, sample_batch(t, k_eval, eval_batch))
    res = train(m, t, key=k_train, steps=int(steps), threshold=threshold, lr=lr, batch_size=batch_size,
                eval_every=eval_every, eval_batch_size=eval_batch, progress=False)
    h = res.history
    done = h.status[0] == "converged"
    return {
        "gen_zero_shot": zero,
        "gen_finetune_steps": float(h.stop_step[0]) if done else math.nan,
        "gen_finetune_metric": float(h.metric[-1][0]) if h.metric else zero,
    }
