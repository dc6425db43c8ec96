"""Per-network analyses of networks that emulate an HMM from noise (Torre et al. 2025).

Each is ``fn(model, task, ctx, **params) -> {column: float}`` (see ``rnnlab.sweep.analyses``),
built on ``rnnlab.analysis.hmm_emulation``; random draws come from ``ctx.key(salt)``.

* ``hmm_emulation``: the network's sampled symbols against the HMM's: emission marginals,
  transition matrix (each entry ``hmm_A_net_ij`` and ``hmm_A_hmm_ij``), transition rate,
  residency times, and the distances between them.
* ``hmm_attractor``: the noise-free attractor (single fixed point or not).
* ``kick_neurons``: the units whose ablation removes transitions and whose injection
  triggers them; with ``initial=True`` also for the untrained network (``_init`` columns),
  the baseline against which "a small set of units drives the transitions" is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.hmm_emulation import hmm_emulation as _emulation, kick_neurons as _kick, noise_free_attractor
from ._levels import at_level

if TYPE_CHECKING:
    from .analyses import NetworkContext

__all__ = ["hmm_emulation", "hmm_attractor", "kick_neurons"]

_EMU, _ATT, _KICK = 31, 32, 33


def hmm_emulation(model: Any, task: Any, ctx: "NetworkContext", n_trials: int = 2048, n_steps: int | None = None,
                  sampling: str = "gumbel", temperature: float = 1.0) -> dict[str, float]:
    """Symbol statistics of the network (``sampling``: ``gumbel`` as in training, or
    ``argmax``) against its HMM on ``n_trials`` noise-driven trials (``analysis.hmm_emulation``).

    Columns: ``hmm_marginal_max_diff`` (largest |Δ P(y = k)|), ``hmm_transition_max_diff``
    (largest |ΔA_ij| over rows visited by both), ``hmm_transition_frobenius``,
    ``hmm_residency_tv_max`` (largest total-variation distance between residency-time
    distributions, over symbols the HMM emits in ≥ 1 % of steps), ``hmm_rate_net``,
    ``hmm_rate_hmm`` (transition rates), ``hmm_residency_net_k``/``hmm_residency_hmm_k``
    (mean complete-run length of symbol k), ``hmm_A_net_ij``/``hmm_A_hmm_ij`` (the matrices,
    NaN for rows never visited) and ``hmm_marginal_net_k``/``hmm_marginal_hmm_k``.
    """
    t = at_level(task, model, name="hmm_emulation")
    r = _emulation(model, t, ctx.key(_EMU), n_trials=n_trials, n_steps=n_steps, sampling=sampling,
                   temperature=temperature)
    out = {"hmm_marginal_max_diff": r.marginal_max_diff, "hmm_transition_max_diff": r.transition_max_diff,
           "hmm_transition_frobenius": r.transition_frobenius, "hmm_residency_tv_max": r.residency_tv_max,
           "hmm_rate_net": r.rate_net, "hmm_rate_hmm": r.rate_hmm}
    C = len(r.marginals_net)
    for k in range(C):
        out[f"hmm_marginal_net_{k}"] = float(r.marginals_net[k])
        out[f"hmm_marginal_hmm_{k}"] = float(r.marginals_hmm[k])
        out[f"hmm_residency_net_{k}"] = float(r.mean_residency_net[k])
        out[f"hmm_residency_hmm_{k}"] = float(r.mean_residency_hmm[k])
        for j in range(C):
            out[f"hmm_A_net_{k}{j}"] = float(r.transitions_net[k, j])
            out[f"hmm_A_hmm_{k}{j}"] = float(r.transitions_hmm[k, j])
    return {k: float(v) for k, v in out.items()}


def hmm_attractor(model: Any, task: Any, ctx: "NetworkContext", n_trials: int = 256, n_steps: int = 200,
                  tol: float = 1e-2, finder: bool = True) -> dict[str, float]:
    """The noise-free attractor (``analysis.noise_free_attractor``): from ``n_trials`` states
    visited under noise, ``n_steps`` steps without input.

    Columns: ``attractor_single`` (1.0 when every run ends within ``tol`` of the mean final
    state, relative to the RMS size of the noise-driven states, and has stopped moving),
    ``attractor_spread``, ``attractor_speed``, ``attractor_norm`` (‖mean final state‖ over that
    size: 0 for the origin), ``attractor_n_stable`` (distinct stable points found by
    ``find_fixed_points`` from the noise-driven states; NaN without ``finder``).
    """
    t = at_level(task, model, name="hmm_attractor")
    a = noise_free_attractor(model, t, ctx.key(_ATT), n_trials=n_trials, n_steps=n_steps, tol=tol, finder=finder)
    return {"attractor_single": float(a.single), "attractor_spread": a.spread, "attractor_speed": a.speed,
            "attractor_norm": a.fixed_point_norm, "attractor_n_stable": float(a.n_stable) if finder else float("nan")}


def kick_neurons(model: Any, task: Any, ctx: "NetworkContext", k: int = 3, n_trials: int = 256,
                 inject_gain: float = 2.0, n_random: int = 10, initial: bool = True) -> dict[str, float]:
    """Kick neurons (``analysis.kick_neurons``): the k units whose single ablation (recurrent
    input scaled by 0) most lowers the arg-max transition rate, tested on fresh noise.

    Columns: ``kick_top_drop``, ``kick_random_drop`` (relative drop of the transition rate
    when the top k, or k random other units, are ablated together), ``kick_top_inject_ratio``,
    ``kick_random_inject_ratio`` (transition rate with recurrent gain ``inject_gain`` over the
    nominal rate), ``kick_top_share`` (the top k units' share of the summed single-unit
    drops), ``kick_rate`` (nominal arg-max transition rate); with ``initial`` the same for the
    untrained network with suffix ``_init`` (NaN without ``ctx.initial_model``).
    """
    t = at_level(task, model, name="kick_neurons")
    out: dict[str, float] = {}
    models = [("", model)] + ([("_init", ctx.initial_model)] if initial else [])
    for suffix, m in models:
        if m is None:
            r = None
        else:
            r = _kick(m, t, ctx.key(_KICK), k=k, n_trials=n_trials, inject_gain=inject_gain, n_random=n_random)
        nan = float("nan")
        ratio = (lambda x: x / r.rate_nominal if r.rate_nominal > 0 else nan) if r is not None else (lambda x: nan)
        out.update({
            f"kick_top_drop{suffix}": r.top_drop if r else nan,
            f"kick_random_drop{suffix}": r.random_drop if r else nan,
            f"kick_top_inject_ratio{suffix}": ratio(r.rate_top_injected) if r else nan,
            f"kick_random_inject_ratio{suffix}": ratio(r.rate_random_injected) if r else nan,
            f"kick_top_share{suffix}": r.top_share if r else nan,
            f"kick_rate{suffix}": r.rate_nominal if r else nan,
        })
    return {k_: float(np.asarray(v)) for k_, v in out.items()}
