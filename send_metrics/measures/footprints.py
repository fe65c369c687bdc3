"""North against South Cumbria: what the Equity page shows for the two health footprints, built
from the localities' counts. No Streamlit here.

* :func:`footprint_comparison` / :func:`footprint_summary` - every measure's gap and ratio, North
  against South (:mod:`send_metrics.measures.pair_comparison`), with the table, title and sentence
  for one measure group.
* :func:`pooled_activity` / :func:`activity_gaps` / :func:`waits_summary` - the share of children
  seen within 18 weeks over twelve months pooled, by service and EHC plan status: raw counts
  protected by :func:`send_metrics.measures.table_protection.protect_table` before any percentage is
  taken, then the North - South gap by Newcombe's method.
* :func:`coverage_table` - what each area really covers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from send_metrics.contract import codes
from send_metrics.catalogue import Measure
from send_metrics.measures import pair_comparison
from send_metrics.measures.pair_comparison import COMPARE_INPUT
from send_metrics.measures.table_protection import protect_table
from send_metrics.stats import comparisons, disclosure, intervals

NORTH = "HF-NORTH-CUMBRIA"
SOUTH = "HF-SOUTH-CUMBRIA"
FOOTPRINT_NAME = {NORTH: "North Cumbria", SOUTH: "South Cumbria"}
STATUS_LABEL = {"ehc_plan": "with an EHC plan", "no_ehc_plan": "no EHC plan", "ALL": "all children",
                "all": "status not recorded"}
ALL_GROUPS = "All groups"
COVERAGE_NOTE = (
    "**Which footprint each figure covers.** *North Cumbria* is Allerdale, Carlisle, Copeland "
    "without the Millom area, and Eden (exactly NHS sub-ICB 01H). *South Cumbria* is "
    "Barrow-in-Furness, South Lakeland and the Millom area. Every North and South figure on this "
    "page is built by adding up the localities' counts from local extracts. Council-level DfE "
    "data (the published benchmarks) **cannot split Millom** from Cumberland, nor Eden from "
    "Westmorland and Furness, so it is never used for a footprint. NHS figures published for "
    "**sub-ICB 01K include Lancaster** district and three Craven LSOAs: they are not South "
    "Cumbria and are not used here.")
TESTED = ["a_higher", "a_lower", "no_difference"]

FOOTPRINT_SOURCE = ("Local extracts summed from localities (measure engine); intervals: Newcombe (difference of "
                    "proportions), MOVER (difference of rates, and of averages on their Student's t intervals) and "
                    "MOVER-R (ratios) on the same intervals, so the verdict agrees with both.")
FOOTPRINT_COLUMNS = {"measure_title": "Measure", "period_label": "Period", "value_a": "North",
                     "lower_a": "North 95% lower", "upper_a": "North 95% upper", "value_b": "South",
                     "lower_b": "South 95% lower", "upper_b": "South 95% upper", "gap": "Gap (North − South)",
                     "gap_lower": "Gap 95% lower", "gap_upper": "Gap 95% upper", "gap_unit": "Gap unit",
                     "ratio": "Ratio (North ÷ South)", "ratio_lower": "Ratio 95% lower",
                     "ratio_upper": "Ratio 95% upper", "verdict_text": "Verdict", "method": "Method"}
FOOTPRINT_VERDICT_NAMES = {"a_higher": "▲ North significantly higher", "a_lower": "▼ North significantly lower",
                           "no_difference": "● No significant difference"}
WAITS_SOURCE = ("Provider activity extracts by locality, summed to footprints; disclosure control applied to the "
                "counts by EHCP status.")
WAITS_COLUMNS = {"service_label": "Service", "status_label": "EHCP status", "footprint": "Footprint",
                 "seen": "Seen", "seen_18": "Seen within 18 weeks", "pct": "% within 18 weeks",
                 "lower": "95% lower", "upper": "95% upper", "gap": "Gap North − South (points)",
                 "gap_lower": "Gap 95% lower", "gap_upper": "Gap 95% upper", "verdict": "Verdict"}


def no_footprints_text(nhs_shown: bool) -> str:
    """What the page says when no footprint figure is loaded (``nhs_shown``: the NHS comparison is above)."""
    return ("No footprint figures (North or South Cumbria built from localities) are loaded: "
            + ("the NHS comparison above uses the providers' and sub-ICBs' own published figures. " if nhs_shown
               else "") + "Load locality-level extracts for the footprint and locality views.")


def coverage_table(areas: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """What each of ``codes`` covers, in that order, from the areas table."""
    notes = areas[areas["area_code"].isin(codes)].copy()
    notes["_o"] = notes["area_code"].map({c: i for i, c in enumerate(codes)})
    notes = notes.sort_values("_o")[["area_name", "area_level", "coverage_note"]]
    return notes.rename(columns={"area_name": "Area", "area_level": "Level", "coverage_note": "Coverage"}).fillna("")


# -- every measure, North against South -------------------------------------------------------
def footprint_comparison(rows: pd.DataFrame, measures: Mapping[str, Measure]) -> pd.DataFrame:
    """:func:`pair_comparison.compare_pair` of North against South for the rows of a year
    (:func:`pair_comparison.rows_for_year`)."""
    pair = rows.loc[rows["area_code"].isin([NORTH, SOUTH]), COMPARE_INPUT]
    return pair_comparison.compare_pair(pair, NORTH, SOUTH, measures, "North", "South")


def footprint_summary(comp: pd.DataFrame, group: str) -> dict:
    """The comparison for one measure group (or :data:`ALL_GROUPS`): the tested rows (drawn), the
    rounded table, the title candidates and the sentence."""
    shown = comp if group == ALL_GROUPS else comp[comp["group"] == group]
    tested = shown[shown["verdict"].isin(TESTED)]
    n_sig = int(tested["verdict"].isin(["a_higher", "a_lower"]).sum())
    data = shown.assign(**{c: shown[c].round(2) for c in ["value_a", "lower_a", "upper_a", "value_b", "lower_b",
                                                            "upper_b", "gap", "gap_lower", "gap_upper",
                                                            "ratio", "ratio_lower", "ratio_upper"]})
    sentence = pair_comparison.comparison_sentence(shown, "North Cumbria", "South Cumbria")
    sentence += (" Each row's symbol and words give the verdict: ▲ North significantly higher, ▼ North "
                 "significantly lower, ● no significant difference (95% intervals). Counts, medians "
                 "and averages without the pupils' standard deviation have no interval and are in the table only.")
    return {"tested": tested, "data": data, "sentence": sentence,
            "titles": (f"{n_sig} of {len(tested)} tested measures differ, North vs South",
                       "How North and South Cumbria compare")}


# -- waiting times by EHC plan status, twelve months pooled -------------------------------------
def percent_ci(num, den) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentage with a Wilson 95% interval; NaN where either count is missing."""
    x = np.asarray(num, dtype=float)
    n = np.asarray(den, dtype=float)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x <= n)
    xs, ns = np.where(ok, x, 0.0), np.where(ok, n, 1.0)
    lo, hi = intervals.wilson_ci(xs, ns, 0.95)
    pct = np.where(ok, xs / ns * 100, np.nan)
    return pct, np.where(ok, np.asarray(lo) * 100, np.nan), np.where(ok, np.asarray(hi) * 100, np.nan)


def twelve_months(months: Sequence[str], year: str) -> tuple[str, str] | None:
    """The first and last month (ISO dates) of the twelve months ending with the latest of ``months``
    in or before ``year``; None when there is none."""
    in_year = [p for p in months if p[:4] <= year]
    if not in_year:
        return None
    last = in_year[-1]
    return (pd.Timestamp(last) - pd.DateOffset(months=11)).strftime("%Y-%m-%d"), last


def pooled_activity(raw: pd.DataFrame, low: float, high: float) -> pd.DataFrame:
    """Children seen, and seen within 18 weeks, by service, footprint and EHC plan status over the
    months of ``raw`` (sql/equity_activity.sql), each count protected, with the percentage seen
    within 18 weeks and its Wilson interval (NaN where a count is suppressed)."""
    if raw.empty:
        return pd.DataFrame()
    raw = raw[raw["ehcp_status"].isin(["ehc_plan", "no_ehc_plan"])]
    out = []
    # Twelve-month totals for all children can be added up from the engine's monthly figures.
    shown = raw[["service", "area_code"]].drop_duplicates().assign(ehcp_status="ALL")
    # Footprints are below council level: a percentage seen within 18 weeks whose rest (seen later)
    # is a small count, or that is none or all of 5-10 children, is withheld (issue 17.10).
    keys = ["service", "area_code", "ehcp_status"]
    sums = pd.concat([raw.groupby(keys)[["seen", "seen_18"]].sum(min_count=1).reset_index(),
                      raw.groupby(keys[:2])[["seen", "seen_18"]].sum(min_count=1).reset_index()
                      .assign(ehcp_status="ALL")], ignore_index=True)
    comp, group = disclosure.complement_suppress(sums["seen_18"], sums["seen"], low, high)
    rest_small = sums.loc[comp | group, keys].assign(suppression_reason=np.where(
        comp[comp | group], disclosure.complement_reason("complement", low, high),
        disclosure.complement_reason("group", low, high)))
    for col in ("seen", "seen_18"):
        prot = protect_table(raw, dims=["ehcp_status"], value_col=col, hierarchies=[], low=low, high=high,
                             group_cols=["service"], published_elsewhere=shown,
                             presuppressed=rest_small if col == "seen_18" and len(rest_small) else None)
        out.append(prot.set_index(["service", "area_code", "ehcp_status"])[[col, "suppressed"]]
                   .rename(columns={"suppressed": f"{col}_suppressed"}))
    t = out[0].join(out[1], how="outer").reset_index()
    t["pct"], t["lower"], t["upper"] = percent_ci(t["seen_18"], t["seen"])
    return t


def activity_gaps(activity: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`pooled_activity` labelled and ordered by service and status, and the North - South gap
    in points for each (Newcombe), ``✕ Not compared`` where a count is suppressed."""
    if activity.empty:
        return activity, pd.DataFrame()
    t = activity.copy()
    t["service_label"] = t["service"].map(lambda s: codes.SERVICES.get(s, s))
    t["status_label"] = t["ehcp_status"].map(lambda s: STATUS_LABEL.get(s, s))
    t["footprint"] = t["area_code"].map(FOOTPRINT_NAME)
    t["category"] = t["service_label"] + ": " + t["status_label"]
    order = [f"{codes.SERVICES[s]}: {STATUS_LABEL[status]}" for s in codes.SERVICES
             for status in ("ehc_plan", "no_ehc_plan", "ALL")]
    t["_o"] = t["category"].map({c: i for i, c in enumerate(order)})
    t = t.sort_values(["_o", "footprint"])
    north = t[t["area_code"] == NORTH].set_index("category")
    south = t[t["area_code"] == SOUTH].set_index("category")
    rows = []
    for cat in north.index.intersection(south.index):
        a, b = north.loc[cat], south.loc[cat]
        ok = all(pd.notna(v) for v in (a["seen_18"], a["seen"], b["seen_18"], b["seen"]))
        if ok:
            d, lo, hi = comparisons.proportion_difference_ci(a["seen_18"], a["seen"], b["seen_18"], b["seen"])
            verdict = comparisons.equity_verdict(lo, hi, 0.0)
            text = ("● No significant difference" if verdict != "significant" else
                    ("▲ North significantly higher (better)" if d > 0 else "▼ North significantly lower (worse)"))
            rows.append({"category": cat, "gap": d * 100, "gap_lower": lo * 100, "gap_upper": hi * 100,
                         "verdict": text})
        else:
            rows.append({"category": cat, "gap": np.nan, "gap_lower": np.nan, "gap_upper": np.nan,
                         "verdict": "✕ Not compared: suppressed (small numbers)"})
    gaps = pd.DataFrame(rows, columns=["category", "gap", "gap_lower", "gap_upper", "verdict"])
    return t, gaps


def waits_summary(t: pd.DataFrame, gaps: pd.DataFrame, first: str, last: str) -> dict:
    """The bars (by status, ``ALL`` left out), title candidates, sentence and rounded table of
    :func:`activity_gaps` for the twelve months ``first`` to ``last``."""
    period_text = f"{pd.Timestamp(first):%b %Y} to {pd.Timestamp(last):%b %Y}"
    chart = t[t["ehcp_status"] != "ALL"]
    split = gaps[~gaps["category"].str.endswith(STATUS_LABEL["ALL"])]
    sig = split[split["verdict"].str.contains("significantly")]  # the groups the title counts, all listed
    parts = [f"Share of children seen for a first appointment within 18 weeks of referral, {period_text} "
             "(12 months pooled), by service and whether the child has an EHC plan."]
    for _, g in sig.iterrows():
        parts.append(f"{g['category']}: North minus South {g['gap']:+.1f} points (95% CI {g['gap_lower']:+.1f} "
                     f"to {g['gap_upper']:+.1f}): {g['verdict'][2:]}.")
    if sig.empty:
        parts.append("No difference between North and South is statistically significant.")
    n_sup = int(chart["pct"].isna().sum())
    if n_sup:
        parts.append(f"{n_sup} bars are suppressed (small numbers) and not drawn.")
    data = t.merge(gaps, on="category", how="left")
    data = data.assign(**{c: data[c].round(1) for c in ("pct", "lower", "upper", "gap", "gap_lower", "gap_upper")})
    return {"chart": chart, "data": data, "sentence": " ".join(parts),
            "titles": (f"North and South differ significantly for {len(sig)} of {len(split)} groups",
                       "Waits by service and EHC plan status")}
