"""The per-network sweep analysis of a continual run: its accuracy matrix as flat columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from .sequence import accuracy_matrix_metrics, sequence, stage_accuracies

if TYPE_CHECKING:  # pragma: no cover
    from ..sweep.analyses import NetworkContext

__all__ = ["continual_analysis"]

_SALT = 31


def continual_analysis(model: Any, task: Any, ctx: "NetworkContext", batch_size: int = 512) -> dict[str, float]:
    """Forgetting along a task sequence (Lopez-Paz & Ranzato 2017), re-measured on fresh trials.

    ``ctx.stage_models`` holds the model after each stage s = 1..S (what ``train_continual``
    records); each is evaluated on ``batch_size`` trials of every task ``j`` (trials drawn from
    ``ctx.key``, the same for every stage model), giving ``R[s, j]``. Columns
    (``sequence.accuracy_matrix_metrics``): ``acc@stage=s,task=j``, ``acc_average`` (mean of the
    last row), ``acc_bwt`` (backward transfer: mean over j < S of ``R[S, j] − R[j, j]``),
    ``acc_first_final`` (task 1 after the last stage), ``acc_learned`` (mean of the diagonal).
    """
    seq = sequence(task)
    S = seq.n_stages
    if sorted(ctx.stage_models) != list(range(1, S + 1)):
        raise ConfigError(f"continual: needs the model after each of the {S} stages (ctx.stage_models has "
                          f"{sorted(ctx.stage_models)}); train with train.continual")
    key = ctx.key(_SALT)
    R = np.stack([stage_accuracies(ctx.stage_models[s], seq, key, batch_size) for s in range(1, S + 1)])
    return accuracy_matrix_metrics(R)
