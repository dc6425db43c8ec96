"""Studies: the registry, the design helpers, the runner's resumability, the CLI, and the
``sussillo2013`` quick study end to end (the other studies' quick runs are marked slow)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from rnnlab import studies
from rnnlab.errors import ConfigError
from rnnlab.studies import Condition, Scale, StudyData, product
from rnnlab.studies.runner import _sweep

STUDIES = ["sussillo2013", "khajehabdollahi2024", "liu2024", "huang2025", "torre2025", "salatiello2020", "xiao2024"]


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
    with pytest.raises(ConfigError, match="out .*: is a file, not a folder"):
        studies.run("sussillo2013", out=f, progress=False)
    assert not out.exists()


@dataclass
class _Done:
    returncode: int
    stdout: str
    stderr: str


def _cli(*args, cwd=None):
    """``rnnlab ARGS`` through the entry point ``rnnlab.cli.main`` in this process (its exit
    status from ``SystemExit``, its printed output), with ``RNNLAB_RUNS`` and the working folder
    set to ``cwd`` where given. In-process: a subprocess would import the whole package again
    for each call; the real entry point's exit status in a subprocess is checked by
    ``tests/test_store_cli.py::test_cli_errors_are_one_line``."""
    from rnnlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["rnnlab", *args])
        if cwd is not None:
            mp.setenv("RNNLAB_RUNS", str(cwd / "runs"))
            mp.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return _Done(code, out.getvalue(), err.getvalue())


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


def test_list_and_show_do_not_import_the_runner():
    """``rnnlab study list`` and ``study show`` read the registry only: neither JAX nor the sweep
    machinery is imported (``rnnlab.studies`` reads ``run``, ``load``, ... from its runner on
    first use), so they answer in about a second."""
    code = ("import sys\nfrom rnnlab.cli import main\n"
            "for argv in (['study', 'list', '--json'], ['study', 'show', 'sussillo2013']):\n"
            "    sys.argv = ['rnnlab', *argv]\n"
            "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, e.code\n"
            "print(sorted(m for m in ('jax', 'rnnlab.sweep', 'rnnlab.studies.runner') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    assert studies.run is studies.runner.run  # the lazy names are the runner's


@pytest.fixture(scope="module")
def sussillo(tmp_path_factory):
    """The sussillo2013 quick study, run once for the tests below (about a minute on 2 cores)."""
    out = tmp_path_factory.mktemp("study") / "sussillo"
    return studies.run("sussillo2013", "quick", out=out, workers=1, progress=False)


def test_sussillo_quick_end_to_end(sussillo):
    from scipy import stats

    res = sussillo
    assert {"eight_stable", "corners", "saddles_between"} == set(res.claims["id"])
    assert set(res.claims["outcome"]) <= {"pass", "fail", "inconclusive"}
    # every network reaches the MSE threshold at this scale (50 of 50 did at N = 64 in the
    # 200-network degeneracy sweep), so none is excluded as budget-stopped
    assert len(res.table) == 6 and set(res.table["status"]) == {"converged"}
    # the claim's statistic, recomputed from the per-network table
    k = int((res.table["fp_n_stable"] == 8).sum())
    row = res.claims.set_index("id").loc["eight_stable"]
    assert row["value"] == pytest.approx(k / 6)
    assert row["p"] == pytest.approx(stats.binomtest(k, 6, 0.5, alternative="greater").pvalue)
    assert row["outcome"] == ("pass" if row["p"] < 0.05 else "fail")
    claims = json.loads((res.dir / "claims.json").read_text())
    assert [c["id"] for c in claims] == list(res.claims["id"])
    assert {"statistic", "value", "ci_low", "ci_high", "test", "p", "p_holm", "outcome", "reason"} <= set(claims[0])
    assert len(pd.read_csv(res.dir / "table.csv")) == 6
    for rid in res.table["id"]:
        assert (res.dir / "runs" / rid / "index.html").is_file()
        assert (res.dir / "runs" / rid / "initial_model.eqx").is_file()


def test_sussillo_rerun_trains_and_analyses_nothing(sussillo):
    runs = sussillo.dir / "runs"
    before = {p: p.stat().st_mtime_ns for p in [*runs.glob("*/model.eqx"), *runs.glob("*/analyses.json")]}
    assert len(before) == 12
    again = studies.run("sussillo2013", "quick", out=sussillo.dir, workers=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    pd.testing.assert_frame_equal(again.claims, sussillo.claims)
    r = _cli("study", "report", str(sussillo.dir), "--json")
    assert r.returncode == 0, r.stderr
    assert [c["id"] for c in json.loads(r.stdout)["claims"]] == list(sussillo.claims["id"])


def test_sussillo_page_in_a_browser(sussillo, tmp_path):
    from rnnlab.report import browser_available, check_page

    why = browser_available()
    if why:
        pytest.skip(why)
    shot = tmp_path / "study.png"
    check = check_page(sussillo.page, screenshot=shot)
    assert check.images >= 2 and not check.broken_images, check.broken_images
    assert not check.console_errors, check.console_errors
    assert "eight_stable" in check.text and "Claims" in check.text
    run_page = check_page(sussillo.dir / "runs" / sussillo.table["id"].iloc[0] / "index.html")
    assert run_page.images >= 2 and not run_page.broken_images and not run_page.console_errors


#: a figure each study's page must hold (where a study's test names one)
_FIGURE = {"torre2025": "distances.png", "salatiello2020": "similarity_vs_fraction.png"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["khajehabdollahi2024", "liu2024", "huang2025", "torre2025", "salatiello2020",
                                  "xiao2024"])
def test_quick_study_end_to_end(name, tmp_path):
    res = studies.run(name, "quick", out=tmp_path / name, progress=False)
    study = studies.get(name)
    assert list(res.claims["id"]) == [c.id for c in study.claims]
    assert set(res.claims["outcome"]) <= {"pass", "fail", "inconclusive"}
    assert res.page.is_file() and (res.dir / "claims.json").is_file()
    if name in _FIGURE:
        assert (res.dir / "figures" / _FIGURE[name]).is_file()
    assert not res.table.get("analysis_errors", pd.Series(dtype=str)).notna().any()
