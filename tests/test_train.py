"""Training: solving tasks, reproducibility, ensembles, resumption, curricula, NaN handling."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnlab import models, tasks
from rnnlab.errors import ConfigError, NonFiniteLossError
from rnnlab.train import CurriculumConfig, TrainConfig, member, train

SMALL = dict(steps=200, eval_every=50, batch_size=16, eval_batch_size=32, lr=3e-3, progress=False)


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


def _flipflop():
    return tasks.get("flipflop", n_bits=2, n_steps=30, p=0.1)


def test_leaky_rnn_solves_3bit_flipflop():
    task = tasks.get("flipflop", n_bits=3, n_steps=100)
    res = train(models.config("leaky_rnn", hidden_size=64), task, key=0, steps=5000, lr=3e-3,
                eval_every=100, threshold=0.01, progress=False)
    assert res.history.status == ["converged"]
    # independent check on fresh trials: the outputs hold the sign of the last pulse
    b = task.sample(jax.random.PRNGKey(99), 128)
    _, out = models.run(res.model, b.inputs)
    assert float(jnp.mean((out - b.targets) ** 2)) < 0.02
    held = np.asarray(b.targets) != 0
    assert np.mean(np.sign(np.asarray(out))[held] == np.asarray(b.targets)[held]) > 0.99


def test_multihead_curriculum_reaches_n6_on_parity():
    task = tasks.get("nparity")
    cfg = models.config("leaky_rnn", hidden_size=64, variant="wrapped", activation="leaky_relu",
                        tau=1.0, tau_spread=1.0, self_connections=False)
    res = train(cfg, task, key=0, steps=8000, lr=1e-3, batch_size=128, eval_every=200, eval_batch_size=512,
                curriculum=CurriculumConfig(kind="multi", start=2, max_n=6), progress=False)
    reached = res.history.reached(0)
    assert max(reached) == 6 and res.history.status == ["converged"]
    assert all(len(s["taus"]) == 64 for s in res.history.stages)
    assert sorted(reached.values()) == [reached[n] for n in sorted(reached)]  # N grows with step
    # independent check: accuracy of every head 1..6 on fresh N=6 trials
    big = tasks.get("nparity", n=6, heads="multi")
    b = big.sample(jax.random.PRNGKey(5), 1000)
    _, out = models.run(res.model, b.inputs)
    L = int(b.info["length"][0])
    logits = np.asarray(out[:, L - 1, :12]).reshape(-1, 6, 2)
    bits = np.asarray(b.info["bits"])[:, :L]
    for n in range(1, 7):
        acc = np.mean(logits[:, n - 1].argmax(-1) == bits[:, -n:].sum(1) % 2)
        assert acc > 0.95, (n, acc)


def test_single_head_curriculum_moves_to_the_next_head():
    task = tasks.get("nparity")
    cfg = models.config("leaky_rnn", hidden_size=32, variant="wrapped", activation="leaky_relu", tau=1.0,
                        tau_spread=1.0, self_connections=False)
    res = train(cfg, task, key=1, steps=3000, lr=3e-3, batch_size=64, eval_every=100,
                curriculum=CurriculumConfig(kind="single", start=1, max_n=3), progress=False)
    reached = res.history.reached(0)
    assert set(reached) >= {1, 2, 3}
    assert res.history.status == ["converged"]


def test_same_seed_same_history_other_seed_differs():
    cfg = models.config("leaky_rnn", hidden_size=16)
    a = train(cfg, _flipflop(), key=3, **SMALL)
    b = train(cfg, _flipflop(), key=3, **SMALL)
    c = train(cfg, _flipflop(), key=4, **SMALL)
    assert a.history.train_loss == b.history.train_loss
    assert a.history.eval_loss == b.history.eval_loss
    assert a.history.train_loss != c.history.train_loss
    for x, y in zip(_leaves(a.model), _leaves(b.model)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["leaky_rnn", "gru"])
def test_ensemble_member_equals_separate_run(name):
    cfg = models.config(name, hidden_size=12)
    key = jax.random.PRNGKey(11)
    ens = train(cfg, _flipflop(), key=key, ensemble=3, **SMALL)
    keys = jax.random.split(key, 3)
    for e in range(3):
        single = train(cfg, _flipflop(), key=keys[e], **SMALL)
        # equal up to float reassociation (vmapped vs plain matmuls), which Adam's normalisation
        # can lift to ~1e-4 on weights with tiny gradients; members differ by ~0.1-1.
        for x, y in zip(_leaves(ens.member(e)), _leaves(single.model)):
            np.testing.assert_allclose(x, y, rtol=1e-3, atol=5e-4)
        np.testing.assert_allclose(ens.history.array("train_loss")[:, e], single.history.array("train_loss")[:, 0],
                                   rtol=1e-3)
    # members are different networks
    assert not np.allclose(_leaves(ens.member(0))[0], _leaves(ens.member(1))[0])


@pytest.mark.parametrize("name", ["leaky_rnn", "gru"])
def test_single_networks_rematerialise_by_default_and_train_the_same_network(name):
    """``TrainConfig.uses_remat``: single leaky RNNs and GRUs rematerialise by default (faster on a
    CPU, ``benchmarks/run_layout.py``), LSTMs keep their batched reverse pass, ensembles always
    rematerialise, and ``remat`` overrides. Rematerialising recomputes the same values, so the run
    ends with the same weights as without it, up to float reassociation."""
    cfg = models.config(name, hidden_size=8)
    assert TrainConfig().uses_remat(cfg) and TrainConfig().uses_remat(cfg.build(1, 1, jax.random.PRNGKey(0)))
    assert not TrainConfig().uses_remat(models.config("lstm", hidden_size=8))
    assert TrainConfig(ensemble=2).uses_remat(models.config("lstm", hidden_size=8))
    assert not TrainConfig(remat=False, ensemble=2).uses_remat(cfg)
    default = train(cfg, _flipflop(), key=4, **SMALL)
    stored = train(cfg, _flipflop(), key=4, remat=False, **SMALL)
    for x, y in zip(_leaves(default.model), _leaves(stored.model), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=5e-4)  # the tolerance of the ensemble test above


def test_ensemble_members_stop_on_their_own():
    cfg = models.config("leaky_rnn", hidden_size=16)
    res = train(cfg, _flipflop(), key=0, ensemble=4, steps=3000, eval_every=50, batch_size=32, lr=1e-2,
                threshold=0.002, progress=False)
    stops = res.history.stop_step
    assert all(s == "converged" for s in res.history.status)
    assert len(set(stops)) > 1  # members converged at different steps
    # a stopped member's metric passed the threshold at its stopping evaluation
    metric = res.history.array("metric")
    for e, s in enumerate(stops):
        k = res.history.step.index(max(x for x in res.history.step if x <= s)) if s in res.history.step else None
        if k is not None:
            assert metric[k, e] <= 0.002


def test_members_still_training_train_alone_as_they_would_in_the_whole_ensemble(monkeypatch):
    """Once at most half of an ensemble is still training, only those members (padded to a
    power of two) are trained (``loop._training_rows``). Each member must end as in the
    ensemble trained whole: same stopping step, weights and history, stopped members' rows
    included (to float reassociation: here about 1e-6 after 200 steps in smaller batches).
    Members against their own runs: ``test_ensemble_member_equals_separate_run``."""
    from rnnlab.train import loop

    cfg = models.config("leaky_rnn", hidden_size=16)
    kw = dict(steps=1500, eval_every=50, batch_size=32, lr=1e-2, threshold=0.004, progress=False)
    key = jax.random.PRNGKey(3)
    rows = []
    real = loop._training_rows
    monkeypatch.setattr(loop, "_training_rows", lambda *a: rows.append(real(*a)) or rows[-1])
    packed = train(cfg, _flipflop(), key=key, ensemble=4, **kw)
    # the property is exercised: some chunk trained a batch of fewer than 4 members
    assert min(len(r) if r is not None else 4 for r in rows) <= 2
    monkeypatch.setattr(loop, "_COMPACT", False)
    whole = train(cfg, _flipflop(), key=key, ensemble=4, **kw)
    assert packed.history.stop_step == whole.history.stop_step and packed.history.status == whole.history.status
    for name in ("train_loss", "eval_loss", "metric"):
        np.testing.assert_allclose(packed.history.array(name), whole.history.array(name), rtol=1e-3, atol=1e-7)
    for x, y in zip(_leaves(packed.model), _leaves(whole.model)):
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=5e-4)


def test_interrupted_run_resumes_to_the_same_end_state():
    cfg = models.config("leaky_rnn", hidden_size=16)
    full = train(cfg, _flipflop(), key=5, **SMALL)
    saved = {}

    def stop_at_2(ckpt):
        if ckpt.n_evals == 2:
            saved["ckpt"] = ckpt
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, _flipflop(), key=5, on_eval=stop_at_2, **SMALL)
    resumed = train(cfg, _flipflop(), key=5, resume=saved["ckpt"], **SMALL)
    for x, y in zip(_leaves(full.model), _leaves(resumed.model)):
        np.testing.assert_array_equal(x, y)
    assert full.history.eval_loss == resumed.history.eval_loss


def test_nan_stops_and_keeps_last_good_parameters():
    cfg = models.config("leaky_rnn", hidden_size=8)
    poison = optax.chain(optax.adam(1e-3), optax.scale_by_schedule(lambda n: jnp.where(n >= 30, jnp.nan, 1.0)))
    with pytest.raises(NonFiniteLossError, match="loss: non-finite.*step 30") as err:
        train(cfg, _flipflop(), key=0, optimizer=poison, **SMALL)
    res = err.value.result
    assert res.history.status == ["failed"] and res.history.stop_step == [30]
    assert all(np.all(np.isfinite(x)) for x in _leaves(res.model))


def test_ensemble_member_failure_does_not_stop_the_others():
    cfg = models.config("leaky_rnn", hidden_size=8)
    task = _flipflop()
    ens = train(cfg, task, key=0, ensemble=2, steps=50, eval_every=50, batch_size=8, progress=False)
    # poison member 1's weights: its loss is NaN from the start
    model = eqx.tree_at(lambda m: m.W, ens.model, ens.model.W.at[1].set(jnp.inf))
    res = train(model, task, key=0, ensemble=2, steps=100, eval_every=50, batch_size=8, progress=False)
    assert res.history.status[0] == "budget"
    assert res.history.status[1] == "budget"  # re-initialised from the config: both healthy
    bad_single = eqx.tree_at(lambda m: m.W, member(ens.model, 1), member(ens.model, 1).W.at[0, 0].set(jnp.nan))
    with pytest.raises(NonFiniteLossError):
        train(bad_single, task, key=0, steps=100, eval_every=50, batch_size=8, progress=False)


def test_training_settings_are_validated():
    cfg = models.config("leaky_rnn", hidden_size=8)
    with pytest.raises(ConfigError, match="train: steps: Input should be greater than 0"):
        train(cfg, _flipflop(), steps=0)
    with pytest.raises(ConfigError, match="train: stepz: unknown parameter; valid parameters: steps"):
        train(cfg, _flipflop(), stepz=10)
    with pytest.raises(ConfigError, match="curriculum: task 'flipflop' has no levels"):
        train(cfg, _flipflop(), curriculum=CurriculumConfig(), steps=10)
    wrong = models.get("leaky_rnn", input_size=2, output_size=5, key=jax.random.PRNGKey(0), hidden_size=8)
    with pytest.raises(ConfigError, match=r"model.output_size: 5 does not match task 'flipflop' outputs \(2\)"):
        train(wrong, _flipflop(), steps=10)
