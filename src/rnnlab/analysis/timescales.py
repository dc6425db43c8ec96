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

**Fit range chosen by the data** (``fit_lag="auto"``, an addition to the paper): fit lags
``0..K`` with ``K`` the first lag at which the (trial-averaged) AC falls below ``e^{−2}``,
clamped to ``[10, max_lag]``. For an exponential AC this window spans two timescales whatever
τ is, where the paper's fixed 30 lags span ``30/τ`` of them: for τ = 200 steps the AC only
falls from 1 to 0.86 over 30 lags, and the fit is decided by the estimator's noise (or sits
at ``tau_max``). The floor ``e^{−2} ≈ 0.135`` keeps the fitted points well above the noise of
the AC estimate: for an AR(1) of timescale τ the standard deviation of the estimated AC at
large lags is about ``√(τ / (n_steps · n_trials))`` (Bartlett's formula), 0.027 for τ = 150
with 2·10⁵ samples, five times below the floor; the bias of the mean-subtracted estimator
(about ``−2τ/n_steps`` at every lag) is also small against it. The clamp at 10 keeps enough
points for the 4-parameter double fit when the AC decays within a few lags. ``max_lag`` then
bounds the slowest timescale that can be seen (about ``max_lag/2``); with ``"auto"`` it
defaults to ``n_steps // 10``. A limitation of the rule: a slow component carrying little
weight (AC = 0.9 e^{−t/2} + 0.1 e^{−t/100}) drops the AC below e^{−2} within a few lags, so
its timescale is seen over a short window only, as with the paper's rule. With ``"auto"`` one
more guard applies: a double fit whose slow τ exceeds the window (``K·dt``) is treated as
failed. The window spans two timescales of the AC's own decay, so such a component changes by
less than a factor e over it and cannot be told apart from the estimator's slowly varying
error (the mean-subtraction offset, the correlated tail): on pure AR(1) data (τ = 150,
10 × 2·10⁴ steps, 192 replicates) AIC picked a double fit for 15 % of them, half with the
slow τ at ``tau_max = 1000``; with the guard, 6 % remain double and none at the bound. The
price is that a weak slow component which the window does not cover is not reported.

**Flags** (an addition to the paper, so that a fit that hit a bound is never silently
averaged in): each fit records ``at_bound`` (its τ within 1 % of ``tau_max``: the fit is
censored, the true τ may be anything larger); ``NetworkTimescales.flags`` is a bitmask per
unit (``TIMESCALE_FLAGS``):

* ``at_bound`` (1): the unit's τ_net is within 1 % of ``tau_max``;
* ``failed`` (2): both fits failed (τ_net is NaN);
* ``faster_than_leak`` (4): τ_net is shorter than the unit's own leak timescale by more than
  ``leak_rtol`` (10 %). In the leaky model an uncoupled unit driven by i.i.d. input is an
  AR(1) with ``φ = 1 − dt/τ``, i.e. a timescale ``τ_leak = −dt / ln(1 − dt/τ)`` (slightly
  below τ: 4.48 for τ = 5, dt = 1; 0 for τ = dt). Faster than that, the unit's drive must be
  anticorrelated in time, or the fit is wrong.

and ``pop_flag`` is the same bitmask for the population AC, plus ``no_decay`` (8): the
population AC does not fall below ``1/e`` within ``max_lag`` (the network is too slow for the
data, or does not settle: "unstable/undecided").

``frac_flagged`` counts the units whose estimate is censored or missing (``at_bound`` or
``failed``); ``faster_than_leak`` is reported apart (``n_faster_than_leak``,
``frac_faster_than_leak``) and does not count, because in the networks it is meant for it is
mostly genuine: in the timescales paper's own network (64 units, "wrapped" leaky ReLU, τ = 1
+ U(0, 1), no self-connections) at initialisation, driven by N-parity input, 16 units are
faster than their leak (9 with the standard leaky update), with AC(1) as low as −0.07, i.e. an
anticorrelated drive through rectification and recurrence, not failed fits. ``reliable`` is
True when at most ``RELIABLE_MAX_FLAGGED`` = 10 % of the units are flagged and ``pop_flag``
is 0. Whatever the flagged units' values, a fraction ``f`` of them can only move the median
over units between the ``(0.5 − f)/(1 − f)`` and ``0.5/(1 − f)`` quantiles of the others: for
``f ≤ 0.1`` between their 44th and 56th percentiles, a shift small against the spread of τ_net
across units; the mean is not protected this way (read the median).

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
from scipy import fft as _fft
from scipy.optimize import OptimizeWarning, curve_fit

from ..models import run
from ..tasks.compiled import sample_batch
from ._results import Result, _figure, _finish

__all__ = [
    "TimescaleFit", "NetworkTimescales", "TIMESCALE_FLAGS", "RELIABLE_MAX_FLAGGED",
    "single_neuron_taus", "autocorrelation", "auto_fit_lag", "fit_timescale", "timescales_from_activity",
    "network_timescales",
]

_NONE, _SINGLE, _DOUBLE = 0, 1, 2
_AT_BOUND, _FAILED, _FASTER, _NO_DECAY = 1, 2, 4, 8
#: bits of ``NetworkTimescales.flags`` and ``pop_flag`` (see the module docstring)
TIMESCALE_FLAGS = {"at_bound": _AT_BOUND, "failed": _FAILED, "faster_than_leak": _FASTER, "no_decay": _NO_DECAY}
#: the largest fraction of flagged units for which ``NetworkTimescales.summary()`` says reliable
RELIABLE_MAX_FLAGGED = 0.1
_UNRELIABLE = _AT_BOUND | _FAILED  # the unit flags that count in frac_flagged
_BOUND_RTOL = 0.01  # "at the bound": within 1 % of tau_max
_AUTO_FLOOR, _AUTO_MIN_LAG = math.exp(-2.0), 10


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
    """Unnormalised unbiased AC along axis 0 (lags 0..max_lag).

    The FFT is taken along a contiguous last axis (``scipy.fft``, all cores) and zero-padded to
    the next fast length ``≥ n + max_lag`` only: the circular correlation at lag ``k ≤ max_lag``
    then wraps onto padding alone, so it equals the linear one, and for the few lags a
    timescale fit reads this is several times less work than padding to ``2n``."""
    n = x.shape[0]
    xc = np.ascontiguousarray(np.moveaxis(x - x.mean(axis=0, keepdims=True), 0, -1))
    nfft = _fft.next_fast_len(n + max_lag, real=True)
    f = _fft.rfft(xc, n=nfft, axis=-1, workers=-1)
    ac = np.moveaxis(_fft.irfft(f.real**2 + f.imag**2, n=nfft, axis=-1, workers=-1)[..., : max_lag + 1], -1, 0)
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
        ac: the fitted autocorrelation ``AC(k)/AC(0)``, ``k = 0..K`` (K = ``fit_lag``, or the
            lag chosen by ``fit_lag="auto"``); dt: time step.
        at_bound: ``tau`` is within 1 % of ``tau_max`` (a censored fit: the true τ may be larger).
        tau_max: the bound every τ was fitted under.
    """

    tau: float
    model: int
    single: np.ndarray
    double: np.ndarray
    aic_single: float
    aic_double: float
    ac: np.ndarray
    dt: float
    at_bound: bool
    tau_max: float

    @property
    def fit_lag(self) -> int:
        """The largest lag fitted."""
        return len(self.ac) - 1

    def plot(self, path: str | Path | None = None):
        """The autocorrelation with both fits (log scale)."""
        fig, (ax,) = _figure()
        t = np.arange(len(self.ac)) * self.dt
        ax.semilogy(t, np.clip(self.ac, 1e-6, None), "k.", label="AC")
        if np.all(np.isfinite(self.single)):
            ax.semilogy(t, _single(t, *self.single), label=f"single  AIC {self.aic_single:.1f}")
        if np.all(np.isfinite(self.double)):
            ax.semilogy(t, _double(t, *self.double), "--", label=f"double  AIC {self.aic_double:.1f}")
        bound = "  (at tau_max)" if self.at_bound else ""
        ax.set(xlabel="lag", ylabel="AC / AC(0)", title=f"τ_net = {self.tau:.3g}{bound}")
        ax.legend(fontsize=8)
        return _finish(fig, path)


def auto_fit_lag(ac: Any, max_lag: int | None = None) -> int:
    """The fit range of ``fit_lag="auto"``: the first lag at which ``ac/ac[0]`` falls below
    ``e^{−2}``, clamped to ``[10, max_lag]`` (``max_lag`` default: the last lag of ``ac``).

    See the module docstring for why (two timescales of an exponential, above the noise).
    """
    y = np.asarray(ac, dtype=np.float64)
    y = y / y[0]
    last = len(y) - 1 if max_lag is None else min(int(max_lag), len(y) - 1)
    below = np.flatnonzero(~(y[: last + 1] >= _AUTO_FLOOR))  # NaN counts as below
    k = int(below[0]) if below.size else last
    return int(min(max(k, _AUTO_MIN_LAG), last))


def _fit_lag(ac: np.ndarray, fit_lag: int | str) -> int:
    if fit_lag == "auto":
        return auto_fit_lag(ac)
    if isinstance(fit_lag, str) or int(fit_lag) < 1:
        raise ValueError(f"fit_lag: must be a positive integer or 'auto' (got {fit_lag!r})")
    return int(fit_lag)


def fit_timescale(
    ac: Any, dt: float = 1.0, fit_lag: int | str = 30, tau_max: float = 100.0, min_weight: float = 0.05
) -> TimescaleFit:
    """Fit one and two exponentials to ``ac[0..fit_lag]`` (normalised by ``ac[0]``), choose by AIC.

    See the module docstring for the functions, bounds, the rule and the ``min_weight`` guard.
    ``tau_max`` bounds every τ (in the units of ``dt``; the paper uses 100 with ``dt = 1``).
    ``fit_lag="auto"``: fit up to the first lag where the AC falls below ``e^{−2}``
    (``auto_fit_lag``; ``ac`` should then reach far enough, e.g. ``n_steps // 10`` lags).
    """
    ac = np.asarray(ac, dtype=np.float64)
    y = ac[: _fit_lag(ac, fit_lag) + 1] / ac[0]
    t = np.arange(len(y)) * dt
    n = len(y)
    nan2, nan4 = np.full(2, np.nan), np.full(4, np.nan)
    if not np.all(np.isfinite(y)) or n < 5:
        return TimescaleFit(np.nan, _NONE, nan2, nan4, np.inf, np.inf, y, float(dt), False, float(tau_max))
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
    if p2 is not None and fit_lag == "auto" and max(p2[1], p2[2]) > t[-1]:
        aic2 = np.inf  # unresolved: the slow component is slower than the whole window
    p1 = nan2 if p1 is None else p1
    p2 = nan4 if p2 is None else p2
    if aic1 < aic2:
        tau, model = float(p1[1]), _SINGLE
    elif aic2 < aic1:
        tau, model = float(max(p2[1], p2[2])), _DOUBLE
    else:
        tau, model = np.nan, _NONE
    at_bound = bool(np.isfinite(tau) and tau >= (1 - _BOUND_RTOL) * tau_max)
    return TimescaleFit(tau, model, p1, p2, aic1, aic2, y, float(dt), at_bound, float(tau_max))


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
        dt: time step; fit_lag: the fit range asked for (lags, or "auto"); n_steps, n_trials:
            simulated data used.
        flags: ``[N]`` bitmask per unit (``TIMESCALE_FLAGS``: at_bound 1, failed 2,
            faster_than_leak 4); pop_flag: the population fit's bitmask (at_bound, failed,
            no_decay 8); fit_lags: ``[N]`` the largest lag fitted per unit; pop_fit_lag: for
            the population AC; tau_max: the fit bound.
    """

    tau_net: np.ndarray
    model: np.ndarray
    tau_single: np.ndarray
    ac: np.ndarray
    pop_ac: np.ndarray
    pop_tau: float
    dt: float
    fit_lag: int | str
    n_steps: int
    n_trials: int
    flags: np.ndarray
    pop_flag: int
    fit_lags: np.ndarray
    pop_fit_lag: int
    tau_max: float

    @property
    def frac_flagged(self) -> float:
        """Fraction of units whose estimate is censored or missing (``at_bound`` or ``failed``)."""
        return float(np.mean(self.flags & _UNRELIABLE > 0)) if len(self.flags) else float("nan")

    @property
    def reliable(self) -> bool:
        """At most ``RELIABLE_MAX_FLAGGED`` of the units flagged and the population fit unflagged."""
        return bool(self.frac_flagged <= RELIABLE_MAX_FLAGGED and self.pop_flag == 0)

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
            **{f"n_{name}": int(np.sum(self.flags & bit > 0)) for name, bit in TIMESCALE_FLAGS.items()
               if bit != _NO_DECAY},
            frac_faster_than_leak=float(np.mean(self.flags & _FASTER > 0)) if len(self.flags) else float("nan"),
            frac_flagged=self.frac_flagged,
            reliable=self.reliable,
        )
        return s

    def plot(self, path: str | Path | None = None):
        """τ_net vs single-neuron τ (flagged units in red), the τ_net histogram, and the population AC."""
        fig, (a0, a1, a2) = _figure(3)
        if np.isfinite(self.tau_single).any():
            bad = self.flags != 0
            a0.scatter(self.tau_single[~bad], self.tau_net[~bad], s=8, label="fitted")
            if bad.any():
                a0.scatter(self.tau_single[bad], self.tau_net[bad], s=8, c="tab:red", label="flagged")
                a0.legend(fontsize=8)
            lim = np.nanmax(np.r_[self.tau_single, self.tau_net, 1.0])
            a0.plot([0, lim], [0, lim], "k:", lw=1)
        a0.set(xlabel="single-neuron τ", ylabel="τ_net", title="timescales per neuron")
        fin = self.tau_net[np.isfinite(self.tau_net)]
        a1.hist(fin, bins=min(30, max(5, len(fin) // 3 + 1)))
        a1.set(xlabel="τ_net", ylabel="neurons", title=f"median τ_net {np.median(fin) if len(fin) else np.nan:.3g}")
        lags = np.arange(len(self.pop_ac)) * self.dt
        a2.plot(lags, self.ac.T, color="0.7", lw=0.5)
        warn = "" if self.pop_flag == 0 else " (flagged)"
        a2.plot(lags, self.pop_ac, "k", lw=2, label=f"population, τ={self.pop_tau:.3g}{warn}")
        a2.set(xlabel="lag", ylabel="AC / AC(0)", title="autocorrelations")
        a2.legend(fontsize=8)
        return _finish(fig, path)


def _leak_timescale(tau: np.ndarray, dt: float) -> np.ndarray:
    """``−dt / ln(1 − dt/τ)``: the timescale of the AR(1) a leaky unit alone makes (0 for τ = dt)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tau > dt, -dt / np.log1p(-dt / tau), 0.0)


def _flags(fits: list[TimescaleFit], tau_single: np.ndarray, dt: float, leak_rtol: float) -> np.ndarray:
    tau_net = np.array([f.tau for f in fits])
    flags = np.array([_AT_BOUND * f.at_bound + _FAILED * (f.model == _NONE) for f in fits], dtype=np.int64)
    with np.errstate(invalid="ignore"):
        faster = tau_net < (1 - leak_rtol) * _leak_timescale(tau_single, dt)  # False where either is NaN
    return flags | (_FASTER * faster)


def timescales_from_activity(
    activity: Any,
    dt: float = 1.0,
    fit_lag: int | str = 30,
    max_lag: int | None = None,
    tau_single: Any = None,
    tau_max: float = 100.0,
    min_weight: float = 0.05,
    leak_rtol: float = 0.1,
) -> NetworkTimescales:
    """τ_net of each unit of ``activity [trials, T, N]`` (or ``[T, N]``), steps 2–4 of the method.

    The unnormalised AC is averaged over trials before dividing by AC(0), as in the paper.
    ``fit_lag``: lags fitted (the paper's 30), or ``"auto"`` (per unit, see ``auto_fit_lag``).
    ``max_lag``: lags of the stored AC (default ``2·fit_lag``; with ``"auto"`` ``T // 10``).
    ``leak_rtol``: relative margin of the ``faster_than_leak`` flag (module docstring).
    """
    x = np.asarray(activity, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    n_trials, n_steps, n = x.shape
    if fit_lag == "auto":
        max_lag = max(n_steps // 10, _AUTO_MIN_LAG) if max_lag is None else max_lag
    else:
        fit_lag = _fit_lag(np.ones(1), fit_lag)
        max_lag = max(fit_lag, 2 * fit_lag if max_lag is None else max_lag)
    max_lag = min(max_lag, n_steps - 1)
    raw = _raw_ac(np.moveaxis(x, 1, 0), max_lag).mean(axis=1)  # [lag, N]
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = (raw / raw[0]).T
    fits = [fit_timescale(a, dt, fit_lag, tau_max, min_weight) for a in ac]
    pop = _raw_ac(x.sum(axis=2).T, max_lag).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = pop / pop[0]
    pop_fit = fit_timescale(pop, dt, fit_lag, tau_max, min_weight)
    decays = bool(np.any(pop < math.exp(-1.0)))
    pop_flag = _AT_BOUND * pop_fit.at_bound + _FAILED * (pop_fit.model == _NONE) + _NO_DECAY * (not decays)
    taus = np.full(n, np.nan) if tau_single is None else np.asarray(tau_single, dtype=np.float64)
    return NetworkTimescales(
        tau_net=np.array([f.tau for f in fits]),
        model=np.array([f.model for f in fits], dtype=np.int64),
        tau_single=taus,
        ac=ac,
        pop_ac=pop,
        pop_tau=pop_fit.tau,
        dt=float(dt),
        fit_lag=fit_lag,
        n_steps=int(n_steps),
        n_trials=int(n_trials),
        flags=_flags(fits, taus, float(dt), leak_rtol),
        pop_flag=int(pop_flag),
        fit_lags=np.array([f.fit_lag for f in fits], dtype=np.int64),
        pop_fit_lag=pop_fit.fit_lag,
        tau_max=float(tau_max),
    )


def network_timescales(
    model: Any,
    task: Any,
    key: Any = 0,
    n_steps: int = 20_000,
    burn_in: int = 500,
    n_trials: int = 10,
    fit_lag: int | str = 30,
    max_lag: int | None = None,
    tau_max: float = 100.0,
    min_weight: float = 0.05,
    leak_rtol: float = 0.1,
) -> NetworkTimescales:
    """Simulate ``model`` on a long input with the task's statistics and estimate τ_net per neuron.

    The long input of each trial is independent ``task.sample`` trials concatenated along time
    (a simplification of the paper, which draws one long random Bernoulli sequence: trials of
    a task are i.i.d., so the concatenation keeps the task's input statistics except at the
    seams). For tasks whose trials have a variable length followed by unscored zero padding
    (the memory tasks: ``info["length"]``), each trial is drawn with its own key (its own
    length) and cut to its length before concatenation, so the stream has no padding and no
    period: concatenating whole batches would repeat one length, and its block of zeros,
    with a fixed period, which puts a non-decaying periodic component in every AC. The
    network runs from its initial state through all of it (its private noise, if any,
    included); the first ``burn_in`` steps are dropped. ``dt`` is the model's ``cfg.dt`` (1 if
    it has none). The paper simulates 10 trials of 10⁵ steps after a 500-step burn-in; the
    default here is 5× shorter (2·10⁴ steps) to suit a laptop CPU; single-neuron estimates
    are then noisier. ``fit_lag``, ``max_lag``, ``tau_max``, ``leak_rtol``: see
    ``timescales_from_activity`` (``fit_lag="auto"`` looks up to ``n_steps // 10`` lags).
    """
    key = jax.random.PRNGKey(key) if isinstance(key, int) else key
    k_in, k_run = jax.random.split(key)
    total = n_steps + burn_in
    inputs = _long_inputs(task, k_in, n_trials, total)
    activity, _ = eqx.filter_jit(run)(model, inputs, k_run)
    activity = np.asarray(activity)[:, burn_in:]
    dt = float(getattr(getattr(model, "cfg", None), "dt", 1.0))
    taus = single_neuron_taus(model)
    return timescales_from_activity(activity, dt, fit_lag, max_lag, taus, tau_max, min_weight, leak_rtol)


@eqx.filter_jit
def _one_trial_each(task: Any, keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    batches = jax.vmap(lambda k: task.sample(k, 1))(keys)
    return batches.inputs[:, 0], batches.info["length"][:, 0]


def _long_inputs(task: Any, key: jax.Array, n_trials: int, total: int) -> jax.Array:
    """``[n_trials, total, I]``: task trials concatenated along time (see ``network_timescales``)."""
    probe = jax.eval_shape(lambda k: task.sample(k, 1), key)
    if "length" not in probe.info:
        chunks = math.ceil(total / task.n_steps)
        inputs = sample_batch(task, key, n_trials * chunks).inputs  # [trials*chunks, T, I]
        return jnp.reshape(inputs, (n_trials, chunks * inputs.shape[1], inputs.shape[2]))[:, :total]
    per_draw = 2 * math.ceil(total / task.n_steps) + 16  # enough when trials average ≥ T/2 steps
    pieces: list[list[np.ndarray]] = [[] for _ in range(n_trials)]
    have = np.zeros(n_trials, dtype=np.int64)
    while np.any(have < total):
        key, sub = jax.random.split(key)
        x, length = (np.asarray(a) for a in _one_trial_each(task, jax.random.split(sub, n_trials * per_draw)))
        for i in np.flatnonzero(have < total):
            for j in range(i * per_draw, (i + 1) * per_draw):
                pieces[i].append(x[j, : length[j]])
                have[i] += length[j]
    return jnp.asarray(np.stack([np.concatenate(p)[:total] for p in pieces]))
