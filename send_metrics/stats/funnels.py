"""Funnel plots: control limits around a benchmark for every denominator, and the over-dispersion
that widens them (Spiegelhalter 2005; PHEindicatormethods ``phe_funnels``).

* :func:`funnel_limits` - limits for proportions (Wilson, as PHE and Fingertips; exact binomial
  as a named option), rates (exact Poisson) and means (normal).
* :func:`overdispersion_phi` - multiplicative over-dispersion from Winsorised z-scores.
* :func:`overdispersion_tau2` - additive (random-effects, DerSimonian-Laird) over-dispersion.

Tested against PHEindicatormethods' funnel test data in ``tests/stats/test_stats_funnels.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from send_metrics.stats._common import _as_float, _confidence, _is_scalar, _out, _special, _stats, _z


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
