"""``rnnlab analyze | compare | degeneracy``: results and figures in the run folder, its page, errors."""

import io

import equinox as eqx
import jax
import pytest
from typer.testing import CliRunner

from rnnlab.analysis import DegeneracyResult, DistanceMatrix, NetworkTimescales
from rnnlab.cli import app
from rnnlab.config import parse_config
from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.store import create_run, write_finished_run
from rnnlab.train import History, initial_state

FLIPFLOP = {"name": "flipflop", "params": {"n_bits": 2, "n_steps": 30, "p": 0.1}}
ENSEMBLE = {
    "task": FLIPFLOP,
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 16}},
    "train": {"steps": 200, "eval_every": 50, "batch_size": 16, "lr": 3e-3, "ensemble": 3},
    "seed": 5,
}
QUICK_DSA = ["--trials", "16", "--n-null", "4", "--n-delays", "5", "--rank", "6"]
TRAINING_FIGURES = ("loss.png", "trials.png", "taus.png")


def _finished_run(root, run_id, hidden=16, seed=0, task=FLIPFLOP, ensemble=None):
    """A completed run holding its initial weights, written without training (fast); the
    training figures are placeholders, to check that the page keeps them."""
    cfg = parse_config({"task": task, "model": {"name": "leaky_rnn", "params": {"hidden_size": hidden}},
                        "train": {**ENSEMBLE["train"], "ensemble": ensemble}, "seed": seed})
    model = initial_state(cfg.build_model_config(), cfg.build_task(), cfg.train, jax.random.PRNGKey(seed)).model
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, model)
    summary = {"status": "completed", "task": cfg.task.name, "model": "leaky_rnn", "members": ensemble or 1}
    run = write_finished_run(root, run_id, cfg, buf.getvalue(), History(ensemble or 1, "mse"), summary)
    (run.dir / "figures").mkdir()
    for name in TRAINING_FIGURES:
        (run.dir / "figures" / name).write_bytes(b"placeholder")
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"root": root, "ens": _finished_run(root, "ens", seed=5, ensemble=3),
            "a": _finished_run(root, "net-a", seed=0), "b": _finished_run(root, "net-b", seed=1)}


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def _fails(result, error, *fragments):
    assert result.exit_code != 0 and isinstance(result.exception, error), result.output
    assert all(f in str(result.exception) for f in fragments), str(result.exception)


def test_analyze_writes_results_figures_and_page(runs):
    root, ens = runs["root"], runs["ens"]
    r = _invoke("analyze", ens.id, "--out", root, "--quick", "--member", 1)
    assert r.exit_code == 0, r.output
    folder = ens.dir / "analysis"
    for stem in ("timescales_m1", "fixed_points_m1", "geometry_pca_m1", "geometry_weights_m1", "geometry_jacobian_m1"):
        assert all((folder / f"{stem}{ext}").is_file() for ext in (".npz", ".json", ".png")), stem
    assert "FixedPoints" in r.output and "timescales" in r.output and "index.html" in r.output
    assert NetworkTimescales.load(folder / "timescales_m1").n_trials == 4
    page = ens.page.read_text()
    assert all(f"figures/{n}" in page for n in TRAINING_FIGURES)  # the training figures are kept
    assert "analysis/timescales_m1.png" in page and "analysis: fixed_points_m1" in page

    # the optional analyses, on a single-network run
    a = runs["a"]
    r = _invoke("analyze", a.id, "--out", root, "--quick", "--what", "ablation,rich-lazy")
    assert r.exit_code == 0, r.output
    assert {p.name for p in (a.dir / "analysis").glob("*.png")} == {"ablation.png", "rich_lazy.png"}
    assert "analysis/rich_lazy.png" in a.page.read_text()


def test_analyze_errors_name_the_run_or_option(runs, tmp_path):
    root, ens = runs["root"], runs["ens"]
    _fails(_invoke("analyze", ens.id, "--out", root, "--what", "timescales,lyapunov"), ConfigError,
           "unknown analysis 'lyapunov'", "timescales, fixed-points, geometry")
    _fails(_invoke("analyze", ens.id, "--out", root, "--member", 3), ConfigError, ens.id, "3 members")
    _fails(_invoke("analyze", runs["a"].id, "--out", root, "--member", 1), ConfigError, "net-a", "single network")
    _fails(_invoke("analyze", "no-such-run", "--out", root), CheckpointError, "no-such-run", "no such run")
    untrained = create_run(ENSEMBLE, tmp_path)
    _fails(_invoke("analyze", untrained.id, "--out", tmp_path), CheckpointError, untrained.id, "no trained weights")
    cont = _finished_run(tmp_path, "net-pd", task={"name": "perceptual_decision", "params": {}})
    _fails(_invoke("analyze", cont.id, "--out", tmp_path, "--what", "automaton"), ConfigError,
           "perceptual_decision", "net-pd", "discrete input alphabet")


def test_compare_prints_matrix_and_writes_heatmap(runs, tmp_path):
    root, ens, a, b = runs["root"], runs["ens"], runs["a"], runs["b"]
    r = _invoke("compare", a.id, b.id, ens.id, "--metric", "cka", "--out", root, "--heatmap", tmp_path / "cka.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cka.png").stat().st_size > 0 and "net-b" in r.output and "CKA" in r.output
    D = DistanceMatrix.load(tmp_path / "cka")
    assert D.distances.shape == (3, 3) and list(D.names) == ["net-a", "net-b", ens.id]
    r = _invoke("compare", a.id, ens.id, "--metric", "weights", "--out", root)
    assert r.exit_code == 0, r.output
    assert len(list((root / "comparisons").glob("weights-*.png"))) == 1
    small = _finished_run(root, "net-small", hidden=8)
    _fails(_invoke("compare", a.id, small.id, "--metric", "weights", "--out", root), ConfigError,
           "net-a", "net-small", "N=16", "N=8")
    r = _invoke("compare", a.id, b.id, "--metric", "euclid", "--out", root)  # a validated choice: Click's usage error
    assert r.exit_code == 2 and all(m in r.output for m in ("'dsa'", "'cka'", "'procrustes'", "'weights'")), r.output
    _fails(_invoke("compare", a.id, "--out", root), ConfigError, "at least two runs")


def test_degeneracy_reports_levels_and_nulls(runs):
    root, ens = runs["root"], runs["ens"]
    r = _invoke("degeneracy", ens.id, "--out", root, *QUICK_DSA)
    assert r.exit_code == 0, r.output
    assert all(w in r.output for w in ("behaviour", "dynamics", "weights", "null"))
    res = DegeneracyResult.load(ens.dir / "analysis" / "degeneracy")
    assert res.weights > 0 and list(res.names) == ["m0", "m1", "m2"]
    page = ens.page.read_text()
    assert "analysis/degeneracy.png" in page and "figures/loss.png" in page
    _fails(_invoke("degeneracy", runs["a"].id, "--out", root), ConfigError, "net-a", "ensemble")
