"""EHC plan demand projection for sufficiency planning.

Public API
----------
``project_caseload(history, horizon=5, confidence=(0.8, 0.95), method="loglinear",
window=6, damping=0.8, reconcile=False, total_group="ALL")``
    Observed + projected EHC plan counts per group, with prediction intervals.
``backtest(history, holdout=3, **kwargs)``
    Projects each group's last ``holdout`` known years from the years before
    them and reports MAPE, bias and interval coverage.
``backtest_errors``, ``calibrate``, ``apply_calibration``, ``rolling_backtest``
    The rolling-origin backtest over every origin and horizon, and the intervals
    the product shows for council EHC plan totals (see "Intervals from past
    errors" below).

``history`` is a long table with columns ``year`` (int, January census year),
``group`` (e.g. primary need ASD/SLCN/SEMH, or "ALL") and ``count``
(non-negative number of EHC plans). Rows with a missing count are treated as
not observed; negative counts and duplicate (group, year) rows are rejected.

Method
------
*Log-linear trend.* For each group we fit ordinary least squares of
``log(count)`` on ``year`` over the last ``window`` (default 6) observed years
and extrapolate the line ``horizon`` years beyond the group's last observed
year. The projected value is ``exp(fitted log count)``.

Why: EHC plan numbers grow multiplicatively (a broadly steady percentage rate
a year), so a straight line on the log scale is the natural simple model; a
short window tracks the current growth regime rather than older policy eras;
intervals built on the log scale are asymmetric and never negative; and the
whole calculation can be reproduced in a spreadsheet (LOGEST / LINEST), which
matters for a figure commissioners have to defend. The back-transformed value
is the *median* projection (no log-normal bias correction), which keeps a
perfect exponential series projected exactly.

*Prediction intervals.* With ``n`` points, residual standard deviation ``s``
(``n - 2`` degrees of freedom), ``xbar`` the mean year and
``Sxx = sum((x - xbar)^2)``, the standard error of a new log count at year
``x0`` is ``se = s * sqrt(1 + 1/n + (x0 - xbar)^2 / Sxx)``: residual noise plus
the uncertainty of the fitted level and slope, so intervals widen with the
horizon. Bounds are ``fitted +/- t_{n-2, (1+c)/2} * se`` on the log scale, then
back-transformed. They cover statistical noise around a stable trend only -
not policy changes or other structural breaks - so treat them as a lower bound
on real uncertainty, particularly in later years.

*Damped variant* (``method="damped"``): the fitted slope decays by ``damping``
(phi, fixed, default 0.8) each projected year, i.e. the line is evaluated at
the effective year ``x_last + phi + phi^2 + ... + phi^h``. Since phi is fixed,
the same interval formula applies exactly at that effective year (conditional
on phi). ``damping=1`` reproduces the log-linear projection. Use it as a
sensitivity check against compounding growth continuing for five years.

*Zero counts.* If a group's fitting window contains a zero, that group is
fitted on ``log(count + 0.5)`` and projections are back-transformed as
``exp(.) - 0.5``, floored at 0. Groups with no zeros are fitted on
``log(count)`` unchanged.

*Too little data.* A group with fewer than 3 positive counts in its fitting
window is not projected: only its observed rows are returned, with a ``note``.

*Reconciliation* (``reconcile=True``): group projections are modelled
independently, so they need not add up to the separately modelled
``total_group`` ("ALL") projection. Top-down proportional reconciliation
multiplies every other group's projected value and interval bounds in a year
by ``ALL / sum(groups)`` for that year, so the groups sum to the ALL
projection while keeping their relative shares. The factor is recorded in
``note``. Reconciled intervals stay per-group intervals (they do not add up).
Groups that could not be projected take no part.

Output of ``project_caseload``: one row per group and year with columns
``group, year, kind`` ("observed" | "projected"), ``value``,
``lower_80, upper_80, lower_95, upper_95`` (one pair per confidence level;
NaN for observed rows), ``method`` and ``note``.

*Intervals from past errors* (what the Needs page, the board pack and ``python -m send_metrics
backtest`` give for a council's EHC plan total): the model's own intervals proved far too narrow
(on the DfE caseload from 2010 they held 47% of outcomes five years ahead), so they are replaced by
:func:`calibrate` on the rolling-origin backtest of every council's total in the load: every
origin year, every council projected 1-5 years ahead, each error ``log(actual / projected)``.
The year, not the council-year, is the unit of experience (a national change moves every council
together), so each error is split into the year's shared part (the median over councils) and the
council's deviation; the interval combines a Student's t on the shared parts of the ``K`` years
known (grown with the horizon as the slope error of a local linear trend) with the conformal
empirical quantiles of the deviations. The backtest scores exactly this function prospectively:
each origin's intervals from the errors known at that origin only. A horizon with too little
history (fewer than 20 deviations, from origins with at least 5 councils) gets no interval.
Primary-need groups keep the model's own intervals.

Backtest: for each group the last ``holdout`` observed years are held out,
the model is fitted on the earlier years (same ``window`` etc.), and the
projections for the held-out years are compared with the known counts:
``mape`` (mean absolute % error, over years with a positive count),
``mean_error`` (mean of projected - actual, in plans: positive means
over-projection) and ``coverage_80`` / ``coverage_95`` (share of held-out
counts inside the interval). The "OVERALL" row pools every held-out
(group, year) point equally, including the ALL group if present. With 3
held-out years per group, coverage figures are very noisy.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

MIN_POSITIVE = 3
ZERO_OFFSET = 0.5
METHODS = ("loglinear", "damped")
OVERALL = "OVERALL"

__all__ = ["project_caseload", "backtest", "backtest_errors", "calibrate", "apply_calibration",
           "rolling_backtest", "loaded_backtest", "backtest_sentence"]


def _label(level: float) -> str:
    if not 0 < level < 1:
        raise ValueError(f"confidence levels must be in (0, 1), got {level!r}")
    return f"{level * 100:g}".replace(".", "_")


def _clean(history: pd.DataFrame) -> pd.DataFrame:
    missing = {"year", "group", "count"} - set(history.columns)
    if missing:
        raise ValueError(f"history is missing columns: {sorted(missing)}")
    df = history[["group", "year", "count"]].copy()
    df["count"] = pd.to_numeric(df["count"]).astype(float)
    df = df[df["count"].notna()]
    if not np.isfinite(df["count"]).all() or (df["count"] < 0).any():
        raise ValueError("count must be finite and non-negative")
    years = pd.to_numeric(df["year"]).astype(float)
    if (years != np.round(years)).any():
        raise ValueError("year must be whole census years")
    df["year"] = years.astype(int)
    if df.duplicated(["group", "year"]).any():
        raise ValueError("history has duplicate (group, year) rows")
    return df.sort_values(["group", "year"], ignore_index=True)


@lru_cache(maxsize=256)
def _t_quantile(p: float, dof: int) -> float:
    """Student's t quantile (a few levels and window sizes recur: computed once each). scipy.stats
    is imported here, not with the module: it takes 0.5-1.5 s to import, and the Needs page and
    the board pack import this module whether or not they project anything."""
    from scipy import stats
    return stats.t.ppf(p, dof)


def _project_group(years, counts, horizon, levels, method, window, damping):
    """Return (projected years, values, {label: (lower, upper)}) or a note."""
    x, c = years[-window:].astype(float), counts[-window:]
    if (c > 0).sum() < MIN_POSITIVE:
        return f"not projected: fewer than {MIN_POSITIVE} positive counts in the last {window} years"
    offset = ZERO_OFFSET if (c == 0).any() else 0.0
    y = np.log(c + offset)
    n, xbar, ybar = len(x), x.mean(), y.mean()
    sxx = ((x - xbar) ** 2).sum()
    slope = ((x - xbar) * (y - ybar)).sum() / sxx
    s = np.sqrt(((y - ybar - slope * (x - xbar)) ** 2).sum() / (n - 2))

    steps = np.arange(1, horizon + 1)
    x_eff = x[-1] + (steps if method == "loglinear" else np.cumsum(damping ** steps))
    fit = ybar + slope * (x_eff - xbar)
    se = s * np.sqrt(1 + 1 / n + (x_eff - xbar) ** 2 / sxx)
    back = lambda v: np.maximum(np.exp(v) - offset, 0.0)  # noqa: E731
    bounds = {}
    for level in levels:
        q = _t_quantile(0.5 + level / 2, n - 2) * se
        bounds[_label(level)] = (back(fit - q), back(fit + q))
    note = "fitted on log(count + 0.5) because of zero counts" if offset else ""
    return years[-1] + steps, back(fit), bounds, note


def project_caseload(
    history: pd.DataFrame,
    horizon: int = 5,
    confidence=(0.8, 0.95),
    method: str = "loglinear",
    *,
    window: int = 6,
    damping: float = 0.8,
    reconcile: bool = False,
    total_group: str = "ALL",
) -> pd.DataFrame:
    """Observed and projected EHC plan counts per group (see module docstring)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if int(horizon) != horizon or horizon < 1:
        raise ValueError("horizon must be a positive integer")
    if window < 3:
        raise ValueError("window must be at least 3 years")
    if method == "damped" and not 0 < damping <= 1:
        raise ValueError("damping must be in (0, 1]")
    levels = tuple(confidence)
    labels = [_label(level) for level in levels]
    bound_cols = [f"{side}_{lab}" for lab in labels for side in ("lower", "upper")]
    df = _clean(history)

    # Columns gathered group by group, then one frame (building a frame per group is slow).
    cols: dict[str, list] = {c: [] for c in ("group", "year", "kind", "value", *bound_cols, "note")}

    def add(group, years, kind, values, bounds, note):
        n = len(years)
        cols["group"] += [group] * n
        cols["year"].append(np.asarray(years))
        cols["kind"] += [kind] * n
        cols["value"].append(np.asarray(values, dtype=float))
        for col in bound_cols:
            cols[col].append(np.asarray(bounds[col], dtype=float) if col in bounds else np.full(n, np.nan))
        cols["note"] += [note] * n

    for group, g in df.groupby("group", sort=True):
        years, counts = g["year"].to_numpy(), g["count"].to_numpy()
        result = _project_group(years, counts, int(horizon), levels, method, window, damping)
        if isinstance(result, str):
            add(group, years, "observed", counts, {}, result)
            continue
        p_years, values, bounds, note = result
        add(group, years, "observed", counts, {}, "")
        add(group, p_years, "projected", values,
            {f"{side}_{lab}": b for lab, (lo, hi) in bounds.items() for side, b in (("lower", lo), ("upper", hi))},
            note)
    if not cols["year"]:
        pd.concat([])  # no observed count at all: the same ValueError as always
    out = pd.DataFrame({c: (np.concatenate(v) if c in ("year", "value", *bound_cols) else v) for c, v in cols.items()})
    out["year"] = out["year"].astype(int)
    out["method"] = method
    out = out[["group", "year", "kind", "value", *bound_cols, "method", "note"]]
    if reconcile:
        out = _reconcile(out, total_group, ["value", *bound_cols])
    return out


def _reconcile(out: pd.DataFrame, total_group: str, cols) -> pd.DataFrame:
    proj = out["kind"] == "projected"
    total = out[proj & (out["group"] == total_group)].set_index("year")["value"]
    if total.empty:
        raise ValueError(f"reconcile=True needs a projected {total_group!r} group")
    parts = proj & (out["group"] != total_group)
    sums = out[parts].groupby("year")["value"].sum()
    factor = (total / sums).replace([np.inf, -np.inf], np.nan).dropna()
    rows = parts & out["year"].isin(factor.index)
    f = out.loc[rows, "year"].map(factor).to_numpy()
    out.loc[rows, cols] = out.loc[rows, cols].to_numpy() * f[:, None]
    notes = [f"reconciled to {total_group} (x{v:.4f})" for v in f]
    old = out.loc[rows, "note"].to_numpy()
    out.loc[rows, "note"] = [f"{o}; {n}" if o else n for o, n in zip(old, notes)]
    return out


def _metrics(d: pd.DataFrame, labels) -> dict:
    if d.empty:
        return {"n": 0, "mape": np.nan, "mean_error": np.nan,
                **{f"coverage_{lab}": np.nan for lab in labels}}
    # numpy on the columns (the same sums and means as the pandas ones, without their overhead)
    value, actual = d["value"].to_numpy(dtype=float), d["actual"].to_numpy(dtype=float)
    err = value - actual
    pos = actual > 0
    ape = (np.abs(err) / actual)[pos]
    res = {"n": len(d), "mape": 100 * _mean(ape) if pos.any() else np.nan,
           "mean_error": _mean(err)}
    for lab in labels:
        lower, upper = d[f"lower_{lab}"].to_numpy(dtype=float), d[f"upper_{lab}"].to_numpy(dtype=float)
        inside = (lower <= actual) & (actual <= upper)
        res[f"coverage_{lab}"] = _mean(inside.astype(float))
    return res


def _mean(v: np.ndarray) -> float:
    """Mean of the non-NaN values, as pandas' Series.mean (NaN when there are none)."""
    v = v[~np.isnan(v)]
    return float(v.sum() / len(v)) if len(v) else np.nan


def backtest(history: pd.DataFrame, holdout: int = 3, **kwargs) -> pd.DataFrame:
    """Project each group's last ``holdout`` known years from the years before.

    ``kwargs`` are passed to :func:`project_caseload` (not ``horizon``).
    Returns one row per group plus an "OVERALL" row with columns
    ``group, n, mape, mean_error, coverage_<level>..., note``.
    """
    if "horizon" in kwargs:
        raise TypeError("backtest sets the horizon itself")
    if int(holdout) != holdout or holdout < 1:
        raise ValueError("holdout must be a positive integer")
    df = _clean(history)
    labels = [_label(level) for level in kwargs.get("confidence", (0.8, 0.95))]
    held = df.groupby("group")["year"].rank(method="first", ascending=False) <= holdout
    train, test = df[~held], df[held].rename(columns={"count": "actual"})

    gap = test.groupby("group")["year"].max() - train.groupby("group")["year"].max()
    gap = gap.dropna()
    merged = pd.DataFrame(columns=["group", "year", "value", "actual"])
    notes = {}
    if not gap.empty:
        proj = project_caseload(train, horizon=int(gap.max()), **kwargs)
        notes = proj.groupby("group")["note"].first().to_dict()
        merged = proj[proj["kind"] == "projected"].merge(test, on=["group", "year"])

    rows = []
    for group in sorted(df["group"].unique()):
        note = notes.get(group, "not projected: no years before the holdout")
        d = merged[merged["group"] == group]
        rows.append({"group": group, **_metrics(d, labels),
                     "note": note if d.empty else ""})
    rows.append({"group": OVERALL, **_metrics(merged, labels), "note": ""})
    return pd.DataFrame(rows)


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
    import sys

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
