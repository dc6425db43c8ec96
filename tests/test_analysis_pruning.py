"""Magnitude pruning: exact sparsities, smallest weights removed, zeros kept through fine-tuning."""

import jax
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis.pruning import PruningCurve, finetune, prune, pruning_curve, recurrent_sparsity

TRAIN = dict(steps=300, lr=1e-2, batch_size=32, eval_every=100, progress=False)


@pytest.fixture(scope="module")
def flipflop_net():
    task = rnnlab.tasks.get("flipflop", n_bits=1, n_steps=50, p=0.1)
    cfg = rnnlab.models.config("leaky_rnn", hidden_size=16, tau_spread=1.0, self_connections=False)
    res = rnnlab.train(cfg, task, key=0, **TRAIN)
    return res.model, task


@pytest.mark.parametrize("name,n_rows", [("leaky_rnn", 16), ("gru", 48)])
def test_pruning_reaches_the_exact_sparsity_by_removing_the_smallest_weights(name, n_rows):
    m = rnnlab.models.get(name, input_size=1, output_size=1, key=jax.random.PRNGKey(0), hidden_size=16)
    W = np.asarray(m.recurrent_weights() if name == "leaky_rnn" else m.W_h)
    for s in (0.0, 0.1, 0.5, 0.9, 1.0):
        p = prune(m, s)
        Wp = np.asarray(p.recurrent_weights() if name == "leaky_rnn" else p.W_h)
        zeros = Wp == 0
        assert zeros.sum() == round(s * n_rows * 16)
        assert recurrent_sparsity(p) == zeros.mean()
        np.testing.assert_array_equal(Wp[~zeros], W[~zeros])  # kept weights untouched
        if 0 < s < 1:
            assert np.abs(W[zeros]).max() <= np.abs(W[~zeros]).min()


def test_existing_zeros_count_as_pruned():
    m = rnnlab.models.get("leaky_rnn", input_size=1, output_size=1, key=jax.random.PRNGKey(0), hidden_size=16,
                          self_connections=False)
    assert recurrent_sparsity(prune(m, 0.05)) == 16 / 256  # the 16 absent diagonal entries
    assert recurrent_sparsity(prune(m, 0.3)) == 77 / 256  # round(0.3 · 256) = 77
    assert np.all(np.diag(np.asarray(prune(m, 0.3).recurrent_weights())) == 0)


def test_sparsity_zero_leaves_the_metric_unchanged(flipflop_net, tmp_path):
    model, task = flipflop_net
    c = pruning_curve(model, task, 0, [0.0, 0.5, 0.95])
    assert c.metric[0] == c.baseline
    # the network has no self-connections: its 16 absent diagonal weights count as pruned
    np.testing.assert_array_equal(c.achieved, np.maximum(np.round(np.array([0.0, 0.5, 0.95]) * 256), 16) / 256)
    assert c.metric[2] > 10 * c.baseline  # pruning 95% of the weights breaks the memory
    assert np.isnan(c.metric_finetuned).all()
    c.save(tmp_path / "p")
    np.testing.assert_array_equal(PruningCurve.load(tmp_path / "p").achieved, c.achieved)
    c.plot(tmp_path / "p.png")


def test_pruned_weights_stay_zero_after_finetuning(flipflop_net):
    model, task = flipflop_net
    pruned = prune(model, 0.9)
    zeros = np.asarray(pruned.recurrent_weights()) == 0
    res = finetune(pruned, task, 1, 200, lr=1e-2, batch_size=32, eval_every=100)
    W = np.asarray(res.model.recurrent_weights())
    assert np.all(W[zeros] == 0) and np.all(np.asarray(res.model.W)[zeros] == 0)
    assert np.any(W[~zeros] != np.asarray(pruned.recurrent_weights())[~zeros])  # it did train
    assert res.history.metric[-1][0] < 0.05


def test_gated_finetuning_keeps_zeros():
    task = rnnlab.tasks.get("flipflop", n_bits=1, n_steps=10, p=0.2)
    m = rnnlab.models.get("gru", input_size=1, output_size=1, key=jax.random.PRNGKey(2), hidden_size=8)
    pruned = prune(m, 0.6)
    zeros = np.asarray(pruned.W_h) == 0
    res = finetune(pruned, task, 0, 20, lr=1e-2, batch_size=8, eval_every=20, eval_batch_size=8)
    Wh = np.asarray(res.model.W_h)
    assert np.all(Wh[zeros] == 0) and np.any(Wh[~zeros] != np.asarray(pruned.W_h)[~zeros])
