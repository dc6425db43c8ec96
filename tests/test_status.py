"""Honest run statuses: converged, budget, failed, interrupted, in summaries, catalog, CLI, pages and sweeps."""

import json

import equinox as eqx
import jax
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import rnnlab
from rnnlab import models, tasks
from rnnlab.cli import app
from rnnlab.config import parse_config
from rnnlab.store import FINISHED, Run, catalog, is_finished, query, run_status, train_run, write_finished_run
from rnnlab.store.checkpoint import serialise
from rnnlab.sweep import load_sweep, run_sweep, sweep_dir, sweep_rows, sweep_status
from rnnlab.sweep.runner import n_finished
from rnnlab.train import History, initial_state

FLIPFLOP = {
    "task": {"name": "flipflop", "params": {"n_bits": 2, "n_steps": 30, "p": 0.1}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
    "train": {"steps": 50, "eval_every": 25, "batch_size": 8, "eval_batch_size": 32, "lr": 3e-3},
    "seed": 1,
}
PARITY_MODEL = {"name": "leaky_rnn", "params": {"hidden_size": 32, "variant": "wrapped", "activation": "leaky_relu",
                                                "tau": 1.0, "tau_spread": 1.0, "self_connections": False}}
CURRICULUM = {"kind": "multi", "start": 1, "max_n": 3, "threshold": 0.95}
# 50 steps: N = 1 is passed (at step 25 with these settings), N = 3 is out of reach
PARITY = {"task": {"name": "nparity", "params": {}}, "model": PARITY_MODEL, "seed": 0,
          "train": {"steps": 50, "lr": 1e-2, "batch_size": 64, "eval_every": 25, "eval_batch_size": 512,
                    "curriculum": CURRICULUM}}


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


def _with_train(cfg, **train):
    return {**cfg, "train": {**cfg["train"], **train}}


def test_run_status_of_members():
    assert run_status(["converged"]) == "converged" and run_status(["budget"]) == "budget"
    assert run_status(["converged", "converged"]) == "converged"
    assert run_status(["converged", "budget"]) == "budget"  # an ensemble converges only as a whole
    assert run_status(["converged", "failed"]) == "budget"
    assert run_status(["failed", "failed"]) == "failed"
    assert run_status(["running", "converged"]) == "running"
    assert all(is_finished(s) for s in FINISHED) and is_finished("completed")
    assert not any(is_finished(s) for s in ("failed", "interrupted", "running", "created", None))


def test_budget_and_converged_runs_say_so_everywhere(tmp_path):
    # an unreachable MSE threshold: the budget ends the run
    budget, _ = train_run(_with_train(FLIPFLOP, threshold=1e-9), tmp_path, progress=False)
    # MSE <= 10 holds at the first evaluation: converged
    conv, res = train_run(_with_train(FLIPFLOP, threshold=10.0, ensemble=2), tmp_path, progress=False)
    assert res.history.status == ["converged", "converged"]
    for run, status in ((budget, "budget"), (conv, "converged")):
        assert run.summary()["status"] == status
        assert json.loads((run.dir / "summary.json").read_text())["status"] == status
        assert query(tmp_path, id=run.id)[0]["status"] == status
        assert f'<th scope="row">status</th><td>{status} (' in run.page.read_text()
        r = _invoke("runs", "show", run.id, "--out", tmp_path)
        assert r.exit_code == 0 and f"status {status}" in r.output
    assert budget.summary()["member_status"] == ["budget"] and budget.summary()["steps"] == 50
    assert (budget.dir / "model.eqx").is_file()  # a budget run keeps its weights
    r = _invoke("runs", "list", "--out", tmp_path)
    assert r.exit_code == 0 and "budget" in r.output and "converged" in r.output and "completed" not in r.output
    r = _invoke("runs", "list", "--status", "budget", "--out", tmp_path)
    assert budget.id in r.output and conv.id not in r.output


def test_curriculum_out_of_budget_shows_the_n_reached(tmp_path):
    run, res = train_run(PARITY, tmp_path, progress=False)
    assert res.stage_ns() == [1] and res.history.status == ["budget"]
    assert run.summary()["status"] == "budget" and run.summary()["max_n_reached"] == [2]
    assert query(tmp_path)[0]["status"] == "budget"
    r = _invoke("runs", "list", "--out", tmp_path)
    assert r.exit_code == 0 and "N reached" in r.output
    row = next(line for line in r.output.splitlines() if "nparity" in line)
    assert "budget" in row and " 2 " in row
    assert "N reached 2" in run.page.read_text()


def _leaves(model):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


def test_sweep_statuses_resume_and_stage_files(tmp_path):
    """A curriculum sweep (two seeds trained as one ensemble) that stops on its budget."""
    spec = {"name": "budget", "base": PARITY, "grid": {"train.lr": [1e-2]}, "seeds": 2}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    root = tmp_path / "runs"
    counts = run_sweep(path, root, workers=1, progress=False)
    assert counts["budget"] == 2 and counts["converged"] == counts["failed"] == counts["remaining"] == 0
    assert "completed" not in counts
    d = sweep_dir(load_sweep(path)[0], root)
    rows = sweep_rows(path, root)
    assert [r["status"] for r in rows] == ["budget", "budget"] and all(r["max_n_reached"] >= 2 for r in rows)
    cfg_model = models.config(PARITY_MODEL["name"], **PARITY_MODEL["params"])
    for r in load_sweep(path)[1]:
        run = Run(d, r.id)
        # the driver wrote the initial model and each stage model the worker returned
        built = cfg_model.build(1, 6, jax.random.fold_in(jax.random.PRNGKey(r.config.seed), 0))
        for a, b in zip(_leaves(run.load_initial_model()), _leaves(built)):
            np.testing.assert_array_equal(a, b)
        stages = run.stage_models()
        assert list(stages) == run.history().passed_ns(0) and 1 in stages
        assert sorted(p.name for p in (run.dir / "stages").glob("*.eqx")) == [f"N{n}.eqx" for n in stages]
        # the stage model passed N = 1: 4 binomial standard errors below the threshold at most
        ev = rnnlab.evaluate(stages[1], tasks.get("nparity", n=1, heads="multi"), 9, 2048)
        thr = CURRICULUM["threshold"]
        assert ev.head_metrics[0] >= thr - 4 * np.sqrt(thr * (1 - thr) * (1 / 512 + 1 / 2048))
    # budget runs are finished: a re-run trains nothing
    mtimes = {p: p.stat().st_mtime_ns for p in d.glob("*/model.eqx")}
    run_sweep(path, root, workers=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in d.glob("*/model.eqx")} == mtimes
    # a legacy "completed" row (an old catalog) is finished too, and counted apart
    first = rows[0]["id"]
    catalog.update(d, first, status="completed")
    run_sweep(path, root, workers=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in d.glob("*/model.eqx")} == mtimes
    counts = sweep_status(path, root)
    assert counts["completed"] == 1 and counts["budget"] == 1 and n_finished(counts) == 2
    r = _invoke("sweep", "status", path, "--out", root)
    assert r.exit_code == 0 and "budget 1" in r.output and "completed 1" in r.output


@pytest.mark.parametrize("status", ["converged", "budget", "completed"])
def test_finished_statuses_write_weights_in_the_driver(tmp_path, status):
    cfg = parse_config(FLIPFLOP)
    model = initial_state(cfg.build_model_config(), cfg.build_task(), cfg.train, jax.random.PRNGKey(1)).model
    run = write_finished_run(tmp_path, "r", cfg, serialise(model), History(1, "mse"), {"status": status},
                             initial_model=serialise(model))
    assert (run.dir / "model.eqx").is_file() and query(tmp_path)[0]["status"] == status
    for a, b in zip(_leaves(run.load_initial_model()), _leaves(model)):
        np.testing.assert_array_equal(a, b)
