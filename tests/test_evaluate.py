"""``rnnlab.evaluate``: loss, metric and per-head metrics on fresh trials, for one network or an ensemble."""

import jax
import numpy as np
import pytest

import rnnlab
from rnnlab import models, tasks
from rnnlab.errors import ConfigError
from rnnlab.train import TrainConfig, initial_state, member, train

KEY = jax.random.PRNGKey(7)


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _parity_model(n_heads=3, seed=0):
    return models.config("leaky_rnn", hidden_size=16).build(1, 2 * n_heads, jax.random.PRNGKey(seed))


def test_parity_accuracy_and_loss_equal_a_numpy_computation():
    """A model with 3 heads (a max_n = 3 curriculum layout) scored on N-parity at level 2."""
    model, n = _parity_model(), 256
    task = tasks.get("nparity", n=2, heads="multi")
    ev = rnnlab.evaluate(model, task, KEY, n)
    # independently: the same batch, the model's outputs, labels recomputed from the bits
    batch = task.sample(KEY, n)
    _, out = rnnlab.run(model, batch.inputs, KEY)
    L = int(batch.info["length"][0])  # one length per batch
    logits = np.asarray(out)[:, L - 1].reshape(n, 3, 2)
    bits = np.asarray(batch.info["bits"])[:, :L]
    acc, ce = [], []
    for N in (1, 2):
        label = bits[:, L - N:].sum(1) % 2
        acc.append(np.mean(logits[:, N - 1].argmax(-1) == label))
        ce.append(-np.mean(_log_softmax(logits[:, N - 1])[np.arange(n), label]))
    # accuracies can differ only by a trial whose two logits tie to float precision
    np.testing.assert_allclose(ev.head_metrics[:2], acc, atol=1 / n)
    assert np.isnan(ev.head_metrics[2])  # the head for N = 3 is not scored at level 2
    np.testing.assert_allclose(ev.metric, np.mean(acc), atol=1 / n)
    np.testing.assert_allclose(ev.loss, np.sum(ce), rtol=1e-5)
    # a single-head task at level 2 scores head 2 alone, on the same batch
    single = rnnlab.evaluate(model, tasks.get("nparity", n=2), KEY, n)
    assert np.isnan(single.head_metrics[[0, 2]]).all() and single.head_metrics[1] == ev.head_metrics[1]
    assert ev.n_trials == n and ev.to_dict()["n_trials"] == n


def test_mse_equals_a_numpy_computation_and_harder_is_the_harder_task():
    task = tasks.get("flipflop", n_bits=2, n_steps=30, p=0.1)
    model = models.config("leaky_rnn", hidden_size=16).build(2, 2, jax.random.PRNGKey(1))
    ev = rnnlab.evaluate(model, task, 3, 128)
    batch = task.sample(jax.random.PRNGKey(3), 128)
    _, out = rnnlab.run(model, batch.inputs, jax.random.PRNGKey(3))
    m = np.asarray(batch.mask)
    mse = (m * (np.asarray(out) - np.asarray(batch.targets)) ** 2).sum() / m.sum()
    np.testing.assert_allclose([ev.metric, ev.loss, ev.head_metrics[0]], mse, rtol=1e-5)
    hard = rnnlab.evaluate(model, task, 3, 128, harder=2.0)
    again = rnnlab.evaluate(model, task.harder(2.0), 3, 128)
    assert hard.to_dict() == again.to_dict()
    assert hard.loss != ev.loss  # longer trials, another batch


def test_same_key_same_numbers_other_key_others():
    model, task = _parity_model(), tasks.get("nparity", n=3, heads="multi")
    a, b = rnnlab.evaluate(model, task, 11, 128), rnnlab.evaluate(model, task, 11, 128)
    c = rnnlab.evaluate(model, task, 12, 128)
    assert a.to_dict() == b.to_dict()
    assert a.loss != c.loss


def test_ensemble_in_one_program_equals_each_member_alone():
    task = tasks.get("flipflop", n_bits=2, n_steps=30, p=0.1)
    stacked = initial_state(models.config("leaky_rnn", hidden_size=16), task, TrainConfig(ensemble=3), KEY).model
    ens = rnnlab.evaluate(stacked, task, 5, 64)  # detected from the member axis
    assert np.shape(ens.metric) == (3,) and np.shape(ens.head_metrics) == (3, 1)
    assert ens.to_dict() == rnnlab.evaluate(stacked, task, 5, 64, ensemble=True).to_dict()
    for e in range(3):
        one = rnnlab.evaluate(member(stacked, e), task, 5, 64)
        assert isinstance(one.metric, float)
        # equal up to float reassociation of vmapped against plain matmuls
        np.testing.assert_allclose([ens.loss[e], ens.metric[e]], [one.loss, one.metric], rtol=1e-5)
    assert len(set(np.round(ens.metric, 6))) == 3  # three different networks


def test_repeats_an_evaluation_recorded_in_training():
    """The docstring's claim: evaluation k of a run is evaluate(model, task, fold_in(fold_in(key, 2), k))."""
    task = tasks.get("flipflop", n_bits=2, n_steps=30, p=0.1)
    res = train(models.config("leaky_rnn", hidden_size=16), task, key=4, steps=100, eval_every=50, batch_size=16,
                eval_batch_size=64, lr=3e-3, progress=False)
    k = len(res.history.step) - 1
    key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(4), 2), k)
    ev = rnnlab.evaluate(res.model, task, key, 64)
    np.testing.assert_allclose([ev.metric, ev.loss], [res.history.metric[k][0], res.history.eval_loss[k][0]],
                               rtol=1e-5)


def test_bad_arguments_are_named():
    model, task = _parity_model(), tasks.get("nparity", n=2, heads="multi")
    with pytest.raises(ConfigError, match="n_trials"):
        rnnlab.evaluate(model, task, 0, 0)
    with pytest.raises(ConfigError, match="harder"):
        rnnlab.evaluate(model, task, 0, 8, harder=-1.0)
    with pytest.raises(ConfigError, match="model.output_size"):
        rnnlab.evaluate(model, tasks.get("flipflop", n_bits=2), 0, 8)
