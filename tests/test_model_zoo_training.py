"""Every new model trains through ``rnnlab.train.train`` as an ensemble of two, learns a task
it should learn, and the linear recurrences solve the adding problem where a vanilla tanh RNN
of the same size fails.

Each training program takes 5–15 s of CPU to compile from cold (and several times that in
wall time on a loaded 2-core machine), so everything here is marked ``slow``.
"""

import jax
import numpy as np
import pytest

from rnnlab import models, tasks
from rnnlab.train import train

ADDING = ("adding", dict(length=30), 0.05)  # mse; chance (always 1) ≈ 1/6
DECISION = ("perceptual_decision", {}, 0.7)  # accuracy; chance 0.5
LINE = ("line_drawing", {}, 0.1)  # mse; chance (always the origin) ≈ 15
CASES = {  # name: (parameters, task, learning threshold, lr)
    "min_gru": ({"forget_bias": 1.0}, ADDING, 1e-2),
    "min_lstm": ({"forget_bias": 1.0}, ADDING, 1e-2),
    "lru": ({"encoder": "mlp", "r_min": 0.99, "r_max": 0.999, "activation": "identity", "mode": "parallel"},
            ADDING, 1e-2),
    "s4d": ({"encoder": "mlp", "dt_max": 0.01, "c_std": 3.5}, ADDING, 1e-2),
    "lmu": ({"encoder": "mlp", "theta": 30.0, "mode": "parallel"}, ADDING, 1e-2),
    "spiking_rnn": ({"neuron": "alif", "alif_fraction": 0.5}, DECISION, 1e-2),
    "cortico_cerebellar": ({"truncation": 1, "cerebellum_width": 64}, LINE, 3e-3),
    "elm": ({}, DECISION, 1e-2),
    "cfc": ({"backbone_units": 32}, DECISION, 3e-3),
    "ltc": ({}, DECISION, 1e-2),
}


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(model)]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_train_an_ensemble_of_two(name):
    params, (task_name, task_params, _), lr = CASES[name]
    task = tasks.get(task_name, **task_params)
    cfg = models.config(name, hidden_size=16, **params)
    res = train(cfg, task, key=3, ensemble=2, steps=10, eval_every=5, batch_size=8, eval_batch_size=16, lr=lr,
                progress=False)
    h = res.history
    assert h.status == ["budget", "budget"] and h.step == [5, 10]
    assert np.all(np.isfinite(h.train_loss)) and np.all(np.isfinite(h.metric))
    a, b = _leaves(res.member(0)), _leaves(res.member(1))
    assert any(not np.allclose(x, y) for x, y in zip(a, b))  # independent members
    key1 = jax.random.split(jax.random.PRNGKey(3), 2)[1]
    start = _leaves(cfg.build(task.n_inputs, task.n_outputs, jax.random.fold_in(key1, 0)))
    assert any(not np.allclose(x, y) for x, y in zip(b, start))  # member 1 was trained from its own init


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_learns_its_task(name):
    params, (task_name, task_params, threshold), lr = CASES[name]
    task = tasks.get(task_name, **task_params)
    res = train(models.config(name, hidden_size=24, **params), task, key=0, ensemble=2, steps=600, eval_every=200,
                batch_size=32, eval_batch_size=256, lr=lr, progress=False)
    final = np.asarray(res.history.final("metric"))
    assert np.all(final > threshold) if task.higher_is_better else np.all(final < threshold), final
    if name == "lru":  # stays stable after training
        assert np.all(np.abs(np.asarray(res.member(0).eigenvalues())) < 1)


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
    settings = dict(key=0, steps=500, eval_every=100, batch_size=32, eval_batch_size=256, lr=1e-2, progress=False)
    vanilla = train(models.config("leaky_rnn", hidden_size=32), task, **settings)
    assert vanilla.history.final("metric")[0] > 0.14  # ≈ chance, 1/6
    for name, params in LONG.items():
        res = train(models.config(name, hidden_size=32, **params), task, **settings)
        assert res.history.final("metric")[0] < 0.05, name


@pytest.mark.slow
def test_continuous_time_cells_with_mixed_memory_solve_adding_where_a_tanh_rnn_fails():
    """CfC and LTC have no additive path through time; with the paper's mixed memory (an LSTM
    cell before the continuous-time cell) they solve adding(100), where a tanh RNN of the same
    size and budget stays at chance. (Gated cells need a longer budget than the linear
    recurrences above: at 500 steps an LSTM is still at chance too.)"""
    task = tasks.get("adding", length=100)
    settings = dict(key=0, steps=3000, eval_every=500, batch_size=32, eval_batch_size=256, lr=1e-2, progress=False)
    vanilla = train(models.config("leaky_rnn", hidden_size=32), task, **settings)
    assert vanilla.history.final("metric")[0] > 0.14  # ≈ chance, 1/6
    for name, params in {"cfc": {"backbone_units": 32}, "ltc": {}}.items():
        res = train(models.config(name, hidden_size=32, mixed_memory=True, **params), task, **settings)
        assert res.history.final("metric")[0] < 0.05, name
