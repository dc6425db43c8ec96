"""Studies: the registry, the design helpers, the runner's resumability, the CLI, and the
``sussillo2013`` quick study end to end (the other studies' quick runs are marked slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rnnlab import studies
from rnnlab.errors import ConfigError
from rnnlab.studies import Condition, Scale, StudyData, product
from rnnlab.studies.runner import _sweep

STUDIES = ["sussillo2013", "khajehabdollahi2024", "liu2024", "huang2025"]


def test_registry_names_and_unknown_study():
    assert set(STUDIES) <= set(studies.names())
    for name in STUDIES:
        s = studies.get(name)
        assert set(s.scales) == {"quick", "paper"} and s.claims and s.paper
        assert len({c.id for c in s.claims}) == len(s.claims)
    with pytest.raises(ConfigError, match="unknown study 'nope'; valid: .*sussillo2013"):
        studies.get("nope")


@pytest.mark.parametrize("name", STUDIES)
@pytest.mark.parametrize("scale", ["quick", "paper"])
def test_every_scale_expands_to_valid_runs(name, scale):
    """Every run config of every scale validates (nothing is created)."""
    study = studies.get(name)
    sc = study.scale(scale)
    spec, runs, case_of = _sweep(study, sc, 2)
    assert len(case_of) == len(sc.conditions)
    assert len(runs) == 2 * len(set(case_of))


def test_product_and_shared_conditions():
    conds = product(a={"x": {"train.lr": 0.1}, "y": {"train.lr": 0.2}}, b={1: {"train.steps": 10}, 2: {}})
    assert [c.labels for c in conds] == [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "y", "b": 1},
                                         {"a": "y", "b": 2}]
    assert conds[0].overrides == {"train.lr": 0.1, "train.steps": 10}
    # two conditions resolving to the same config share their networks
    base = {"task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 10}},
            "model": {"name": "leaky_rnn", "params": {"hidden_size": 4}}, "train": {"steps": 10}}
    sc = Scale("quick", base, [Condition({"e": "a"}, {"train.steps": 10}), Condition({"e": "b"}, {}),
                               Condition({"e": "c"}, {"train.steps": 20})], seeds=3)
    study = studies.Study("t", "p", "s", "1", {"quick": sc}, [])
    _, runs, case_of = _sweep(study, sc, 3)
    assert case_of == [0, 0, 1] and len(runs) == 6


def test_long_table_melts_per_n_columns():
    t = pd.DataFrame({"cond": ["a", "b"], "id": ["r1", "r2"], "seed": [0, 1],
                      "tau@N=2": [1.0, 2.0], "tau@N=3": [1.5, np.nan], "x@N=3": [5.0, 6.0], "other": [9, 9]})
    data = StudyData(t, pd.DataFrame(), None, None)
    long = data.long("tau", "x")
    assert list(long["N"]) == [2, 2, 3, 3]
    assert list(long["tau"].fillna(-1)) == [1.0, 2.0, 1.5, -1]
    assert list(long["x"].fillna(-1)) == [-1, -1, 5.0, 6.0]
    assert "other" in long and list(data.where(cond="b")["id"]) == ["r2"]


def test_bad_inputs_are_refused_before_anything_is_created(tmp_path):
    out = tmp_path / "s"
    with pytest.raises(ConfigError, match="scale: 'huge' is not a scale"):
        studies.run("sussillo2013", "huge", out=out, progress=False)
    with pytest.raises(ConfigError, match="seeds: must be an integer"):
        studies.run("sussillo2013", seeds=0, out=out, progress=False)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="out: .* is not a folder"):
        studies.run("sussillo2013", out=f, progress=False)
    assert not out.exists()


def _cli(*args, cwd=None):
    env = {**os.environ, "RNNLAB_RUNS": str(cwd / "runs")} if cwd else dict(os.environ)
    return subprocess.run([sys.executable, "-c", "from rnnlab.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_cli_list_show_and_refusals(tmp_path):
    r = _cli("study", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {x["name"] for x in rows} >= set(STUDIES)
    r = _cli("study", "show", "khajehabdollahi2024")
    assert r.returncode == 0 and "single_tau_grows" in r.stdout and "quick" in r.stdout
    r = _cli("study", "run", "sussillo2013", "--scale", "huge", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--scale" in r.stderr
    r = _cli("study", "run", "sussillo2013", "--seeds", "0", cwd=tmp_path)
    assert r.returncode == 2 and "seeds" in r.stderr and not (tmp_path / "runs").exists()
    r = _cli("study", "report", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2 and "not a study folder" in r.stderr
