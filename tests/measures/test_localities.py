"""send_metrics.measures.localities: the seven localities and a locality against the rest of its
council, without Streamlit (ranking sentence, map labels, rest-of-council arithmetic and tables)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.catalogue import measures_by_id
from send_metrics.measures import localities
from send_metrics.measures.footprints import NORTH, SOUTH

M = measures_by_id()
LOCS = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN", "LOC-BARROW-FURNESS",
        "LOC-SOUTH-LAKELAND"]
SIG = {"better": "▲ Better", "worse": "▼ Worse", "similar": "● Similar"}


def _year_rows(mid: str, values: dict, england: float = 50.0) -> pd.DataFrame:
    """One measure's rows for a year: {area: (value, numerator, denominator)}; None value = suppressed."""
    rows = []
    for area, (v, x, n) in values.items():
        sup = v is None
        rows.append({"measure_id": mid, "area_code": area, "area_name": area.title(), "period": "2024",
                     "period_label": "2024", "value": np.nan if sup else v, "numerator": np.nan if sup else x,
                     "denominator": n, "lower_95": np.nan if sup else v - 5, "upper_95": np.nan if sup else v + 5,
                     "suppressed": sup, "suppression_reason": "small numbers" if sup else None,
                     "england_value": england, "sig_england_95": "not_compared" if sup else "better",
                     "coverage_note": ""})
    return pd.DataFrame(rows)


def test_locality_summary_ranks_the_focus_and_counts_the_suppressed():
    m = M["timeliness_20wk_ex"]
    vals = {c: (40.0 + 5 * i, 40 + 5 * i, 100) for i, c in enumerate(LOCS[:6])}
    vals["LOC-SOUTH-LAKELAND"] = (None, 2, 3)
    vals[NORTH], vals[SOUTH] = (55.0, 550, 1000), (60.0, 600, 1000)
    rows = _year_rows(m.id, vals)
    s = localities.locality_summary(rows, m, LOCS, "LOC-MILLOM", "Millom area", "2024", "% issued", SIG.get)
    assert len(s["frame"]) == 7 and set(s["frame"]["footprint"]) == {"North Cumbria", "South Cumbria"}
    assert s["frame"].set_index("area_code").loc["LOC-MILLOM", "label"] == "Millom area (South)"
    # Millom (55) is below Eden (60) and Barrow (65): third highest of the six shown.
    assert s["titles"][1] == "Millom area: 3rd highest of 6 localities"
    assert s["highlight"] == "Millom area (South)" and s["england"] == 50.0
    assert "1 locality figures are suppressed (small numbers) and not drawn." in s["sentence"]
    assert "significantly better than England" in s["sentence"]
    assert s["footprints"].to_dict() == {NORTH: 55.0, SOUTH: 60.0}
    hidden = s["data"].set_index("area_code").loc["LOC-SOUTH-LAKELAND"]
    assert np.isnan(hidden["value"]) and hidden["note"] == "small numbers"
    assert localities.locality_summary(rows, M["ehcp_rate_0_25"], LOCS, "LOC-MILLOM", "M", "2024", "x",
                                       SIG.get)["frame"].empty


def test_suppressed_focus_is_not_highlighted():
    m = M["timeliness_20wk_ex"]
    rows = _year_rows(m.id, {"LOC-MILLOM": (None, 2, 3), "LOC-EDEN": (60.0, 60, 100)})
    s = localities.locality_summary(rows, m, LOCS, "LOC-MILLOM", "Millom area", "2024", "% issued", SIG.get)
    assert s["highlight"] is None and s["titles"][0] == "Seven localities compared, 2024"


def test_map_summary_says_suppressed_never_a_number():
    m = M["timeliness_20wk_ex"]
    rows = _year_rows(m.id, {"LOC-MILLOM": (None, 2, 3), "LOC-EDEN": (60.0, 60, 100), "LOC-CARLISLE": (70.0, 7, 10)})
    loc = localities.locality_frame(rows, m, LOCS)
    s = localities.map_summary(loc, m, True, "2024", "% issued",
                               lambda suppressed: "suppressed (small numbers)" if suppressed else "not available")
    d = s["data"].set_index("area_code")
    assert d.loc["LOC-MILLOM", "value_text"] == "suppressed"
    assert d.loc["LOC-MILLOM", "label"] == "Millom area<br>suppressed"
    assert s["titles"][0] == "Highest in Carlisle, lowest in Eden"
    assert s["scale"] == (0.0, 100.0) and s["sentence"].startswith("Map of the seven localities")
    assert localities.map_summary(loc, m, False, "2024", "x", str)["sentence"].startswith("Schematic")


def test_map_scale_is_anchored_at_zero():
    assert localities.map_scale(M["timeliness_20wk_ex"], pd.Series([78.0, 81.5])) == (0.0, 100.0)
    assert localities.map_scale(M["ehcp_rate_0_25"], pd.Series([20.0, 40.0, np.nan])) == (0.0, pytest.approx(44.0))


def test_council_of_finds_the_council_holding_the_locality():
    hier = [("HF-SOUTH-CUMBRIA", ["LOC-MILLOM"]), ("E06000063", ["LOC-ALLERDALE", "LOC-MILLOM"])]
    levels = {"E06000063": "council", "HF-SOUTH-CUMBRIA": "health_footprint"}
    assert localities.council_of("LOC-MILLOM", hier, levels) == "E06000063"
    assert localities.council_of("LOC-EDEN", hier, levels) is None


def test_rest_of_council_is_compared_and_small_rests_stay_suppressed():
    rows = pd.concat([
        _year_rows("timeliness_20wk_ex", {"LOC-MILLOM": (50.0, 10, 20), "E06000063": (45.0, 100, 220)}),
        _year_rows("new_plans", {"LOC-MILLOM": (318, 318, np.nan), "E06000063": (320, 320, np.nan)}),
    ], ignore_index=True)
    rest, comp = localities.rest_comparison(rows, "LOC-MILLOM", "E06000063", M, 1, 4, "Millom", "Rest of Cumberland")
    r = rest.set_index("measure_id")
    assert r.loc["timeliness_20wk_ex", "numerator"] == 90 and r.loc["timeliness_20wk_ex", "denominator"] == 200
    assert r.loc["timeliness_20wk_ex", "value"] == pytest.approx(45.0)
    # 320 - 318 = 2 plans in the rest of the council: a small count, suppressed again.
    assert bool(r.loc["new_plans", "suppressed"]) and np.isnan(r.loc["new_plans", "value"])
    c = comp.set_index("measure_id")
    assert c.loc["timeliness_20wk_ex", "gap"] == pytest.approx(5.0)
    assert c.loc["new_plans", "verdict"] == "suppressed"
    s = localities.rest_summary(comp, rest, rows, M["timeliness_20wk_ex"], "E06000063", "Millom", "Cumberland",
                                "Rest of Cumberland", "2024")
    assert s["drawable"] and s["info"] is None
    assert list(s["bars"]["value"]) == [50.0, pytest.approx(45.0), 45.0]
    assert "Gap +5.0 percentage points" in s["sentence"]
    hidden = localities.rest_summary(comp, rest, rows, M["new_plans"], "E06000063", "Millom", "Cumberland",
                                     "Rest of Cumberland", "2024")
    assert not hidden["drawable"] and hidden["info"].startswith("The comparison is not shown")
    median = localities.rest_summary(comp, rest, rows, M["wait_median_SLT"], "E06000063", "Millom", "Cumberland",
                                     "Rest of Cumberland", "2024")
    assert "cannot be split by subtracting" in median["info"] and median["all_measures"]
    table = localities.all_measures_table(comp, "Millom", "Rest of Cumberland")
    assert list(table.columns[:4]) == ["Measure", "Period", "Millom", "Rest of Cumberland"]
    assert table["Rest of Cumberland"].isna().sum() == 1  # the suppressed rest is never shown


def test_default_measure_prefers_the_telling_ones():
    assert localities.default_measure(["a", "wait_18wk_SLT", "wait_median_SLT"]) == "wait_median_SLT"
    assert localities.default_measure(["a", "b"]) == "a"
