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
    TIMESCALE_FLAGS,
    NetworkTimescales,
    auto_fit_lag,
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
    # every lag up to n - 1: the FFT is padded to n + max_lag only, and must not wrap around
    full = autocorrelation(x, 299)
    direct = np.array([[np.sum(xc[: 300 - k, j] * xc[k:, j]) / (300 - k) for j in range(3)] for k in range(300)])
    np.testing.assert_allclose(full, direct / direct[0], rtol=1e-8, atol=1e-10)


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


# ---- flags and the data-driven fit range ------------------------------------------------------
def test_slow_ar1_is_flagged_at_the_paper_bound_and_recovered_with_auto_fit_range():
    # 16 independent AR(1) units, τ = 150 steps, 10 trials × 20 000 steps each: each unit is one
    # replicate of the estimator, so their spread measures its sampling error.
    tau = 150.0
    x = _ar1(tau, 1.0, (10, 20_000, 16), seed=7)
    paper = timescales_from_activity(x, fit_lag=30, tau_max=100.0)
    # over 30 lags the AC only falls to e^{-0.2}: every fit runs into τ ≤ 100 and says so
    assert np.all(paper.tau_net >= 99.0)
    assert np.all(paper.flags & TIMESCALE_FLAGS["at_bound"])
    assert paper.pop_flag & TIMESCALE_FLAGS["at_bound"] and paper.pop_flag & TIMESCALE_FLAGS["no_decay"]
    assert paper.summary()["frac_flagged"] == 1.0 and not paper.summary()["reliable"]

    auto = timescales_from_activity(x, fit_lag="auto", tau_max=1000.0)
    assert auto.ac.shape[1] == 2001  # max_lag defaults to n_steps // 10 with "auto"
    # the window ends where the AC falls below e^{-2}: about 2τ = 300 lags for every unit
    assert np.all(np.abs(auto.fit_lags / (2 * tau) - 1) < 0.35), auto.fit_lags
    assert np.all(auto.flags == 0) and auto.pop_flag == 0 and auto.summary()["reliable"]
    est = auto.tau_net
    spread = 1.4826 * np.median(np.abs(est - np.median(est)))  # robust SD of one estimate
    # the estimator's own spread is at least the AR(1) Cramér–Rao bound τ√(2τ/(n·trials))
    assert spread >= tau * np.sqrt(2 * tau / 200_000)
    se_median = 1.2533 * spread / np.sqrt(len(est))
    assert abs(np.median(est) - tau) < 4 * se_median, (np.median(est), se_median)
    assert np.mean(np.abs(est - tau) < 3 * spread) >= 0.75, est


def test_auto_fit_lag_rule():
    t = np.arange(200.0)
    assert auto_fit_lag(np.exp(-t / 20.0)) == 41  # first lag with e^{-k/20} < e^{-2}
    assert auto_fit_lag(np.exp(-t / 2.0)) == 10  # clamped up to 10
    assert auto_fit_lag(np.exp(-t / 500.0)) == 199  # never decays: the whole AC
    assert auto_fit_lag(np.exp(-t / 500.0), max_lag=120) == 120
    fit = fit_timescale(np.exp(-t / 20.0), fit_lag="auto", tau_max=1000.0)
    assert fit.fit_lag == 41 and np.isclose(fit.tau, 20.0, rtol=1e-4) and not fit.at_bound
    capped = fit_timescale(np.exp(-t / 20.0), fit_lag="auto", tau_max=15.0)
    assert capped.at_bound and capped.tau == pytest.approx(15.0, rel=0.01)
    with pytest.raises(ValueError, match="fit_lag"):
        fit_timescale(np.exp(-t / 20.0), fit_lag="long")


def test_unit_faster_than_its_own_leak_is_flagged():
    # activity with τ_net = 2 (AR(1)); unit 0 claims τ = 10 (leak alone: −1/ln(0.9) = 9.5 steps),
    # unit 1 claims τ = 2 (leak alone −1/ln(0.5) = 1.44 ≤ τ_net): only unit 0 is flagged
    x = _ar1(2.0, 1.0, (4, 20_000, 2), seed=3)
    res = timescales_from_activity(x, fit_lag=30, tau_single=[10.0, 2.0])
    assert np.allclose(res.tau_net, 2.0, rtol=0.1)
    assert res.flags[0] == TIMESCALE_FLAGS["faster_than_leak"] and res.flags[1] == 0
    s = res.summary()
    assert s["n_faster_than_leak"] == 1 and s["frac_faster_than_leak"] == 0.5
    # reported apart: it is often genuine (an anticorrelated drive), not a censored or failed fit
    assert s["frac_flagged"] == 0.0 and s["reliable"]
    # units without a τ of their own are never flagged for it
    assert np.all(timescales_from_activity(x, fit_lag=30).flags == 0)


def test_uncoupled_leaky_unit_sits_at_its_leak_timescale_unflagged():
    # the leak timescale −dt/ln(1 − dt/τ), not τ itself, is what an uncoupled unit shows
    x = _ar1(-1.0 / np.log(1 - 1 / 5.0), 1.0, (4, 20_000, 4), seed=5)
    res = timescales_from_activity(x, fit_lag=30, tau_single=np.full(4, 5.0))
    assert np.all(res.flags == 0) and res.summary()["reliable"]


def test_failed_fit_is_flagged():
    x = _ar1(3.0, 1.0, (2, 2000, 2), seed=0)
    x[..., 1] = 1.0  # a constant unit: AC undefined, no fit
    res = timescales_from_activity(x, fit_lag=30)
    assert np.isnan(res.tau_net[1]) and res.flags[1] == TIMESCALE_FLAGS["failed"] and res.flags[0] == 0
