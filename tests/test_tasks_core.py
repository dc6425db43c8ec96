"""Targets of the foundation tasks against independent NumPy recomputations."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab import tasks


def _np(b):
    return {k: np.asarray(v) for k, v in (("inputs", b.inputs), ("targets", b.targets), ("mask", b.mask))}


@settings(max_examples=8, deadline=None)
@given(n_bits=st.integers(1, 4), p=st.floats(0.02, 0.5), n_steps=st.integers(5, 40), seed=st.integers(0, 10**6))
def test_flipflop_holds_sign_of_last_pulse(n_bits, p, n_steps, seed):
    task = tasks.get("flipflop", n_bits=n_bits, p=p, n_steps=n_steps, noise=0.1)
    b = tasks.sample_batch(task, jax.random.PRNGKey(seed), 4)
    pulses, targets = np.asarray(b.info["pulses"]), np.asarray(b.targets)
    expected = np.zeros_like(pulses)
    for i in range(pulses.shape[0]):
        for c in range(n_bits):
            state = 0.0
            for t in range(n_steps):
                if pulses[i, t, c] != 0:
                    state = pulses[i, t, c]
                expected[i, t, c] = state
    np.testing.assert_array_equal(targets, expected)
    assert set(np.unique(pulses)) <= {-1.0, 0.0, 1.0}
    # inputs are the pulses plus noise of the requested size
    assert abs(np.std(np.asarray(b.inputs) - pulses) - 0.1) < 0.03


def test_flipflop_pulses_have_rate_p_and_balanced_signs():
    task = tasks.get("flipflop", n_bits=3, p=0.2, n_steps=200)
    b = task.sample(jax.random.PRNGKey(4), 64)
    pulses = np.asarray(b.info["pulses"])
    n = pulses.size
    rate = np.mean(pulses != 0)
    assert abs(rate - 0.2) < 5 * np.sqrt(0.2 * 0.8 / n)
    k = int(np.sum(pulses != 0))
    assert abs(np.mean(pulses[pulses != 0] > 0) - 0.5) < 5 * np.sqrt(0.25 / k)
    # the sign does not depend on the channel or the time of the pulse
    for c in range(3):
        on = pulses[..., c] != 0
        assert abs(np.mean(pulses[..., c][on] > 0) - 0.5) < 5 * np.sqrt(0.25 / on.sum())
    np.testing.assert_array_equal(np.asarray(b.inputs), pulses)  # noise = 0: inputs are the pulses


def _check_memory_batch(task, b, rule):
    d = _np(b)
    bits, length = np.asarray(b.info["bits"]), np.asarray(b.info["length"])
    level = task.n
    L = int(length[0])
    assert np.all(length == L) and level + 2 <= L < 4 * level + 2
    assert d["inputs"].shape == (bits.shape[0], 4 * task.n + 1, 1)
    assert np.all(bits[:, L:] == 0)
    np.testing.assert_array_equal(d["inputs"][..., 0], bits)
    H = task.n_outputs // 2
    targets = d["targets"].reshape(*d["targets"].shape[:2], H, 2)
    mask = d["mask"].reshape(*d["mask"].shape[:2], H, 2)
    # only the last real step is scored
    scored_steps = np.flatnonzero(mask.any(axis=(0, 2, 3)))
    assert list(scored_steps) == [L - 1]
    ns = [task.n] if task.heads == "single" else list(range(1, task.n + 1))
    for h, n in enumerate(ns):
        expected = np.array([rule(seq[:L], n) for seq in bits])
        np.testing.assert_array_equal(targets[:, L - 1, h, :].argmax(-1), expected)
        assert np.all(mask[:, L - 1, h, :] == 1)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 9), heads=st.sampled_from(["single", "multi"]), seed=st.integers(0, 10**6))
def test_nparity_label_is_parity_of_last_n_bits(n, heads, seed):
    task = tasks.get("nparity", n=n, heads=heads)
    b = tasks.sample_batch(task, jax.random.PRNGKey(seed), 16)
    _check_memory_batch(task, b, lambda seq, k: int(seq[-k:].sum() % 2))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 9), heads=st.sampled_from(["single", "multi"]), seed=st.integers(0, 10**6))
def test_ndms_label_is_match_of_bit_n_back(n, heads, seed):
    task = tasks.get("ndms", n=n, heads=heads)
    b = tasks.sample_batch(task, jax.random.PRNGKey(seed), 16)
    _check_memory_batch(task, b, lambda seq, k: int(seq[-k] == seq[-1]))


def test_nparity_bit_probability_drawn_per_sequence():
    b = tasks.get("nparity", n=10).sample(jax.random.PRNGKey(0), 400)
    L = int(b.info["length"][0])
    frac = np.asarray(b.info["bits"])[:, :L].mean(1)
    p = np.asarray(b.info["p"])
    assert np.std(p) > 0.2  # p ~ U(0,1): std 0.289
    assert np.corrcoef(frac, p)[0, 1] > 0.8


def test_ndms_bits_balanced():
    b = tasks.get("ndms", n=5).sample(jax.random.PRNGKey(1), 500)
    L = int(b.info["length"][0])
    assert abs(np.asarray(b.info["bits"])[:, :L].mean() - 0.5) < 0.03


def test_levels_select_n_within_fixed_shapes():
    task = tasks.get("nparity", n=6, heads="multi", n_heads=8)
    b = task.sample(jax.random.PRNGKey(3), 32, level=3)
    assert b.inputs.shape[1] == 25
    mask = np.asarray(b.mask).reshape(32, 25, 8, 2)
    active = mask.any(axis=(0, 1, 3))
    np.testing.assert_array_equal(active, [True, True, True] + [False] * 5)
    L = int(b.info["length"][0])
    assert 5 <= L < 14
    single = tasks.get("nparity", n=6, heads="single", n_heads=8).sample(jax.random.PRNGKey(3), 8, level=4)
    active = np.asarray(single.mask).reshape(8, 25, 8, 2).any(axis=(0, 1, 3))
    np.testing.assert_array_equal(active, [False, False, False, True] + [False] * 4)


@pytest.mark.parametrize("name", tasks.names())
def test_same_key_same_batch_and_jit(name):
    task = tasks.get(name)
    sample = jax.jit(lambda k: task.sample(k, 8))
    a, b = sample(jax.random.PRNGKey(7)), sample(jax.random.PRNGKey(7))
    c = task.sample(jax.random.PRNGKey(8), 8)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.inputs, c.inputs)
    assert a.inputs.shape == (8, task.n_steps, task.n_inputs)
    assert a.targets.shape == a.mask.shape == (8, task.n_steps, task.n_outputs)


def test_unknown_task_lists_choices():
    with pytest.raises(ValueError, match="unknown task 'parity'.*valid tasks: .*flipflop.*nparity"):
        tasks.get("parity")


@pytest.mark.parametrize(
    "name, params, field",
    [("flipflop", {"n_bits": 0}, "n_bits"), ("flipflop", {"p": 1.5}, "p"), ("nparity", {"n": 0}, "n"),
     ("ndms", {"heads": "many"}, "heads"), ("nparity", {"n": 4, "n_heads": 2}, "n_heads"),
     ("flipflop", {"bits": 3}, "bits")],
)
def test_bad_task_parameter_is_named(name, params, field):
    with pytest.raises(ValueError, match=rf"task '{name}': {field}:"):
        tasks.get(name, **params)


@pytest.mark.parametrize("name", tasks.names())
def test_harder_version_is_longer(name):
    task = tasks.get(name)
    assert task.harder(2.0).n_steps > task.n_steps
    with pytest.raises(ValueError, match="factor"):
        task.harder(0.0)


def test_harder_parity_keeps_labels_right_on_longer_sequences():
    task = tasks.get("nparity", n=3).harder(4.0)
    b = task.sample(jax.random.PRNGKey(4), 64)
    L = int(b.info["length"][0])
    bits = np.asarray(b.info["bits"])
    assert task.n_steps == 52 and 5 <= L <= 52
    np.testing.assert_array_equal(np.asarray(b.targets)[:, L - 1].argmax(-1), bits[:, L - 3 : L].sum(1) % 2)


@pytest.mark.parametrize("name, params", [("flipflop", {}), ("perceptual_decision", {"sigma": 1.0}),
                                          ("nparity", {"n": 3, "heads": "multi"}),
                                          ("multitask", {"tasks": [{"name": "go_nogo"}, {"name": "perceptual_decision"}]})])
def test_compiled_sampler_draws_the_batch_of_the_uncompiled_one(name, params):
    """``sample_batch`` is ``task.sample`` compiled: the same draw from the same key (integer and
    boolean fields bit for bit, floating-point ones up to XLA's fusion, a few ulp)."""
    task = tasks.get(name, **params)
    key = jax.random.PRNGKey(3)
    a, b = tasks.sample_batch(task, key, 8), task.sample(key, 8)
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(x, y)
    other = tasks.sample_batch(task, jax.random.PRNGKey(4), 8)
    assert not np.array_equal(np.asarray(other.inputs), np.asarray(a.inputs))
