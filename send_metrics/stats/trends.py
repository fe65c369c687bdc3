"""Recent trends: whether a series has changed significantly over its last five points, as
OHID Fingertips marks it (``TrendMarkerCalculator``).

* :func:`recent_trend` - weighted regression on the values and their intervals (crude rates).
* :func:`chi2_trend_statistic`, :func:`proportion_trend` - the chi-square test for trend on the
  counts (proportions).
* :func:`trend_verdict` - a direction read through the measure's polarity (improving / getting
  worse).

Tested against Fingertips' own tests (``TrendMarkerCalculatorTest.cs``) in
``tests/stats/test_stats_trends.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from send_metrics.stats._common import _as_float, _polarity

#: Chi-square (1 df) critical value for p < 0.002, used by Fingertips for trends.
TREND_CHI2_THRESHOLD = 9.5495


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
