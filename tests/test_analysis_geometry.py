"""Geometry: PCA and participation ratio against known spectra, weight/Jacobian spectra."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from scipy.linalg import block_diag, subspace_angles
from scipy.stats import ortho_group

from analysis_fixtures import random_model
from rnnlab.analysis import PCA, jacobian_spectrum, participation_ratio, pca, weight_spectrum


def _gaussian(spectrum, m, seed):
    """Samples with covariance Q diag(spectrum) Qᵀ for a random rotation Q."""
    rng = np.random.default_rng(seed)
    Q = ortho_group.rvs(len(spectrum), random_state=seed)
    return (rng.standard_normal((m, len(spectrum))) * np.sqrt(spectrum)) @ Q.T, Q


def test_participation_ratio_of_a_known_spectrum():
    lam = 1.0 / np.arange(1, 21)  # power-law spectrum
    expected = lam.sum() ** 2 / np.sum(lam**2)
    x, _ = _gaussian(lam, 40_000, seed=0)
    assert np.isclose(participation_ratio(x), expected, rtol=0.03)
    assert np.isclose(participation_ratio(lam, eigenvalues=True), expected, rtol=1e-12)
    # isotropic data in N dims has PR = N, one dominant direction has PR ≈ 1
    assert np.isclose(participation_ratio(np.random.default_rng(1).standard_normal((40_000, 8))), 8, rtol=0.03)
    assert participation_ratio(_gaussian(np.r_[100.0, np.full(9, 1e-4)], 5000, 2)[0]) < 1.01


def test_pca_matches_covariance_eigendecomposition():
    x, _ = _gaussian(np.linspace(3, 0.1, 6), 2000, seed=3)
    x = x.reshape(40, 50, 6) + 5.0  # leading axes are samples; a mean offset is removed
    p = pca(x)
    w, v = np.linalg.eigh(np.cov(x.reshape(-1, 6).T))
    np.testing.assert_allclose(p.variance, w[::-1], rtol=1e-10)
    np.testing.assert_allclose(np.abs(np.sum(p.components * v[:, ::-1].T, axis=1)), 1.0, atol=1e-8)
    np.testing.assert_allclose(p.explained.sum(), 1.0)
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(p.transform(x).reshape(-1, 6).var(axis=0, ddof=1), p.variance, rtol=1e-8)


def test_pca_recovers_a_planted_subspace():
    rng = np.random.default_rng(4)
    basis = ortho_group.rvs(30, random_state=4)[:, :3]  # a 3-d subspace of R^30
    x = rng.standard_normal((3000, 3)) * [3.0, 2.0, 1.5] @ basis.T + 0.05 * rng.standard_normal((3000, 30))
    p = pca(x, n_components=3)
    assert np.max(subspace_angles(p.components.T, basis)) < 0.02
    assert p.n_for(0.95) == 3 and p.explained.sum() > 0.99


def test_weight_spectrum_of_a_planted_matrix():
    model = random_model("leaky_rnn", 2, 2, hidden_size=6)
    th = 0.4
    expected = np.array([-1.2, 0.9 * np.exp(1j * th), 0.9 * np.exp(-1j * th), 0.5, 0.1, -0.3])
    rot = 0.9 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    W = block_diag(rot, np.diag([-1.2, 0.5, 0.1, -0.3]))
    M = np.random.default_rng(0).standard_normal((6, 6)) + 2 * np.eye(6)
    W = M @ W @ np.linalg.inv(M)
    model = eqx.tree_at(lambda m: m.W, model, jnp.asarray(W, jnp.float32))
    s = weight_spectrum(model)
    np.testing.assert_allclose(np.sort_complex(s.eigenvalues), np.sort_complex(expected), atol=1e-5)
    assert np.isclose(s.spectral_radius, 1.2, atol=1e-5)
    assert s.plot().axes


def test_jacobian_spectrum_matches_the_analytic_jacobian(tmp_path):
    model = random_model("leaky_rnn", 2, 2, seed=1, hidden_size=6)
    model = eqx.tree_at(lambda m: m.W, model, 1.5 * model.W)
    x = np.random.default_rng(0).standard_normal((2, 12, 2)).astype(np.float32)
    js = jacobian_spectrum(model, x, every=3)
    assert js.eigenvalues.shape == (2, 4, 6) and list(js.times) == [0, 3, 6, 9]
    # standard leaky tanh RNN: ∂h_t/∂h_{t−1} = diag(1 − α) + diag(α (1 − tanh²(W h + U x + b))) W
    W, U, b = (np.asarray(a, np.float64) for a in (model.W, model.U, model.b))
    alpha = 1.0 / np.asarray(model.taus(), np.float64)
    for k in range(2):
        h = np.zeros(6)
        for t in range(12):
            pre = W @ h + U @ x[k, t] + b
            if t % 3 == 0:
                J = np.diag(1 - alpha) + (alpha * (1 - np.tanh(pre) ** 2))[:, None] * W
                e = np.linalg.eigvals(J)
                np.testing.assert_allclose(np.sort_complex(js.eigenvalues[k, t // 3]), np.sort_complex(e), atol=1e-5)
                assert np.isclose(js.spectral_radius[k, t // 3], np.abs(e).max(), atol=1e-5)
            h = (1 - alpha) * h + alpha * np.tanh(pre)
    res = pca(np.random.default_rng(0).standard_normal((100, 4)))
    back = PCA.load(res.save(tmp_path / "pca")[0])
    np.testing.assert_array_equal(back.components, res.components)
    assert back.participation_ratio == res.participation_ratio
    js.plot(tmp_path / "js.png")
    assert (tmp_path / "js.png").stat().st_size > 1000
