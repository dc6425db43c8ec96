"""The NeuroGym bridge (``tasks.from_neurogym``): seeded, whole, masked trials that train.

Runs only where the optional extra is installed (``pip install -e '.[neurogym]'``, in a virtual
environment of its own: NeuroGym 2.3 pins numpy 2.2); ``.ci/run`` does so and requires it.
"""

import warnings

import jax
import numpy as np
import pytest

from conftest import peer

neurogym = peer("neurogym", "pip install -e '.[test,neurogym]' in a venv of its own (see .ci/run)")

from rnnlab import models, tasks, train  # noqa: E402

ENV = "PerceptualDecisionMaking-v0"
pytestmark = pytest.mark.filterwarnings("ignore:.*render_modes:UserWarning")  # gymnasium on NeuroGym's metadata


@pytest.fixture(scope="module")
def context_task():
    # variable-length trials (truncated-exponential delay): padding and masks are exercised
    return tasks.get("neurogym", env_id="ContextDecisionMaking-v0", env_kwargs={"dt": 100})


def test_same_key_same_batch_jitted_or_not(context_task):
    key = jax.random.PRNGKey(3)
    a = context_task.sample(key, 16)
    b = jax.jit(lambda k: context_task.sample(k, 16))(key)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)
    c = context_task.sample(jax.random.PRNGKey(4), 16)
    assert not np.array_equal(a.inputs, c.inputs)


def test_trials_are_whole_masked_and_equal_to_the_env_regenerated_from_the_seed(context_task):
    task = context_task
    batch = task.sample(jax.random.PRNGKey(11), 32)
    assert batch.inputs.shape == (32, task.n_steps, task.n_inputs)
    assert batch.targets.shape == batch.mask.shape == (32, task.n_steps, task.n_classes)
    lengths, seeds = np.asarray(batch.info["length"]), np.asarray(batch.info["seed"])
    assert len(set(lengths)) > 1  # variable-length trials, padded
    env = neurogym.make("ContextDecisionMaking-v0", dt=100).unwrapped  # independent of the task's env
    env.seed(int(seeds[0]))
    inputs, targets, mask = (np.asarray(x) for x in (batch.inputs, batch.targets, batch.mask))
    for i, L in enumerate(lengths):
        env.new_trial()
        assert L == len(env.gt)  # the whole trial, from its first step
        np.testing.assert_array_equal(mask[i, :L], 1.0)
        np.testing.assert_array_equal(mask[i, L:], 0.0)
        np.testing.assert_array_equal(targets[i, :L].argmax(-1), env.gt)
        np.testing.assert_array_equal(targets[i].sum(-1), mask[i, :, 0])  # one-hot on real steps only
        np.testing.assert_allclose(inputs[i, :L], env.ob, rtol=1e-6)
        np.testing.assert_array_equal(inputs[i, L:], 0.0)


def test_registry_params_roundtrip_and_errors(context_task):
    assert context_task.n_classes == context_task.n_outputs == 3 and context_task.loss == "cross_entropy"
    assert tasks.get("neurogym", **context_task.params()) == context_task
    assert context_task.harder(2.0).n_steps > context_task.n_steps
    with pytest.raises(ValueError, match="Nope-v0"):
        tasks.from_neurogym("Nope-v0")
    short = tasks.from_neurogym(ENV, n_steps=5)  # every trial is longer: cut, masked, warned once
    with pytest.warns(RuntimeWarning, match="PerceptualDecisionMaking-v0: a trial of 22 steps .* n_steps=5"):
        b = short.sample(jax.random.PRNGKey(0), 2)
    assert np.all(b.info["truncated"]) and np.all(b.info["length"] == 5) and np.all(b.mask == 1.0)


def _lengths(env_id: str, seed: int, n: int, **env_kwargs) -> np.ndarray:
    env = neurogym.make(env_id, **env_kwargs).unwrapped  # independent of the task's env
    env.seed(seed)
    out = []
    for _ in range(n):
        env.new_trial()
        out.append(len(env.gt))
    return np.array(out)


@pytest.mark.parametrize("env_id, dt", [("OneTwoThreeGo-v0", 100), ("ReadySetGo-v0", 80), ("MotorTiming-v0", 50)])
def test_sized_n_steps_holds_the_rare_long_trials_of_periods_set_in_code(env_id, dt):
    # these environments set some periods in code (OneTwoThreeGo's intervals, ReadySetGo's production,
    # MotorTiming's cue), which the longest of a few hundred probe trials undercounts
    task = tasks.from_neurogym(env_id, dt=dt)
    assert task.n_steps >= _lengths(env_id, 12345, 5000, dt=dt).max()


def test_an_unbounded_declared_period_is_sized_to_its_tail_quantile_and_overflow_is_rare():
    # delay ~ 300 ms + Exp(600 ms), no maximum: n_steps is drawn from the declared distribution
    timing = {"delay": ["truncated_exponential", [600, 300]]}
    task = tasks.from_neurogym("ContextDecisionMaking-v0", dt=100, timing=timing)
    lengths = _lengths("ContextDecisionMaking-v0", 777, 20000, dt=100, timing=timing)
    # P(delay beyond its 0.999 quantile) = 1e-3 (flooring to dt only shortens trials)
    over = (lengths > task.n_steps).mean()
    assert 0 < over < 2e-3, over
    assert task.n_steps < np.quantile(lengths, 0.9999)  # the quantile, not padding to the longest seen


def test_trials_longer_than_n_steps_are_cut_and_masked_inside_a_jitted_training_run():
    T = 20  # shorter than about a third of ContextDecisionMaking's trials (variable delay)
    task = tasks.from_neurogym("ContextDecisionMaking-v0", n_steps=T, dt=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = train(models.config("gru", hidden_size=8), task, key=0, steps=30, lr=1e-2, batch_size=16,
                    eval_every=15, eval_batch_size=32, progress=False)
    assert res.history.status == ["budget"] and np.all(np.isfinite(res.history.array("train_loss")))
    cut = [w for w in caught if issubclass(w.category, RuntimeWarning) and "longer than n_steps=20" in str(w.message)]
    assert len(cut) == 1  # warned once per task, not once per batch

    batch = jax.jit(lambda k: task.sample(k, 64))(jax.random.PRNGKey(8))
    lengths, seeds, truncated = (np.asarray(batch.info[k]) for k in ("length", "seed", "truncated"))
    inputs, targets, mask = (np.asarray(x) for x in (batch.inputs, batch.targets, batch.mask))
    env = neurogym.make("ContextDecisionMaking-v0", dt=100).unwrapped  # regenerated from the seed
    env.seed(int(seeds[0]))
    full = []
    for i in range(64):
        env.new_trial()
        full.append(len(env.gt))
        kept = min(len(env.gt), T)
        assert truncated[i] == (len(env.gt) > T) and lengths[i] == kept
        np.testing.assert_array_equal(mask[i, :kept], 1.0)
        np.testing.assert_array_equal(mask[i, kept:], 0.0)
        np.testing.assert_array_equal(targets[i, :kept].argmax(-1), env.gt[:kept])
        np.testing.assert_array_equal(targets[i].sum(-1), mask[i, :, 0])
        np.testing.assert_allclose(inputs[i, :kept], env.ob[:kept], rtol=1e-6)
        np.testing.assert_array_equal(inputs[i, kept:], 0.0)
    assert 0 < truncated.sum() < 64 and max(full) > T  # both kinds of rows were checked


def test_leaky_rnn_trains_through_rnnlab_train_and_beats_chance():
    task = tasks.from_neurogym(ENV)
    res = train(models.config("leaky_rnn", hidden_size=32, tau=2.0), task, key=0, steps=200, lr=1e-2,
                batch_size=32, eval_every=100, eval_batch_size=64, progress=False)
    assert res.history.status == ["budget"] and len(res.history.step) == 2
    # decision accuracy at the last real step (the decision period), chance 0.5
    b = task.sample(jax.random.PRNGKey(5), 256)
    _, out = models.run(res.model, b.inputs)
    last = np.asarray(b.info["length"]) - 1
    rows = np.arange(256)
    decided = np.asarray(out)[rows, last].argmax(-1) == np.asarray(b.targets)[rows, last].argmax(-1)
    assert decided.mean() > 0.7
