"""Comparison of a network with a recorded population (rnnlab.analysis.neural_fit): known
answers of state R² and CCA, and the sweep analysis on a reaching network."""

import jax
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis.neural_fit import cca, neural_fit, state_r2, teacher_trials
from rnnlab.sweep.analyses import ANALYSES, NetworkContext

RNG = np.random.default_rng(0)
K, T, U, N = 40, 50, 5, 12
Y = RNG.normal(size=(K, T, U))


def test_state_r2_of_an_exact_linear_function_is_one():
    H = Y @ RNG.normal(size=(U, N)) + RNG.normal(size=N)  # full column rank: Y = (H − c) A⁺
    np.testing.assert_allclose(state_r2(H, Y, ridge=0.0).r2, 1.0, atol=1e-9)
    # the default ridge (10⁻³ of the mean eigenvalue) shrinks by at most about that much
    assert state_r2(H, Y).mean > 1 - 1e-3


def test_state_r2_of_independent_noise_is_about_zero():
    """Held-out R² of a map fitted to noise: ≈ −(N+1)/n_train (overfitting) with sampling sd ≈
    √(2/n) per unit; n_train = 0.8·K·T = 1600, so ≈ −0.008 ± 0.035 per unit and ±0.016 for the
    mean of 5 units: bounds of −0.06 and +0.04 are over 3 sd away."""
    res = state_r2(RNG.normal(size=(K, T, N)), Y)
    assert -0.06 < res.mean < 0.04 and np.all(res.r2 < 0.1), res.r2


def test_state_r2_with_condition_folds_and_pcs():
    H = np.concatenate([Y, RNG.normal(size=(K, T, 30))], -1)  # Y plus 30 noise dimensions
    groups = np.arange(K) % 8
    assert state_r2(H, Y, groups=groups, folds=4).mean > 0.99
    # 3 PCs of a state whose variance is mostly noise cannot carry all 5 target dimensions
    assert state_r2(H, Y, n_pcs=3).mean < 0.5
    with pytest.raises(ValueError, match="folds"):
        state_r2(H, Y, groups=groups, folds=9)
    with pytest.raises(ValueError, match="same trials"):
        state_r2(H[:-1], Y)


def test_cca_known_answers():
    A = RNG.normal(size=(U, U)) + 3 * np.eye(U)
    np.testing.assert_allclose(cca(Y @ A, Y, 5), 1.0, atol=1e-9)
    # independent samples: canonical correlations of k vs k dimensions from n points are ≈ √(k/n) at most
    c = cca(RNG.normal(size=(K, T, U)), Y, 5)
    assert c.max() < 5 * np.sqrt(5 / (K * T))


def test_neural_fit_splits_recorded_and_heldout_units():
    H = np.concatenate([Y[..., :2], RNG.normal(size=(K, T, 6))], -1)  # carries units 0, 1 only
    f = neural_fit(H, Y, recorded=[0, 1], dsa_delays=None)
    assert f.r2_recorded > 0.99 and abs(f.r2_heldout) < 0.05 and np.isnan(f.dsa)
    assert set(f.summary()) == {"r2_heldout", "r2_recorded", "r2_all", "cca_mean", "procrustes", "dsa"}
    with pytest.raises(ValueError, match="recorded"):
        neural_fit(H, Y, recorded=[7])


def test_sweep_analysis_on_a_reaching_network():
    task = rnnlab.tasks.get("reaching", n_teacher=12, n_recorded=4, delay=(100.0, 100.0))
    model = rnnlab.models.config("leaky_rnn", hidden_size=16, dt=20.0, tau=100.0).build(
        task.n_inputs, task.n_outputs, jax.random.PRNGKey(0))
    H, Yt, out, cond = teacher_trials(model, task, n_trials=16)
    assert H.shape == (16, 30, 16) and Yt.shape == (16, 30, 12) and cond.shape == (16,)
    cols = ANALYSES["neural_fit"](model, task, NetworkContext(seed=0), n_trials=16, common_recorded=8, n_pcs=5,
                                  dsa_delays=3, dsa_rank=4)
    assert set(cols) == {"behaviour_mse", "behaviour_r2", "teacher_r2_heldout", "teacher_r2_recorded", "teacher_cca",
                         "teacher_procrustes", "teacher_dsa", "teacher_r2_common", "teacher_r2_common_pcs"}
    assert all(isinstance(v, float) and np.isfinite(v) for v in cols.values()), cols
