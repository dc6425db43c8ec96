"""Similarity measures: invariances, brute-force optima, and DSA on systems with known relations."""

import itertools

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import block_diag, orthogonal_procrustes
from scipy.stats import ortho_group

import rnnlab
from analysis_fixtures import random_model
from rnnlab.analysis import (
    DSAResult,
    WeightDistance,
    dmd,
    dsa,
    linear_cka,
    pairwise,
    procrustes_distance,
    weight_distance,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((200, 6)) @ RNG.standard_normal((6, 10))  # rank-6 data in 10 dims


def _hsic_cka(x, y):
    """CKA through centred Gram matrices: HSIC(K, L) / √(HSIC(K, K) HSIC(L, L))."""
    n = len(x)
    H = np.eye(n) - 1.0 / n
    K, L = H @ x @ x.T @ H, H @ y @ y.T @ H
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


def test_cka_invariances_and_gram_formula():
    Q = ortho_group.rvs(10, random_state=1)
    Y = RNG.standard_normal((200, 7))
    assert np.isclose(linear_cka(X, X @ Q * 3.7 + 2.0), 1.0, atol=1e-10)
    assert np.isclose(linear_cka(X, Y), linear_cka(X @ Q * 0.2, Y * 5), atol=1e-10)
    assert np.isclose(linear_cka(X, Y), _hsic_cka(X, Y), atol=1e-10)
    assert 0 <= linear_cka(X, Y) < 0.5


def test_procrustes_distance():
    Q = ortho_group.rvs(10, random_state=2)
    assert procrustes_distance(X, X @ Q + 1.0) < 1e-6
    assert procrustes_distance(X, 4.0 * X @ Q, kind="euclidean") < 1e-6
    Y = RNG.standard_normal((200, 10))
    d = procrustes_distance(X, Y)
    assert np.isclose(d, procrustes_distance(Y, X), atol=1e-12) and 0 < d <= np.pi / 2
    # Euclidean form against SciPy's orthogonal Procrustes on the normalised, centred data
    Xn, Yn = X - X.mean(0), Y - Y.mean(0)
    Xn, Yn = Xn / np.linalg.norm(Xn), Yn / np.linalg.norm(Yn)
    R, _ = orthogonal_procrustes(Yn, Xn)
    assert np.isclose(procrustes_distance(X, Y, kind="euclidean"), np.linalg.norm(Xn - Yn @ R), atol=1e-8)
    # angular and Euclidean are two readings of the same alignment: e² = 2 − 2 cos θ
    assert np.isclose(procrustes_distance(X, Y, "euclidean") ** 2, 2 - 2 * np.cos(d), atol=1e-10)


def _leaky(n, seed, **kw):
    return random_model("leaky_rnn", 2, 2, seed=seed, hidden_size=n, **kw)


def _permute(model, perm):
    """The same network with hidden units relabelled: unit i of the copy is unit perm[i]."""
    W, U, b, t, O = (np.asarray(a) for a in (model.W, model.U, model.b, model.tau_raw, model.readout_layer.weight))
    new = (W[perm][:, perm], U[perm], b[perm], t[perm], O[:, perm])
    where = lambda m: (m.W, m.U, m.b, m.tau_raw, m.readout_layer.weight)  # noqa: E731
    return eqx.tree_at(where, model, tuple(map(jnp.asarray, new)))


def _params(m):
    return [np.asarray(a, np.float64) for a in (m.W, m.U, m.b, m.taus(), m.readout_layer.weight, m.readout_layer.bias)]


def test_weight_distance_of_a_permuted_copy_is_zero(tmp_path):
    model = _leaky(6, 0, tau_spread=1.0)
    perm = np.random.default_rng(3).permutation(6)
    wd = weight_distance(model, _permute(model, perm))
    assert wd.total < 1e-5 and wd.recurrent < 1e-5 and wd.unaligned > 1.0
    np.testing.assert_array_equal(perm[wd.permutation], np.arange(6))  # the relabelling is undone
    back = WeightDistance.load(wd.save(tmp_path / "wd")[0])
    np.testing.assert_array_equal(back.permutation, wd.permutation)
    assert wd.plot().axes


def test_weight_distance_finds_the_best_permutation():
    a = _leaky(6, 1)
    noise = 0.3 * np.random.default_rng(9).standard_normal((6, 6))
    b = _permute(eqx.tree_at(lambda m: m.W, a, a.W + jnp.asarray(noise, jnp.float32)), np.array([3, 0, 5, 4, 1, 2]))
    wd = weight_distance(a, b)
    (W1, U1, b1, t1, O1, c1), (W2, U2, b2, t2, O2, c2) = _params(a), _params(b)

    def dist(p):  # brute force over all 720 relabellings of every per-unit weight
        p = np.asarray(p)
        parts = [W1 - W2[p][:, p], U1 - U2[p], b1 - b2[p], t1 - t2[p], O1 - O2[:, p], c1 - c2]
        return np.sqrt(sum(np.sum(x**2) for x in parts))

    best = min(itertools.permutations(range(6)), key=dist)
    assert np.isclose(wd.total, dist(best), atol=1e-5)
    assert wd.total <= wd.unaligned + 1e-9


def _rot(r, th):
    return r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])


def _simulate(A, T=400, K=3, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((K, T, A.shape[0]))
    for t in range(1, T):
        x[:, t] = x[:, t - 1] @ A.T + rng.standard_normal((K, A.shape[0]))
    return x


M = np.random.default_rng(5).standard_normal((6, 6)) + 2 * np.eye(6)
A1 = M @ block_diag(_rot(0.95, 0.3), _rot(0.8, 1.0), [[0.6]], [[-0.4]]) @ np.linalg.inv(M)
A2 = M @ block_diag(_rot(0.7, 0.8), _rot(0.9, 0.1), [[0.2]], [[0.85]]) @ np.linalg.inv(M)


def test_dmd_recovers_the_eigenvalues_of_a_linear_system():
    d = dmd(_simulate(A1, T=2000), n_delays=1, rank=6)
    np.testing.assert_allclose(np.sort_complex(d.eigenvalues), np.sort_complex(np.linalg.eigvals(A1)), atol=0.03)


def test_dmd_of_a_large_hankel_matrix_is_the_full_svd_one_up_to_a_change_of_basis():
    """Above ``_FULL_SVD_MAX`` the DMD takes only the leading singular triplets (Lanczos): its
    operator must be the full-SVD operator up to an orthogonal change of basis (same
    eigenvalues, DSA distance 0) and its singular values the leading ones, to rounding."""
    from rnnlab.analysis.dsa import _FULL_SVD_MAX, delay_embed

    rng = np.random.default_rng(3)
    x = np.cumsum(rng.standard_normal((20, 40, 40)), axis=1) * 0.1 + np.tanh(rng.standard_normal((20, 40, 40)))
    H = delay_embed(x, 8).reshape(-1, 320)
    assert min(H.shape) > _FULL_SVD_MAX
    u, s, _ = np.linalg.svd(H, full_matrices=False)
    V = u[:, :6].reshape(20, -1, 6)  # the DMD of the module docstring with every singular triplet
    A_full = np.linalg.lstsq(V[:, :-1].reshape(-1, 6), V[:, 1:].reshape(-1, 6), rcond=None)[0].T
    d = dmd(x, n_delays=8, rank=6)
    np.testing.assert_allclose(d.singular_values, s[: len(d.singular_values)], rtol=1e-10)
    assert len(d.singular_values) == 2 * 6 + 10
    np.testing.assert_allclose(np.sort_complex(d.eigenvalues), np.sort_complex(np.linalg.eigvals(A_full)),
                               atol=1e-9)
    Q = np.linalg.lstsq(V.reshape(-1, 6), np.asarray(_dmd_modes(x, d)), rcond=None)[0]  # V_lanczos = V Q
    np.testing.assert_allclose(Q @ Q.T, np.eye(6), atol=1e-9)
    np.testing.assert_allclose(d.A, Q.T @ A_full @ Q, atol=1e-9)


def _dmd_modes(x, d):
    from rnnlab.analysis.dsa import _leading_singular, delay_embed

    H = delay_embed(x, d.n_delays).reshape(-1, 320)
    return _leading_singular(H, d.rank)[0]


def test_dsa_rotated_systems_are_close_and_unrelated_ones_are_not(tmp_path):
    x = _simulate(A1)
    R = ortho_group.rvs(6, random_state=1)
    same = dsa(x, x @ R.T, n_delays=2, rank=6)  # the trajectories of R A Rᵀ
    fresh = dsa(x, _simulate(R @ A1 @ R.T, seed=7), n_delays=2, rank=6)  # new noise
    other = dsa(x, _simulate(A2, seed=8), n_delays=2, rank=6)  # different eigenvalues
    assert same.angular < 1e-3 and same.euclidean < 1e-3
    assert other.angular > 5 * fresh.angular and other.euclidean > 5 * fresh.euclidean
    # the optimal C is orthogonal and the reported distances are those of C
    np.testing.assert_allclose(same.C @ same.C.T, np.eye(6), atol=1e-8)
    assert np.isclose(other.euclidean, np.linalg.norm(other.A - other.C @ other.B @ other.C.T))
    back = DSAResult.load(other.save(tmp_path / "dsa")[0])
    assert back.angular == other.angular
    other.plot(tmp_path / "dsa.png")
    assert (tmp_path / "dsa.png").stat().st_size > 1000


def test_dsa_of_a_network_and_its_permuted_copy_is_zero():
    model = _leaky(6, 2, gain=1.3, tau=2.0)
    perm = np.random.default_rng(4).permutation(6)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((3, 150, 2)), jnp.float32)
    a1, _ = rnnlab.run(model, x)
    a2, _ = rnnlab.run(_permute(model, perm), x)
    np.testing.assert_allclose(np.asarray(a2), np.asarray(a1)[..., perm], atol=1e-5)
    assert dsa(a1, a2, n_delays=2, rank=6).angular < 1e-3
    assert weight_distance(model, _permute(model, perm)).total < 1e-5


def test_pairwise_matrix():
    items = [X, X * 2.0, RNG.standard_normal((200, 10))]
    dm = pairwise(items, procrustes_distance, names=["a", "b", "c"])
    assert dm.distances.shape == (3, 3) and np.allclose(dm.distances, dm.distances.T)
    assert np.allclose(np.diag(dm.distances), 0) and dm.distances[0, 1] < 1e-6 < dm.distances[0, 2]
    assert dm.metric == "procrustes_distance" and dm.summary()["n"] == 3
    with pytest.raises(ValueError):
        procrustes_distance(X, X[:10])


def test_batched_dsa_and_faster_weight_matching_keep_the_distances():
    """Regression on fixed inputs: the values below were computed by the pair-at-a-time DSA
    optimiser and the weight matching that iterated every start 50 times (before the batched
    ``similarity_transform_distances`` and the cycle-stopping matching); both must be unchanged
    (the batch mixes sizes: the 4 x 4 operator is zero-padded against a 6 x 6 one)."""
    from rnnlab import models
    from rnnlab.analysis import similarity_transform_distance, similarity_transform_distances, weight_distance

    rng = np.random.default_rng(2026)
    As = [rng.normal(size=(6, 6)) * 0.4 for _ in range(5)] + [rng.normal(size=(4, 4)) * 0.4]
    pairs = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 0)]
    expected = [(1.486439959683, 0.55394298321), (1.092425290948, 0.448364211246), (1.27891065649, 0.458450174534),
                (1.541365674075, 0.564675793268), (1.715080293071, 0.62454912748), (1.60255113867, 0.56790096118)]
    e, a, Cs = similarity_transform_distances([As[i] for i, _ in pairs], [As[j] for _, j in pairs])
    np.testing.assert_allclose(np.c_[e, a], expected, rtol=1e-7)
    for (i, j), (ee, aa), C in zip(pairs, expected, Cs):
        np.testing.assert_allclose(C @ C.T, np.eye(len(C)), atol=1e-12)
    np.testing.assert_allclose(similarity_transform_distance(As[0], As[1])[:2], expected[0], rtol=1e-7)
    nets = [models.get("leaky_rnn", input_size=2, output_size=2, key=k, hidden_size=16) for k in range(4)]
    got = [weight_distance(nets[i], nets[j]).total for i, j in [(0, 1), (1, 2), (2, 3)]]
    np.testing.assert_allclose(got, [6.425480940431, 5.847504150498, 5.631668460376], rtol=1e-10)
    assert list(weight_distance(nets[0], nets[1]).permutation) == [3, 14, 1, 15, 12, 2, 8, 6, 13, 9, 0, 7, 10, 5, 4, 11]
    grus = [models.get("gru", input_size=2, output_size=2, key=k, hidden_size=8) for k in range(2)]
    np.testing.assert_allclose(weight_distance(*grus).total, 4.784773708235, rtol=1e-10)
