"""Confidence intervals for one figure: a proportion, a count, a crude rate and a mean.

One function per published method (PHEindicatormethods ``phe_proportion``, ``phe_rate``,
``phe_mean``), each tested against the reference implementation's own test data in
``tests/stats/test_stats_intervals.py``:

* :func:`wilson_ci` - Wilson score interval for a proportion.
* :func:`exact_poisson_ci`, :func:`byar_ci`, :func:`rate_ci` - intervals for a count and for a
  crude rate (Byar's method, exact Poisson below 10 events).
* :func:`mean_ci`, :func:`sd_from_sum_of_squares` - Student's t interval for a mean, from a
  count, a sum and a sum of squares.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from send_metrics.stats._common import _as_float, _confidence, _is_scalar, _out, _stats, _z


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
