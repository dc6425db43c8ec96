"""Curriculum stage models and initial models: in memory, in the run directory, across a resume."""

import shutil

import equinox as eqx
import jax
import numpy as np
import optax
import pytest

import rnnlab
from rnnlab import models, tasks
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.store import Run, create_run, execute, train_run
from rnnlab.train import CurriculumConfig, History, TrainConfig, member, train

# A multi-head N-parity curriculum that a 32-unit network climbs in ~125 steps (N = 1, 2, 3
# passed at steps 25, 75, 125 with seed 0; measured), so the whole file compiles and trains fast.
MODEL = {"name": "leaky_rnn", "params": {"hidden_size": 32, "variant": "wrapped", "activation": "leaky_relu",
                                         "tau": 1.0, "tau_spread": 1.0, "self_connections": False}}
THRESHOLD = 0.95
TRAIN = {"steps": 1000, "lr": 1e-2, "batch_size": 64, "eval_every": 25, "eval_batch_size": 512,
         "curriculum": {"kind": "multi", "start": 1, "max_n": 3, "threshold": THRESHOLD}}
CFG = {"task": {"name": "nparity", "params": {}}, "model": MODEL, "train": TRAIN, "seed": 0}


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


def _assert_same(a, b):
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """One uninterrupted run through the run store: ``(run, result)``."""
    return train_run(CFG, tmp_path_factory.mktemp("full"), progress=False)


def test_each_stage_model_passes_its_level_on_fresh_trials(full):
    run, res = full
    assert res.stage_ns() == [1, 2, 3] == res.history.passed_ns(0)
    assert res.history.status == ["converged"]
    n_fresh = 2048
    for n, model in res.stage_models().items():
        ev = rnnlab.evaluate(model, tasks.get("nparity", n=n, heads="multi"), jax.random.PRNGKey(100 + n), n_fresh)
        # The pass was decided on one evaluation batch of 512 trials, the check uses 2048 fresh
        # ones: 4 binomial standard errors of the difference of the two accuracies at p = threshold.
        se = np.sqrt(THRESHOLD * (1 - THRESHOLD) * (1 / TRAIN["eval_batch_size"] + 1 / n_fresh))
        assert ev.head_metrics[n - 1] >= THRESHOLD - 4 * se, (n, ev.head_metrics)
        assert np.all(np.isnan(ev.head_metrics[n:]))  # heads above N are not scored at level N


def test_a_stage_model_is_the_model_of_a_run_stopped_at_that_step(full):
    """Training is deterministic, so a run whose budget ends at the step where N was passed
    ends with exactly the stage model of N."""
    _, res = full
    cfg = models.config(MODEL["name"], **MODEL["params"])
    train_cfg = {**TRAIN, "curriculum": CurriculumConfig(**TRAIN["curriculum"])}
    for p in res.history.passed[:2]:
        short = train(cfg, tasks.get("nparity"), key=0, **{**train_cfg, "steps": p["step"]}, progress=False)
        _assert_same(short.model, res.stage_models()[p["n"]])
        assert short.stage_ns() == res.stage_ns()[: res.stage_ns().index(p["n"]) + 1]


def test_stage_files_round_trip_and_damage_is_named(full, tmp_path):
    run, res = full
    names = sorted(p.name for p in (run.dir / "stages").iterdir())
    assert names == sorted([f"N{n}.eqx" for n in (1, 2, 3)] + [f"N{n}.eqx.sha256" for n in (1, 2, 3)])
    assert [p["file"] for p in run.history().passed] == [f"stages/N{n}.eqx" for n in (1, 2, 3)]
    stored = run.stage_models()
    assert list(stored) == [1, 2, 3]
    for n in stored:
        _assert_same(stored[n], res.stage_models()[n])
    _assert_same(run.load_initial_model(), res.initial_model)
    # a damaged copy: one flipped byte in the N = 2 file
    copy = Run(tmp_path, "copy")
    shutil.copytree(run.dir, copy.dir)
    path = copy.dir / "stages" / "N2.eqx"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match=r"stages/N2\.eqx: corrupt file"):
        copy.stage_models()
    (copy.dir / "initial_model.eqx").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"initial_model\.eqx: corrupt file"):
        copy.load_initial_model()


def test_resume_mid_curriculum_keeps_the_stages_and_ends_identical(full, tmp_path):
    _, res = full
    run = create_run(CFG, tmp_path)

    def interrupt(ckpt):
        if ckpt.n_evals == 2:  # N = 1 passed (step 25), N = 2 not yet (step 75)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(run, progress=False, on_eval=interrupt)
    # written as they happened: the initial model and the stage reached so far
    assert sorted(p.name for p in (run.dir / "stages").glob("*.eqx")) == ["N1.eqx"]
    assert list(run.stage_models()) == [1]
    _assert_same(run.stage_models()[1], res.stage_models()[1])
    resumed = execute(run, resume=True, progress=False)
    assert resumed.stage_ns() == [1, 2, 3]
    for n in (1, 2, 3):
        _assert_same(resumed.stage_models()[n], res.stage_models()[n])
    _assert_same(resumed.model, res.model)
    _assert_same(resumed.initial_model, res.initial_model)
    assert resumed.history.passed == res.history.passed
    assert run.summary()["status"] == "converged" and run.summary()["max_n_reached"] == [3]
    # a damaged stage file stops a resume, naming the file
    (run.dir / "stages" / "N1.eqx").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match=r"stages/N1\.eqx"):
        execute(run, resume=True, progress=False)


def test_initial_model_is_the_model_built_from_the_key(full):
    _, res = full
    cfg = models.config(MODEL["name"], **MODEL["params"])
    built = cfg.build(1, 2 * 3, jax.random.fold_in(jax.random.PRNGKey(0), 0))  # 3 two-class heads
    _assert_same(res.initial_model, built)
    assert not np.array_equal(_leaves(res.model)[0], _leaves(built)[0])  # and training moved it


def test_ensemble_members_keep_their_own_initial_and_stage_models(tmp_path):
    # one level (N = 2, passed at step 50 by both members): the vmapped program compiles once
    cur = {**TRAIN["curriculum"], "start": 2, "max_n": 2}
    run, res = train_run({**CFG, "train": {**TRAIN, "ensemble": 2, "curriculum": cur}, "seed": 3}, tmp_path,
                         progress=False)
    cfg = models.config(MODEL["name"], **MODEL["params"])
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    stored_initial = run.load_initial_model()
    for e in range(2):
        # member e's initial model is a single run's initial model with key split(key, E)[e]
        single = cfg.build(1, 4, jax.random.fold_in(keys[e], 0))
        _assert_same(member(res.initial_model, e), single)
        _assert_same(member(stored_initial, e), single)
        ns = res.stage_ns(e)
        assert ns == res.history.passed_ns(e) == [2]
        assert sorted(p.name for p in (run.dir / "stages").glob(f"m{e}-*.eqx")) == [f"m{e}-N{n}.eqx" for n in ns]
        stored = run.stage_models(e)
        assert list(stored) == ns
        for n in ns:
            _assert_same(stored[n], res.stage_models(e)[n])
        # the one-member history of a member names single-run files
        assert [p["file"] for p in res.history.member(e).passed] == [f"stages/N{n}.eqx" for n in ns]


def test_optimizer_by_name_equals_the_config_field():
    task = tasks.get("flipflop", n_bits=2, n_steps=30, p=0.1)
    cfg = models.config("leaky_rnn", hidden_size=8)
    small = dict(steps=60, eval_every=30, batch_size=8, eval_batch_size=16, lr=1e-2)
    by_name = train(cfg, task, key=2, optimizer="sgd", momentum=0.1, nesterov=True, progress=False, **small)
    by_config = train(cfg, task, TrainConfig(optimizer="sgd", momentum=0.1, nesterov=True, **small), key=2,
                      progress=False)
    assert by_name.config == by_config.config and by_name.config.optimizer == "sgd"
    _assert_same(by_name.model, by_config.model)
    assert by_name.history.train_loss == by_config.history.train_loss
    # an Optax object replaces whatever the config names
    sgd = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(1e-2, momentum=0.1, nesterov=True))
    by_object = train(cfg, task, TrainConfig(optimizer="adam", **small), key=2, optimizer=sgd, progress=False)
    _assert_same(by_object.model, by_name.model)
    with pytest.raises(ConfigError, match=r"optimizer: Input should be 'adam', 'adamw' or 'sgd'"):
        train(cfg, task, key=2, optimizer="sgdd", **small)
    with pytest.raises(ConfigError, match=r"^optimizer: "):
        train(cfg, task, key=2, optimizer=0.1, **small)


def test_histories_written_before_passed_existed_still_load(full):
    _, res = full
    old = res.history.to_dict()
    del old["passed"]
    h = History.from_dict(old)
    assert h.passed == [] and h.reached(0) == res.history.reached(0) and h.status == ["converged"]
