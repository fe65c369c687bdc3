"""The Needs and demand page's analyses without a page (send_metrics.measures.needs_view): the need
mix, the comparison with England, need by age band and setting from protected cells, and the
projection with its backtest. On small tables made here and on the demo load. No Streamlit here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from send_metrics.measures import breakdowns, needs_view
from send_metrics.measures.needs_view import NEED_LABEL, SUPPRESSED


def _md(text: str) -> str:
    return f"<{text}>"  # shows where the caller's Markdown escaping is applied


def test_wrap_and_census_years():
    assert needs_view.wrap("Mainstream") == "Mainstream"
    assert needs_view.wrap("Independent or non-maintained") == "Independent or<br>non-maintained"
    years = needs_view.census_years(["A", "A", "B", "A"], ["2024-01-01", "2023-01-01", "2025", "2024"])
    assert years == {"A": ("2023", "2024"), "B": ("2025",)}


def _shares(rows):
    return pd.DataFrame([{"area_code": "X", "measure_id": f"need_share_{n}", "period": p, "value": v}
                         for p, n, v in rows])


def test_need_mix_groups_hidden_needs():
    table = _shares([("2024", "ASD", 30.0), ("2024", "SLCN", 20.0), ("2024", "SEMH", 15.0), ("2024", "MLD", 10.0),
                     ("2024", "SLD", 5.0), ("2025", "ASD", 35.0), ("2025", "SLCN", 20.0), ("2025", "SEMH", np.nan),
                     ("2025", "MLD", 10.0), ("2025", "SLD", 5.0)])
    s = needs_view.need_mix(table, "X", "Xshire")
    assert s.message is None
    last = s.data[s.data["year"] == "2025"]
    assert last["share"].sum() == pytest.approx(100)
    assert needs_view.OTHER_OR_SUPPRESSED in set(last["need"]) and NEED_LABEL["SEMH"] not in set(last["need"])
    first = s.data[s.data["year"] == "2024"]
    assert first.set_index("need").loc[NEED_LABEL["OTHER"], "share"] == pytest.approx(20)
    assert s.titles[0] == "Autism is the largest need: 35.0% in 2025"
    assert "Xshire" in s.sentence and "up from 30.0% in 2024" in s.sentence
    assert needs_view.need_mix(table, "Y", "Y").message == "No primary-need figures for this area."


def test_need_mix_of_the_demo(demo_engine):
    table = demo_engine.table(needs_view.IDS, ["E06000063"])
    s = needs_view.need_mix(table, "E06000063", "Cumberland")
    assert s.message is None and len(s.data)
    assert s.data.groupby("year")["share"].sum().round(6).eq(100).all()
    assert list(s.table.columns) == ["year", "need", "share"] and set(s.columns) == {"year", "need", "share"}


def test_against_england_names_the_largest_differences():
    rows = []
    for i, (n, v, e, sig) in enumerate([("ASD", 40.0, 28.0, "higher"), ("SLCN", 10.0, 20.0, "lower"),
                                        ("SEMH", 20.0, 17.0, "higher"), ("MLD", 5.0, 8.0, "lower"),
                                        ("SLD", 4.0, 3.0, "higher"), ("PD", np.nan, 2.0, "not_compared")]):
        rows.append({"area_code": "X", "measure_id": f"need_share_{n}", "period": "2025-01-01", "value": v,
                     "lower_95": v - 1, "upper_95": v + 1, "england_value": e, "sig_england_95": sig})
    table = pd.DataFrame(rows)
    s = needs_view.against_england(table, "X", "2025", "Xshire", lambda sig: f"[{sig}]")
    assert s.titles[0] == "5 of 6 needs differ from England's mix"
    assert "The 4 largest of the 5 differences:" in s.sentence
    assert s.sentence.index("Autistic") < s.sentence.index("Speech")  # 12 points before 10, then 3 and 3
    assert "Severe learning" not in s.sentence  # the smallest difference (1 point) is not listed
    assert "1 needs are suppressed (small numbers)." in s.sentence
    assert s.table["sig"].tolist()[0] == "[higher]"
    missing = needs_view.against_england(table, "X", "2023", "Xshire", str)
    assert missing.message == "No England need mix is loaded for 2023. Choose 2025 to compare with England."


@pytest.fixture(scope="module")
def age_cells(demo_engine):
    cells = breakdowns.for_year(demo_engine, 2025)
    assert cells, "the demo has the 2025 breakdowns"
    return cells["age"]


def test_need_by_age_discloses_no_small_count(age_cells):
    seen_hidden = False
    for area in ("E06000063", "LOC-EDEN", "LOC-MILLOM"):
        s = needs_view.need_by_group(age_cells, "age", area, "2025", area, _md)
        if s.message:
            assert s.message.startswith(f"Every age band figure for <{area}> is suppressed")
            continue
        if s.data is None:  # every need within every band hidden: the bands' totals alone
            assert not s.table["total"].between(1, 4).any(), area
            continue
        plans = pd.to_numeric(s.table["plans"], errors="coerce")
        assert not plans.between(1, 4).any(), area
        grey = s.table[s.table["need_label"] == SUPPRESSED]
        assert grey["plans"].isna().all()  # a share of the hidden needs together, never a count
        seen_hidden |= len(grey) > 0
        assert s.extra["categories"] == list(needs_view.BREAKDOWNS["age"][1].values())
        for group, g in s.table.groupby("group"):
            assert g["share"].sum() == pytest.approx(100, abs=0.5), (area, group)
    assert seen_hidden, "the demo hides some needs within an age band (else the check above is empty)"


def test_need_by_group_says_which_bars_are_hidden():
    rows = [("0to4", "ALL", np.nan, True), ("5to10", "ALL", 40.0, False), ("5to10", "ASD", 30.0, False),
            ("5to10", "SLCN", 10.0, False), ("0to4", "ASD", np.nan, True), ("ALL", "ALL", 43.0, False)]
    cells = pd.DataFrame([{"area_code": "X", "age_band": b, "need": n, "plans": v, "suppressed": sup}
                          for b, n, v, sup in rows])
    s = needs_view.need_by_group(cells, "age", "X", "2025", "Xshire", _md)
    assert set(s.table["age_band"]) == {"5to10"}
    assert "No bar for Under 5: its total is suppressed" in s.sentence
    assert s.table["total"].tolist() == [40.0, 40.0]


def test_need_by_group_says_not_loaded_rather_than_suppressed():
    cells = pd.DataFrame([{"area_code": "Y", "age_band": "5to10", "need": "ALL", "plans": 40.0, "suppressed": False}])
    s = needs_view.need_by_group(cells, "age", "X", "2025", "Xshire", _md)
    assert s.message == "No age band figures for <Xshire> are loaded for January 2025. Choose another year or area."
    hidden = pd.DataFrame([{"area_code": "X", "age_band": "5to10", "need": "ALL", "plans": np.nan, "suppressed": True}])
    s = needs_view.need_by_group(hidden, "age", "X", "2025", "Xshire", _md)
    assert s.message.startswith("Every age band figure for <Xshire> is suppressed")


def test_need_by_group_gives_the_totals_alone_when_every_need_within_them_is_hidden():
    rows = [("0to4", "ALL", np.nan, True), ("5to10", "ALL", 40.0, False), ("5to10", "ASD", np.nan, True),
            ("5to10", "SLCN", np.nan, True), ("11to15", "ALL", 25.0, False), ("11to15", "ASD", np.nan, True),
            ("11to15", "SLCN", np.nan, True), ("0to4", "ASD", np.nan, True), ("ALL", "ALL", 68.0, False)]
    cells = pd.DataFrame([{"area_code": "X", "age_band": b, "need": n, "plans": v, "suppressed": sup}
                          for b, n, v, sup in rows])
    s = needs_view.need_by_group(cells, "age", "X", "2025", "Xshire", _md)
    assert s.data is None and s.message is None  # no chart of grey bars, but not nothing either
    assert s.table.to_dict("list") == {"group": ["Aged 5 to 10", "Aged 11 to 15"], "total": [40.0, 25.0]}
    assert s.sentence.startswith("No primary need within each age band of Xshire's EHC plans can be shown")
    assert "No row for Under 5: its total is suppressed" in s.sentence
    assert s.columns == {"group": "Age band", "total": "Plans in the age band"}


def test_projection_of_the_demo(demo_engine):
    table = demo_engine.table(needs_view.PROJECTION_IDS, ["E06000063"])
    hist, proj, test = needs_view.projection(table, demo_engine, "loglinear")
    assert set(hist["group"]) >= {"ALL", "ASD"} and not hist["count"].between(1, 4).any()
    s = needs_view.projection_section(proj, test, demo_engine, "ALL", "loglinear", "Cumberland", _md)
    assert s.message is None
    fut = s.data[s.data["kind"] == "projected"]
    assert len(fut) == 5 and (fut["lower_80"] <= fut["value"]).all() and (fut["value"] <= fut["upper_80"]).all()
    assert s.titles[0] == f"About {fut['value'].iloc[-1]:,.0f} EHC plans by {int(fut['year'].iloc[-1])}"
    assert "Policy changes are not in any interval." in s.sentence
    bt = s.extra["backtest"]
    total = bt[bt["Group"] == NEED_LABEL["ALL"]]
    assert total["% inside 80% interval"].isna().all()
    assert (total["Note"] == "interval coverage: the all-council backtest above").all()
    none = needs_view.projection_section(proj.iloc[0:0], test, demo_engine, "ALL", "loglinear", "A & B", _md)
    assert none.message.startswith("No projection for All EHC plans in <A & B>: <no published counts>.")
