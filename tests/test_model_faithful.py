"""Options that make the leaky RNN the networks of two papers: direct τ and a uniform h0
(Khajehabdollahi, Zeraati et al. 2024), bias-free networks and task-aligned low-rank
initialisation (Liu et al. 2024), each against an independent NumPy computation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from rnnlab import models, tasks
from rnnlab.analysis import perturb
from rnnlab.train import train

KEY = jax.random.PRNGKey(0)


def _get(name="leaky_rnn", input_size=2, output_size=2, key=KEY, **kw):
    return models.get(name, input_size=input_size, output_size=output_size, key=key, **kw)


def _lrelu(x):
    return np.where(x > 0, x, 0.01 * x)


def _f64(a):
    return np.asarray(a, np.float64)


# --- 1. direct τ ---------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_direct_tau_gradient_is_the_analytic_derivative_and_zero_below_dt(dt):
    n = 6
    tau = dt * np.array([0.5, 0.9, 1.0, 1.5, 2.7, 4.0])  # two clamped, one at dt, three free
    m = _get(hidden_size=n, variant="wrapped", activation="leaky_relu", tau_param="direct", dt=dt, tau=dt)
    m = eqx.tree_at(lambda m: m.tau_raw, m, jnp.asarray(tau, jnp.float32))
    rng = np.random.default_rng(0)
    h, x, c = rng.normal(size=n), rng.normal(size=2), rng.normal(size=n)

    def loss(m):
        return jnp.dot(jnp.asarray(c, jnp.float32), m.step(jnp.asarray(h, jnp.float32), jnp.asarray(x, jnp.float32))[0])

    g = _f64(eqx.filter_grad(loss)(m).tau_raw)
    # by hand: h' = φ(z), z = (1 − α) h + α a, α = dt / max(τ, dt), a = W h + U x + b, so for
    # τ ≥ dt  ∂L/∂τ_i = c_i φ'(z_i) (dt / τ_i²) (h_i − a_i), and 0 where the clamp holds τ at dt
    a = _f64(m.W) @ h + _f64(m.U) @ x + _f64(m.b)
    tc = np.maximum(tau, dt)
    z = (1 - dt / tc) * h + dt / tc * a
    expected = np.where(tau >= dt, c * np.where(z > 0, 1.0, 0.01) * dt / tau**2 * (h - a), 0.0)
    assert np.all(g[:2] == 0.0) and np.all(g[2:] != 0.0)
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-7)
    # softplus: the same loss gives ∂L/∂τ̃ = σ(τ̃) ∂L/∂τ (the chain rule through dt + softplus(τ̃))
    free = tau > dt
    raw = np.log(np.expm1(tau[free] - dt))
    sp = _get(hidden_size=n, variant="wrapped", activation="leaky_relu", dt=dt, tau=dt)
    sp = eqx.tree_at(lambda m: m.tau_raw, sp, sp.tau_raw.at[free].set(jnp.asarray(raw, jnp.float32)))
    g_sp = _f64(eqx.filter_grad(loss)(sp).tau_raw)[free]
    np.testing.assert_allclose(g_sp, expected[free] / (1 + np.exp(-raw)), rtol=1e-5, atol=1e-7)


def _taus_set(m, tau):
    """``m`` with time constants ``tau`` written in its own parameterisation (independently of
    the model's helpers: τ̃ = log(expm1(τ − dt)) for softplus, τ itself for direct)."""
    dt = m.cfg.dt
    raw = tau if m.cfg.tau_param == "direct" else np.log(np.expm1(tau - dt))
    return eqx.tree_at(lambda m: m.tau_raw, m, jnp.asarray(raw, jnp.float32))


@pytest.mark.parametrize("variant", ["standard", "wrapped"])
def test_softplus_and_direct_give_the_same_forward_pass(variant):
    tau = 1.0 + 3.0 * np.random.default_rng(1).uniform(size=16) + 1e-2
    kw = dict(hidden_size=16, variant=variant, tau=1.0, tau_spread=3.0)
    sp, dr = (_taus_set(_get(tau_param=p, **kw), tau) for p in ("softplus", "direct"))
    np.testing.assert_allclose(sp.taus(), dr.taus(), rtol=1e-6)
    x = jax.random.normal(jax.random.PRNGKey(3), (4, 30, 2))
    (a_sp, y_sp), (a_dr, y_dr) = models.run(sp, x), models.run(dr, x)
    np.testing.assert_allclose(a_sp, a_dr, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_sp, y_dr, rtol=1e-5, atol=1e-6)


def test_direct_tau_update_diagonal_and_perturbation():
    m = _taus_set(_get(hidden_size=8, variant="wrapped", activation="tanh", tau_param="direct", self_connections=False),
                  np.array([0.3, 1.0, 1.2, 2.0, 3.0, 5.0, 0.99, 8.0]))
    h, d = jax.random.normal(KEY, (8,)), jax.random.normal(jax.random.PRNGKey(1), (8,))
    _, diag = m.update_diagonal(h, d)
    J = jax.jacfwd(lambda h: m.update(h, d, None)[0])(h)
    np.testing.assert_allclose(diag, jnp.diagonal(J), rtol=1e-5, atol=1e-6)
    # a τ perturbation writes τ in the model's own parameterisation: same new τ for both
    sp = _taus_set(_get(hidden_size=8), np.asarray(m.taus()) + 1e-2)
    dr = _taus_set(_get(hidden_size=8, tau_param="direct"), np.asarray(m.taus()) + 1e-2)
    p_sp, p_dr = (perturb(x, 0.3, 7, target="tau", kind="additive") for x in (sp, dr))
    np.testing.assert_allclose(p_dr.taus(), p_sp.taus(), rtol=1e-5)
    assert not np.allclose(p_dr.taus(), dr.taus())


# --- 2. initial state ----------------------------------------------------------------------


def test_uniform_initial_state_is_fixed_and_uniform_on_0_to_scale():
    assert np.all(np.asarray(_get(hidden_size=5).initial_state()) == 0)  # default unchanged
    m = _get(hidden_size=2000, initial_state="uniform")
    h0 = np.asarray(m.initial_state())
    assert 0 <= h0.min() and h0.max() < 0.1
    assert stats.kstest(h0, stats.uniform(0, 0.1).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(h0, m.initial_state())  # the same h0 every trial
    other = _get(hidden_size=2000, initial_state="uniform", key=jax.random.PRNGKey(1)).initial_state()
    assert not np.allclose(h0, other)
    scaled = _get(hidden_size=2000, initial_state="uniform", h0_scale=0.5).initial_state()
    np.testing.assert_allclose(scaled, 5 * h0, rtol=1e-6)
    # trials start there: the first step of ``run`` is ``step(h0, x_0)``
    small = _get(hidden_size=8, initial_state="uniform")
    x = jax.random.normal(KEY, (1, 3, 2))
    np.testing.assert_allclose(models.run(small, x)[0][0, 0], small.step(small.initial_state(), x[0, 0])[0], rtol=1e-6)


# --- 3. bias-free networks -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["leaky_rnn", "low_rank_rnn"])
def test_bias_free_network_has_no_bias_and_trains_without_one(name):
    m = _get(name, hidden_size=12, bias=False, initial_state="uniform", tau_param="direct", tau=1.0, tau_spread=1.0)
    assert m.readout_layer.bias is None
    h, x = jax.random.normal(KEY, (12,)), jax.random.normal(jax.random.PRNGKey(1), (2,))
    np.testing.assert_allclose(m.readout(h), _f64(m.readout_layer.weight) @ _f64(h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.input_drive(x), _f64(m.U) @ _f64(x), rtol=1e-5, atol=1e-6)
    shifted = eqx.tree_at(lambda m: m.b, m, jnp.ones(12))  # b is not used at all
    np.testing.assert_array_equal(shifted.step(h, x)[0], m.step(h, x)[0])
    g = jax.grad(lambda m: models.run(m, jnp.ones((2, 5, 2)))[1].sum())(m)  # plain jax.grad works
    assert np.all(np.asarray(g.b) == 0) and np.all(np.asarray(g.h0) == 0)
    # training: b stays 0 and the readout bias absent; the frozen h0 is left exactly as it is by
    # Adam and shrunk by AdamW's decoupled weight decay alone, (1 − lr·wd) per applied step
    task = tasks.get("flipflop", n_bits=2, n_steps=20, p=0.1)
    m0 = _get(name, input_size=task.n_inputs, output_size=task.n_outputs, hidden_size=12, bias=False,
              initial_state="uniform")
    run = dict(key=0, steps=20, eval_every=10, batch_size=8, eval_batch_size=8, lr=1e-2, progress=False)
    for opt, shrink in (("adam", 1.0), ("adamw", (1 - 1e-2 * 0.1) ** 20)):
        res = train(m0, task, optimizer=opt, weight_decay=0.1, **run)
        assert int(res.state.step) == 20
        assert np.all(np.asarray(res.model.b) == 0) and res.model.readout_layer.bias is None
        np.testing.assert_allclose(res.model.initial_state(), shrink * _f64(m0.initial_state()), rtol=2e-6)
        assert not np.allclose(res.model.U, m0.U)


# --- 4. task-aligned low-rank initialisation -----------------------------------------------


def _residual(W, A):
    """``‖(I − P_A) W‖_F / ‖W‖_F``, ``P_A`` the orthogonal projector onto span(A) (NumPy, float64)."""
    Q, _ = np.linalg.qr(A)
    return np.linalg.norm(W - Q @ (Q.T @ W)) / np.linalg.norm(W)


@pytest.mark.parametrize("rank", [2, 3, 8])
def test_aligned_rank_init(rank):
    n, n_in, n_out = 40, 3, 4
    kw = dict(input_size=n_in, output_size=n_out, hidden_size=n, gain=1.25)
    m = _get(init="aligned_rank", init_rank=rank, **kw)
    W, U, Wout = _f64(m.W), _f64(m.U), _f64(m.readout_layer.weight)
    s = np.linalg.svd(W, compute_uv=False)
    assert np.all(s[:rank] > 1e-2 * s[0]) and np.all(s[rank:] < 1e-5 * s[0])  # rank exactly r
    gauss = _f64(_get(init="gaussian", **kw).W)
    np.testing.assert_allclose(np.linalg.norm(W), np.linalg.norm(gauss), rtol=1e-5)
    # the same spectrum as the unaligned truncation of the same W0 (Liu et al.'s 'rank' init)
    trunc = _f64(_get(init="rank", init_rank=rank, **kw).W)
    np.testing.assert_allclose(s[:rank], np.linalg.svd(trunc, compute_uv=False)[:rank], rtol=1e-4)
    if rank <= n_in:  # writes only along input directions
        assert _residual(W, U) < 1e-5
    else:  # spans every input direction, and more
        assert _residual(U, W) < 1e-5 and _residual(W, U) > 0.1
    if rank <= n_out:  # reads only along readout directions
        assert _residual(W.T, Wout.T) < 1e-5
    assert _residual(trunc, U) > 0.5  # a random rank-r matrix is not aligned


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="init_rank: required with init='aligned_rank'"):
        models.config("leaky_rnn", init="aligned_rank")
    with pytest.raises(ValueError, match="init_rank: must be <= hidden_size"):
        models.config("leaky_rnn", hidden_size=4, init="aligned_rank", init_rank=5)
    for field, bad in (("tau_param", "exp"), ("initial_state", "normal"), ("h0_scale", -1.0)):
        with pytest.raises(ValueError, match=field):
            models.config("low_rank_rnn", **{field: bad})


# --- 5. parity with the timescales paper's network ----------------------------------------


def test_parity_with_the_timescales_papers_equation():
    """Khajehabdollahi, Zeraati et al. 2024 (``RNN_Stack``, one layer), in NumPy:
    ``h_t = LeakyReLU((1 − 1/τ) h_{t−1} + (W_hh h_{t−1} + b + W_in x_t + b_in)/τ)``, slope 0.01,
    ``diag W_hh = 0``, ``τ`` clamped at 1 (dt = 1), ``h_0 ∈ [0, 0.1)``, ``y = W_fc h + b_fc``."""
    n, n_in, n_out, T = 24, 1, 2, 20
    m = _get(input_size=n_in, output_size=n_out, hidden_size=n, variant="wrapped", activation="leaky_relu",
             self_connections=False, tau_param="direct", tau=1.0, tau_spread=1.0, initial_state="uniform")
    rng = np.random.default_rng(4)
    tau = np.concatenate([[0.4, 0.8, 1.0], 1 + 3 * rng.uniform(size=n - 3)])  # some below the clamp
    b_hh, b_in = 0.1 * rng.normal(size=n), 0.1 * rng.normal(size=n)  # PyTorch's two Linear biases
    m = eqx.tree_at(lambda m: (m.tau_raw, m.b), m, (jnp.asarray(tau, jnp.float32), jnp.asarray(b_hh + b_in, jnp.float32)))
    x = rng.normal(size=(3, T, n_in))
    act, out = models.run(m, jnp.asarray(x, jnp.float32))

    W_hh = _f64(m.W)
    np.fill_diagonal(W_hh, 0.0)
    W_in, W_fc, b_fc = _f64(m.U), _f64(m.readout_layer.weight), _f64(m.readout_layer.bias)
    tc = np.maximum(tau, 1.0)
    h0 = _f64(m.initial_state())
    assert 0 <= h0.min() and h0.max() < 0.1
    h = np.broadcast_to(h0, (3, n))
    hs = []
    for t in range(T):
        h = _lrelu((1 - 1 / tc) * h + (h @ W_hh.T + b_hh + x[:, t] @ W_in.T + b_in) / tc)
        hs.append(h)
    hs = np.stack(hs, axis=1)
    np.testing.assert_allclose(act, hs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, hs @ W_fc.T + b_fc, rtol=1e-5, atol=1e-6)
