"""The torre2025 study: its scales expand to valid run configs (Sinkhorn and cross-entropy
conditions, the paper's ReLU network), and the quick run end to end (slow: about 10 minutes
on 2 busy cores)."""

import pandas as pd
import pytest

from rnnlab import studies
from rnnlab.config import RunConfig
from rnnlab.studies.runner import _sweep


@pytest.mark.parametrize("scale", ["quick", "paper"])
def test_scales_expand_to_valid_runs(scale):
    study = studies.get("torre2025")
    sc = study.scale(scale)
    spec, runs, case_of = _sweep(study, sc, 1)
    assert len(runs) == len(set(case_of)) == len(sc.conditions)
    objectives = {(r.config.train.objective or {}).get("name") for r in runs}
    assert objectives == {"sinkhorn", None}
    for r in runs:
        m = r.config.model.params
        assert (m["activation"], m["bias"], m["tau"], m["tau_param"], m["train_tau"]) == ("relu", False, 1.0,
                                                                                          "direct", False)
    assert isinstance(runs[0].config, RunConfig)


@pytest.mark.slow
def test_quick_run_end_to_end(tmp_path):
    res = studies.run("torre2025", "quick", out=tmp_path / "torre", progress=False)
    study = studies.get("torre2025")
    assert list(res.claims["id"]) == [c.id for c in study.claims]
    assert set(res.claims["outcome"]) <= {"pass", "fail", "inconclusive"}
    assert res.page.is_file() and (res.dir / "figures" / "distances.png").is_file()
    assert not res.table.get("analysis_errors", pd.Series(dtype=str)).notna().any()
