"""The torre2025 study: its scales expand to valid run configs (Sinkhorn and cross-entropy
conditions, the paper's ReLU network); the quick run end to end is in tests/test_studies.py."""

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
