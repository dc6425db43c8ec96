"""Group analyses of a sweep: degeneracy across the seeds of each grid point, written once."""

import json
import re

import numpy as np
import pytest
import yaml

from rnnlab.analysis import DegeneracyResult, degeneracy
from rnnlab.errors import ConfigError
from rnnlab.store.run import Run
from rnnlab.sweep import load_sweep, run_sweep, sweep_dir, sweep_group_rows

SPEC = {
    "name": "groups",
    "base": {
        "task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 20, "p": 0.1}},
        "model": {"name": "leaky_rnn", "params": {"hidden_size": 6}},
        "train": {"steps": 40, "eval_every": 20, "batch_size": 8, "eval_batch_size": 16, "lr": 0.003},
    },
    "grid": {"model.params.hidden_size": [5, 6]},
    "seeds": [0, 1, 2],
    "group_analyses": ["degeneracy"],
}


def _write(tmp_path, spec, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return path


def test_unknown_group_analysis_is_named(tmp_path):
    with pytest.raises(ConfigError, match="group_analyses: unknown analysis 'cka'; valid: degeneracy"):
        load_sweep(_write(tmp_path, {**SPEC, "group_analyses": ["cka"]}))


def test_degeneracy_per_group_matches_a_direct_computation_and_is_not_redone(tmp_path, monkeypatch):
    """Three groups on two workers: once the second group is trained, one core idles while the
    third trains, and a trained group's analysis runs there (``IdleCoreAnalyses``); the others
    run after training. Every group's result must be the direct computation's."""
    from rnnlab.sweep import _idle_analyses, runner

    early = []
    wait = _idle_analyses.IdleCoreAnalyses.wait
    monkeypatch.setattr(_idle_analyses.IdleCoreAnalyses, "wait", lambda self: early.extend(wait(self)) or early)
    reported = []  # a caller's on_group hears of every group, those analysed early included
    run_spec = runner.run_spec
    monkeypatch.setattr(runner, "run_spec", lambda *a, **kw: run_spec(*a, **kw, on_group=reported.append))
    path = _write(tmp_path, {**SPEC, "grid": {"model.params.hidden_size": [4, 5, 6]}})
    root = tmp_path / "runs"
    run_sweep(path, root, workers=2, progress=False)
    spec, runs = load_sweep(path)
    d = sweep_dir(spec, root)
    groups = sorted({r.group for r in runs})
    assert len(groups) == 3 and len(early) == 1 and early[0] in groups
    assert sorted(reported) == groups
    for g in groups:
        ids = [r.id for r in runs if r.group == g]
        res = DegeneracyResult.load(d / "groups" / g / "degeneracy")
        assert list(res.names) == ["s0", "s1", "s2"]
        # the same analysis, computed here from the group's own run directories (the OOD losses
        # and weight distances compared below do not depend on DSA's optimiser settings)
        direct = degeneracy([Run(d, i).load_model() for i in ids], runs[0].config.build_task(), 0,
                            dsa_starts=1, dsa_steps=1)
        np.testing.assert_allclose(res.ood_loss, direct.ood_loss, rtol=1e-6)
        np.testing.assert_allclose(res.weight_distances, direct.weight_distances, rtol=1e-6)
        assert res.weights > 0 and res.weight_null == 0  # different seeds, different weights
        assert np.allclose(res.dsa_distances, res.dsa_distances.T)
    rows = {r["group"]: r for r in sweep_group_rows(path, root)}
    assert {r["model.params.hidden_size"] for r in rows.values()} == {4, 5, 6}
    assert all(r["networks"] == 3 and r["degeneracy.dynamics"] > 0 for r in rows.values())
    page = (d / "index.html").read_text()
    for src in re.findall(r"src='([^']+)'", page):
        assert (d / src).is_file(), src
    assert "trend.png" in page and page.count("degeneracy.png") == 3

    stamps = {g: (d / "groups" / g / "degeneracy.json").stat().st_mtime_ns for g in groups}
    run_sweep(path, root, workers=1, progress=False)  # everything done: nothing recomputed
    assert stamps == {g: (d / "groups" / g / "degeneracy.json").stat().st_mtime_ns for g in groups}
    assert json.loads((d / "groups" / groups[0] / "degeneracy.ids.json").read_text()) == [
        r.id for r in runs if r.group == groups[0]]
