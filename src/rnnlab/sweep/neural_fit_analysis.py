"""Per-network sweep analysis ``neural_fit``: a network against the population it was fitted to.

Registered in ``rnnlab.sweep.analyses.ANALYSES`` as ``neural_fit`` (see that module for the
conventions). Uses ``rnnlab.analysis.neural_fit`` on ``n_trials`` trials from a fixed key (the
same trials for every network), cut to the teacher's movement period for ``reaching``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import numpy as np

from ..analysis.neural_fit import neural_fit as _neural_fit, state_r2, teacher_trials
from ..errors import ConfigError
from ..models import RecurrentModel, run
from ..objectives.data_constrained import recording_columns
from ..tasks import Task
from ..tasks.compiled import sample_batch

if TYPE_CHECKING:
    from .analyses import NetworkContext

__all__ = ["neural_fit"]


def _behaviour(model: RecurrentModel, task: Task, n_trials: int) -> tuple[float, float]:
    """MSE of the behavioural outputs and ``R² = 1 − MSE / Var(targets)`` over the scored entries."""
    nb, _ = recording_columns(task)
    batch = sample_batch(task, jax.random.PRNGKey(2025), n_trials)
    _, out = run(model, batch.inputs)
    y, m, o = (np.asarray(a)[..., :nb] for a in (batch.targets, batch.mask, out))
    mse = float((m * (o - y) ** 2).sum() / max(m.sum(), 1.0))
    mean = (m * y).sum() / max(m.sum(), 1.0)
    var = float((m * (y - mean) ** 2).sum() / max(m.sum(), 1.0))
    return mse, 1.0 - mse / var if var > 0 else float("nan")


def neural_fit(model: RecurrentModel, task: Task, ctx: "NetworkContext", n_trials: int = 128,
               common_recorded: int | None = None, n_pcs: int = 20, folds: int = 5, n_components: int = 10,
               dsa_delays: int | None = 5, dsa_rank: int = 8) -> dict[str, float]:
    """A network compared with its task's teacher population (``reaching``) or recordings.

    Columns: ``behaviour_mse``, ``behaviour_r2`` (the behavioural outputs only, not the recorded
    columns); ``teacher_r2_heldout`` / ``teacher_r2_recorded``: cross-validated state R² of the
    teacher units not recorded / recorded in this network's task (full state);
    ``teacher_r2_common`` and ``teacher_r2_common_pcs`` (top ``n_pcs`` state PCs): the same
    on a set of units held out at every condition of a study, the teacher units outside the
    first ``common_recorded`` of the task's recording order (``reaching``: its
    ``recorded_units()`` at ``n_recorded = common_recorded``); ``teacher_cca`` (mean canonical
    correlation of the top ``n_components`` PCs), ``teacher_procrustes`` (angular, rad),
    ``teacher_dsa`` (angular, rad; NaN with ``dsa_delays: null``).
    """
    if common_recorded is not None and common_recorded < 0:
        raise ConfigError(f"analyses.neural_fit.common_recorded: must be >= 0, got {common_recorded}")
    H, Y, _, groups = teacher_trials(model, task, n_trials=n_trials, key=jax.random.PRNGKey(2024))
    reaching = getattr(task, "name", "") == "reaching"
    recorded = task.recorded_units() if reaching else np.arange(Y.shape[-1])
    fit = _neural_fit(H, Y, recorded=recorded, folds=folds, n_components=n_components, dsa_delays=dsa_delays,
                      dsa_rank=dsa_rank, seed=ctx.seed)
    mse, r2 = _behaviour(model, task, n_trials)
    out = {"behaviour_mse": mse, "behaviour_r2": r2, "teacher_r2_heldout": fit.r2_heldout,
           "teacher_r2_recorded": fit.r2_recorded, "teacher_cca": fit.cca_mean,
           "teacher_procrustes": fit.procrustes, "teacher_dsa": fit.dsa}
    if common_recorded is not None and reaching:
        if common_recorded > task.n_teacher:
            raise ConfigError(f"analyses.neural_fit.common_recorded: at most n_teacher = {task.n_teacher}")
        held = np.setdiff1d(np.arange(task.n_teacher),
                            task.model_copy(update={"n_recorded": common_recorded}).recorded_units())
        out["teacher_r2_common"] = float(np.nanmean(fit.r2[held])) if held.size else float("nan")
        pcs = state_r2(H, Y[..., held], folds=folds, seed=ctx.seed, n_pcs=n_pcs) if held.size else None
        out["teacher_r2_common_pcs"] = pcs.mean if pcs is not None else float("nan")
    return out
