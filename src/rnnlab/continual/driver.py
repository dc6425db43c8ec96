"""The continual-learning driver: the stages of a task sequence trained one after another.

``train_continual(model, task, config)`` trains stage 0, 1, …, S−1 of ``sequence(task)`` each
with ``rnnlab.train`` (one jitted training program, the same for every stage: the stage index
is the traced ``TrainState.level`` the task samples with), the method's objective carrying
what the earlier stages left (``methods``: penalty, projectors, lateral weights). A stage
starts from the previous stage's model with a fresh optimiser state, ``train.steps`` steps and
the ordinary stopping rules (``threshold``); member ``e``'s key is its member key for stage 0
and ``fold_in(key of stage s − 1, s)`` for stage s. After each stage the driver measures the
accuracy on every task (``R[s, j]``, on ``eval_batch_size`` trials drawn with a fixed key, the
same for every network) and lets the method build the next objective from the finished model.

Ensembles: the members train as one program (``per_member`` objectives, one set of arrays per
member); member e equals the run with its member key alone.

Resuming: ``on_eval`` receives a ``ContinualCheckpoint`` after every evaluation: the stage
index, the stage's ``TrainState``, the method's objective, the accuracy rows so far and the
history of all stages. ``tree()``/``from_tree`` turn it into a single pytree of arrays (the run
store writes it with its ordinary checkpoint files; never pickle) and back;
``train_continual(..., resume=ckpt)`` ends exactly where the uninterrupted run ends.

The returned ``ContinualResult`` is a ``TrainResult`` (final model, the concatenated history
with the step counts running on across stages, the initial model) whose ``stage_models``
``{s: model}`` (1-based, ``History.passed`` entries ``n = s``) hold each stage's final model,
plus ``accuracy``, the matrix ``R`` (``[S, S]``; ``[E, S, S]`` for an ensemble).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from pydantic import ValidationError

from .._registry import format_validation_error
from ..errors import ConfigError
from ..models import ModelConfig, RecurrentModel
from ..objectives import Objective
from ..train import Checkpoint, History, TrainConfig, TrainResult, TrainState, initial_state, member, train
from ..train.history import stage_file
from ..train.optim import make_optimizer
from ..train.preflight import check_job
from . import populations as pops
from .methods import initial_objective
from .sequence import SequenceTask, sequence, stage_accuracies

__all__ = ["ContinualCheckpoint", "ContinualResult", "train_continual", "skeleton", "check_config", "EVAL_KEY"]

#: the key of the accuracy-matrix trials (the same for every network, so R entries compare)
EVAL_KEY = 7919


@dataclass
class ContinualCheckpoint:
    """Where a continual run stands (module doc). ``state``: the current stage's ``TrainState``;
    ``objective``: the method's objective for this stage; ``accuracy``: ``[S, E, S]`` (NaN rows
    for stages not finished); ``history``: all stages so far (``n_evals`` of this stage are its
    last evaluations); ``eval0``, ``step0``, ``wall0``: where this stage starts in it."""

    stage: int
    state: TrainState
    objective: Objective
    accuracy: np.ndarray
    history: History
    eval0: int
    step0: int
    wall0: float
    initial_model: Any = None
    stage_models: dict = field(default_factory=dict)

    def tree(self) -> tuple:
        """The arrays to save: ``(state, objective, accuracy, [stage, eval0, step0], wall0)``."""
        return (self.state, self.objective, jnp.asarray(self.accuracy, jnp.float32),
                jnp.asarray([self.stage, self.eval0, self.step0], jnp.int32), jnp.asarray(self.wall0, jnp.float32))

    @classmethod
    def from_tree(cls, tree: tuple, history: History, initial_model=None, stage_models=None) -> "ContinualCheckpoint":
        state, objective, acc, meta, wall0 = tree
        stage, eval0, step0 = (int(v) for v in np.asarray(meta))
        return cls(stage, state, objective, np.asarray(acc, float), history, eval0, step0, float(wall0),
                   initial_model, dict(stage_models or {}))


@dataclass
class ContinualResult(TrainResult):
    """``TrainResult`` plus the accuracy matrix ``accuracy`` (``R[s, j]``: after stage s on task j)."""

    accuracy: np.ndarray | None = None
    objective: Objective | None = None
    #: the last stage's final checkpoint (before its stage model is recorded): resuming from it
    #: recomputes the end of the run exactly
    checkpoint: ContinualCheckpoint | None = None


def check_config(model: Any, task: Any, cfg: TrainConfig) -> None:
    """Everything a continual run needs, checked before anything is built or trained
    (``ConfigError`` naming the field): see ``train_continual``'s Raises."""
    _check(cfg, model)
    sequence(task)


def _check(cfg: TrainConfig, model: Any) -> None:
    cc = cfg.continual
    if cc is None:
        raise ConfigError("train.continual: not set (give {method: finetune|ewc|projection|hlop, ...})")
    if cc.method in ("projection", "hlop"):
        pops.check_model(model, cc.method)
    if cc.method in ("projection", "hlop") and cfg.optimizer != "sgd":
        raise ConfigError(f"train.optimizer: continual method '{cc.method}' needs 'sgd' (Adam rescales each "
                          f"weight's step, which takes the update out of the projected subspace); got "
                          f"'{cfg.optimizer}'")
    if cfg.curriculum is not None:
        raise ConfigError("train.curriculum: cannot be combined with train.continual")


def _stage_state(model, keys, opt, stage: int, vmapped: bool) -> TrainState:
    """A fresh state for ``stage``: the model as it is, a new optimiser state, and the stage key
    ``fold_in(previous stage's key, stage)`` (``keys`` as they are for stage 0)."""
    def one(m, k):
        return TrainState(model=m, opt_state=opt.init(eqx.filter(m, eqx.is_inexact_array)),
                          key=k if stage == 0 else jax.random.fold_in(k, stage), step=jnp.asarray(0, jnp.int32),
                          level=jnp.asarray(stage, jnp.int32), done=jnp.asarray(False), failed=jnp.asarray(False),
                          passes=jnp.asarray(0, jnp.int32))
    return eqx.filter_vmap(one)(model, keys) if vmapped else one(model, keys)


def _shift(h: History, step0: int, wall0: float) -> dict:
    """The per-evaluation fields of a stage's history with steps and times running on."""
    return {"step": [s + step0 for s in h.step], "wall_time": [w + wall0 for w in h.wall_time],
            "train_loss": list(h.train_loss), "eval_loss": list(h.eval_loss), "metric": list(h.metric),
            "level": list(h.level)}


def _joined(prefix: History, stage: History, eval0: int, step0: int, wall0: float) -> History:
    """The history of all stages: ``prefix``'s first ``eval0`` evaluations, then ``stage`` shifted."""
    d = prefix.to_dict()
    out = {k: (d[k][:eval0] + v) for k, v in _shift(stage, step0, wall0).items()}
    stop = [None if s is None else s + step0 for s in stage.stop_step]
    return History(**{**d, **out, "status": list(stage.status), "stop_step": stop})


def _split(h: History, eval0: int, step0: int, wall0: float) -> History:
    """The current stage's own history out of the joined one (inverse of ``_joined``)."""
    return History(
        n_members=h.n_members, metric_name=h.metric_name, step=[s - step0 for s in h.step[eval0:]],
        wall_time=[w - wall0 for w in h.wall_time[eval0:]], train_loss=h.train_loss[eval0:],
        eval_loss=h.eval_loss[eval0:], metric=h.metric[eval0:], level=h.level[eval0:],
        status=list(h.status), stop_step=[None if s is None else s - step0 for s in h.stop_step])


def _after_stage(objective, model, task: SequenceTask, stage, keys, vmapped: bool):
    fn = lambda o, m, k: o.after_stage(m, task, stage, jax.random.fold_in(jax.random.fold_in(k, stage), 99))  # noqa: E731
    if vmapped and objective.per_member:
        return eqx.filter_jit(eqx.filter_vmap(fn, in_axes=(0, 0, 0)))(objective, model, keys)
    if vmapped:
        return objective  # shared (finetune): nothing carried
    return eqx.filter_jit(fn)(objective, model, keys)


def _stack(tree, E: int):
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (E, *jnp.shape(a))) if eqx.is_array(a) else a, tree)


def train_continual(
    model: RecurrentModel | ModelConfig,
    task: Any,
    config: TrainConfig | None = None,
    *,
    key: jax.Array | int = 0,
    progress: bool = True,
    on_eval: Callable[[ContinualCheckpoint], None] | None = None,
    resume: ContinualCheckpoint | None = None,
    **settings: Any,
) -> ContinualResult:
    """Learn the sub-tasks of the multitask ``task`` one after another (module doc).

    Args:
        model: a ``ModelConfig`` or a built model (an ensemble builds its members from the config).
        task: a ``multitask`` (its sub-tasks are the stages, in order) or a ``SequenceTask``.
        config: a ``TrainConfig`` with ``continual`` set, or its fields as keyword ``settings``
            (``continual={"method": "ewc", "ewc_lambda": 100}``, ``steps=`` per stage, ...).
        key: PRNG key or integer seed (for an ensemble also a stack of member keys).
        on_eval: called with a ``ContinualCheckpoint`` after every evaluation of every stage.
        resume: a ``ContinualCheckpoint`` to continue from.

    Raises:
        ConfigError: naming the field: no ``continual`` block, an unknown method or bad
            parameter, a task that is not a multitask of ≥ 2 tasks, a projection method with
            another optimiser than SGD or a model whose weights it cannot project.
    """
    try:
        cfg = config.model_copy(update=settings) if config is not None else TrainConfig(**settings)
        cfg = TrainConfig(**cfg.model_dump())
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, "train", TrainConfig)) from None
    _check(cfg, model)
    cc, seq = cfg.continual, sequence(task)
    stage_cfg = cfg.model_copy(update={"continual": None})
    model_cfg = model.cfg if isinstance(model, RecurrentModel) else model
    check_job(model_cfg, seq, stage_cfg)
    if isinstance(key, int):
        key = jax.random.PRNGKey(key)
    opt = make_optimizer(stage_cfg)
    vmapped, E, S = cfg.ensemble is not None, cfg.ensemble or 1, seq.n_stages

    if resume is None:
        ck, n_evals = _fresh(model, seq, stage_cfg, cc, key, opt), 0
    else:
        ck = resume
        initial_objective(cc.method, member(ck.state.model, 0) if vmapped else ck.state.model, cc)  # checks
        n_evals = len(ck.history.step) - ck.eval0
    result = None
    for s in range(ck.stage, S):
        inner = Checkpoint(ck.state, _split(ck.history, ck.eval0, ck.step0, ck.wall0), n_evals, ck.state.model)

        def hook(c: Checkpoint, now=ck) -> None:
            if on_eval is not None:
                on_eval(replace(now, state=c.state, history=_joined(now.history, c.history, now.eval0, now.step0,
                                                                    now.wall0)))

        result = train(model_cfg, seq, stage_cfg, key=key, progress=progress, on_eval=hook, resume=inner,
                       loss=ck.objective)
        history = _joined(ck.history, result.history, ck.eval0, ck.step0, ck.wall0)
        last = replace(ck, state=result.state, history=History.from_dict(history.to_dict()))
        R = ck.accuracy.copy()
        R[s] = np.asarray(stage_accuracies(result.model, seq, jax.random.PRNGKey(EVAL_KEY), cfg.eval_batch_size,
                                           vmapped)).reshape(E, S)
        stage_models = dict(ck.stage_models)
        step_now = history.step[-1] if history.step else ck.step0
        for e in range(E):
            history.passed.append({"member": e, "n": s + 1, "step": int(step_now),
                                   "file": stage_file(s + 1, e if vmapped else None)})
            stage_models[(e, s + 1)] = jax.device_get(member(result.model, e) if vmapped else result.model)
        if s + 1 == S:
            ck = replace(ck, accuracy=R, history=history, stage_models=stage_models)
            break
        objective = _after_stage(ck.objective, result.model, seq, jnp.asarray(s), result.state.key, vmapped)
        ck = ContinualCheckpoint(s + 1, _stage_state(result.model, result.state.key, opt, s + 1, vmapped), objective,
                                 R, _running(history), len(history.step), int(step_now),
                                 float(history.wall_time[-1]) if history.wall_time else ck.wall0,
                                 ck.initial_model, stage_models)
        n_evals = 0
    acc = ck.accuracy.transpose(1, 0, 2)  # [E, S, S]
    return ContinualResult(result.model, ck.history, result.state, cfg, ck.initial_model, ck.stage_models,
                           accuracy=acc if vmapped else acc[0], objective=ck.objective, checkpoint=last)


def _fresh(model, seq: SequenceTask, stage_cfg: TrainConfig, cc, key, opt) -> ContinualCheckpoint:
    """The checkpoint a continual run starts from (stage 0, the initial model, no accuracies)."""
    vmapped, E, S = stage_cfg.ensemble is not None, stage_cfg.ensemble or 1, seq.n_stages
    st0 = initial_state(model, seq, stage_cfg, key, opt)
    objective = initial_objective(cc.method, member(st0.model, 0) if vmapped else st0.model, cc)
    if vmapped and objective.per_member:
        objective = _stack(objective, E)
    return ContinualCheckpoint(0, _stage_state(st0.model, st0.key, opt, 0, vmapped), objective,
                               np.full((S, E, S), np.nan), History(E, seq.metric_name), 0, 0, 0.0, st0.model)


def skeleton(model: ModelConfig, task: Any, cfg: TrainConfig, key) -> tuple:
    """The array structure of a continual run's checkpoint (``ContinualCheckpoint.tree``), to read one into."""
    _check(cfg, model)
    stage_cfg = cfg.model_copy(update={"continual": None})
    return _fresh(model, sequence(task), stage_cfg, cfg.continual, key, make_optimizer(stage_cfg)).tree()


def _running(h: History) -> History:
    """``h`` with every member running again (the next stage starts)."""
    return replace(h, status=["running"] * h.n_members, stop_step=[None] * h.n_members)
