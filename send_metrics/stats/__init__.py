"""Statistical methods for the SEND needs dashboard (BRIEF section 7).

May import: nothing else of the project (only numpy, scipy and pandas), so every method can be
tested and reused alone.

Purpose
-------
Pure, vectorised implementations of the public-health statistics that OHID
Fingertips and the PHEindicatormethods R package use, so that every figure the
dashboard shows can carry a confidence interval, a benchmark comparison, a
recent-trend reading, funnel-plot limits and equity (gap / ratio) statistics:

* :func:`wilson_ci` - Wilson score interval for a proportion.
* :func:`exact_poisson_ci`, :func:`byar_ci`, :func:`rate_ci` - intervals for a
  count and for a crude rate (Byar's method, exact Poisson below 10 events).
* :func:`mean_ci`, :func:`sd_from_sum_of_squares` - Student's t interval for a mean
  (PHEindicatormethods ``phe_mean``), from a count, a sum and a sum of squares.
* :func:`compare_to_benchmark` - Fingertips "better / similar / worse" rule.
* :func:`recent_trend` (crude rates), :func:`proportion_trend` (chi-square test for
  trend, proportions), :func:`trend_verdict` - Fingertips recent trends.
* :func:`funnel_limits`, :func:`overdispersion_phi` - Spiegelhalter funnel
  plots, including multiplicative over-dispersion.
* :func:`proportion_difference_ci`, :func:`proportion_ratio_ci`,
  :func:`rate_ratio_ci`, :func:`rate_difference_ci`, :func:`equity_verdict` - equity statistics.
  (No slope index of inequality: the data contract holds no deprivation breakdown, so there is
  no gradient to fit; see issue 17 point 7.)

Invariants
----------
* Every function is pure: no I/O, no global state, no Streamlit, no pandas
  requirement (pandas Series are accepted wherever numpy arrays are).
* Scalar inputs give Python ``float`` / ``str`` outputs; array-like inputs give
  numpy arrays of the broadcast shape.  Nothing is looped in Python per element
  except where documented (the recent-trend fit works on a single series).
* Proportions are handled as fractions in [0, 1]; callers scale for display.
  Rates take a ``multiplier`` (e.g. 1000 for "per 1,000").
* Missing or undefined input (NaN, zero denominator) yields NaN limits, never
  an exception and never a zero; categorical outputs then say
  ``"not_compared"`` / ``"not_enough_data"``.
* Invalid input that signals a data error (negative counts, numerator above
  denominator for a proportion, confidence outside (0, 1)) raises
  ``ValueError``.
* ``confidence`` may be given as a fraction (0.95, 0.998) or, as in
  PHEindicatormethods, as a percentage (95, 99.8).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _Lazy:
    """A scipy module imported on first use: scipy.stats takes a second or more to import and
    scipy.special about half a second (it pulls in numpy.f2py), and a page that only reads the
    precomputed measure table (the Board, on every start) needs neither."""

    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, name: str):
        import importlib
        return getattr(importlib.import_module(self._module), name)


_stats = _Lazy("scipy.stats")
_special = _Lazy("scipy.special")

__all__ = [
    "POLARITIES",
    "wilson_ci",
    "exact_poisson_ci",
    "byar_ci",
    "rate_ci",
    "mean_ci",
    "sd_from_sum_of_squares",
    "compare_to_benchmark",
    "compare_to_benchmark_array",
    "recent_trend",
    "trend_verdict",
    "chi2_trend_statistic",
    "proportion_trend",
    "funnel_limits",
    "overdispersion_phi",
    "overdispersion_tau2",
    "proportion_difference_ci",
    "proportion_ratio_ci",
    "rate_ratio_ci",
    "rate_difference_ci",
    "mover_ratio_ci",
    "equity_verdict",
]

#: Accepted polarity values (``None`` is read as ``"no_judgement"``).
POLARITIES = ("higher_is_better", "lower_is_better", "no_judgement")

#: Chi-square (1 df) critical value for p < 0.002, used by Fingertips for trends.
TREND_CHI2_THRESHOLD = 9.5495


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _confidence(confidence: float) -> float:
    """Normalise a confidence level given as a fraction or a percentage."""
    c = float(confidence)
    if 1.0 < c <= 100.0:
        c = c / 100.0
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1) or (1, 100); got {confidence!r}")
    return c


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile for a confidence level."""
    c = _confidence(confidence)
    return float(_stats.norm.ppf(c + (1.0 - c) / 2.0))


def _is_scalar(*args: Any) -> bool:
    return all(np.ndim(a) == 0 for a in args)


def _as_float(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=float)


def _out(a: np.ndarray, scalar: bool) -> Any:
    if scalar:
        return float(np.asarray(a).reshape(-1)[0])
    return a


def _polarity(p: Any) -> str:
    if p is None or (isinstance(p, float) and np.isnan(p)):
        return "no_judgement"
    if p not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES} or None; got {p!r}")
    return p


# ---------------------------------------------------------------------------
# confidence intervals
# ---------------------------------------------------------------------------
def wilson_ci(successes: Any, trials: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score confidence interval for a proportion, as fractions.

    ``lower, upper = (2x + z^2 -/+ z*sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``

    Source: Wilson EB (1927) "Probable inference, the law of succession, and
    statistical inference", JASA 22:209-212; Newcombe RG (1998) "Two-sided
    confidence intervals for the single proportion", Stat Med 17:857-872
    (method 3); the same closed form as PHEindicatormethods ``wilson_lower`` /
    ``wilson_upper`` (used by ``phe_proportion``) and the OHID Fingertips
    technical guidance.

    Parameters
    ----------
    successes, trials : scalar or array-like
        Numerators ``x`` and denominators ``n`` (broadcast together).
    confidence : float
        0.95 by default; 0.998 for Fingertips' 99.8% limits.

    Returns
    -------
    (lower, upper)
        Floats for scalar input, numpy arrays otherwise.  ``trials`` of 0 or
        NaN, or NaN ``successes``, give ``(nan, nan)``.
    """
    scalar = _is_scalar(successes, trials)
    x, n = np.broadcast_arrays(_as_float(successes), _as_float(trials))
    z = _z(confidence)
    if np.any(np.isfinite(n) & (n < 0)):
        raise ValueError("trials must be >= 0")
    if np.any(np.isfinite(x) & (x < 0)):
        raise ValueError("successes must be >= 0")
    if np.any(np.isinf(x) | np.isinf(n)):
        raise ValueError("successes and trials must be finite (NaN marks a missing value)")
    valid = np.isfinite(x) & np.isfinite(n) & (n > 0)
    if np.any(valid & (x > n)):
        raise ValueError("successes must not exceed trials")
    xs = np.where(valid, x, 0.0)
    ns = np.where(valid, n, 1.0)
    root = z * np.sqrt(z * z + 4.0 * xs * (1.0 - xs / ns))
    denom = 2.0 * (ns + z * z)
    lower = np.clip((2.0 * xs + z * z - root) / denom, 0.0, 1.0)
    upper = np.clip((2.0 * xs + z * z + root) / denom, 0.0, 1.0)
    lower = np.where(valid, lower, np.nan)
    upper = np.where(valid, upper, np.nan)
    return _out(lower, scalar), _out(upper, scalar)


def exact_poisson_ci(count: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Exact (Garwood) Poisson confidence interval for an observed count.

    ``lower = chi2_inv(alpha/2, 2x) / 2`` (0 when x = 0) and
    ``upper = chi2_inv(1 - alpha/2, 2x + 2) / 2``.

    Source: Garwood F (1936) Biometrika 28:437-442; Armitage P, Berry G,
    Statistical methods in medical research (4th edn, 2002); the "exact"
    branch of PHEindicatormethods ``phe_rate`` (``qchisq((1-confidence)/2,
    2*x)/2``).

    Returns ``(lower, upper)`` count limits; NaN count gives NaN limits.
    """
    scalar = _is_scalar(count)
    x = _as_float(count)
    alpha = 1.0 - _confidence(confidence)
    valid = np.isfinite(x)
    if np.any(valid & (x < 0)):
        raise ValueError("counts must be >= 0")
    xs = np.where(valid, x, 1.0)
    with np.errstate(invalid="ignore"):
        lower = np.where(xs > 0, _stats.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(xs, 1e-300)) / 2.0, 0.0)
        upper = _stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * xs + 2.0) / 2.0
    lower = np.where(valid, lower, np.nan)
    upper = np.where(valid, upper, np.nan)
    return _out(lower, scalar), _out(upper, scalar)


def byar_ci(count: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Confidence interval for a count: Byar's method, exact Poisson below 10.

    For ``x >= 10`` (Byar's approximation to the exact Poisson limits)::

        lower = x * (1 - 1/(9x) - z/(3 sqrt(x)))^3
        upper = (x+1) * (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3

    and for ``x < 10`` the exact limits of :func:`exact_poisson_ci`.

    Source: Breslow NE, Day NE (1987) Statistical methods in cancer research
    vol. II, IARC; PHEindicatormethods ``byars_lower`` / ``byars_upper`` and
    ``phe_rate`` (which switches to the exact method when ``x < 10``); OHID
    Fingertips technical guidance / APHO Technical Briefing 3.

    Returns ``(lower, upper)`` count limits (floats for scalar input).
    """
    scalar = _is_scalar(count)
    x = _as_float(count)
    z = _z(confidence)
    valid = np.isfinite(x)
    if np.any(valid & (x < 0)):
        raise ValueError("counts must be >= 0")
    ex_lo, ex_hi = exact_poisson_ci(np.where(valid, x, 0.0), confidence)
    xs = np.where(valid & (x >= 10), x, 10.0)
    by_lo = xs * (1.0 - 1.0 / (9.0 * xs) - z / (3.0 * np.sqrt(xs))) ** 3
    by_hi = (xs + 1.0) * (1.0 - 1.0 / (9.0 * (xs + 1.0)) + z / (3.0 * np.sqrt(xs + 1.0))) ** 3
    use_byar = valid & (x >= 10)
    lower = np.where(use_byar, by_lo, ex_lo)
    upper = np.where(use_byar, by_hi, ex_hi)
    lower = np.where(valid, lower, np.nan)
    upper = np.where(valid, upper, np.nan)
    return _out(lower, scalar), _out(upper, scalar)


def rate_ci(
    count: Any, denominator: Any, multiplier: float = 1.0, confidence: float = 0.95
) -> tuple[Any, Any]:
    """Confidence interval for a crude rate ``count / denominator * multiplier``.

    The count limits of :func:`byar_ci` (Byar's method; exact Poisson when the
    count is below 10) divided by the denominator and scaled by
    ``multiplier``.

    Source: PHEindicatormethods ``phe_rate``; OHID Fingertips technical
    guidance ("crude rates").

    Returns ``(lower, upper)``; a denominator of 0 or NaN gives NaN.
    """
    scalar = _is_scalar(count, denominator)
    x, d = np.broadcast_arrays(_as_float(count), _as_float(denominator))
    if np.any(np.isfinite(d) & (d < 0)):
        raise ValueError("denominators must be >= 0")
    lo, hi = byar_ci(x, confidence)
    valid = np.isfinite(d) & (d > 0)
    ds = np.where(valid, d, 1.0)
    lower = np.where(valid, np.asarray(lo) / ds * multiplier, np.nan)
    upper = np.where(valid, np.asarray(hi) / ds * multiplier, np.nan)
    return _out(lower, scalar), _out(upper, scalar)


def mean_ci(mean: Any, sd: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Student's t confidence interval for a mean of ``n`` observations.

    ``mean -/+ t(1 - alpha/2, n - 1) * sd / sqrt(n)``, with ``sd`` the sample standard deviation
    (divisor ``n - 1``) of the observations.

    Source: PHEindicatormethods ``phe_mean`` (method "Student's t-distribution":
    ``value -/+ abs(qt((1 - confidence)/2, n - 1)) * stdev / sqrt(n)``), tested against its
    ``testdata_Mean.xlsx``.

    Returns ``(lower, upper)``; ``n`` below 2, or a NaN mean or standard deviation, gives NaN
    (one observation has no spread to estimate). Negative ``n`` or ``sd`` raise ``ValueError``.
    """
    scalar = _is_scalar(mean, sd, n)
    m, s, k = np.broadcast_arrays(_as_float(mean), _as_float(sd), _as_float(n))
    c = _confidence(confidence)
    if np.any(np.isfinite(k) & (k < 0)):
        raise ValueError("n must be >= 0")
    if np.any(np.isfinite(s) & (s < 0)):
        raise ValueError("a standard deviation must be >= 0")
    valid = np.isfinite(m) & np.isfinite(s) & np.isfinite(k) & (k >= 2)
    ks = np.where(valid, k, 2.0)
    half = _stats.t.ppf(1.0 - (1.0 - c) / 2.0, ks - 1.0) * np.where(valid, s, 0.0) / np.sqrt(ks)
    lower = np.where(valid, m - half, np.nan)
    upper = np.where(valid, m + half, np.nan)
    return _out(lower, scalar), _out(upper, scalar)


def sd_from_sum_of_squares(total: Any, sum_of_squares: Any, n: Any) -> Any:
    """Sample standard deviation of ``n`` observations from their sum and sum of squares.

    ``sqrt((sum x^2 - (sum x)^2 / n) / (n - 1))``. Groups combine exactly: a group of ``n_i``
    observations with mean ``m_i`` and standard deviation ``s_i`` has
    ``sum x^2 = (n_i - 1) s_i^2 + n_i m_i^2``, and sums of squares add, so the standard
    deviation of a council's pupils is found from its localities' without a pupil-level file.
    NaN for ``n`` below 2 or missing input; a tiny negative variance from rounding is 0.
    """
    scalar = _is_scalar(total, sum_of_squares, n)
    t, q, k = np.broadcast_arrays(_as_float(total), _as_float(sum_of_squares), _as_float(n))
    valid = np.isfinite(t) & np.isfinite(q) & np.isfinite(k) & (k >= 2)
    ks = np.where(valid, k, 2.0)
    var = (np.where(valid, q, 0.0) - np.where(valid, t, 0.0) ** 2 / ks) / (ks - 1.0)
    out = np.where(valid, np.sqrt(np.maximum(var, 0.0)), np.nan)
    return _out(out, scalar)


# ---------------------------------------------------------------------------
# benchmark comparison and trend
# ---------------------------------------------------------------------------
_ABOVE = {"higher_is_better": "better", "lower_is_better": "worse", "no_judgement": "higher"}
_BELOW = {"higher_is_better": "worse", "lower_is_better": "better", "no_judgement": "lower"}


def compare_to_benchmark(lower: Any, upper: Any, benchmark: Any, polarity: Any) -> Any:
    """Fingertips benchmark comparison of a confidence interval with a value.

    * CI wholly above the benchmark (``lower > benchmark``): ``"better"`` if
      ``polarity == "higher_is_better"``, ``"worse"`` if
      ``"lower_is_better"``, ``"higher"`` if ``"no_judgement"`` (or None);
    * CI wholly below (``upper < benchmark``): the mirror image
      (``"worse"`` / ``"better"`` / ``"lower"``);
    * otherwise (the CI touches or contains the benchmark): ``"similar"``;
    * any of the three numbers NaN: ``"not_compared"``.

    Source: OHID Fingertips technical guidance, "Benchmarking: comparing
    the area to a benchmark using confidence intervals" (the RAG "better /
    similar / worse than England" colouring).  The caller must not compare an
    area with itself (BRIEF section 7).

    Scalars give a ``str``; any array input gives a numpy object array of the
    broadcast shape (``polarity`` may itself be an array).
    """
    scalar = _is_scalar(lower, upper, benchmark, polarity)
    lo, hi, bm = np.broadcast_arrays(_as_float(lower), _as_float(upper), _as_float(benchmark))
    pol = np.asarray(polarity, dtype=object)
    if pol.ndim == 0:
        pol_b = np.full(lo.shape, _polarity(pol.item()), dtype=object)
    else:
        checked = np.array([_polarity(p) for p in pol.ravel()], dtype=object).reshape(pol.shape)
        pol_b = np.broadcast_to(checked, lo.shape)
    out = np.full(lo.shape, "similar", dtype=object)
    above = lo > bm
    below = hi < bm
    for p in POLARITIES:
        m = pol_b == p
        out[m & above] = _ABOVE[p]
        out[m & below] = _BELOW[p]
    out[~(np.isfinite(lo) & np.isfinite(hi) & np.isfinite(bm))] = "not_compared"
    if scalar:
        return str(out.reshape(-1)[0])
    return out


#: Alias kept for call sites that want to make the vectorised use explicit.
compare_to_benchmark_array = compare_to_benchmark


def _wls_slope(t: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares slope and its sum of weighted squares S_tt."""
    tbar = np.sum(w * t) / np.sum(w)
    stt = np.sum(w * (t - tbar) ** 2)
    slope = np.sum(w * (t - tbar) * v) / stt
    return float(slope), float(stt)


def recent_trend(
    values: Any,
    lower: Any,
    upper: Any,
    polarity: Any = None,
    min_points: int = 5,
    *,
    times: Any = None,
    se_divisor: float = 3.92,
    chi2_threshold: float = TREND_CHI2_THRESHOLD,
) -> str:
    """Recent trend of a series over its last ``min_points`` (5) points.

    Method (BRIEF section 7, after OHID Fingertips "recent trends"):

    1. Take the last ``min_points`` non-NaN points (value, lower, upper all
       present), in order; time is the point's position in the series (or
       ``times`` if given).
    2. ``SE = (upper - lower) / 3.92`` (a 95% interval); weights ``1/SE^2``.
    3. Weighted least squares of value on time: slope
       ``b = sum w (t - tw)(y) / S_tt`` with ``S_tt = sum w (t - tw)^2`` and
       ``Var(b) = 1 / S_tt`` (weights are inverse known variances, so no
       residual scaling).
    4. ``chi2 = b^2 / Var(b)``; significant when ``chi2 > 9.5495`` (1 df,
       p < 0.002) AND every leave-one-out fit (dropping each point in turn)
       has a slope of the same sign.

    This is Fingertips' method for crude rates (``TrendMarkerCalculator.IsSignificant``);
    proportions use the chi-square test for trend on the counts
    (:func:`proportion_trend`), and counts are not tested.  Sources: Public Health England,
    "Fingertips: recent trends" technical guidance; Armitage P, Berry G,
    Statistical methods in medical research (4th edn, 2002), weighted
    regression with known variances.

    Parameters
    ----------
    values, lower, upper : array-like
        The series and its 95% confidence limits.
    polarity : str or None
        Accepted for call-site symmetry and validated; the direction returned
        does not depend on it (read it through :func:`trend_verdict`).
    min_points : int
        Window length and minimum number of usable points (5).

    Returns
    -------
    str
        ``"increasing"``, ``"decreasing"``, ``"no_significant_change"`` or
        ``"not_enough_data"`` (fewer than ``min_points`` usable points, or any
        zero-width / inverted interval in the window).
    """
    _polarity(polarity)
    v = _as_float(values).ravel()
    lo = _as_float(lower).ravel()
    hi = _as_float(upper).ravel()
    if not (v.shape == lo.shape == hi.shape):
        raise ValueError("values, lower and upper must have the same length")
    t_all = np.arange(v.size, dtype=float) if times is None else _as_float(times).ravel()
    if t_all.shape != v.shape:
        raise ValueError("times must have the same length as values")
    ok = np.isfinite(v) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(t_all)
    idx = np.flatnonzero(ok)
    if min_points < 3 or idx.size < min_points:
        return "not_enough_data"
    idx = idx[-min_points:]
    t, y = t_all[idx], v[idx]
    se = (hi[idx] - lo[idx]) / se_divisor
    if np.any(se <= 0) or np.unique(t).size < 2:
        return "not_enough_data"
    w = 1.0 / se**2
    slope, stt = _wls_slope(t, y, w)
    chi2 = slope * slope * stt
    if not (chi2 > chi2_threshold) or slope == 0:
        return "no_significant_change"
    sign = np.sign(slope)
    for i in range(t.size):
        keep = np.arange(t.size) != i
        if np.unique(t[keep]).size < 2:
            return "no_significant_change"
        s_i, _ = _wls_slope(t[keep], y[keep], w[keep])
        if np.sign(s_i) != sign:
            return "no_significant_change"
    return "increasing" if sign > 0 else "decreasing"


def chi2_trend_statistic(numerators: Any, denominators: Any) -> np.ndarray:
    """Chi-square test for trend in proportions (Cochran-Armitage), time scored 1..k.

    With ``N = sum n_i``, ``X = sum x_i`` and scores ``t_i = 1..k``::

        chi2 = N (N sum x_i t_i - X sum n_i t_i)^2 / (X (N - X) (N sum n_i t_i^2 - (sum n_i t_i)^2))

    on 1 degree of freedom. Works on the last axis (one series per row). Source: Fingertips
    ``TrendMarkerCalculator.IsSignificantForProportions`` (fingertips-open,
    PholioVisualisationWS/Analysis/TrendMarkers); Armitage P, Berry G, Statistical methods in
    medical research (4th edn, 2002), the chi-square test for trend.
    """
    x = _as_float(numerators)
    n = _as_float(denominators)
    t = np.arange(1, x.shape[-1] + 1, dtype=float)
    big_n, big_x = n.sum(-1), x.sum(-1)
    xt, nt, nt2 = (x * t).sum(-1), (n * t).sum(-1), (n * t * t).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return big_n * (big_n * xt - big_x * nt) ** 2 / (big_x * (big_n - big_x) * (big_n * nt2 - nt ** 2))


def proportion_trend(
    numerators: Any,
    denominators: Any,
    min_points: int = 5,
    chi2_threshold: float = TREND_CHI2_THRESHOLD,
) -> tuple[str, float]:
    """Recent trend of a proportion as Fingertips computes it: ``(direction, chi2)``.

    Method (Fingertips ``TrendMarkerCalculator`` for proportions):

    1. The series must be annual and unbroken: the caller passes the points in year order with
       no year missing; the last ``min_points`` (5) are used and every one must have a
       numerator and a denominator.
    2. :func:`chi2_trend_statistic` (Cochran-Armitage) on the counts; significant when
       ``chi2 > 9.5495`` (p < 0.002).
    3. Direction from the least-squares slope of ``log(x / (n - x))`` on time (1..5); the trend
       is called only when that slope and each of the five leave-one-out slopes have the same
       sign (Fingertips' outlier check).
    4. A point with ``x = n`` (or ``x = 0``) makes the log-odds undefined: "not_enough_data"
       (Fingertips: "The recent trend cannot be calculated").

    Returns ``("increasing" | "decreasing" | "no_significant_change" | "not_enough_data", chi2)``
    with ``chi2`` NaN when not calculated.
    """
    x = _as_float(numerators).ravel()
    n = _as_float(denominators).ravel()
    if x.shape != n.shape:
        raise ValueError("numerators and denominators must have the same length")
    if x.size < min_points:
        return "not_enough_data", float("nan")
    x, n = x[-min_points:], n[-min_points:]
    if not (np.isfinite(x).all() and np.isfinite(n).all()) or np.any(n <= 0):
        return "not_enough_data", float("nan")
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("numerators must lie between 0 and their denominators")
    if np.any(x == n) or np.any(x == 0):
        return "not_enough_data", float("nan")
    chi2 = float(chi2_trend_statistic(x, n))
    logit = np.log(x / (n - x))
    t = np.arange(1, min_points + 1, dtype=float)
    signs = []
    for drop in range(-1, min_points):
        keep = np.arange(min_points) != drop
        tt, yy = t[keep], logit[keep]
        slope = np.sum((tt - tt.mean()) * (yy - yy.mean())) / np.sum((tt - tt.mean()) ** 2)
        signs.append(-1.0 if slope < 0 else 1.0)
    if not (chi2 > chi2_threshold) or abs(sum(signs)) != len(signs):
        return "no_significant_change", chi2
    return ("increasing" if signs[0] > 0 else "decreasing"), chi2


def trend_verdict(trend: str, polarity: Any) -> str:
    """Read a :func:`recent_trend` direction through a measure's polarity.

    ``increasing`` -> ``"improving"`` when higher is better, ``"getting_worse"``
    when lower is better, ``"increasing"`` when there is no judgement (and the
    mirror image for ``decreasing``); ``"no_significant_change"`` and
    ``"not_enough_data"`` pass through.

    Source: OHID Fingertips recent-trend arrows ("increasing and getting
    better", "decreasing and getting worse", "increasing", ...).
    """
    pol = _polarity(polarity)
    if trend in ("no_significant_change", "not_enough_data", "not_tested"):
        return trend
    if trend not in ("increasing", "decreasing"):
        raise ValueError(f"unknown trend {trend!r}")
    if pol == "no_judgement":
        return trend
    up_good = pol == "higher_is_better"
    if trend == "increasing":
        return "improving" if up_good else "getting_worse"
    return "getting_worse" if up_good else "improving"


# ---------------------------------------------------------------------------
# funnel plots
# ---------------------------------------------------------------------------
def _binomial_quantile_interp(p: float, n: np.ndarray, theta: float) -> np.ndarray:
    """Spiegelhalter's interpolated binomial quantile, as a proportion."""
    r = _stats.binom.ppf(p, n, theta)
    f_r = _stats.binom.cdf(r, n, theta)
    f_rm1 = _stats.binom.cdf(r - 1, n, theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (f_r - p) / (f_r - f_rm1)
        return (r - a) / n


def _wilson_funnel(p: float, n: np.ndarray, theta: float, side: str) -> np.ndarray:
    """PHEindicatormethods ``sigma_adjustment`` (Wilson score inverted)."""
    q2 = _stats.norm.ppf(p) ** 2
    first = theta * (n / q2 + 1.0)
    # At a benchmark of 0 or 100% the discriminant is 0 and can round below it: clipped.
    adj = np.sqrt(np.maximum(
        (-8.0 * theta * (n / q2 + 1.0)) ** 2
        - 64.0 * (1.0 / q2 + 1.0 / n) * theta * (n * (theta * (n / q2 + 2.0) - 1.0) + q2 * (theta - 1.0)),
        0.0))
    last = 1.0 / q2 + 1.0 / n
    val = (first - adj / 8.0) / last if side == "low" else (first + adj / 8.0) / last
    return val / n


def _poisson_funnel_count(tail: float, expected: np.ndarray, side: str) -> np.ndarray:
    """Continuous observed count at which the exact Poisson CI touches ``expected``.

    ``side="upper"``: the count O whose exact lower limit equals E, i.e.
    ``chi2_inv(tail, 2 O) / 2 = E`` <=> ``P(O, E) = tail`` (regularised lower
    incomplete gamma).  ``side="lower"``: the count O whose exact upper limit
    equals E, ``chi2_inv(1 - tail, 2 O + 2) / 2 = E`` <=> ``pdtr(O, E) = tail``;
    0 when even O = 0 has an upper limit above E.
    """
    e = np.asarray(expected, dtype=float)
    if side == "upper":
        return _special.chdtriv(tail, 2.0 * e) / 2.0
    out = _special.pdtrik(tail, e)
    return np.where(np.exp(-e) >= tail, 0.0, out)


def funnel_limits(
    denominators: Any,
    benchmark: float,
    kind: str = "proportion",
    confidence: float = 0.95,
    multiplier: float = 1.0,
    phi: float = 1.0,
    method: str = "wilson",
    tau2: float | None = None,
    sd: float | None = None,
) -> tuple[Any, Any]:
    """Funnel-plot control limits around a benchmark, for each denominator.

    ``benchmark`` and the returned limits are on the display scale
    (``value = numerator / denominator * multiplier``); use
    ``confidence=0.95`` and ``0.998`` for the usual two pairs of lines.

    Proportions (``kind="proportion"``)
        ``method="wilson"`` (default): the closed form of PHEindicatormethods
        ``sigma_adjustment`` / ``phe_funnels`` (the proportion at which the
        Wilson score interval just touches the benchmark), as PHE and
        Fingertips draw proportion funnels; tested against
        PHEindicatormethods' ``testdata_funnel_prop_outputs.csv``.
        ``method="exact"`` (named option, "exact binomial (Spiegelhalter)"):
        Spiegelhalter's interpolated binomial
        quantile.  For tail probability p, ``r_p`` is the smallest r with
        ``F(r) >= p`` (F the Binomial(n, theta) CDF),
        ``a = (F(r_p) - p) / (F(r_p) - F(r_p - 1))`` and the limit is
        ``(r_p - a) / n``.  Source: Spiegelhalter DJ (2005) "Funnel plots for
        comparing institutional performance", Stat Med 24:1185-1202,
        appendix on exact limits for discrete data; PHE/APHO "Technical Guide: Funnel plots for comparing
        performance".  At a benchmark of 100% the upper limit is 100% (an
        area at 100% is never flagged above it), and at 0% the lower limit is 0.

    Rates (``kind="rate"``, ``denominators`` = person-time or population)
        Exact Poisson via chi-square: with ``E = theta * n`` expected events,
        the upper limit is the (continuous) count O whose exact lower
        confidence limit ``chi2_inv(alpha/2, 2O)/2`` equals E, and the lower
        limit is the count whose exact upper limit
        ``chi2_inv(1-alpha/2, 2O+2)/2`` equals E (0 if none); each divided by
        n.  Source: PHEindicatormethods ``phe_funnels(statistic="rate")`` and
        its ``poisson_funnel`` helper; Spiegelhalter (2005) appendix.

    Means (``kind="mean"``, ``denominators`` = number of observations, ``sd`` = the standard
        deviation of one observation, on the display scale)
        The normal limits ``theta +/- z * sd / sqrt(n)``. Source: Spiegelhalter DJ (2005)
        "Funnel plots for comparing institutional performance", Stat Med 24:1185-1202, Table I
        (normally distributed responses, sigma known: target theta_0, se = sigma / sqrt(n)).
        The caller states where ``sd`` comes from (the dashboard uses the pooled within-council
        standard deviation of pupils' scores). Not clipped.

    Over-dispersion (``phi > 1``)
        Multiplicative over-dispersion inflates the variance by ``phi``;
        following Spiegelhalter (2005, over-dispersion section) the limits use the
        normal approximation ``theta +/- z * sqrt(phi * V(theta) / n)`` with
        ``V = theta (1 - theta)`` for proportions and ``V = theta`` for rates.
        Estimate ``phi`` with :func:`overdispersion_phi`.  ``phi <= 1`` uses
        the exact limits above.

    Additive over-dispersion (``tau2`` > 0, random effects)
        DerSimonian-Laird: the between-area variance ``tau2`` (estimate with
        :func:`overdispersion_tau2`) is added to each area's sampling
        variance: ``theta +/- z * sqrt(V(theta) / n + tau2)`` (on the scale
        of fractions / events per unit).  Source: Spiegelhalter DJ (2005)
        "Handling over-dispersion of performance indicators", Qual Saf Health
        Care 14:347-351 (the random-effects approach NHS England uses for
        SHMI).  ``tau2`` takes precedence over ``phi``.

    Returns
    -------
    (lower, upper)
        Arrays (floats for a scalar denominator); proportions are clipped to
        ``[0, multiplier]``, rates to ``>= 0``; a denominator <= 0 or NaN
        gives NaN.
    """
    if kind not in ("proportion", "rate", "mean"):
        raise ValueError("kind must be 'proportion', 'rate' or 'mean'")
    if kind == "mean" and (sd is None or not np.isfinite(sd) or sd < 0):
        raise ValueError("a funnel for means needs the standard deviation of one observation (sd >= 0)")
    if method not in ("exact", "wilson"):
        raise ValueError("method must be 'wilson' (PHE/Fingertips) or 'exact' (exact binomial, Spiegelhalter)")
    scalar = _is_scalar(denominators)
    n = np.atleast_1d(_as_float(denominators))
    theta = float(benchmark) / float(multiplier)
    c = _confidence(confidence)
    tail = (1.0 - c) / 2.0
    valid = np.isfinite(n) & (n > 0)
    ns = np.where(valid, n, 1.0)
    if kind == "proportion" and not 0.0 <= theta <= 1.0:
        raise ValueError("a proportion benchmark must lie in [0, multiplier]")
    if kind == "rate" and theta < 0:
        raise ValueError("a rate benchmark must be >= 0")

    var = _unit_variance(theta, kind, sd, multiplier)
    if tau2 is not None and np.isfinite(tau2) and float(tau2) > 0.0:
        half = _z(c) * np.sqrt(var / ns + float(tau2))
        lower, upper = theta - half, theta + half
    elif phi is not None and float(phi) > 1.0:
        half = _z(c) * np.sqrt(float(phi) * var / ns)
        lower, upper = theta - half, theta + half
    elif kind == "mean":
        half = _z(c) * np.sqrt(var / ns)
        lower, upper = theta - half, theta + half
    elif kind == "proportion":
        if method == "wilson":
            lower = _wilson_funnel(1.0 - tail, ns, theta, "low")
            upper = _wilson_funnel(1.0 - tail, ns, theta, "high")
        else:
            nn = np.round(ns)
            lower = _binomial_quantile_interp(tail, nn, theta)
            upper = _binomial_quantile_interp(1.0 - tail, nn, theta)
            # The interpolation leaves 1 - tail/n at a benchmark of 100%, which would flag an area
            # at 100% as above it: nothing can lie above 100%, so the upper limit is 100% there
            # (and the lower limit 0 at a benchmark of 0).
        if theta >= 1.0:
            upper = np.ones_like(upper)
        if theta <= 0.0:
            lower = np.zeros_like(lower)
    else:
        expected = theta * ns
        lower = _poisson_funnel_count(tail, expected, "lower") / ns
        upper = _poisson_funnel_count(tail, expected, "upper") / ns

    if kind == "proportion":
        lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
    elif kind == "rate":
        lower, upper = np.maximum(lower, 0.0), np.maximum(upper, 0.0)
    lower = np.where(valid, lower * multiplier, np.nan)
    upper = np.where(valid, upper * multiplier, np.nan)
    return _out(lower, scalar), _out(upper, scalar)


def _unit_variance(theta: float, kind: str, sd: float | None, multiplier: float) -> float:
    """Variance of one observation on the unit scale: theta (1 - theta) for a proportion, theta for
    a rate (Poisson), (sd / multiplier)^2 for a mean."""
    if kind == "proportion":
        return theta * (1.0 - theta)
    if kind == "rate":
        return theta
    return (float(sd) / float(multiplier)) ** 2


def _usable_areas(observed: Any, denominators: Any, benchmark: float | None, kind: str,
                  multiplier: float, sd: float | None = None) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(observed, denominators, theta, V(theta)) of the areas an over-dispersion estimate can use (finite,
    positive denominator), or None with fewer than 2 of them or a benchmark of 0 or 100% (no spread, for a mean)."""
    o, n = np.broadcast_arrays(_as_float(observed).ravel(), _as_float(denominators).ravel())
    ok = np.isfinite(o) & np.isfinite(n) & (n > 0)
    o, n = o[ok], n[ok]
    if o.size < 2:
        return None
    theta = float(np.sum(o) / np.sum(n)) if benchmark is None else float(benchmark) / multiplier
    if kind == "mean" and (sd is None or not np.isfinite(sd)):
        return None
    var = _unit_variance(theta, kind, sd, multiplier)
    return None if var <= 0 else (o, n, theta, var)


def overdispersion_phi(
    observed: Any,
    denominators: Any,
    benchmark: float | None = None,
    kind: str = "proportion",
    multiplier: float = 1.0,
    winsor: float = 0.10,
    sd: float | None = None,
) -> float:
    """Multiplicative over-dispersion factor phi from Winsorised z-scores.

    For each area ``y_i = O_i / n_i`` (``observed`` are the numerators,
    counts of events) and the naive z-score ``z_i = (y_i - theta) /
    sqrt(V(theta) / n_i)`` with ``V = theta (1 - theta)`` (proportions) or
    ``V = theta`` (rates), or ``V = sd^2`` for means (``kind="mean"``: ``observed`` are the
    sums of the observations, ``denominators`` their numbers, ``sd`` the standard deviation of
    one observation).  The z-scores below the 10th percentile are set to
    the 10th percentile and those above the 90th to the 90th (a 10%
    Winsorisation; percentiles by linear interpolation, R type 7), and
    ``phi = mean(z_w^2)``.  Compare ``I * phi`` with a chi-square on
    ``I - 1`` df to judge whether over-dispersion is present, and pass ``phi``
    to :func:`funnel_limits` to widen the limits by ``sqrt(phi)``.

    Source: Spiegelhalter DJ (2005) "Funnel plots for comparing institutional
    performance", Stat Med 24:1185-1202 (over-dispersion); Spiegelhalter DJ (2005)
    "Handling over-dispersion of performance indicators", Qual Saf Health Care
    14:347-351 (as used for NHS Digital's SHMI).

    ``benchmark`` (display scale) defaults to the pooled value
    ``sum O / sum n``.  Areas with NaN or non-positive denominators are
    ignored; fewer than 2 usable areas give NaN.
    """
    if kind not in ("proportion", "rate", "mean"):
        raise ValueError("kind must be 'proportion', 'rate' or 'mean'")
    usable = _usable_areas(observed, denominators, benchmark, kind, multiplier, sd)
    if usable is None:
        return float("nan")
    o, n, theta, var = usable
    z = (o / n - theta) / np.sqrt(var / n)
    lo_q, hi_q = np.percentile(z, [100.0 * winsor, 100.0 * (1.0 - winsor)])
    zw = np.clip(z, lo_q, hi_q)
    return float(np.mean(zw**2))


def overdispersion_tau2(
    observed: Any,
    denominators: Any,
    benchmark: float | None = None,
    kind: str = "proportion",
    multiplier: float = 1.0,
    winsor: float = 0.10,
    sd: float | None = None,
) -> float:
    """Additive (random-effects) over-dispersion: the DerSimonian-Laird between-area variance.

    With ``s_i^2 = V(theta) / n_i`` (``V = theta (1 - theta)`` for proportions, ``theta`` for
    rates, ``sd^2`` for means), weights ``w_i = 1 / s_i^2`` and the Winsorised ``phi`` of
    :func:`overdispersion_phi` over ``I`` areas::

        tau2 = max(0, (I * phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i))

    on the scale of fractions (or events per unit); pass it to :func:`funnel_limits` as
    ``tau2``. Source: Spiegelhalter DJ (2005) "Handling over-dispersion of performance
    indicators", Qual Saf Health Care 14:347-351, section "additive random-effects models";
    DerSimonian R, Laird N (1986) Control Clin Trials 7:177-188. NaN with fewer than 2 areas.
    """
    usable = _usable_areas(observed, denominators, benchmark, kind, multiplier, sd)
    if usable is None:
        return float("nan")
    o, n, _theta, var = usable
    phi = overdispersion_phi(o, n, benchmark, kind, multiplier, winsor, sd)
    w = n / var
    i = o.size
    return float(max(0.0, (i * phi - (i - 1)) / (w.sum() - (w * w).sum() / w.sum())))


# ---------------------------------------------------------------------------
# equity
# ---------------------------------------------------------------------------
def proportion_difference_ci(
    x1: Any, n1: Any, x2: Any, n2: Any, confidence: float = 0.95
) -> tuple[Any, Any, Any]:
    """Difference of two independent proportions ``p1 - p2`` with CI.

    Newcombe's method 10 (hybrid Wilson score): with Wilson limits
    ``(l1, u1)`` and ``(l2, u2)``::

        lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    Source: Newcombe RG (1998) "Interval estimation for the difference
    between independent proportions: comparison of eleven methods", Stat Med
    17:873-890, method 10; Altman DG et al., Statistics with Confidence (2nd
    edn, 2000).

    Returns ``(diff, lower, upper)`` as fractions (NaN when a denominator is 0).
    """
    scalar = _is_scalar(x1, n1, x2, n2)
    a1, b1, a2, b2 = np.broadcast_arrays(_as_float(x1), _as_float(n1), _as_float(x2), _as_float(n2))
    l1, u1 = wilson_ci(a1, b1, confidence)
    l2, u2 = wilson_ci(a2, b2, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(b1 > 0, a1 / np.where(b1 > 0, b1, 1.0), np.nan)
        p2 = np.where(b2 > 0, a2 / np.where(b2 > 0, b2, 1.0), np.nan)
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _out(d, scalar), _out(lower, scalar), _out(upper, scalar)


def proportion_ratio_ci(
    x1: Any, n1: Any, x2: Any, n2: Any, confidence: float = 0.95
) -> tuple[Any, Any, Any]:
    """Ratio of two independent proportions ``p1 / p2`` with a log (Katz) CI.

    ``exp(ln(RR) +/- z * sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2))``.

    Source: Katz D, Baptista J, Azen SP, Pike MC (1978) "Obtaining confidence
    intervals for the risk ratio in cohort studies", Biometrics 34:469-474;
    Altman et al., Statistics with Confidence (2nd edn, 2000).

    Undefined (NaN) when either numerator is 0 or a denominator is 0 -
    the dashboard then shows the ratio as not calculable rather than applying
    a continuity correction.
    """
    scalar = _is_scalar(x1, n1, x2, n2)
    a1, b1, a2, b2 = np.broadcast_arrays(_as_float(x1), _as_float(n1), _as_float(x2), _as_float(n2))
    z = _z(confidence)
    ok = (a1 > 0) & (a2 > 0) & (b1 > 0) & (b2 > 0) & (a1 <= b1) & (a2 <= b2)
    s1, t1 = np.where(ok, a1, 1.0), np.where(ok, b1, 1.0)
    s2, t2 = np.where(ok, a2, 1.0), np.where(ok, b2, 1.0)
    rr = (s1 / t1) / (s2 / t2)
    se = np.sqrt(1.0 / s1 - 1.0 / t1 + 1.0 / s2 - 1.0 / t2)
    lower = rr * np.exp(-z * se)
    upper = rr * np.exp(z * se)
    nan = np.nan
    return (
        _out(np.where(ok, rr, nan), scalar),
        _out(np.where(ok, lower, nan), scalar),
        _out(np.where(ok, upper, nan), scalar),
    )


def rate_ratio_ci(
    count1: Any,
    den1: Any,
    count2: Any,
    den2: Any,
    confidence: float = 0.95,
    method: str = "exact",
) -> tuple[Any, Any, Any]:
    """Ratio of two crude rates ``(c1/d1) / (c2/d2)`` with a CI.

    ``method="exact"`` (default): the conditional binomial method.  Given
    ``T = c1 + c2`` events, ``c1 ~ Binomial(T, pi)`` with
    ``pi = RR d1 / (RR d1 + d2)``; the Clopper-Pearson limits for ``pi``
    (``Beta(alpha/2; c1, T - c1 + 1)`` and ``Beta(1 - alpha/2; c1 + 1, T - c1)``)
    are transformed back with ``RR = pi / (1 - pi) * d2 / d1``.  Exact and
    valid for small counts (the reason PHE prefers it for small numbers).
    The upper limit is ``inf`` when ``c2 = 0`` and the lower limit 0 when
    ``c1 = 0``.
    ``method="wilson"``: the same transformation of the Wilson score interval
    for ``pi`` (less conservative).
    ``method="log"``: ``exp(ln RR +/- z sqrt(1/c1 + 1/c2))`` (large counts;
    NaN when either count is 0).

    Source: Armitage P, Berry G (2002) Statistical methods in medical research
    (comparison of two counts, conditional on their total); Breslow NE, Day NE
    (1987) Statistical methods in cancer research vol. II; Clopper CJ, Pearson
    ES (1934) Biometrika 26:404-413.

    Returns ``(ratio, lower, upper)``.
    """
    if method not in ("exact", "wilson", "log"):
        raise ValueError("method must be 'exact', 'wilson' or 'log'")
    scalar = _is_scalar(count1, den1, count2, den2)
    c1, d1, c2, d2 = np.broadcast_arrays(_as_float(count1), _as_float(den1), _as_float(count2), _as_float(den2))
    alpha = 1.0 - _confidence(confidence)
    ok = np.isfinite(c1) & np.isfinite(c2) & (d1 > 0) & (d2 > 0) & (c1 >= 0) & (c2 >= 0) & ((c1 + c2) > 0)
    s1, s2 = np.where(ok, c1, 1.0), np.where(ok, c2, 1.0)
    e1, e2 = np.where(ok, d1, 1.0), np.where(ok, d2, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (s1 / e1) / (s2 / e2)
        scale = e2 / e1
        if method == "log":
            ok = ok & (c1 > 0) & (c2 > 0)
            se = np.sqrt(1.0 / s1 + 1.0 / s2)
            z = _z(confidence)
            lower, upper = rr * np.exp(-z * se), rr * np.exp(z * se)
        else:
            tot = s1 + s2
            if method == "exact":
                pl = np.where(s1 > 0, _stats.beta.ppf(alpha / 2.0, np.maximum(s1, 1e-300), tot - s1 + 1.0), 0.0)
                pu = np.where(s2 > 0, _stats.beta.ppf(1.0 - alpha / 2.0, s1 + 1.0, np.maximum(s2, 1e-300)), 1.0)
            else:
                pl, pu = wilson_ci(s1, tot, confidence)
            lower = pl / (1.0 - pl) * scale
            upper = np.where(pu >= 1.0, np.inf, pu / (1.0 - pu) * scale)
    nan = np.nan
    return (
        _out(np.where(ok, rr, nan), scalar),
        _out(np.where(ok, lower, nan), scalar),
        _out(np.where(ok, upper, nan), scalar),
    )


def rate_difference_ci(
    count1: Any,
    den1: Any,
    count2: Any,
    den2: Any,
    multiplier: float = 1.0,
    confidence: float = 0.95,
) -> tuple[Any, Any, Any]:
    """Difference of two crude rates ``r1 - r2`` with a MOVER CI.

    The method of variance estimates recovery (the rate analogue of
    Newcombe's method 10), combining each rate's own interval from
    :func:`rate_ci` (Byar's method; exact Poisson below 10 events)::

        lower = d - sqrt((r1 - l1)^2 + (u2 - r2)^2)
        upper = d + sqrt((u1 - r1)^2 + (r2 - l2)^2)

    Source: Zou GY, Donner A (2008) "Construction of confidence limits about
    effect measures: a general approach", Stat Med 27:1693-1702; Newcombe RG
    (1998) Stat Med 17:873-890 (the same construction for proportions).

    Returns ``(diff, lower, upper)`` on the ``multiplier`` scale.
    """
    scalar = _is_scalar(count1, den1, count2, den2)
    c1, d1, c2, d2 = np.broadcast_arrays(_as_float(count1), _as_float(den1), _as_float(count2), _as_float(den2))
    l1, u1 = rate_ci(c1, d1, multiplier, confidence)
    l2, u2 = rate_ci(c2, d2, multiplier, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        r1 = np.where(d1 > 0, c1 / np.where(d1 > 0, d1, 1.0) * multiplier, np.nan)
        r2 = np.where(d2 > 0, c2 / np.where(d2 > 0, d2, 1.0) * multiplier, np.nan)
    d = r1 - r2
    lower = d - np.sqrt((r1 - l1) ** 2 + (u2 - r2) ** 2)
    upper = d + np.sqrt((u1 - r1) ** 2 + (r2 - l2) ** 2)
    return _out(d, scalar), _out(lower, scalar), _out(upper, scalar)


def mover_ratio_ci(r1: Any, l1: Any, u1: Any, r2: Any, l2: Any, u2: Any) -> tuple[Any, Any, Any]:
    """Ratio ``r1 / r2`` with the MOVER-R interval built from each estimate's own interval.

    The limits are the roots of ``(r1 - t r2)^2 = (r1 - l1)^2 + t^2 (u2 - r2)^2`` (lower) and
    ``(r1 - t r2)^2 = (u1 - r1)^2 + t^2 (r2 - l2)^2`` (upper)::

        lower = (r1 r2 - sqrt((r1 r2)^2 - l1 u2 (2 r1 - l1)(2 r2 - u2))) / (u2 (2 r2 - u2))
        upper = (r1 r2 + sqrt((r1 r2)^2 - u1 l2 (2 r1 - u1)(2 r2 - l2))) / (l2 (2 r2 - l2))

    Built from the same intervals as the MOVER difference (Newcombe's method 10 for
    proportions, :func:`rate_difference_ci` for rates), the ratio interval excludes 1 exactly
    when the difference interval excludes 0, so a verdict read from either agrees with both.
    The upper limit is ``inf`` when ``l2 = 0``. Source: Donner A, Zou GY (2012) "Closed-form
    confidence intervals for functions of the normal mean and standard deviation", Stat Methods
    Med Res 21:347-359; Zou GY, Donner A (2008) Stat Med 27:1693-1702.

    Returns ``(ratio, lower, upper)``; NaN when ``r2 <= 0`` or any input is NaN.
    """
    scalar = _is_scalar(r1, l1, u1, r2, l2, u2)
    a1, lo1, hi1, a2, lo2, hi2 = np.broadcast_arrays(*(_as_float(v) for v in (r1, l1, u1, r2, l2, u2)))
    ok = np.isfinite(a1) & np.isfinite(lo1) & np.isfinite(hi1) & np.isfinite(a2) & np.isfinite(lo2) \
        & np.isfinite(hi2) & (a2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = a1 * a2
        den_l = hi2 * (2 * a2 - hi2)
        disc_l = np.maximum(b * b - lo1 * hi2 * (2 * a1 - lo1) * (2 * a2 - hi2), 0.0)
        lower = np.where(den_l == 0, lo1 * (2 * a1 - lo1) / (2 * b), (b - np.sqrt(disc_l)) / den_l)
        den_u = lo2 * (2 * a2 - lo2)
        disc_u = np.maximum(b * b - hi1 * lo2 * (2 * a1 - hi1) * (2 * a2 - lo2), 0.0)
        upper = np.where(den_u > 0, (b + np.sqrt(disc_u)) / den_u, np.inf)
        ratio = a1 / a2
    lower = np.maximum(lower, 0.0)
    nan = np.nan
    return (_out(np.where(ok, ratio, nan), scalar), _out(np.where(ok, lower, nan), scalar),
            _out(np.where(ok, upper, nan), scalar))


def equity_verdict(lower: Any, upper: Any, null: float = 0.0) -> Any:
    """Whether a gap (``null=0``) or ratio (``null=1``) CI excludes the null.

    ``"significant"`` when ``lower > null`` or ``upper < null``,
    ``"not significant"`` otherwise, ``"not_compared"`` when a limit is NaN.
    Source: the usual CI-based test (Altman et al., Statistics with
    Confidence, ch. 1); Fingertips reads inequality gaps the same way.
    Scalars give ``str``; arrays give a numpy object array.
    """
    scalar = _is_scalar(lower, upper, null)
    lo, hi, nl = np.broadcast_arrays(_as_float(lower), _as_float(upper), _as_float(null))
    out = np.where((lo > nl) | (hi < nl), "significant", "not significant").astype(object)
    out[np.isnan(lo) | np.isnan(hi) | np.isnan(nl)] = "not_compared"
    if scalar:
        return str(out.reshape(-1)[0])
    return out
