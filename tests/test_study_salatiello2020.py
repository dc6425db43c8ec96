"""The salatiello2020 study: its scales expand to valid runs; its quick run end to end (slow:
about 7 minutes on a shared 2-core machine)."""

import pandas as pd
import pytest

from rnnlab import studies
from rnnlab.studies.runner import _sweep


@pytest.mark.parametrize("scale", ["quick", "paper"])
def test_scales_expand_to_valid_runs(scale):
    study = studies.get("salatiello2020")
    sc = study.scale(scale)
    spec, runs, case_of = _sweep(study, sc, 2)
    assert len(runs) == 2 * len(sc.conditions)
    fractions = [c.labels["fraction"] for c in sc.conditions]
    assert fractions[0] == 0.0 and fractions == sorted(fractions)
    assert len({c.id for c in study.claims}) == len(study.claims)


@pytest.mark.slow
def test_quick_study_end_to_end(tmp_path):
    res = studies.run("salatiello2020", "quick", out=tmp_path / "s", progress=False)
    study = studies.get("salatiello2020")
    assert list(res.claims["id"]) == [c.id for c in study.claims]
    assert set(res.claims["outcome"]) <= {"pass", "fail", "inconclusive"}
    assert res.page.is_file() and (res.dir / "figures" / "similarity_vs_fraction.png").is_file()
    assert not res.table.get("analysis_errors", pd.Series(dtype=str)).notna().any()
