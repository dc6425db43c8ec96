"""Training by backpropagation through time, for one network or an ensemble.

One Python iteration trains ``eval_every`` steps inside a single jitted ``lax.scan``
(sample a batch from the task with a key folded from the step, run the model, masked loss,
gradient, Optax update) and then evaluates on a fresh batch. Nothing runs in Python per
time step or per training step.

Ensembles: ``ensemble=E`` trains E networks with independent keys and the same
hyperparameters as one ``vmap``-ed program. Member ``e`` uses key ``split(key, E)[e]`` for
its initialisation and data, so it equals a separate run ``train(..., key=split(key, E)[e])``.
Each member stops on its own (threshold, curriculum end, non-finite loss): its parameters
are frozen from then on.

A non-finite loss or gradient is never applied: the member is frozen at its last good
parameters and marked failed. A single run then raises ``NonFiniteLossError``.

What else a run keeps: the model it started from (``TrainResult.initial_model``) and, with a
curriculum, a host copy of each member's model at the evaluation where it passed level N
(``TrainResult.stage_models``; recorded in ``History.passed``), as the timescales paper
analyses networks at every stage of training (Khajehabdollahi, Zeraati et al. 2024).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, PRNGKeyArray
from pydantic import ValidationError

from .._registry import format_validation_error
from ..errors import ConfigError, NonFiniteLossError
from ..models import ModelConfig, RecurrentModel, run
from ..objectives import FunctionLoss, Objective, TaskLoss, build_objective
from ..parallel import SolverOptions
from ..parallel import run as parallel_run
from ..tasks import Task
from . import curricula
from .config import TrainConfig
from .history import History, stage_file
from .optim import make_optimizer
from .preflight import check_job

__all__ = ["TrainState", "Checkpoint", "StageModels", "TrainResult", "train", "member", "initial_state", "make_step",
           "member_keys", "shard_members"]

# Sub-keys folded from each member's key; the objective's key is folded from the run key.
_INIT, _DATA, _EVAL = 0, 1, 2
_OBJECTIVE = 3


class TrainState(eqx.Module):
    """Everything that evolves during training (a pytree; leading axis E for ensembles)."""

    model: RecurrentModel
    opt_state: Any
    key: PRNGKeyArray
    step: Array
    level: Array
    done: Array
    failed: Array
    passes: Array


#: host copies of the models that passed a curriculum level, keyed by ``(member, N)``
StageModels = dict[tuple[int, int], RecurrentModel]


@dataclass
class Checkpoint:
    """A resumable snapshot: the state, the history so far and the evaluation counter.

    ``initial_model`` and ``stage_models`` (``{(member, N): model}``, single-member models on
    the host) are what ``TrainResult`` reports besides the state. On ``resume`` a missing
    ``initial_model`` is rebuilt from the model and key; ``stage_models`` must hold the stages
    listed in ``history.passed`` for ``TrainResult.stage_models`` to list them too.
    """

    state: TrainState
    history: History
    n_evals: int
    initial_model: RecurrentModel | None = None
    stage_models: StageModels = field(default_factory=dict)


@dataclass
class TrainResult:
    """What ``train`` returns. ``model`` and ``initial_model`` (the model training started
    from) have a leading member axis for ensembles; ``passed_models`` holds the curriculum
    stage models, read through ``stage_models``."""

    model: RecurrentModel
    history: History
    state: TrainState
    config: TrainConfig
    initial_model: RecurrentModel | None = None
    passed_models: StageModels = field(default_factory=dict)

    def stage_models(self, member: int = 0) -> dict[int, RecurrentModel]:
        """Curriculum: ``{N: model}``, member ``member``'s model (unstacked, on the host) at the
        evaluation where it passed level N by the advance rule (``max_n`` included)."""
        return {n: m for (e, n), m in sorted(self.passed_models.items()) if e == member}

    def stage_ns(self, member: int = 0) -> list[int]:
        """Curriculum: the levels N that ``member`` passed, in order."""
        return list(self.stage_models(member))

    @property
    def ensemble(self) -> int | None:
        return self.config.ensemble

    def member(self, e: int) -> RecurrentModel:
        """Member ``e`` of an ensemble as a single model."""
        return member(self.model, e) if self.ensemble else self.model


def member(tree: Any, e: int) -> Any:
    """Slice member ``e`` out of a stacked (ensemble) pytree."""
    return jax.tree.map(lambda x: x[e] if eqx.is_array(x) else x, tree)


def _tree_where(cond, new, old):
    return jax.tree.map(lambda a, b: jnp.where(cond, a, b), new, old)


def _all_finite(tree) -> Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array))]
    return jnp.all(jnp.stack(leaves))


def _check_model(model: RecurrentModel, task: Task) -> None:
    if model.output_size != task.n_outputs:
        raise ConfigError(
            f"model.output_size: {model.output_size} does not match task '{task.name}' outputs ({task.n_outputs})"
        )


def _init_member(
    model: RecurrentModel | ModelConfig,
    task: Task,
    opt: optax.GradientTransformation,
    key: PRNGKeyArray,
    level: int,
) -> TrainState:
    """Initial state of one member (``model`` built from ``fold_in(key, 0)`` if a config)."""
    if isinstance(model, ModelConfig):
        model = model.build(task.n_inputs, task.n_outputs, jax.random.fold_in(key, _INIT))
    return TrainState(
        model=model,
        opt_state=opt.init(eqx.filter(model, eqx.is_inexact_array)),
        key=key,
        step=jnp.asarray(0, jnp.int32),
        level=jnp.asarray(level, jnp.int32),
        done=jnp.asarray(False),
        failed=jnp.asarray(False),
        passes=jnp.asarray(0, jnp.int32),
    )


def initial_state(
    model: RecurrentModel | ModelConfig,
    task: Task,
    cfg: TrainConfig,
    key: PRNGKeyArray,
    opt: optax.GradientTransformation | None = None,
) -> TrainState:
    """The state training starts from (stacked over members for an ensemble).

    With the same arguments it also serves as the skeleton a checkpoint is read into.
    """
    opt = opt if opt is not None else make_optimizer(cfg)
    cur = cfg.curriculum
    layout = curricula.layout_task(task, cur) if cur else task
    level = cur.start if cur else getattr(task, "n", 0)
    if isinstance(model, RecurrentModel):
        _check_model(model, layout)
    if cfg.ensemble is None:
        return _init_member(model, layout, opt, key, level)
    cfg_model = model.cfg if isinstance(model, RecurrentModel) else model
    keys = member_keys(key, cfg.ensemble)
    return eqx.filter_vmap(lambda k: _init_member(cfg_model, layout, opt, k, level))(keys)


def member_keys(key: PRNGKeyArray, ensemble: int) -> PRNGKeyArray:
    """The ensemble's member keys: ``split(key, E)``, or ``key`` itself if it is already ``[E, 2]``.

    Passing ``jnp.stack([PRNGKey(s) for s in seeds])`` makes member ``e`` identical to a
    separate run with ``key=PRNGKey(seeds[e])`` (how sweeps batch seeds into one program).
    """
    key = jnp.asarray(key)
    if key.ndim == 2:
        if key.shape[0] != ensemble:
            raise ConfigError(f"key: {key.shape[0]} member keys given for ensemble={ensemble}")
        return key
    return jax.random.split(key, ensemble)


def _run(model: RecurrentModel, inputs, key, solver: SolverOptions | None = None, remat: bool = False):
    """``run`` by the configured solver: ``lax.scan`` (``None``; ``remat``: see ``rnnlab.models``)
    or ``rnnlab.parallel``."""
    if solver is None:
        return run(model, inputs, key, remat=remat)
    return parallel_run(model, inputs, key, options=solver)[:2]


def _solver(cfg: TrainConfig) -> SolverOptions | None:
    if cfg.solver == "sequential":
        return None
    return SolverOptions(max_iter=cfg.parallel_max_iter, jacobian=cfg.parallel_jacobian)


def _loss(model: RecurrentModel, task: Task, batch, key, solver: SolverOptions | None = None, remat: bool = False,
          objective: Objective | None = None) -> Array:
    """The objective (the task's loss by default) plus the model's regulariser. The network runs
    with ``key``; the objective draws from a key folded from it."""
    activity, outputs = _run(model, batch.inputs, key, solver, remat)
    objective = objective if objective is not None else TaskLoss()
    return objective(model, task, batch, activity, outputs, jax.random.fold_in(key, _OBJECTIVE)) + \
        model.regularization(activity)


def make_step(
    task: Task,
    opt: optax.GradientTransformation,
    batch_size: int,
    solver: SolverOptions | None = None,
    remat: bool = False,
    objective: Objective | None = None,
) -> Callable:
    """One training step of one member: ``(state, max_steps) -> (state, (loss, applied))``.

    Samples a batch with a key folded from the member's step count, runs the model, takes
    the gradient of the masked loss and applies the Optax update, unless the member is done,
    failed, out of budget, or the loss/gradient is non-finite (then nothing changes and a
    non-finite value marks the member failed). ``solver``, ``remat``: see ``_run``;
    ``objective``: the loss (``rnnlab.objectives``; the task's own by default), whose
    ``transform_grads`` (e.g. a projection) acts on the gradient before the optimiser.
    """
    objective = objective if objective is not None else TaskLoss()

    def train_step(state: TrainState, max_steps) -> tuple[TrainState, tuple[Array, Array]]:
        k_batch, k_run = jax.random.split(jax.random.fold_in(jax.random.fold_in(state.key, _DATA), state.step))
        batch = task.sample(k_batch, batch_size, state.level)
        loss, grads = eqx.filter_value_and_grad(_loss)(state.model, task, batch, k_run, solver, remat, objective)
        grads = objective.transform_grads(grads, state.model)
        params = eqx.filter(state.model, eqx.is_inexact_array)
        updates, opt_state = opt.update(grads, state.opt_state, params)
        new_model = eqx.apply_updates(state.model, updates)
        live = ~state.done & ~state.failed & (state.step < max_steps)
        finite = jnp.isfinite(loss) & _all_finite(grads) & _all_finite(new_model)
        go = live & finite
        state = eqx.tree_at(
            lambda s: (s.model, s.opt_state, s.step, s.failed),
            state,
            (
                _tree_where(go, new_model, state.model),
                _tree_where(go, opt_state, state.opt_state),
                state.step + go.astype(jnp.int32),
                state.failed | (live & ~finite),
            ),
        )
        return state, (jnp.where(go, loss, 0.0), go)

    return train_step


def _train_chunk(task: Task, opt, sizes: tuple, state: TrainState, max_steps, objective: Objective):
    """``eval_every`` training steps of one member -> ``(state, mean training loss)`` (the mean
    over the steps applied; 0 when none was)."""
    batch_size, eval_every, _, solver, remat = sizes
    train_step = make_step(task, opt, batch_size, solver, remat, objective)
    state, (losses, went) = jax.lax.scan(lambda s, _: train_step(s, max_steps), state, None, length=eval_every)
    return state, losses.sum() / jnp.maximum(went.sum(), 1)


def _evaluate(task: Task, sizes: tuple, state: TrainState, eval_index, objective: Objective):
    """One member's evaluation on a fresh batch: ``(loss, metric, head metrics)``. The loss is
    the objective's on the evaluation batch (without the regulariser)."""
    _, _, eval_batch_size, solver, _ = sizes
    k_eval = jax.random.fold_in(jax.random.fold_in(state.key, _EVAL), eval_index)
    batch = task.sample(k_eval, eval_batch_size, state.level)
    activity, outputs = _run(state.model, batch.inputs, k_eval, solver)
    ev_loss = objective(state.model, task, batch, activity, outputs, jax.random.fold_in(k_eval, _OBJECTIVE))
    return ev_loss, task.metric(outputs, batch), task.head_metrics(outputs, batch)


def _program(task: Task, opt, sizes: tuple, state: TrainState, eval_index, max_steps, objective: Objective):
    """``eval_every`` training steps then one evaluation on a fresh batch (one member).

    ``sizes = (batch_size, eval_every, eval_batch_size, solver, remat)`` (see ``_run``).
    """
    state, train_loss = _train_chunk(task, opt, sizes, state, max_steps, objective)
    return state, (train_loss, *_evaluate(task, sizes, state, eval_index, objective))


def _ensemble_program(task: Task, opt, sizes: tuple, state: TrainState, eval_index, max_steps, objective: Objective,
                      rows, per_member: bool):
    """``_program`` for every member of an ensemble, training only the members ``rows``.

    ``rows [B]`` (``B ≤ E``, distinct) holds the members still training, padded with stopped
    ones: they are gathered into a batch of ``B``, trained, and written back, so once members
    stop the others' steps cost a batch of ``B`` instead of ``E`` (a stopped member's step
    changes nothing, ``make_step``). Every member is evaluated, as before it stopped, and a
    member not in ``rows`` reports a training loss of 0 like a stopped one. ``rows=None``:
    all members in place (no gather).
    """
    obj_axis = 0 if per_member else None
    train = eqx.filter_vmap(_train_chunk, in_axes=(None, None, None, 0, None, obj_axis))
    if rows is None:
        state, train_loss = train(task, opt, sizes, state, max_steps, objective)
    else:
        take = lambda tree: jax.tree.map(lambda x: x[rows] if eqx.is_array(x) else x, tree)  # noqa: E731
        sub, sub_loss = train(task, opt, sizes, take(state), max_steps, take(objective) if per_member else objective)
        state = jax.tree.map(lambda x, y: x.at[rows].set(y) if eqx.is_array(x) else x, state, sub)
        train_loss = jnp.zeros(state.step.shape, sub_loss.dtype).at[rows].set(sub_loss)
    evaluate = eqx.filter_vmap(_evaluate, in_axes=(None, None, 0, None, obj_axis))
    return state, (train_loss, *evaluate(task, sizes, state, eval_index, objective))


# Module-level jitted programs: task, optimiser and sizes are hashable static arguments,
# so repeated ``train`` calls with the same settings and model structure reuse the compiled code.
_single_program = eqx.filter_jit(_program)
# the objective is shared by all members, or (``per_member``) holds one set of arrays per member;
# one compilation per batch size of members trained (``_training_rows``)
_ensemble_program_jit = eqx.filter_jit(_ensemble_program)

#: train only the members still training once at most half of the ensemble is (``_training_rows``)
_COMPACT = True


def _training_rows(state: TrainState, max_steps: int) -> np.ndarray | None:
    """The members an ensemble's next chunk trains: ``None`` (all, in place) while more than half
    are still training, else those still training padded with stopped ones to the next power of
    two. Powers of two bound the compilations at ``log2 E`` and the padding at half the batch.

    Why: a study's seeds converge at different steps (in a 50-seed degeneracy group the last
    one needed twice the median's steps) and a vmapped step costs about in proportion to its
    members, stopped ones included (``benchmarks/ensemble_compaction.py`` measures both). A
    member's numbers do not depend on the others', so it trains the same in a smaller batch
    (to float reassociation, as any ensemble member against its own run, ``tests/test_train.py``).
    """
    if not _COMPACT or _sharded(state):  # members spread over devices: leave their layout alone
        return None
    training = ~(_np(state.done) | _np(state.failed)) & (_np(state.step) < max_steps)
    E, n = training.size, int(training.sum())
    B = 1 << max(n - 1, 0).bit_length()  # the next power of two >= n
    if n == 0 or B >= E:
        return None
    return np.concatenate([np.flatnonzero(training), np.flatnonzero(~training)[: B - n]]).astype(np.int32)


def _sharded(state: TrainState) -> bool:
    """Whether the members are spread over several devices (``shard_members``)."""
    sharding = getattr(state.step, "sharding", None)
    return sharding is not None and len(sharding.device_set) > 1


def _np(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x))


def _taus(model: RecurrentModel, e: int, vmapped: bool) -> list[float]:
    m = member(model, e) if vmapped else model
    t = m.taus()
    return [] if t is None else np.asarray(t).tolist()


def train(
    model: RecurrentModel | ModelConfig,
    task: Task,
    config: TrainConfig | None = None,
    *,
    key: PRNGKeyArray | int = 0,
    optimizer: optax.GradientTransformation | str | None = None,
    progress: bool = True,
    on_eval: Callable[[Checkpoint], None] | None = None,
    resume: Checkpoint | None = None,
    loss: Objective | Callable | None = None,
    **settings: Any,
) -> TrainResult:
    """Train ``model`` on ``task`` by BPTT with the task's masked loss.

    Args:
        model: a built model, or a ``ModelConfig`` (built from the key). With ``ensemble``,
            members are built from the config (``model.cfg`` for a built model) with member keys.
        task: the task; with a curriculum, a levelled task (``nparity``/``ndms``).
        config: a ``TrainConfig``; or give its fields as keyword ``settings``
            (``steps=``, ``lr=``, ``ensemble=``, ``threshold=``, ``curriculum=`` ...).
        key: PRNG key or integer seed; for an ensemble also a stack of E member keys.
        optimizer: a config name (``"adam"``, ``"adamw"``, ``"sgd"``: the same as the config
            field, so ``optimizer="sgd", momentum=0.1`` equals ``TrainConfig(optimizer="sgd",
            momentum=0.1)``), or an Optax ``GradientTransformation``, which replaces the one
            built from the config (whatever the config's ``optimizer``, ``lr``, ``clip`` ...).
        progress: show a Rich progress bar.
        on_eval: called with a ``Checkpoint`` after each evaluation (the run store uses it
            to write checkpoints).
        resume: a ``Checkpoint`` to continue from; the run then ends exactly where an
            uninterrupted run would have (given the same ``loss``).
        loss: the training objective, replacing the config's ``objective`` (and the task's
            own loss): an ``rnnlab.objectives.Objective``, or a function
            ``fn(outputs, batch, *, activity, model, key) -> scalar`` that sees the whole
            batch (``outputs [B, T, O]``, ``activity [B, T, N]``). The evaluation loss in the
            history is the objective's; the metric stays the task's.

    Returns:
        ``TrainResult(model, history, state, config, initial_model, passed_models)``.

    Raises:
        ConfigError: a bad setting (named) or a model/task mismatch.
        NonFiniteLossError: a single run's loss became NaN/inf (``.result`` has the last good state).
    """
    if isinstance(optimizer, str):
        settings, optimizer = {**settings, "optimizer": optimizer}, None
    elif optimizer is not None and not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ConfigError(f"optimizer: expected 'adam', 'adamw', 'sgd' or an Optax GradientTransformation, "
                          f"got {type(optimizer).__name__}")
    try:
        cfg = config.model_copy(update=settings) if config is not None else TrainConfig(**settings)
        cfg = TrainConfig(**cfg.model_dump())
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, "train", TrainConfig)) from None
    if cfg.continual is not None:
        raise ConfigError("train.continual: a continual run learns its stages one after another; train it with "
                          "rnnlab.continual.train_continual (the run store and sweeps do)")
    check_job(model, task, cfg)
    objective = _objective(loss, cfg, task)
    objective.check(task, model)
    if isinstance(key, int):
        key = jax.random.PRNGKey(key)
    opt = optimizer if optimizer is not None else make_optimizer(cfg)
    cur = cfg.curriculum
    vmapped = cfg.ensemble is not None
    E = cfg.ensemble or 1

    if resume is not None:
        state, history, n_evals = resume.state, resume.history, resume.n_evals
        initial = resume.initial_model
        if initial is None:
            initial = initial_state(model, task, cfg, key, opt).model
        passed_models = dict(resume.stage_models)
    else:
        state = initial_state(model, task, cfg, key, opt)
        initial, passed_models = state.model, {}
        history = History(n_members=E, metric_name=task.metric_name)
        n_evals = 0
        if cur:
            for e in range(E):
                history.stages.append({"member": e, "n": cur.start, "step": 0, "taus": _taus(state.model, e, vmapped)})

    if vmapped:
        state = shard_members(state, E)
    n_total = math.ceil(cfg.steps / cfg.eval_every)
    t0 = time.perf_counter() - (history.wall_time[-1] if history.wall_time else 0.0)
    sizes = (cfg.batch_size, cfg.eval_every, cfg.eval_batch_size, _solver(cfg), cfg.uses_remat(state.model))
    bar = _Progress(progress, cfg.steps, task.metric_name)
    with bar:
        while n_evals < n_total and not np.all(_np(state.done) | _np(state.failed)):
            stage_n = int(_np(state.level)[~(_np(state.done) | _np(state.failed))].max()) if cur else 0
            stage = curricula.stage_task(task, cur, stage_n) if cur else task
            if vmapped:
                rows = _training_rows(state, cfg.steps)
                state, (tr_loss, ev_loss, metric, heads) = _ensemble_program_jit(
                    stage, opt, sizes, state, jnp.asarray(n_evals), jnp.asarray(cfg.steps), objective,
                    None if rows is None else jnp.asarray(rows), objective.per_member)
            else:
                state, (tr_loss, ev_loss, metric, heads) = _single_program(
                    stage, opt, sizes, state, jnp.asarray(n_evals), jnp.asarray(cfg.steps), objective)
            n_evals += 1
            state = _after_eval(state, history, cfg, task, cur, vmapped, tr_loss, ev_loss, metric, heads,
                                passed_models)
            history.wall_time.append(time.perf_counter() - t0)
            bar.update(int(_np(state.step).max()), history, cur is not None)
            if on_eval is not None:
                on_eval(Checkpoint(state, history, n_evals, initial, dict(passed_models)))

        steps = _np(state.step)
        for e in range(E):
            if history.status[e] == "running":
                history.status[e] = "budget"
                history.stop_step[e] = int(steps[e])
        bar.finish(history.status)
    result = TrainResult(state.model, history, state, cfg, initial, passed_models)
    if not vmapped and history.status[0] == "failed":
        raise NonFiniteLossError(int(steps[0]), result)
    if vmapped and all(s == "failed" for s in history.status):
        raise NonFiniteLossError(int(steps.max()), result)
    return result


def _objective(loss: Objective | Callable | None, cfg: TrainConfig, task: Task) -> Objective:
    """The objective of a run: ``loss`` if given, else the config's named one, else the task's."""
    if loss is None:
        return build_objective(cfg.objective, task)
    if isinstance(loss, Objective):
        return loss
    if callable(loss):
        return FunctionLoss(loss)
    raise ConfigError(f"loss: expected an rnnlab.objectives.Objective or a function, got {type(loss).__name__}")


def shard_members(state: TrainState, E: int) -> TrainState:
    """Spread the ensemble's members over the local devices (when there are several).

    Members are independent, so the vmapped program partitions along the member axis without
    communication (XLA's SPMD partitioner, from the input sharding): on a multi-GPU host each
    GPU trains E / n of them; on a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=K``
    makes K host devices that run their shares on separate cores. With one device, or an E
    that the device count does not divide, nothing changes.
    """
    devices = jax.local_devices()
    if len(devices) < 2 or E % len(devices):
        return state
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    sharding = NamedSharding(Mesh(np.asarray(devices), ("member",)), PartitionSpec("member"))
    return jax.tree.map(lambda x: jax.device_put(x, sharding) if eqx.is_array(x) and x.ndim and x.shape[0] == E else x,
                        state)


def _after_eval(
    state, history: History, cfg, task, cur, vmapped, tr_loss, ev_loss, metric, heads, passed_models: StageModels
) -> TrainState:
    """Record an evaluation and apply stopping / curriculum rules per member (in NumPy).

    A member that passes its level N keeps a host copy of its model in ``passed_models``
    (and a ``history.passed`` record naming the file the run store writes it to)."""
    steps, level = _np(state.step), _np(state.level).copy()
    done, failed, passes = _np(state.done).copy(), _np(state.failed), _np(state.passes).copy()
    metric = _np(metric)
    heads = np.asarray(heads).reshape(len(steps), -1)
    history.step.append(int(steps.max()))
    history.train_loss.append(_np(tr_loss).tolist())
    history.eval_loss.append(_np(ev_loss).tolist())
    history.metric.append(metric.tolist())
    history.level.append(level.tolist())
    live = ~done & ~failed
    for e in np.flatnonzero(failed & (np.asarray(history.status) == "running")):
        history.status[e], history.stop_step[e] = "failed", int(steps[e])
    if cur:
        passed, new_level = curricula.advance(cur, level, heads)
        passed = live & passed
        for e in np.flatnonzero(passed):
            n = int(level[e])
            history.passed.append(
                {"member": int(e), "n": n, "step": int(steps[e]), "file": stage_file(n, int(e) if vmapped else None)})
            passed_models[(int(e), n)] = jax.device_get(member(state.model, e) if vmapped else state.model)
        finished = passed & (level >= cur.max_n)
        for e in np.flatnonzero(passed & ~finished):
            history.stages.append(
                {"member": int(e), "n": int(new_level[e]), "step": int(steps[e]),
                 "taus": _taus(state.model, e, vmapped)}
            )
        level = np.where(live, new_level, level)
        newly_done = finished
    elif cfg.threshold is not None:
        ok = np.asarray(task.passes(metric, cfg.threshold))
        passes = np.where(live & ok, passes + 1, 0)
        newly_done = live & (passes > cfg.patience)
    else:
        newly_done = np.zeros_like(done)
    for e in np.flatnonzero(newly_done):
        history.status[e], history.stop_step[e] = "converged", int(steps[e])
    done = done | newly_done
    shape = jnp.shape(state.step)
    return eqx.tree_at(
        lambda s: (s.level, s.done, s.passes),
        state,
        tuple(jnp.asarray(a).reshape(shape) for a in (level.astype(np.int32), done, passes.astype(np.int32))),
    )


class _Progress:
    """A Rich progress bar showing the phase ("compiling" until the first evaluation returns,
    then "train", at the end why training stopped), step, loss, metric, elapsed and remaining
    time (a no-op when disabled)."""

    def __init__(self, enabled: bool, total: int, metric_name: str):
        self.enabled = enabled
        if enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.p = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}  {task.fields[mname]} {task.fields[metric]}{task.fields[extra]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self.task = self.p.add_task("compiling", total=total, loss="-", metric="-", mname=metric_name, extra="")

    def finish(self, statuses: list[str]) -> None:
        """Say why training stopped: every member's status, counted ("converged", "budget spent",
        "failed: non-finite loss", or "3 converged, 1 budget spent" for an ensemble)."""
        if not self.enabled:
            return
        words = {"converged": "converged", "budget": "budget spent", "failed": "failed: non-finite loss"}
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
        text = ", ".join(words.get(s, s) if len(counts) == 1 and len(statuses) == 1 else f"{n} {words.get(s, s)}"
                         for s, n in counts.items())
        self.p.update(self.task, description=text)

    def __enter__(self):
        if self.enabled:
            self.p.__enter__()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.p.__exit__(*exc)

    def update(self, step: int, history: History, curriculum: bool):
        if not self.enabled:
            return
        extra = f"  N {int(np.max(history.level[-1]))}" if curriculum else ""
        self.p.update(
            self.task,
            description="train",
            completed=step,
            loss=f"{np.nanmean(history.train_loss[-1]):.4g}",
            metric=f"{np.nanmean(history.metric[-1]):.4g}",
            extra=extra,
        )
