"""Every new model trains through ``rnnlab.train.train`` as an ensemble of two and learns a
task it should learn; the linear recurrences solve the adding problem where a vanilla tanh
RNN of the same size fails (slow)."""

import jax
import numpy as np
import pytest

from rnnlab import models, tasks
from rnnlab.train import train

SMALL = dict(steps=200, eval_every=100, batch_size=16, eval_batch_size=128, lr=1e-2, progress=False)
ADDING_SHORT = ("adding", dict(length=30), 0.06)  # chance (predict 1) ≈ 1/6
DECISION = ("perceptual_decision", {}, 0.7)  # accuracy; chance 0.5
CASES = {
    "min_gru": ({"forget_bias": 1.0}, ADDING_SHORT),
    "min_lstm": ({"forget_bias": 1.0}, ADDING_SHORT),
    "lru": ({"encoder": "mlp", "r_min": 0.9, "r_max": 0.999, "mode": "parallel"}, ADDING_SHORT),
    "s4d": ({"encoder": "mlp", "dt_max": 0.01, "c_std": 3.5}, ADDING_SHORT),
    "lmu": ({"encoder": "mlp", "theta": 30.0, "mode": "parallel"}, ADDING_SHORT),
    "spiking_rnn": ({}, DECISION),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_new_model_trains_as_an_ensemble_and_learns(name):
    params, (task_name, task_params, threshold) = CASES[name]
    task = tasks.get(task_name, **task_params)
    res = train(models.config(name, hidden_size=24, **params), task, key=0, ensemble=2, **SMALL)
    final = np.asarray(res.history.final("metric"))
    assert final.shape == (2,) and res.history.status == ["budget", "budget"]
    assert np.all(final > threshold) if task.higher_is_better else np.all(final < threshold), final
    a, b = (jax.tree.leaves(res.member(e)) for e in (0, 1))
    assert not np.allclose(np.asarray(a[0]), np.asarray(b[0]))  # independent members
    if name == "lru":  # stays stable after training
        assert np.all(np.abs(np.asarray(res.member(0).eigenvalues())) < 1)


ADDING_LONG = dict(steps=500, eval_every=100, batch_size=32, eval_batch_size=256, lr=1e-2, progress=False)
LONG = {
    "min_gru": {},
    "min_lstm": {},
    "lru": {"encoder": "mlp", "r_min": 0.99, "r_max": 0.999, "activation": "identity"},
    "s4d": {"encoder": "mlp", "dt_max": 0.01, "c_std": 3.5},
    "lmu": {"encoder": "mlp", "theta": 100.0},
}


@pytest.mark.slow
def test_linear_recurrences_solve_adding_where_a_tanh_rnn_fails():
    task = tasks.get("adding", length=100)
    vanilla = train(models.config("leaky_rnn", hidden_size=32), task, key=0, **ADDING_LONG)
    assert vanilla.history.final("metric")[0] > 0.14  # ≈ chance, 1/6
    for name, params in LONG.items():
        res = train(models.config(name, hidden_size=32, **params), task, key=0, **ADDING_LONG)
        assert res.history.final("metric")[0] < 0.05, name
