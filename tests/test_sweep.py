"""Sweeps: grouping into ensembles, resumability, Ray, and surviving killed processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from rnnlab.errors import ConfigError
from rnnlab.store import catalog, is_finished
from rnnlab.sweep import load_sweep, run_sweep, sweep_dir, sweep_rows, sweep_status
from rnnlab.sweep.runner import n_finished

SPEC = {
    "name": "tiny",
    "base": {
        "task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 20, "p": 0.1}},
        "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
        "train": {"steps": 100, "eval_every": 50, "batch_size": 8, "eval_batch_size": 32, "lr": 0.003},
    },
    "grid": {"model.params.hidden_size": [6, 8]},
    "seeds": 2,
    "analyses": ["weights_norm"],
}


def _write(tmp_path, spec=SPEC, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def _metrics(rows):
    return {r["id"]: (r["status"], r.get("final_mse"), r.get("w_frobenius")) for r in rows}


def test_sweep_expansion_and_validation(tmp_path):
    spec, runs = load_sweep(_write(tmp_path))
    assert len(runs) == 4 and len({r.id for r in runs}) == 4
    assert sorted(r.config.model.params["hidden_size"] for r in runs) == [6, 6, 8, 8]
    assert len({r.group for r in runs}) == 2
    bad = {**SPEC, "grid": {"model.params.hidden_size": [0]}}
    with pytest.raises(ConfigError, match=r"case 0.*hidden_size: Input should be greater than 0"):
        load_sweep(_write(tmp_path, bad, "bad.yaml"))
    with pytest.raises(ConfigError, match="analyses: unknown analysis 'dsa'"):
        load_sweep(_write(tmp_path, {**SPEC, "analyses": ["dsa"]}, "bad2.yaml"))
    with pytest.raises(ConfigError, match="seedz: unknown parameter"):
        load_sweep(_write(tmp_path, {**SPEC, "seedz": 3}, "bad3.yaml"))


def test_local_sweep_groups_seeds_resumes_and_never_duplicates(tmp_path):
    path = _write(tmp_path)
    counts = run_sweep(path, tmp_path / "runs", workers=2, progress=False)
    # no threshold: every run ends on its step budget
    assert counts["budget"] == 4 and counts["converged"] == counts["failed"] == counts["remaining"] == 0
    d = sweep_dir(load_sweep(path)[0], tmp_path / "runs")
    rows = sweep_rows(path, tmp_path / "runs")
    assert all(np.isfinite(r["final_mse"]) and r["w_frobenius"] > 0 for r in rows)
    mtimes = {p: p.stat().st_mtime_ns for p in d.glob("*/model.eqx")}
    assert len(mtimes) == 4
    # a re-run trains nothing and keeps one row per run
    run_sweep(path, tmp_path / "runs", workers=2, progress=False)
    assert {p: p.stat().st_mtime_ns for p in d.glob("*/model.eqx")} == mtimes
    assert len(catalog.query(d)) == 4
    # grouping seeds into one ensemble gives the same networks as separate runs
    ungrouped = _write(tmp_path, {**SPEC, "group_seeds": False}, "ungrouped.yaml")
    run_sweep(ungrouped, tmp_path / "runs2", workers=1, progress=False)
    a, b = _metrics(rows), _metrics(sweep_rows(ungrouped, tmp_path / "runs2"))
    assert a.keys() == b.keys()
    for k in a:
        assert a[k][0] == b[k][0] == "budget"
        np.testing.assert_allclose(a[k][1:], b[k][1:], rtol=1e-3)


def _children(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cli(path, root, *extra):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", "from rnnlab.cli import main; main()", "sweep", "run", str(path),
                             "--out", str(root), "--no-progress", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_finished(path, root, n, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            return
        try:
            if n_finished(sweep_status(path, root)) >= n:
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise TimeoutError


def test_killed_worker_and_killed_driver_lose_nothing(tmp_path):
    spec = {**SPEC, "grid": {"model.params.hidden_size": [5, 6, 7]}, "seeds": 1}
    path, root = _write(tmp_path, spec), tmp_path / "runs"
    # 1. kill the worker process after the first result: the driver retries and finishes
    proc = _cli(path, root, "--workers", "1")
    _wait_finished(path, root, 1, proc)
    for child in _children(proc.pid):
        os.kill(child, signal.SIGKILL)
    out = proc.communicate(timeout=400)[0].decode()
    assert proc.returncode == 0, out
    assert n_finished(sweep_status(path, root)) == 3
    # 2. kill the driver (and its workers) mid-sweep, then re-run
    spec2 = {**spec, "name": "tiny2"}
    path2 = _write(tmp_path, spec2, "s2.yaml")
    proc = _cli(path2, root, "--workers", "1")
    _wait_finished(path2, root, 1, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    d = sweep_dir(load_sweep(path2)[0], root)
    done_before = {r["id"] for r in catalog.query(d) if is_finished(r["status"])}
    mtimes = {rid: (d / rid / "model.eqx").stat().st_mtime_ns for rid in done_before}
    assert 1 <= len(done_before) < 3
    run_sweep(path2, root, workers=1, progress=False)
    assert n_finished(sweep_status(path2, root)) == 3 and len(catalog.query(d)) == 3
    assert {rid: (d / rid / "model.eqx").stat().st_mtime_ns for rid in done_before} == mtimes


def test_ray_cluster_gives_the_same_catalog(tmp_path, ray_cluster):
    path = _write(tmp_path)
    counts = run_sweep(path, tmp_path / "ray_runs", ray=ray_cluster, progress=False)
    assert counts["budget"] == 4
    run_sweep(path, tmp_path / "local_runs", workers=2, progress=False)
    a = _metrics(sweep_rows(path, tmp_path / "ray_runs"))
    b = _metrics(sweep_rows(path, tmp_path / "local_runs"))
    assert a == b
