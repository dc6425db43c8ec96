"""The objective interface of training (rnnlab.objectives): named objectives in configs, a
user's function through ``train(..., loss=fn)``, per-member objectives in ensembles and the
gradient transform hook."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnlab
from rnnlab import losses
from rnnlab.errors import ConfigError
from rnnlab.objectives import Objective, TaskLoss, validate_spec
from rnnlab.train import TrainConfig

TASK = rnnlab.tasks.get("flipflop", n_bits=2, n_steps=20)
MODEL = rnnlab.models.config("leaky_rnn", hidden_size=16)
FAST = dict(steps=20, eval_every=10, batch_size=8, eval_batch_size=16, progress=False)


def _params(result):
    return jax.tree.leaves(eqx.filter(result.model, eqx.is_inexact_array))


def test_named_task_objective_and_function_equal_the_default():
    ref = rnnlab.train(MODEL, TASK, key=1, **FAST)
    named = rnnlab.train(MODEL, TASK, key=1, objective={"name": "task"}, **FAST)

    def mse(outputs, batch, *, activity, model, key):  # the task's loss, written by a user
        return jnp.sum(batch.mask * (outputs - batch.targets) ** 2) / jnp.sum(batch.mask)

    fn = rnnlab.train(MODEL, TASK, key=1, loss=mse, **FAST)
    for a, b, c in zip(_params(ref), _params(named), _params(fn)):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref.history.eval_loss, fn.history.eval_loss, rtol=1e-5)


def test_function_loss_sees_whole_batch_and_activity():
    seen = []

    def loss(outputs, batch, *, activity, model, key):
        seen.append((outputs.shape, activity.shape, batch.targets.shape, key.shape))
        return jnp.mean(activity ** 2)  # drives activity to zero

    r = rnnlab.train(MODEL, TASK, key=0, loss=loss, lr=0.05, **{**FAST, "steps": 60})
    # traced once for training batches (8 trials) and once for evaluation batches (16)
    assert sorted(set(seen)) == [((b, 20, 2), (b, 20, 16), (b, 20, 2), (2,)) for b in (8, 16)]
    assert r.history.eval_loss[-1][0] < 0.5 * r.history.eval_loss[0][0]


def test_unknown_objective_and_bad_parameter_are_named():
    with pytest.raises(ConfigError, match=r"train: objective: unknown objective 'sinkhorm'"):
        rnnlab.train(MODEL, TASK, objective={"name": "sinkhorm"}, **FAST)
    with pytest.raises(ConfigError, match=r"train: objective: blur: Extra inputs"):
        rnnlab.train(MODEL, TASK, objective={"name": "task", "blur": 0.2}, **FAST)
    with pytest.raises(ValueError, match="name"):
        validate_spec({"blur": 0.2})
    with pytest.raises(ConfigError, match="loss: expected"):
        rnnlab.train(MODEL, TASK, loss=3, **FAST)


class _Pull(Objective):
    """Task loss plus λ‖W − anchor‖²: its arrays differ per member (per_member)."""

    anchor: jax.Array
    per_member = True

    def __call__(self, model, task, batch, activity, outputs, key):
        return task.loss_fn(outputs, batch) + 10.0 * jnp.sum((model.W - self.anchor) ** 2)


def test_per_member_objective_matches_separate_runs():
    E = 2
    keys = jax.random.split(jax.random.PRNGKey(3), E)
    anchors = jnp.stack([jnp.full((16, 16), 0.01 * (e + 1)) for e in range(E)])
    ens = rnnlab.train(MODEL, TASK, key=keys, ensemble=E, loss=_Pull(anchors), remat=False, **FAST)
    for e in range(E):
        one = rnnlab.train(MODEL, TASK, key=keys[e], loss=_Pull(anchors[e]), **FAST)
        np.testing.assert_allclose(ens.member(e).W, one.model.W, rtol=2e-5, atol=2e-6)


class _Frozen(TaskLoss):
    """Zeroes the recurrent weights' gradient: w_rec must not move (Adam's update of a zero
    gradient from zero moments is exactly zero)."""

    def transform_grads(self, grads, model):
        return eqx.tree_at(lambda g: g.W, grads, jnp.zeros_like(grads.W))


def test_transform_grads_acts_before_the_optimiser():
    r = rnnlab.train(MODEL, TASK, key=0, loss=_Frozen(), **FAST)
    np.testing.assert_array_equal(r.model.W, r.initial_model.W)
    assert not np.array_equal(r.model.readout_layer.weight, r.initial_model.readout_layer.weight)


def test_objective_in_config_round_trips():
    cfg = TrainConfig(objective={"name": "task"})
    assert TrainConfig(**cfg.model_dump()) == cfg
    assert losses.masked_mse is not None
