"""Per-network analyses of the sweep registry: timescales, fixed points, rich/lazy learning,
ablation and perturbation.

Each is ``fn(model, task, ctx, **params) -> {column: float}`` (see ``rnnlab.sweep.analyses``):
flat scalars, per-level results under ``"<name>@N=<n>"``, and keys drawn from
``ctx.key(salt)`` only, so a network's results depend on its seed and nothing else. A network
is evaluated on the task it is given, at that task's level (the sweep gives a curriculum
network its final level, and a stage model its own with ``at``), laid out for the model's
readout heads (``_levels.at_level``); booleans come back as 0/1 floats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import jax
import numpy as np

from ..analysis import (
    ablation_curve,
    find_fixed_points,
    network_timescales as _network_timescales,
    perturbation_curve,
    rich_lazy as _rich_lazy,
    single_neuron_taus,
    state_trajectories,
)
from ..errors import ConfigError
from ..models import RecurrentModel
from ..tasks import Task
from ..tasks.compiled import sample_batch
from ._levels import at_level, param_column, per_n, stage_list, stage_task

if TYPE_CHECKING:
    from .analyses import NetworkContext

__all__ = ["timescales", "network_timescales", "fixed_points", "rich_lazy", "ablation", "perturbation",
           "dimensionality"]

# salts of ctx.key: one per analysis, so that analyses never share random draws by accident
_NTS, _FP, _RL, _ABL, _PERT, _DIM = 11, 12, 13, 14, 15, 16


# ---- single-neuron τ -----------------------------------------------------------------------
def timescales(model: RecurrentModel, task: Task, ctx: "NetworkContext") -> dict[str, float]:
    """Single-neuron time constants τ (``model.taus()``) of the trained model and of each stage.

    Columns: ``tau_mean``, ``tau_median``, ``tau_max`` over the units of the trained model;
    ``tau_mean@N=n``, ``tau_median@N=n`` for the model at the moment it passed level n
    (``ctx.stage_models``). Khajehabdollahi, Zeraati et al. (ICLR 2024): single-head networks
    grow τ with N, multi-head networks keep it about constant. Models without τ (GRU, LSTM ...)
    give no columns. It covers the stages itself: run it at the final model (``at: final``).
    """
    taus = single_neuron_taus(model)
    if taus is None:
        return {}
    out = {"tau_mean": float(np.mean(taus)), "tau_median": float(np.median(taus)), "tau_max": float(np.max(taus))}
    for n, m in stage_list(ctx):
        t = single_neuron_taus(m)
        out[per_n("tau_mean", n)], out[per_n("tau_median", n)] = float(np.mean(t)), float(np.median(t))
    return out


# ---- network-mediated τ --------------------------------------------------------------------
def _nts_columns(res: Any) -> dict[str, float]:
    s = res.summary()
    nan = float("nan")
    return {
        "tau_net_mean": nan if s["tau_net_mean"] is None else s["tau_net_mean"],
        "tau_net_median": nan if s["tau_net_median"] is None else s["tau_net_median"],
        "tau_net_pop": float(res.pop_tau),
        "tau_net_flagged": float(s["frac_flagged"]),
        "tau_net_faster": float(s["frac_faster_than_leak"]),
        "tau_net_pop_flag": float(res.pop_flag),
        "tau_net_reliable": float(s["reliable"]),
    }


def network_timescales(
    model: RecurrentModel,
    task: Task,
    ctx: "NetworkContext",
    n_steps: int = 20_000,
    n_trials: int = 10,
    burn_in: int = 500,
    fit_lag: int | str = "auto",
    tau_max: float = 1000.0,
    stages: bool = True,
) -> dict[str, float]:
    """Network-mediated timescales τ_net from activity autocorrelations (``analysis.network_timescales``).

    Procedure (Khajehabdollahi, Zeraati et al., ICLR 2024): run the network for ``n_trials``
    × (``burn_in`` + ``n_steps``) steps on a stream of task trials (the task at the model's
    level), fit one and two exponentials to each unit's trial-averaged autocorrelation over
    lags 0..K and keep, by AIC, the slowest timescale. ``fit_lag="auto"`` (default) sets K per
    unit where the AC falls below e^{−2} (``analysis.auto_fit_lag``); 30 is the paper's fixed
    window, whose fits cannot exceed about 100 steps. ``tau_max`` bounds every τ (the paper:
    100). Fits at that bound, failed fits and units faster than their own leak are flagged.

    Columns (the trained model; with ``stages`` also ``<column>@N=n`` for each stage model,
    driven by the task at level n): ``tau_net_mean``, ``tau_net_median`` (over the units with
    a fit, flagged ones included), ``tau_net_pop`` (the summed activity's τ),
    ``tau_net_flagged`` (fraction of units whose fit sits at ``tau_max`` or failed),
    ``tau_net_faster`` (fraction of units faster than their own leak: reported, not counted as
    flagged, see ``analysis.timescales``), ``tau_net_pop_flag`` (the population fit's bitmask,
    ``analysis.TIMESCALE_FLAGS``), ``tau_net_reliable`` (1.0 when at most 10 % of the units
    and not the population are flagged). With ``stages`` it covers the stages itself: run it
    at the final model (``at: final``).

    Cost: one simulation of ``n_trials · (n_steps + burn_in)`` steps and two curve fits per
    unit, per model. Measured with the defaults on one CPU core (N-parity input): 1.5 s for a
    64-unit network and 3.2 s for 128 units, plus 3 s of compilation per model structure (the
    stage models share it); times the number of stages with ``stages``.
    """
    out: dict[str, float] = {}
    key = ctx.key(_NTS)
    settings = dict(n_steps=n_steps, burn_in=burn_in, n_trials=n_trials, fit_lag=fit_lag, tau_max=tau_max)
    res = _network_timescales(model, at_level(task, model, name="network_timescales"), key, **settings)
    out.update(_nts_columns(res))
    if stages:
        for n, m in stage_list(ctx):
            t = stage_task(task, m, ctx, n, name="network_timescales")
            res = _network_timescales(m, t, jax.random.fold_in(key, n), **settings)
            out.update({per_n(k, n): v for k, v in _nts_columns(res).items()})
    return out


# ---- fixed points --------------------------------------------------------------------------
def _corner_columns(outputs: np.ndarray, stable: np.ndarray, one_saddle: np.ndarray, tol: float) -> dict[str, float]:
    """The corner columns of ``fixed_points`` from the readouts ``[K, O]`` of the points."""
    corner = np.where(outputs >= 0, 1.0, -1.0)
    off = np.abs(outputs - corner)  # distance of each readout coordinate from the nearest ±1
    at_corner = np.all(off <= tol, axis=1)
    hit = corner[stable & at_corner]
    # a saddle between two corners: every coordinate but one at ±1, that one strictly inside (−1, 1)
    free = off > tol
    between = (free.sum(axis=1) == 1) & np.all(np.where(free, np.abs(outputs) < 1 - tol, True), axis=1)
    return {
        "fp_stable_at_corners": float(np.mean(at_corner[stable])) if stable.any() else float("nan"),
        "fp_corners_covered": float(len(np.unique(hit, axis=0))) if len(hit) else 0.0,
        "fp_saddles_between": float(np.sum(between & one_saddle)),
    }


def fixed_points(
    model: RecurrentModel,
    task: Task,
    ctx: "NetworkContext",
    n_inits: int = 1024,
    tol: float = 0.25,
    corners: bool = False,
    q_tol: float = 1e-9,
    init_noise: float = 0.5,
    batch_size: int = 64,
    time: str = "discrete",
) -> dict[str, float]:
    """Fixed points of the zero-input dynamics and their stability (Sussillo & Barak 2013).

    ``analysis.find_fixed_points`` on ``h ↦ F(h, 0)`` (zero input: the flip-flop's memory
    state), from ``n_inits`` states of the network's own trajectories on ``batch_size`` task
    trials plus Gaussian noise of ``init_noise`` times the trajectories' RMS spread per
    coordinate (so that starts also fall near the saddles between attractors); points with
    speed ``q = ½‖F(h) − h‖² < q_tol`` are kept. At each, the eigenvalues λ of the step
    Jacobian ``∂F/∂h``: a direction is unstable when ``|λ| > 1`` (``time="discrete"``, the map
    itself) or ``Re λ > 1`` (``"continuous"``: F read as an Euler step).

    Columns: ``fp_n`` (points), ``fp_n_stable``, ``fp_n_saddles1`` (points with exactly one
    unstable direction). With ``corners`` (the N-bit flip-flop, readout in {−1, +1}^N):
    ``fp_stable_at_corners``, the fraction of stable points whose readout is within ``tol``
    (max-norm) of a corner of the cube (NaN without stable points); ``fp_corners_covered``,
    how many distinct corners they reach (2^N for a perfect network: Sussillo & Barak's 8
    memories of the 3-bit flip-flop); ``fp_saddles_between``, how many one-unstable-direction
    saddles have their readout on an edge between two corners (all coordinates but one within
    ``tol`` of ±1, that one inside ``(−1 + tol, 1 − tol)``): N·2^(N−1) edges for the cube.
    """
    if time not in ("discrete", "continuous"):
        raise ConfigError(f"fixed_points.time: must be 'discrete' or 'continuous' (got {time!r})")
    t = at_level(task, model, name="fixed_points")
    k_data, k_init = jax.random.split(ctx.key(_FP))
    traj = np.asarray(state_trajectories(model, sample_batch(t, k_data, batch_size).inputs))
    cloud = traj.reshape(-1, traj.shape[-1])
    sigma = float(np.sqrt(np.mean((cloud - cloud.mean(axis=0)) ** 2)))
    fp = find_fixed_points(model, traj, n_init=n_inits, key=k_init, init_noise=init_noise * sigma, q_tol=q_tol,
                           time=time)
    one = fp.unstable_directions == 1
    out = {"fp_n": float(len(fp.points)), "fp_n_stable": float(fp.n_stable), "fp_n_saddles1": float(one.sum())}
    if corners:
        out.update(_corner_columns(fp.outputs, fp.stable, one, tol))
    return out


# ---- rich vs lazy --------------------------------------------------------------------------
def rich_lazy(
    model: RecurrentModel,
    task: Task,
    ctx: "NetworkContext",
    batch_size: int = 16,
    n_times: int | None = 10,
    times: Sequence[int] | None = None,
    probe_time: int = -1,
) -> dict[str, float]:
    """How far training moved the network from its initialisation (Liu et al., ICLR 2024;
    Huang et al., NeurIPS 2025), via ``analysis.rich_lazy`` on one probe batch of the task.

    Columns: ``weight_change_rel`` = ‖W_T − W_0‖_F / ‖W_0‖_F of the recurrent matrix;
    ``kernel_alignment`` = Tr(K_T K_0)/(‖K_T‖_F ‖K_0‖_F) of the tangent kernels with respect to
    the recurrent weights (``K = J Jᵀ``, one row of J per trial, time and output: 1 = lazy);
    ``representation_alignment``, the same cosine between the Gram matrices ``h hᵀ`` of the
    hidden states at ``probe_time``; ``eff_rank_0``, ``eff_rank_T``, the effective rank
    exp(entropy of normalised singular values) of W before and after.

    The kernel uses the outputs at ``times`` (step indices) or, by default, at ``n_times``
    steps evenly spaced over the trial, last step included (``n_times=None``: every step, as
    in Liu et al.; the Jacobian has ``batch · steps · outputs × N²`` entries, which for 128
    units and 100 steps is too large for a per-network analysis). Needs ``ctx.initial_model``.
    """
    if ctx.initial_model is None:
        raise ConfigError("rich_lazy: needs the initial model (ctx.initial_model is None)")
    t = at_level(task, model, name="rich_lazy")
    if times is None and n_times is not None:
        times = np.unique(np.round(np.linspace(0, t.n_steps - 1, int(n_times))).astype(int)).tolist()
    r = _rich_lazy(ctx.initial_model, model, t, ctx.key(_RL), batch_size=batch_size, times=times,
                   probe_time=probe_time)
    return {
        "weight_change_rel": float(r.weight_change),
        "kernel_alignment": float(r.kernel_alignment),
        "representation_alignment": float(r.representation_alignment),
        "eff_rank_0": float(r.effective_rank_0),
        "eff_rank_T": float(r.effective_rank_T),
    }


# ---- ablation ------------------------------------------------------------------------------
def ablation(
    model: RecurrentModel,
    task: Task,
    ctx: "NetworkContext",
    k: int = 10,
    k_single: int = 20,
    batch_size: int = 256,
) -> dict[str, float]:
    """Task-metric drop when units are silenced, by their trained τ (Khajehabdollahi, Zeraati
    et al., ICLR 2024, ``compute_ablate_tau.py``; ``analysis.ablation_curve``).

    Ablating a unit zeroes its recurrent row and column, input weights, bias and readout
    column. The drop is ``metric(intact) − metric(ablated)`` for higher-is-better metrics
    (accuracy) and the reverse for losses, so positive = worse, on one batch of
    ``batch_size`` trials shared by every entry. Columns: ``ablate_intact`` (the intact
    metric); ``ablate_slow_drop`` / ``ablate_fast_drop``: the ``k`` slowest / fastest units by
    τ ablated together; ``ablate_slow_single_drop`` / ``ablate_fast_single_drop``: the mean
    drop over the ``k_single`` slowest / fastest units ablated one at a time (the paper's 20
    and 20); ``ablate_tau_ratio``: mean τ of the k slowest over that of the k fastest (1 means
    the two sets are not different: ties in τ are broken by unit index). Both k are capped at
    half the units, so the slow and fast sets never overlap; ``k = 0`` gives zero drops.
    """
    taus = single_neuron_taus(model)
    if taus is None:
        raise ConfigError(f"ablation: {type(model).__name__} has no time constants τ to order units by")
    t = at_level(task, model, name="ablation")
    half = model.hidden_size // 2
    k, k_single = min(int(k), half), min(int(k_single), half)
    key = ctx.key(_ABL)

    def drops(n: int, slowest: bool, cumulative: bool) -> tuple[float, np.ndarray]:
        c = ablation_curve(model, t, key, order="tau", k=n, slowest=slowest, cumulative=cumulative,
                           batch_size=batch_size)
        return c.baseline, c.drop

    base, slow = drops(k, True, True)
    _, fast = drops(k, False, True)
    _, slow1 = drops(k_single, True, False)
    _, fast1 = drops(k_single, False, False)
    order = np.argsort(taus, kind="stable")
    ratio = float(np.mean(taus[order[::-1][:k]]) / np.mean(taus[order[:k]])) if k else float("nan")
    return {
        "ablate_intact": float(base),
        "ablate_slow_drop": float(slow[-1]) if k else 0.0,
        "ablate_fast_drop": float(fast[-1]) if k else 0.0,
        "ablate_slow_single_drop": float(np.mean(slow1)) if k_single else 0.0,
        "ablate_fast_single_drop": float(np.mean(fast1)) if k_single else 0.0,
        "ablate_tau_ratio": ratio,
    }


# ---- perturbation --------------------------------------------------------------------------
def perturbation(
    model: RecurrentModel,
    task: Task,
    ctx: "NetworkContext",
    eps: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.5),
    n_draws: int = 10,
    batch_size: int = 256,
    target: str = "weights",
) -> dict[str, float]:
    """Task-metric drop under normalised random perturbations of the recurrent weights
    (Li et al., NeurIPS 2020, eq. 5, as used by Khajehabdollahi, Zeraati et al. 2024;
    ``analysis.perturbation_curve``).

    For each ε and each of ``n_draws`` Gaussian directions d (the same d at every ε):
    ``W ← W + ε ‖W‖_F d / ‖d‖_F`` (``target="tau"``: the same on the vector of τ), and the drop
    of the task metric (positive = worse) on one shared batch. Columns: ``perturb_intact``;
    ``perturb_drop@eps=<ε>``, the mean drop over the draws; ``perturb_drop_se@eps=<ε>``, its
    standard error ``sd / √n_draws`` (NaN for one draw). ``<ε>`` is written ``%g`` with ``p``
    for the decimal point (``0.1 → 0p1``, ``param_column``): column names hold no ``.``.
    ``ε = 0`` leaves the network unchanged (drop exactly 0).
    """
    if target not in ("weights", "tau"):
        raise ConfigError(f"perturbation.target: must be 'weights' or 'tau' (got {target!r})")
    if n_draws < 1:
        raise ConfigError(f"perturbation.n_draws: must be >= 1 (got {n_draws})")
    t = at_level(task, model, name="perturbation")
    c = perturbation_curve(model, t, ctx.key(_PERT), [float(e) for e in eps], int(n_draws), target=target,
                           batch_size=batch_size)
    out = {"perturb_intact": float(c.baseline)}
    for e, d in zip(c.eps, c.drop):
        se = float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
        out[param_column("perturb_drop", "eps", e)] = float(np.mean(d))
        out[param_column("perturb_drop_se", "eps", e)] = se
    return out


# ---- dimensionality --------------------------------------------------------------------------
def dimensionality(
    model: RecurrentModel, task: Task, ctx: "NetworkContext", batch_size: int = 128, variance: float = 0.9
) -> dict[str, float]:
    """Dimensionality of the network's activity on task trials (``analysis.pca``).

    On ``batch_size`` trials of the task at its level, the activity ``h_t`` of every (trial, time)
    sample is one point in R^N; with λ_i the eigenvalues of its covariance:
    ``dim_pr`` = participation ratio ``(Σλ)² / Σλ²`` (Gao et al. 2017), and ``dim_pcs`` = the
    number of principal components needed to explain ``variance`` of the total (the measure of
    Khajehabdollahi, Zeraati et al. 2024, who count PCs up to a maximum explained variance).
    """
    if not 0 < variance <= 1:
        raise ConfigError(f"dimensionality.variance: must be in (0, 1] (got {variance})")
    from ..analysis import pca
    from ..models import run

    t = at_level(task, model, name="dimensionality")
    batch = sample_batch(t, ctx.key(_DIM), batch_size)
    activity = np.asarray(run(model, batch.inputs, ctx.key(_DIM + 100))[0], dtype=np.float64)
    p = pca(activity)
    return {"dim_pr": float(p.participation_ratio), "dim_pcs": float(p.n_for(variance))}
