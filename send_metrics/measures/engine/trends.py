"""The recent trend of each measure's series, as Fingertips computes it: for annual proportions the
chi-square test for trend (Cochran-Armitage) on the counts of the last five unbroken years, with
the direction from a least-squares fit; for crude rates a weighted regression on the last five
points. Monthly series and counts are not tested (``not_tested``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.stats import trends
from send_metrics.catalogue import Measure

def add_trends(base: pd.DataFrame, by_id: dict[str, Measure]) -> pd.DataFrame:
    """The recent trend of every (measure, area) series and its verdict, sorted by measure, area and
    period (as Fingertips: annual proportions and crude rates only)."""
    base = base.sort_values(["measure_id", "area_code", "period"]).reset_index(drop=True)
    trend = np.full(len(base), "not_enough_data", dtype=object)
    verdict = np.full(len(base), "not_enough_data", dtype=object)
    value = base["value"].to_numpy(float)
    lower = base["lower_95"].to_numpy(float)
    upper = base["upper_95"].to_numpy(float)
    num = base["numerator"].to_numpy(float)
    den = base["denominator"].to_numpy(float)
    # The year of each period, worked out once per distinct period.
    p_codes, periods = pd.factorize(base["period"].astype(str), use_na_sentinel=False)
    year = pd.to_numeric(pd.Series(periods, dtype=object).astype(str).str[:4], errors="coerce").to_numpy(float)[p_codes]
    # Every series of a measure at once: its windows of five consecutive points, stacked (the
    # same arithmetic per window as series by series).
    series: dict[str, list[np.ndarray]] = {}
    for (mid, _area), idx in base.groupby(["measure_id", "area_code"], sort=False).indices.items():
        m = by_id[mid]
        # As Fingertips: recent trends only for annual proportions and crude rates; counts,
        # monthly series and everything else are not tested.
        if m.monthly or m.kind not in ("proportion", "rate") or m.ci_method == "none":
            trend[idx] = verdict[idx] = "not_tested"
            continue
        if len(idx) < 5:
            continue
        series.setdefault(mid, []).append(idx)
    from numpy.lib.stride_tricks import sliding_window_view as windows
    for mid, idxs in series.items():
        m = by_id[mid]
        win = np.concatenate([windows(idx, 5) for idx in idxs])
        ends = np.concatenate([idx[4:] for idx in idxs])
        unbroken = (np.diff(year[win], axis=1) == 1).all(1)
        if m.kind == "proportion":
            t = _proportion_windows(num[win], den[win], unbroken, 5, trends.TREND_CHI2_THRESHOLD)
        else:
            t = _recent_windows(value[win], ((upper - lower) / 3.92)[win], unbroken, 5,
                                trends.TREND_CHI2_THRESHOLD)
        trend[ends] = t
        verdicts = {x: trends.trend_verdict(x, m.polarity) for x in pd.unique(t)}
        verdict[ends] = [verdicts[x] for x in t]
    base["trend"] = trend
    base["trend_verdict"] = verdict
    return base


def _unbroken(years, window: int) -> np.ndarray | None:
    """For each window of ``window`` consecutive rows, whether its years run on without a gap."""
    if years is None:
        return None
    from numpy.lib.stride_tricks import sliding_window_view as windows
    y = np.asarray(years, dtype=float)
    return (np.diff(windows(y, window), axis=1) == 1).all(1)


def rolling_proportion_trend(numerators, denominators, years=None, window: int = 5,
                             chi2_threshold: float = trends.TREND_CHI2_THRESHOLD) -> np.ndarray:
    """trends.proportion_trend (Fingertips' chi-square test for trend) for every window of 5
    consecutive annual points; a window with a missing year, a missing or suppressed count, or a
    point at 0% or 100% is "not_enough_data". Identical to trends.proportion_trend per window
    (tested)."""
    from numpy.lib.stride_tricks import sliding_window_view as windows
    x, n = (np.asarray(a, dtype=float) for a in (numerators, denominators))
    if x.size < window:
        return np.array([], dtype=object)
    return _proportion_windows(windows(x, window), windows(n, window), _unbroken(years, window), window,
                               chi2_threshold)


def _proportion_windows(xw: np.ndarray, nw: np.ndarray, unbroken: np.ndarray | None, window: int,
                        chi2_threshold: float) -> np.ndarray:
    """:func:`rolling_proportion_trend` of windows given as rows (numerators, denominators, and
    whether each window's years run on without a gap)."""
    ok = (np.isfinite(xw) & np.isfinite(nw) & (nw > 0) & (xw > 0) & (xw < nw)).all(1)
    if unbroken is not None:
        ok &= unbroken
    xs, ns = np.where(ok[:, None], xw, 1.0), np.where(ok[:, None], nw, 3.0)
    chi2 = trends.chi2_trend_statistic(xs, ns)
    logit = np.log(xs / (ns - xs))
    t = np.arange(1, window + 1, dtype=float)
    masks = np.vstack([np.ones(window, dtype=bool), ~np.eye(window, dtype=bool)])  # full, then leave-one-out
    signs = []
    for keep in masks:
        tt, yy = t[keep], logit[:, keep]
        slope = ((tt - tt.mean()) * (yy - yy.mean(1, keepdims=True))).sum(1) / ((tt - tt.mean()) ** 2).sum()
        signs.append(np.where(slope < 0, -1.0, 1.0))
    signs = np.array(signs)
    robust = np.abs(signs.sum(0)) == len(masks)
    significant = ok & (chi2 > chi2_threshold) & robust
    out = np.where(significant, np.where(signs[0] > 0, "increasing", "decreasing"), "no_significant_change")
    return np.where(ok, out, "not_enough_data").astype(object)


def rolling_recent_trend(values, lower, upper, window: int = 5,
                         chi2_threshold: float = trends.TREND_CHI2_THRESHOLD, years=None) -> np.ndarray:
    """trends.recent_trend for every window of 5 consecutive points at once (vectorised).

    Entry k is the trend of points k..k+4; a window with a missing value or a zero-width
    interval is "not_enough_data". Identical to calling trends.recent_trend on each window
    (tested), but fast enough for every measure, area and month of national data.
    """
    from numpy.lib.stride_tricks import sliding_window_view as windows
    v, lo, hi = (np.asarray(a, dtype=float) for a in (values, lower, upper))
    if v.size < window:
        return np.array([], dtype=object)
    return _recent_windows(windows(v, window), windows((hi - lo) / 3.92, window), _unbroken(years, window),
                           window, chi2_threshold)


def _recent_windows(y: np.ndarray, se: np.ndarray, unbroken: np.ndarray | None, window: int,
                    chi2_threshold: float) -> np.ndarray:
    """:func:`rolling_recent_trend` of windows given as rows (values, standard errors, and whether
    each window's years run on without a gap)."""
    ok = np.isfinite(y).all(1) & np.isfinite(se).all(1) & (se > 0).all(1)
    if unbroken is not None:
        ok &= unbroken
    t = np.arange(window, dtype=float)

    def wls_slope(yy, ww):
        tbar = (ww * t).sum(-1) / ww.sum(-1)
        d = t - tbar[..., None]
        stt = (ww * d * d).sum(-1)
        return (ww * d * yy).sum(-1) / stt, stt

    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / se ** 2
        full, stt = wls_slope(y, w)
        chi2 = full * full * stt
        # Leave-one-out: weight 0 on point i, for each i (shape windows x 5 x 5).
        loo, _ = wls_slope(y[:, None, :], w[:, None, :] * (1.0 - np.eye(window)))
    sign = np.sign(full)
    robust = (np.sign(loo) == sign[:, None]).all(1)
    significant = ok & (chi2 > chi2_threshold) & (full != 0) & robust
    out = np.where(significant, np.where(sign > 0, "increasing", "decreasing"), "no_significant_change")
    out = np.where(ok, out, "not_enough_data")
    return out.astype(object)
