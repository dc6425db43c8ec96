"""Timescale analysis: AC estimator, exponential fits on processes with known τ, a model run."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.stats import ortho_group

import rnnlab
from analysis_fixtures import random_model
from rnnlab.analysis import (
    NetworkTimescales,
    autocorrelation,
    fit_timescale,
    network_timescales,
    single_neuron_taus,
    timescales_from_activity,
)


def _ar1(tau, dt, shape, seed):
    """AR(1) x_t = φ x_{t−1} + ξ_t with φ = exp(−dt/τ) (an exactly sampled OU process)."""
    rng = np.random.default_rng(seed)
    return lfilter([1.0], [1.0, -np.exp(-dt / tau)], rng.standard_normal(shape), axis=-2)


def test_autocorrelation_matches_direct_sum():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3)).cumsum(axis=0)
    ac = autocorrelation(x, 20)
    xc = x - x.mean(axis=0)
    direct = np.array([[np.sum(xc[: 300 - k, j] * xc[k:, j]) / (300 - k) for j in range(3)] for k in range(21)])
    np.testing.assert_allclose(ac, direct / direct[0], rtol=1e-10, atol=1e-12)
    # time along another axis gives the same numbers
    np.testing.assert_allclose(autocorrelation(x.T, 20, axis=1), ac.T, rtol=1e-12)


def _recovered(tau_net, tau):
    """The population estimate (median over units) within 10%, and most single units too.

    Single-unit estimates from 2·10⁵ samples occasionally pick a spurious double exponential
    (the AC's estimation errors are correlated across lags, which AIC does not account for).
    """
    err = np.abs(np.asarray(tau_net) / tau - 1)
    return abs(np.median(tau_net) / tau - 1) < 0.10 and np.mean(err < 0.10) >= 0.75


@pytest.mark.parametrize("tau,dt", [(2.0, 1.0), (5.0, 1.0), (10.0, 1.0), (20.0, 1.0), (4.0, 0.5)])
def test_ar1_timescale_recovered(tau, dt):
    x = _ar1(tau, dt, (10, 20_000, 8), seed=int(tau * 10))
    res = timescales_from_activity(x, dt=dt, fit_lag=30)
    assert _recovered(res.tau_net, tau), res.tau_net


def test_linear_network_timescale_from_eigenvalues():
    # h_t = A h_{t−1} + ξ_t with A = Q diag(λ) Qᵀ: two slow modes and four fast ones.
    dt, n = 0.5, 6
    lam = np.exp(-dt / np.array([6.0, 6.0, 1.0, 1.0, 1.0, 1.0]))  # τ = 6 and 1
    Q = ortho_group.rvs(n, random_state=3)
    A = Q @ np.diag(lam) @ Q.T
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((10, 20_000, n))
    # simulate in the eigenbasis (exact): the modes are independent AR(1)s
    modes = np.stack([lfilter([1.0], [1.0, -l], noise @ Q[:, i], axis=1) for i, l in enumerate(lam)], axis=-1)
    h = modes @ Q.T
    np.testing.assert_allclose(h[:, 1:], h[:, :-1] @ A.T + noise[:, 1:], atol=1e-8)  # the linear network
    tau_slow = -dt / np.log(np.abs(np.linalg.eigvals(A)).max())
    assert np.isclose(tau_slow, 6.0, rtol=0.01)
    res = timescales_from_activity(h, dt=dt, fit_lag=30)
    assert _recovered(res.tau_net, tau_slow), res.tau_net


def test_fit_prefers_double_exponential_for_two_timescales():
    t = np.arange(31.0)
    ac = 0.5 * np.exp(-t / 1.5) + 0.5 * np.exp(-t / 12.0)
    fit = fit_timescale(ac, fit_lag=30)
    assert fit.model == 2 and np.isclose(fit.tau, 12.0, rtol=1e-3)
    assert np.isnan(fit_timescale(np.full(31, np.nan)).tau)


def test_network_timescales_of_uncoupled_leaky_units():
    # W = 0: h_t = (1 − α) h_{t−1} + α tanh(U x_t + b) with i.i.d. inputs is AR(1), φ = 1 − dt/τ.
    model = random_model("leaky_rnn", 2, 2, hidden_size=6, train_tau=False)
    tau_raw = jnp.full(6, np.log(np.expm1(5.0 - 1.0)), jnp.float32)  # τ = dt + softplus(τ̃) = 5
    model = eqx.tree_at(lambda m: (m.W, m.tau_raw), model, (jnp.zeros_like(model.W), tau_raw))
    task = rnnlab.tasks.get("flipflop", n_bits=2, p=0.5)
    res = network_timescales(model, task, key=1, n_steps=20_000, burn_in=200, n_trials=4)
    np.testing.assert_allclose(res.tau_single, single_neuron_taus(model))
    np.testing.assert_allclose(res.tau_single, 5.0, rtol=1e-3)
    assert _recovered(res.tau_net, -1.0 / np.log(1 - 1 / 5.0)), res.tau_net
    assert res.n_trials == 4 and res.n_steps == 20_000


def test_timescales_save_load_and_plot(tmp_path):
    res = timescales_from_activity(_ar1(3.0, 1.0, (2, 5000, 3), seed=0))
    npz, js = res.save(tmp_path / "ts")
    back = NetworkTimescales.load(npz)
    np.testing.assert_array_equal(back.tau_net, res.tau_net)
    assert back.fit_lag == res.fit_lag and np.allclose(back.pop_tau, res.pop_tau)
    assert "tau_net_median" in res.summary()
    res.plot(tmp_path / "ts.png")
    assert (tmp_path / "ts.png").stat().st_size > 1000
    fit = fit_timescale(res.ac[0])
    fig = fit.plot()
    assert fig.axes
