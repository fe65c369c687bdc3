"""How far the demand projection's intervals can be trusted, and the intervals that follow from it:
the rolling-origin backtest of every council's caseload total over every origin and horizon
(``backtest_errors``, ``rolling_backtest``), prediction intervals calibrated from the empirical
distribution of those errors by horizon (``calibrate``, ``apply_calibration``), and the same on
whatever is loaded, for the Needs page, the board pack and ``python -m send_metrics backtest``
(``loaded_backtest``, ``backtest_for_cli``).

The projection itself (log-linear or damped trend per group) is ``measures.projection``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from send_metrics.measures.projection import _clean, _label, _t_quantile, project_caseload


# -- rolling-origin backtest and intervals from past errors --------------------------------------
#: Fewest council deviations at a horizon for their empirical quantiles to be used.
MIN_CALIBRATION_ERRORS = 20
#: Fewest projections an origin needs at a horizon for its median to count as that year's shared error.
MIN_SERIES_PER_YEAR = 5


def backtest_errors(history: pd.DataFrame, horizon: int = 5, **kwargs) -> pd.DataFrame:
    """Rolling-origin backtest: every group projected from every origin year it has.

    For each origin year ``o`` (each year but the last) the model is fitted on each group's
    years up to ``o`` (groups without a count at ``o`` are not projected from it) and projected
    ``1..horizon`` years; every projected year with a known count is one row: ``group, origin,
    horizon, year, actual, value, lower_<l>, upper_<l>`` (the model's own intervals) and
    ``log_error = log(actual / value)``. ``kwargs`` go to :func:`project_caseload`."""
    df = _clean(history)
    cols = ["group", "origin", "horizon", "year", "actual", "value", "log_error"]
    frames = []
    years = sorted(df["year"].unique())
    for origin in years[:-1]:
        train = df[df["year"] <= origin]
        has_origin = set(train.loc[train["year"] == origin, "group"])
        train = train[train["group"].isin(has_origin)]
        if train.empty:
            continue
        proj = project_caseload(train, horizon=horizon, **kwargs)
        proj = proj[proj["kind"] == "projected"]
        test = df[(df["year"] > origin) & df["group"].isin(has_origin)].rename(columns={"count": "actual"})
        merged = proj.merge(test, on=["group", "year"])
        if merged.empty:
            continue
        merged["origin"] = origin
        merged["horizon"] = merged["year"] - origin
        frames.append(merged)
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_error"] = np.log(out["actual"] / out["value"])
    out.loc[~np.isfinite(out["log_error"]), "log_error"] = np.nan
    return out.drop(columns=["kind", "method", "note"], errors="ignore")


def _trend_growth(h: int) -> float:
    """How the shared (all-council) error grows with the horizon: the standard deviation of an
    ``h``-year-ahead error of a trend whose yearly growth takes independent shocks (the local
    linear trend's slope disturbances), relative to one year ahead: sqrt(1 + 4 + ... + h^2)."""
    return float(np.sqrt(h * (h + 1) * (2 * h + 1) / 6))


def _council_growth(h: int, j: int, dev: dict[int, np.ndarray]) -> float:
    """How much wider a council's deviation is ``h`` years ahead than ``j`` years ahead (``j`` the
    longest horizon with enough deviations, ``h >= j``).

    A trend's error is a level error plus ``h`` times a slope error, so its spread grows along a
    line ``a + b * h``. The line is fitted (least squares) to the spread (80th centile of the
    absolute deviations) at each horizon ``k <= j`` seen; with one horizon seen it is taken as
    ``1 + h`` (level and slope errors equal one year ahead), the growth measured on the DfE
    caseload from 2010 (the deviations' spread 1 : 1.48 : 1.97 : 2.51 : 3.00 one to five years
    ahead; the rule this replaced, in proportion to the horizon, was too wide there: measured
    three years ahead from one year's errors it held 147 of 148 councils' outcomes in the 2025
    release's 95% intervals). The ratio is never below 1."""
    if h <= j:
        return 1.0
    ks = sorted(k for k in dev if k <= j)
    if len(ks) < 2:
        a, b = 1.0, 1.0
    else:
        spread = np.array([np.quantile(np.abs(dev[k]), 0.8) for k in ks])
        b, a = np.polyfit(np.asarray(ks, dtype=float), spread, 1)
    ratio = (a + b * h) / (a + b * j) if a + b * j > 0 else h / j
    return float(max(ratio, 1.0))


def _conformal_quantile(v: np.ndarray, p: float) -> float:
    """Empirical quantile with the split-conformal finite-sample correction: the level is moved
    outwards by the share one more value would take (upper: p(n+1)/n, lower: (p(n+1)-1)/n), and the
    order statistic on the outer side is taken."""
    n = len(v)
    if p >= 0.5:
        return float(np.quantile(v, min(1.0, p * (n + 1) / n), method="higher"))
    return float(np.quantile(v, max(0.0, (p * (n + 1) - 1) / n), method="lower"))


def calibrate(errors: pd.DataFrame, confidence=(0.8, 0.95), horizon: int = 5, origin: int | None = None) -> dict:
    """Interval bounds by horizon from the backtest errors known at ``origin`` (every error whose
    target year is at or before it; all of them when ``origin`` is None, as for the latest year).

    Errors of different councils in the same year are not independent: a national change (the
    2014 reforms, a pandemic) moves them together, so the year, not the council-year, is the unit
    of experience. Each log error is split into the year's shared part ``c`` (the median log error
    of that origin and horizon, over origins with at least ``MIN_SERIES_PER_YEAR`` projections) and
    the council's deviation from it ``u``. At horizon ``h``:

    * shared part: the root mean square of the ``c`` seen at horizons ``j <= h``, each rescaled by
      ``_trend_growth(h) / _trend_growth(j)``, times Student's t quantile with ``K`` degrees of
      freedom, ``K`` the number of years (origins) of errors known (zero-mean t: a year's shared
      error is predicted from ``K`` earlier ones, so one year of history gives a very wide interval);
    * council part: the empirical quantiles, with the conformal finite-sample correction, of the
      deviations ``u`` at the longest horizon ``j <= h`` with at least ``MIN_CALIBRATION_ERRORS`` of
      them, times ``_council_growth(h, j)`` (a level error plus ``h`` times a slope error: a line
      through the spreads of the horizons seen, ``(1 + h) / (1 + j)`` when only one is);
    * bounds on the log scale ``-sqrt(t^2 + q_low^2)`` and ``+sqrt(t^2 + q_high^2)`` (the two parts
      added as independent), so a projection's interval is ``projected * exp(bound)``.

    Returns ``{h: {label: (low, high)}}`` for the horizons that can be given one; a horizon is
    missing (no interval: too little history) when no horizon up to it has enough deviations."""
    e = errors.dropna(subset=["log_error"])
    if origin is not None:
        e = e[e["year"] <= origin]
    shared: dict[int, np.ndarray] = {}
    dev: dict[int, np.ndarray] = {}
    years: set = set()
    for h, g in e.groupby("horizon"):
        size = g.groupby("origin")["log_error"].transform("size")
        g = g[size >= MIN_SERIES_PER_YEAR]
        if g.empty:
            continue
        c = g.groupby("origin")["log_error"].median()
        u = (g["log_error"] - g["origin"].map(c)).to_numpy(dtype=float)
        if len(u) < MIN_CALIBRATION_ERRORS:
            continue
        shared[int(h)], dev[int(h)] = c.to_numpy(dtype=float), u
        years |= set(c.index)
    out: dict[int, dict[str, tuple[float, float]]] = {}
    if not shared:
        return out
    k = len(years)
    for h in range(1, int(horizon) + 1):
        js = [j for j in shared if j <= h]
        if not js:
            continue
        c = np.concatenate([shared[j] * _trend_growth(h) / _trend_growth(j) for j in js])
        sd = float(np.sqrt(np.mean(c ** 2)))
        j = max(js)
        u = dev[j] * _council_growth(h, j, dev)
        out[h] = {}
        for level in confidence:
            t = float(_t_quantile(0.5 + level / 2, k)) * sd
            q_lo, q_hi = _conformal_quantile(u, 0.5 - level / 2), _conformal_quantile(u, 0.5 + level / 2)
            out[h][_label(level)] = (-float(np.hypot(t, min(q_lo, 0.0))), float(np.hypot(t, max(q_hi, 0.0))))
    return out


NO_INTERVAL = "no interval: too little backtest history"


def apply_calibration(proj: pd.DataFrame, calibration: dict) -> pd.DataFrame:
    """Set the intervals of projected rows from :func:`calibrate` (the same bounds the backtest
    scores); a horizon it gives no bounds for gets no interval (NaN) rather than the model's own,
    too narrow one. The note says which."""
    out = proj.copy()
    last = out[out["kind"] == "observed"].groupby("group")["year"].max()
    rows = np.flatnonzero((out["kind"] == "projected").to_numpy())
    labels = [c[len("lower_"):] for c in out.columns if c.startswith("lower_")]
    for i in rows:
        idx = out.index[i]
        h = int(out.at[idx, "year"] - last.get(out.at[idx, "group"], np.nan))
        q = calibration.get(h)
        v = float(out.at[idx, "value"])
        for lab in labels:
            lo, hi = q[lab] if q and lab in q else (np.nan, np.nan)
            out.at[idx, f"lower_{lab}"] = v * np.exp(lo)
            out.at[idx, f"upper_{lab}"] = v * np.exp(hi)
        note = out.at[idx, "note"]
        extra = "intervals from the rolling-origin backtest's errors" if q else NO_INTERVAL
        out.at[idx, "note"] = f"{note}; {extra}" if note else extra
    return out


def _coverage(d: pd.DataFrame, lab: str) -> float:
    d = d.dropna(subset=[f"lower_{lab}", f"upper_{lab}"])
    if d.empty:
        return float("nan")
    inside = (d[f"lower_{lab}"] <= d["actual"]) & (d["actual"] <= d[f"upper_{lab}"])
    return float(inside.mean())


def _score_prospectively(e: pd.DataFrame, confidence, horizon: int) -> pd.DataFrame:
    """``e`` with each origin's intervals replaced by :func:`calibrate` on the errors known at that
    origin (NaN where it gives none): what a projection made then would have shown."""
    labels = [_label(c) for c in confidence]
    e = e.copy()
    for lab in labels:
        e[f"lower_{lab}"] = np.nan
        e[f"upper_{lab}"] = np.nan
    for origin in sorted(e["origin"].unique()):
        cal = calibrate(e, confidence, horizon, origin=origin)
        at_origin = (e["origin"] == origin).to_numpy()
        for h, q in cal.items():
            at = at_origin & (e["horizon"] == h).to_numpy()
            for lab, (lo, hi) in q.items():
                e.loc[at, f"lower_{lab}"] = e.loc[at, "value"] * np.exp(lo)
                e.loc[at, f"upper_{lab}"] = e.loc[at, "value"] * np.exp(hi)
    return e


def _summary(e: pd.DataFrame, horizon: int, confidence, calibrated: bool) -> dict:
    labels = [_label(c) for c in confidence]
    e = e[e["actual"] > 0].reset_index(drop=True)
    if calibrated and len(e):
        e = _score_prospectively(e, confidence, horizon)
    rel = (e["value"] - e["actual"]) / e["actual"] if len(e) else pd.Series(dtype=float)
    scored = e.dropna(subset=[f"lower_{labels[-1]}"]) if len(e) else e
    out = {"series": int(e["group"].nunique()) if len(e) else 0,
           "origins": int(e["origin"].nunique()) if len(e) else 0, "forecasts": len(e),
           "forecasts_with_interval": len(scored), "calibrated": bool(calibrated)}
    for lab in labels:
        out[f"coverage_{lab}"] = _coverage(e, lab) if len(e) else float("nan")
        out[f"coverage_{lab}_by_horizon"] = {str(h): _coverage(e[e["horizon"] == h], lab) if len(e) else float("nan")
                                             for h in range(1, int(horizon) + 1)}
    out["mape"] = float(100 * rel.abs().mean()) if len(e) else float("nan")
    out["bias"] = float(100 * rel.mean()) if len(e) else float("nan")
    return out


def rolling_backtest(history: pd.DataFrame, horizon: int = 5, confidence=(0.8, 0.95), calibrated: bool = True,
                     **kwargs) -> dict:
    """Summary of the rolling-origin backtest over every origin and horizon ``1..horizon``.

    With ``calibrated=True`` the intervals scored are the ones the product shows, computed
    prospectively: each origin's from :func:`calibrate` on the errors known at that origin only
    (target year at or before it), never from later years or from the projection's own error.
    Projections from an origin with too little earlier history get no interval and are not scored
    for coverage. ``calibrated=False`` scores the model's own intervals.
    Returns ``{"series", "origins", "forecasts", "forecasts_with_interval", "coverage_80",
    "coverage_95", "coverage_80_by_horizon", "coverage_95_by_horizon", "mape", "bias",
    "calibrated"}``: coverages as fractions (NaN at a horizon with no interval), ``mape`` and
    ``bias`` (mean of (projected - actual) / actual, negative = under-projection) in per cent,
    over every backtest projection."""
    e = backtest_errors(history, horizon=horizon, confidence=confidence, **kwargs)
    return _summary(e, horizon, confidence, calibrated)


# -- on whatever is loaded ------------------------------------------------------------------------
def caseload_history(engine, measure_id: str = "ehcp_caseload") -> pd.DataFrame:
    """EHC plan totals (or another count measure's) of every council in the loaded data
    (disclosure-controlled; small or suppressed totals left out), as a ``history`` table with one
    group per council."""
    t = engine.table([measure_id])
    if t.empty:
        return pd.DataFrame(columns=["group", "year", "count"])
    council = t["area_level"].astype(str) == "council"
    if council.any():
        t = t[council]
    t = t[~t["suppressed"].astype(bool)].dropna(subset=["value"])
    t = t[t["value"] >= 10]
    return pd.DataFrame({"group": t["area_code"].astype(str).to_numpy(),
                         "year": t["period"].astype(str).str[:4].astype(int).to_numpy(),
                         "count": t["value"].astype(float).to_numpy()})


_CALIBRATION_CACHE: dict = {}


def backtest_sentence(summary: dict) -> str:
    """The backtest figures in words, as the Needs page and the board pack show them."""
    if not summary.get("forecasts"):
        return "No rolling-origin backtest is possible: too few years of council totals are loaded."
    text = (f"Rolling-origin backtest on {summary['series']} councils' EHC plan totals ({summary['origins']} "
            f"origins, {summary['forecasts']} projections): mean absolute error {summary['mape']:.1f}%, bias "
            f"{summary['bias']:+.1f}%.")
    if not summary.get("calibrated"):
        return text
    if not summary.get("forecasts_with_interval"):
        return text + (" Intervals are set only from the errors of earlier years, and no origin had enough "
                       "earlier years to set one: no interval is shown.")
    by_h = summary["coverage_95_by_horizon"]
    hs = ", ".join(f"{h} year{'s' if h != '1' else ''} ahead {v * 100:.0f}%" for h, v in by_h.items()
                   if v is not None and np.isfinite(v))
    return text + (
        f" Each origin's intervals were set only from the errors known at that origin, as the intervals shown "
        f"here are from the errors known now; so judged on {summary['forecasts_with_interval']} projections, the "
        f"95% intervals held {summary['coverage_95'] * 100:.0f}% of the actual totals ({hs}) and the 80% "
        f"intervals {summary['coverage_80'] * 100:.0f}%. The intervals allow for a change shared by every council "
        f"(as after the 2014 reforms) only as large as the years loaded have shown.")


def loaded_backtest(engine, horizon: int = 5, method: str = "loglinear") -> tuple[dict, dict]:
    """(rolling-origin backtest summary, calibration) on the councils' caseload in the loaded
    data, computed once per load. The calibration is :func:`calibrate` on every error known (the
    intervals a projection from the last year is given); the summary scores the same function
    at every earlier origin on the errors known then (see :func:`rolling_backtest`), and keeps the
    model's own intervals' coverage under ``before_calibration``."""
    key = (getattr(engine.db, "load_id", None), horizon, method)
    if key not in _CALIBRATION_CACHE:
        hist = caseload_history(engine)
        if hist.empty:
            summary, cal, before = _summary(pd.DataFrame(columns=["group", "origin", "horizon", "year", "actual",
                                                                  "value", "log_error"]), horizon, (0.8, 0.95),
                                            True), {}, {}
        else:
            e = backtest_errors(hist, horizon=horizon, method=method)
            summary = _summary(e, horizon, (0.8, 0.95), True)
            before = _summary(e, horizon, (0.8, 0.95), False)
            cal = calibrate(e, horizon=horizon)
        summary["before_calibration"] = {k: v for k, v in before.items() if k.startswith("coverage")}
        if len(_CALIBRATION_CACHE) > 4:
            _CALIBRATION_CACHE.clear()
        _CALIBRATION_CACHE[key] = (summary, cal)
    return _CALIBRATION_CACHE[key]


def _json_safe(v):
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def backtest_for_cli(args) -> int:
    """``python -m send_metrics backtest [--json]``: the rolling-origin backtest on what is loaded."""
    import json

    from send_metrics.config import load_config
    from send_metrics.db import get_database
    from send_metrics.measures.engine import get_engine
    db = get_database(load_config(getattr(args, "data_dir", None)))
    db.refresh()
    summary, _ = loaded_backtest(get_engine(db))
    summary = _json_safe(summary)
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"{summary['series']} series, {summary['origins']} origins, {summary['forecasts']} projections, "
          f"{summary['forecasts_with_interval']} with an interval set from the errors known at their origin")
    by_h = summary["coverage_95_by_horizon"]
    print("95% coverage by horizon: " + ", ".join(f"{h}: {'-' if v is None else f'{v:.2f}'}" for h, v in by_h.items()))
    print(f"80% coverage {summary['coverage_80']}; 95% coverage {summary['coverage_95']}; "
          f"MAPE {summary['mape']}%; bias {summary['bias']}%")
    return 0
