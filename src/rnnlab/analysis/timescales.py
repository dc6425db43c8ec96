"""Single-neuron and network-mediated timescales (Khajehabdollahi, Zeraati et al., ICLR 2024).

Method, as in the paper's ``analysis/timescales/timescales_utils.py``:

1. Simulate the trained network for a long time on inputs with the task's statistics, in
   several independent trials, and discard a burn-in.
2. Autocorrelation of each neuron, per trial, by FFT: subtract the trial mean, zero-pad to
   ≥ 2n, ``AC(k) = (1/(n−k)) Σ_t x̃_t x̃_{t+k}`` (unbiased normalisation); average over trials
   and divide by ``AC(0)``.
3. Fit lags ``k = 0..fit_lag`` (``t = k·dt``; small ``fit_lag`` avoids the AC bias) with

       single:  f₁(t) = a e^{−t/τ}                                   (k = 2 parameters)
       double:  f₂(t) = a [c e^{−t/τ₁} + (1−c) e^{−t/τ₂}]             (k = 4 parameters)

   by least squares (``scipy.optimize.curve_fit``) with bounds ``0 ≤ a ≤ 1``, ``0 ≤ c ≤ 1``,
   ``0 < τ ≤ tau_max`` (the paper: 100 steps).
4. Choose the model with the smaller ``AIC = 2k + n log(RSS/n)`` (``n = fit_lag + 1``);
   ``τ_net`` is the slowest timescale of the chosen model, NaN if both fits fail.

One guard is added to the paper's rule (``min_weight``, default 0.05; 0 gives the paper's
exact rule): a double fit in which one component carries less than ``min_weight`` of the
amplitude (``min(c, 1−c) < min_weight``) is treated as failed. The estimated AC has
correlated errors, so AIC (which assumes independent residuals) otherwise often prefers a
double exponential whose extra component is a near-constant offset (weight ~0.003,
τ at ``tau_max``), reporting a spurious "slowest timescale" for a pure AR(1) process.

The single-neuron time constants ``τ`` of the model (``model.taus()``) are reported
alongside, so that network-mediated slowing (``τ_net ≫ τ``) can be read off directly.
For an AR(1)/Ornstein–Uhlenbeck process ``x_t = φ x_{t−1} + ξ_t`` the AC is ``φ^k``, so the fit
returns ``τ = −dt / log φ``; for a linear network ``h_t = A h_{t−1} + ξ_t`` each neuron's AC is
a mixture of ``|λ_i|^k`` terms and the slowest one has ``τ = −dt / log|λ_max|``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from ..models import run
from ._results import Result, _figure, _finish

__all__ = [
    "TimescaleFit", "NetworkTimescales",
    "single_neuron_taus", "autocorrelation", "fit_timescale", "timescales_from_activity", "network_timescales",
]

_NONE, _SINGLE, _DOUBLE = 0, 1, 2


def single_neuron_taus(model: Any) -> np.ndarray | None:
    """The model's per-neuron time constants ``τ`` (``model.taus()``), or None if it has none."""
    taus = model.taus()
    return None if taus is None else np.asarray(taus, dtype=np.float64)


def autocorrelation(x: Any, max_lag: int, axis: int = 0) -> np.ndarray:
    """Normalised autocorrelation ``AC(k)/AC(0)``, ``k = 0..max_lag``, along ``axis`` (time).

    FFT method: subtract the mean, zero-pad to ``≥ 2n`` (no circular wrap-around), take
    ``IFFT(|FFT(x̃)|²)``, divide lag ``k`` by ``n − k`` (unbiased) and by ``AC(0)``. Other axes
    are kept (lag replaces the time axis). A constant signal gives NaN.
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    n = x.shape[0]
    if not 0 <= max_lag < n:
        raise ValueError(f"max_lag must be in [0, {n - 1}], got {max_lag}")
    ac = _raw_ac(x, max_lag)
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = ac / ac[0]
    return np.moveaxis(ac, 0, axis)


def _raw_ac(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Unnormalised unbiased AC along axis 0 (lags 0..max_lag)."""
    n = x.shape[0]
    xc = x - x.mean(axis=0, keepdims=True)
    nfft = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, n=nfft, axis=0)
    ac = np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[: max_lag + 1]
    return ac / (n - np.arange(max_lag + 1)).reshape((-1,) + (1,) * (x.ndim - 1))


def _single(t, a, tau):
    return a * np.exp(-t / tau)


def _double(t, a, tau1, tau2, c):
    return a * (c * np.exp(-t / tau1) + (1 - c) * np.exp(-t / tau2))


@dataclass(frozen=True)
class TimescaleFit(Result):
    """Exponential fits of one autocorrelation.

    Attributes:
        tau: τ_net, the slowest timescale of the model chosen by AIC (NaN if both fits failed).
        model: 1 = single exponential, 2 = double exponential, 0 = none.
        single: ``(a, τ)``; double: ``(a, τ₁, τ₂, c)`` (NaN where a fit failed).
        aic_single, aic_double: the AIC of each fit (inf where it failed).
        ac: the fitted autocorrelation ``AC(k)/AC(0)``, ``k = 0..fit_lag``; dt: time step.
    """

    tau: float
    model: int
    single: np.ndarray
    double: np.ndarray
    aic_single: float
    aic_double: float
    ac: np.ndarray
    dt: float

    def plot(self, path: str | Path | None = None):
        """The autocorrelation with both fits (log scale)."""
        fig, (ax,) = _figure()
        t = np.arange(len(self.ac)) * self.dt
        ax.semilogy(t, np.clip(self.ac, 1e-6, None), "k.", label="AC")
        if np.all(np.isfinite(self.single)):
            ax.semilogy(t, _single(t, *self.single), label=f"single  AIC {self.aic_single:.1f}")
        if np.all(np.isfinite(self.double)):
            ax.semilogy(t, _double(t, *self.double), "--", label=f"double  AIC {self.aic_double:.1f}")
        ax.set(xlabel="lag", ylabel="AC / AC(0)", title=f"τ_net = {self.tau:.3g}")
        ax.legend(fontsize=8)
        return _finish(fig, path)


def fit_timescale(
    ac: Any, dt: float = 1.0, fit_lag: int = 30, tau_max: float = 100.0, min_weight: float = 0.05
) -> TimescaleFit:
    """Fit one and two exponentials to ``ac[0..fit_lag]`` (normalised by ``ac[0]``), choose by AIC.

    See the module docstring for the functions, bounds, the rule and the ``min_weight`` guard.
    ``tau_max`` bounds every τ (in the units of ``dt``; the paper uses 100 with ``dt = 1``).
    """
    ac = np.asarray(ac, dtype=np.float64)
    y = ac[: fit_lag + 1] / ac[0]
    t = np.arange(len(y)) * dt
    n = len(y)
    nan2, nan4 = np.full(2, np.nan), np.full(4, np.nan)
    if not np.all(np.isfinite(y)) or n < 5:
        return TimescaleFit(np.nan, _NONE, nan2, nan4, np.inf, np.inf, y, float(dt))
    # initial guess from the lag-1 decay
    tau0 = float(np.clip(-dt / np.log(np.clip(y[1], 1e-3, 1 - 1e-6)), dt * 1e-2, tau_max * 0.99))
    p1, aic1 = _fit(_single, t, y, [1.0, tau0], ([0, 1e-6], [1.0, tau_max]))
    p2, aic2 = _fit(
        _double, t, y,
        [1.0, max(tau0 / 3, 1e-3), min(tau0 * 2, tau_max * 0.99), 0.5],
        ([0, 1e-6, 1e-6, 0], [1.0, tau_max, tau_max, 1.0]),
    )
    if p2 is not None and min(p2[3], 1 - p2[3]) < min_weight:
        aic2 = np.inf  # degenerate: one component carries (almost) nothing
    p1 = nan2 if p1 is None else p1
    p2 = nan4 if p2 is None else p2
    if aic1 < aic2:
        tau, model = float(p1[1]), _SINGLE
    elif aic2 < aic1:
        tau, model = float(max(p2[1], p2[2])), _DOUBLE
    else:
        tau, model = np.nan, _NONE
    return TimescaleFit(tau, model, p1, p2, aic1, aic2, y, float(dt))


def _fit(f, t, y, p0, bounds) -> tuple[np.ndarray | None, float]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            p, _ = curve_fit(f, t, y, p0=p0, bounds=bounds, maxfev=2000)
    except (RuntimeError, ValueError):
        return None, np.inf
    rss = float(np.sum((f(t, *p) - y) ** 2))
    n, k = len(y), len(p)
    return p, 2 * k + n * math.log(max(rss, 1e-300) / n)


@dataclass(frozen=True)
class NetworkTimescales(Result):
    """Per-neuron network-mediated timescales and population summaries.

    Attributes:
        tau_net: ``[N]`` τ_net of each neuron (NaN where no fit succeeded).
        model: ``[N]`` chosen fit per neuron (1 single, 2 double, 0 none).
        tau_single: ``[N]`` the model's own τ (NaN if it has none).
        ac: ``[N, max_lag+1]`` trial-averaged normalised autocorrelations.
        pop_ac: ``[max_lag+1]`` autocorrelation of the summed population activity.
        pop_tau: τ_net of the population activity.
        dt: time step; fit_lag: largest lag fitted; n_steps, n_trials: simulated data used.
    """

    tau_net: np.ndarray
    model: np.ndarray
    tau_single: np.ndarray
    ac: np.ndarray
    pop_ac: np.ndarray
    pop_tau: float
    dt: float
    fit_lag: int
    n_steps: int
    n_trials: int

    def summary(self) -> dict[str, Any]:
        ok = np.isfinite(self.tau_net)
        s = super().summary()
        s.update(
            n_neurons=int(len(self.tau_net)),
            n_fitted=int(ok.sum()),
            tau_net_mean=float(np.nanmean(self.tau_net)) if ok.any() else None,
            tau_net_median=float(np.nanmedian(self.tau_net)) if ok.any() else None,
            tau_net_max=float(np.nanmax(self.tau_net)) if ok.any() else None,
            tau_single_mean=float(np.nanmean(self.tau_single)) if np.isfinite(self.tau_single).any() else None,
            frac_double=float(np.mean(self.model == _DOUBLE)),
        )
        return s

    def plot(self, path: str | Path | None = None):
        """τ_net vs single-neuron τ, the τ_net histogram, and the population AC."""
        fig, (a0, a1, a2) = _figure(3)
        if np.isfinite(self.tau_single).any():
            a0.scatter(self.tau_single, self.tau_net, s=8)
            lim = np.nanmax(np.r_[self.tau_single, self.tau_net, 1.0])
            a0.plot([0, lim], [0, lim], "k:", lw=1)
        a0.set(xlabel="single-neuron τ", ylabel="τ_net", title="timescales per neuron")
        fin = self.tau_net[np.isfinite(self.tau_net)]
        a1.hist(fin, bins=min(30, max(5, len(fin) // 3 + 1)))
        a1.set(xlabel="τ_net", ylabel="neurons", title=f"median τ_net {np.median(fin) if len(fin) else np.nan:.3g}")
        lags = np.arange(len(self.pop_ac)) * self.dt
        a2.plot(lags, self.ac.T, color="0.7", lw=0.5)
        a2.plot(lags, self.pop_ac, "k", lw=2, label=f"population, τ={self.pop_tau:.3g}")
        a2.set(xlabel="lag", ylabel="AC / AC(0)", title="autocorrelations")
        a2.legend(fontsize=8)
        return _finish(fig, path)


def timescales_from_activity(
    activity: Any,
    dt: float = 1.0,
    fit_lag: int = 30,
    max_lag: int | None = None,
    tau_single: Any = None,
    tau_max: float = 100.0,
    min_weight: float = 0.05,
) -> NetworkTimescales:
    """τ_net of each unit of ``activity [trials, T, N]`` (or ``[T, N]``), steps 2–4 of the method.

    The unnormalised AC is averaged over trials before dividing by AC(0), as in the paper.
    """
    x = np.asarray(activity, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    n_trials, n_steps, n = x.shape
    max_lag = max(fit_lag, 2 * fit_lag if max_lag is None else max_lag)
    max_lag = min(max_lag, n_steps - 1)
    raw = _raw_ac(np.moveaxis(x, 1, 0), max_lag).mean(axis=1)  # [lag, N]
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = (raw / raw[0]).T
    fits = [fit_timescale(a, dt, fit_lag, tau_max, min_weight) for a in ac]
    pop = _raw_ac(x.sum(axis=2).T, max_lag).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = pop / pop[0]
    taus = np.full(n, np.nan) if tau_single is None else np.asarray(tau_single, dtype=np.float64)
    return NetworkTimescales(
        tau_net=np.array([f.tau for f in fits]),
        model=np.array([f.model for f in fits], dtype=np.int64),
        tau_single=taus,
        ac=ac,
        pop_ac=pop,
        pop_tau=fit_timescale(pop, dt, fit_lag, tau_max, min_weight).tau,
        dt=float(dt),
        fit_lag=int(fit_lag),
        n_steps=int(n_steps),
        n_trials=int(n_trials),
    )


def network_timescales(
    model: Any,
    task: Any,
    key: Any = 0,
    n_steps: int = 20_000,
    burn_in: int = 500,
    n_trials: int = 10,
    fit_lag: int = 30,
    max_lag: int | None = None,
    tau_max: float = 100.0,
    min_weight: float = 0.05,
) -> NetworkTimescales:
    """Simulate ``model`` on a long input with the task's statistics and estimate τ_net per neuron.

    The long input of each trial is ``ceil((n_steps + burn_in) / task.n_steps)`` independent
    ``task.sample`` batches concatenated along time (a simplification of the paper, which
    draws one long random Bernoulli sequence: trials of a task are i.i.d., so the
    concatenation keeps the task's input statistics except at the seams). The network runs
    from its initial state through all of it (its private noise, if any, included); the first
    ``burn_in`` steps are dropped. ``dt`` is the model's ``cfg.dt`` (1 if it has none).
    The paper simulates 10 trials of 10⁵ steps after a 500-step burn-in; the default here is
    5× shorter (2·10⁴ steps) to suit a laptop CPU; single-neuron estimates are then noisier.
    """
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_in, k_run = jax.random.split(key)
    total = n_steps + burn_in
    chunks = math.ceil(total / task.n_steps)
    inputs = task.sample(k_in, n_trials * chunks).inputs  # [trials*chunks, T, I]
    inputs = jnp.reshape(inputs, (n_trials, chunks * inputs.shape[1], inputs.shape[2]))[:, :total]
    activity, _ = eqx.filter_jit(run)(model, inputs, k_run)
    activity = np.asarray(activity)[:, burn_in:]
    dt = float(getattr(getattr(model, "cfg", None), "dt", 1.0))
    taus = single_neuron_taus(model)
    return timescales_from_activity(activity, dt, fit_lag, max_lag, taus, tau_max, min_weight)
