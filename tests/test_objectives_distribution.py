"""Distribution-matching objectives (rnnlab.objectives.distribution): Gumbel-softmax sampling,
the Sinkhorn divergence against known answers and geomloss, MMD, validation, and a short
training run that lowers the divergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnlab
from rnnlab.errors import ConfigError
from rnnlab.objectives import validate_spec
from rnnlab.objectives.distribution import MMDLoss, SinkhornLoss, gumbel_softmax, mmd, sinkhorn_divergence


def test_gumbel_frequencies_match_softmax():
    logits = jnp.array([1.0, 0.0, -1.0, 0.5])
    n = 40_000
    y = gumbel_softmax(jnp.broadcast_to(logits, (n, 4)), jax.random.PRNGKey(0))
    assert np.all(np.asarray(y.sum(-1)) == 1.0) and set(np.unique(np.asarray(y))) <= {0.0, 1.0}
    freq = np.asarray(y.mean(0))
    p = np.asarray(jax.nn.softmax(logits))
    # binomial standard error per class; 4.5 σ bounds a false alarm over 4 classes below 1e-4
    np.testing.assert_array_less(np.abs(freq - p), 4.5 * np.sqrt(p * (1 - p) / n))


def test_straight_through_gradient_is_the_soft_one():
    logits = jnp.array([[0.3, -0.2, 1.1]])
    key = jax.random.PRNGKey(3)
    w = jnp.array([1.0, -2.0, 0.5])
    for tau in (1.0, 0.5):
        hard = jax.grad(lambda z: jnp.sum(w * gumbel_softmax(z, key, tau)))(logits)
        soft = jax.grad(lambda z: jnp.sum(w * gumbel_softmax(z, key, tau, hard=False)))(logits)
        np.testing.assert_allclose(hard, soft, rtol=1e-6)
        # the forward value is the one-hot argmax of the same perturbed logits
        y, ys = gumbel_softmax(logits, key, tau), gumbel_softmax(logits, key, tau, hard=False)
        assert int(jnp.argmax(y)) == int(jnp.argmax(ys)) and float(y.max()) == 1.0


def _clouds():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = rng.normal(size=(50, 3)) * 0.7 + np.array([0.5, -0.3, 0.2])
    return jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)


def test_sinkhorn_identical_is_zero_and_translate_is_half_squared_shift():
    x, _ = _clouds()
    assert abs(float(sinkhorn_divergence(x, x, threshold=1e-5, max_iterations=20_000))) < 1e-5
    # at the default stopping threshold (1e-2 marginal error) the x–y problem stops early: 3e-4
    assert abs(float(sinkhorn_divergence(x, x))) < 1e-3
    # S_ε(x, x + δ) = ½‖δ‖² exactly at every ε (the cost's separable part; module docstring)
    d = jnp.array([0.4, -0.3, 0.1])
    s = float(sinkhorn_divergence(x, x + d, 0.5, threshold=1e-4, max_iterations=20_000))
    np.testing.assert_allclose(s, 0.5 * float(d @ d), rtol=2e-3)


def test_sinkhorn_matches_geomloss_and_ott():
    """geomloss 0.3.1 (torch 2.13, float64) on these clouds: SamplesLoss("sinkhorn", p=2,
    blur=0.2, scaling=0.999) = 0.6519336138 (its ε-scaling run almost to convergence; the
    default scaling=0.5 stops early at 0.6278)."""
    from ott.tools import sinkhorn_divergence as sd

    x, y = _clouds()
    ours = float(sinkhorn_divergence(x, y, 0.2, threshold=1e-5, max_iterations=20_000))
    np.testing.assert_allclose(ours, 0.6519336138, rtol=2e-4)
    # ott's own point-cloud route (its squared-Euclidean cost on x/√2, y/√2, no ε annealing)
    r = 1 / np.sqrt(2.0)
    ref, _ = sd.sinkdiv(x * r, y * r, epsilon=0.04, solve_kwargs={"threshold": 1e-5, "max_iterations": 20_000})
    np.testing.assert_allclose(ours, float(ref), rtol=1e-4)


def test_mmd_zero_for_identical_and_closed_form_for_two_points():
    x, y = _clouds()
    assert abs(float(mmd(x, x))) < 1e-5 and float(mmd(x, y)) > 0
    a, b = jnp.zeros((1, 2)), jnp.array([[3.0, 4.0]])  # ‖a − b‖² = 25
    k = sum(np.exp(-25 / (2 * s * s)) for s in (1.0, 2.0))
    np.testing.assert_allclose(float(mmd(a, b, (1.0, 2.0))), 2 * 2 - 2 * k, rtol=1e-5)


def test_params_are_validated_and_tasks_checked():
    assert validate_spec({"name": "sinkhorn"})["blur"] == 0.2
    for bad, field in (({"blur": 0}, "blur"), ({"temperature": -1.0}, "temperature"), ({"scaling": 1.0}, "scaling")):
        with pytest.raises(ValueError, match=field):
            validate_spec({"name": "sinkhorn", **bad})
    with pytest.raises(ValueError, match="scales"):
        validate_spec({"name": "mmd", "scales": [1.0, -2.0]})
    model = rnnlab.models.config("leaky_rnn", hidden_size=8)
    with pytest.raises(ConfigError, match="train.objective: 'sinkhorn'.*categorical"):
        rnnlab.train(model, rnnlab.tasks.get("flipflop"), objective={"name": "sinkhorn"}, steps=1, progress=False)
    with pytest.raises(ConfigError, match="train.objective"):
        MMDLoss(n_classes=2).check(rnnlab.tasks.get("hmm"), None)


@pytest.mark.parametrize("name", ["sinkhorn", "mmd"])
def test_short_training_lowers_the_divergence(name):
    task = rnnlab.tasks.get("hmm", family="linear", n_states=3, duration=10, n_noise=4)
    model = rnnlab.models.config("leaky_rnn", hidden_size=16, activation="relu", bias=False, tau=1.0,
                                 tau_param="direct", train_tau=False)
    r = rnnlab.train(model, task, objective={"name": name}, steps=150, eval_every=50, batch_size=128,
                     eval_batch_size=512, lr=1e-2, progress=False, key=0)
    loss = [v[0] for v in r.history.eval_loss]
    # the untrained network's divergence, measured on the same kind of evaluation batch
    objective = SinkhornLoss(n_classes=3) if name == "sinkhorn" else MMDLoss(n_classes=3)
    batch = task.sample(jax.random.PRNGKey(7), 512)
    act, out = rnnlab.models.run(r.initial_model, batch.inputs)
    before = float(objective(r.initial_model, task, batch, act, out, jax.random.PRNGKey(8)))
    assert loss[-1] < 0.8 * before, (before, loss)
