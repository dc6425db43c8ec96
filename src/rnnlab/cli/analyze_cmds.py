"""``rnnlab analyze | compare | degeneracy``: analyses of stored runs.

Results go to ``<run>/analysis/NAME.{npz,json,png}`` and the run's ``index.html`` is rebuilt
with one section per saved result (``rnnlab.report.analysis_report``). The computing side is
``_analyze_runs``, imported when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from ._choices import choice
from ._output import cell, print_json, print_rows, terminal
from ._progress import steps

ANALYSIS_NAMES = ("timescales", "fixed-points", "geometry", "ablation", "perturbation", "pruning", "automaton",
                  "rich-lazy")
DEFAULT = "timescales,fixed-points,geometry"
Metric = choice("Metric", ("dsa", "cka", "procrustes", "weights"))
_OUT = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)")
_JSON = typer.Option(False, "--json", help="print the results as JSON")


def analyze(
    run_id: str = typer.Argument(..., metavar="RUN", help="run id or path"),
    what: str = typer.Option(DEFAULT, help=f"comma-separated analyses: {', '.join(ANALYSIS_NAMES)}, or all"),
    member_: Optional[int] = typer.Option(None, "--member", help="ensemble member to analyse (default 0)"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    quick: bool = typer.Option(False, help="smaller simulations and batches, for a fast look"),
    out: Optional[Path] = _OUT,
    as_json: bool = _JSON,
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Run analyses on a run's trained network; write them to RUN/analysis/ and its index.html."""
    with steps(progress and not as_json, "loading the network (compiling on first use)") as bar:
        from ..report.analysis_report import write_analysis_page
        from . import _analyze_runs as impl

        names = impl.parse_what(what)
        run, model, task, e = impl.load(run_id, out, member_)
        bar.total(len(names) + 1)
        import jax

        ctx = {"run": run, "model": model, "task": task, "member": e, "quick": quick, "seed": seed,
               "key": jax.random.PRNGKey(seed)}
        folder = run.dir / "analysis"
        many = impl.member_count(run) > 1
        rows = []
        for name in names:
            bar.next(f"{name}")
            for stem, result in impl.ANALYSES[name](ctx):
                png = impl.save(result, folder, stem + (f"_m{e}" if many else ""))
                rows.append({"analysis": name, "result": type(result).__name__, "summary": result.summary(),
                             "figure": str(png.resolve())})
        bar.next("report page")
        page = write_analysis_page(run.dir, f"rnnlab run {run.id}")
    if as_json:
        print_json({"run": run.id, "member": e, "analyses": rows, "page": str(page.resolve())})
        return
    print_rows([{**r, "summary": impl.headline(r["summary"]), "figure": Path(r["figure"]).name} for r in rows],
               "analysis", f"analyses of {run.id}" + (f" (member {e})" if many else ""), long=("summary",))
    terminal().print(f"results in {folder.resolve()}\nreport: {page.resolve()}", soft_wrap=True)


def compare(
    run_ids: list[str] = typer.Argument(..., metavar="RUN RUN...", help="two or more run ids or paths"),
    metric: Metric = typer.Option("dsa", help="distance between networks"),
    member_: Optional[int] = typer.Option(None, "--member", help="ensemble member of each run (default 0)"),
    trials: int = typer.Option(32, help="trials (of the first run's task) that drive every network"),
    n_delays: int = typer.Option(10, help="DSA delay embedding"),
    rank: int = typer.Option(10, help="DSA DMD rank"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    heatmap: Optional[Path] = typer.Option(None, help="heat map PNG (default RUNS/comparisons/METRIC-HASH.png)"),
    out: Optional[Path] = _OUT,
    as_json: bool = _JSON,
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Distances between the trained networks of several runs: a table and a heat map."""
    metric = metric.value
    if len(run_ids) < 2:
        raise ConfigError(f"compare: needs at least two runs (got {len(run_ids)})")
    with steps(progress and not as_json, "loading networks (compiling on first use)", total=len(run_ids) + 2) as bar:
        import jax

        from ..store._paths import runs_root
        from . import _analyze_runs as impl

        loaded = []
        for r in run_ids:
            bar.next(f"loading {r}")
            loaded.append(impl.load(r, out, member_))
        ids = [run.id for run, *_ in loaded]
        task = loaded[0][2]
        for run, _, t, _ in loaded[1:]:
            if metric != "weights" and t.n_inputs != task.n_inputs:
                raise ConfigError(f"--metric {metric}: run {run.id} takes {t.n_inputs} inputs, run {ids[0]} "
                                  f"({task.name}) gives {task.n_inputs}; the networks must accept the same trials")
        bar.next(f"{metric} distances")
        D = impl.distance(metric, [m for _, m, _, _ in loaded], ids, task, jax.random.PRNGKey(seed), trials,
                          n_delays, rank)
        bar.next("heat map")
        if heatmap is None:
            import hashlib

            tag = hashlib.sha1("|".join(ids).encode()).hexdigest()[:8]
            heatmap = runs_root(out) / "comparisons" / f"{metric}-{tag}.png"
        D.plot(heatmap)
        D.save(heatmap.with_suffix(""))
    if as_json:
        print_json({"metric": D.metric, "runs": ids, "distances": [[float(v) for v in row] for row in D.distances],
                    "heatmap": str(heatmap.resolve())})
        return
    print_rows([{"run": f"#{i} {rid}", **{f"#{j}": cell(float(v)) for j, v in enumerate(D.distances[i])}}
                for i, rid in enumerate(ids)], "run", f"{D.metric} between runs")
    terminal().print(f"heat map: {heatmap.resolve()}", soft_wrap=True)


def degeneracy(
    run_id: str = typer.Argument(..., metavar="ENSEMBLE_RUN", help="an ensemble run's id or path"),
    ood_factor: float = typer.Option(2.0, help="OOD task: trials/delays this many times longer"),
    trials: int = typer.Option(64, help="trials of the shared OOD batch and of each DSA trial set"),
    n_null: int = typer.Option(8, help="resampled OOD batches of the behavioural null"),
    n_delays: int = typer.Option(10, help="DSA delay embedding"),
    rank: int = typer.Option(10, help="DSA DMD rank"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    out: Optional[Path] = _OUT,
    as_json: bool = _JSON,
    progress: bool = typer.Option(True, help="show a progress bar"),
) -> None:
    """Behavioural, dynamical and weight degeneracy of an ensemble run, with nulls (Huang et al. 2025)."""
    with steps(progress and not as_json, "loading the ensemble (compiling on first use)", total=3) as bar:
        from ..analysis import degeneracy as _degeneracy
        from ..report.analysis_report import write_analysis_page
        from ..store import open_run
        from . import _analyze_runs as impl

        run = open_run(run_id, out)
        n = impl.member_count(run)
        if n < 2:
            raise ConfigError(f"degeneracy: run {run.id} holds a single network; it needs an ensemble run "
                              "(train with --ensemble E, E ≥ 2)")
        run, models, task, _ = impl.load(run_id, out, None, whole=True)
        bar.next(f"degeneracy of {n} networks")
        res = _degeneracy(models, task, seed, ood_factor=ood_factor, n_trials=trials, n_null=n_null,
                          n_delays=n_delays, rank=rank, names=[f"m{e}" for e in range(n)])
        bar.next("figure and report page")
        png = impl.save(res, run.dir / "analysis", "degeneracy")
        page = write_analysis_page(run.dir, f"rnnlab run {run.id}")
    levels = [{"level": lv, "degeneracy": float(v), "null": float(nu), "ratio": float(v / nu) if nu > 0 else None}
              for lv, v, nu in res.levels()]
    if as_json:
        print_json({"run": run.id, "networks": n, "levels": levels, "figure": str(png.resolve()),
                    "page": str(page.resolve())})
        return
    print_rows(levels, "level", f"degeneracy of {run.id} ({n} networks)")
    terminal().print(f"figure: {png.resolve()}\nreport: {page.resolve()}", soft_wrap=True)
