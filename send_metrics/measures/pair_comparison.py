"""Gap and ratio between two areas for every measure, with intervals and a verdict: no Streamlit here.

* :func:`rows_for_year` - one row per (measure, area) for a year: the year of an annual measure, the
  latest month in that year of a monthly one.
* :func:`compare_one` / :func:`compare_pair` - the gap (a - b) and ratio (a / b) of one or every
  measure, with intervals by one method (MOVER on each area's own Wilson, Byar or Student's t
  interval: Newcombe's method 10 for a difference of proportions, MOVER-D for rates and means,
  MOVER-R for ratios), so the verdict, taken from the difference, agrees with both intervals shown.
* :func:`comparison_sentence` - the plain-English summary of a comparison.

Invariants: pure functions (inputs are never modified); inputs from the measure engine are already
disclosure-controlled (a suppressed cell has NaN value, numerator and interval) and anything compared
with a suppressed figure is reported as suppressed, never computed.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from send_metrics.catalogue import Measure
from send_metrics.stats import comparisons, intervals

SYMBOL = {"a_higher": "▲", "a_lower": "▼", "no_difference": "●", "not_tested": "–", "not_compared": "–",
          "suppressed": "✕"}

COMPARE_COLUMNS = [
    "measure_id", "measure_title", "group", "unit", "period_label",
    "value_a", "lower_a", "upper_a", "value_b", "lower_b", "upper_b",
    "gap", "gap_lower", "gap_upper", "gap_unit", "ratio", "ratio_lower", "ratio_upper",
    "method", "verdict", "verdict_text",
]
# The columns compare_pair and rest_rows read: a narrower table makes their row-by-row lookups much
# cheaper and gives the same result.
COMPARE_INPUT = ["measure_id", "area_code", "period", "period_label", "value", "lower_95", "upper_95",
                 "numerator", "denominator", "suppressed"]

# -- choosing one row per measure ----------------------------------------------------------
def rows_for_year(table: pd.DataFrame, year: str | int, measures: Mapping[str, Measure]) -> pd.DataFrame:
    """One row per (measure, area): the given year for annual measures, the latest month of that
    year (or the latest month before it) for monthly ones. Measures without such a row are dropped."""
    if table.empty:
        return table.copy()
    y = str(year)[:4]
    t = table[table["measure_id"].isin(list(measures))].copy()
    t["_year"] = t["period"].astype(str).str[:4]
    monthly = t["measure_id"].map(lambda i: measures[i].monthly).astype(bool)
    annual = t[~monthly & (t["_year"] == y)]
    months = t[monthly & (t["_year"] <= y)].sort_values("period")
    latest = months.groupby(["measure_id", "area_code"], sort=False).tail(1)
    # A monthly series only counts for the year when it has a month in that year.
    latest = latest[latest["_year"] == y]
    return pd.concat([annual, latest]).drop(columns="_year").reset_index(drop=True)


# -- gap and ratio ---------------------------------------------------------------------------
def as_float(x) -> float:
    """A float, or NaN for anything that is not a number (None, text)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def compare_one(m: Measure, a: Mapping, b: Mapping, name_a: str = "A", name_b: str = "B",
                confidence: float = 0.95) -> dict:
    """Gap (a - b) and ratio (a / b) of one measure between two areas, with intervals and a verdict.

    ``a`` and ``b`` are rows of the measure table (value, numerator, denominator, lower_95,
    upper_95, suppressed). Proportions: Newcombe difference and MOVER-R ratio, verdict from the
    difference. Rates: MOVER difference and MOVER-R ratio on the same Byar intervals, verdict from
    the difference (the ratio interval excludes 1 exactly when the gap interval excludes 0).
    Means with a standard deviation (``sd``): MOVER difference and MOVER-R ratio on the same
    Student's t intervals, verdict from the difference. Counts are not compared (no gap, no
    ratio); medians, means without a standard deviation, growth and gaps get a plain difference
    and ratio, not tested.
    """
    out = {"measure_id": m.id, "measure_title": m.title, "group": m.group, "unit": m.unit,
           "value_a": as_float(a.get("value")), "lower_a": as_float(a.get("lower_95")),
           "upper_a": as_float(a.get("upper_95")), "value_b": as_float(b.get("value")),
           "lower_b": as_float(b.get("lower_95")), "upper_b": as_float(b.get("upper_95")),
           "gap": np.nan, "gap_lower": np.nan, "gap_upper": np.nan,
           "gap_unit": "percentage points" if m.unit == "%" else m.unit,
           "ratio": np.nan, "ratio_lower": np.nan, "ratio_upper": np.nan, "method": "", "verdict": "not_tested"}
    pa, pb = a.get("period_label"), b.get("period_label")
    out["period_label"] = pa if pa == pb or not isinstance(pb, str) else f"{pa} / {pb}"
    sup = bool(a.get("suppressed")) or bool(b.get("suppressed"))
    va, vb = out["value_a"], out["value_b"]
    if sup or not (np.isfinite(va) and np.isfinite(vb)):
        out["verdict"] = "suppressed" if sup else "not_tested"
        out["method"] = "suppressed (small numbers)" if sup else "a value is not available"
        out["verdict_text"] = verdict_text(out["verdict"], m, name_a, name_b)
        return out
    xa, na = as_float(a.get("numerator")), as_float(a.get("denominator"))
    xb, nb = as_float(b.get("numerator")), as_float(b.get("denominator"))
    counts_ok = all(np.isfinite(v) for v in (xa, na, xb, nb)) and na > 0 and nb > 0
    if m.kind == "proportion" and counts_ok and xa <= na and xb <= nb:
        # One method for the gap, the ratio and the verdict: MOVER on the two Wilson intervals
        # (Newcombe's method 10 for the difference, MOVER-R for the ratio), so the verdict always
        # agrees with both intervals shown.
        d, lo, hi = comparisons.proportion_difference_ci(xa, na, xb, nb, confidence)
        la, ua = intervals.wilson_ci(xa, na, confidence)
        lb, ub = intervals.wilson_ci(xb, nb, confidence)
        r, rlo, rhi = comparisons.mover_ratio_ci(xa / na, la, ua, xb / nb, lb, ub)
        out.update(gap=d * m.multiplier, gap_lower=lo * m.multiplier, gap_upper=hi * m.multiplier,
                   ratio=r, ratio_lower=rlo, ratio_upper=rhi,
                   method="difference: Newcombe (Wilson score); ratio: MOVER-R on the same Wilson intervals")
        sig = comparisons.equity_verdict(lo, hi, 0.0)
    elif m.kind == "rate" and counts_ok:
        # MOVER on each rate's Byar (exact below 10) interval, for the gap and the ratio alike.
        d, lo, hi = comparisons.rate_difference_ci(xa, na, xb, nb, m.multiplier, confidence)
        la, ua = intervals.rate_ci(xa, na, m.multiplier, confidence)
        lb, ub = intervals.rate_ci(xb, nb, m.multiplier, confidence)
        r, rlo, rhi = comparisons.mover_ratio_ci(xa / na * m.multiplier, la, ua, xb / nb * m.multiplier, lb, ub)
        out.update(gap=d, gap_lower=lo, gap_upper=hi, ratio=r, ratio_lower=rlo, ratio_upper=rhi,
                   method="difference: MOVER (Byar); ratio: MOVER-R on the same Byar intervals")
        sig = comparisons.equity_verdict(lo, hi, 0.0)
    elif m.kind == "mean" and counts_ok and all(np.isfinite(as_float(r.get("sd"))) for r in (a, b)):
        # MOVER on each mean's Student's t interval (from the pupils' standard deviation), for the
        # gap and the ratio alike, so the verdict agrees with both.
        la, ua = intervals.mean_ci(va, as_float(a.get("sd")), na, confidence)
        lb, ub = intervals.mean_ci(vb, as_float(b.get("sd")), nb, confidence)
        d = va - vb
        lo = d - np.sqrt((va - la) ** 2 + (ub - vb) ** 2)
        hi = d + np.sqrt((ua - va) ** 2 + (vb - lb) ** 2)
        r, rlo, rhi = comparisons.mover_ratio_ci(va, la, ua, vb, lb, ub)
        out.update(gap=d, gap_lower=lo, gap_upper=hi, ratio=r, ratio_lower=rlo, ratio_upper=rhi,
                   method="difference: MOVER (Student's t); ratio: MOVER-R on the same t intervals")
        sig = comparisons.equity_verdict(lo, hi, 0.0)
    elif m.kind == "count":
        # Counts of areas of different size are never compared (as Fingertips): no gap, no ratio.
        out["method"] = "counts of different-sized areas are not compared: compare the rate instead"
        out["verdict"] = "not_compared"
        out["verdict_text"] = verdict_text("not_compared", m, name_a, name_b)
        return out
    else:
        out["gap"] = va - vb
        out["ratio"] = va / vb if vb not in (0, 0.0) else np.nan
        out["method"] = {"median_wait": "median from wait bands: no interval",
                         "mean": "average score: no interval (the extract has no standard deviation)",
                         "growth": "year-on-year change: no interval",
                         "gap": "difference of gaps: no interval"}.get(m.kind, "no interval")
        out["verdict"] = "not_tested"
        out["verdict_text"] = verdict_text("not_tested", m, name_a, name_b, va - vb)
        return out
    if sig == "significant":
        out["verdict"] = "a_higher" if va > vb else "a_lower"
    elif sig == "not significant":
        out["verdict"] = "no_difference"
    out["verdict_text"] = verdict_text(out["verdict"], m, name_a, name_b)
    return out


def _judgement(verdict: str, polarity: str) -> str:
    if polarity == "no_judgement" or verdict not in ("a_higher", "a_lower"):
        return ""
    better = (verdict == "a_higher") == (polarity == "higher_is_better")
    return " (better)" if better else " (worse)"


def verdict_text(verdict: str, m: Measure, name_a: str, name_b: str, diff: float | None = None) -> str:
    """Symbol plus words, so significance never depends on colour."""
    if verdict == "a_higher":
        return f"▲ {name_a} significantly higher{_judgement(verdict, m.polarity)}"
    if verdict == "a_lower":
        return f"▼ {name_a} significantly lower{_judgement(verdict, m.polarity)}"
    if verdict == "no_difference":
        return "● No significant difference"
    if verdict == "suppressed":
        return "✕ Not compared: suppressed (small numbers)"
    if verdict == "not_compared":
        return "– Not compared: counts of areas of different size (compare the rate)"
    if diff is not None and np.isfinite(diff):
        return "– Not tested (no interval)"
    return "– Not compared"


def rows_by_measure(table: pd.DataFrame, area: str) -> dict[str, dict]:
    """One area's rows keyed by measure (the last row wins, as ``.loc`` on a unique index would)."""
    part = table[table["area_code"] == area]
    return {r["measure_id"]: r for r in part.to_dict("records")}


def compare_pair(table: pd.DataFrame, area_a: str, area_b: str, measures: Mapping[str, Measure],
                 name_a: str = "A", name_b: str = "B") -> pd.DataFrame:
    """:func:`compare_one` for every measure that has a row for both areas.

    ``table`` holds one row per (measure, area) (see :func:`rows_for_year`)."""
    # Rows as plain dicts, once: pandas row access per measure costs more than the statistics.
    a = rows_by_measure(table, area_a)
    b = rows_by_measure(table, area_b)
    rows = [compare_one(measures[mid], a[mid], b[mid], name_a, name_b) for mid in measures if mid in a and mid in b]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def comparison_sentence(comp: pd.DataFrame, name_a: str, name_b: str) -> str:
    """Plain English summary of a :func:`compare_pair` table."""
    tested = comp[comp["verdict"].isin(["a_higher", "a_lower", "no_difference"])]
    if tested.empty:
        return f"No measure could be tested between {name_a} and {name_b} for this period."
    sig = tested[tested["verdict"] != "no_difference"]
    text = (f"Of {len(tested)} measures with an interval, {len(sig)} differ significantly between "
            f"{name_a} and {name_b}")
    worse = sig[sig["verdict_text"].str.endswith("(worse)")]
    better = sig[sig["verdict_text"].str.endswith("(better)")]
    if len(better) or len(worse):
        text += f": {name_a} is better on {len(better)} and worse on {len(worse)}"
    if len(sig):
        top = sig.assign(_r=np.abs(np.log(sig["ratio"].astype(float)))).sort_values("_r", ascending=False).iloc[0]
        if np.isfinite(top["ratio"]):
            text += (f". The largest relative difference is {top['measure_title']}: {name_a} "
                     f"{top['ratio']:.2f} times {name_b} (95% CI {top['ratio_lower']:.2f} to {top['ratio_upper']:.2f})")
    untested = len(comp) - len(tested)
    if untested:
        text += f". {untested} further measures are counts, medians or suppressed and are not tested"
    return text + "."
