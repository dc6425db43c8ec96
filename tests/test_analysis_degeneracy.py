"""Degeneracy (Huang et al. 2025): copies of one network are not degenerate, independent networks are."""

import equinox as eqx
import numpy as np
import pytest

from rnnlab import models, tasks
from rnnlab.analysis import DegeneracyResult, degeneracy
from rnnlab.train import member, train

TASK = tasks.get("flipflop", n_bits=2, n_steps=30, p=0.1)
# small trial sets and DMDs keep the test fast (the CLI test uses the same, and trains its
# ensemble run with the same settings, so the compiled programs are shared)
SMALL = dict(n_trials=16, n_null=4, n_delays=5, rank=6)


@pytest.fixture(scope="module")
def ensemble():
    cfg = models.config("leaky_rnn", hidden_size=16)
    res = train(cfg, TASK, key=3, steps=200, eval_every=50, batch_size=16, eval_batch_size=32, lr=3e-3,
                ensemble=3, progress=False)
    return res.model


def _permuted(model, perm):
    """The same LeakyRNN with its hidden units relabelled by ``perm``."""
    return eqx.tree_at(
        lambda m: (m.W, m.U, m.b, m.tau_raw, m.readout_layer.weight), model,
        (model.W[perm][:, perm], model.U[perm], model.b[perm], model.tau_raw[perm], model.readout_layer.weight[:, perm]),
    )


def test_copies_and_permuted_copies_are_not_degenerate(ensemble):
    net = member(ensemble, 0)
    perm = np.random.default_rng(0).permutation(16)
    res = degeneracy([net, net, _permuted(net, perm)], TASK, 0, **SMALL)
    # identical copies: no spread at any level
    assert res.ood_loss[0] == res.ood_loss[1] and res.ood_metric[0] == res.ood_metric[1]
    assert res.weight_distances[0, 1] <= 1e-12 and res.dsa_distances[0, 1] < 1e-3
    # a copy with its hidden units relabelled: the alignment finds the permutation the raw weights miss
    assert res.weight_distances[0, 2] < 1e-7 < 1e-3 < res.weight_distances_unaligned[0, 2]
    assert res.behaviour < 1e-5 and res.weights < 1e-7 and res.weight_null == 0.0
    # ... and all of it below the null of one network on resampled trials
    assert res.behaviour_null > 0 and res.dynamics_null > 0
    assert res.dynamics <= res.dynamics_null and res.dsa_distances.max() < 1e-3


def test_independent_networks_are_degenerate(ensemble, tmp_path):
    res = degeneracy(ensemble, TASK, 0, names=["a", "b", "c"], **SMALL)  # stacked ensemble
    off = ~np.eye(3, dtype=bool)
    assert res.weights > 1e-3 and np.all(res.weight_distances[off] > 1e-3)
    assert res.weights <= res.weight_distances_unaligned[off].mean()
    assert res.behaviour > 0 and np.all(res.dsa_distances[off] > 0)
    for D in (res.dsa_distances, res.weight_distances):
        np.testing.assert_array_equal(D, D.T)
        np.testing.assert_array_equal(np.diag(D), 0)
    assert np.isclose(res.weights, res.weight_distances[off].mean())
    assert np.isclose(res.behaviour, np.std(res.ood_loss, ddof=1))
    assert res.null_loss.shape == (3, 4) and list(res.names) == ["a", "b", "c"]
    s = res.summary()
    assert s["n_networks"] == 3 and {"behaviour", "dynamics", "weights", "dynamics_null"} <= set(s)
    res.save(tmp_path / "deg")
    back = DegeneracyResult.load(tmp_path / "deg")
    np.testing.assert_array_equal(back.dsa_distances, res.dsa_distances)
    assert back.behaviour == res.behaviour and back.dsa_score == "euclidean"
    res.plot(tmp_path / "deg.png")
    assert (tmp_path / "deg.png").stat().st_size > 0


def test_bad_arguments(ensemble):
    net = member(ensemble, 0)
    with pytest.raises(ValueError, match="at least 2 networks"):
        degeneracy([net], TASK)
    with pytest.raises(ValueError, match="dsa_score"):
        degeneracy([net, net], TASK, dsa_score="cosine")
    with pytest.raises(ValueError, match="models"):
        degeneracy(net, TASK)
