"""The Data explorer's computation without a page (send_metrics.measures.explore,
explore_protection, data_quality; send_metrics.present.explore_charts): the protected sums of the
demo load, the suppression that cannot be undone from any other view, the view's rows, labels and
download, the data-quality tables' masking of small counts. No Streamlit is imported here.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from send_metrics.measures import data_quality, explore
from send_metrics.measures.explore_protection import (ALL, blank_suppressed, leaf_vectors, proven_protect,
                                                      recoverable)
from send_metrics.present import explore_charts
from send_metrics.present.export import safe_csv_bytes

from conftest import ROOT

CUMBRIA = ["E06000063", "E06000064", "HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA", "E10000006", "LOC-ALLERDALE",
           "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]


def test_no_streamlit_behind_the_explorer():
    code = ("import sys; import send_metrics.measures.explore, send_metrics.measures.data_quality, "
            "send_metrics.measures.needs_view, send_metrics.present.explore_charts; "
            "assert 'streamlit' not in sys.modules, 'streamlit imported'")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


# -- the protected grain of the demo load ---------------------------------------------------------
@pytest.fixture(scope="module")
def grains(demo_engine, demo_config):
    """The demo caseload protected by primary need, and its coarser grain (areas only)."""
    low, high = demo_config.suppress_min, demo_config.suppress_max
    hier = demo_engine.hierarchies()
    below = demo_engine.below_council_areas()
    fine = explore.protected_table(demo_engine.db, "ehcp_caseload", ("primary_need",), low, high, hier,
                                   below_council=below)
    coarse = explore.protected_table(demo_engine.db, "ehcp_caseload", (), low, high, hier, below_council=below)
    return fine, coarse, hier, (low, high)


def test_every_small_sum_is_suppressed(grains):
    fine, coarse, _, (low, high) = grains
    assert (low, high) == (1, 4)
    for tab in (fine, coarse):
        values = tab["ehc_plans"].to_numpy(dtype=float)
        flag = tab["ehc_plans__suppressed"].to_numpy(dtype=bool)
        assert ((values >= low) & (values <= high)).any() or tab is coarse
        assert flag[(values >= low) & (values <= high)].all(), "every small count is suppressed"
    # and more than the small ones: the complements that stop them being worked out
    values = fine["ehc_plans"].to_numpy(dtype=float)
    flag = fine["ehc_plans__suppressed"].to_numpy(dtype=bool)
    assert (flag & (values > high)).any()
    assert set(fine.loc[flag, "ehc_plans__reason"].str.split(":").str[0]) >= {"secondary"}


def _assert_unrecoverable(fine, coarse, hier):
    """No suppressed cell is a linear function of what the explorer shows at this grain and the
    coarser one (area totals over needs), the area hierarchy included."""
    from send_metrics.stats import disclosure
    flag = fine["ehc_plans__suppressed"].to_numpy(dtype=bool)
    cells = fine[["area_code", "year", "primary_need"]].copy()
    cells["count"] = fine["ehc_plans"].to_numpy(dtype=float)
    cells["suppressed"] = flag
    assert disclosure.audit_suppression(cells, hier, group_cols=["year", "primary_need"], check_bounds=False).empty
    for year, g in fine.groupby("year"):
        c = coarse[coarse["year"] == year]
        grid = pd.concat([pd.DataFrame({"area_code": g["area_code"], "primary_need": g["primary_need"],
                                        "value": g["ehc_plans"], "sup": g["ehc_plans__suppressed"]}),
                          pd.DataFrame({"area_code": c["area_code"], "primary_need": ALL,
                                        "value": c["ehc_plans"], "sup": c["ehc_plans__suppressed"]})])
        vec = leaf_vectors(list(grid["area_code"]), sorted(g["primary_need"].unique()), list(grid["primary_need"]),
                           hier)
        vals, sup = grid["value"].to_numpy(dtype=float), grid["sup"].to_numpy(dtype=bool)
        assert not recoverable(vec, ~sup & np.isfinite(vals), sup & np.isfinite(vals)).any(), year


def test_suppression_cannot_be_undone_from_the_coarser_view(grains):
    fine, coarse, hier, _ = grains
    _assert_unrecoverable(fine, coarse, hier)


def test_coarser_grain_is_taken_as_given(demo_engine, grains):
    """The margins of a grain are those of the coarser view passed in (the page's cached one), and
    the grain is protected against that view."""
    fine, coarse, hier, (low, high) = grains
    asked = []

    def coarser(fewer):
        asked.append(fewer)
        return coarse
    again = explore.protected_table(demo_engine.db, "ehcp_caseload", ("primary_need",), low, high, hier, coarser,
                                   below_council=demo_engine.below_council_areas())
    assert asked == [()]
    assert len(again) == len(fine)
    _assert_unrecoverable(again, coarse, hier)


def test_explorer_suppresses_at_least_what_the_engine_does(demo_engine, grains):
    """As served (with the release: a count the measure table withholds is withheld here too)."""
    from send_metrics.measures import release
    _, coarse, _, _ = grains
    coarse = release.explorer_table(demo_engine, "ehcp_caseload", (), coarse)
    eng = demo_engine.table(["ehcp_caseload"])
    merged = eng.merge(coarse, left_on=["area_code", "period"], right_on=["area_code", "year"], how="inner")
    assert len(merged)
    assert (merged["ehc_plans__suppressed"] | ~merged["suppressed"].astype(bool)).all()


def test_too_many_cells(demo_engine, monkeypatch):
    monkeypatch.setattr(explore, "MAX_CELLS", 10)
    with pytest.raises(explore.TooBig, match="choose fewer breakdown columns"):
        explore.protected_table(demo_engine.db, "ehcp_caseload", ("primary_need",), 1, 4,
                                demo_engine.hierarchies(), below_council=demo_engine.below_council_areas())


# -- the view -----------------------------------------------------------------------------------------
def _view(fine, areas, start="2021", end="2025", filters=None):
    sp = explore.spec("ehcp_caseload")
    table = fine.copy()
    table["period_label"] = [explore.period_label(p, False) for p in table[sp.period]]
    labels = {a: a.lower() for a in table["area_code"].unique()}
    return explore.view_rows(table, sp, ("primary_need",), areas, start, end, filters or {}, labels)


def test_view_blanks_suppressed_values_and_names_them(grains):
    fine = grains[0]
    out = _view(fine, CUMBRIA)
    assert list(out.columns) == ["area_name", "area_code", "period", "primary_need", "ehc_plans", "suppressed"]
    values = pd.to_numeric(out["ehc_plans"], errors="coerce")
    assert not values.between(1, 4).any()
    named = out["suppressed"] == "ehc_plans"
    assert named.any() and values[named].isna().all()
    assert set(out["area_code"]) <= set(CUMBRIA) and out["period"].between("2021", "2025").all()
    # needs in the contract's order within an area and period
    order = list(explore.code_labels("primary_need"))
    first = out[(out["area_code"] == "E06000063") & (out["period"] == "2025")]["primary_need"].tolist()
    assert first == sorted(first, key=lambda v: order.index(v) if v in order else len(order))


def test_filters_do_not_change_suppression(grains):
    fine = grains[0]
    one = _view(fine, ["LOC-MILLOM"])
    many = _view(fine, ["LOC-MILLOM", "E06000063", "LOC-CARLISLE"])
    pd.testing.assert_frame_equal(one, many[many["area_code"] == "LOC-MILLOM"].reset_index(drop=True))
    only = _view(fine, ["LOC-MILLOM"], filters={"primary_need": ["ASD"]})
    pd.testing.assert_frame_equal(only, one[one["primary_need"] == "ASD"].reset_index(drop=True))


def test_blank_suppressed():
    df = pd.DataFrame({"a": [3.0, 20.0], "b": [7.0, 2.0], "a__suppressed": [True, False], "a__reason": ["x", None],
                       "b__suppressed": [False, True], "b__reason": [None, "y"]})
    out = blank_suppressed(df, ["a", "b"])
    assert list(out.columns) == ["a", "b", "suppressed"]
    assert np.isnan(out.loc[0, "a"]) and out.loc[0, "b"] == 7 and np.isnan(out.loc[1, "b"])
    assert out["suppressed"].tolist() == ["a", "b"]


def test_csv_download_is_safe():
    out = pd.DataFrame({"area_name": ["=HYPERLINK(\"http://x\")", "Millom area"], "area_code": ["A", "B"],
                        "period": ["2024", "2024"], "ehc_plans": [np.nan, 12.0], "suppressed": ["ehc_plans", ""]})
    text = safe_csv_bytes(explore.csv_frame(out, ["ehc_plans"])).decode("utf-8-sig")
    rows = list(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).itertuples(index=False))
    assert rows[0].area_name.startswith("'=")
    assert rows[0].ehc_plans == "c" and rows[1].ehc_plans == "12"


def test_sql_identifiers_come_from_contract():
    sp = explore.spec("ehcp_caseload")
    with pytest.raises(ValueError):
        explore.grouped_sql(sp, ("primary_need\" ; DROP TABLE x; --",))
    with pytest.raises(ValueError):
        explore.grouped_sql(sp, ("service",))  # not a column of this dataset
    sql = explore.grouped_sql(sp, ("primary_need",))
    assert sql["grouping_sets"] == '("area_code", "year", "primary_need"), ("area_code", "year")'
    assert explore.grouped_sql(explore.spec("benchmarks"), ("measure_id",))["grouping_sets"].count("(") == 1


def test_proven_protect_blocks_recovery_from_totals():
    """A 2 x 2 table with a published total per row: one suppressed cell needs company."""
    hier = [("P", ["A", "B"])]  # areas A and B (leaves), parent P = A + B; values x, y; margins ALL
    areas = ["A", "A", "B", "B", "P", "P", "A", "B", "P"]
    vals = ["x", "y", "x", "y", "x", "y", ALL, ALL, ALL]
    values = np.array([3, 20, 10, 30, 13, 50, 23, 40, 63], dtype=float)
    vec = leaf_vectors(areas, ["x", "y"], vals, hier)
    sup = np.array([True] + [False] * 8)
    fixed = np.array([v == ALL for v in vals])
    assert recoverable(vec, ~sup, sup)[0]  # before: (A,x) = (A,ALL) - (A,y)
    new, ok = proven_protect(vec, values, sup, fixed, 2)
    assert ok
    assert not recoverable(vec, ~new, new).any()
    assert not new[fixed].any(), "published totals are never touched"
    assert new.sum() >= 4  # a cycle: (A,x) (A,y) (B,x) (B,y) or through P


def test_proven_protect_uses_a_small_pattern_across_overlapping_areas():
    """Millom's shape: a locality in one council (C = M + N) but the other footprint (S = M + L),
    with the other council W = L + E and footprint H = N + E. One small count in M is protected by
    the cheapest proven swap (a child moved between two of M's values: M's two cells and the two
    areas built on M, 6 cells), not by a cascade through every area's figures; the published totals
    are never touched."""
    hier = [("C", ["M", "N"]), ("W", ["L", "E"]), ("S", ["M", "L"]), ("H", ["N", "E"])]
    areas, cell_values = [], []
    for a in ["M", "N", "L", "E", "C", "W", "S", "H"]:
        for v in ["x", "y", "z", ALL]:
            areas.append(a)
            cell_values.append(v)
    leaf = {("M", "x"): 3, ("M", "y"): 20, ("M", "z"): 30, ("N", "x"): 40, ("N", "y"): 50, ("N", "z"): 60,
            ("L", "x"): 45, ("L", "y"): 55, ("L", "z"): 65, ("E", "x"): 35, ("E", "y"): 25, ("E", "z"): 15}
    parts = dict(hier)
    values = np.array([sum(leaf[(lf, w)] for lf in parts.get(a, [a]) for w in (["x", "y", "z"] if v == ALL else [v]))
                       for a, v in zip(areas, cell_values)], dtype=float)
    vec = leaf_vectors(areas, ["x", "y", "z"], cell_values, hier)
    sup = np.array([(a, v) == ("M", "x") for a, v in zip(areas, cell_values)])
    fixed = np.array([v == ALL for v in cell_values])
    new, ok = proven_protect(vec, values, sup, fixed, 3, rows=np.array([ord(a) for a in areas]))
    assert ok
    assert not recoverable(vec, ~new, new).any()
    withheld = {(a, v) for a, v, s in zip(areas, cell_values, new) if s}
    assert not new[fixed].any()
    assert len(withheld) <= 6 and not withheld & {(a, v) for a in "NLEWH" for v in "xyz"}, withheld


# -- words --------------------------------------------------------------------------------------------
def test_labels_and_headings():
    assert explore.header("ehc_plans") == "EHC plans"
    assert explore.header("primary_need") == "Primary need"
    assert explore.code_labels("primary_need")["NONE"] == "No SEN"
    assert explore.code_text("primary_need")("ASD").startswith("ASD - ")
    assert explore.code_text("primary_need")("XYZ") == "XYZ"
    assert len(explore.chart_title("EHC plans", ("primary_need", "age_band"), "2021", "2025").split()) <= 10
    assert explore.chart_title("EHC plans", (), "2025", "2025") == "EHC plans, 2025"
    assert explore.period_label("2025-03-01", True) == "2025-03"
    assert explore.download_stem("ehcp_caseload", ("primary_need",), "2021", "2025") == \
        "explorer-ehcp_caseload-by-primary_need-2021-2025"
    cols = explore.table_columns("ehcp_caseload", ("primary_need",), ("ehc_plans",))
    assert [c.name for c in cols] == ["area_name", "area_code", "period", "primary_need_label", "ehc_plans",
                                      "suppressed"]
    assert cols[4].number and cols[4].format == "%.0f"


def test_filter_values_in_code_list_order():
    table = pd.DataFrame({"age_band": ["20to25", "0to4", "11to15", "5to10", "zz"]})
    values, default = explore.filter_values(table, "age_band", required=False)
    assert values == ["0to4", "5to10", "11to15", "20to25", "zz"] and default == []
    assert explore.filter_values(table, "age_band", required=True)[1] == ["0to4"]


def test_area_labels_are_unique():
    areas = pd.DataFrame({"area_code": ["LOC-CARLISLE", "E07000028", "E06000063"],
                          "area_name": ["Carlisle", "Carlisle", "Cumberland"],
                          "area_level": ["locality", "former_district", "council"]})
    table = pd.DataFrame({"area_code": ["E06000063", "LOC-CARLISLE", "E07000028"]})
    options, default, labels = explore.area_options(table, dict(zip(areas["area_code"], areas["area_name"])), areas)
    assert default == ["E06000063"]
    assert labels == {"E06000063": "Cumberland", "LOC-CARLISLE": "Carlisle (locality)",
                      "E07000028": "Carlisle (former district)"}


def test_chart_keeps_the_largest_series_and_leaves_gaps():
    out = pd.DataFrame({"area_name": [f"Area {i}" for i in range(8)], "period": ["2025"] * 8,
                        "ehc_plans": [10.0, 80, 30, np.nan, 50, 60, 70, 20]})
    data, note = explore.chart_series(out, "ehc_plans", ())
    assert len(data) == explore.MAX_SERIES and "6 largest of 8" in note
    assert set(data["series"]) == {"Area 1", "Area 2", "Area 4", "Area 5", "Area 6", "Area 7"}
    sentence = explore.chart_sentence(data, "EHC plans", "EHC plans", (), "2025", "2025", note)
    assert sentence.startswith("EHC plans in 2025, largest at the top.")
    with_gap = out.head(3).assign(series=lambda d: d["area_name"])
    with_gap.loc[0, "ehc_plans"] = np.nan  # a suppressed value: no bar, never a zero
    fig = explore_charts.view_chart(with_gap, "ehc_plans", "EHC plans", monthly=False)
    assert list(fig.data[0].y) == ["Area 2", "Area 1"] and list(fig.data[0].x) == [30, 80]
    over_time = pd.DataFrame({"series": ["A", "A"], "period": ["2024", "2025"], "ehc_plans": [5.0, np.nan]})
    fig = explore_charts.view_chart(over_time, "ehc_plans", "EHC plans", monthly=False)
    line = [t for t in fig.data if t.mode == "lines+markers"][0]
    assert list(line.x) == [2024, 2025] and np.isnan(line.y[1])


# -- data quality ----------------------------------------------------------------------------------
def test_quarantine_small_counts_masked():
    rows = pd.DataFrame({"source_file": ["f.csv", "f.csv"], "dataset": ["ehcp_caseload"] * 2, "source_row": [3, 4],
                         "column_name": ["ehc_plans", "ehc_plans"], "value": ["3", "12"],
                         "reason": ["duplicate key"] * 2,
                         "raw_row": [json.dumps({"area_code": "LOC-MILLOM", "ehc_plans": "3", "_line": 3}),
                                     json.dumps({"area_code": "LOC-MILLOM", "ehc_plans": "12", "_line": 4})]})
    masked = data_quality.mask_small_counts(rows, 1, 4)
    assert masked["value"].tolist() == ["c", "12"]
    assert json.loads(masked.loc[0, "raw_row"])["ehc_plans"] == "c"
    assert json.loads(masked.loc[0, "raw_row"])["_line"] == 3
    assert json.loads(masked.loc[1, "raw_row"])["ehc_plans"] == "12"


def test_data_quality_tables_of_the_demo(demo_engine):
    db = demo_engine.db
    files = data_quality.manifest(db)
    totals = data_quality.manifest_totals(files)
    assert list(totals) == ["Files", "Rows loaded", "Rows quarantined", "Rows superseded", "Files with problems"]
    assert totals["Files"] == len(files) > 0 and totals["Rows loaded"] == int(files["rows_loaded"].sum())
    areas = data_quality.areas_table(db, ("locality",))
    assert len(areas) == 7 and set(areas["area_level"]) == {"locality"}
    counts = data_quality.areas_by_level(data_quality.areas_table(db, ()))
    assert counts["areas"].is_monotonic_increasing
    assert counts.loc[counts["area_level"] == "locality", "areas"].item() == 7
    assert int(counts["areas"].sum()) == len(data_quality.areas_table(db, ()))
    rows, total = data_quality.quarantine(db, None, 1, 4)
    assert total >= len(rows) and len(rows) <= data_quality.QUARANTINE_LIMIT


def test_differing_figures_mask_small_values(monkeypatch):
    cols = ["dataset", "area_code", "area_name", "period", "figure", "edition", "value", "symbol", "cells", "used",
            "source_file", "agree"]
    table = pd.DataFrame([["ehcp_caseload", "LOC-MILLOM", "Millom", "2025", "ehc_plans", e, v, "", 1, u, f, False]
                          for e, v, u, f in [("2025", 3.0, True, "a.csv"), ("2024", 12.0, False, "b.csv")]],
                         columns=cols)
    monkeypatch.setattr(data_quality, "reconciliation", lambda db, differ_only: table)
    differ = data_quality.differing_figures(None, 1, 4)
    assert differ["value"].tolist() == ["c", 12.0]
    assert list(differ.columns) == cols[:-1]
    assert data_quality.figure_count(differ) == 1
