"""``rnnlab analyze | compare | degeneracy``: analyses of stored runs.

Results go to ``<run>/analysis/NAME.{npz,json,png}`` and the run's ``index.html`` is rebuilt
with one section per saved result (``rnnlab.report.analysis_report``).
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any, Callable, Optional

import equinox as eqx
import jax
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..errors import ConfigError
from ..report.analysis_report import write_analysis_page
from ..store import open_run, runs_root
from ..train import initial_state, layout_task, member

# ---- loading a run -----------------------------------------------------------------------------


def _member_count(run) -> int:
    return run.config().train.ensemble or 1


def _load(run_id: str, out: Optional[Path], e: Optional[int], whole: bool = False):
    """``(run, model, task, e)``: the run's network (member ``e`` of an ensemble, default 0; the whole
    stacked ensemble if ``whole``) and the task it was trained on (at the level member ``e`` reached)."""
    run = open_run(run_id, out)
    cfg = run.config()
    n = _member_count(run)
    if e is not None and not 0 <= e < n:
        what = f"an ensemble of {n} members (0..{n - 1})" if cfg.train.ensemble else "a single network (member 0 only)"
        raise ConfigError(f"--member {e}: run {run.id} holds {what}")
    e = e or 0
    model = run.load_model()
    if cfg.train.ensemble and not whole:
        model = member(model, e)
    task = cfg.build_task()
    if cfg.train.curriculum:  # the level this member reached
        level = run.history().level
        n_reached = int(level[-1][e]) if level else cfg.train.curriculum.start
        task = layout_task(task, cfg.train.curriculum).model_copy(update={"n": max(n_reached, 1)})
    return run, model, task, e


def _initial_model(run, e: int):
    """The member's weights before training (the run's initial state is rebuilt from its seed)."""
    cfg = run.config()
    m0 = initial_state(cfg.build_model_config(), cfg.build_task(), cfg.train, jax.random.PRNGKey(cfg.seed)).model
    return member(m0, e) if cfg.train.ensemble else m0


def _save(result: Any, folder: Path, name: str) -> Path:
    result.save(folder / name)
    png = folder / f"{name}.png"
    result.plot(png)
    return png


# ---- the analyses --------------------------------------------------------------------------------


def _optional(module: str, attr: str, analysis: str) -> Callable:
    try:
        mod = importlib.import_module(f"rnnlab.analysis.{module}")
    except ImportError as err:
        raise ConfigError(f"--what: analysis '{analysis}' is not available (rnnlab.analysis.{module}: {err})") from None
    if not hasattr(mod, attr):
        raise ConfigError(f"--what: analysis '{analysis}' is not available (rnnlab.analysis.{module} has no {attr})")
    return getattr(mod, attr)


def _timescales(ctx):
    from ..analysis import network_timescales

    n_steps, n_trials = (2_000, 4) if ctx["quick"] else (20_000, 10)
    return [("timescales", network_timescales(ctx["model"], ctx["task"], ctx["key"], n_steps=n_steps,
                                              n_trials=n_trials))]


def _fixed_points(ctx):
    from ..analysis import find_fixed_points, state_trajectories

    n_init, steps = (128, 200) if ctx["quick"] else (1024, 400)
    x = ctx["task"].sample(ctx["key"], 32 if ctx["quick"] else 128).inputs
    traj = state_trajectories(ctx["model"], x)
    return [("fixed_points", find_fixed_points(ctx["model"], traj, n_init=n_init, adam_steps=steps, key=ctx["seed"]))]


def _geometry(ctx):
    from ..analysis import jacobian_spectrum, pca, state_trajectories, weight_spectrum

    model, x = ctx["model"], ctx["task"].sample(ctx["key"], 32 if ctx["quick"] else 128).inputs
    out = [("geometry_pca", pca(state_trajectories(model, x)))]
    if hasattr(model, "recurrent_weights"):
        out.append(("geometry_weights", weight_spectrum(model)))
    out.append(("geometry_jacobian", jacobian_spectrum(model, x[:4 if ctx["quick"] else 16],
                                                       every=max(1, x.shape[1] // 50))))
    return out


def _ablation(ctx):
    f = _optional("perturbation", "ablation_curve", "ablation")
    return [("ablation", f(ctx["model"], ctx["task"], ctx["key"], order="kick", batch_size=64 if ctx["quick"] else 256))]


def _perturbation(ctx):
    f = _optional("perturbation", "perturbation_curve", "perturbation")
    return [("perturbation", f(ctx["model"], ctx["task"], ctx["key"], n_directions=3 if ctx["quick"] else 10,
                               batch_size=64 if ctx["quick"] else 256))]


def _pruning(ctx):
    f = _optional("pruning", "pruning_curve", "pruning")
    return [("pruning", f(ctx["model"], ctx["task"], ctx["key"], eval_batch=64 if ctx["quick"] else 256))]


_MAX_SYMBOLS = 32  # distinct input vectors an automaton may read (3-bit flip-flop: 27)


def _automaton(ctx):
    f = _optional("automata", "extract_automaton", "automaton")
    task, run, quick = ctx["task"], ctx["run"], ctx["quick"]
    x = np.round(np.asarray(task.sample(ctx["key"], 64).inputs), 6)
    n_sym = len(np.unique(x.reshape(-1, x.shape[-1]), axis=0))
    if n_sym > _MAX_SYMBOLS:
        raise ConfigError(
            f"automaton: task '{task.name}' of run {run.id} gives {n_sym} distinct input vectors in 64 trials "
            f"(more than {_MAX_SYMBOLS}); automaton extraction needs a task with a small discrete input alphabet "
            "(e.g. nparity, ndms, streaming_parity, flipflop with at most 3 bits)")
    try:
        res = f(ctx["model"], task, ctx["key"], k_max=8 if quick else 16, batch_size=64 if quick else 256,
                test_factor=4.0 if quick else 10.0, test_batch=16 if quick else 64, max_symbols=_MAX_SYMBOLS)
    except ValueError as err:
        raise ConfigError(f"automaton on run {run.id} (task '{task.name}'): {err}") from None
    return [("automaton", res)]


def _rich_lazy(ctx):
    f = _optional("rich_lazy", "rich_lazy", "rich-lazy")
    m0 = _initial_model(ctx["run"], ctx["member"])
    return [("rich_lazy", f(m0, ctx["model"], ctx["task"], ctx["key"], batch_size=4 if ctx["quick"] else 16))]


ANALYSES: dict[str, Callable] = {
    "timescales": _timescales, "fixed-points": _fixed_points, "geometry": _geometry, "ablation": _ablation,
    "perturbation": _perturbation, "pruning": _pruning, "automaton": _automaton, "rich-lazy": _rich_lazy,
}
DEFAULT = "timescales,fixed-points,geometry"


def _parse_what(what: str) -> list[str]:
    names = [w.strip().replace("_", "-") for w in what.split(",") if w.strip()]
    if names == ["all"]:
        return list(ANALYSES)
    bad = [w for w in names if w not in ANALYSES]
    if bad or not names:
        raise ConfigError(f"--what: unknown analysis '{bad[0] if bad else what}'; valid: {', '.join(ANALYSES)}, all")
    return list(dict.fromkeys(names))


_SETTINGS = {"dt", "fit_lag", "n_steps", "n_trials", "n_init", "n_samples", "n_components", "test_factor",
             "test_steps", "finetune_steps", "n_clusters"}


def _headline(summary: dict, k: int = 4) -> str:
    items = [(n, v) for n, v in summary.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and n not in _SETTINGS]
    return ", ".join(f"{n}={v:.4g}" if isinstance(v, float) else f"{n}={v}" for n, v in items[:k])


# ---- commands ------------------------------------------------------------------------------------


def analyze(
    run_id: str = typer.Argument(..., metavar="RUN", help="run id or path"),
    what: str = typer.Option(DEFAULT, help=f"comma-separated analyses: {', '.join(ANALYSES)}, or all"),
    member_: Optional[int] = typer.Option(None, "--member", help="ensemble member to analyse (default 0)"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    quick: bool = typer.Option(False, help="smaller simulations and batches, for a fast look"),
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
) -> None:
    """Run analyses on a run's trained network; write them to RUN/analysis/ and its index.html."""
    names = _parse_what(what)
    run, model, task, e = _load(run_id, out, member_)
    ctx = {"run": run, "model": model, "task": task, "member": e, "quick": quick, "seed": seed,
           "key": jax.random.PRNGKey(seed)}
    folder = run.dir / "analysis"
    suffix = f"_m{e}" if _member_count(run) > 1 else ""
    table = Table(title=f"analyses of {run.id}" + (f" (member {e})" if _member_count(run) > 1 else ""))
    table.add_column("analysis", no_wrap=True)
    table.add_column("result")
    table.add_column("summary", overflow="fold")
    table.add_column("figure", no_wrap=True)
    for name in names:
        for stem, result in ANALYSES[name](ctx):
            png = _save(result, folder, stem + suffix)
            table.add_row(name, type(result).__name__, _headline(result.summary()), png.name)
    page = write_analysis_page(run.dir, f"rnnlab run {run.id}")
    console = Console()
    console.print(table)
    console.print(f"results in {folder.resolve()}\nreport: {page.resolve()}", soft_wrap=True)


METRICS = ("dsa", "cka", "procrustes", "weights")


def _distance(metric: str, models: list, ids: list[str], task, key, trials: int, n_delays: int, rank: int):
    from ..analysis import dmd, dsa, linear_cka, pairwise, procrustes_distance, state_trajectories, weight_distance

    if metric == "weights":
        _check_same_shape(models, ids)
        return pairwise(models, lambda a, b: weight_distance(a, b).normalized, ids, "weights (aligned ‖ΔW‖/n_params)")
    x = task.sample(key, trials).inputs
    states = [np.asarray(state_trajectories(m, x)) for m in models]
    if metric == "dsa":
        fits = [dmd(s, n_delays, min(rank, n_delays * s.shape[-1])) for s in states]
        return pairwise(fits, lambda a, b: dsa(a, b).angular, ids, "DSA (angular)")
    if metric == "cka":
        return pairwise(states, lambda a, b: 1.0 - linear_cka(a, b), ids, "1 − linear CKA")
    return pairwise(states, procrustes_distance, ids, "Procrustes (angular)")


def _arch(model) -> tuple:
    leaves = jax.tree.leaves(eqx.filter(model, eqx.is_array))
    return type(model).__name__, model.hidden_size, tuple(np.shape(x) for x in leaves)


def _check_same_shape(models: list, ids: list[str]) -> None:
    archs = [_arch(m) for m in models]
    for i, a in enumerate(archs):
        if a != archs[0]:
            raise ConfigError(
                f"--metric weights: runs {ids[0]} ({archs[0][0]}, N={archs[0][1]}) and {ids[i]} ({a[0]}, N={a[1]}) "
                "differ in architecture or size; weight distances need networks of the same kind and size")


def compare(
    run_ids: list[str] = typer.Argument(..., metavar="RUN RUN...", help="two or more run ids or paths"),
    metric: str = typer.Option("dsa", help="dsa | cka | procrustes | weights"),
    member_: Optional[int] = typer.Option(None, "--member", help="ensemble member of each run (default 0)"),
    trials: int = typer.Option(32, help="trials (of the first run's task) that drive every network"),
    n_delays: int = typer.Option(10, help="DSA delay embedding"),
    rank: int = typer.Option(10, help="DSA DMD rank"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    heatmap: Optional[Path] = typer.Option(None, help="heat map PNG (default RUNS/comparisons/METRIC-HASH.png)"),
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
) -> None:
    """Distances between the trained networks of several runs: a table and a heat map."""
    if metric not in METRICS:
        raise ConfigError(f"--metric: unknown metric '{metric}'; valid: {', '.join(METRICS)}")
    if len(run_ids) < 2:
        raise ConfigError(f"compare: needs at least two runs (got {len(run_ids)})")
    loaded = [_load(r, out, member_) for r in run_ids]
    ids = [run.id for run, *_ in loaded]
    task = loaded[0][2]
    for run, _, t, _ in loaded[1:]:
        if metric != "weights" and t.n_inputs != task.n_inputs:
            raise ConfigError(f"--metric {metric}: run {run.id} takes {t.n_inputs} inputs, run {ids[0]} "
                              f"({task.name}) gives {task.n_inputs}; the networks must accept the same trials")
    D = _distance(metric, [m for _, m, _, _ in loaded], ids, task, jax.random.PRNGKey(seed), trials, n_delays, rank)
    if heatmap is None:
        tag = hashlib.sha1("|".join(ids).encode()).hexdigest()[:8]
        heatmap = runs_root(out) / "comparisons" / f"{metric}-{tag}.png"
    D.plot(heatmap)
    D.save(heatmap.with_suffix(""))
    table = Table(title=f"{D.metric} between runs")
    table.add_column("run")
    for i in range(len(ids)):
        table.add_column(f"#{i}", justify="right")
    for i, rid in enumerate(ids):
        table.add_row(f"#{i} {rid}", *(f"{v:.4g}" for v in D.distances[i]))
    console = Console()
    console.print(table)
    console.print(f"heat map: {heatmap.resolve()}", soft_wrap=True)


def degeneracy(
    run_id: str = typer.Argument(..., metavar="ENSEMBLE_RUN", help="an ensemble run's id or path"),
    ood_factor: float = typer.Option(2.0, help="OOD task: trials/delays this many times longer"),
    trials: int = typer.Option(64, help="trials of the shared OOD batch and of each DSA trial set"),
    n_null: int = typer.Option(8, help="resampled OOD batches of the behavioural null"),
    n_delays: int = typer.Option(10, help="DSA delay embedding"),
    rank: int = typer.Option(10, help="DSA DMD rank"),
    seed: int = typer.Option(0, help="PRNG seed of the trials"),
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
) -> None:
    """Behavioural, dynamical and weight degeneracy of an ensemble run, with nulls (Huang et al. 2025)."""
    from ..analysis import degeneracy as _degeneracy

    run = open_run(run_id, out)
    n = _member_count(run)
    if n < 2:
        raise ConfigError(f"degeneracy: run {run.id} holds a single network; it needs an ensemble run "
                          "(train with --ensemble E, E ≥ 2)")
    run, models, task, _ = _load(run_id, out, None, whole=True)
    res = _degeneracy(models, task, seed, ood_factor=ood_factor, n_trials=trials, n_null=n_null, n_delays=n_delays,
                      rank=rank, names=[f"m{e}" for e in range(n)])
    png = _save(res, run.dir / "analysis", "degeneracy")
    page = write_analysis_page(run.dir, f"rnnlab run {run.id}")
    table = Table(title=f"degeneracy of {run.id} ({n} networks)")
    for col in ("level", "degeneracy", "null", "ratio"):
        table.add_column(col, justify="left" if col == "level" else "right")
    for level, value, null in res.levels():
        table.add_row(level, f"{value:.4g}", f"{null:.4g}", f"{value / null:.3g}" if null > 0 else "—")
    console = Console()
    console.print(table)
    console.print(f"figure: {png.resolve()}\nreport: {page.resolve()}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``analyze``, ``compare`` and ``degeneracy`` to the ``rnnlab`` app."""
    app.command("analyze")(analyze)
    app.command("compare")(compare)
    app.command("degeneracy")(degeneracy)
