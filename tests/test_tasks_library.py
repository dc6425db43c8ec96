"""The task library: registry, parameter validation, timing, harder(), HMM matrices, multitask, plots.

The targets of each task are checked against independent recomputations in
``test_task_targets.py``.
"""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab import tasks
from rnnlab.tasks import _random, _timing

LIBRARY = [
    "sine", "delayed_discrimination", "path_integration", "perceptual_decision", "context_decision",
    "delay_match_sample", "go_nogo", "ready_set_go", "hmm", "reaching", "line_drawing",
    "streaming_parity", "copy", "adding", "selective_copy",
]


@pytest.mark.parametrize("name", LIBRARY)
def test_registered_with_metadata_and_docstring(name):
    cls = tasks.REGISTRY[name]
    assert cls.name == name and cls.__name__ in tasks.__all__
    assert cls.description and cls.paper and cls.metric_name
    assert cls.loss in ("mse", "cross_entropy")
    assert (cls.n_classes is not None) == (cls.loss == "cross_entropy")
    assert len(sys.modules[cls.__module__].__doc__) > 200  # equations and paper
    task = tasks.get(name)
    assert task.n_steps > 0 and task.n_inputs > 0 and task.n_outputs > 0
    if task.loss == "cross_entropy":
        assert task.n_outputs % task.n_classes == 0
    params = json.loads(json.dumps(task.params()))  # plain JSON, rebuilds the same task
    assert "dt" in params and tasks.get(name, **params) == task


@settings(max_examples=10, deadline=None)
@given(name=st.sampled_from(LIBRARY), factor=st.floats(1.5, 4.0))
def test_harder_gives_longer_trials(name, factor):
    task = tasks.get(name)
    harder = task.harder(factor)
    assert type(harder) is type(task) and harder.n_steps > task.n_steps
    assert harder.n_inputs == task.n_inputs and harder.n_outputs == task.n_outputs
    with pytest.raises(ValueError, match="factor"):
        task.harder(0.0)


def test_harder_doubles_the_delay_of_delayed_discrimination():
    task = tasks.get("delayed_discrimination").harder()
    assert task.delay == (10.0, 40.0) and task.pulse == 1.0  # Huang et al.'s OOD test


BAD = [
    ("sine", dict(train_freqs=()), "train_freqs"),
    ("sine", dict(test_freqs=(), split="test"), "test_freqs"),
    ("sine", dict(split="validation"), "split"),
    ("sine", dict(duration=(0.5, 0.2)), "duration"),
    ("delayed_discrimination", dict(f_min=5.0, f_max=2.0), "f_max"),
    ("perceptual_decision", dict(dt=1000.0), "decision"),  # defaults are validated too
    ("delayed_discrimination", dict(n_channels=0), "n_channels"),
    ("delayed_discrimination", dict(delay=-1.0), "delay"),
    ("path_integration", dict(dim=4), "dim"),
    ("path_integration", dict(boundary="wrap"), "boundary"),
    ("path_integration", dict(max_speed=200.0), "max_speed"),
    ("perceptual_decision", dict(coherences=(150.0,)), "coherences"),
    ("perceptual_decision", dict(decision=10.0), "decision"),
    ("context_decision", dict(sigma=-1.0), "sigma"),
    ("delay_match_sample", dict(n_dirs=1), "n_dirs"),
    ("go_nogo", dict(p_go=1.5), "p_go"),
    ("ready_set_go", dict(gain=0.0), "gain"),
    ("ready_set_go", dict(measure=50.0), "measure"),
    ("hmm", dict(family="star"), "family"),
    ("hmm", dict(family="cyclic", n_states=5), "n_states"),
    ("hmm", dict(n_states=1), "n_states"),
    ("hmm", dict(n_states=6), "target_prob"),  # 1 - 2q < 0 beyond 5 states at 0.05
    ("reaching", dict(n_recorded=100), "n_recorded"),
    ("reaching", dict(freq_low=3.0, freq_high=1.0), "freq_high"),
    ("line_drawing", dict(seqlen=1.0), "seqlen"),
    ("streaming_parity", dict(p=1.0), "p"),
    ("copy", dict(n_tokens=0), "n_tokens"),
    ("adding", dict(length=1.0), "length"),
    ("selective_copy", dict(n_tokens=20, length=10.0), "length"),
    ("selective_copy", dict(vocab=4), "vocab"),
]


@pytest.mark.parametrize("name,params,field", BAD)
def test_bad_parameters_raise_value_error_naming_the_parameter(name, params, field):
    with pytest.raises(ValueError, match=field) as err:
        tasks.get(name, **params)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=field):  # pydantic's error is a ValueError too
        tasks.REGISTRY[name](**params)


durations = st.one_of(
    st.integers(0, 6).map(float),
    st.tuples(st.integers(0, 6), st.integers(0, 6)).map(lambda t: (float(min(t)), float(max(t)))),
)


@settings(max_examples=6, deadline=None)
@given(
    periods=st.lists(durations, min_size=1, max_size=4),
    dt=st.sampled_from([0.5, 1.0, 2.0]),
    seed=st.integers(0, 99),
)
def test_layout_periods_are_back_to_back_within_their_ranges(periods, dt, seed):
    named = [(f"p{i}", d) for i, d in enumerate(periods)]
    u = jax.random.uniform(jax.random.PRNGKey(seed), (4, 64))[: len(named)]
    bounds, T = _timing.layout(u, named, dt)
    end = np.zeros(64, int)
    for name, d in named:
        on, off = (np.asarray(x) for x in bounds[name])
        low, high = _timing.step_range(d, dt)
        np.testing.assert_array_equal(on, end)
        assert np.all((off - on >= low) & (off - on <= high))
        if high > low:
            assert len(np.unique(off - on)) > 1
        end = off
    assert end.max() <= T == sum(_timing.max_steps(d, dt) for d in periods)


def test_random_transforms_match_their_distributions():
    (u,) = _random.uniforms(jax.random.PRNGKey(0), (20000,))
    z = np.asarray(_random.normal(u))
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03 and np.isfinite(z).all()
    k = np.asarray(_random.integers(u, 2, 5))
    np.testing.assert_allclose(np.bincount(k, minlength=5)[2:] / len(k), 1 / 3, atol=0.02)
    probs = jnp.array([0.2, 0.0, 0.5, 0.3])
    c = np.asarray(_random.categorical(u, jnp.broadcast_to(probs, (20000, 4))))
    np.testing.assert_allclose(np.bincount(c, minlength=4) / len(c), probs, atol=0.015)


@settings(max_examples=10, deadline=None)
@given(family=st.sampled_from(["linear", "fully", "cyclic"]), n_states=st.integers(2, 5))
def test_hmm_matrices_are_the_published_families(family, n_states):
    S = 4 if family == "cyclic" else n_states
    task = tasks.get("hmm", family=family, n_states=S)
    A, E = task.transition_matrix(), task.emission_matrix()
    assert A.shape == (S, S) and E.shape == (S, 3)
    np.testing.assert_allclose(A.sum(1), 1)
    np.testing.assert_allclose(E.sum(1), 1)
    assert (A >= 0).all() and (E >= 0).all()
    if family == "linear":
        q = 0.05 ** (1 / (S - 1))
        np.testing.assert_allclose(np.diag(A, 1), q)
        np.testing.assert_allclose(np.diag(A, -1), q)
        np.testing.assert_allclose([A[0, 0], A[-1, -1]], 1 - q)
        np.testing.assert_allclose(np.diag(A)[1:-1], 1 - 2 * q)
        np.testing.assert_allclose(E[:, 1], 0.01)
        np.testing.assert_allclose(E[-1], [0, 0.01, 0.99])
    elif family == "fully":
        np.testing.assert_allclose(np.diag(A), 0.95)
        np.testing.assert_allclose(E.max(1), 0.98)
    else:
        np.testing.assert_allclose(np.diag(A), 0.9)
        np.testing.assert_allclose(A[0], [0.9, 0.05, 0.0, 0.05])


def test_multitask_mixes_tasks_with_a_rule_input():
    subs = [tasks.get("go_nogo"), tasks.get("perceptual_decision", stimulus=500.0)]
    mt = tasks.multitask(subs)
    assert mt.loss == "cross_entropy" and mt.n_classes == 2 and mt.metric_name == "accuracy"
    assert mt.n_inputs == 3 + 2 and mt.n_outputs == 2 and mt.n_steps == max(s.n_steps for s in subs)
    b = jax.tree.map(np.asarray, jax.jit(lambda k: mt.sample(k, 32))(jax.random.PRNGKey(0)))
    rule = b.info["rule"]
    assert 0 < rule.mean() < 1
    np.testing.assert_array_equal(b.inputs[..., 3:], np.eye(2)[rule][:, None, :].repeat(mt.n_steps, 1))
    for i in range(32):
        key = "go_nogo" if rule[i] == 0 else "perceptual_decision"
        on, off = b.info[f"{key}/decision_on"][i], b.info[f"{key}/decision_off"][i]
        np.testing.assert_array_equal(np.flatnonzero(b.mask[i, :, 0]), np.arange(on, off))
        label = b.info["go_nogo/go"][i] if rule[i] == 0 else b.info["perceptual_decision/choice"][i]
        assert b.targets[i, on].argmax() == label
    assert mt.harder().n_steps > mt.n_steps
    assert mt.params()["tasks"][0]["name"] == "go_nogo"


def test_multitask_refuses_mixed_loss_types():
    with pytest.raises(ValueError, match="tasks.*loss"):
        tasks.multitask([tasks.get("go_nogo"), tasks.get("sine")])
    with pytest.raises(ValueError, match="tasks.*class"):
        tasks.multitask([tasks.get("go_nogo"), tasks.get("copy")])
    with pytest.raises(ValueError, match="tasks"):
        tasks.multitask([])


def test_multitask_from_a_run_config_round_trips_and_names_bad_entries():
    from rnnlab.config import parse_config
    from rnnlab.errors import ConfigError

    entry = {"name": "multitask", "params": {"tasks": [{"name": "go_nogo"},
                                                       {"name": "perceptual_decision", "params": {"stimulus": 500.0}}]}}
    cfg = parse_config({"task": entry, "model": {"name": "leaky_rnn"}})
    mt = cfg.build_task()
    direct = tasks.multitask([tasks.get("go_nogo"), tasks.get("perceptual_decision", stimulus=500.0)])
    assert mt == direct and hash(mt) == hash(direct)  # equal mixtures share compiled programs
    assert tasks.get("multitask", **mt.params()) == mt
    bad = {"name": "multitask", "params": {"tasks": [{"name": "go_nogo", "params": {"p_go": 2.0}}]}}
    with pytest.raises(ConfigError, match="p_go"):
        parse_config({"task": bad, "model": {"name": "leaky_rnn"}})
    with pytest.raises(ValueError, match=r"tasks\[0\]: expected \{name, params\}"):
        tasks.get("multitask", tasks=[{"task": "go_nogo"}])


def test_plot_examples_writes_a_png(tmp_path):
    path = tasks.plot_examples(tasks.get("line_drawing"), jax.random.PRNGKey(0), n=2, path=tmp_path / "ex.png")
    assert path == tmp_path / "ex.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
