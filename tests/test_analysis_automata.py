"""Automaton extraction: DFA minimisation on hand-written machines, and the 2-state streaming-parity DFA."""

import jax
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis.automata import Automaton, extract_automaton, minimize_dfa, run_dfa


def _random_symbols(n_sym, shape=(50, 30), seed=0):
    return np.random.default_rng(seed).integers(0, n_sym, shape)


def test_redundant_parity_dfa_minimises_to_two_states():
    # states 0,2 = "even" and 1,3 = "odd", duplicated; state 4 is unreachable
    delta = np.array([[2, 1], [3, 0], [0, 3], [1, 2], [4, 0]])
    lam = np.array([0, 1, 0, 1, 1])
    d, out, q0 = minimize_dfa(delta, lam, initial=0)
    np.testing.assert_array_equal(d, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(out, [0, 1])
    assert q0 == 0
    s = _random_symbols(2)
    np.testing.assert_array_equal(run_dfa(d, out, s), run_dfa(delta, lam, s))
    np.testing.assert_array_equal(run_dfa(d, out, s), np.cumsum(s, axis=1) % 2)


def test_minimal_dfa_is_kept_and_canonical():
    # count of 1s mod 3, output 1 when divisible by 3; started from state 2 with states permuted
    delta = np.array([[0, 1], [1, 2], [2, 0]])
    lam = np.array([1, 0, 0])
    perm = np.array([2, 0, 1])  # old state i becomes perm[i]
    pd = np.empty_like(delta)
    pd[perm] = perm[delta]
    pl = np.empty_like(lam)
    pl[perm] = lam
    d, out, _ = minimize_dfa(pd, pl, initial=perm[0])
    np.testing.assert_array_equal(d, delta)  # breadth-first renumbering recovers the original
    np.testing.assert_array_equal(out, lam)
    s = _random_symbols(2, seed=1)
    np.testing.assert_array_equal(run_dfa(d, out, s), (np.cumsum(s, axis=1) % 3 == 0).astype(int))


def test_states_with_equal_outputs_but_different_futures_are_kept_apart():
    # outputs: last two bits were "11"; needs 3 states (no 1, one 1, two 1s in a row)
    delta = np.array([[0, 1], [0, 2], [0, 2], [0, 1]])  # state 3 duplicates state 1
    lam = np.array([0, 0, 1, 0])
    d, out, _ = minimize_dfa(delta, lam)
    assert len(out) == 3
    s = _random_symbols(2, seed=2)
    np.testing.assert_array_equal(run_dfa(d, out, s), run_dfa(delta, lam, s))


def test_continuous_inputs_are_rejected():
    task = rnnlab.tasks.get("flipflop", n_bits=1, n_steps=10, noise=0.1)
    m = rnnlab.models.get("leaky_rnn", input_size=1, output_size=1, key=jax.random.PRNGKey(0), hidden_size=4)
    with pytest.raises(ValueError, match="discrete input alphabet"):
        extract_automaton(m, task, 0)


@pytest.fixture(scope="module")
def parity_net():
    task = rnnlab.tasks.get("streaming_parity", length=10)
    cfg = rnnlab.models.config("leaky_rnn", hidden_size=16)
    res = rnnlab.train(cfg, task, key=0, steps=300, lr=1e-2, batch_size=64, eval_every=100, progress=False)
    assert res.history.metric[-1][0] > 0.99
    return res.model, task


def test_streaming_parity_network_is_the_two_state_automaton(parity_net, tmp_path):
    model, task = parity_net
    a = extract_automaton(model, task, 3, test_factor=10)
    assert a.n_states == 2
    assert a.test_steps == 100
    assert a.train_agreement == 1.0 and a.agreement == 1.0 and a.agreement_scored == 1.0
    np.testing.assert_array_equal(a.alphabet, [[0.0], [1.0]])
    # state 0 (start) = even: a 0 keeps the state, a 1 flips it; outputs are the parity classes
    np.testing.assert_array_equal(a.transitions, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(a.labels[a.outputs], [[0], [1]])
    bits = np.random.default_rng(0).integers(0, 2, (20, 200))
    np.testing.assert_array_equal(a.labels[a.run(bits)][..., 0], np.cumsum(bits, axis=1) % 2)
    a.save(tmp_path / "dfa")
    back = Automaton.load(tmp_path / "dfa")
    np.testing.assert_array_equal(back.transitions, a.transitions)
    assert back.n_states == 2
    a.plot(tmp_path / "dfa.png")
    assert (tmp_path / "dfa.png").stat().st_size > 0


def test_too_few_clusters_give_a_worse_automaton(parity_net):
    model, task = parity_net
    one = extract_automaton(model, task, 3, k=1, test_factor=2)
    assert one.n_states == 1 and one.n_clusters == 1
    assert 0.3 < one.train_agreement < 0.7  # a constant output is right about half the time
