"""The benchmarks' plumbing (``benchmarks/run_all.py``, ``_report.py``, ``make_readme_table.py``),
without measuring anything: the README table generated from a results file, the targets, the
load guard (a fake load average through an argument or ``RNNLAB_BENCH_LOADAVG``), the choice
of the latest results file and the README's markers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # appended: the scripts' names (models, tasks) must not shadow anything

import _report
import make_readme_table as mrt
import run_all

MACHINE = {"cpu": "Test CPU 9000", "cores": 2, "os": "Linux 6.0", "python": "3.11.7", "commit": "abc1234",
           "versions": {"rnnlab": "0.1.0", "jax": "0.4.0", "jaxlib": "0.4.0", "equinox": "0.11.0", "torch": "2.3.0"}}


def _rows() -> list[dict]:
    """Rows as the benchmarks write them (before ``run_all`` sets their targets)."""
    return [
        {"id": "train_step.leaky_rnn.T200", "name": "leaky_rnn training step, T=200, vs PyTorch eager",
         "value": 10.0, "unit": "ms", "spread": [9.5, 11.0], "reference": 25.0, "reference_name": "PyTorch eager",
         "reference_spread": [24.0, 26.5], "ratio": 2.5, "roofline": 0.314,
         "load_before": 0.1, "load_after": 1.9, "cores": 2, "loaded": False},
        {"id": "ensemble.1b", "name": "train() with ensemble=64 vs 64 calls", "value": 30.0, "unit": "s",
         "spread": [29.0, 31.0], "reference": 100.0, "reference_name": "64 train() calls",
         "reference_spread": [98.0, 103.0], "ratio": 0.3, "load_before": 2.4, "load_after": 2.6, "cores": 2,
         "loaded": True},
        {"id": "study_rate.network_analyses", "name": "per-network analyses", "value": 42.0, "unit": "s",
         "load_before": 0.1, "load_after": 0.2, "cores": 2, "loaded": False},
    ]


def _results(rows=None, **kw) -> dict:
    rows = _rows() if rows is None else rows
    return {"started": "2030-01-02T10:00:00", "finished": "2030-01-02T11:00:00", "quick": False,
            "machine": MACHINE, "load_limit_per_core": 0.25, "load_before": 0.12, "load_after": 1.5,
            "benchmarks": {"train_step": {"error": None}, "cli_startup": {"error": "refused: load 3.00"}},
            "rows": _report.apply_targets(rows, run_all.TARGETS), **kw}


def test_markdown_table_from_a_results_file(tmp_path):
    path = tmp_path / "2030-01-02.json"
    path.write_text(json.dumps(_results()))
    lines = mrt.block_for(path).splitlines()
    assert lines[0].startswith("Measured 2030-01-02 on Test CPU 9000, 2 cores (Linux 6.0, Python 3.11.7); "
                               "rnnlab 0.1.0 (commit abc1234), JAX 0.4.0, jaxlib 0.4.0, Equinox 0.11.0, PyTorch 2.3.0. "
                               "1-minute load average 0.12 at the start and 1.50 at the end (limit 0.25 per core, "
                               "0.50 here")
    assert lines[2:] == [
        "| Benchmark | rnnlab | Reference | Ratio | Target | Roofline | Load before/after |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        ("| leaky_rnn training step, T=200, vs PyTorch eager | 10.0 ms (9.50–11.0) | PyTorch eager: 25.0 ms "
         "(24.0–26.5) | 2.50× | ≥ 2: met | 31% | 0.10/1.90 |"),
        ("| train() with ensemble=64 vs 64 calls | 30.0 s (29.0–31.0) | 64 train() calls: 100 s (98.0–103) | 0.3× "
         "| ≤ 0.25: not met (loaded) | — | 2.40/2.60 loaded |"),
        "| per-network analyses | 42.0 s | — | — | — | — | 0.10/0.20 |",
        "",
        "Not reported: cli_startup (refused: load 3.00).",
    ]
    # the loaded row, and only it, says so
    assert [("loaded" in line) for line in lines[4:7]] == [False, True, False]


def test_targets_met_or_not():
    rows = [{"id": "train_step.gru.T1000", "value": 5.0, "ratio": 1.0},  # at the bound: met
            {"id": "train_step.leaky_rnn.T1000", "value": 5.0, "ratio": 1.99},
            {"id": "ensemble.2.memory", "value": 100.0, "ratio": 0.25},
            {"id": "ensemble.2.time", "value": 1.0, "ratio": 0.71},
            {"id": "study_rate.rate", "value": 21.0},  # a rate: the bound is on the value
            {"id": "study_rate.training", "value": 600.0}]
    _report.apply_targets(rows, run_all.TARGETS)
    assert [r["met"] for r in rows] == [True, False, True, False, True, None]
    assert rows[4]["target"] == [">=", 20.0] and rows[5]["target"] is None


def _fake_run(calls):
    def run(quick, **kw):
        calls.append((quick, kw))
        return [{"id": "x", "name": "x", "value": 1.0, "unit": "ms"}]
    return run


def test_load_guard_refuses_or_marks():
    calls = []
    with pytest.raises(_report.MachineLoaded, match="load average 0.60 on 2 cores"):
        _report.guarded(_fake_run(calls), strict=True, load=0.6, n_cores=2)
    assert calls == []  # refused before it started
    (r,) = _report.guarded(_fake_run(calls), quick=True, load=0.6, n_cores=2, size=3)
    assert calls == [(True, {"size": 3})]
    assert r["loaded"] is True and r["load_before"] == 0.6 and r["cores"] == 2 and r["quick"] is True
    (r,) = _report.guarded(_fake_run(calls), strict=True, load=0.5, n_cores=2)  # at the limit: not loaded
    assert r["loaded"] is False
    assert _report.is_loaded(0.26, 1) and not _report.is_loaded(1.0, 4)


def test_load_average_from_the_environment(monkeypatch):
    monkeypatch.setenv(_report.LOAD_ENV, "3.5")
    assert _report.load_average() == 3.5
    (r,) = _report.guarded(_fake_run([]), n_cores=8)
    assert r["loaded"] is True and r["load_before"] == r["load_after"] == 3.5
    monkeypatch.setenv(_report.LOAD_ENV, "1.9")
    assert _report.guarded(_fake_run([]), n_cores=8)[0]["loaded"] is False


def test_a_benchmark_refuses_on_a_loaded_machine(tmp_path):
    """The command line: --strict on a (fake) loaded machine exits 3 and writes no rows."""
    out = tmp_path / "rows.json"
    env = {**os.environ, _report.LOAD_ENV: "99"}
    proc = subprocess.run([sys.executable, str(BENCH / "cli_startup.py"), "--strict", "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "refused: 1-minute load average 99.00" in proc.stderr and not out.exists()


def test_latest_results_skip_smoke_runs(tmp_path):
    def write(name, finished, quick=False):
        (tmp_path / name).write_text(json.dumps(_results(finished=finished, quick=quick)))

    assert mrt.latest(tmp_path) is None
    write("2030-01-02.json", "2030-01-02T11:00:00")
    write("2030-01-03.json", "2030-01-03T09:00:00", quick=True)
    (tmp_path / "notes.json").write_text("[1, 2]")
    assert mrt.latest(tmp_path).name == "2030-01-02.json"
    write("2030-01-02T150000.json", "2030-01-02T15:00:01")
    assert mrt.latest(tmp_path).name == "2030-01-02T150000.json"
    with pytest.raises(SystemExit, match="smoke run"):
        mrt.block_for(tmp_path / "2030-01-03.json")


def test_readme_table_takes_each_benchmark_from_its_newest_run(tmp_path):
    """A later run of some benchmarks (``run_all.py --only``) replaces their rows and keeps the
    others' from the older run; a benchmark whose script is gone is dropped; smoke runs never count."""
    old = _results()
    old["benchmarks"] = {"train_step": {"error": None}, "ensemble": {"error": None}, "study_rate": {"error": None},
                         "gone": {"error": None}}
    old["rows"].append({"id": "gone.x", "name": "removed benchmark", "value": 1.0, "unit": "s"})
    new_row = {**_rows()[0], "value": 8.0, "ratio": 3.0, "name": "leaky_rnn step, re-measured"}
    new = _results(rows=[new_row], finished="2030-01-05T11:00:00",
                   machine={**MACHINE, "commit": "def5678"})
    new["benchmarks"] = {"train_step": {"error": None, "rows": [new_row]}}
    smoke = _results(finished="2030-01-09T11:00:00", quick=True)
    for name, data in (("2030-01-02.json", old), ("2030-01-05.json", new), ("2030-01-09.json", smoke)):
        (tmp_path / name).write_text(json.dumps(data))
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("train_step", "ensemble", "study_rate"):
        (scripts / f"{name}.py").write_text("")
    parts = mrt.latest_per_benchmark(tmp_path, scripts)
    assert [(p.name, names) for p, names in parts] == [("2030-01-05.json", ["train_step"]),
                                                       ("2030-01-02.json", ["ensemble", "study_rate"])]
    text = mrt.merged_block(tmp_path, scripts)
    lines = text.splitlines()
    assert lines[0].startswith("- Rows of `train_step`: Measured 2030-01-05") and "commit def5678" in lines[0]
    assert lines[1].startswith("- Rows of `ensemble`, `study_rate`: Measured 2030-01-02") and "abc1234" in lines[1]
    table = [line.split(" | ")[0] for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert table == ["| leaky_rnn step, re-measured", "| train() with ensemble=64 vs 64 calls",
                     "| per-network analyses"]
    assert "removed benchmark" not in text and "Not reported" not in text
    assert mrt.merged_block(tmp_path / "nothing") == mrt.PLACEHOLDER


def test_readme_table_rewritten_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Benchmarks\n\nintro\n\n{mrt.START}\nold table\n{mrt.END}\n\nafter\n")
    results = tmp_path / "r.json"
    results.write_text(json.dumps(_results()))
    assert mrt.update_readme(readme, results, check=True) and "old table" in readme.read_text()
    assert mrt.update_readme(readme, results)
    text = readme.read_text()
    assert text.startswith("# x\n\n## Benchmarks\n\nintro\n\n") and text.endswith(f"{mrt.END}\n\nafter\n")
    assert "old table" not in text and "| ≤ 0.25: not met (loaded) |" in text
    assert not mrt.update_readme(readme, results)  # idempotent
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="bench:start"):
        mrt.update_readme(readme, results)


def test_readme_markers_and_table_up_to_date():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Benchmarks\n"):]
    section = section[:section.find("\n## ", 5)] if "\n## " in section[5:] else section
    assert section.count(mrt.START) == 1 and section.count(mrt.END) == 1
    assert text.count(mrt.START) == 1 and section.index(mrt.START) < section.index(mrt.END)
    # generated from the latest full results file, never typed by hand
    assert not mrt.update_readme(ROOT / "README.md", check=True), "run benchmarks/make_readme_table.py"
