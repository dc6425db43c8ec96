"""A run page simulates its network through one compiled program per network structure and batch
shape (``figures.run_batch``): a sweep draws a page per network, and its seeds share the
structure, so the second network's page compiles nothing. Run eagerly, each operation of the
scan compiled on its own and took most of a page's time (``benchmarks/run_page.py``)."""

import logging

import jax
import numpy as np

import rnnlab
from rnnlab.report import figures


def _compilations(caplog, fn) -> list[str]:
    caplog.clear()
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        fn()
    return [r.getMessage() for r in caplog.records if "ompil" in r.getMessage()]


def test_second_network_of_a_structure_runs_without_compiling_and_as_run_does(caplog):
    task = rnnlab.tasks.get("flipflop", n_bits=3)
    cfg = rnnlab.models.config("leaky_rnn", hidden_size=8)
    a, b = (cfg.build(task.n_inputs, task.n_outputs, jax.random.PRNGKey(s)) for s in (0, 1))
    inputs = np.asarray(rnnlab.tasks.sample_batch(task, jax.random.PRNGKey(2), 3).inputs)
    key = jax.random.PRNGKey(3)
    figures.run_batch(a, inputs, key)
    assert _compilations(caplog, lambda: figures.run_batch(b, inputs, key)) == []
    act, out = figures.run_batch(b, inputs, key)
    ref_act, ref_out = rnnlab.models.run(b, inputs, key)
    np.testing.assert_allclose(act, np.asarray(ref_act), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, np.asarray(ref_out), rtol=1e-5, atol=1e-6)
