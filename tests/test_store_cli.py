"""Run store, catalog and CLI: run directories, resumption, and one-line errors."""

import json
import subprocess
import sys

import jax
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.config import load_config
from rnnlab.errors import CheckpointError, ConfigError, NonFiniteLossError
from rnnlab.store import create_run, execute, open_run, query, run_status, train_run

CFG = {
    "task": {"name": "flipflop", "params": {"n_bits": 2, "n_steps": 30, "p": 0.1}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 16}},
    "train": {"steps": 200, "eval_every": 50, "batch_size": 16, "eval_batch_size": 32, "lr": 3e-3},
    "seed": 2,
}


def _weights(run):
    return [np.asarray(x) for x in jax.tree.leaves(run.load_model())]


def test_run_directory_catalog_and_report(tmp_path):
    run, res = train_run(CFG, tmp_path, progress=False)
    files = {p.name for p in run.dir.iterdir()}
    assert {"config.yaml", "model.eqx", "checkpoint.json", "history.json", "summary.json",
            "index.html", "figures"} <= files
    assert json.loads((run.dir / "checkpoint.json").read_text())["file"] in files  # checkpoint-<k>.eqx
    assert not any(p.name.endswith(".pkl") or p.name.endswith(".pickle") for p in run.dir.rglob("*"))
    assert {p.name for p in (run.dir / "figures").iterdir()} == {"loss.png", "trials.png", "taus.png"}
    page = run.page.read_text()
    assert all(f"figures/{n}" in page for n in ("loss.png", "trials.png", "taus.png"))
    rows = query(tmp_path, task="flipflop")
    assert [r["id"] for r in rows] == [run.id] and rows[0]["status"] == "budget"  # no threshold: budget
    assert rows[0]["params"]["model"]["params"]["hidden_size"] == 16
    assert rows[0]["metrics"]["final_mse"] == pytest.approx(float(res.history.final("metric")[0]))
    assert query(tmp_path, task="nparity") == []
    # the saved weights are the trained ones
    trained = [np.asarray(x) for x in jax.tree.leaves(res.model) if hasattr(x, "shape")]
    for a, b in zip(_weights(run), trained):
        np.testing.assert_array_equal(a, b)


def test_interrupted_run_resumes_to_same_weights(tmp_path):
    full, _ = train_run(CFG, tmp_path / "a", progress=False)
    run = create_run(CFG, tmp_path / "b")

    def interrupt(ckpt):
        if ckpt.n_evals == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(run, progress=False, on_eval=interrupt)
    assert query(tmp_path / "b")[0]["status"] == "interrupted"
    assert not (run.dir / "model.eqx").exists()
    result = CliRunner().invoke(app, ["train", "--resume", run.id, "--out", str(tmp_path / "b"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert query(tmp_path / "b")[0]["status"] == "budget"
    for a, b in zip(_weights(full), _weights(run)):
        np.testing.assert_array_equal(a, b)


def test_nan_marks_run_failed_and_keeps_last_checkpoint(tmp_path):
    bad = {**CFG, "train": {**CFG["train"], "lr": 1e30, "clip": None, "optimizer": "sgd", "momentum": 0.0}}
    run = create_run(bad, tmp_path)
    with pytest.raises(NonFiniteLossError):
        execute(run, progress=False)
    row = query(tmp_path)[0]
    assert row["status"] == "failed"
    assert run.summary()["status"] == "failed" and "non-finite" in run.summary()["error"]
    assert not (run.dir / "model.eqx").exists()


def test_missing_and_corrupt_checkpoints_are_named(tmp_path):
    done, _ = train_run(CFG, tmp_path, progress=False)
    state = done.dir / json.loads((done.dir / "checkpoint.json").read_text())["file"]
    blob = state.read_bytes()
    state.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match=r"checkpoint-\d+\.eqx: corrupt checkpoint"):
        execute(done, resume=True, progress=False)
    state.unlink()
    with pytest.raises(CheckpointError, match=r"checkpoint-\d+\.eqx: checkpoint file missing"):
        execute(done, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="no such run"):
        open_run("does-not-exist", tmp_path)


def test_bad_config_leaves_no_run_directory(tmp_path):
    for bad, pattern in [
        ({**CFG, "train": {**CFG["train"], "stepz": 3}}, r"train.stepz: unknown parameter"),
        ({**CFG, "model": {"name": "leaky_rnn", "params": {"tau": 0.1}}}, r"model: .*tau: must be >= dt"),
        ({**CFG, "model": {"name": "leaky_rnn", "params": {"hidden_size": -4}}}, r"hidden_size: Input should be greater than 0"),
        ({**CFG, "task": {"name": "flip"}}, r"unknown task 'flip'"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            create_run(bad, tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    path = tmp_path / "c.yaml"
    path.write_text("task: {name: flipflop}\nmodel: {name: leaky_rnn, paramz: {}}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: model.paramz: unknown parameter; valid parameters: name, params"):
        load_config(path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_cli_train_list_show_and_tables(tmp_path):
    runner = CliRunner()
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(CFG))
    r = runner.invoke(app, ["train", "--config", str(cfg_path), "--out", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "report:" in r.output and "index.html" in r.output
    run_id = query(tmp_path)[0]["id"]
    r = runner.invoke(app, ["runs", "list", "--task", "flipflop", "--out", str(tmp_path)])
    assert r.exit_code == 0 and run_id[:8] in r.output
    r = runner.invoke(app, ["runs", "list", "--task", "nparity", "--out", str(tmp_path)])
    assert run_id[:8] not in r.output
    r = runner.invoke(app, ["runs", "show", run_id, "--out", str(tmp_path)])
    assert r.exit_code == 0 and "status: budget" in r.output
    final = run_summary = json.loads(runner.invoke(app, ["runs", "show", run_id, "--out", str(tmp_path), "--json"]).output)
    assert final["summary"]["status"] == "budget" and final["config"]["task"]["name"] == "flipflop"
    mse = run_summary["summary"]["final_mse"]  # full precision in JSON, 4 significant digits for people
    assert f"final_mse: {float(f'{mse:.4g}')}" in r.output and repr(mse) not in r.output
    rows = json.loads(runner.invoke(app, ["runs", "list", "--out", str(tmp_path), "--json"]).output)
    assert [row["id"] for row in rows] == [run_id] and rows[0]["status"] == "budget"
    r = runner.invoke(app, ["runs", "list", "--status", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "budget" in r.output  # a validated choice, the choices named
    for group, names in (("tasks", ["flipflop", "nparity", "ndms"]), ("models", ["leaky_rnn", "gru", "lstm"])):
        r = runner.invoke(app, [group])
        assert r.exit_code == 0 and all(n in r.output for n in names)
    r = runner.invoke(app, ["tasks", "show", "nparity", "-p", "n=3", "--figure-dir", str(tmp_path / "ex")])
    assert r.exit_code == 0 and (tmp_path / "ex" / "nparity.png").is_file()
    r = runner.invoke(app, ["train", "--task", "nparity", "--curriculum", "multi", "--max-n", "3", "--steps", "100",
                            "-p", "n=2", "--hidden-size", "8", "--out", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output


def test_cli_errors_are_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from rnnlab.cli import main; main()", "train", "--task", "flipflop",
         "--hidden-size", "0", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "hidden_size" in lines[0] and lines[0].startswith("error:")
    assert not tmp_path.exists() or not any(p.is_dir() for p in tmp_path.iterdir())


def test_demo_page_gathers_both_runs(tmp_path, monkeypatch):
    from rnnlab import demo

    monkeypatch.setattr(demo, "FLIPFLOP", {**demo.FLIPFLOP, "train": {**demo.FLIPFLOP["train"], "steps": 100}})
    monkeypatch.setattr(demo, "PARITY", {**demo.PARITY, "train": {**demo.PARITY["train"], "steps": 200}})
    page, runs = demo.run_demo(tmp_path, progress=False)
    html = page.read_text()
    assert len(runs) == 2 and html.count("<img") == 6
    # provenance, and the run pages' captions (what a figure shows), not file names
    assert "git commit" in html and "Learning curves" in html and "<figcaption>loss</figcaption>" not in html
    for run in runs:
        assert run.id in html and f'href="../{run.id}/index.html"' in html
        assert json.loads((run.dir / "summary.json").read_text())["status"] == run_status(run.history())
