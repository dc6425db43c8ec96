"""Statistics of a study's claims: each claim ends ``pass``, ``fail`` or ``inconclusive``.

A study checks a paper's central claims across seeds of trained networks. Each claim is one
one-sided test at level ``alpha`` and returns a ``ClaimTest``: an estimate (``value``) with a
two-sided ``1 − alpha`` confidence interval (95 % at the default ``alpha``), the p-value, an
effect size, the sample sizes, the smallest p-value the test could give (``min_p``) and the
outcome with a one-line reason.

* ``compare``: independent samples (seeds of condition A vs B), Mann–Whitney U.
* ``paired``: the same networks measured twice, Wilcoxon signed-rank.
* ``trend``: a monotone trend of y with x, Spearman ρ; points clustered in networks use a
  cluster permutation test and a cluster bootstrap.
* ``proportion``: the fraction of networks with a property, exact binomial test.
* ``holm``: Holm–Bonferroni adjusted p-values for a study's family of claims.

Outcome rule (the project's definition, implemented by ``outcome_rule``):

1. ``inconclusive`` when more than ``max_flagged`` of a sample's entries are flagged
   unreliable (flags are boolean arrays aligned with the samples, e.g. a timescale fit that
   hit its bound; flagged and NaN entries are dropped before the test), when fewer than the
   test's minimum number of samples remain, or when the test cannot reach ``alpha`` with these
   sample sizes, ``min_p ≥ alpha`` (Mann–Whitney with 2 vs 2 seeds: ``min_p = 1/6``). Since a
   pass needs ``p < alpha``, ``min_p = alpha`` (3 vs 3 seeds at ``alpha = 0.05``) is
   inconclusive too.
2. ``pass`` when ``p < alpha`` and the effect size has the claimed sign; for ``trend`` with
   groups the cluster-bootstrap CI of ρ must also exclude 0 on the claimed side.
3. ``fail`` otherwise; the reason says whether the effect went the opposite way or was not
   significant.

``min_p`` is exact for each test: one-sided Mann–Whitney with sizes m, n: ``1/C(m+n, m)``;
Wilcoxon signed-rank with n non-zero differences: ``2^−n``; Spearman by exact permutation:
``∏ t! / n!`` (``t``: sizes of tied groups; ``1/n!`` without ties); cluster permutation:
``1/(number of distinct arrangements)``, and at least ``1/(n_perm + 1)`` when sampled;
binomial ``H0: π ≤ target``: ``target^n``.

With ties and few samples the rank tests use their exact permutation distributions (SciPy's
exact Mann–Whitney and Wilcoxon tables assume no ties, and the normal approximation can give a
p-value below the attainable ``min_p``); integer metrics such as numbers of fixed points tie
often.
"""

from __future__ import annotations

import inspect
import itertools
import math
import warnings
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from scipy import stats

from ..errors import ConfigError

__all__ = ["ClaimTest", "compare", "paired", "trend", "proportion", "holm", "outcome_rule"]

_MAX_EXACT = 40320  # 8!: enumerate a permutation distribution when it has at most this many arrangements
_RNG_KW = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"  # SciPy ≥ 1.15


@dataclass(frozen=True)
class ClaimTest:
    """One claim's test: estimate, CI, p-value, effect size, sample sizes and outcome.

    ``ci_low``/``ci_high`` form the two-sided ``1 − alpha`` CI of ``value`` (bootstrap unless
    exact); ``n`` counts the samples used, ``n_dropped`` the NaN or flagged ones removed;
    ``min_p`` is the smallest p-value the test could give with these sample sizes.
    """

    test: str
    statistic: str
    value: float
    ci_low: float
    ci_high: float
    p: float
    effect_size: float
    effect_name: str
    n: int
    n_dropped: int
    min_p: float
    outcome: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain Python values (NaN stays ``float('nan')``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def outcome_rule(p: float, min_p: float, effect: float, sign: int, *, alpha: float = 0.05,
                 problem: str | None = None, ci: tuple[float, float] | None = None,
                 effect_name: str = "effect", claimed: str = "claimed direction",
                 opposite: str = "opposite direction") -> tuple[str, str]:
    """The project's outcome rule (module docstring); returns ``(outcome, reason)``.

    ``sign`` is +1 when the claim is a positive effect, −1 when negative; ``problem`` is a
    reason the data cannot decide (too many flags, too few samples); ``ci``, when given, must
    exclude 0 on the claimed side for a pass; ``claimed``/``opposite`` word the two directions.
    """
    if problem:
        return "inconclusive", problem
    if not min_p < alpha:
        return "inconclusive", (f"smallest attainable p = {min_p:.3g} ≥ alpha = {alpha:g} with these sample "
                                f"sizes; more samples are needed")
    if not np.isfinite(p) or not np.isfinite(effect):
        return "inconclusive", "p-value or effect size undefined for these samples"
    said = f"{effect_name} = {effect:+.3g}"
    if sign * effect < 0:
        return "fail", f"effect in the opposite direction: {said} ({opposite}, claimed {claimed}); p = {p:.3g}"
    if effect == 0:
        return "fail", f"no effect: {said}; p = {p:.3g}"
    if p >= alpha:
        return "fail", f"{said} ({claimed}) but not significant: p = {p:.3g} ≥ alpha = {alpha:g}"
    if ci is not None and not min(sign * ci[0], sign * ci[1]) > 0:
        return "fail", (f"p = {p:.3g} < alpha = {alpha:g} but the {1 - alpha:.0%} CI [{ci[0]:.3g}, {ci[1]:.3g}] "
                        f"does not exclude 0 on the claimed side ({claimed})")
    return "pass", f"p = {p:.3g} < alpha = {alpha:g} and {said} ({claimed})"


def compare(a: Any, b: Any, direction: Literal["greater", "less"], *, alpha: float = 0.05,
            flagged_a: Any = None, flagged_b: Any = None, max_flagged: float = 0.25,
            n_boot: int = 2000, seed: int = 0) -> ClaimTest:
    """Independent samples ``a`` (m,) vs ``b`` (n,): is ``a`` greater (less) than ``b``?

    Test: one-sided Mann–Whitney U (Mann & Whitney 1947), ``U = #{a_i > b_j} + ½ #{a_i = b_j}``;
    SciPy's exact null distribution when there are no ties and ``min(m, n) ≤ 8``, the exact
    permutation distribution of U with ties when ``C(m+n, m) ≤ 8!``, otherwise the
    tie-corrected normal approximation. ``min_p = 1/C(m+n, m)``; at least 2 samples each.
    Value: ``mean(a) − mean(b)`` with a BCa bootstrap CI, each sample resampled on its own
    (Efron & Tibshirani 1993, ch. 14). Effect: rank-biserial correlation
    ``r = 2U/(mn) − 1 = P(a > b) − P(a < b)``, positive when ``a > b`` (Kerby 2014).
    """
    sign = _sign(direction, {"greater": 1, "less": -1}, "direction")
    _check_common(alpha, max_flagged, n_boot)
    a, b = _vector(a, "a"), _vector(b, "b")
    keep_a, drop_a, flag_a = _screen("samples of a", [a], _flags(flagged_a, a.size, "flagged_a"), max_flagged)
    keep_b, drop_b, flag_b = _screen("samples of b", [b], _flags(flagged_b, b.size, "flagged_b"), max_flagged)
    a, b = a[keep_a], b[keep_b]
    m, n = a.size, b.size
    few = f"only {m} and {n} samples left in a and b; needs ≥ 2 in each" if min(m, n) < 2 else None
    value = float(a.mean() - b.mean()) if m and n else math.nan
    p = r = math.nan
    ci, how = (math.nan, math.nan), "not run"
    if not few:
        u, p, how = _mann_whitney(a, b, direction)
        r = 2 * u / (m * n) - 1
        ci = _bootstrap_ci((a, b), _mean_difference, 1 - alpha, n_boot, seed)
    words = ("a > b", "a < b")[:: sign]
    return _claim(f"one-sided Mann–Whitney U ({how})", "difference of means (a − b)", value, ci, p, r,
                  "rank-biserial correlation", m + n, drop_a + drop_b, 1 / math.comb(m + n, m), sign, alpha,
                  flag_a or flag_b or few, words)


def paired(a: Any, b: Any, direction: Literal["greater", "less"], *, alpha: float = 0.05,
           flagged_a: Any = None, flagged_b: Any = None, max_flagged: float = 0.25,
           n_boot: int = 2000, seed: int = 0) -> ClaimTest:
    """Paired samples ``a``, ``b`` (n,) (the same networks measured twice): is ``a − b`` > 0 (< 0)?

    Test: one-sided Wilcoxon signed-rank on ``d = a − b`` (Wilcoxon 1945), zero differences
    dropped (Wilcoxon's convention): ``T+ = Σ_{d_i > 0} rank|d_i|``; SciPy's exact null
    distribution without ties, the exact sign-flip permutation distribution of T+ with ties
    when ``2^n ≤ 8!``, otherwise SciPy's choice (normal approximation). ``min_p = 2^−n`` for n
    non-zero differences; at least 2 pairs. A pair is dropped if either value is NaN or
    flagged. Value: ``mean(d)`` with a BCa bootstrap CI over pairs (Efron & Tibshirani 1993).
    Effect: matched-pairs rank-biserial correlation ``r = (T+ − T−)/(T+ + T−)`` (Kerby 2014).
    """
    sign = _sign(direction, {"greater": 1, "less": -1}, "direction")
    _check_common(alpha, max_flagged, n_boot)
    a, b = _vector(a, "a"), _vector(b, "b")
    if b.size != a.size:
        raise ConfigError(f"b: paired samples need equal lengths, got {a.size} and {b.size}")
    flags = _flags(flagged_a, a.size, "flagged_a") | _flags(flagged_b, b.size, "flagged_b")
    keep, dropped, flag = _screen("pairs", [a, b], flags, max_flagged)
    d = a[keep] - b[keep]
    nonzero = d[d != 0]
    few = f"only {d.size} pairs left; needs ≥ 2" if d.size < 2 else None
    value = float(d.mean()) if d.size else math.nan
    p = r = math.nan
    ci, how = (math.nan, math.nan), "not run"
    if not few and nonzero.size:
        t_plus, p, how = _signed_rank(nonzero, direction)
        total = nonzero.size * (nonzero.size + 1) / 2
        r = (2 * t_plus - total) / total
        ci = _bootstrap_ci((d,), _mean, 1 - alpha, n_boot, seed)
    elif not few:
        few = f"all {d.size} paired differences are zero"
    words = ("a > b", "a < b")[:: sign]
    return _claim(f"one-sided Wilcoxon signed-rank ({how})", "mean of paired differences (a − b)", value, ci, p, r,
                  "matched-pairs rank-biserial correlation", d.size, dropped, 2.0 ** -nonzero.size, sign, alpha,
                  flag or few, words)


def trend(x: Any, y: Any, direction: Literal["increasing", "decreasing"], *, groups: Any = None,
          alpha: float = 0.05, flagged: Any = None, max_flagged: float = 0.25, n_boot: int = 2000,
          n_perm: int = 9999, seed: int = 0) -> ClaimTest:
    """Monotone trend of ``y`` (n,) with ``x`` (n,): Spearman ρ (Spearman 1904), one-sided.

    ``ρ`` is Pearson's correlation of the (average) ranks of x and y over all points.

    Without ``groups`` the points are independent: p from ``spearmanr``'s ``alternative``
    (Student-t approximation), or the exact permutation distribution over all ``n!``
    orderings when ``n ≤ 8``; CI by a percentile bootstrap over points.

    With ``groups`` (n,) (one label per point: its network or seed) the points of one network
    share that network's idiosyncrasies, so they are not independent: ``spearmanr``'s p treats
    n points as n independent pairs and is anti-conservative (5 networks × 8 points, x constant
    within each network, a random offset per network and no trend: one-sided p < 0.05 in 30 %
    of data sets; the cluster test below: 3.5 %). The p-value is then from a permutation test that respects the clusters
    (Good 2005, ch. 3): if x varies within networks, x is permuted within each network (H0: within
    a network, y does not depend on x); if every network has one x, the networks' x values are
    permuted among networks (H0: network-level y does not depend on x). Exact enumeration
    when there are ≤ 8! arrangements, else ``n_perm`` random ones with
    ``p = (1 + #{ρ* ≥ ρ})/(1 + n_perm)`` (Phipson & Smyth 2010). The CI of ρ is a cluster
    (percentile) bootstrap that resamples whole networks (Field & Welsh 2007; Efron &
    Tibshirani 1993, ch. 13; resamples where ρ is undefined are skipped), and a pass also needs
    that CI to exclude 0 on the claimed side. At least 3 points (and 2 groups).
    """
    sign = _sign(direction, {"increasing": 1, "decreasing": -1}, "direction")
    _check_common(alpha, max_flagged, n_boot)
    if not (isinstance(n_perm, int) and n_perm >= 1):
        raise ConfigError(f"n_perm: must be a positive integer, got {n_perm!r}")
    x, y = _vector(x, "x"), _vector(y, "y")
    if y.size != x.size:
        raise ConfigError(f"y: must have one value per x ({x.size}), got {y.size}")
    labels = np.arange(x.size) if groups is None else np.asarray(groups)
    if labels.shape != x.shape:
        raise ConfigError(f"groups: must have one label per point ({x.size}), got shape {labels.shape}")
    keep, dropped, flag = _screen("points", [x, y], _flags(flagged, x.size, "flagged"), max_flagged)
    x, y = x[keep], y[keep]
    codes = np.unique(labels[keep], return_inverse=True)[1].reshape(-1) if keep.any() else np.zeros(0, int)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    rho = _spearman_rows(x, y) if x.size >= 2 else math.nan
    few = None
    if x.size < 3 or n_groups < 2:
        few = f"only {x.size} points in {n_groups} groups left; needs ≥ 3 points and ≥ 2 groups"
    elif not np.isfinite(rho):
        few = "ρ undefined: x or y is constant"
    rng = np.random.default_rng(seed)
    p, min_p, how = _trend_p(x, y, codes, groups is not None, direction, n_perm, rng)
    ci = (math.nan, math.nan) if few else _cluster_bootstrap_ci(x, y, codes, 1 - alpha, n_boot, rng)
    how = how if groups is None else f"{how}, {n_groups} groups, cluster-bootstrap CI"
    return _claim(f"one-sided Spearman rank correlation ({how})", "Spearman ρ of y with x", rho, ci,
                  math.nan if few else p, rho, "Spearman ρ", x.size, dropped, min_p, sign, alpha, flag or few,
                  ("increasing", "decreasing")[:: sign], ci_rule=groups is not None)


def proportion(successes: Any, target: float, *, alpha: float = 0.05, flagged: Any = None,
               max_flagged: float = 0.25) -> ClaimTest:
    """Fraction of networks with a property (``successes`` (n,) of 0/1 or bools, NaN = missing).

    Test: one-sided exact binomial test of ``H0: π ≤ target`` vs ``H1: π > target``,
    ``p = P(X ≥ k; n, target)`` for k successes of n (``scipy.stats.binomtest``);
    ``min_p = target^n``. Value: ``k/n`` with the two-sided ``1 − alpha`` Clopper–Pearson
    interval (Clopper & Pearson 1934). Effect: ``k/n − target``.

    "At least a fraction ``target``" (``H1: π ≥ target``) is the same test: the boundary
    ``π = target`` has no probability of its own, so ``sup_{π < target} P(X ≥ k; π) =
    P(X ≥ k; target)`` and both readings give the same p and outcome. A universal claim
    ("all networks") cannot be confirmed by a finite sample (``target = 1`` is refused);
    state it as "at least 90 %" (``target=0.9``, which needs n ≥ 29 for ``0.9^n < 0.05``).
    "At most a fraction t" is ``proportion(~has_property, 1 − t)``.
    """
    _check_common(alpha, max_flagged, 1)
    if not 0 <= target < 1:
        raise ConfigError(f"target: must be in [0, 1), got {target!r}")
    s = _vector(successes, "successes")
    if not np.isin(s[~np.isnan(s)], (0.0, 1.0)).all():
        raise ConfigError("successes: entries must be 0/1 or True/False (NaN for missing)")
    keep, dropped, flag = _screen("networks", [s], _flags(flagged, s.size, "flagged"), max_flagged)
    n, k = int(keep.sum()), int(s[keep].sum())
    value = p = math.nan
    ci = (math.nan, math.nan)
    if n:
        value = k / n
        p = float(stats.binomtest(k, n, target, alternative="greater").pvalue)
        interval = stats.binomtest(k, n, target).proportion_ci(confidence_level=1 - alpha, method="exact")
        ci = (float(interval.low), float(interval.high))
    few = "no networks left" if not n else None
    return _claim("one-sided exact binomial test (Clopper–Pearson CI)", "proportion of networks with the property",
                  value, ci, p, value - target, "proportion − target", n, dropped, float(target) ** n, 1, alpha,
                  flag or few, (f"above {target:g}", f"below {target:g}"))


def holm(pvalues: Any) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (Holm 1979), in the input order.

    With the m finite p-values sorted, ``p_(1) ≤ … ≤ p_(m)``:
    ``p̃_(i) = min(1, max_{j ≤ i} (m − j + 1) p_(j))``; rejecting ``p̃ < alpha`` controls the
    family-wise error rate at ``alpha``. NaN entries (claims not tested) stay NaN and do not
    count in m.
    """
    p = _vector(pvalues, "pvalues")
    tested = ~np.isnan(p)
    q = p[tested]
    if ((q < 0) | (q > 1)).any():
        raise ConfigError("pvalues: must lie in [0, 1]")
    order = np.argsort(q, kind="stable")
    m = q.size
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    out = np.full(p.shape, np.nan)
    out[tested] = adjusted
    return out


def _claim(test, statistic, value, ci, p, effect, effect_name, n, n_dropped, min_p, sign, alpha, problem, words,
           ci_rule=False) -> ClaimTest:
    outcome, reason = outcome_rule(p, min_p, effect, sign, alpha=alpha, problem=problem,
                                   ci=ci if ci_rule else None, effect_name=effect_name,
                                   claimed=words[0], opposite=words[1])
    return ClaimTest(test, statistic, float(value), float(ci[0]), float(ci[1]), float(p), float(effect),
                     effect_name, int(n), int(n_dropped), float(min_p), outcome, reason)


def _sign(direction: str, options: dict[str, int], field: str) -> int:
    if direction not in options:
        raise ConfigError(f"{field}: must be one of {sorted(options)}, got {direction!r}")
    return options[direction]


def _check_common(alpha: float, max_flagged: float, n_boot: int) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha: must be in (0, 1), got {alpha!r}")
    if not 0 <= max_flagged <= 1:
        raise ConfigError(f"max_flagged: must be in [0, 1], got {max_flagged!r}")
    if not (isinstance(n_boot, int) and n_boot >= 1):
        raise ConfigError(f"n_boot: must be a positive integer, got {n_boot!r}")


def _vector(x: Any, field: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: must be numbers") from None
    if arr.ndim != 1:
        raise ConfigError(f"{field}: must be 1-D, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ConfigError(f"{field}: infinite values (use NaN for missing ones)")
    return arr


def _flags(flags: Any, n: int, field: str) -> np.ndarray:
    if flags is None:
        return np.zeros(n, bool)
    f = np.asarray(flags)
    if f.shape != (n,) or not (f.dtype == bool or (np.issubdtype(f.dtype, np.integer) and np.isin(f, (0, 1)).all())):
        raise ConfigError(f"{field}: must be {n} booleans, one per sample, got {f.dtype} of shape {f.shape}")
    return f.astype(bool)


def _screen(what: str, columns: list[np.ndarray], flags: np.ndarray, max_flagged: float):
    """Keep mask (no NaN in any column, not flagged), number dropped, and a flag problem or None."""
    drop = flags.copy()
    for c in columns:
        drop |= np.isnan(c)
    n_flagged = int(flags.sum())
    problem = None
    if flags.size and n_flagged / flags.size > max_flagged:
        problem = (f"{n_flagged} of {flags.size} {what} flagged unreliable "
                   f"({n_flagged / flags.size:.0%} > max_flagged = {max_flagged:.0%})")
    return ~drop, int(drop.sum()), problem


def _has_ties(v: np.ndarray) -> bool:
    return np.unique(v).size < v.size


def _mann_whitney(a: np.ndarray, b: np.ndarray, alternative: str) -> tuple[float, float, str]:
    """U of a, one-sided p and how p was computed."""
    ties = _has_ties(np.concatenate([a, b]))
    if ties and math.comb(a.size + b.size, a.size) <= _MAX_EXACT:
        res = stats.permutation_test((a, b), _u_statistic, permutation_type="independent", vectorized=True,
                                     n_resamples=np.inf, alternative=alternative)
        return float(_u_statistic(a, b)), float(res.pvalue), "exact permutation distribution, ties"
    method = "asymptotic" if ties or min(a.size, b.size) > 8 else "exact"
    res = stats.mannwhitneyu(a, b, alternative=alternative, method=method)
    return float(res.statistic), float(res.pvalue), "exact" if method == "exact" else "normal approximation"


def _u_statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.moveaxis(x, axis, -1)[..., :, None]
    y = np.moveaxis(y, axis, -1)[..., None, :]
    return ((x > y) + 0.5 * (x == y)).sum(axis=(-2, -1))


def _signed_rank(d: np.ndarray, alternative: str) -> tuple[float, float, str]:
    """T+ of the non-zero differences d, one-sided p and how p was computed."""
    ties = _has_ties(np.abs(d))
    if ties and 2 ** d.size <= _MAX_EXACT:
        res = stats.permutation_test((d,), _t_plus, permutation_type="samples", vectorized=True,
                                     n_resamples=np.inf, alternative=alternative)
        return float(_t_plus(d)), float(res.pvalue), "exact sign-flip distribution, ties"
    method = "exact" if not ties and d.size <= 50 else "auto"
    res = stats.wilcoxon(d, alternative=alternative, method=method)
    return float(_t_plus(d)), float(res.pvalue), "exact" if method == "exact" else "normal approximation"


def _t_plus(d: np.ndarray, axis: int = -1) -> np.ndarray:
    d = np.moveaxis(d, axis, -1)
    return (stats.rankdata(np.abs(d), axis=-1) * (d > 0)).sum(axis=-1)


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x.mean(axis=axis)


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return x.mean(axis=axis) - y.mean(axis=axis)


def _bootstrap_ci(data: tuple, statistic, level: float, n_boot: int, seed: int) -> tuple[float, float]:
    """BCa bootstrap CI (``scipy.stats.bootstrap``); percentile if BCa is undefined (degenerate data)."""
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DegenerateDataWarning / invalid-value warnings on tiny samples
            ci = stats.bootstrap(data, statistic, n_resamples=n_boot, confidence_level=level, method=method,
                                 vectorized=True, **{_RNG_KW: np.random.default_rng(seed)}).confidence_interval
        if np.isfinite(ci.low) and np.isfinite(ci.high):
            return float(ci.low), float(ci.high)
    return math.nan, math.nan


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray | float:
    """Spearman ρ along the last axis (Pearson correlation of average ranks); NaN if constant."""
    rx, ry = stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))
    return float(rho) if np.ndim(rho) == 0 else rho


def _arrangements(v: np.ndarray) -> int:
    """Distinct orderings of the multiset v: ``len(v)! / ∏ t!``."""
    counts = np.unique(v, return_counts=True)[1]
    return math.factorial(v.size) // math.prod(math.factorial(int(t)) for t in counts)


def _trend_p(x, y, codes, clustered: bool, alternative: str, n_perm: int, rng) -> tuple[float, float, str]:
    """One-sided p of ρ, its min_p and how p was computed (module docstring)."""
    sign = 1 if alternative == "increasing" else -1
    members = [np.flatnonzero(codes == g) for g in range(int(codes.max()) + 1)] if codes.size else []
    within = clustered and any(np.unique(x[m]).size > 1 for m in members)
    if within:  # permute x within each network
        distinct = math.prod(_arrangements(x[m]) for m in members)
        total = math.prod(math.factorial(m.size) for m in members)
    else:  # permute the networks' x values among networks (groups=None: points among points)
        group_x = np.array([x[m[0]] for m in members])
        distinct, total = _arrangements(group_x), math.factorial(len(members))
    if not clustered:
        distinct = min(distinct, _arrangements(y))  # ties in y also repeat arrangements of ρ
    exact = total <= _MAX_EXACT
    min_p = 1 / distinct if exact else max(1 / distinct, 1 / (n_perm + 1))
    if x.size < 3:
        return math.nan, min_p, "not run"
    if not clustered and not exact:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant input: ρ and p are NaN
            p = stats.spearmanr(x, y, alternative="greater" if sign > 0 else "less")[1]
        return float(p), 1 / distinct, "Student-t approximation"
    if within:
        order = _within_orders(members, exact, n_perm, codes, rng)
        permuted = x[order]
    else:
        order = (np.array(list(itertools.permutations(range(len(members))))) if exact
                 else np.argsort(rng.random((n_perm, len(members))), axis=1))
        permuted = group_x[order][:, codes]
    rho, rhos = _spearman_rows(x, y), _spearman_rows(permuted, y)
    hits = np.count_nonzero(sign * rhos >= sign * rho - 1e-12)
    what = "permutation" if not clustered else f"cluster permutation of x {'within' if within else 'among'} groups"
    if exact:
        return hits / len(rhos), min_p, f"exact {what}, {len(rhos)} arrangements"
    return (1 + hits) / (1 + n_perm), min_p, f"{what}, {n_perm} random arrangements"


def _within_orders(members, exact: bool, n_perm: int, codes: np.ndarray, rng) -> np.ndarray:
    """Index arrays (k, n) that permute points only within their group: all of them, or n_perm random."""
    if exact:
        perms = [np.array(list(itertools.permutations(m))) for m in members]
        grids = np.meshgrid(*[np.arange(len(q)) for q in perms], indexing="ij")
        order = np.empty((grids[0].size, codes.size), int)
        for m, q, grid in zip(members, perms, grids):
            order[:, m] = q[grid.ravel()]
        return order
    by_group = np.argsort(codes, kind="stable")
    order = np.empty((n_perm, codes.size), int)
    order[:, by_group] = np.argsort(codes + rng.random((n_perm, codes.size)), axis=1)
    return order


def _cluster_bootstrap_ci(x, y, codes, level: float, n_boot: int, rng) -> tuple[float, float]:
    """Percentile CI of ρ from resampling whole groups with replacement (each point its own group if unclustered)."""
    members = [np.flatnonzero(codes == g) for g in range(int(codes.max()) + 1)]
    draws = rng.integers(len(members), size=(n_boot, len(members)))
    sizes = {m.size for m in members}
    if len(sizes) == 1:  # equal groups: all resamples at once
        idx = np.stack(members)[draws].reshape(n_boot, -1)
        rhos = _spearman_rows(x[idx], y[idx])
    else:
        rhos = np.array([_spearman_rows(x[i], y[i]) for i in (np.concatenate([members[g] for g in row])
                                                            for row in draws)])
    rhos = rhos[np.isfinite(rhos)]
    if rhos.size < n_boot / 2:
        return math.nan, math.nan
    low, high = np.percentile(rhos, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)
