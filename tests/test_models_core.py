"""Models: equations against independent NumPy code, constraints, the shared interface."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import peer
from rnnlab import models

KEY = jax.random.PRNGKey(0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("variant", ["standard", "wrapped"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "softplus"])
def test_leaky_rnn_step_matches_equation(variant, activation):
    m = models.get("leaky_rnn", input_size=3, output_size=2, key=KEY, hidden_size=7, tau=2.0, tau_spread=3.0,
                   variant=variant, activation=activation, dt=0.5, self_connections=False)
    W, U, b = (np.asarray(a, dtype=np.float64) for a in (m.W, m.U, m.b))
    W = W - np.diag(np.diag(W))
    tau = np.asarray(m.taus(), dtype=np.float64)
    phi = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0), "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
           "softplus": lambda x: np.log1p(np.exp(x))}[activation]
    h = np.random.default_rng(0).normal(size=7)
    x = np.random.default_rng(1).normal(size=3)
    a = 0.5 / tau
    if variant == "standard":
        expected = (1 - a) * h + a * phi(W @ h + U @ x + b)
    else:
        expected = phi((1 - a) * h + a * (W @ h + U @ x + b))
    h_new, act = m.step(jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(h_new, expected, rtol=1e-5, atol=1e-5)
    assert np.all(tau >= 0.5) and np.all(tau <= 2.0 + 3.0 + 1e-5)


def test_tau_stays_above_dt_and_can_be_frozen():
    m = models.get("leaky_rnn", input_size=1, output_size=1, key=KEY, hidden_size=5, dt=0.2, tau=0.2)
    very_negative = eqx.tree_at(lambda m: m.tau_raw, m, jnp.full(5, -1e4))
    assert np.all(np.asarray(very_negative.taus()) >= 0.2)
    frozen = models.get("leaky_rnn", input_size=1, output_size=1, key=KEY, hidden_size=5, tau=3.0, train_tau=False)
    x = jnp.ones((2, 10, 1))

    def loss(m):
        return models.run(m, x)[1].sum()

    assert np.all(np.asarray(jax.grad(loss)(frozen).tau_raw) == 0)
    assert np.any(np.asarray(jax.grad(loss)(models.get("leaky_rnn", input_size=1, output_size=1, key=KEY,
                                                       hidden_size=5, tau=3.0)).tau_raw) != 0)


def test_no_self_connections_blocks_diagonal():
    m = models.get("leaky_rnn", input_size=2, output_size=1, key=KEY, hidden_size=6, self_connections=False)
    assert np.all(np.diag(np.asarray(m.recurrent_weights())) == 0)
    g = jax.grad(lambda m: models.run(m, jnp.ones((3, 12, 2)))[1].sum())(m)
    assert np.all(np.diag(np.asarray(g.W)) == 0) and np.any(np.asarray(g.W) != 0)


def test_private_noise_has_the_stated_variance():
    # With W = U = 0 the standard update is an AR(1) process h' = (1-α)h + √(2α)σξ,
    # whose stationary variance is 2ασ² / (1 - (1-α)²) = 2σ²/(2-α).
    m = models.get("leaky_rnn", input_size=1, output_size=1, key=KEY, hidden_size=200, tau=4.0, noise=0.5)
    m = eqx.tree_at(lambda m: (m.W, m.U), m, (jnp.zeros_like(m.W), jnp.zeros_like(m.U)))
    act, _ = models.run(m, jnp.zeros((4, 600, 1)), jax.random.PRNGKey(3))
    alpha = 1.0 / np.asarray(m.taus())
    var = np.asarray(act)[:, 100:].var()
    expected = np.mean(2 * 0.25 / (2 - alpha))
    assert abs(var / expected - 1) < 0.05
    same, _ = models.run(m, jnp.zeros((4, 600, 1)), jax.random.PRNGKey(3))
    np.testing.assert_array_equal(act, same)


def _gru_numpy(m, h, x):
    Wi, Wh, bi, bh = (np.asarray(a, np.float64) for a in (m.W_i, m.W_h, m.b_i, m.b_h))
    n = h.shape[0]
    gi, gh = Wi @ x + bi, Wh @ h + bh
    r = _sigmoid(gi[:n] + gh[:n])
    z = _sigmoid(gi[n:2 * n] + gh[n:2 * n])
    c = np.tanh(gi[2 * n:] + r * gh[2 * n:])
    return (1 - z) * c + z * h


def _lstm_numpy(m, h, c, x):
    Wi, Wh, bi, bh = (np.asarray(a, np.float64) for a in (m.W_i, m.W_h, m.b_i, m.b_h))
    n = h.shape[0]
    g = Wi @ x + bi + Wh @ h + bh
    i, f, gg, o = _sigmoid(g[:n]), _sigmoid(g[n:2 * n]), np.tanh(g[2 * n:3 * n]), _sigmoid(g[3 * n:])
    c = f * c + i * gg
    return o * np.tanh(c), c


def test_gru_and_lstm_steps_match_equations():
    rng = np.random.default_rng(0)
    h, c, x = rng.normal(size=8), rng.normal(size=8), rng.normal(size=3)
    gru = models.get("gru", input_size=3, output_size=2, key=KEY, hidden_size=8)
    np.testing.assert_allclose(gru.step(jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32))[0],
                               _gru_numpy(gru, h, x), rtol=1e-5, atol=1e-5)
    lstm = models.get("lstm", input_size=3, output_size=2, key=KEY, hidden_size=8)
    (h2, c2), _ = lstm.step((jnp.asarray(h, jnp.float32), jnp.asarray(c, jnp.float32)), jnp.asarray(x, jnp.float32))
    eh, ec = _lstm_numpy(lstm, h, c, x)
    np.testing.assert_allclose(h2, eh, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c2, ec, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(lstm.b_h)[8:16] == 1.0)  # forget-gate bias


def test_gru_matches_torch_if_available():
    torch = peer("torch", "pip install torch==2.13.0 (CPU)")
    gru = models.get("gru", input_size=3, output_size=2, key=KEY, hidden_size=8)
    cell = torch.nn.GRUCell(3, 8)
    with torch.no_grad():
        for name, arr in (("weight_ih", gru.W_i), ("weight_hh", gru.W_h), ("bias_ih", gru.b_i), ("bias_hh", gru.b_h)):
            getattr(cell, name).copy_(torch.tensor(np.asarray(arr)))
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    h = torch.zeros(1, 8)
    ours, _ = models.run(gru, jnp.asarray(x)[None])
    for t in range(20):
        h = cell(torch.tensor(x[t : t + 1]), h)
        np.testing.assert_allclose(np.asarray(ours[0, t]), h.detach().numpy()[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", models.names())
def test_run_equals_python_loop_over_step(name):
    m = models.get(name, input_size=2, output_size=3, key=KEY, hidden_size=5)
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 9, 2))
    act, out = models.run(m, x)
    for i in range(2):
        s = m.initial_state()
        for t in range(9):
            s, a = m.step(s, x[i, t])
            np.testing.assert_allclose(act[i, t], a, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out[i, t], m.readout(a), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kw", [(n, {}) for n in models.names()] + [("cortico_cerebellar", {"truncation": 3})])
def test_remat_changes_neither_values_nor_gradients(name, kw):
    # rematerialisation recomputes each step in the backward pass; the numbers must not move
    m = models.get(name, input_size=2, output_size=3, key=KEY, hidden_size=5, **kw)
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 11, 2))

    def loss(model, remat):
        act, out = models.run(model, x, remat=remat)
        return jnp.mean(jnp.sin(out) ** 2) + 1e-3 * jnp.mean(act**2)

    (l0, g0), (l1, g1) = (eqx.filter_jit(eqx.filter_value_and_grad(loss))(m, r) for r in (False, True))
    np.testing.assert_allclose(l1, l0, rtol=1e-6)
    leaves0, leaves1 = jax.tree.leaves(eqx.filter(g0, eqx.is_inexact_array)), jax.tree.leaves(eqx.filter(g1, eqx.is_inexact_array))
    assert len(leaves0) == len(leaves1) > 0
    for a, b in zip(leaves1, leaves0):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * max(1.0, float(jnp.max(jnp.abs(b)))))


def test_model_errors_name_the_field():
    with pytest.raises(ValueError, match="unknown model 'rnn'.*valid models: ") as err:
        models.config("rnn")
    assert all(name in str(err.value) for name in models.names())
    with pytest.raises(ValueError, match="hidden_size: Input should be greater than 0"):
        models.config("leaky_rnn", hidden_size=0)
    with pytest.raises(ValueError, match="tau: must be >= dt = 1.0"):
        models.config("leaky_rnn", tau=0.5)
    with pytest.raises(ValueError, match="activation:"):
        models.config("leaky_rnn", activation="sigmoidal")


def test_lstm_batch_reverse_pass_equals_autodiff_of_the_per_trial_scan():
    """``run`` of an LSTM goes through ``scan_batch`` (hand-written reverse pass over the batch);
    it must give the per-trial ``lax.scan``'s activity and outputs (``run_trial`` over the
    trials) and the same gradients with respect to every parameter and the inputs."""
    m = models.get("lstm", input_size=3, output_size=2, key=KEY, hidden_size=6)
    x = jax.random.normal(jax.random.PRNGKey(4), (4, 13, 3))
    assert m.scan_batch(jnp.swapaxes(x, 0, 1)) is not None and m.scan_batch(x, remat=True) is None

    def loss(args, batched):
        model, x = args
        if batched:
            act, out = models.run(model, x)
        else:
            act, out, _ = jax.vmap(lambda xi: models.run_trial(model, xi))(x)
        return jnp.mean(jnp.sin(out) ** 2) + 0.1 * jnp.mean(act**3), (act, out)

    (l0, (a0, o0)), g0 = eqx.filter_jit(eqx.filter_value_and_grad(loss, has_aux=True))((m, x), False)
    (l1, (a1, o1)), g1 = eqx.filter_jit(eqx.filter_value_and_grad(loss, has_aux=True))((m, x), True)
    np.testing.assert_allclose(a1, a0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(o1, o0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l1, l0, rtol=1e-6)
    leaves0 = jax.tree.leaves(eqx.filter(g0, eqx.is_inexact_array))
    leaves1 = jax.tree.leaves(eqx.filter(g1, eqx.is_inexact_array))
    assert len(leaves0) == len(leaves1) == len(jax.tree.leaves(eqx.filter(m, eqx.is_inexact_array))) + 1
    for a, b in zip(leaves1, leaves0):
        assert float(jnp.max(jnp.abs(b))) > 0
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * max(1.0, float(jnp.max(jnp.abs(b)))))
