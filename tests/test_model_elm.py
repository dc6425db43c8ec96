"""ELM neuron (Spieler et al. 2024): the equations against an independent NumPy loop, input
routing, log-spaced bounded memory time constants, frozen vs learned τ_m, synaptic-trace
decay, and the parallel solver."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import models, parallel, tasks
from rnnlab.train import train
from model_fixtures import unrolled_readout_loss

KEY = jax.random.PRNGKey(0)


def _get(input_size=3, output_size=2, **kw):
    return models.get("elm", input_size=input_size, output_size=output_size, key=KEY, **kw)


def _randomise(m, seed=1):
    """Random synaptic weights (some negative: ReLU) and memory τ parameters per neuron."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.5, 0.5, m.w_s.shape)
    p = rng.normal(0.0, 2.0, m.tau_m_raw.shape)
    return eqx.tree_at(lambda m: (m.w_s, m.tau_m_raw), m, (jnp.asarray(w, jnp.float32), jnp.asarray(p, jnp.float32)))


def _elm_numpy(m, x, syn_input, R):
    """The ELM v1 equations in float64 NumPy; ``R [B, S]`` sums synapses into branches."""
    cfg = m.cfg
    f64 = lambda a: np.asarray(a, np.float64)  # noqa: E731
    n, dm = cfg.n_neurons, cfg.hidden_size // cfg.n_neurons
    ks = np.exp(-cfg.dt / cfg.tau_s)
    tau_m = cfg.memory_tau_min + (cfg.memory_tau_max - cfg.memory_tau_min) / (1 + np.exp(-f64(m.tau_m_raw)))
    km = np.exp(-cfg.dt / tau_m)
    w = np.maximum(f64(m.w_s), 0)
    Ws, bs = [f64(W) for W in m.mlp_W], [f64(b) for b in m.mlp_b]
    silu = lambda v: v / (1 + np.exp(-v))  # noqa: E731
    T = x.shape[0]
    acts = np.zeros((T, n * dm))
    for j in range(n):
        s, mem = np.zeros(len(syn_input)), np.zeros(dm)
        for t in range(T):
            s = ks * s + w[j] * x[t, syn_input]
            a = np.concatenate([R @ s, km[j] * mem])
            for W, b in zip(Ws[:-1], bs[:-1]):
                a = silu(W[j] @ a + b[j])
            delta = 1.7159 * np.tanh(2.0 / 3.0 * (Ws[-1][j] @ a + bs[-1][j]))
            mem = km[j] * mem + cfg.lambda_value * (1 - km[j]) * delta
            acts[t, j * dm:(j + 1) * dm] = mem
    Wy, by = f64(m.readout_layer.weight), f64(m.readout_layer.bias)
    return acts, acts @ Wy.T + by


ROUTINGS = {
    # (inputs, branches): (input of each synapse, branch × synapse summation matrix)
    (5, 2): ([0, 1, 2, 3, 4], [[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]]),  # contiguous blocks of 3 and 2
    (2, 3): ([0, 1, 0, 1, 0, 1], np.kron(np.eye(3), np.ones((1, 2)))),  # every input on every branch
    (3, None): ([0, 1, 2], np.eye(3)),  # default: one branch per input
}


@pytest.mark.parametrize("n_in, n_branches", list(ROUTINGS))
def test_run_matches_numpy_equations(n_in, n_branches):
    m = _get(input_size=n_in, hidden_size=6, n_neurons=2, n_branches=n_branches, mlp_layers=2, mlp_hidden=5,
             tau_s=3.0, dt=0.7, lambda_value=4.0, memory_tau_min=2.0, memory_tau_max=40.0)
    m = _randomise(m)
    syn_input, R = ROUTINGS[(n_in, n_branches)]
    assert m.w_s.shape == (2, len(syn_input))
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (50, n_in)), np.float64)
    act, out = models.run(m, jnp.asarray(x, jnp.float32)[None])
    ref_act, ref_out = _elm_numpy(m, x, np.asarray(syn_input), np.asarray(R, np.float64))
    assert np.abs(ref_act).max() > 0.1  # the memory moved
    np.testing.assert_allclose(act[0], ref_act, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[0], ref_out, rtol=1e-4, atol=1e-5)


def test_memory_taus_are_log_spaced_and_bounded():
    m = _get(hidden_size=10, n_neurons=2, memory_tau_min=2.0, memory_tau_max=300.0)
    taus = np.asarray(m.taus()).reshape(2, 5)
    expected = np.logspace(np.log10(2.0), np.log10(300.0), 5)
    for row in taus:
        np.testing.assert_allclose(row, expected, rtol=1e-5)
    assert np.all(np.diff(np.log(taus[0])) == pytest.approx(np.log(150.0) / 4, rel=1e-4))
    for p in (-1e4, 1e4, 0.0):  # any p keeps τ_m in [τ_min, τ_max]
        t = np.asarray(eqx.tree_at(lambda m: m.tau_m_raw, m, jnp.full((2, 5), p)).taus())
        assert np.all(t >= 2.0) and np.all(t <= 300.0)
    np.testing.assert_allclose(t, 151.0, rtol=1e-6)  # p = 0: midpoint


def test_synaptic_trace_decays_with_kappa_s_after_a_pulse():
    m = _randomise(_get(input_size=2, hidden_size=3, tau_s=3.0, dt=0.5))
    x = jnp.zeros((15, 2)).at[0, 1].set(2.0)

    def body(s, xt):
        s, _ = m.step(s, xt)
        return s, s[0][0]

    _, traces = jax.lax.scan(body, m.initial_state(), x)
    traces = np.asarray(traces, np.float64)
    kappa = np.exp(-0.5 / 3.0)
    w1 = max(float(m.w_s[0, 1]), 0.0)
    assert w1 > 0
    np.testing.assert_allclose(traces[:, 1], 2.0 * w1 * kappa ** np.arange(15), rtol=1e-5)
    np.testing.assert_allclose(traces[1:, 1] / traces[:-1, 1], kappa, rtol=1e-5)
    assert np.all(traces[:, 0] == 0)


def test_memory_tau_gradient_is_zero_unless_learned():
    x = jax.random.normal(KEY, (4, 3))

    loss = unrolled_readout_loss(x)

    for learn in (False, True):
        m = _get(hidden_size=4, learn_memory_tau=learn, memory_tau_max=20.0)
        g = eqx.filter_jit(jax.grad(loss))(m)
        assert np.any(np.asarray(g.mlp_W[0]) != 0) and np.any(np.asarray(g.w_s) != 0)
        assert np.any(np.asarray(g.tau_m_raw) != 0) == learn


@pytest.mark.slow
def test_memory_taus_change_in_training_only_when_learned():
    task = tasks.get("adding", length=10)
    settings = dict(key=0, steps=4, eval_every=4, batch_size=4, eval_batch_size=4, lr=0.05, progress=False)
    for learn in (False, True):
        cfg = models.config("elm", hidden_size=4, learn_memory_tau=learn, memory_tau_max=20.0)
        before = np.asarray(cfg.build(task.n_inputs, task.n_outputs, jax.random.PRNGKey(0)).taus())
        res = train(cfg, task, **settings)
        after = np.asarray(res.model.taus())
        assert np.any(np.asarray(res.model.mlp_W[0]) != np.asarray(cfg.build(
            task.n_inputs, task.n_outputs, jax.random.PRNGKey(0)).mlp_W[0]))  # it did train
        if learn:
            assert np.any(np.abs(after - before) > 1e-4 * before)
        else:
            np.testing.assert_array_equal(after, before)


def test_parallel_solver_matches_sequential_run():
    m = _randomise(_get(hidden_size=4, n_neurons=2, memory_tau_max=50.0))
    x = jax.random.normal(jax.random.PRNGKey(3), (2, 300, 3))
    opts = parallel.SolverOptions(atol=1e-6, rtol=1e-6, jacobian="dense")

    @eqx.filter_jit
    def both(m):
        def par(m):
            out = parallel.run(m, x, options=opts)
            return jnp.mean(out[1] ** 2), out

        def seq(m):
            out = models.run(m, x)
            return jnp.mean(out[1] ** 2), out

        return (eqx.filter_value_and_grad(par, has_aux=True)(m),
                eqx.filter_value_and_grad(seq, has_aux=True)(m))

    ((_, (pa, po, info)), pg), ((_, (sa, so)), sg) = both(m)
    assert bool(jnp.all(info.converged)) and not bool(jnp.any(info.fell_back))
    np.testing.assert_allclose(pa, sa, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(po, so, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(pg), jax.tree.leaves(sg)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(b).max())))


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="n_neurons: must divide hidden_size = 6"):
        models.config("elm", hidden_size=6, n_neurons=4)
    with pytest.raises(ValueError, match="memory_tau_max: must be > memory_tau_min"):
        models.config("elm", memory_tau_min=10.0, memory_tau_max=5.0)
    with pytest.raises(ValueError, match="tau_s: Input should be greater than 0"):
        models.config("elm", tau_s=0.0)
    with pytest.raises(ValueError, match="n_branches: Input should be greater than 0"):
        models.config("elm", n_branches=0)
