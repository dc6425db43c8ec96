"""Fixed-point finder: exact answers for linear maps, the 8 memories of a 3-bit flip-flop net."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import rnnlab
from analysis_fixtures import random_model
from rnnlab.analysis import FixedPoints, find_fixed_points, state_trajectories


class _Affine(eqx.Module):
    """h' = A h + b (+ B x): a linear model of the RecurrentModel interface."""

    A: jax.Array
    b: jax.Array

    def initial_state(self):
        return jnp.zeros(self.b.shape[0])

    def step(self, h, x, key=None):
        h = self.A @ h + self.b + jnp.sum(x)
        return h, h

    def readout(self, a):
        return a[:2]


def _linear(eigs, seed):
    rng = np.random.default_rng(seed)
    n = len(eigs)
    M = rng.standard_normal((n, n)) + 3 * np.eye(n)
    A = M @ np.diag(eigs) @ np.linalg.inv(M)
    return A, rng.standard_normal(n)


@pytest.mark.parametrize("eigs", [[0.9, 0.5, -0.3, 0.1, 0.7, -0.6], [1.4, 0.5, -0.3, 0.2, 0.8, -1.5]])
def test_linear_system_fixed_point_and_eigenvalues(eigs):
    A, b = _linear(eigs, seed=0)
    model = _Affine(jnp.asarray(A, jnp.float32), jnp.asarray(b, jnp.float32))
    rng = np.random.default_rng(1)
    starts = rng.standard_normal((50, len(b)))
    fp = find_fixed_points(model, starts, u=jnp.zeros(1), n_init=64, adam_steps=100)
    expected = np.linalg.solve(np.eye(len(b)) - A, b)
    assert len(fp.points) == 1 and fp.n_converged >= 1
    np.testing.assert_allclose(fp.points[0], expected, atol=1e-5 * max(1, np.abs(expected).max()))
    np.testing.assert_allclose(fp.jacobians[0], A, atol=1e-5)
    np.testing.assert_allclose(np.sort_complex(fp.eigenvalues[0]), np.sort_complex(np.array(eigs, complex)), atol=1e-5)
    np.testing.assert_allclose(fp.outputs[0], expected[:2], atol=1e-4)
    assert bool(fp.stable[0]) == (max(abs(e) for e in eigs) < 1)
    # continuous time: stable iff every Re λ < 1 (here −1.5 is fine, 1.4 is not)
    fc = find_fixed_points(model, starts, u=jnp.zeros(1), n_init=64, adam_steps=100, time="continuous")
    assert bool(fc.stable[0]) == (max(eigs) < 1)


def test_continuous_and_discrete_stability_differ():
    # λ = −1.5 flips sign and grows every step (|λ| > 1), but ḣ = (A − I) h decays (Re λ < 1)
    A, b = _linear([-1.5, 0.3, 0.2, 0.5, -0.4, 0.1], seed=2)
    model = _Affine(jnp.asarray(A, jnp.float32), jnp.asarray(b, jnp.float32))
    starts = np.random.default_rng(0).standard_normal((50, 6))
    fd = find_fixed_points(model, starts, u=jnp.zeros(1), n_init=64, adam_steps=100)
    fc = find_fixed_points(model, starts, u=jnp.zeros(1), n_init=64, adam_steps=100, time="continuous")
    assert not fd.stable[0] and fc.stable[0]


@pytest.fixture(scope="module")
def flipflop_net():
    task = rnnlab.tasks.get("flipflop", n_bits=3)
    res = rnnlab.train(
        rnnlab.models.config("leaky_rnn", hidden_size=64), task, key=0, steps=4000, lr=3e-3,
        batch_size=64, eval_every=100, threshold=0.002, progress=False,
    )
    assert res.history.status[0] == "converged"
    return res.model, task


def _pulses(rng, shape, p=0.05):
    """Flip-flop inputs drawn on the host: sparse ±1 pulses."""
    return (rng.random(shape) < p) * rng.choice([-1.0, 1.0], size=shape)


def test_flipflop_has_eight_stable_fixed_points_at_the_corners(flipflop_net, tmp_path):
    model, task = flipflop_net
    activity, _ = rnnlab.run(model, jnp.asarray(_pulses(np.random.default_rng(1), (32, 100, 3)), jnp.float32))
    fp = find_fixed_points(model, activity, n_init=512, key=0)
    assert fp.n_stable == 8
    y = fp.outputs[fp.stable]
    corners = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    dist = np.abs(y[:, None, :] - corners[None]).max(axis=-1)  # [8 points, 8 corners]
    assert np.all(dist.min(axis=1) < 0.3)
    assert len(set(dist.argmin(axis=1))) == 8  # one stable point per corner
    # every reported point is a fixed point of the model's own step, checked independently
    for h in fp.points:
        h1, _ = model.step(jnp.asarray(h, jnp.float32), jnp.zeros(3))
        assert np.linalg.norm(np.asarray(h1) - h) < 1e-5
    # unstable points are saddles: some |λ| > 1
    assert np.all(np.abs(fp.eigenvalues[~fp.stable]).max(axis=1) > 1)
    assert len(fp.plot().axes[0].collections) == 2  # stable and unstable markers
    back = FixedPoints.load(fp.save(tmp_path / "fp")[0])
    np.testing.assert_array_equal(back.stable, fp.stable)
    np.testing.assert_array_equal(back.eigenvalues, fp.eigenvalues)
    assert back.summary()["n_stable"] == 8


def test_lstm_state_is_flattened():
    model = random_model("lstm", 2, 1, seed=3, hidden_size=6)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 30, 2)), jnp.float32)
    traj = state_trajectories(model, x)
    assert traj.shape == (4, 30, 12)
    # the flat trajectory is the (h, c) state of the model's own step
    (h1, c1), _ = model.step(model.initial_state(), x[0, 0])
    np.testing.assert_allclose(traj[0, 0], np.concatenate([h1, c1]), atol=1e-6)
    fp = find_fixed_points(model, traj, n_init=16, adam_steps=0, newton_steps=20)  # Newton only
    assert len(fp.points) >= 1
    _, unravel = ravel_pytree(model.initial_state())
    for h in fp.points:
        (h1, c1), _ = model.step(unravel(jnp.asarray(h, jnp.float32)), jnp.zeros(2))
        assert np.linalg.norm(np.concatenate([h1, c1]) - h) < 1e-5
