"""The salatiello2020 study: its scales expand to valid runs; its quick run end to end is in
tests/test_studies.py."""

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
