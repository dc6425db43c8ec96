"""Does a noise-driven network emit an HMM's symbol process? (Torre, Viscione, Pompe, Grewe & Mante 2025)

A network trained on the ``hmm`` task receives i.i.d. N(0, 1) noise and emits one of C
symbols per step. Its symbol sequences are drawn as in training: straight-through
Gumbel-softmax of the readout logits, whose forward value is an exact draw from
``softmax(logits)`` (``sampling="gumbel"``), or the arg-max symbol (``"argmax"``, as the
paper's ``mechint.py`` reads the state). The HMM's own sequences come from the task.

Statistics of a batch of symbol sequences ``y[b, t]`` (pooled over trials, never across a
trial boundary):

* emission marginals ``m_k = P(y_t = k)``;
* the empirical transition matrix ``Â_ij = n_ij / Σ_j n_ij``, ``n_ij = #{(b, t): y_{t−1} = i,
  y_t = j}`` (the maximum-likelihood estimate of a first-order Markov chain; rows never
  visited are NaN);
* the transition rate ``P(y_t ≠ y_{t−1})``;
* residency times: the lengths of maximal runs of one symbol. Runs that touch the first or
  last step of a trial are censored (their true length is unknown) and dropped, so for a
  Markov chain with ``P(stay) = p`` the complete runs are geometric, ``P(L = l) = p^{l−1}(1 − p)``
  with mean ``1/(1 − p)``, up to the bias against runs longer than the trial (negligible when
  ``T ≫ 1/(1 − p)``, and the same for network and HMM when both are measured at one T).

Distances between network and HMM: the largest absolute difference of any transition-matrix
entry (rows visited by both) and its Frobenius norm; the largest marginal difference; per
symbol, the total-variation distance between the two residency-time distributions
``½ Σ_l |p(l) − q(l)|``.

The mechanism (paper Fig. 2–5):

* ``noise_free_attractor``: from states the network visits under noise, run it with zero
  input; the paper's fixed point is the mean final state. "A single fixed point" is read as:
  every run ends within ``tol`` (relative to the RMS size of the noise-driven states) of that
  mean and has stopped moving. A bias-free ReLU network (the paper's) always has the fixed
  point h = 0 at zero input, and its dynamics are positively homogeneous, so a fixed point
  other than 0 comes with the whole ray through it. The noise-driven and noise-free
  trajectories in the first two principal components of the noise-driven states are kept for
  figures.
* ``kick_neurons``: the paper's ablation/injection (``mechint.py``: unit i's recurrent input
  ``(W h)_i`` scaled by a gain μ; μ = 0 ablates it, μ = 2 excites it). Each unit is ablated on
  its own and the drop of the arg-max symbols' transition rate measured on one set of noise;
  the k units with the largest drops are the kick neurons. On fresh noise, ablating those k
  together is compared with ablating k random other units, and injecting them (μ = 2) with
  the nominal network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from ..tasks.compiled import sample_batch
from ._results import Result, _figure, _finish

__all__ = ["network_symbols", "hmm_symbols", "transition_matrix", "transition_rate", "residency_times",
           "residency_pmf", "HMMEmulation", "hmm_emulation", "NoiseFreeAttractor", "noise_free_attractor",
           "KickNeurons", "kick_neurons"]


# ---- symbol sequences --------------------------------------------------------------------
def _noise(task: Any, key: jax.Array, n_trials: int, n_steps: int) -> jax.Array:
    """The task's input: i.i.d. N(0, 1) on each of its ``n_inputs`` channels."""
    return jax.random.normal(key, (n_trials, n_steps, task.n_inputs))


@eqx.filter_jit
def _simulate(model: Any, inputs: jax.Array, h0: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Activity ``[B, T, N]`` and readout ``[B, T, O]`` of ``model`` driven by ``inputs`` from
    ``h0`` ``[B, N]`` (default: the model's initial state), one ``lax.scan`` over time."""
    B = inputs.shape[0]
    if h0 is None:
        h0 = jnp.broadcast_to(model.initial_state(), (B, model.initial_state().shape[0]))

    def step(h, x):
        h, a = jax.vmap(lambda hb, xb: model.step(hb, xb, None))(h, x)
        return h, a

    _, act = jax.lax.scan(step, h0, jnp.swapaxes(inputs, 0, 1))
    act = jnp.swapaxes(act, 0, 1)
    return act, jax.vmap(jax.vmap(model.readout))(act)


def _symbols(logits: jax.Array, key: jax.Array, sampling: str, temperature: float) -> np.ndarray:
    if sampling == "argmax":
        return np.asarray(jnp.argmax(logits, -1))
    if sampling == "gumbel":
        from ..objectives.distribution import gumbel_softmax

        return np.asarray(jnp.argmax(gumbel_softmax(logits, key, temperature), -1))
    raise ConfigError(f"sampling: must be 'gumbel' or 'argmax', got {sampling!r}")


def _check_task(task: Any) -> None:
    if getattr(task, "loss", None) != "cross_entropy" or getattr(task, "n_outputs", 0) != getattr(task, "n_classes", -1):
        raise ConfigError(f"task: needs a single-head categorical task such as 'hmm' (got '{getattr(task, 'name', task)}')")


def network_symbols(model: Any, task: Any, key: Any = 0, n_trials: int = 1024, n_steps: int | None = None,
                    sampling: Literal["gumbel", "argmax"] = "gumbel", temperature: float = 1.0) -> np.ndarray:
    """Symbol sequences ``[n_trials, n_steps]`` of ``model`` driven by the task's noise input
    (``n_steps``: the task's length by default), drawn by ``sampling`` (module docstring)."""
    _check_task(task)
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_in, k_s = jax.random.split(key)
    _, logits = _simulate(model, _noise(task, k_in, n_trials, n_steps or task.n_steps))
    return _symbols(logits, k_s, sampling, temperature)


def hmm_symbols(task: Any, key: Any = 0, n_trials: int = 1024, n_steps: int | None = None) -> np.ndarray:
    """The task's own emission sequences ``[n_trials, n_steps]`` (``info["symbols"]``); with
    ``n_steps`` the task is re-made with that fixed duration."""
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    if n_steps is not None and n_steps != task.n_steps:
        task = type(task)(**{**task.params(), "duration": float(n_steps) * task.dt})
    return np.asarray(sample_batch(task, key, n_trials).info["symbols"])


# ---- statistics --------------------------------------------------------------------------
def transition_counts(symbols: np.ndarray, n_classes: int) -> np.ndarray:
    """``n_ij``: consecutive pairs ``(y_{t−1} = i, y_t = j)`` within trials, ``[C, C]``."""
    y = np.asarray(symbols)
    idx = (y[:, :-1] * n_classes + y[:, 1:]).ravel()
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes).astype(float)


def transition_matrix(symbols: np.ndarray, n_classes: int) -> np.ndarray:
    """The empirical transition matrix ``Â_ij = n_ij / Σ_j n_ij`` (NaN rows: never visited)."""
    n = transition_counts(symbols, n_classes)
    rows = n.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, n / np.maximum(rows, 1), np.nan)


def transition_rate(symbols: np.ndarray) -> float:
    """``P(y_t ≠ y_{t−1})`` over all consecutive pairs within trials."""
    y = np.asarray(symbols)
    return float(np.mean(y[:, 1:] != y[:, :-1]))


def residency_times(symbols: np.ndarray, n_classes: int, censored: bool = False) -> list[np.ndarray]:
    """Per symbol, the lengths of its maximal runs; runs touching a trial's first or last step
    are dropped unless ``censored`` (module docstring)."""
    y = np.asarray(symbols)
    B, T = y.shape
    change = np.ones((B, T + 1), bool)
    change[:, 1:T] = y[:, 1:] != y[:, :-1]
    out: list[list[int]] = [[] for _ in range(n_classes)]
    b_idx, t_idx = np.nonzero(change)
    for b in range(B):  # runs of one trial: between consecutive change points
        ts = t_idx[b_idx == b]
        starts, ends = ts[:-1], ts[1:]
        keep = np.ones(len(starts), bool) if censored else (starts > 0) & (ends < T)
        for s, e in zip(starts[keep], ends[keep]):
            out[y[b, s]].append(e - s)
    return [np.asarray(r, int) for r in out]


def residency_pmf(symbols: np.ndarray, n_classes: int, max_len: int) -> np.ndarray:
    """``[C, max_len]``: per symbol the distribution of complete run lengths 1..max_len (longer
    runs in the last bin; a symbol without complete runs gives a row of NaN)."""
    out = np.full((n_classes, max_len), np.nan)
    for k, r in enumerate(residency_times(symbols, n_classes)):
        if len(r):
            out[k] = np.bincount(np.minimum(r, max_len) - 1, minlength=max_len)[:max_len] / len(r)
    return out


def _mean_residency(symbols: np.ndarray, n_classes: int) -> np.ndarray:
    return np.array([r.mean() if len(r) else np.nan for r in residency_times(symbols, n_classes)])


@dataclass(frozen=True)
class HMMEmulation(Result):
    """Symbol statistics of a network and of its HMM (module docstring).

    Arrays: ``marginals_net``/``_hmm`` ``[C]``, ``transitions_net``/``_hmm`` ``[C, C]``,
    ``residency_net``/``_hmm`` ``[C, L]`` (pmf of complete run lengths 1..L, last bin ≥ L),
    ``mean_residency_net``/``_hmm`` ``[C]``, ``residency_tv`` ``[C]`` (TV distance per symbol;
    NaN where either has no complete runs). Scalars: ``rate_net``/``_hmm`` (transition rates),
    ``transition_max_diff`` (largest |ΔA_ij| over rows visited by both), ``transition_frobenius``,
    ``marginal_max_diff``, ``residency_tv_max`` (over symbols the HMM visits in at least 1 % of
    steps), ``n_trials``, ``n_steps``, ``sampling``.
    """

    marginals_net: np.ndarray
    marginals_hmm: np.ndarray
    transitions_net: np.ndarray
    transitions_hmm: np.ndarray
    residency_net: np.ndarray
    residency_hmm: np.ndarray
    mean_residency_net: np.ndarray
    mean_residency_hmm: np.ndarray
    residency_tv: np.ndarray
    rate_net: float
    rate_hmm: float
    transition_max_diff: float
    transition_frobenius: float
    marginal_max_diff: float
    residency_tv_max: float
    n_trials: int
    n_steps: int
    sampling: str

    def summary(self) -> dict[str, Any]:
        keys = ("rate_net", "rate_hmm", "transition_max_diff", "transition_frobenius", "marginal_max_diff",
                "residency_tv_max", "n_trials", "n_steps", "sampling")
        return {k: Result.summary(self)[k] for k in keys}

    def plot(self, path: str | Path | None = None):
        """Transition matrices side by side and the residency-time distributions."""
        fig, axes = _figure(3, 1, size=(3.6, 3.2))
        C = len(self.marginals_net)
        for ax, A, title in ((axes[0], self.transitions_hmm, "HMM"), (axes[1], self.transitions_net, "network")):
            ax.imshow(np.nan_to_num(A), vmin=0, vmax=1, cmap="viridis")
            for i in range(C):
                for j in range(C):
                    ax.text(j, i, "–" if np.isnan(A[i, j]) else f"{A[i, j]:.2f}", ha="center", va="center",
                            color="w" if np.nan_to_num(A[i, j]) < 0.6 else "k", fontsize=8)
            ax.set(title=f"{title}: P(y_t = j | y_t−1 = i)", xlabel="symbol j at t", xticks=range(C), yticks=range(C))
            ax.set_ylabel("symbol i at t − 1")
        L = self.residency_hmm.shape[1]
        colours = ("tab:blue", "tab:orange", "tab:green", "tab:red")
        for k in range(C):
            if np.all(np.isnan(self.residency_hmm[k])):
                continue
            c = colours[k % len(colours)]
            ax = axes[2]
            ax.plot(np.arange(1, L + 1), self.residency_hmm[k], "-", color=c, label=f"HMM, symbol {k}")
            ax.plot(np.arange(1, L + 1), self.residency_net[k], "o", ms=3, color=c, label=f"network, symbol {k}")
        axes[2].set(yscale="log", xlabel="residency time (steps)", ylabel="fraction of runs",
                    title="residency times")
        axes[2].legend(fontsize=6)
        return _finish(fig, path)


def _residency_tv(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(p - q).sum(axis=1)  # NaN rows stay NaN


def hmm_emulation(model: Any, task: Any, key: Any = 0, n_trials: int = 2048, n_steps: int | None = None,
                  sampling: Literal["gumbel", "argmax"] = "gumbel", temperature: float = 1.0,
                  max_residency: int | None = None) -> HMMEmulation:
    """Compare the symbol statistics of ``model`` (noise-driven) with its HMM ``task`` on
    ``n_trials`` trials of ``n_steps`` (the task's length by default) each (module docstring).

    ``max_residency``: the residency histograms' last bin (default ``n_steps``).
    """
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_net, k_hmm = jax.random.split(key)
    T = n_steps or task.n_steps
    C = task.n_classes
    y_net = network_symbols(model, task, k_net, n_trials, T, sampling, temperature)
    y_hmm = hmm_symbols(task, k_hmm, n_trials, T)
    L = max_residency or T
    A_net, A_hmm = transition_matrix(y_net, C), transition_matrix(y_hmm, C)
    m_net = np.bincount(y_net.ravel(), minlength=C) / y_net.size
    m_hmm = np.bincount(y_hmm.ravel(), minlength=C) / y_hmm.size
    r_net, r_hmm = residency_pmf(y_net, C, L), residency_pmf(y_hmm, C, L)
    tv = _residency_tv(r_net, r_hmm)
    both = ~np.isnan(A_net).any(1) & ~np.isnan(A_hmm).any(1)
    diff = np.abs(A_net - A_hmm)[both]
    often = m_hmm >= 0.01
    # a symbol the HMM emits often but the network never completes a run of: maximal distance 1
    tv_often = np.where(np.isnan(tv[often]), 1.0, tv[often])
    return HMMEmulation(
        marginals_net=m_net, marginals_hmm=m_hmm, transitions_net=A_net, transitions_hmm=A_hmm,
        residency_net=r_net, residency_hmm=r_hmm,
        mean_residency_net=_mean_residency(y_net, C), mean_residency_hmm=_mean_residency(y_hmm, C),
        residency_tv=tv, rate_net=transition_rate(y_net), rate_hmm=transition_rate(y_hmm),
        transition_max_diff=float(diff.max()) if diff.size else float("nan"),
        transition_frobenius=float(np.sqrt((diff ** 2).sum())) if diff.size else float("nan"),
        marginal_max_diff=float(np.abs(m_net - m_hmm).max()),
        residency_tv_max=float(tv_often.max()) if tv_often.size else float("nan"),
        n_trials=int(n_trials), n_steps=int(T), sampling=str(sampling),
    )


# ---- the noise-free attractor ------------------------------------------------------------
@dataclass(frozen=True)
class NoiseFreeAttractor(Result):
    """Where the network goes without input (module docstring).

    Arrays: ``final_states`` ``[K, N]`` (after ``n_steps`` without input, from K states visited
    under noise), ``fixed_point`` ``[N]`` (their mean), ``noisy_pcs``/``free_pcs``
    ``[k, T+1, 2]`` (a few noise-driven runs of the task's length T and noise-free runs of
    ``n_steps`` from the same starts, in the first two PCs of the noise-driven states), ``fixed_point_pc`` ``[2]``. Scalars: ``scale``
    (RMS norm of the noise-driven states about their mean), ``spread`` (largest distance of a
    final state from the mean, over ``scale``), ``speed`` (largest ‖h_T − h_{T−1}‖ over
    ``scale``), ``fixed_point_norm`` (‖mean‖ over ``scale``), ``single`` (spread and speed
    below ``tol``), ``n_stable`` (distinct stable points rnnlab's fixed-point finder reaches
    from the noise-driven states; −1 when not run), ``tol``.
    """

    final_states: np.ndarray
    fixed_point: np.ndarray
    noisy_pcs: np.ndarray
    free_pcs: np.ndarray
    fixed_point_pc: np.ndarray
    scale: float
    spread: float
    speed: float
    fixed_point_norm: float
    single: bool
    n_stable: int
    tol: float

    def summary(self) -> dict[str, Any]:
        keys = ("scale", "spread", "speed", "fixed_point_norm", "single", "n_stable", "tol")
        return {k: Result.summary(self)[k] for k in keys}

    def plot(self, path: str | Path | None = None):
        """Noise-driven (grey) and noise-free (blue) trajectories from the same starts in PC1–PC2."""
        fig, axes = _figure(1, 1, size=(4.2, 3.8))
        ax = axes[0]
        for i, (a, b) in enumerate(zip(self.noisy_pcs, self.free_pcs)):
            ax.plot(a[:, 0], a[:, 1], "-", color="0.6", lw=0.7, alpha=0.8, label="with noise input" if i == 0 else None)
            ax.plot(b[:, 0], b[:, 1], "-", color="tab:blue", lw=1.0, label="without input" if i == 0 else None)
            ax.plot(b[0, 0], b[0, 1], "o", color="tab:blue", ms=3)
        ax.plot(*self.fixed_point_pc, "r*", ms=12, label="mean final state")
        ax.set(xlabel="PC1", ylabel="PC2", title=f"noise-free attractor ({'single point' if self.single else 'not one point'})")
        ax.legend(fontsize=7)
        return _finish(fig, path)


def noise_free_attractor(model: Any, task: Any, key: Any = 0, n_trials: int = 256, n_steps: int = 200,
                         tol: float = 1e-2, n_show: int = 8, finder: bool = True) -> NoiseFreeAttractor:
    """Run ``model`` without input from ``n_trials`` states it visits under noise (each trial's
    state at a random step of a noise-driven run of the task's length) for ``n_steps`` steps
    (module docstring). ``finder``: also count the distinct stable fixed points that
    ``find_fixed_points`` reaches from the noise-driven states."""
    _check_task(task)
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_in, k_t, k_fp = jax.random.split(key, 3)
    T = task.n_steps
    act, _ = _simulate(model, _noise(task, k_in, n_trials, T))
    act = np.asarray(act)
    t0 = np.asarray(jax.random.randint(k_t, (n_trials,), 1, T))
    starts = act[np.arange(n_trials), t0]
    free, _ = _simulate(model, jnp.zeros((n_trials, n_steps, task.n_inputs)), jnp.asarray(starts))
    free = np.asarray(free)
    cloud = act.reshape(-1, act.shape[-1])
    centre = cloud.mean(0)
    scale = float(np.sqrt(np.mean(np.sum((cloud - centre) ** 2, 1)))) or 1.0
    final = free[:, -1]
    fp = final.mean(0)
    spread = float(np.max(np.linalg.norm(final - fp, axis=1)) / scale)
    speed = float(np.max(np.linalg.norm(free[:, -1] - free[:, -2], axis=1)) / scale)
    # PCs of the noise-driven states; a few noise-driven runs continued from the same starts
    _, _, vt = np.linalg.svd(cloud - centre, full_matrices=False)
    pcs = vt[:2].T
    k = min(n_show, n_trials)
    noisy_cont, _ = _simulate(model, _noise(task, jax.random.fold_in(k_in, 1), k, T), jnp.asarray(starts[:k]))
    proj = lambda x: (np.concatenate([starts[:k, None], np.asarray(x)], 1) - centre) @ pcs  # noqa: E731
    n_stable = -1
    if finder:
        from .fixed_points import find_fixed_points

        fps = find_fixed_points(model, cloud, n_init=min(256, len(cloud)), key=k_fp)
        n_stable = int(fps.n_stable)
    return NoiseFreeAttractor(
        final_states=final, fixed_point=fp, noisy_pcs=proj(noisy_cont), free_pcs=proj(free[:k]),
        fixed_point_pc=(fp - centre) @ pcs, scale=scale, spread=spread, speed=speed,
        fixed_point_norm=float(np.linalg.norm(fp) / scale), single=bool(spread < tol and speed < tol),
        n_stable=n_stable, tol=float(tol),
    )


# ---- kick neurons ------------------------------------------------------------------------
def _with_gain(model: Any, gain: jax.Array) -> Any:
    """``model`` with unit i's recurrent input ``(W h)_i`` scaled by ``gain[i]`` (rows of W)."""
    return eqx.tree_at(lambda m: m.W, model, model.W * gain[:, None])


def _rates(model: Any, gains: jax.Array, inputs: jax.Array) -> np.ndarray:
    """Arg-max transition rate of the network under each row of ``gains`` ``[G, N]``."""
    @eqx.filter_jit
    def one(g):
        _, logits = _simulate(_with_gain(model, g), inputs)
        y = jnp.argmax(logits, -1)
        return jnp.mean(y[:, 1:] != y[:, :-1])

    return np.asarray(jax.lax.map(one, gains))


@dataclass(frozen=True)
class KickNeurons(Result):
    """Units that drive the symbol transitions (module docstring).

    Arrays: ``drop`` ``[N]`` (relative drop of the arg-max transition rate when the unit alone is
    ablated, on the selection noise), ``order`` ``[N]`` (units by decreasing drop), ``top``
    ``[k]``. Scalars (on fresh noise): ``rate_nominal``; ``rate_top_ablated``,
    ``rate_random_ablated`` (mean over ``n_random`` sets of k other units);
    ``rate_top_injected``, ``rate_random_injected`` (recurrent gain ``inject_gain``);
    ``top_drop``, ``random_drop`` (relative drops ``1 − rate/rate_nominal``); ``top_share``
    (the top k units' share of the summed positive single-unit drops); ``k``, ``inject_gain``.
    """

    drop: np.ndarray
    order: np.ndarray
    top: np.ndarray
    rate_nominal: float
    rate_top_ablated: float
    rate_random_ablated: float
    rate_top_injected: float
    rate_random_injected: float
    top_drop: float
    random_drop: float
    top_share: float
    k: int
    inject_gain: float

    def summary(self) -> dict[str, Any]:
        keys = ("rate_nominal", "rate_top_ablated", "rate_random_ablated", "rate_top_injected",
                "rate_random_injected", "top_drop", "random_drop", "top_share", "k", "inject_gain")
        return {k: Result.summary(self)[k] for k in keys}

    def plot(self, path: str | Path | None = None):
        """Single-unit ablation drops, sorted, with the kick neurons marked."""
        fig, axes = _figure(1, 1, size=(4.5, 3.2))
        ax = axes[0]
        d = self.drop[self.order]
        ax.bar(np.arange(len(d)), d, color=["tab:red" if i < self.k else "0.6" for i in range(len(d))])
        ax.set(xlabel="unit (sorted)", ylabel="relative drop of transition rate", title="single-unit ablation")
        return _finish(fig, path)


def kick_neurons(model: Any, task: Any, key: Any = 0, k: int = 3, n_trials: int = 256, n_steps: int | None = None,
                 inject_gain: float = 2.0, n_random: int = 10) -> KickNeurons:
    """Find the k units whose ablation most lowers the arg-max transition rate, and test them on
    fresh noise against k random other units (module docstring). Needs a model with a
    recurrent matrix ``W`` (``leaky_rnn``)."""
    _check_task(task)
    if not hasattr(model, "W"):
        raise ConfigError(f"model: kick_neurons scales rows of the recurrent matrix W; {type(model).__name__} has none")
    N = int(model.W.shape[0])
    if not 1 <= k < N:
        raise ConfigError(f"k: must be in [1, {N - 1}], got {k}")
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_sel, k_test, k_rand = jax.random.split(key, 3)
    T = n_steps or task.n_steps
    ones = jnp.ones(N)
    sel_in = _noise(task, k_sel, n_trials, T)
    base_sel = float(_rates(model, ones[None], sel_in)[0])
    single = _rates(model, ones[None] - jnp.eye(N), sel_in)  # unit i's gain 0
    drop = (base_sel - single) / max(base_sel, 1e-12)
    order = np.argsort(-drop, kind="stable")
    top = order[:k]
    rng = np.random.default_rng(np.asarray(jax.random.randint(k_rand, (), 0, 2**31 - 1)).item())
    others = np.setdiff1d(np.arange(N), top)
    sets = [top] + [rng.choice(others, k, replace=False) for _ in range(n_random)]

    def gains(value):
        g = np.ones((len(sets), N), np.float32)
        for r, s in enumerate(sets):
            g[r, s] = value
        return jnp.asarray(g)

    test_in = _noise(task, k_test, n_trials, T)
    nominal = float(_rates(model, ones[None], test_in)[0])
    ablated = _rates(model, gains(0.0), test_in)
    injected = _rates(model, gains(inject_gain), test_in)
    pos = np.clip(drop, 0, None)
    rel = (lambda r: 1 - r / nominal) if nominal > 0 else (lambda r: float("nan"))
    return KickNeurons(
        drop=drop, order=order, top=top, rate_nominal=nominal, rate_top_ablated=float(ablated[0]),
        rate_random_ablated=float(ablated[1:].mean()), rate_top_injected=float(injected[0]),
        rate_random_injected=float(injected[1:].mean()), top_drop=float(rel(ablated[0])),
        random_drop=float(rel(ablated[1:].mean())), top_share=float(pos[top].sum() / pos.sum()) if pos.sum() > 0
        else float("nan"), k=int(k), inject_gain=float(inject_gain),
    )
