"""HMM-emulation analyses (rnnlab.analysis.hmm_emulation): the symbol-statistics estimators
against known Markov chains, the noise-free attractor and kick neurons on constructed
networks, and the sweep columns."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis.hmm_emulation import (hmm_emulation, hmm_symbols, kick_neurons, noise_free_attractor,
                                           residency_pmf, residency_times, transition_matrix, transition_rate)
from rnnlab.errors import ConfigError


def _chain(A, B, T, seed=0):
    """B independent runs of T steps of the Markov chain A (uniform start), by NumPy."""
    rng = np.random.default_rng(seed)
    A = np.asarray(A)
    cum = A.cumsum(1)
    y = np.empty((B, T), int)
    y[:, 0] = rng.integers(0, len(A), B)
    u = rng.random((B, T))
    for t in range(1, T):
        y[:, t] = (u[:, t, None] > cum[y[:, t - 1]]).sum(1)
    return y


def test_transition_matrix_recovers_a_known_chain():
    A = np.array([[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    y = _chain(A, 400, 100)
    est = transition_matrix(y, 3)
    counts = np.array([(y[:, :-1] == i).sum() for i in range(3)])
    se = np.sqrt(A * (1 - A) / counts[:, None])  # binomial standard error of each row's estimate
    np.testing.assert_array_less(np.abs(est - A), 4.5 * se)
    # a symbol never emitted: its row is undefined
    assert np.isnan(transition_matrix(np.zeros((3, 5), int), 2)[1]).all()
    assert transition_rate(np.array([[0, 0, 1, 1, 0]])) == 0.5


def test_residency_times_are_geometric_with_the_known_mean():
    p = 0.9  # P(stay): complete runs are geometric with mean 1/(1 − p) = 10
    y = _chain([[p, 1 - p], [1 - p, p]], 50, 4000, seed=1)
    runs = residency_times(y, 2)
    for r in runs:
        # T = 4000 ≫ 10: the bias against runs longer than the trial is negligible
        se = np.sqrt(p) / (1 - p) / np.sqrt(len(r))  # std of a geometric: √p/(1 − p)
        assert abs(r.mean() - 1 / (1 - p)) < 4.5 * se
    pmf = residency_pmf(y, 2, 5)
    np.testing.assert_allclose(pmf[:, :4], np.tile([(1 - p) * p ** k for k in range(4)], (2, 1)), atol=0.01)
    # censored runs (touching either end) are dropped unless asked for
    y1 = np.array([[0, 0, 1, 1, 1, 0]])
    assert [list(r) for r in residency_times(y1, 2)] == [[], [3]]
    assert sorted(map(list, residency_times(y1, 2, censored=True))) == [[2, 1], [3]]


def test_hmm_symbols_follow_the_task_matrices():
    task = rnnlab.tasks.get("hmm", family="fully", n_states=3)  # near-diagonal emissions
    y = hmm_symbols(task, 0, 1000, n_steps=60)
    assert y.shape == (1000, 60)
    # emission k ↔ state k with prob. 0.98, so the symbol chain is close to the state chain (stay 0.95)
    A = transition_matrix(y, 3)
    assert np.all(np.diag(A) > 0.85) and np.all(np.diag(A) < 0.97)


def _relu_net(task, W, key=0):
    cfg = rnnlab.models.config("leaky_rnn", hidden_size=W.shape[0], activation="relu", bias=False, tau=1.0,
                               tau_param="direct", train_tau=False)
    model = cfg.build(task.n_inputs, task.n_outputs, jax.random.PRNGKey(key))
    return eqx.tree_at(lambda m: m.W, model, jnp.asarray(W, jnp.float32))


def test_noise_free_attractor_single_point_or_not():
    task = rnnlab.tasks.get("hmm", n_noise=3)
    contracting = noise_free_attractor(_relu_net(task, 0.5 * np.eye(12)), task, n_trials=64, n_steps=100)
    assert contracting.single and contracting.fixed_point_norm < 1e-6 and contracting.n_stable == 1
    # W = I: every non-negative state is a fixed point (a continuum), so runs end where they start
    neutral = noise_free_attractor(_relu_net(task, np.eye(12)), task, n_trials=64, n_steps=100, finder=False)
    assert not neutral.single and neutral.spread > 0.1 and neutral.speed < 1e-6
    assert neutral.noisy_pcs.shape == (8, task.n_steps + 1, 2) and neutral.free_pcs.shape == (8, 101, 2)


def test_kick_neurons_none_without_recurrence():
    task = rnnlab.tasks.get("hmm", n_noise=3)
    k = kick_neurons(_relu_net(task, np.zeros((12, 12))), task, n_trials=64)
    # W = 0: scaling recurrent inputs changes nothing, so no unit moves the transition rate
    assert np.all(k.drop == 0) and k.top_drop == 0 and k.random_drop == 0
    assert k.rate_top_injected == k.rate_nominal and len(k.top) == 3
    with pytest.raises(ConfigError, match="k: must be"):
        kick_neurons(_relu_net(task, np.zeros((12, 12))), task, k=12)


def test_emulation_of_an_untrained_network_and_sweep_columns(tmp_path):
    from rnnlab.sweep.analyses import ANALYSES, NetworkContext

    task = rnnlab.tasks.get("hmm", family="linear", n_states=3)
    model = _relu_net(task, 0.3 * np.random.default_rng(0).normal(size=(12, 12)) / np.sqrt(12))
    r = hmm_emulation(model, task, n_trials=256)
    assert r.transitions_hmm.shape == (3, 3) and abs(r.rate_hmm - 0.25) < 0.03  # the HMM: P(switch) ≈ 0.25
    r.save(tmp_path / "emu")
    assert type(r).load(tmp_path / "emu").rate_net == r.rate_net
    cols = ANALYSES["hmm_emulation"](model, task, NetworkContext(seed=0), n_trials=128)
    cols.update(ANALYSES["hmm_attractor"](model, task, NetworkContext(seed=0), n_trials=16, n_steps=50,
                                          finder=False))
    cols.update(ANALYSES["kick_neurons"](model, task, NetworkContext(seed=0, initial_model=model), n_trials=16))
    assert all(isinstance(v, float) for v in cols.values())
    assert {"hmm_A_net_02", "attractor_single", "kick_top_drop", "kick_top_drop_init"} <= set(cols)
    assert cols["kick_top_drop"] == cols["kick_top_drop_init"]  # same network, same key
    with pytest.raises(ConfigError, match="task"):
        hmm_emulation(model, rnnlab.tasks.get("flipflop"))
