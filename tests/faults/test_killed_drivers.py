"""A killed sweep or study driver leaves no run that looks alive: its ``running`` rows read
``interrupted`` once no live process holds the folder's lock, the sweep counts them as
remaining, and running the sweep again finishes them. A live driver's rows stay ``running``
and a second driver of the same folder is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from rnnlab.errors import ConfigError
from rnnlab.store import query
from rnnlab.store._lock import LOCK_FILE, is_held, run_lock
from rnnlab.sweep import run_sweep, sweep_status


def _sweep(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "k", "seeds": 2,
        "base": {"task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 10}},
                 "model": {"params": {"hidden_size": 4}},
                 "train": {"steps": 4, "eval_every": 2, "batch_size": 2, "eval_batch_size": 4}}}))
    return path


def test_rows_of_a_killed_driver_read_interrupted_and_a_rerun_finishes_them(tmp_path):
    path, runs = _sweep(tmp_path), tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-c", "from rnnlab.cli import main; main()", "sweep", "run", str(path), "--out", str(runs),
                           "--no-progress"], env={**os.environ, "RNNLAB_FAULT": "sweep:dispatched"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 137, proc.stderr[-2000:]
    folder = runs / "sweeps" / "k"
    assert (folder / LOCK_FILE).is_file() and not is_held(folder)  # kill -9 leaves the file, not a live owner
    assert [r["status"] for r in query(folder)] == ["interrupted", "interrupted"]
    assert query(folder, status="running") == [] and len(query(folder, status="interrupted")) == 2
    counts = sweep_status(path, runs)
    assert counts["running"] == 0 and counts["remaining"] == 2
    counts = run_sweep(path, runs, workers=1, progress=False)
    assert counts["budget"] == 2 and counts["remaining"] == 0


def test_a_live_drivers_rows_stay_running_and_a_second_driver_is_refused(tmp_path):
    path, runs = _sweep(tmp_path), tmp_path / "runs"
    folder = runs / "sweeps" / "k"
    run_sweep(path, runs, workers=1, progress=False)
    from rnnlab.store import catalog

    for r in query(folder):
        catalog.update(folder, r["id"], status="running")
    with run_lock(folder, f"sweep folder {folder}"):  # this process plays the live driver
        assert is_held(folder)
        assert [r["status"] for r in query(folder)] == ["running", "running"]
        with pytest.raises(ConfigError, match=f"sweep folder .* is being trained by PID {os.getpid()}"):
            run_sweep(path, runs, workers=1, progress=False)
    assert [r["status"] for r in query(folder)] == ["interrupted", "interrupted"]
