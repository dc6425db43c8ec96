"""Slow training checks: a leaky RNN trained with ``rnnlab.train`` solves the task library.

The checks and their settings are those of ``benchmarks/task_training.py`` (one source of
truth): MSE below Huang et al.'s thresholds on flip-flop (0.001), delayed discrimination
(0.01), sine (0.05) and path integration (0.05); decision accuracy ≥ 0.9 on
perceptual_decision (trials with evidence: the ideal observer scores ≈ 0.897 over all of its
default trials), context_decision and delay_match_sample. Each is scored on fresh trials.
Run with ``pytest -m slow tests/test_task_training_slow.py`` (minutes per task on a CPU).
"""

import importlib.util
from pathlib import Path

import pytest

_path = Path(__file__).resolve().parents[1] / "benchmarks" / "task_training.py"
_spec = importlib.util.spec_from_file_location("_task_training", _path)
task_training = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(task_training)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(task_training.CHECKS))
def test_leaky_rnn_reaches_the_threshold(name):
    r = task_training.check(name)
    assert r["passes"], f"{name}: {r['metric']:.4g} vs threshold {r['threshold']} after {r['steps']} steps"
