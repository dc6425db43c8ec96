"""Data-constrained training (rnnlab.objectives.data_constrained): known answers of the three
mappings, invariance of the ridge map, named errors, and training that pulls units to recordings."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnlab
from rnnlab.errors import ConfigError
from rnnlab.objectives.data_constrained import DataConstrainedLoss, fixed_units, recording_columns, ridge_crossfit
from rnnlab.tasks import Batch

TASK = rnnlab.tasks.get("reaching", n_teacher=12, n_recorded=3, delay=(100.0, 100.0), n_muscles=2)
B, N = 6, 10


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    T = TASK.n_steps
    H = rng.normal(size=(B, T, N)).astype(np.float32)
    beh = rng.normal(size=(B, T, 2)).astype(np.float32)
    mask = (rng.random((B, T, 5)) > 0.2).astype(np.float32)
    return H, beh, mask


def test_task_splits_behaviour_and_recordings():
    assert recording_columns(TASK) == (2, 3)
    assert recording_columns(rnnlab.tasks.get("flipflop")) == (3, 0)
    b = TASK.sample(jax.random.PRNGKey(0), 4)
    np.testing.assert_array_equal(b.targets[..., 2:], b.info["teacher"][..., TASK.recorded_units()])


def test_fixed_mapping_is_zero_on_the_recordings_and_a_hand_mse_otherwise():
    H, beh, mask = _batch()
    obj = DataConstrainedLoss(weight=0.7, mapping="fixed", unit_seed=3)
    units = fixed_units(N, 3, 3)
    assert len(set(units.tolist())) == 3 and np.array_equal(units, obj.units(N, TASK))
    rec = H[..., units]
    batch = Batch(jnp.zeros((B, H.shape[1], 3)), jnp.asarray(np.concatenate([beh, rec], -1)), jnp.asarray(mask), {})
    outputs = jnp.asarray(np.concatenate([beh, np.zeros_like(rec)], -1))
    assert float(obj(None, TASK, batch, jnp.asarray(H), outputs, None)) == 0.0
    # perturb both the behaviour and the recordings: the hand-computed masked MSEs
    rng = np.random.default_rng(1)
    out_b = beh + rng.normal(size=beh.shape).astype(np.float32)
    rec2 = rec + rng.normal(size=rec.shape).astype(np.float32)
    batch = Batch(batch.inputs, jnp.asarray(np.concatenate([beh, rec2], -1)), jnp.asarray(mask), {})
    outputs = jnp.asarray(np.concatenate([out_b, np.zeros_like(rec)], -1))
    mb, mr = mask[..., :2], mask[..., 2:]
    hand = (mb * (out_b - beh) ** 2).sum() / mb.sum() + 0.7 * (mr * (rec - rec2) ** 2).sum() / mr.sum()
    np.testing.assert_allclose(float(obj(None, TASK, batch, jnp.asarray(H), outputs, None)), hand, rtol=1e-5)


def test_readout_mapping_scores_the_recorded_output_columns():
    H, beh, mask = _batch(2)
    rng = np.random.default_rng(3)
    y = rng.normal(size=(B, H.shape[1], 5)).astype(np.float32)
    out = rng.normal(size=y.shape).astype(np.float32)
    batch = Batch(jnp.zeros((B, H.shape[1], 3)), jnp.asarray(y), jnp.asarray(mask), {})
    got = float(DataConstrainedLoss(weight=2.0, mapping="readout")(None, TASK, batch, jnp.asarray(H), jnp.asarray(out),
                                                                    None))
    m = mask
    hand = ((m[..., :2] * (out - y)[..., :2] ** 2).sum() / m[..., :2].sum()
            + 2.0 * (m[..., 2:] * (out - y)[..., 2:] ** 2).sum() / m[..., 2:].sum())
    np.testing.assert_allclose(got, hand, rtol=1e-5)


def test_ridge_crossfit_equals_least_squares_on_the_other_half():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 20, 4))
    y = rng.normal(size=(6, 20, 3))
    w = np.ones((6, 20))
    pred = np.asarray(ridge_crossfit(jnp.asarray(x), jnp.asarray(y), jnp.asarray(w), 0.0))
    for fit, use in ((slice(1, None, 2), slice(0, None, 2)), (slice(0, None, 2), slice(1, None, 2))):
        X = np.concatenate([x[fit], np.ones(x[fit].shape[:2] + (1,))], -1).reshape(-1, 5)
        beta = np.linalg.lstsq(X, y[fit].reshape(-1, 3), rcond=None)[0]
        np.testing.assert_allclose(pred[use], np.concatenate([x[use], np.ones(x[use].shape[:2] + (1,))], -1) @ beta,
                                   rtol=1e-4, atol=1e-4)


def test_learned_map_loss_is_invariant_to_an_invertible_affine_map_of_the_state():
    H, beh, mask = _batch(5)
    rng = np.random.default_rng(6)
    y = np.concatenate([beh, np.tanh(H[..., :3] @ rng.normal(size=(3, 3))) + 0.1 * rng.normal(size=H.shape[:2] + (3,))],
                       -1).astype(np.float32)
    A = (np.eye(N) + 0.3 * rng.normal(size=(N, N))).astype(np.float32)  # well conditioned
    H2 = H @ A + rng.normal(size=N).astype(np.float32)
    batch = Batch(jnp.zeros((B, H.shape[1], 3)), jnp.asarray(y), jnp.asarray(np.ones_like(mask)), {})
    obj = DataConstrainedLoss(mapping="ridge", ridge=0.0)
    out = jnp.zeros(y.shape)
    a, b = (float(obj(None, TASK, batch, jnp.asarray(h), out, None)) for h in (H, H2))
    assert a > 0.01
    np.testing.assert_allclose(a, b, rtol=2e-3)
    # with a ridge penalty the loss is no longer exactly invariant, but the objective stays finite and differentiable
    g = jax.grad(lambda h: DataConstrainedLoss(mapping="ridge")(None, TASK, batch, h, out, None))(jnp.asarray(H))
    assert np.isfinite(np.asarray(g)).all() and float(jnp.abs(g).max()) > 0


def test_errors_are_named():
    model = rnnlab.models.config("leaky_rnn", hidden_size=8)
    with pytest.raises(ConfigError, match="train.objective: data_constrained needs a task that carries recordings"):
        rnnlab.train(model, rnnlab.tasks.get("flipflop"), objective={"name": "data_constrained"}, steps=1,
                     progress=False)
    with pytest.raises(ConfigError, match="train.objective.mapping: 'fixed' matches each of the 3"):
        rnnlab.train(rnnlab.models.config("leaky_rnn", hidden_size=2), TASK, objective={"name": "data_constrained"},
                     steps=1, progress=False)
    with pytest.raises(ConfigError, match="objective: weight"):
        rnnlab.train(model, TASK, objective={"name": "data_constrained", "weight": -1.0}, steps=1, progress=False)
    with pytest.raises(ConfigError, match="objective: mapping"):
        rnnlab.train(model, TASK, objective={"name": "data_constrained", "mapping": "learned"}, steps=1,
                     progress=False)


def _unit_distance(model, objective):
    batch = TASK.sample(jax.random.PRNGKey(99), 32)
    activity, outputs = rnnlab.models.run(model, batch.inputs)
    _, pred, y, m = objective.split(TASK, batch, activity, outputs)
    return float(rnnlab.losses.masked_mse(pred, y, m))


def test_training_with_recordings_pulls_the_units_to_them():
    model = rnnlab.models.config("leaky_rnn", hidden_size=N, dt=20.0, tau=100.0)
    kw = dict(steps=300, eval_every=150, batch_size=16, lr=0.02, progress=False, key=0)
    obj = DataConstrainedLoss(mapping="fixed")
    fitted = rnnlab.train(model, TASK, loss=obj, **kw)
    plain = rnnlab.train(model, TASK.model_copy(update={"n_recorded": 0}), **kw)
    d0, d_fit = _unit_distance(fitted.initial_model, obj), _unit_distance(fitted.model, obj)
    d_plain = _unit_distance(plain.model, obj)
    assert d_fit < 0.5 * d0 and d_fit < 0.5 * d_plain, (d0, d_fit, d_plain)
