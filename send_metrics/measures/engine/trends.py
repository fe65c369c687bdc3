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
    year = pd.to_numeric(base["period"].astype(str).str[:4], errors="coerce").to_numpy(float)
    for (mid, _area), idx in base.groupby(["measure_id", "area_code"], sort=False).indices.items():
        m = by_id[mid]
        # As Fingertips: recent trends only for annual proportions and crude rates; counts,
        # monthly series and everything else are not tested.
        if m.monthly or m.kind not in ("proportion", "rate") or m.ci_method == "none":
            trend[idx] = verdict[idx] = "not_tested"
            continue
        if len(idx) < 5:
            continue
        if m.kind == "proportion":
            t = rolling_proportion_trend(num[idx], den[idx], year[idx])
        else:
            t = rolling_recent_trend(value[idx], lower[idx], upper[idx], years=year[idx])
        trend[idx[4:]] = t
        verdict[idx[4:]] = [trends.trend_verdict(x, m.polarity) for x in t]
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
    xw, nw = windows(x, window), windows(n, window)
    ok = (np.isfinite(xw) & np.isfinite(nw) & (nw > 0) & (xw > 0) & (xw < nw)).all(1)
    unbroken = _unbroken(years, window)
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
    y, se = windows(v, window), windows((hi - lo) / 3.92, window)
    ok = np.isfinite(y).all(1) & np.isfinite(se).all(1) & (se > 0).all(1)
    unbroken = _unbroken(years, window)
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
