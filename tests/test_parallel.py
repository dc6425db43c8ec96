"""Parallel-in-time (Newton/DEER) solver: parity with the sequential scan, fallback, training."""

import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import models, parallel, tasks
from rnnlab.errors import ConfigError
from rnnlab.train import train

T, B, I, O = 2000, 2, 3, 2
LEAKY = dict(tau=2.0, tau_spread=2.0)


def _model(name, hidden=6, **kw):
    return models.get(name, input_size=I, output_size=O, key=jax.random.PRNGKey(0), hidden_size=hidden, **kw)


def _inputs(t=T, b=B, seed=1):
    return jax.random.normal(jax.random.PRNGKey(seed), (b, t, I))


def _loss(outputs):
    return jnp.mean(jnp.sin(outputs) ** 2)


def _scan_of_drives(model, x):
    """The sequential recurrence over drives computed before the loop, as the fallback scans it."""
    drives = jax.vmap(jax.vmap(model.input_drive))(x)
    s0 = model.initial_state()
    act = jax.vmap(lambda d: jax.lax.scan(lambda s, dt: model.update(s, dt, None), s0, d)[1])(drives)
    return act, jax.vmap(jax.vmap(model.readout))(act)


@eqx.filter_jit
def _both(model, x, sequential=models.run, **solver_kw):
    """Activity, outputs and parameter gradients of a scalar loss, by both solvers (one compile)."""

    def par(m):
        act, out, info = parallel.run(m, x, **solver_kw)
        return _loss(out), (act, out, info)

    def seq(m):
        act, out = sequential(m, x)
        return _loss(out), (act, out)

    (_, (pa, po, info)), pg = eqx.filter_value_and_grad(par, has_aux=True)(model)
    (_, (sa, so)), sg = eqx.filter_value_and_grad(seq, has_aux=True)(model)
    return (pa, po, pg), (sa, so, sg), info


def _assert_close(par, seq, rtol=1e-4, atol=1e-4):
    for name, p, s in zip(("activity", "outputs", "grads"), par, seq):
        for a, b in zip(jax.tree.leaves(p), jax.tree.leaves(s)):
            scale = max(float(jnp.max(jnp.abs(b))), 1e-12) if name == "grads" else 1.0
            np.testing.assert_allclose(np.asarray(a) / scale, np.asarray(b) / scale, rtol=rtol, atol=atol,
                                       err_msg=name)


@pytest.mark.parametrize("name, kw", [("leaky_rnn", LEAKY), ("gru", {}), ("lstm", {})])
def test_forward_and_gradients_equal_sequential(name, kw):
    par, seq, info = _both(_model(name, **kw), _inputs())
    assert bool(jnp.all(info.converged)) and not bool(jnp.any(info.fell_back))
    assert 1 <= int(info.iterations) < 100
    assert float(jnp.max(info.residual)) < 1e-4
    _assert_close(par, seq)


def test_chaotic_network_falls_back_and_stays_correct():
    # A chaotic network amplifies rounding: trajectories computed by two programs that round
    # differently (``models.run`` applies the input drive inside its loop) part after ~30 steps.
    # So the reference is the same recurrence over precomputed drives that the fallback scans.
    m = _model("leaky_rnn", hidden=8, gain=4.0, tau=1.0)
    par, seq, info = _both(m, _inputs(t=200), sequential=_scan_of_drives, max_iter=3)
    assert not bool(jnp.any(info.converged)) and bool(jnp.all(info.fell_back))
    assert float(jnp.max(info.residual)) < 1e-6  # the sequential scan's answer was returned
    _assert_close(par, seq)


@pytest.mark.slow
def test_damping_lets_newton_converge_on_a_chaotic_network():
    # undamped, the products of Jacobians overflow at the first iteration (previous test)
    m = _model("leaky_rnn", hidden=8, gain=4.0, tau=1.0)
    _, _, info = eqx.filter_jit(parallel.run)(m, _inputs(t=200), damping=1.0, max_iter=200)
    assert bool(jnp.all(info.converged)) and not bool(jnp.any(info.fell_back))
    assert float(jnp.max(info.residual)) < 1e-3


def test_unconverged_single_trial_solve_falls_back_to_the_sequential_answer():
    m = _model("lstm", hidden=3)
    x = _inputs(t=20)[0]
    act, final, info = eqx.filter_jit(parallel.solve)(m, x, max_iter=1)
    assert info.converged.shape == () and int(info.iterations) == 1
    assert not bool(info.converged) and bool(info.fell_back)
    ref_act, _, ref_final = models.run_trial(m, x)
    np.testing.assert_allclose(act, ref_act, atol=1e-6)
    for a, b in zip(final, ref_final):  # the LSTM state is (h, c)
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_diagonal_jacobian_converges_for_a_contracting_network():
    m = _model("leaky_rnn", hidden=16, gain=0.5, tau=4.0)
    x = _inputs(t=300)
    par, seq, info = _both(m, x, jacobian="diagonal")
    assert bool(jnp.all(info.converged)) and not bool(jnp.any(info.fell_back))
    _assert_close(par, seq, rtol=1e-3, atol=1e-3)  # quasi-Newton: linear convergence, looser


@pytest.mark.parametrize("name, kw", [
    ("leaky_rnn", LEAKY), ("leaky_rnn", dict(variant="wrapped", activation="softplus", tau=3.0)),
    ("leaky_rnn", dict(dale=True, density=0.5, activation="relu")), ("low_rank_rnn", dict(rank=2, tau=2.0)),
    ("gru", {}), ("lstm", {}),
])
def test_closed_form_jacobian_diagonals_equal_autodiff(name, kw):
    # update_diagonal against the diagonal of the Jacobian that jax.jacfwd builds, at random
    # states and drives (the LSTM's state is (h, c): its diagonal has two parts)
    m = _model(name, hidden=7, **kw)
    k1, k2 = jax.random.split(jax.random.PRNGKey(3))
    flat0, unravel = jax.flatten_util.ravel_pytree(m.initial_state())
    x = jax.random.normal(k1, flat0.shape)  # the state, flattened
    d = m.input_drive(jax.random.normal(k2, (I,)))
    value, diag = m.update_diagonal(unravel(x), d)
    f = lambda v: jax.flatten_util.ravel_pytree(m.update(unravel(v), d, None)[0])[0]  # noqa: E731
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(value)[0], f(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(diag)[0], jnp.diagonal(jax.jacfwd(f)(x)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_quasi_deer_with_closed_form_diagonals_matches_sequential(name):
    m = _model(name, hidden=8)
    par, seq, info = _both(m, _inputs(t=300), jacobian="diagonal")
    assert bool(jnp.all(info.converged)) and not bool(jnp.any(info.fell_back))
    _assert_close(par, seq, rtol=1e-3, atol=1e-3)


def test_stochastic_model_is_rejected_naming_noise():
    m = _model("leaky_rnn", noise=0.1)
    with pytest.raises(ConfigError, match="noise"):
        parallel.run(m, _inputs(t=10))
    with pytest.raises(ConfigError, match="jacobian"):
        parallel.run(_model("gru"), _inputs(t=10), jacobian="full")


def test_train_with_parallel_solver_matches_sequential():
    task = tasks.get("flipflop", n_bits=2, n_steps=40, p=0.1)
    cfg = models.config("gru", hidden_size=8)
    kw = dict(key=0, steps=6, eval_every=3, batch_size=8, eval_batch_size=16, lr=3e-3, progress=False)
    seq = train(cfg, task, **kw)
    par = train(cfg, task, solver="parallel", parallel_jacobian="dense", **kw)
    np.testing.assert_allclose(par.history.array("train_loss"), seq.history.array("train_loss"), rtol=1e-4)
    np.testing.assert_allclose(par.history.array("eval_loss"), seq.history.array("eval_loss"), rtol=1e-4)
