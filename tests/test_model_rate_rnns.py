"""LeakyRNN connectivity constraints (Dale's law, sparse and user masks), initialisations,
effective rank, and the low-rank RNN."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import models, tasks
from rnnlab.models import init
from rnnlab.train import train

KEY = jax.random.PRNGKey(0)
SMALL = dict(steps=300, eval_every=100, batch_size=16, eval_batch_size=64, lr=1e-2, progress=False)


def _get(**kw):
    return models.get("leaky_rnn", input_size=2, output_size=1, key=KEY, **kw)


def test_dale_signs_density_and_balance_at_init():
    m = _get(hidden_size=100, dale=True, density=0.3, dale_readout=True)
    W = np.asarray(m.recurrent_weights())
    assert m.cfg.n_excitatory == 80
    assert W[:, :80].min() >= 0 and W[:, 80:].max() <= 0
    assert abs((W != 0).mean() - 0.3) < 0.03
    assert abs(W.sum(axis=1).mean()) < 0.2 * np.abs(W).sum(axis=1).mean()  # E and I inputs balance on average
    # the mask is fixed: no gradient reaches it, nor the masked weights
    R = jax.random.normal(KEY, (100, 100))
    g = eqx.filter_grad(lambda m: jnp.sum(m.recurrent_weights() * R))(m)
    assert np.all(np.asarray(g.mask) == 0)
    assert np.all(np.asarray(g.W)[np.asarray(m.mask) == 0] == 0) and np.any(np.asarray(g.W) != 0)
    # Dale readout: non-negative weights on excitatory units only
    h = jnp.zeros(100).at[90].set(5.0)  # an inhibitory unit alone has no effect on the output
    np.testing.assert_allclose(m.readout(h), m.readout(jnp.zeros(100)))


def test_user_mask_and_defaults_unchanged():
    mask = np.triu(np.ones((16, 16), bool))
    m = _get(hidden_size=16, mask=mask.tolist())
    assert np.all(np.asarray(m.recurrent_weights())[~mask] == 0)
    plain = _get(hidden_size=16)
    assert plain.mask is None
    np.testing.assert_array_equal(plain.recurrent_weights(), plain.W)


@pytest.mark.parametrize("kind", ["gaussian", "orthogonal", "identity", "rank"])
def test_initialisations(kind):
    n = 64
    m = _get(hidden_size=n, init=kind, init_rank=3, gain=1.5, init_noise=0.0)
    W = np.asarray(m.recurrent_weights(), np.float64)
    s = np.linalg.svd(W, compute_uv=False)
    if kind == "orthogonal":
        np.testing.assert_allclose(W @ W.T, 1.5**2 * np.eye(n), atol=1e-4)
    elif kind == "identity":
        np.testing.assert_allclose(W, 1.5 * np.eye(n), atol=1e-6)
    elif kind == "rank":  # Liu et al. 2024: rank-3 truncation at the Frobenius norm of the full W0
        assert np.sum(s > 1e-4 * s[0]) == 3
        full = np.asarray(init.gaussian(jax.random.split(KEY, 4)[0], n, 1.5))
        np.testing.assert_allclose(np.linalg.norm(W), np.linalg.norm(full), rtol=1e-4)
    else:
        assert abs(np.linalg.norm(W) ** 2 / n - 1.5**2) < 0.1


def test_effective_rank():
    assert abs(float(init.effective_rank(jnp.eye(10))) - 10) < 1e-4
    assert abs(float(init.effective_rank(jnp.outer(jnp.arange(1.0, 6), jnp.ones(5)))) - 1) < 1e-3
    s = np.array([3.0, 1.0])  # exp of the entropy of p = s / Σ s
    p = s / s.sum()
    expected = np.exp(-(p * np.log(p)).sum())
    assert abs(float(init.effective_rank(jnp.diag(jnp.asarray(s)))) - expected) < 1e-5


def test_config_errors_name_the_parameter():
    with pytest.raises(ValueError, match="init_rank: required"):
        models.config("leaky_rnn", init="rank")
    with pytest.raises(ValueError, match="init_rank: must be <= hidden_size"):
        models.config("leaky_rnn", hidden_size=4, init="rank", init_rank=5)
    with pytest.raises(ValueError, match="dale_readout: needs dale=True"):
        models.config("leaky_rnn", dale_readout=True)
    with pytest.raises(ValueError, match="density: Input should be greater than 0"):
        models.config("leaky_rnn", density=0)
    with pytest.raises(ValueError, match="excitatory_fraction: leaves no excitatory unit"):
        models.config("leaky_rnn", hidden_size=2, dale=True, excitatory_fraction=0.1)
    with pytest.raises(ValueError, match="mask: must be 3×3"):
        models.config("leaky_rnn", hidden_size=3, mask=[[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="rank: must be <= hidden_size"):
        models.config("low_rank_rnn", hidden_size=4, rank=5)


def test_low_rank_structure_survives_any_update():
    m = models.get("low_rank_rnn", input_size=2, output_size=1, key=KEY, hidden_size=16, rank=2)
    R = jax.random.normal(KEY, (16, 16))
    g = eqx.filter_grad(lambda m: jnp.sum(m.recurrent_weights() * R))(m)  # a full-rank "gradient" on J
    stepped = eqx.apply_updates(m, jax.tree.map(lambda x: -0.5 * x, g))
    for model in (m, stepped):
        s = np.linalg.svd(np.asarray(model.recurrent_weights(), np.float64), compute_uv=False)
        assert np.sum(s > 1e-5 * s[0]) == 2
    h = jax.random.normal(KEY, (16,))
    np.testing.assert_allclose(m._recurrent(h), m.recurrent_weights() @ h, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_dale_network_learns_and_keeps_its_signs():
    task = tasks.get("flipflop", n_bits=1, n_steps=30, p=0.1)
    cfg = models.config("leaky_rnn", hidden_size=32, dale=True, dale_readout=True, density=0.5,
                        self_connections=False, tau=2.0)
    res = train(cfg, task, key=1, ensemble=2, **SMALL)
    assert max(res.history.final("metric")) < 0.25  # chance (predicting 0) is ≈ 0.7
    ne = cfg.n_excitatory
    for e in range(2):
        m = res.member(e)
        W, mask = np.asarray(m.recurrent_weights()), np.asarray(m.mask)
        assert W[:, :ne].min() >= 0 and W[:, ne:].max() <= 0
        assert np.all(W[mask == 0] == 0) and np.all(np.diag(W) == 0)
        assert set(np.unique(mask)) <= {0.0, 1.0}
        np.testing.assert_allclose(m.readout(jnp.eye(32)[ne]), m.readout(jnp.zeros(32)))  # I units silent


@pytest.mark.slow
def test_low_rank_rnn_keeps_rank_r_throughout_training():
    task = tasks.get("flipflop", n_bits=1, n_steps=30, p=0.1)
    ranks = []

    def check(ckpt):
        for e in range(2):
            J = np.asarray(jax.tree.map(lambda x: x[e], ckpt.state.model.m) @ ckpt.state.model.n[e].T / 32, np.float64)
            s = np.linalg.svd(J, compute_uv=False)
            ranks.append(int(np.sum(s > 1e-5 * s[0])))

    cfg = models.config("low_rank_rnn", hidden_size=32, rank=2, tau=2.0)
    m0 = cfg.build(1, 1, KEY)
    s0 = np.linalg.svd(np.asarray(m0.recurrent_weights(), np.float64), compute_uv=False)
    assert np.sum(s0 > 1e-5 * s0[0]) == 2
    res = train(cfg, task, key=2, ensemble=2, on_eval=check, **SMALL)
    assert ranks == [2] * 6
    assert max(res.history.final("metric")) < 0.25
    m = res.member(0)
    np.testing.assert_allclose(m.recurrent_weights(), m.m @ m.n.T / 32, rtol=1e-6)
