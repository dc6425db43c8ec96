"""The NeuroGym bridge (``tasks.from_neurogym``): seeded, whole, masked trials that train.

Runs only where the optional extra is installed (``pip install -e '.[neurogym]'``).
"""

import jax
import numpy as np
import pytest

neurogym = pytest.importorskip("neurogym", reason="NeuroGym is an optional extra: pip install -e '.[neurogym]'")

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
    short = tasks.from_neurogym(ENV, n_steps=5)
    with pytest.raises(Exception, match="longer than n_steps=5"):
        short.sample(jax.random.PRNGKey(0), 2)


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
