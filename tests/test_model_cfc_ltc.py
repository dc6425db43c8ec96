"""CfC (Hasani et al. 2022) and LTC (Hasani et al. 2021): the update equations against NumPy,
the CfC time gate's limits, the LTC fused solver and its pure leak, and agreement of the
sequential run with the parallel Newton solver over T = 1000 steps."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import models, parallel
from model_fixtures import unrolled_readout_loss

KEY = jax.random.PRNGKey(0)
RNG = np.random.default_rng(0)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _f64(a):
    return np.asarray(a, np.float64)


# ---------------------------------------------------------------- CfC


def _cfc_numpy(m, h, x):
    """The CfC equations (see ``rnnlab.models.cfc``) from the model's weights, in NumPy."""
    cfg = m.cfg
    phi = {"lecun_tanh": lambda v: 1.7159 * np.tanh(0.666 * v), "silu": lambda v: v * _sigmoid(v),
           "tanh": np.tanh}[cfg.backbone_activation]
    Ws, bs = [_f64(W) for W in m.W], [_f64(b) for b in m.b]
    z = np.concatenate([x, h])
    for W, b in zip(Ws[:-1], bs[:-1]):
        z = phi(W @ z + b)
    heads = Ws[-1] @ z + bs[-1]
    n, t = h.shape[0], cfg.dt
    if cfg.variant == "pure":
        A, w_tau = _f64(m.A), _f64(m.w_tau)
        return -A * np.exp(-t * (np.abs(w_tau) + np.abs(heads))) * heads + A
    f, g, hh = heads[:n], np.tanh(heads[n:2 * n]), np.tanh(heads[2 * n:])
    sig = _sigmoid(-f * t)
    return hh + sig * g if cfg.variant == "no_gate" else sig * g + (1 - sig) * hh


def _cfc(**kw):
    return models.get("cfc", input_size=3, output_size=2, key=KEY, hidden_size=5, backbone_units=7, **kw)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(backbone_layers=0, dt=0.3),
    dict(variant="no_gate", backbone_layers=2, backbone_activation="silu"),
    dict(variant="pure", backbone_activation="tanh", dt=2.0),
])
def test_cfc_step_matches_numpy(kw):
    m = _cfc(**kw)
    if m.cfg.variant == "pure":  # move A and w_τ away from their init (1, 0)
        m = eqx.tree_at(lambda m: (m.A, m.w_tau), m, (jnp.asarray(RNG.normal(size=5), jnp.float32),
                                                     jnp.asarray(RNG.normal(size=5), jnp.float32)))
    h, x = RNG.normal(size=5), RNG.normal(size=3)
    new, act = m.step(jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32))
    expected = _cfc_numpy(m, h, x)
    np.testing.assert_allclose(new, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(new, act)
    assert not np.allclose(expected, h)


def _set_gate(m, f_value):
    """Make the time head constant: W_f = 0, b_f = f_value."""
    n = m.cfg.hidden_size
    W, b = m.W[-1].at[:n].set(0.0), m.b[-1].at[:n].set(f_value)
    return eqx.tree_at(lambda m: (m.W[-1], m.b[-1]), m, (W, b))


def test_cfc_time_gate_limits():
    h, x = RNG.normal(size=5), RNG.normal(size=3)
    hj, xj = jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32)
    m = _cfc(dt=1e3)
    z = 1.7159 * np.tanh(0.666 * (_f64(m.W[0]) @ np.concatenate([x, h]) + _f64(m.b[0])))
    heads = _f64(m.W[-1]) @ z + _f64(m.b[-1])
    g, h_tilde = np.tanh(heads[5:10]), np.tanh(heads[10:])
    # t·f → +∞: σ(−f t) → 0, so h_t → h̃;  t·f → −∞: σ → 1, so h_t → g
    np.testing.assert_allclose(_set_gate(m, 1.0).step(hj, xj)[0], h_tilde, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_set_gate(m, -1.0).step(hj, xj)[0], g, rtol=1e-5, atol=1e-6)
    assert np.abs(g - h_tilde).max() > 0.1
    # at t·f = 0 the gate is ½: the mean of the two heads
    np.testing.assert_allclose(_set_gate(m, 0.0).step(hj, xj)[0], (g + h_tilde) / 2, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- LTC


def _ltc(**kw):
    return models.get("ltc", input_size=3, output_size=2, key=KEY, hidden_size=5, **kw)


def _ltc_substep(m, h, x, delta):
    """One fused implicit–explicit Euler step of the LTC ODE (Hasani et al. 2021, eq. 3)."""
    f = _sigmoid(_f64(m.W_r) @ h + _f64(m.W_i) @ x + _f64(m.b))
    tau, A = _f64(m.taus()), _f64(m.A)
    return (h + delta * f * A) / (1 + delta * (1 / tau + f))


@pytest.mark.parametrize("unfolds", [1, 3])
def test_ltc_step_is_the_fused_solver(unfolds):
    m = _ltc(ode_unfolds=unfolds, dt=0.6, tau=0.5, tau_spread=2.0, gain=1.5)
    m = eqx.tree_at(lambda m: m.b, m, jnp.asarray(RNG.normal(size=5), jnp.float32))
    h, x = RNG.normal(size=5), RNG.normal(size=3)
    expected = h
    for _ in range(unfolds):
        expected = _ltc_substep(m, expected, x, 0.6 / unfolds)
    new, act = m.step(jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(new, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(new, act)


def test_ltc_small_step_follows_the_ode():
    # for small dt one step moves h by dt · dh/dt, dh/dt = −(1/τ + f) h + f A (paper, eq. 1)
    m = _ltc(ode_unfolds=2, dt=1e-3, tau=0.5, tau_spread=1.0)
    h, x = RNG.normal(size=5), RNG.normal(size=3)
    f = _sigmoid(_f64(m.W_r) @ h + _f64(m.W_i) @ x + _f64(m.b))
    rhs = -(1 / _f64(m.taus()) + f) * h + f * _f64(m.A)
    new, _ = m.step(jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose((np.asarray(new, np.float64) - h) / 1e-3, rhs, rtol=1e-2, atol=1e-2)


def test_ltc_without_conductance_decays_with_tau():
    m = _ltc(ode_unfolds=4, dt=0.5, tau=1.0, tau_spread=3.0)
    m = eqx.tree_at(lambda m: m.b, m, jnp.full(5, -1e4))  # f = sigmoid(−1e4 + O(1)) = 0
    h0 = RNG.normal(size=5)
    x = jax.random.normal(KEY, (20, 3))
    act, _, _ = models.run_trial(m, x, state0=jnp.asarray(h0, jnp.float32))
    tau = _f64(m.taus())
    k = 4 * np.arange(1, 21)[:, None]  # sub-steps done after each step
    np.testing.assert_allclose(act, h0 * (1 + 0.125 / tau) ** (-k), rtol=1e-5, atol=1e-7)
    assert tau.max() - tau.min() > 0.5


def test_ltc_tau_is_positive_and_can_be_frozen():
    m = _ltc(tau=0.01)
    np.testing.assert_allclose(m.taus(), 0.01, rtol=1e-4)
    assert np.all(np.asarray(eqx.tree_at(lambda m: m.tau_raw, m, jnp.full(5, -50.0)).taus()) > 0)
    x = jax.random.normal(KEY, (3, 3))

    loss = unrolled_readout_loss(x)

    for train_tau in (True, False):
        g = eqx.filter_jit(jax.grad(loss))(_ltc(train_tau=train_tau))
        assert np.any(np.asarray(g.tau_raw) != 0) == train_tau and np.any(np.asarray(g.W_r) != 0)


# ---------------------------------------------------------------- parallel solver


@pytest.mark.parametrize("name, params", [
    ("cfc", dict(hidden_size=6, backbone_units=12)),
    ("ltc", dict(hidden_size=6, tau_spread=2.0, ode_unfolds=3)),
])
def test_parallel_solver_matches_sequential_run_over_1000_steps(name, params):
    m = models.get(name, input_size=3, output_size=2, key=KEY, **params)
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 1000, 3))
    # atol/rtol 1e-6 (DEER's float32 defaults are 1e-4, 1e-3): Newton converges quadratically, so
    # the last iterate is at float32 rounding; much tighter tolerances are never met in float32.
    opts = parallel.SolverOptions(atol=1e-6, rtol=1e-6, jacobian="dense")

    def loss(out):
        return jnp.mean(jnp.sin(out) ** 2)

    @eqx.filter_jit
    def both(m):
        def par(m):
            act, out, info = parallel.run(m, x, options=opts)
            return loss(out), (act, out, info)

        def seq(m):
            act, out = models.run(m, x)
            return loss(out), (act, out)

        return (eqx.filter_value_and_grad(par, has_aux=True)(m),
                eqx.filter_value_and_grad(seq, has_aux=True)(m))

    ((_, (pa, po, info)), pg), ((_, (sa, so)), sg) = both(m)
    assert bool(jnp.all(info.converged)) and not bool(jnp.any(info.fell_back))  # really solved in parallel
    assert int(info.iterations) < 50
    np.testing.assert_allclose(pa, sa, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(po, so, rtol=1e-5, atol=1e-5)
    gp, gs = jax.tree.leaves(eqx.filter(pg, eqx.is_array)), jax.tree.leaves(eqx.filter(sg, eqx.is_array))
    assert len(gp) == len(gs) > 0
    for a, b in zip(gp, gs):
        assert np.any(np.asarray(b) != 0)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(np.abs(b).max()))


def _lstm_numpy(lstm, h, c, x):
    """The LSTM step (``rnnlab.models.gated``) in NumPy."""
    n = h.shape[0]
    a = _f64(lstm.W_i) @ x + _f64(lstm.b_i) + _f64(lstm.W_h) @ h + _f64(lstm.b_h)
    i, f, g, o = (a[k * n:(k + 1) * n] for k in range(4))
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


@pytest.mark.parametrize("name", ["cfc", "ltc"])
def test_mixed_memory_runs_an_lstm_then_the_cell(name):
    m = _cfc(mixed_memory=True) if name == "cfc" else _ltc(mixed_memory=True)
    h, c, x = RNG.normal(size=5), RNG.normal(size=5), RNG.normal(size=3)
    (h_new, c_new), act = m.step((jnp.asarray(h, jnp.float32), jnp.asarray(c, jnp.float32)), jnp.asarray(x, jnp.float32))
    h_mid, c_exp = _lstm_numpy(m.memory, h, c, x)
    if name == "cfc":
        h_exp = _cfc_numpy(m, h_mid, x)
    else:
        h_exp, delta = h_mid, m.cfg.dt / m.cfg.ode_unfolds
        for _ in range(m.cfg.ode_unfolds):
            h_exp = _ltc_substep(m, h_exp, x, delta)
    np.testing.assert_allclose(c_new, c_exp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_new, h_exp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(act, h_new)


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="backbone_layers: Input should be greater than or equal to 0"):
        models.config("cfc", backbone_layers=-1)
    with pytest.raises(ValueError, match="variant:"):
        models.config("cfc", variant="gated")
    with pytest.raises(ValueError, match="ode_unfolds: Input should be greater than or equal to 1"):
        models.config("ltc", ode_unfolds=0)
    with pytest.raises(ValueError, match="tau: Input should be greater than 0"):
        models.config("ltc", tau=-1.0)
