"""Comparisons: a figure against a benchmark, and two groups against each other.

* :func:`compare_to_benchmark` - Fingertips "better / similar / worse" rule (an interval wholly
  above or below the benchmark).
* :func:`proportion_difference_ci`, :func:`proportion_ratio_ci`, :func:`rate_ratio_ci`,
  :func:`rate_difference_ci`, :func:`mover_ratio_ci` - the gap and the ratio between two groups
  with their intervals (equity statistics), and :func:`equity_verdict` - whether such an interval
  excludes "no difference". (No slope index of inequality: the data contract holds no
  deprivation breakdown, so there is no gradient to fit; see issue 17 point 7.)

The two-group intervals are built from each group's own interval (``intervals``), so a gap and
a ratio read from the same data agree. Tested in ``tests/stats/test_stats_comparisons.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from send_metrics.stats._common import POLARITIES, _as_float, _confidence, _is_scalar, _out, _polarity, _stats, _z
from send_metrics.stats.intervals import rate_ci, wilson_ci

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
        # Each distinct polarity checked once (a national table has 664,000 rows and three values).
        codes, distinct = pd.factorize(pol.ravel(), use_na_sentinel=False)
        checked = np.array([_polarity(p) for p in distinct], dtype=object)[codes].reshape(pol.shape)
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
