"""Report content: psychometric curves, spike rasters, the sweep page and run pages of sweep runs.

The numbers behind the figures are checked against independent computations (counts by hand
from a batch, SciPy's Wilson interval, the spiking model's own leaky trace); the pages are
rendered in headless Chromium (skipped, with the reason, where it is not installed).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import jax
import numpy as np
import pytest
import yaml
from scipy import stats

from rnnlab import models, tasks
from rnnlab.models import run
from rnnlab.report import browser_available, check_page
from rnnlab.report.decision import (
    has_psychometric,
    psychometric,
    psychometric_from,
    wilson,
)
from rnnlab.report.figures import time_axis
from rnnlab.report.spikes import spiking_states
from rnnlab.store import train_run
from rnnlab.sweep import load_sweep, run_sweep, sweep_dir, sweep_rows

_NO_BROWSER = browser_available()
needs_browser = pytest.mark.skipif(_NO_BROWSER is not None, reason=_NO_BROWSER or "")
KEY = jax.random.PRNGKey(3)


def _observer(batch, gain: float = 8.0) -> np.ndarray:
    """Logits of an ideal-ish observer: class 1 minus class 0 evidence (summed over the trial) on channels
    1, 2, put on every step, so that the choice depends on the coherence as a psychometric curve does."""
    x = np.asarray(batch.inputs)
    ev = gain * (x[:, :, 2] - x[:, :, 1]).mean(1)
    return np.broadcast_to(np.stack([-ev, ev], -1)[:, None, :], (x.shape[0], x.shape[1], 2)).copy()


def test_psychometric_counts_equal_a_count_by_hand():
    task = tasks.get("perceptual_decision", stimulus=500.0, sigma=2.0)
    batch = task.sample(KEY, 3000)
    out = _observer(batch)
    (curve,) = psychometric_from(task, batch, out)
    # by hand: the class with the larger mean output over the decision steps, grouped by signed coherence
    mask = np.asarray(batch.mask)[..., 0] > 0
    mean = np.stack([(out[..., c] * mask).sum(1) / mask.sum(1) for c in (0, 1)], -1)
    chose1 = mean[:, 1] > mean[:, 0]
    signed = np.asarray(batch.info["signed_coherence"])
    levels = sorted({abs(c) * s for c in task.coherences for s in (-1, 1)})
    np.testing.assert_allclose(curve.x, levels, rtol=1e-6)  # float32 coherences; -0 and +0 are one level
    for x, n, k in zip(curve.x, curve.n, curve.k):
        here = np.isclose(signed, x)
        assert n == here.sum() and k == chose1[here].sum()
    # the observer's curve rises with the signed coherence, from ~0 to ~1
    assert np.all(np.diff(curve.p) >= -0.05) and curve.p[0] < 0.1 and curve.p[-1] > 0.9
    assert abs(curve.p[curve.x == 0][0] - 0.5) < 0.1
    # error bars: SciPy's Wilson score interval
    lo, hi = curve.interval()
    for i in range(len(curve.x)):
        ci = stats.binomtest(int(curve.k[i]), int(curve.n[i])).proportion_ci(0.95, method="wilson")
        assert lo[i] == pytest.approx(ci.low, abs=1e-9) and hi[i] == pytest.approx(ci.high, abs=1e-9)


def test_context_psychometric_splits_by_context_and_modality():
    task = tasks.get("context_decision", delay=200.0)
    batch = task.sample(KEY, 2000)
    info = {k: np.asarray(v) for k, v in batch.info.items()}
    # an observer that always follows modality 0, whatever the context
    ev = np.where(info["choice_0"] == 1, 1.0, -1.0) * info["coherence_0"]
    out = np.zeros(np.asarray(batch.targets).shape)
    out[..., 1] = ev[:, None]
    curves = psychometric_from(task, batch, out)
    assert [(c.panel[:10], c.label[:9]) for c in curves] == [
        ("modality 0", "context 0"), ("modality 0", "context 1"), ("modality 1", "context 0"), ("modality 1", "context 1")]
    for c in curves:
        m, ctx = int(c.panel[9]), int(c.label[8])
        signed = np.where(info[f"choice_{m}"] == 1, 1.0, -1.0) * info[f"coherence_{m}"]
        for x, n, k in zip(c.x, c.n, c.k):
            here = (info["context"] == ctx) & (signed == x)
            assert n == here.sum() and k == (ev[here] > 0).sum()
        if m == 0:  # against the followed modality: a step from 0 to 1 in both contexts
            assert c.p.tolist() == [float(x > 0) for x in c.x]
        else:  # against the other one: flat near 0.5
            assert np.all(np.abs(c.p - 0.5) < 0.2)


def test_discrimination_psychometric_bins_f2_minus_f1():
    task = tasks.get("delayed_discrimination", n_channels=2)
    batch = task.sample(KEY, 1500)
    info = {k: np.asarray(v) for k, v in batch.info.items()}
    diff = info["f2"] - info["f1"]  # [B, C]
    out = np.zeros(np.asarray(batch.targets).shape)
    t = np.arange(out.shape[1])[None, :]
    resp = (t >= info["response_on"][:, None]) & (t < info["response_off"][:, None])
    out[resp] = 1.0  # outside the response window the output is 0 and must not count
    out *= np.where(diff > 1.0, 1.0, -1.0)[:, None, :]  # reports "f2 > f1" only when f2 exceeds f1 by 1
    (curve,) = psychometric_from(task, batch, out)
    assert curve.n.sum() == diff.size
    edges = np.linspace(-8, 8, 11)
    for x, n, k in zip(curve.x, curve.n, curve.k):
        b = np.searchsorted(edges, x, side="right") - 1
        here = (diff >= edges[b]) & (diff < edges[b + 1])
        assert n == here.sum() and k == (diff[here] > 1.0).sum() and x == pytest.approx(diff[here].mean())


def test_psychometric_of_a_network_equals_the_eager_computation():
    task = tasks.get("perceptual_decision", stimulus=500.0)
    model = models.get("leaky_rnn", input_size=3, output_size=2, key=1, hidden_size=8)
    compiled = psychometric(model, task, KEY, 512)
    batch = task.sample(KEY, 512)
    _, out = run(model, batch.inputs, KEY)
    (eager,) = psychometric_from(task, batch, out)
    np.testing.assert_array_equal(compiled[0].x, eager.x)
    np.testing.assert_array_equal(compiled[0].n, eager.n)
    assert np.abs(compiled[0].k - eager.k).max() <= 1  # a near tie may round the other way compiled
    assert not has_psychometric(tasks.get("flipflop"))
    assert wilson(np.array([0]), np.array([10]))[0][0] == pytest.approx(0.0, abs=1e-12)


def test_spiking_states_are_the_models_own():
    task = tasks.get("perceptual_decision")
    model = models.get("spiking_rnn", input_size=3, output_size=2, key=2, hidden_size=16, neuron="alif",
                       tau_mem=4.0, tau_syn=2.0, input_gain=6.0)
    batch = task.sample(KEY, 8)
    spikes, v, theta = spiking_states(model, batch.inputs)
    activity, _ = run(model, batch.inputs, KEY)
    # the readout trace r_t = b r_{t-1} + (1 - b) s_t rebuilt from the spikes is the activity run() returns
    b = float(np.exp(-model.cfg.dt / model.cfg.tau_out))
    trace, r = np.zeros_like(spikes), np.zeros(spikes.shape[::2])
    for t in range(spikes.shape[1]):
        r = b * r + (1 - b) * spikes[:, t]
        trace[:, t] = r
    np.testing.assert_allclose(trace, np.asarray(activity), atol=1e-5)
    assert spikes.sum() > 20
    np.testing.assert_array_equal(spikes, (v > theta).astype(spikes.dtype))  # s = H(V - θ), no refractory period
    base = np.asarray(model.thresholds())[None, None]
    assert np.all(theta >= base - 1e-6) and np.any(theta > base + 1e-3)  # ALIF: θ_t ≥ θ, raised after spikes


def test_time_axis_units():
    assert time_axis(tasks.get("perceptual_decision")) == (100.0, "time (ms)")
    assert time_axis(tasks.get("sine"))[1] == "time (ms)"
    assert time_axis(tasks.get("sine"))[0] == pytest.approx(1000 * tasks.get("sine").dt)
    assert time_axis(tasks.get("flipflop")) == (1.0, "time (steps)")


# ---- pages in a browser ---------------------------------------------------------------------------------

TINY = {"steps": 30, "eval_every": 15, "batch_size": 8, "eval_batch_size": 16, "lr": 0.01}
SWEEP = {
    "name": "pages",
    "base": {"task": {"name": "perceptual_decision", "params": {"stimulus": 300.0}},
             "model": {"name": "leaky_rnn", "params": {"hidden_size": 4}}, "train": TINY},
    "grid": {"model.params.hidden_size": [3, 5]},
    "seeds": 2,
}


_FIRST_TABLE = "document.querySelectorAll('table.sortable')[0]"


def _run_table(driver) -> tuple[list[str], list[str]]:
    """The run table's first-column texts (in the order shown) and its link targets."""
    ids = driver.execute_script(f"return Array.from({_FIRST_TABLE}.tBodies[0].rows)"
                                ".map(function (r) {{ return r.cells[0].textContent.trim(); }});")
    hrefs = driver.execute_script(f"return Array.from({_FIRST_TABLE}.querySelectorAll('tbody a'))"
                                  ".map(function (a) {{ return a.getAttribute('href'); }});")
    return ids, hrefs


@needs_browser
def test_sweep_page_run_table_figures_and_run_pages(tmp_path):
    from selenium.webdriver.common.by import By

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(SWEEP))
    root = tmp_path / "runs"
    run_sweep(path, root, workers=1, progress=False)
    spec, runs = load_sweep(path)
    d = sweep_dir(spec, root)
    rows = sweep_rows(path, root)
    seen: dict = {}

    def actions(driver):
        seen["ids"], seen["hrefs"] = _run_table(driver)
        table = driver.find_elements(By.CSS_SELECTOR, "table.sortable")[0]
        header = {th.text.strip(): th for th in table.find_elements(By.CSS_SELECTOR, "thead th")}
        header["final_accuracy"].click()
        seen["sorted"] = _run_table(driver)[0]

    check = check_page(d / "index.html", screenshot=tmp_path / "sweep.png", actions=actions)
    assert check.ok, (check.broken_images, check.console_errors)
    # one row per run, each id a link to that run's page, which exists
    assert sorted(seen["ids"]) == sorted(r.id for r in runs) and len(runs) == 4
    targets = [(d / unquote(h)).resolve() for h in seen["hrefs"]]
    assert [p.parent.name for p in targets] == seen["ids"]
    assert all(p.is_file() and p.name == "index.html" and p.parent.parent == d.resolve() for p in targets)
    # a click on the metric's header sorts the rows by the catalog's values
    acc = {r["id"]: r["final_accuracy"] for r in rows}
    assert [acc[i] for i in seen["sorted"]] == sorted(acc.values())
    # the metric against the swept value, with a caption; the grid-point table
    page = (d / "index.html").read_text()
    assert "final_accuracy-vs-model_params_hidden_size.png" in page
    assert check.images == 1 and "interquartile range" in check.text and "grid points" in check.text
    for hidden in (3, 5):  # grid point: hidden size, networks, finished, median metric over its seeds
        accs = [r["final_accuracy"] for r in rows if r["model.params.hidden_size"] == hidden]
        assert re.search(rf"\t{hidden}\t2\t2\t{float(np.median(accs)):.4g}(\n|$)", check.text), hidden
    # a sweep run's own page: figures that load, the psychometric curve among them
    run_page = check_page(targets[0])
    assert run_page.ok and run_page.images == 4, (run_page.broken_images, run_page.console_errors)
    assert "Psychometric curve" in run_page.text and "time (ms)" in run_page.text
    # written once: a second report leaves the run pages alone
    stamps = {p: p.stat().st_mtime_ns for p in targets}
    run_sweep(path, root, workers=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in targets} == stamps


def _train(tmp_path, task, model, **params):
    cfg = {"task": task, "model": {"name": model, "params": params}, "train": TINY, "seed": 0}
    return train_run(cfg, tmp_path / "runs", progress=False)[0]


@needs_browser
def test_spiking_run_page_has_raster_rate_and_voltage(tmp_path):
    run_ = _train(tmp_path, {"name": "perceptual_decision"}, "spiking_rnn", hidden_size=12, tau_mem=4.0,
                  tau_syn=2.0, input_gain=6.0)
    figs = {p.name for p in (run_.dir / "figures").glob("*.png")}
    assert figs == {"loss.png", "trials.png", "psychometric.png", "spikes.png", "taus.png"}
    check = check_page(run_.dir / "index.html", screenshot=tmp_path / "spiking.png")
    assert check.ok and check.images == 5, (check.broken_images, check.console_errors)
    assert "Spiking activity" in check.text and "Hz per unit" in check.text
    assert re.search(r"Contents\s+summary\s+training\s+behaviour\s+activity", check.text, re.IGNORECASE)


@needs_browser
def test_context_decision_run_page_has_psychometric_curves(tmp_path):
    run_ = _train(tmp_path, {"name": "context_decision", "params": {"delay": 200.0}}, "leaky_rnn", hidden_size=4)
    check = check_page(run_.dir / "index.html", screenshot=tmp_path / "decision.png")
    assert check.ok and check.images == 4, (check.broken_images, check.console_errors)
    assert "one curve per context" in check.text and "95% Wilson" in check.text
    assert (run_.dir / "figures" / "psychometric.png").is_file() and not (run_.dir / "figures" / "spikes.png").exists()


def test_multitask_psychometric_is_the_sub_tasks_on_their_rule_trials():
    pd = tasks.get("perceptual_decision", stimulus=500.0, sigma=2.0)
    mix = tasks.multitask([tasks.get("go_nogo"), pd])
    assert has_psychometric(mix) and not has_psychometric(tasks.get("go_nogo"))
    batch = mix.sample(KEY, 3000)
    out = _observer(batch)
    (curve,) = psychometric_from(mix, batch, out)
    assert curve.panel.startswith("perceptual_decision: signed coherence")
    # by hand on the trials of rule 1: the larger mean output over the sub-task's scored steps
    sel = np.asarray(batch.info["rule"]) == 1
    mask = np.asarray(batch.mask)[sel, :, 0] > 0
    mean = np.stack([(out[sel, :, c] * mask).sum(1) / mask.sum(1) for c in (0, 1)], -1)
    chose1 = mean[:, 1] > mean[:, 0]
    signed = np.asarray(batch.info["perceptual_decision/signed_coherence"])[sel]
    assert curve.n.sum() == sel.sum()
    for x, n, k in zip(curve.x, curve.n, curve.k):
        here = np.isclose(signed, x)
        assert n == here.sum() and k == chose1[here].sum()
    assert curve.p[0] < 0.1 and curve.p[-1] > 0.9
