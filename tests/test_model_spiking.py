"""Spiking network: exact Heaviside with surrogate gradients, the LIF/ALIF update against
NumPy, snnTorch's RLeaky step for step (if installed), the delta encoder, the regulariser."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import peer
from rnnlab import models
from rnnlab.models.surrogate import SURROGATES, spike

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("kind", sorted(SURROGATES))
def test_surrogate_forward_is_heaviside_and_gradient_is_finite_near_threshold(kind):
    x = jnp.concatenate([jnp.linspace(-2.0, 2.0, 401), jnp.array([0.0, -1e-7, 1e-7])])
    np.testing.assert_array_equal(spike(x, kind, 5.0), (np.asarray(x) > 0).astype(np.float32))
    g = jax.vmap(jax.grad(lambda v: spike(v, kind, 5.0)))(x)
    assert np.all(np.isfinite(g)) and np.all(g > 0)
    near, far = np.abs(np.asarray(x)) < 0.05, np.abs(np.asarray(x)) > 1.5
    assert g[near].min() > 10 * g[far].max()  # peaked at the threshold
    peak = {"fast_sigmoid": 2.5, "superspike": 1.0, "arctan": 2.5}[kind]
    np.testing.assert_allclose(jax.grad(lambda v: spike(v, kind, 5.0))(0.0), peak, rtol=1e-6)


def _numpy_step(m, st, x):
    """The documented ALIF update with synaptic current, subtractive reset and refractoriness."""
    c = m.cfg
    f = lambda a: np.asarray(a, np.float64)  # noqa: E731
    b_syn, b_mem = np.exp(-c.dt / f(m._tau(m.tau_syn_raw))), np.exp(-c.dt / f(m.taus()))
    i_syn = b_syn * f(st.i_syn) + f(m.W_in) @ x + f(m.b) + f(m.W_rec) @ f(st.s)
    v = b_mem * f(st.v) + i_syn - f(st.reset)
    theta = f(m.thresholds()) + c.beta_adapt * f(st.a)
    s = ((v - theta > 0) & (f(st.refrac) <= 0)).astype(float)
    refrac = np.where(s > 0, c.refractory, np.maximum(f(st.refrac) - 1, 0))
    a = np.exp(-c.dt / c.tau_adapt) * f(st.a) + s
    b_out = np.exp(-c.dt / c.tau_out)
    return dict(i_syn=i_syn, v=v, s=s, reset=theta * s, a=a, refrac=refrac, trace=b_out * f(st.trace) + (1 - b_out) * s)


def test_alif_step_matches_the_equations():
    m = models.get("spiking_rnn", input_size=3, output_size=2, key=KEY, hidden_size=16, neuron="alif",
                   refractory=2, tau_mem=7.0, tau_syn=3.0)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 16)).astype(np.float32)
    st = m.initial_state()._replace(
        i_syn=jnp.asarray(z[0]), v=jnp.asarray(z[1] + 2.0), s=jnp.asarray(z[2] > 0, jnp.float32),
        reset=jnp.asarray(np.abs(z[3])), a=jnp.asarray(0.2 * np.abs(z[4])),
        refrac=jnp.asarray(rng.integers(0, 3, 16), jnp.float32),
        trace=jnp.asarray(np.abs(z[6])))
    x = rng.normal(size=3)
    new, act = eqx.filter_jit(m.step)(st, jnp.asarray(x, jnp.float32))
    expected = _numpy_step(m, st, x)
    for k, v in expected.items():
        np.testing.assert_allclose(getattr(new, k), v, rtol=1e-5, atol=1e-5, err_msg=k)
    np.testing.assert_array_equal(act, new.trace)
    assert 0 < float(new.s.sum()) < 16


def test_adaptation_and_refractoriness_reduce_firing():
    @eqx.filter_jit
    def rate(m):
        m = eqx.tree_at(lambda m: (m.W_in, m.W_rec), m, (jnp.full((16, 3), 0.2), jnp.zeros((16, 16))))
        _, states = jax.lax.scan(lambda s, _: (m.step(s, jnp.ones(3))[0],) * 2, m.initial_state(), None, length=300)
        return states.s.mean()

    def get(**kw):
        return models.get("spiking_rnn", input_size=3, output_size=2, key=KEY, hidden_size=16, **kw)

    lif, alif, refr = (float(rate(get(**kw))) for kw in ({}, dict(neuron="alif", tau_adapt=50.0), dict(refractory=5)))
    assert 0.2 < lif and alif < 0.5 * lif and refr <= 1 / 6 + 1e-6


def test_surrogate_gradient_reaches_weights_and_thresholds():
    m = models.get("spiking_rnn", input_size=3, output_size=2, key=KEY, hidden_size=16, neuron="alif")
    x = jax.random.normal(KEY, (2, 40, 3)) * 3

    g = eqx.filter_jit(eqx.filter_grad(lambda m: models.run(m, x)[1].sum()))(m)
    for leaf in (g.W_in, g.W_rec, g.tau_mem_raw, g.tau_syn_raw, g.theta_raw):
        assert np.all(np.isfinite(leaf)) and np.any(np.asarray(leaf) != 0)


def test_delta_encoder_sends_on_delta_and_learns_its_threshold():
    m = models.get("spiking_rnn", input_size=1, output_size=1, key=KEY, hidden_size=4, encoding="delta",
                   encoder_threshold=0.1)
    enc = m.encoder

    @eqx.filter_jit
    def run(enc):
        xs = jnp.array([0.35] * 5 + [0.0] * 5)[:, None]
        _, spikes = jax.lax.scan(lambda ref, x: enc(x, ref)[::-1], jnp.zeros(1), xs)
        g = eqx.filter_grad(lambda e: e(jnp.array([0.105]), jnp.zeros(1))[0].sum())(enc)
        return spikes, g

    spikes, g = run(enc)
    spikes = np.asarray(spikes)  # columns: ON, OFF
    np.testing.assert_array_equal(spikes[:, 0], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(spikes[:, 1], [0, 0, 0, 0, 0, 1, 1, 1, 0, 0])
    assert np.isfinite(g.theta_raw).all() and float(g.theta_raw[0]) < 0  # a higher threshold removes the spike


def test_rate_regulariser():
    m = models.get("spiking_rnn", input_size=1, output_size=1, key=KEY, hidden_size=4, rate_reg=2.0, target_rate=0.1)
    act = jnp.stack([jnp.full((5, 4), 0.1), jnp.full((5, 4), 0.3)])  # mean rate 0.2 per unit
    np.testing.assert_allclose(m.regularization(act), 2.0 * 0.1**2, rtol=1e-5)
    plain = models.get("spiking_rnn", input_size=1, output_size=1, key=KEY, hidden_size=4)
    assert float(plain.regularization(act)) == 0


def test_config_errors_name_the_parameter():
    with pytest.raises(ValueError, match="tau_mem: must be >= dt = 2.0"):
        models.config("spiking_rnn", dt=2.0, tau_mem=1.0)
    with pytest.raises(ValueError, match="surrogate:"):
        models.config("spiking_rnn", surrogate="sigmoid")
    with pytest.raises(ValueError, match="refractory: Input should be greater than or equal to 0"):
        models.config("spiking_rnn", refractory=-1)


def test_lif_layer_matches_snntorch_rleaky():
    torch = peer("torch", "pip install -e '.[snn]' (CPU torch==2.13.0 and snnTorch)")
    snn = peer("snntorch", "pip install -e '.[snn]' (CPU torch==2.13.0 and snnTorch)")
    N, I, T = 24, 3, 80
    m = models.get("spiking_rnn", input_size=I, output_size=1, key=KEY, hidden_size=N, neuron="lif",
                   synaptic=False, reset="subtract", tau_mem=10.0, input_gain=4.0, rec_gain=3.0)
    m = eqx.tree_at(lambda m: m.b, m, 0.05 * jax.random.normal(jax.random.PRNGKey(3), (N,)))
    beta = np.exp(-1.0 / np.asarray(m.taus()))
    assert np.all(beta == beta[0])
    fc = torch.nn.Linear(I, N)
    lif = snn.RLeaky(beta=float(beta[0]), linear_features=N, threshold=1.0, reset_mechanism="subtract")
    with torch.no_grad():
        fc.weight.copy_(torch.tensor(np.asarray(m.W_in)))
        fc.bias.copy_(torch.tensor(np.asarray(m.b)))
        lif.recurrent.weight.copy_(torch.tensor(np.asarray(m.W_rec)))
        lif.recurrent.bias.zero_()
    x = np.random.default_rng(0).normal(size=(T, I)).astype(np.float32) * 2
    spk, mem = torch.zeros(1, N), torch.zeros(1, N)
    st, n_spikes, step = m.initial_state(), 0, eqx.filter_jit(m.step)
    for t in range(T):
        spk, mem = lif(fc(torch.tensor(x[t : t + 1])), spk, mem)
        st, _ = step(st, jnp.asarray(x[t]))
        np.testing.assert_array_equal(np.asarray(st.s), spk.detach().numpy()[0], err_msg=f"step {t}")
        np.testing.assert_allclose(np.asarray(st.v), mem.detach().numpy()[0], rtol=1e-4, atol=1e-5)
        n_spikes += int(spk.sum())
    assert 0.05 * N * T < n_spikes < 0.8 * N * T
