"""send_metrics.measures.footprints: North against South Cumbria, without Streamlit.

The comparison table and its summary, and the waits by EHC plan status: raw counts protected
before any percentage, the Wilson interval and Newcombe gap checked against published values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.catalogue import measures_by_id
from send_metrics.measures import footprints
from send_metrics.measures.footprints import NORTH, SOUTH

M = measures_by_id()


def _measure_rows(values: dict) -> pd.DataFrame:
    """Measure-table rows: {(measure, area): (value, numerator, denominator, suppressed)}."""
    rows = []
    for (mid, area), (value, num, den, sup) in values.items():
        rows.append({"measure_id": mid, "area_code": area, "period": "2024", "period_label": "2024",
                     "value": value, "lower_95": np.nan, "upper_95": np.nan, "numerator": num,
                     "denominator": den, "suppressed": sup, "area_name": area})
    return pd.DataFrame(rows)


def test_footprint_comparison_compares_north_with_south_only():
    rows = _measure_rows({
        ("timeliness_20wk_ex", NORTH): (80.0, 56, 70, False), ("timeliness_20wk_ex", SOUTH): (60.0, 48, 80, False),
        ("timeliness_20wk_ex", "LOC-EDEN"): (50.0, 10, 20, False),
        ("ehcp_rate_0_25", NORTH): (np.nan, np.nan, 10_000, True),
        ("ehcp_rate_0_25", SOUTH): (30.0, 300, 10_000, False),
    })
    comp = footprints.footprint_comparison(rows, M).set_index("measure_id")
    assert set(comp.index) == {"timeliness_20wk_ex", "ehcp_rate_0_25"}
    t = comp.loc["timeliness_20wk_ex"]
    assert t["gap"] == pytest.approx(20.0)
    # Newcombe (1998) Stat Med 17:873, Table II, method 10: 56/70 vs 48/80 -> 0.0524 to 0.3339.
    assert (t["gap_lower"], t["gap_upper"]) == (pytest.approx(5.24, abs=5e-3), pytest.approx(33.39, abs=5e-3))
    assert t["verdict"] == "a_higher" and t["verdict_text"].startswith("▲ North significantly higher")
    r = comp.loc["ehcp_rate_0_25"]
    assert r["verdict"] == "suppressed" and np.isnan(r["gap"]) and np.isnan(r["value_a"])


def test_footprint_summary_counts_the_tested_measures_of_a_group():
    rows = _measure_rows({
        ("timeliness_20wk_ex", NORTH): (80.0, 56, 70, False), ("timeliness_20wk_ex", SOUTH): (60.0, 48, 80, False),
        ("wait_list_SLT", NORTH): (120, 120, np.nan, False), ("wait_list_SLT", SOUTH): (100, 100, np.nan, False),
    })
    comp = footprints.footprint_comparison(rows, M)
    s = footprints.footprint_summary(comp, footprints.ALL_GROUPS)
    assert s["titles"][0] == "1 of 1 tested measures differ, North vs South"
    assert list(s["tested"]["measure_id"]) == ["timeliness_20wk_ex"]
    assert len(s["data"]) == 2  # counts are in the table, not tested
    assert s["data"].set_index("measure_id").loc["timeliness_20wk_ex", "gap_lower"] == pytest.approx(5.24, abs=0.01)
    assert "1 further measures are counts" in s["sentence"]
    group = M["wait_list_SLT"].group
    only = footprints.footprint_summary(comp, group)
    assert set(only["data"]["measure_id"]) <= {m for m in comp["measure_id"] if M[m].group == group}


def test_percent_ci_is_the_wilson_interval():
    pct, lo, hi = footprints.percent_ci([81, np.nan, 5], [263, 10, 3])
    # Newcombe (1998) Stat Med 17:857, Table I: 81/263, Wilson score interval 0.2553 to 0.3662.
    assert pct[0] == pytest.approx(81 / 263 * 100)
    assert (lo[0], hi[0]) == (pytest.approx(25.53, abs=5e-3), pytest.approx(36.62, abs=5e-3))
    assert np.isnan(pct[1:]).all() and np.isnan(lo[1:]).all()  # missing count; more seen in time than seen


def _activity(seen: dict) -> pd.DataFrame:
    """Raw activity rows: {(service, area, status): (seen, seen within 18 weeks)}."""
    return pd.DataFrame([{"service": s, "area_code": a, "ehcp_status": st, "seen": n, "seen_18": k}
                         for (s, a, st), (n, k) in seen.items()])


def test_pooled_activity_keeps_small_counts_suppressed():
    raw = _activity({
        ("SLT", NORTH, "ehc_plan"): (70, 56), ("SLT", NORTH, "no_ehc_plan"): (300, 200),
        ("SLT", SOUTH, "ehc_plan"): (80, 48), ("SLT", SOUTH, "no_ehc_plan"): (3, 2),
        ("SLT", SOUTH, "all"): (9, 9),  # status not recorded: not a breakdown of its own
    })
    t = footprints.pooled_activity(raw, 1, 4).set_index(["area_code", "ehcp_status"])
    assert "all" not in set(t.index.get_level_values("ehcp_status"))
    south_small = t.loc[(SOUTH, "no_ehc_plan")]
    assert south_small["seen_suppressed"] and np.isnan(south_small["seen"]) and np.isnan(south_small["pct"])
    # With the South's total shown elsewhere, its other status would give the small count away: hidden too.
    assert t.loc[(SOUTH, "ehc_plan"), "seen_suppressed"] and np.isnan(t.loc[(SOUTH, "ehc_plan"), "pct"])
    # The seen-within-18-weeks count of 2 is in the suppression range too.
    assert t.loc[(SOUTH, "no_ehc_plan"), "seen_18_suppressed"]
    north = t.loc[(NORTH, "ehc_plan")]
    assert not north["seen_suppressed"] and north["pct"] == pytest.approx(80.0)
    shown = t[["seen", "seen_18"]].to_numpy(float)
    assert not ((shown >= 1) & (shown <= 4)).any()
    assert footprints.pooled_activity(raw.iloc[:0], 1, 4).empty


def test_activity_gaps_by_newcombe_and_not_compared_when_suppressed():
    raw = _activity({
        ("SLT", NORTH, "ehc_plan"): (70, 56), ("SLT", NORTH, "no_ehc_plan"): (300, 200),
        ("SLT", SOUTH, "ehc_plan"): (80, 48), ("SLT", SOUTH, "no_ehc_plan"): (3, 2),
        ("OT", NORTH, "ehc_plan"): (70, 56), ("OT", NORTH, "no_ehc_plan"): (50, 40),
        ("OT", SOUTH, "ehc_plan"): (80, 48), ("OT", SOUTH, "no_ehc_plan"): (60, 40),
    })
    t, gaps = footprints.activity_gaps(footprints.pooled_activity(raw, 1, 4))
    assert list(t["footprint"].unique()) == ["North Cumbria", "South Cumbria"]
    g = gaps.set_index("category")
    ot = g.loc["Occupational therapy: with an EHC plan"]
    assert ot["gap"] == pytest.approx(20.0)
    assert (ot["gap_lower"], ot["gap_upper"]) == (pytest.approx(5.24, abs=5e-3), pytest.approx(33.39, abs=5e-3))
    assert ot["verdict"] == "▲ North significantly higher (better)"
    slt = g.loc["Speech and language therapy: no EHC plan"]
    assert slt["verdict"].startswith("✕ Not compared") and np.isnan(slt["gap"])
    s = footprints.waits_summary(t, gaps, "2024-01-01", "2024-12-01")
    assert "Jan 2024 to Dec 2024" in s["sentence"]
    assert "bars are suppressed (small numbers) and not drawn" in s["sentence"]
    assert (s["chart"]["ehcp_status"] != "ALL").all()
    assert s["titles"][0].startswith("North and South differ significantly for")


def test_twelve_months_ends_with_the_latest_month_of_the_year():
    months = ["2023-11-01", "2024-03-01", "2024-12-01", "2025-01-01"]
    assert footprints.twelve_months(months, "2024") == ("2024-01-01", "2024-12-01")
    assert footprints.twelve_months(months, "2022") is None


def test_coverage_table_keeps_the_order_asked_for():
    areas = pd.DataFrame({"area_code": ["B", "A", "C"], "area_name": ["Bee", "Ay", "Cee"],
                          "area_level": ["council"] * 3, "coverage_note": ["b", None, "c"]})
    out = footprints.coverage_table(areas, ["A", "B"])
    assert list(out["Area"]) == ["Ay", "Bee"] and list(out["Coverage"]) == ["", "b"]
