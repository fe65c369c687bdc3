"""EHC plan demand projection for sufficiency planning.

Public API
----------
``project_caseload(history, horizon=5, confidence=(0.8, 0.95), method="loglinear",
window=6, damping=0.8, reconcile=False, total_group="ALL")``
    Observed + projected EHC plan counts per group, with prediction intervals.
``backtest(history, holdout=3, **kwargs)``
    Projects each group's last ``holdout`` known years from the years before
    them and reports MAPE, bias and interval coverage.
``measures.projection_backtest``: ``backtest_errors``, ``calibrate``,
``apply_calibration``, ``rolling_backtest``
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

__all__ = ["project_caseload", "backtest"]


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
