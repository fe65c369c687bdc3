"""Numbers for the comparison pages (equity, benchmarks, waiting times, needs): no Streamlit here.

* :func:`compare_pair` - the gap and ratio between two areas for every measure, with intervals
  by one method (MOVER on each area's own Wilson or Byar interval: Newcombe's method 10 for a
  difference of proportions, MOVER-D for rates, MOVER-R for ratios) and a verdict that agrees
  with both intervals shown.
* :func:`rest_of_parent` - an area's complement inside a parent (e.g. Cumberland without the
  Millom area) as council numerator minus locality numerator, only when neither is suppressed.
* :func:`comparators` - an area with its statistical neighbours, the other councils, England and
  its region for one measure and year, from the loaded data and the published benchmarks.
* :func:`protect_table` / :func:`protect_linked` - disclosure control for raw-count breakdowns
  (wait bands, EHCP status, need by age band or setting) that the measure engine does not cover.

Invariants
----------
* Pure functions: inputs are never modified.
* Inputs from the measure engine are already disclosure-controlled: a suppressed cell has NaN
  value, numerator and interval. Nothing here un-suppresses; anything derived from a suppressed
  figure is suppressed too, and derived counts (a "rest of council") are primary-suppressed again.
* Breakdown tables are protected with :mod:`send_metrics.stats.disclosure`: primary suppression of
  counts in the configured range, then complementary suppression over the area hierarchies and
  over every category total, sub-table by sub-table (the tau-Argus "HiTaS" approach) until no
  sub-table changes, then a check of the whole linked table: no suppressed cell may be a linear
  combination of the published ones (a cell is recoverable exactly when its row of the null
  space of the unknown cells' equations is zero); any that is gets a further complementary
  suppression. Values of suppressed cells are returned as NaN.
"""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd

from send_metrics.stats import comparisons, disclosure, funnels, intervals
from send_metrics.catalogue import Measure

NORTH = "HF-NORTH-CUMBRIA"
SOUTH = "HF-SOUTH-CUMBRIA"
ENGLAND = "E92000001"
ALL = "ALL"

SYMBOL = {"a_higher": "▲", "a_lower": "▼", "no_difference": "●", "not_tested": "–", "not_compared": "–",
          "suppressed": "✕"}

COMPARE_COLUMNS = [
    "measure_id", "measure_title", "group", "unit", "period_label",
    "value_a", "lower_a", "upper_a", "value_b", "lower_b", "upper_b",
    "gap", "gap_lower", "gap_upper", "gap_unit", "ratio", "ratio_lower", "ratio_upper",
    "method", "verdict", "verdict_text",
]


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
def _num(x) -> float:
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
           "value_a": _num(a.get("value")), "lower_a": _num(a.get("lower_95")),
           "upper_a": _num(a.get("upper_95")), "value_b": _num(b.get("value")),
           "lower_b": _num(b.get("lower_95")), "upper_b": _num(b.get("upper_95")),
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
    xa, na = _num(a.get("numerator")), _num(a.get("denominator"))
    xb, nb = _num(b.get("numerator")), _num(b.get("denominator"))
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
    elif m.kind == "mean" and counts_ok and all(np.isfinite(_num(r.get("sd"))) for r in (a, b)):
        # MOVER on each mean's Student's t interval (from the pupils' standard deviation), for the
        # gap and the ratio alike, so the verdict agrees with both.
        la, ua = intervals.mean_ci(va, _num(a.get("sd")), na, confidence)
        lb, ub = intervals.mean_ci(vb, _num(b.get("sd")), nb, confidence)
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


def _rows_by_measure(table: pd.DataFrame, area: str) -> dict[str, dict]:
    """One area's rows keyed by measure (the last row wins, as ``.loc`` on a unique index would)."""
    part = table[table["area_code"] == area]
    return {r["measure_id"]: r for r in part.to_dict("records")}


def compare_pair(table: pd.DataFrame, area_a: str, area_b: str, measures: Mapping[str, Measure],
                 name_a: str = "A", name_b: str = "B") -> pd.DataFrame:
    """:func:`compare_one` for every measure that has a row for both areas.

    ``table`` holds one row per (measure, area) (see :func:`rows_for_year`)."""
    # Rows as plain dicts, once: pandas row access per measure costs more than the statistics.
    a = _rows_by_measure(table, area_a)
    b = _rows_by_measure(table, area_b)
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


# -- rest of a parent area -------------------------------------------------------------------
def rest_of_parent(m: Measure, child: Mapping, parent: Mapping, low: float = 1, high: float = 4) -> dict:
    """The parent area without the child: numerator and denominator differences, with an interval.

    Only counts, proportions, rates and means are additive; anything else is not computed. The
    result is suppressed when either input is suppressed or the derived count falls in the
    suppression range."""
    out = {"value": np.nan, "lower_95": np.nan, "upper_95": np.nan, "numerator": np.nan,
           "denominator": np.nan, "suppressed": False, "suppression_reason": None}
    if m.kind not in ("count", "proportion", "rate", "mean"):
        out["suppression_reason"] = "not additive: cannot be split by subtraction"
        return out
    if bool(child.get("suppressed")) or bool(parent.get("suppressed")):
        out.update(suppressed=True, suppression_reason="built on a suppressed count")
        return out
    num = _num(parent.get("numerator")) - _num(child.get("numerator"))
    den = np.nan
    if m.kind != "count":
        den = _num(parent.get("denominator")) - _num(child.get("denominator"))
    if not np.isfinite(num) or (m.kind != "count" and not (np.isfinite(den) and den > 0)) or num < 0:
        out["suppression_reason"] = "not available"
        return out
    check = den if m.disclosure == "denominator" else num
    if m.disclosure != "none" and disclosure.primary_suppress(check, low, high):
        out.update(suppressed=True, suppression_reason=disclosure.primary_reason(low, high))
        return out
    out["numerator"] = num
    if m.kind == "count":
        out["value"] = num
        if m.ci_method == "byar":
            out["lower_95"], out["upper_95"] = intervals.byar_ci(num, 0.95)
        return out
    out["denominator"] = den
    out["value"] = num / den * m.multiplier
    if m.kind == "proportion" and m.ci_method == "wilson" and num <= den:
        lo, hi = intervals.wilson_ci(num, den, 0.95)
        out["lower_95"], out["upper_95"] = lo * m.multiplier, hi * m.multiplier
    elif m.kind == "rate" and m.ci_method == "byar":
        out["lower_95"], out["upper_95"] = intervals.rate_ci(num, den, m.multiplier, 0.95)
    elif m.kind == "mean" and m.ci_method == "t":
        # Sums of squares subtract as the totals do: ((n - 1) sd^2 + total^2 / n) for each area.
        def sumsq(r):
            n, t, sd = _num(r.get("denominator")), _num(r.get("numerator")), _num(r.get("sd")) / m.multiplier
            return (n - 1) * sd * sd + t * t / n if n > 0 else np.nan
        sd = intervals.sd_from_sum_of_squares(num, sumsq(parent) - sumsq(child), den) * m.multiplier
        if np.isfinite(sd):
            out["sd"] = sd
            out["lower_95"], out["upper_95"] = intervals.mean_ci(out["value"], sd, den, 0.95)
    return out


def rest_rows(table: pd.DataFrame, child: str, parent: str, measures: Mapping[str, Measure],
              low: float = 1, high: float = 4, rest_code: str = "REST") -> pd.DataFrame:
    """Measure-table-like rows for ``parent`` without ``child``, one per measure with both rows."""
    c = _rows_by_measure(table, child)
    p = _rows_by_measure(table, parent)
    rows = []
    for mid, m in measures.items():
        if mid not in c or mid not in p:
            continue
        r = rest_of_parent(m, c[mid], p[mid], low, high)
        r.update(measure_id=mid, area_code=rest_code, period=p[mid]["period"], period_label=p[mid]["period_label"])
        rows.append(r)
    return pd.DataFrame(rows)


# -- comparators for benchmarking ------------------------------------------------------------
def comparators(loaded: pd.DataFrame, published: pd.DataFrame, m: Measure, area: str,
                neighbours: Sequence[str], region: str | None = None) -> pd.DataFrame:
    """An area, its neighbours, England and its region for one measure and year.

    ``loaded``: measure-table rows (already disclosure-controlled) for the measure and year;
    ``published``: benchmark rows (area_code, area_name, value, numerator, denominator, source).
    Loaded data wins over published; published proportions with a numerator and denominator get
    a Wilson interval. Returns area_code, area_name, role, value, lower_95, upper_95, source.
    """
    wanted = [area, *[n for n in neighbours if n != area], ENGLAND, *([region] if region else [])]
    rows = []
    for code in dict.fromkeys(wanted):
        role = ("selected" if code == area else "England" if code == ENGLAND
                else "region" if code == region else "neighbour")
        hit = loaded[loaded["area_code"] == code]
        if len(hit) and np.isfinite(_num(hit["value"].iloc[0])):
            r = hit.iloc[0]
            rows.append({"area_code": code, "area_name": r.get("area_name", code), "role": role,
                         "value": _num(r["value"]), "lower_95": _num(r.get("lower_95")),
                         "upper_95": _num(r.get("upper_95")), "source": "loaded data"})
            continue
        if len(hit) and bool(hit["suppressed"].iloc[0]):
            rows.append({"area_code": code, "area_name": hit["area_name"].iloc[0], "role": role,
                         "value": np.nan, "lower_95": np.nan, "upper_95": np.nan,
                         "source": "suppressed (small numbers)"})
            continue
        pub = published[published["area_code"] == code]
        if len(pub) and np.isfinite(_num(pub["value"].iloc[0])):
            p = pub.iloc[0]
            lo = hi = np.nan
            x, n = _num(p.get("numerator")), _num(p.get("denominator"))
            if m.kind == "proportion" and np.isfinite(x) and np.isfinite(n) and 0 < n and x <= n:
                lo, hi = (v * m.multiplier for v in intervals.wilson_ci(x, n, 0.95))
            rows.append({"area_code": code, "area_name": p.get("area_name", code), "role": role,
                         "value": _num(p["value"]), "lower_95": lo, "upper_95": hi,
                         "source": f"published: {p.get('source', '')}"})
    out = pd.DataFrame(rows, columns=["area_code", "area_name", "role", "value", "lower_95", "upper_95", "source"])
    eng = out.loc[out["role"] == "England", "value"]
    bench = float(eng.iloc[0]) if len(eng) else np.nan
    out["sig_england"] = comparisons.compare_to_benchmark(out["lower_95"].to_numpy(float), out["upper_95"].to_numpy(float),
                                                    np.full(len(out), bench), m.polarity) if len(out) else []
    out.loc[out["role"] == "England", "sig_england"] = "not_compared"
    return out


def spine_rows(area_rows: pd.DataFrame, loaded: pd.DataFrame, published: pd.DataFrame,
               measures: Mapping[str, Measure], area: str, min_comparators: int = 3) -> pd.DataFrame:
    """One row per measure for a spine chart: the area's value against England and the range of
    the councils with a value (loaded or published), with the area's significance against England.

    ``area_rows``: the area's measure-table rows for the year (one per measure); ``loaded``: the
    measure table for the year, every area; ``published``: benchmark rows for the year."""
    rows = []
    for _, r in area_rows.iterrows():
        m = measures.get(r["measure_id"])
        if m is None or not m.is_ratio or not np.isfinite(_num(r["value"])) \
                or not np.isfinite(_num(r.get("england_value"))):
            continue  # counts of different-sized areas are not comparable
        lo = loaded[(loaded["measure_id"] == m.id) & (loaded.get("area_level") == "council")
                    & (loaded["area_code"] != area)][["area_code", "value"]]
        pub = published[(published["measure_id"] == m.id) & (published["area_level"] == "council")
                        & (published["area_code"] != area) & ~published["area_code"].isin(lo["area_code"])]
        vals = pd.concat([lo["value"], pub["value"]]).astype(float).dropna()
        if len(vals) < min_comparators:
            continue
        n = len(vals)
        vals = pd.concat([vals, pd.Series([_num(r["value"])])])  # the range includes the area itself
        rows.append({"measure_id": m.id, "measure_title": m.title, "unit": m.unit, "value": _num(r["value"]),
                     "benchmark": _num(r["england_value"]), "min": vals.min(), "q25": vals.quantile(0.25),
                     "q75": vals.quantile(0.75), "max": vals.max(), "n_comparators": n,
                     "sig": str(r.get("sig_england_95")), "period_label": r.get("period_label")})
    return pd.DataFrame(rows, columns=["measure_id", "measure_title", "unit", "value", "benchmark", "min", "q25",
                                       "q75", "max", "n_comparators", "sig", "period_label"])


def council_values(loaded: pd.DataFrame, published: pd.DataFrame, m: Measure,
                   low: float = 1, high: float = 4) -> pd.DataFrame:
    """Every council with a value, numerator and denominator for a funnel plot.

    Loaded (disclosure-controlled) rows win; published rows are added for other councils, with
    published counts in the suppression range dropped as well. For a mean, ``sd`` is the
    standard deviation of the observations (loaded data only: publications give none)."""
    cols = ["area_code", "area_name", "value", "numerator", "denominator", "sd", "source"]
    a = loaded[(loaded.get("area_level") == "council") & loaded["value"].notna()
               & loaded["denominator"].notna() & loaded["numerator"].notna()]
    a = a.assign(source="loaded data")
    if "sd" not in a.columns:
        a = a.assign(sd=np.nan)
    a = a[cols] if len(a) else pd.DataFrame(columns=cols)
    p = published[(published["area_level"] == "council") & ~published["area_code"].isin(a["area_code"])]
    p = p[p["value"].notna() & p["numerator"].notna() & p["denominator"].notna()]
    p = p[~disclosure.primary_suppress(p["numerator"].to_numpy(float), low, high)]
    p = p.assign(source="published", sd=np.nan)[cols] if len(p) else pd.DataFrame(columns=cols)
    parts = [x for x in (a, p) if len(x)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    if m.kind == "rate" or m.kind == "proportion":
        out = out[out["denominator"].astype(float) > 0]
    return out.reset_index(drop=True)


def pooled_sd(councils: pd.DataFrame) -> float:
    """The pooled within-council standard deviation of one observation,
    ``sqrt(sum((n_i - 1) sd_i^2) / sum(n_i - 1))`` over councils with an ``sd`` and at least 2
    observations: the sigma of a funnel for means. NaN when none has one."""
    sd = pd.to_numeric(councils.get("sd"), errors="coerce").astype(float) if "sd" in councils else pd.Series(
        dtype=float)
    n = pd.to_numeric(councils.get("denominator"), errors="coerce").astype(float) if len(sd) else sd
    ok = np.isfinite(sd) & np.isfinite(n) & (n >= 2)
    if not ok.any():
        return float("nan")
    return float(np.sqrt(((n[ok] - 1) * sd[ok] ** 2).sum() / (n[ok] - 1).sum()))


def funnel_kind(m: Measure) -> str:
    """The funnel limits a measure takes: 'proportion' (Wilson), 'mean' (normal) or 'rate' (exact Poisson)."""
    return m.kind if m.kind in ("proportion", "mean") else "rate"


def funnel_frame(councils: pd.DataFrame, m: Measure, benchmark: float, points: int = 200,
                 phi: float = 1.0, tau2: float | None = None,
                 sd: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Funnel limits (95% and 99.8%) around ``benchmark`` and each council's position.

    Proportions use Wilson-based limits (PHE / Fingertips), rates exact Poisson, means the normal
    limits ``benchmark +/- z sd / sqrt(n)`` (Spiegelhalter 2005, Table I) with ``sd`` the pooled
    within-council standard deviation (:func:`pooled_sd`). ``phi`` > 1
    widens the limits for multiplicative over-dispersion, ``tau2`` > 0 for additive
    (DerSimonian-Laird random effects) over-dispersion (Spiegelhalter 2005; see
    :func:`funnels.overdispersion_phi`, :func:`funnels.overdispersion_tau2`). Returns (limits, councils with ``outside_95``/``outside_998``
    and ``position`` text)."""
    kind = funnel_kind(m)
    den = councils["denominator"].astype(float)
    lo_n, hi_n = max(1.0, den.min() * 0.8), den.max() * 1.2
    grid = np.unique(np.geomspace(lo_n, hi_n, points).round())
    limits = pd.DataFrame({"denominator": grid})
    c = councils.copy()
    for conf, label in ((0.95, "95"), (0.998, "998")):
        lo, hi = funnels.funnel_limits(grid, benchmark, kind, conf, m.multiplier, phi=phi, tau2=tau2, sd=sd)
        limits[f"lower_{label}"], limits[f"upper_{label}"] = lo, hi
        plo, phi_ = funnels.funnel_limits(den.to_numpy(), benchmark, kind, conf, m.multiplier, phi=phi, tau2=tau2,
                                        sd=sd)
        c[f"lower_{label}"], c[f"upper_{label}"] = plo, phi_
        c[f"outside_{label}"] = (c["value"] < plo) | (c["value"] > phi_)
    c["position"] = np.where(c["value"] > c["upper_998"], "▲ above 99.8% limit",
                    np.where(c["value"] < c["lower_998"], "▼ below 99.8% limit",
                    np.where(c["value"] > c["upper_95"], "△ above 95% limit",
                    np.where(c["value"] < c["lower_95"], "▽ below 95% limit", "● within limits"))))
    return limits, c


# -- percentages with intervals -----------------------------------------------------------------
def percent_ci(num, den) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentage with a Wilson 95% interval; NaN where either count is missing."""
    x = np.asarray(num, dtype=float)
    n = np.asarray(den, dtype=float)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x <= n)
    xs, ns = np.where(ok, x, 0.0), np.where(ok, n, 1.0)
    lo, hi = intervals.wilson_ci(xs, ns, 0.95)
    pct = np.where(ok, xs / ns * 100, np.nan)
    return pct, np.where(ok, np.asarray(lo) * 100, np.nan), np.where(ok, np.asarray(hi) * 100, np.nan)


# -- disclosure control for breakdown tables ----------------------------------------------------
def _sum_or_nan(s: pd.Series) -> float:
    return float(s.sum()) if s.notna().all() else np.nan


def _margins(df: pd.DataFrame, keys: list[str], dims: list[str], value_col: str) -> pd.DataFrame:
    """The table with a total ("ALL") over each dimension and each combination of dimensions;
    a total is NaN when any cell in it is (a symbol is never a zero)."""
    frames = [df[[*keys, *dims, value_col]]]
    for r in range(1, len(dims) + 1):
        for sub in itertools.combinations(dims, r):
            keep = [d for d in dims if d not in sub]
            agg = df.groupby([*keys, *keep], dropna=False, sort=False)[value_col].agg(["sum", "count", "size"])
            g = agg["sum"].where(agg["count"] == agg["size"]).rename(value_col).reset_index()
            for d in sub:
                g[d] = ALL
            frames.append(g[[*keys, *dims, value_col]])
    return pd.concat(frames, ignore_index=True)


@contextmanager
def _single_thread_blas():
    """Run small dense linear algebra on one BLAS thread.

    OpenBLAS spreads even a 150 x 150 eigen-decomposition over every core; on a busy two-core
    server its spinning threads made one call take over a second instead of 3 ms. The thread
    count is restored afterwards; when the OpenBLAS library is not found this does nothing."""
    lib = None
    try:
        import ctypes
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
        for path in paths:
            cand = ctypes.CDLL(path)
            for suffix in ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_", "openblas_{}_num_threads"):
                if hasattr(cand, suffix.format("set")) and hasattr(cand, suffix.format("get")):
                    lib = (getattr(cand, suffix.format("set")), getattr(cand, suffix.format("get")))
                    break
            if lib:
                break
    except Exception:  # pragma: no cover - any platform without /proc or OpenBLAS
        lib = None
    if lib is None:
        yield
        return
    before = int(lib[1]())
    lib[0](1)
    try:
        yield
    finally:
        lib[0](before)


def _linear_repair(equations, vals: np.ndarray, known: np.ndarray, sup: np.ndarray, reason: np.ndarray,
                   fixed: np.ndarray | None = None, sensitive: np.ndarray | None = None,
                   max_rounds: int = 500) -> set[int]:
    """Suppress further cells until no suppressed cell is a linear combination of published ones
    (see :func:`_linear_repair_connected`), one connected set of equations at a time.

    Equations that share no cell are independent: a cell's recoverability, and every cell that
    could protect it, lie in its own connected set. Solving each set apart gives the same answer
    as the whole system while keeping the dense algebra small (national data: one set per council
    of a few dozen cells, instead of one system of thousands)."""
    n = len(vals)
    fixed = np.zeros(n, dtype=bool) if fixed is None else fixed
    sensitive = np.ones(n, dtype=bool) if sensitive is None else sensitive
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    members_of = []
    for total, parts, _ in equations:
        cells = [int(c) for c in [total, *parts] if c is not None]
        members_of.append(cells)
        for c in cells[1:]:
            a, b = root(cells[0]), root(c)
            if a != b:
                parent[b] = a
    groups: dict[int, list[int]] = {}
    for i, (eq, cells) in enumerate(zip(equations, members_of)):
        if cells:
            groups.setdefault(root(cells[0]), []).append(i)
    hopeless: set[int] = set()
    for eq_ids in groups.values():
        cells = sorted({c for i in eq_ids for c in members_of[i]})
        pos = np.array(cells)
        if not (sup[pos] & known[pos] & sensitive[pos]).any():
            continue  # nothing hidden here to protect
        local = {c: k for k, c in enumerate(cells)}
        eqs = [(None if t is None else local[int(t)], [None if q is None else local[int(q)] for q in parts], label)
               for t, parts, label in (equations[i] for i in eq_ids)]
        sub_sup, sub_reason = sup[pos].copy(), reason[pos].copy()
        lost = _linear_repair_connected(eqs, vals[pos], known[pos], sub_sup, sub_reason, fixed=fixed[pos],
                                        sensitive=sensitive[pos], max_rounds=max_rounds)
        sup[pos], reason[pos] = sub_sup, sub_reason
        hopeless |= {cells[j] for j in lost}
    return hopeless


def _linear_repair_connected(equations, vals: np.ndarray, known: np.ndarray, sup: np.ndarray,
                             reason: np.ndarray, fixed: np.ndarray | None = None,
                             sensitive: np.ndarray | None = None, max_rounds: int = 500) -> set[int]:
    """Suppress further cells until no suppressed cell is a linear combination of published ones.

    ``equations`` are (total, parts, label) with cell positions (None for a cell that is not in
    the table: always unknown). A suppressed cell is recoverable exactly when its row in the null
    space of the equations restricted to the unknown cells is zero (the row space is orthogonal
    to the null space), so one eigen-decomposition tests every cell at once. Works in place on
    ``sup``/``reason``; returns the suppressed cells that figures published elsewhere already give
    away (nothing here can protect them). Only ``sensitive`` cells (small counts and cells hidden
    at their source) must stay unrecoverable; complementary suppressions need not (default: every
    suppressed cell is sensitive).
    """
    n = len(vals)
    fixed = np.zeros(n, dtype=bool) if fixed is None else fixed
    sensitive = np.ones(n, dtype=bool) if sensitive is None else sensitive
    rows, extra = [], 0
    for total, parts, _ in equations:
        row: dict[int, float] = {}
        for p, coef in [(total, 1.0), *[(q, -1.0) for q in parts]]:
            if p is None:
                p = n + extra
                extra += 1
            row[p] = row.get(p, 0.0) + coef
        rows.append(row)
    if not rows:
        return set()
    width = n + extra
    a = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        for j, v in row.items():
            a[i, j] = v
    cell_eqs = [np.flatnonzero(a[:, j]) for j in range(n)]

    def unknown_mask(s: np.ndarray) -> np.ndarray:
        u = np.ones(width, dtype=bool)
        u[:n] = s | ~known
        return u

    def analyse(s: np.ndarray):
        """Null space of the unknown cells' equations, from the eigen-decomposition of the Gram
        matrix (small and symmetric: much faster than a full SVD of the tall equation matrix;
        the entries are 0 and +-1, so it is well conditioned)."""
        cols = np.flatnonzero(unknown_mask(s))
        sub = a[:, cols]
        w, v = np.linalg.eigh(sub.T @ sub)
        tol = 1e-9 * max(1.0, float(w.max()) if w.size else 1.0)
        index = {c: k for k, c in enumerate(cols)}
        ns = v[:, w < tol]
        rec = [j for j in np.flatnonzero(s & known & sensitive)
               if ns.shape[1] == 0 or np.linalg.norm(ns[index[j]]) < 1e-6]
        return rec, (sub, v, w, tol, index)

    def recoverable(s: np.ndarray) -> list[int]:
        return analyse(s)[0]

    # Cells that stay recoverable even with every cell we may hide hidden are exposed by figures
    # published elsewhere; nothing here can help them, so they are not chased. (Worked out only
    # when something is recoverable: it is the costliest step.)
    hopeless: set[int] | None = None
    for _ in range(max_rounds):
        rec, (sub, v, w, tol, index) = analyse(sup)
        if rec and hopeless is None:
            hopeless = set(recoverable(sup | (known & ~fixed)))
        bad = [j for j in rec if j not in (hopeless or set())]
        if not bad:
            return hopeless or set()
        target = bad[0]
        eqs = cell_eqs[target]
        cands = sorted({int(j) for e in eqs for j in np.flatnonzero(a[e, :n])
                        if not sup[j] and known[j] and not fixed[j]}, key=lambda j: (vals[j], j))
        if not cands:  # nothing left to suppress near it: try every other publishable cell
            cands = sorted([int(j) for j in np.flatnonzero(~sup & known & ~fixed)], key=lambda j: (vals[j], j))
            if not cands:
                warnings.warn("disclosure repair found no cell left to suppress", RuntimeWarning, stacklevel=3)
                return hopeless or set()
        # Hiding cell c protects the target exactly when A_U y = -a_c has a solution with y_target
        # != 0 (then the null space gains a vector touching the target). All candidates at once,
        # with the least-squares solution from the same eigen-decomposition.
        ac = a[:, cands]
        inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
        y = -(v * inv) @ (v.T @ (sub.T @ ac))
        resid = np.linalg.norm(sub @ y + ac, axis=0)
        works = (resid < 1e-6 * (1 + np.linalg.norm(ac, axis=0))) & (np.abs(y[index[target]]) > 1e-6)
        pick = cands[int(np.flatnonzero(works)[0])] if works.any() else cands[0]
        sup[pick] = True
        label = next((lab for i, (t, p, lab) in enumerate(equations) if i in set(eqs)), "table")
        reason[pick] = f"secondary: protects a suppressed cell in {label}"
    warnings.warn("disclosure repair stopped before every cell was safe", RuntimeWarning, stacklevel=3)
    return hopeless or set()


def protect_table(counts: pd.DataFrame, *, dims: Sequence[str], value_col: str,
                  hierarchies: Sequence[tuple[str, Sequence[str]]], low: float = 1, high: float = 4,
                  group_cols: Sequence[str] = (), area_col: str = "area_code",
                  presuppressed: pd.DataFrame | None = None,
                  published_elsewhere: pd.DataFrame | None = None,
                  extra_sums: Sequence[Mapping] = (), labels: Mapping[str, str] | None = None,
                  max_passes: int = 50) -> pd.DataFrame:
    """Disclosure control for a table of counts by area and one or more category dimensions.

    ``counts`` has one row per group (``group_cols``), area and leaf category of each dimension in
    ``dims``; every area of ``hierarchies`` should be present as its own row (the store holds
    rolled-up areas), and any area missing is treated as unpublished. Totals over each dimension
    are added with the category ``"ALL"``. Then:

    1. primary suppression of counts from ``low`` to ``high``; cells listed in ``presuppressed``
       (area, group columns and dimension values, ``"ALL"`` allowed: e.g. a total the measure
       engine has already suppressed) start suppressed too;
    2. complementary suppression, repeated until nothing changes: in every one-dimensional
       sub-table - the areas of a hierarchy (:func:`disclosure.secondary_suppress` with
       ``hierarchies``) and the categories of one dimension with their total - a suppressed cell
       must not be the only unknown of any equation.

    ``published_elsewhere`` lists cells (same form as ``presuppressed``) that another view shows
    anyway - e.g. the totals the measure engine publishes - so hiding them here would protect
    nothing: they are never chosen as complementary suppressions (unless listed in
    ``presuppressed``, when they are hidden everywhere).

    ``extra_sums`` declares other published sums of categories, e.g. the engine's "waiting 13
    weeks or more" numerator: ``{"dim": "wait_band", "categories": [...], "where": {"ehcp_status":
    "ALL"}, "name": "OVER13"}``; they take part in step 2 as published cells (or hidden ones when
    named in ``presuppressed``) but are not returned.

    Returns the cells (including the ``"ALL"`` totals) with ``suppressed`` and
    ``suppression_reason``; the value of every suppressed cell is NaN.
    """
    dims = list(dims)
    keys = [*group_cols, area_col]
    base = counts[[*keys, *dims, value_col]].copy()
    base[value_col] = pd.to_numeric(base[value_col], errors="coerce").astype(float)
    cells = _margins(base, keys, dims, value_col)
    cells["_pseudo"] = False
    pseudo = []
    for spec in extra_sums:
        d, cats, where, name = spec["dim"], list(spec["categories"]), dict(spec.get("where", {})), spec["name"]
        part = cells[cells[d].isin(cats)]
        for k, v in where.items():
            part = part[part[k] == v]
        other = [x for x in dims if x != d]
        g = part.groupby([*keys, *other], dropna=False, sort=False)[value_col].agg(_sum_or_nan).reset_index()
        g[d] = name
        g["_pseudo"] = True
        pseudo.append(g)
    if pseudo:
        cells = pd.concat([cells, *pseudo], ignore_index=True)
    cells = cells.reset_index(drop=True)
    for d in dims:
        cells[d] = cells[d].astype(str)
    vals = cells[value_col].to_numpy(float)
    sup = np.asarray(disclosure.primary_suppress(vals, low, high), dtype=bool)
    reason = np.where(sup, disclosure.primary_reason(low, high), None).astype(object)
    sensitive = sup.copy()
    if presuppressed is not None and len(presuppressed):
        pre = presuppressed.copy()
        on = [c for c in [*keys, *dims] if c in pre.columns]
        for d in dims:
            if d in pre.columns:
                pre[d] = pre[d].astype(str)
        pre = pre[on].drop_duplicates().assign(_pre=True)
        hit = cells[on].merge(pre, on=on, how="left")["_pre"].fillna(False).to_numpy(bool)
        new = hit & ~sup
        sup |= hit
        sensitive |= hit
        reason[new] = "suppressed in the published measure"
    # Cells shown elsewhere whatever happens here: never usable as complements.
    locked = cells["_pseudo"].to_numpy(bool).copy()
    if published_elsewhere is not None and len(published_elsewhere):
        pe = published_elsewhere.copy()
        on = [c for c in [*keys, *dims] if c in pe.columns]
        for d in dims:
            if d in pe.columns:
                pe[d] = pe[d].astype(str)
        pe = pe[on].drop_duplicates().assign(_pe=True)
        locked |= cells[on].merge(pe, on=on, how="left")["_pe"].fillna(False).to_numpy(bool)
    locked &= ~sup

    # Equations within each dimension: (total position, part positions, label).
    flat: list[tuple[int, np.ndarray, str]] = []
    index = {tuple(r): i for i, r in enumerate(cells[[*keys, *dims]].itertuples(index=False, name=None))}
    cats = {d: [c for c in pd.unique(cells.loc[~cells["_pseudo"], d]) if c != ALL] for d in dims}
    combos_src = cells[[*keys, *dims]].drop_duplicates()
    for k, d in enumerate(dims):
        others = [x for x in dims if x != d]
        rows = combos_src[combos_src[d] == ALL][[*keys, *others]].drop_duplicates()
        for r in rows.itertuples(index=False, name=None):
            fixed = dict(zip([*keys, *others], r))

            def pos(cat, fixed=fixed, d=d):
                return index.get(tuple(fixed[c] if c != d else cat for c in [*keys, *dims]))
            total = pos(ALL)
            parts = [p for p in (pos(c) for c in cats[d]) if p is not None]
            if total is not None and parts:
                flat.append((total, np.array(parts), d))
        for spec in extra_sums:
            if spec["dim"] != d:
                continue
            for r in rows.itertuples(index=False, name=None):
                fixed = dict(zip([*keys, *others], r))
                if any(str(fixed.get(wk)) != str(wv) for wk, wv in spec.get("where", {}).items()):
                    continue
                tot = index.get(tuple(fixed[c] if c != d else spec["name"] for c in [*keys, *dims]))
                parts = [index.get(tuple(fixed[c] if c != d else cat for c in [*keys, *dims]))
                         for cat in spec["categories"]]
                parts = [p for p in parts if p is not None]
                if tot is not None and parts:
                    flat.append((tot, np.array(parts), d))
    # Area sub-tables: one per group and combination of categories.
    area_slices = list(cells.groupby([*group_cols, *dims], sort=False, dropna=False).indices.values()) \
        if (group_cols or dims) else [np.arange(len(cells))]
    area_slices = [p for p in area_slices if not cells["_pseudo"].to_numpy(bool)[p].any()]
    codes = cells[area_col].astype(str).to_numpy()
    known = np.isfinite(vals)
    labels = dict(labels or {})

    def flat_pass() -> bool:
        changed = False
        again = True
        while again:
            again = False
            for total, parts, d in flat:
                members = np.concatenate([[total], parts])
                unknown = sup[members] | ~known[members]
                if unknown.sum() != 1:
                    continue
                u = members[unknown][0]
                if not (sup[u] and known[u]):
                    continue
                cand = [p for p in parts if not sup[p] and known[p] and not locked[p]]
                if cand:
                    pick = min(cand, key=lambda p: (vals[p], p))
                elif not sup[total] and known[total] and not locked[total]:
                    pick = total
                else:
                    continue  # left to the whole-table repair
                sup[pick] = True
                reason[pick] = f"secondary: protects a suppressed cell in the {d.replace('_', ' ')} total"
                again = changed = True
        return changed

    done: dict[int, bytes] = {}  # slice -> suppression pattern it was last protected with

    def area_pass() -> bool:
        changed = False
        if not hierarchies:
            return False
        for k, pos in enumerate(area_slices):
            if not sup[pos].any() or done.get(k) == sup[pos].tobytes():
                continue
            sub = pd.DataFrame({"code": codes[pos], "v": vals[pos], "s": sup[pos],
                                "r": pd.Series(reason[pos], dtype=object)})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = disclosure.secondary_suppress(sub, hierarchies, value_col="v", suppressed_col="s",
                                                    area_col="code", group_cols=[], reason_col="r",
                                                    labels=labels, check_bounds=False)
            new = res["s"].to_numpy(bool) & ~locked[pos]  # cells shown elsewhere stay shown
            if (new != sup[pos]).any():
                sup[pos] = new
                reason[pos] = np.where(new, res["r"].to_numpy(object), reason[pos])
                changed = True
            done[k] = sup[pos].tobytes()
        return changed

    for _ in range(max_passes):
        a = flat_pass()
        b = area_pass()
        if not (a or b):
            break
    else:  # pragma: no cover - a fixed point is always reached on real tables
        warnings.warn("protect_table did not reach a fixed point", RuntimeWarning, stacklevel=2)

    # Whole-table check: equations of every sub-table at once.
    equations: list[tuple[int | None, list[int | None], str]] = [(t, list(p), d.replace("_", " ") + " total")
                                                                 for t, p, d in flat]
    for pos in area_slices:
        where = {c: int(i) for c, i in zip(codes[pos], pos)}
        for parent, leaves in hierarchies:
            if parent in where or any(leaf in where for leaf in leaves):
                equations.append((where.get(parent), [where.get(leaf) for leaf in leaves],
                                  labels.get(parent, parent)))
    with _single_thread_blas():
        hopeless = _linear_repair(equations, vals, known, sup, reason, fixed=locked, sensitive=sensitive,
                                  max_rounds=len(cells))
    exposed = [j for j in hopeless if disclosure.primary_suppress(vals[j], low, high)]
    if exposed:
        # Hidden here, but the figures other views publish (``published_elsewhere``, e.g. the
        # measure engine's totals) already give these away: report them so the source is fixed.
        where = "; ".join(", ".join(f"{c}={cells.at[j, c]}" for c in [*keys, *dims]) for j in exposed[:5])
        # The check assumes every equation holds. A parent loaded from its own rows (e.g. a
        # published council figure beside local extracts) need not equal the sum of its members,
        # and a working-out through such an equation gives a wrong number: say so.
        broken = sum(1 for t, parts, _ in equations
                     if t is not None and all(p is not None for p in parts)
                     and np.isfinite(vals[[t, *parts]]).all() and abs(vals[t] - vals[list(parts)].sum()) > 0.5)
        caveat = (f"; {broken} of the {len(equations)} equations used do not hold in this data (a parent area "
                  "loaded from its own rows, not summed from its members), so this may be a false alarm"
                  if broken else "")
        warnings.warn(f"{len(exposed)} small counts can be worked out from figures published elsewhere "
                      f"(not from this table): {where}{caveat}", RuntimeWarning, stacklevel=2)
    cells["suppressed"] = sup
    cells["suppression_reason"] = pd.Series(reason, dtype=object)
    cells.loc[cells["suppressed"], value_col] = np.nan
    return cells[~cells["_pseudo"]].drop(columns="_pseudo").reset_index(drop=True)


def protect_linked(tables: Mapping[str, tuple[pd.DataFrame, Sequence[str]]], shared: str, *,
                   value_col: str, hierarchies, low: float = 1, high: float = 4,
                   group_cols: Sequence[str] = (), area_col: str = "area_code",
                   presuppressed: pd.DataFrame | None = None,
                   published_elsewhere: pd.DataFrame | None = None, max_rounds: int = 6,
                   labels: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Protect several two-way tables that share the totals of one dimension (``shared``).

    Each table is (counts, [shared, other]). A shared total (e.g. plans with autism, all ages)
    suppressed in one table is suppressed in every table, and the tables are protected again until
    they agree. ``presuppressed`` rows name the area, group columns and ``shared`` value, and may
    name a table's other dimension too (``"ALL"`` for its total); a row without it applies to the
    shared totals of every table. ``published_elsewhere`` (see :func:`protect_table`) follows the
    same rule."""
    key = [*group_cols, area_col, shared]

    def for_table(frame: pd.DataFrame | None, dims: Sequence[str], other: str) -> pd.DataFrame | None:
        if frame is None or not len(frame):
            return None
        f = frame.copy()
        f[shared] = f[shared].astype(str)
        f[other] = f[other].fillna(ALL).astype(str) if other in f.columns else ALL
        extra_dims = [c for c in f.columns if c not in {*key, other}]
        if extra_dims:  # rows naming another table's dimension apply to that table only
            f = f[f[extra_dims].isna().all(axis=1)]
        return f[[*key, other]]
    cells_pre = presuppressed.copy() if presuppressed is not None else pd.DataFrame(columns=key)
    cells_pre[shared] = cells_pre[shared].astype(str)
    margins = pd.DataFrame(columns=key)
    out: dict[str, pd.DataFrame] = {}
    for _ in range(max_rounds):
        found = []
        for name, (counts, dims) in tables.items():
            other = [d for d in dims if d != shared][0]
            p = for_table(cells_pre, dims, other)
            parts = [x for x in (p, margins.assign(**{other: ALL})) if x is not None and len(x)]
            p = pd.concat(parts, ignore_index=True) if parts else None
            res = protect_table(counts, dims=dims, value_col=value_col, hierarchies=hierarchies, low=low,
                                high=high, group_cols=group_cols, area_col=area_col,
                                presuppressed=p if p is not None and len(p) else None,
                                published_elsewhere=for_table(published_elsewhere, dims, other), labels=labels)
            out[name] = res
            found.append(res[(res[other] == ALL) & res["suppressed"]][key])
        found_all = pd.concat(found, ignore_index=True).drop_duplicates().astype({shared: str})
        merged = found_all.merge(margins.astype({shared: str}).assign(_k=True), on=key, how="left") \
            if len(margins) else found_all.assign(_k=np.nan)
        new = merged[merged["_k"].isna()][key]
        if new.empty:
            return out
        margins = pd.concat([margins, new], ignore_index=True)
    warnings.warn("protect_linked did not converge; each table is still protected on its own",
                  RuntimeWarning, stacklevel=2)
    return out


def share_within(cells: pd.DataFrame, *, by: str, category: str, value_col: str,
                 other_label: str = "Suppressed (small numbers)") -> pd.DataFrame:
    """Shares of each category within each value of ``by`` (its ``"ALL"`` total included) from a
    protected table.

    Uses the published cells only; when the ``by`` total is published, the cells that are
    suppressed are shown together as ``other_label`` (their sum is already derivable from the
    total, never a single suppressed cell). When the total is suppressed the whole bar is dropped."""
    t = cells
    totals = t[t[category] == ALL].set_index(by)[value_col]
    parts = t[t[category] != ALL]
    rows = []
    for b, g in parts.groupby(by, sort=False):
        total = totals.get(b, np.nan)
        if not np.isfinite(total) or total <= 0:
            continue
        shown = g[g[value_col].notna()]
        for _, r in shown.iterrows():
            rows.append({by: b, category: r[category], value_col: r[value_col],
                         "share": r[value_col] / total * 100, "total": total})
        hidden = total - shown[value_col].sum()
        if g[value_col].isna().any() and hidden > 0:
            rows.append({by: b, category: other_label, value_col: np.nan, "share": hidden / total * 100,
                         "total": total})
    return pd.DataFrame(rows, columns=[by, category, value_col, "share", "total"])
