"""Continual learning (rnnlab.continual): known answers for the forgetting metrics, the EWC
penalty and Fisher, the projection's protected subspace, Oja's subspace rule; resume; errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnlab
from rnnlab.continual import (EWC, accuracy_matrix_metrics, average_accuracy, backward_transfer,
                              fisher_diagonal, gpm_update, hebbian_subspace, sequence, train_continual)
from rnnlab.continual.driver import ContinualCheckpoint, skeleton
from rnnlab.errors import ConfigError
from rnnlab.store.checkpoint import serialise
from rnnlab.train import TrainConfig

TASK = rnnlab.tasks.get("multitask", tasks=[
    {"name": "perceptual_decision", "params": {"stimulus": 300.0, "coherences": [25.6, 51.2]}},
    {"name": "go_nogo", "params": {"stimulus": 200.0, "delay": 200.0, "decision": 200.0}}])
MODEL = rnnlab.models.config("leaky_rnn", hidden_size=12, dt=100.0, tau=200.0)
FAST = dict(steps=40, eval_every=20, batch_size=16, eval_batch_size=32, optimizer="sgd", lr=0.1, progress=False)


def test_accuracy_matrix_metrics_on_a_planted_matrix():
    R = np.array([[0.9, 0.5, 0.5], [0.7, 0.8, 0.5], [0.6, 0.7, 1.0]])
    assert average_accuracy(R) == pytest.approx((0.6 + 0.7 + 1.0) / 3)
    assert backward_transfer(R) == pytest.approx(((0.6 - 0.9) + (0.7 - 0.8)) / 2)
    cols = accuracy_matrix_metrics(R)
    assert cols["acc@stage=2,task=1"] == 0.7 and cols["acc_first_final"] == 0.6
    assert cols["acc_learned"] == pytest.approx(0.9)
    with pytest.raises(ConfigError, match="R: the accuracy matrix must be square"):
        backward_transfer(np.ones((2, 3)))


def test_sequence_samples_one_stage_in_the_shared_layout():
    seq = sequence(TASK)
    b = seq.sample(jax.random.PRNGKey(0), 8, 1)
    assert b.inputs.shape == (8, TASK.n_steps, TASK.n_inputs)
    np.testing.assert_array_equal(b.inputs[..., -2:], np.broadcast_to([0.0, 1.0], (8, TASK.n_steps, 2)))
    sub = TASK.tasks[1].sample(jax.random.split(jax.random.PRNGKey(0), 2)[1], 8)
    np.testing.assert_array_equal(b.targets[:, :sub.targets.shape[1]], sub.targets)


def test_ewc_penalty_equals_the_sum_of_per_task_penalties():
    model = MODEL.build(TASK.n_inputs, TASK.n_outputs, jax.random.PRNGKey(0))
    p = eqx.filter(model, eqx.is_inexact_array)
    leaves, tdef = jax.tree.flatten(p)
    rng = np.random.default_rng(0)
    draw = lambda f: jax.tree.unflatten(tdef, [jnp.asarray(f(x.shape), jnp.float32) for x in leaves])  # noqa: E731
    F1, F2 = draw(lambda s: rng.exponential(size=s)), draw(lambda s: rng.exponential(size=s) * (rng.random(s) < .5))
    t1, t2 = draw(lambda s: rng.normal(size=s)), draw(lambda s: rng.normal(size=s))
    lam = 3.0
    ewc = EWC.initial(model, lam, 8).add(t1, F1).add(t2, F2)
    hand = sum(0.5 * lam * (np.sum(np.asarray(f1) * (np.asarray(x) - np.asarray(a1)) ** 2)
                            + np.sum(np.asarray(f2) * (np.asarray(x) - np.asarray(a2)) ** 2))
               for f1, a1, f2, a2, x in zip(*(jax.tree.leaves(t) for t in (F1, t1, F2, t2, p))))
    assert float(ewc.penalty(model)) == pytest.approx(hand, rel=1e-4)


def test_fisher_of_the_gaussian_readout_equals_its_closed_form():
    """MSE task: log p = −½‖y − W_out h − b‖² per scored entry, y ~ N(f, I): the Fisher of W_out[o, j]
    is E_x Σ_t m_to h_tj² (of b_o: E_x Σ_t m_to); the estimate is a mean of B scaled χ²₁ draws, so
    its standard error is √(2 Σ_b a_b²)/B with a_b the trial's closed-form value: 5 SE tolerance."""
    task = rnnlab.tasks.get("flipflop", n_bits=2, n_steps=12)
    model = rnnlab.models.config("leaky_rnn", hidden_size=6).build(2, 2, jax.random.PRNGKey(1))
    key, B = jax.random.PRNGKey(5), 4096
    F = fisher_diagonal(model, task, key, B)
    batch = task.sample(jax.random.split(key, 3)[0], B)
    h, _ = rnnlab.run(model, batch.inputs)
    a = np.einsum("bto,btj->boj", np.asarray(batch.mask), np.asarray(h) ** 2)
    se = np.sqrt(2 * (a**2).sum(0)) / B
    assert np.all(np.abs(np.asarray(F.readout_layer.weight) - a.mean(0)) < 5 * se)
    ab = np.asarray(batch.mask).sum(1)
    assert np.all(np.abs(np.asarray(F.readout_layer.bias) - ab.mean(0)) < 5 * np.sqrt(2 * (ab**2).sum(0)) / B)


def test_gpm_update_keeps_the_fewest_directions_over_threshold():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 3)))[0]
    X = (rng.normal(size=(500, 3)) * [10.0, 3.0, 1.0]) @ basis.T
    P = np.asarray(gpm_update(jnp.zeros((6, 6)), jnp.asarray(X, jnp.float32), 0.95))
    energy = np.linalg.svd(X, compute_uv=False) ** 2
    expected = int(np.searchsorted(np.cumsum(energy) / energy.sum(), 0.95) + 1)
    assert np.linalg.matrix_rank(P, tol=1e-3) == expected == 2
    np.testing.assert_allclose(P @ P, P, atol=1e-5)
    P2 = np.asarray(gpm_update(jnp.asarray(P), jnp.asarray(X, jnp.float32), 0.999))  # grows, never shrinks
    assert np.linalg.matrix_rank(P2, tol=1e-3) == 3 and np.allclose(P2 @ P, P, atol=1e-5)


def test_oja_subspace_rule_finds_the_principal_subspace():
    rng = np.random.default_rng(0)
    d = 12
    Q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    C = Q @ np.diag([10, 7, 5, 3, 2] + [0.2] * (d - 5)) @ Q.T
    X = rng.multivariate_normal(np.zeros(d), C, size=6000).astype(np.float32)
    w, V = np.linalg.eigh(X.T @ X / len(X))
    V = V[:, ::-1]

    def angles(H, k):
        s = np.linalg.svd(np.linalg.qr(np.asarray(H)[:k].T)[0].T @ V[:, :k], compute_uv=False)
        return np.degrees(np.arccos(np.clip(s, -1, 1)))

    H, M, used = hebbian_subspace(jnp.zeros((d, d)), jnp.zeros((d, d)), jnp.asarray(0), jnp.asarray(X), 3,
                                  jax.random.PRNGKey(1), 1500, 0.5)
    assert int(used) == 3 and angles(H, 3).max() < 5
    np.testing.assert_allclose(np.asarray(H)[:3] @ np.asarray(H)[:3].T, np.eye(3), atol=0.02)
    H2, _, used = hebbian_subspace(H, M, used, jnp.asarray(X), 2, jax.random.PRNGKey(2), 1500, 0.5)
    np.testing.assert_array_equal(np.asarray(H2)[:3], np.asarray(H)[:3])  # earlier neurons fixed
    assert int(used) == 5 and angles(H2, 5).max() < 5


def test_projected_updates_leave_the_protected_subspace_untouched():
    """After stage 0 the projector P_rec spans the stage's presynaptic states; a whole SGD stage of
    projected updates moves W only off that span: ‖ΔW P‖ ≤ 1e-5 ‖ΔW‖ (float32), and likewise for
    [U b] on [x; 1] and the readout on [h; 1]; τ (trainable) is frozen after stage 0."""
    r = train_continual(MODEL, TASK, continual={"method": "projection", "threshold": 0.9}, key=0, **FAST)
    m1, m2, P = r.stage_models(0)[1], r.model, r.checkpoint.objective.P
    assert 0 < np.linalg.matrix_rank(np.asarray(P["rec"]), tol=1e-3) < 12
    dW = np.asarray(m2.W - m1.W)
    assert np.linalg.norm(dW) > 1e-3
    assert np.linalg.norm(dW @ np.asarray(P["rec"])) < 1e-5 * np.linalg.norm(dW)
    dU = np.concatenate([np.asarray(m2.U - m1.U), np.asarray(m2.b - m1.b)[:, None]], 1)
    assert np.linalg.norm(dU @ np.asarray(P["in"])) < 1e-5 * np.linalg.norm(dU)
    lo, l1 = m2.readout_layer, m1.readout_layer
    dR = np.concatenate([np.asarray(lo.weight - l1.weight), np.asarray(lo.bias - l1.bias)[:, None]], 1)
    assert np.linalg.norm(dR @ np.asarray(P["out"])) < 1e-5 * np.linalg.norm(dR)
    np.testing.assert_array_equal(m2.tau_raw, m1.tau_raw)
    assert r.accuracy.shape == (2, 2) and np.isfinite(r.accuracy).all()


def test_resume_through_saved_arrays_equals_the_uninterrupted_run():
    cfg = TrainConfig(**{k: v for k, v in FAST.items() if k != "progress"}, continual={"method": "ewc",
                                                                                        "fisher_trials": 16})
    seen = []
    full = train_continual(MODEL, TASK, cfg, key=3, progress=False, on_eval=seen.append)
    mid = next(c for c in seen if c.stage == 1)  # the first evaluation of stage 2
    skel = skeleton(MODEL, TASK, cfg, jax.random.PRNGKey(3))
    tree = eqx.tree_deserialise_leaves(__import__("io").BytesIO(serialise(mid.tree())), skel)
    back = ContinualCheckpoint.from_tree(tree, mid.history, mid.initial_model, mid.stage_models)
    again = train_continual(MODEL, TASK, cfg, key=3, progress=False, resume=back)
    for a, b in zip(jax.tree.leaves(eqx.filter(full.model, eqx.is_array)),
                    jax.tree.leaves(eqx.filter(again.model, eqx.is_array))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.accuracy, again.accuracy)
    assert full.history.step == again.history.step and full.history.passed == again.history.passed


def test_ensemble_member_equals_its_single_run():
    keys = jax.random.split(jax.random.PRNGKey(4), 2)
    ens = train_continual(MODEL, TASK, continual={"method": "projection"}, key=keys, ensemble=2, remat=False, **FAST)
    one = train_continual(MODEL, TASK, continual={"method": "projection"}, key=keys[1], **FAST)
    np.testing.assert_allclose(ens.member(1).W, one.model.W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ens.accuracy[1], one.accuracy, atol=1 / 32 + 1e-6)


def test_spiking_model_trains_with_hlop():
    spk = rnnlab.models.config("spiking_rnn", hidden_size=10, tau_mem=2.0, tau_syn=1.0, tau_out=2.0)
    r = train_continual(spk, TASK, continual={"method": "hlop", "hlop_iters": 50}, key=0, **FAST)
    assert r.accuracy.shape == (2, 2) and np.isfinite(r.accuracy).all()
    assert set(r.checkpoint.objective.P) == {"rec", "in", "out", "post"}


@pytest.mark.parametrize("bad, match", [
    ({"continual": {"method": "replay"}}, r"train: continual\.method"),
    ({"continual": {"method": "ewc", "ewc_lambda": -1}}, r"train: continual\.ewc_lambda"),
    ({"continual": {"method": "projection"}, "optimizer": "adam"}, r"train\.optimizer: continual method 'projection' needs 'sgd'"),
    ({}, r"train\.continual: not set"),
])
def test_bad_settings_are_named(bad, match):
    kw = {**FAST, "optimizer": "sgd", **bad}
    with pytest.raises(ConfigError, match=match):
        train_continual(MODEL, TASK, **kw)


def test_bad_tasks_and_models_are_named_in_run_configs():
    base = {"model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
            "train": {"optimizer": "sgd", "continual": {"method": "projection"}}}
    with pytest.raises(ConfigError, match="task: continual learning needs a 'multitask'"):
        rnnlab.config.parse_config({**base, "task": {"name": "go_nogo"}})
    with pytest.raises(ConfigError, match="tasks: all tasks must share one loss type"):
        rnnlab.config.parse_config({**base, "task": {"name": "multitask", "params": {"tasks": [
            {"name": "go_nogo"}, {"name": "flipflop"}]}}})
    with pytest.raises(ConfigError, match="model.params.dale"):
        rnnlab.config.parse_config({**base, "task": TASK_SPEC, "model": {"name": "leaky_rnn",
                                                                         "params": {"dale": True}}})
    with pytest.raises(ConfigError, match="model.params.encoding"):
        rnnlab.config.parse_config({**base, "task": TASK_SPEC, "model": {"name": "spiking_rnn",
                                                                         "params": {"encoding": "delta"}}})
    assert rnnlab.config.parse_config({**base, "task": TASK_SPEC}).train.continual.method == "projection"


TASK_SPEC = {"name": "multitask", "params": {"tasks": [{"name": "go_nogo"}, {"name": "perceptual_decision"}]}}


def test_run_store_trains_resumes_and_analyses_a_continual_run(tmp_path):
    from rnnlab.store import execute, train_run
    from rnnlab.sweep.analyses import NetworkContext, run_analyses

    cfg = {"task": TASK_SPEC_SMALL, "model": {"name": "leaky_rnn", "params": {"hidden_size": 8, "dt": 100.0}},
           "train": {"steps": 20, "eval_every": 10, "batch_size": 8, "eval_batch_size": 16, "optimizer": "sgd",
                     "lr": 0.1, "continual": {"method": "ewc", "fisher_trials": 8}}, "seed": 2}
    run, result = train_run(cfg, root=tmp_path, progress=False)
    stages = run.stage_models()
    assert sorted(stages) == [1, 2] and run.summary()["status"] == "budget"
    again = execute(run, resume=True, progress=False)  # from the final checkpoint: the same end
    np.testing.assert_array_equal(again.model.W, result.model.W)
    np.testing.assert_array_equal(again.accuracy, result.accuracy)
    cols = run_analyses(["continual"], result.model, run.config().build_task(),
                        NetworkContext(stage_models=stages, seed=2))
    assert set(cols) >= {"acc@stage=2,task=1", "acc_average", "acc_bwt"}


TASK_SPEC_SMALL = {"name": "multitask", "params": {"tasks": [
    {"name": "perceptual_decision", "params": {"stimulus": 300.0}},
    {"name": "go_nogo", "params": {"stimulus": 200.0, "delay": 200.0, "decision": 200.0}}]}}


def test_plain_train_refuses_a_continual_config():
    task = rnnlab.tasks.multitask([rnnlab.tasks.get("go_nogo"), rnnlab.tasks.get("perceptual_decision")])
    with pytest.raises(ConfigError, match="train.continual: .*train_continual"):
        rnnlab.train(rnnlab.models.config("leaky_rnn", hidden_size=8), task, steps=2, optimizer="sgd",
                     continual={"method": "finetune"}, progress=False)
