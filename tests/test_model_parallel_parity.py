"""Parallel modes equal sequential ones: outputs and gradients over T = 1000 float32 steps,
from a zero and from a random initial state (minGRU, minLSTM, LMU here; LRU and S4D in
``test_model_linear_scan``, which reuses ``check_parity``; split for xdist's per-file load balance)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import models

KEY = jax.random.PRNGKey(0)
T = 1000


def _initial_states(model, key):
    """Two initial states: zeros (the usual start) and a random one (continuing a trial)."""
    zero = model.initial_state()
    leaves, treedef = jax.tree.flatten(zero)
    keys = jax.random.split(key, len(leaves))
    rand = jax.tree.unflatten(treedef, [jax.random.normal(k, x.shape) for k, x in zip(keys, leaves)])
    return jax.tree.map(lambda a, b: jnp.stack([a, b]), zero, rand)


def _loss(model, x, s0):
    act, out, final = jax.vmap(lambda x, s: models.run_trial(model, x, state0=s))(x, s0)
    final = sum(jnp.mean(f**2) for f in jax.tree.leaves(final))
    return jnp.mean(out**2) + jnp.mean(act**2) + jnp.mean(act) + final, (act, out)


def _close(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5 * max(1.0, float(np.abs(b).max())))


def check_parity(name: str, params: dict) -> None:
    """Sequential vs parallel mode of model ``name``: activity, outputs, gradients w.r.t. every parameter."""
    x = jax.random.normal(jax.random.PRNGKey(1), (2, T, 3))
    grads, values = {}, {}
    for mode in ("sequential", "parallel"):
        m = models.get(name, input_size=3, output_size=2, key=KEY, hidden_size=16, mode=mode, **params)
        s0 = _initial_states(m, jax.random.PRNGKey(2))
        (_, values[mode]), grads[mode] = eqx.filter_jit(eqx.filter_value_and_grad(_loss, has_aux=True))(m, x, s0)
    for a, b in zip(values["parallel"], values["sequential"]):
        _close(a, b, rtol=1e-5)
    gp = jax.tree.leaves(eqx.filter(grads["parallel"], eqx.is_array))
    gs = jax.tree.leaves(eqx.filter(grads["sequential"], eqx.is_array))
    assert len(gs) == len(gp) > 0
    for a, b in zip(gp, gs):
        assert np.all(np.isfinite(a)) and np.any(b != 0)
        _close(a, b, rtol=1e-4)


@pytest.mark.parametrize("name, params", [
    ("min_gru", dict(forget_bias=2.0)),
    ("min_lstm", {}),
    ("lmu", dict(theta=300.0, memory_channels=2, encoder="mlp")),
])
def test_parallel_mode_matches_sequential_outputs_and_gradients(name, params):
    check_parity(name, params)
