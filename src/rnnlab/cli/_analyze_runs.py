"""The computing side of ``rnnlab analyze | compare | degeneracy`` (``analyze_cmds``): loading a
stored network and running analyses on it. Imported only when one of those commands runs, so
that the command line starts without JAX."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Optional

import equinox as eqx
import jax
import numpy as np

from ..errors import ConfigError
from ..store import open_run
from ..tasks.compiled import sample_batch
from ..train import initial_state, layout_task, member
from .analyze_cmds import ANALYSIS_NAMES

# ---- loading a run -----------------------------------------------------------------------------


def member_count(run) -> int:
    return run.config().train.ensemble or 1


def load(run_id: str, out: Optional[Path], e: Optional[int], whole: bool = False):
    """``(run, model, task, e)``: the run's network (member ``e`` of an ensemble, default 0; the whole
    stacked ensemble if ``whole``) and the task it was trained on (at the level member ``e`` reached)."""
    run = open_run(run_id, out)
    cfg = run.config()
    n = member_count(run)
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


def initial_model(run, e: int):
    """The member's weights before training (the run's initial state is rebuilt from its seed)."""
    cfg = run.config()
    m0 = initial_state(cfg.build_model_config(), cfg.build_task(), cfg.train, jax.random.PRNGKey(cfg.seed)).model
    return member(m0, e) if cfg.train.ensemble else m0


def save(result: Any, folder: Path, name: str) -> Path:
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
    x = sample_batch(ctx["task"], ctx["key"], 32 if ctx["quick"] else 128).inputs
    traj = state_trajectories(ctx["model"], x)
    return [("fixed_points", find_fixed_points(ctx["model"], traj, n_init=n_init, adam_steps=steps, key=ctx["seed"]))]


def _geometry(ctx):
    from ..analysis import jacobian_spectrum, pca, state_trajectories, weight_spectrum

    model, x = ctx["model"], sample_batch(ctx["task"], ctx["key"], 32 if ctx["quick"] else 128).inputs
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
    x = np.round(np.asarray(sample_batch(task, ctx["key"], 64).inputs), 6)
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
    m0 = initial_model(ctx["run"], ctx["member"])
    return [("rich_lazy", f(m0, ctx["model"], ctx["task"], ctx["key"], batch_size=4 if ctx["quick"] else 16))]


ANALYSES: dict[str, Callable] = {  # the keys are analyze_cmds.ANALYSIS_NAMES, in order
    "timescales": _timescales, "fixed-points": _fixed_points, "geometry": _geometry, "ablation": _ablation,
    "perturbation": _perturbation, "pruning": _pruning, "automaton": _automaton, "rich-lazy": _rich_lazy,
}


assert tuple(ANALYSES) == ANALYSIS_NAMES


def parse_what(what: str) -> list[str]:
    names = [w.strip().replace("_", "-") for w in what.split(",") if w.strip()]
    if names == ["all"]:
        return list(ANALYSES)
    bad = [w for w in names if w not in ANALYSES]
    if bad or not names:
        raise ConfigError(f"--what: unknown analysis '{bad[0] if bad else what}'; valid: {', '.join(ANALYSES)}, all")
    return list(dict.fromkeys(names))


_SETTINGS = {"dt", "fit_lag", "n_steps", "n_trials", "n_init", "n_samples", "n_components", "test_factor",
             "test_steps", "finetune_steps", "n_clusters"}


def headline(summary: dict, k: int = 4) -> str:
    items = [(n, v) for n, v in summary.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and n not in _SETTINGS]
    return ", ".join(f"{n}={v:.4g}" if isinstance(v, float) else f"{n}={v}" for n, v in items[:k])


def distance(metric: str, models: list, ids: list[str], task, key, trials: int, n_delays: int, rank: int):
    from ..analysis import dmd, dsa, linear_cka, pairwise, procrustes_distance, state_trajectories, weight_distance

    if metric == "weights":
        _check_same_shape(models, ids)
        return pairwise(models, lambda a, b: weight_distance(a, b).normalized, ids, "weights (aligned ‖ΔW‖/n_params)")
    x = sample_batch(task, key, trials).inputs
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
