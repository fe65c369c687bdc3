"""The analysis pages (Trends, Equity, Waiting times, Benchmarks, Needs and demand) and the
numbers behind them (send_metrics.measures: pair_comparison, localities, benchmarking,
table_protection; the chart helpers they use).

Page tests run the whole app with Streamlit's AppTest on the demo data in a private store: each
page renders without an exception or error message, its main selectors change what is shown
(read from the plotly JSON in ``el.proto.spec``), a deep link opens the same view, and empty or
missing data gives a friendly message. Unit tests check the gap/ratio statistics, the "rest of
council" arithmetic and the disclosure control of raw breakdowns (no hidden cell can be
recovered by linear algebra). Run with ``python -m pytest tests/pages/test_pages_analysis.py -q``.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

from send_metrics.present import charts, maps
from send_metrics.contract import codes
from send_metrics.stats import comparisons, disclosure, intervals
from send_metrics.measures import benchmarking, localities, pair_comparison, table_protection
from send_metrics.catalogue import measures_by_id

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

TIMEOUT = 240
PAGES = ["trends", "equity", "waiting", "benchmarks", "needs"]


# -- fixtures ------------------------------------------------------------------------------------
def _clear_caches() -> None:
    import streamlit as st
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def demo_env(demo_store, monkeypatch):
    """The app reads the demo data from the session's private store; caches start empty."""
    monkeypatch.setenv("SEND_STORE_DIR", str(demo_store))
    monkeypatch.setenv("SEND_DATA_DIR", str(ROOT / "data"))
    monkeypatch.setenv("SEND_AUTH", "off")
    _clear_caches()
    yield demo_store
    _clear_caches()


def open_page(page: str, params: dict | None = None, deep_link: bool = False) -> AppTest:
    """Run the app and go to a page. With ``deep_link`` the page is the first one opened, with the
    query parameters, as when a shared link is followed."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    if deep_link:
        at.switch_page(f"pages/{page}.py").run()
    else:
        at.run()
        at.switch_page(f"pages/{page}.py").run()
    return at


def specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def plain(text: str) -> str:
    """Markdown as a reader sees it: data text is escaped (backslashes, and a word joiner after ':'
    and '@', see send_metrics.present.safe_text.for_markdown), so compare without them."""
    return re.sub(r"\\(.)", r"\1", str(text)).replace("\u2060", "")


def titles(at: AppTest) -> list[str]:
    return [plain(s.value) for s in at.subheader]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 0, [e.value for e in at.error]


def widget(at: AppTest, key: str):
    for kind in ("selectbox", "multiselect", "radio"):
        for w in getattr(at, kind):
            if w.key == key:
                return w
    raise AssertionError(f"no widget with key {key}")


# -- every page ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_accessible_charts(demo_env, page):
    at = open_page(page)
    assert_clean(at)
    assert at.title[0].value
    charts_ = specs(at)
    assert len(charts_) >= 2, f"{page}: expected charts, got {len(charts_)}"
    # Every chart has an active title of ten words or fewer, a sentence, a table and a CSV download.
    for t in titles(at):
        assert 0 < len(t.split()) <= 10, t
    assert len(at.get("download_button")) >= len(charts_)
    assert any("Synthetic demonstration data" in w.value for w in at.warning)


def test_trends_selectors_change_the_view(demo_env):
    at = open_page("trends")
    assert_clean(at)
    before = specs(at)[0]
    names = {t.get("name") for t in before["data"]}
    assert {"Cumberland", "Westmorland and Furness", "England"} <= names
    widget(at, "areas").set_value(["HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA", "LOC-MILLOM"]).run()
    assert_clean(at)
    names = {t.get("name") for t in specs(at)[0]["data"]}
    assert {"North Cumbria", "South Cumbria", "Millom area"} <= names
    first_title = titles(at)[0]
    widget(at, "measure").set_value("wait_list_SLT").run()
    assert_clean(at)
    assert titles(at)[0] != first_title
    spc_before = specs(at)[1]
    # A rebase date starts a second segment: the table says so and the chart marks it.
    rebase = widget(at, "rebase")
    assert "Jul 2024" in rebase.options  # labels; the value (and URL) is the period
    rebase.set_value("2024-07-01").run()
    assert_clean(at)
    spc_after = specs(at)[1]
    assert spc_after != spc_before
    assert any("Rebase" in json.dumps(s) for s in spc_after["layout"].get("annotations", []))
    table = at.table[-1].value
    assert set(table["Segment"]) == {1, 2}
    assert "Rule that flags the point" in table.columns


def test_trends_empty_selection_is_friendly(demo_env):
    at = open_page("trends")
    widget(at, "areas").set_value([]).run()
    assert_clean(at)
    assert any("Choose at least one area" in i.value for i in at.info)


def test_trends_deep_link(demo_env):
    at = open_page("trends", {"measure": "wait_18wk_SLT", "spc_area": "E06000064"}, deep_link=True)
    assert_clean(at)
    assert widget(at, "measure").value == "wait_18wk_SLT"
    assert widget(at, "spc_area").value == "E06000064"
    assert any("Westmorland and Furness" in t for t in titles(at))


def test_equity_selectors_change_the_view(demo_env):
    at = open_page("equity")
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown)
    assert "cannot split Millom" in text and "01K include Lancaster" in text
    captions = " ".join(c.value for c in at.caption)
    assert ("Office for National Statistics licensed under the Open Government Licence v3.0. Contains OS data "
            "© Crown copyright and database right 2024.") in captions
    before = specs(at)
    widget(at, "measure").set_value("ehcp_rate_0_25").run()
    assert_clean(at)
    after = specs(at)
    assert after[1] != before[1]  # the locality chart
    assert after[2] != before[2]  # the map
    widget(at, "locality").set_value("LOC-EDEN").run()
    assert_clean(at)
    assert any("Eden" in t and "Westmorland and Furness" in t for t in titles(at))
    widget(at, "period").set_value("2023").run()
    assert_clean(at)
    assert specs(at)[0] != after[0]


def test_equity_map_uses_boundaries_offline(demo_env):
    at = open_page("equity")
    spec = specs(at)[2]
    # Drawn as filled outlines (no plotly geo layer, which fetches a basemap from the internet).
    assert all(t.get("type") not in ("choropleth", "choroplethmap", "scattergeo") for t in spec["data"])
    assert sum(1 for t in spec["data"] if t.get("fill") == "toself") >= 7
    labels = " ".join(a["text"] for a in spec["layout"]["annotations"])
    assert "Millom area" in labels and "Eden" in labels


def test_equity_schematic_without_boundaries(demo_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SEND_GEO_DIR", str(tmp_path))
    _clear_caches()
    from send_metrics.db import _databases
    _databases.clear()
    at = open_page("equity")
    assert_clean(at)
    assert any("Schematic" in m.value for m in at.markdown)
    assert any("Office for National Statistics" in c.value for c in at.caption)
    _databases.clear()


def test_equity_deep_link(demo_env):
    at = open_page("equity", {"period": "2024", "locality": "LOC-EDEN", "group": "Waiting times"}, deep_link=True)
    assert_clean(at)
    assert widget(at, "period").value == "2024"
    assert widget(at, "locality").value == "LOC-EDEN"
    assert widget(at, "group").value == "Waiting times"


def test_waiting_selectors_change_the_view(demo_env):
    at = open_page("waiting")
    assert_clean(at)
    before = specs(at)
    widget(at, "service").set_value("AUTISM").run()
    assert_clean(at)
    after = specs(at)
    assert after[0] != before[0] and after[1] != before[1]
    area = widget(at, "area")
    area.set_value("HF-NORTH-CUMBRIA" if area.value != "HF-NORTH-CUMBRIA" else "E06000063").run()
    assert_clean(at)
    assert specs(at)[0] != after[0]
    widget(at, "view").set_value("wait_18wk").run()
    assert_clean(at)
    assert any("Target" in (t.get("name") or "") for t in specs(at)[0]["data"])


@pytest.mark.parametrize("area,service", [("LOC-CARLISLE", "SLT"), ("LOC-MILLOM", "AUTISM"), ("LOC-MILLOM", "OT")])
def test_waiting_bands_show_no_small_counts(demo_env, area, service):
    at = open_page("waiting", {"area": area, "service": service}, deep_link=True)
    assert_clean(at)
    band_tables = [t.value for t in at.table if "Children waiting" in t.value.columns]
    if not band_tables:  # everything hidden for a very small area: it says so
        assert any("suppressed (small numbers)" in i.value for i in at.info)
        return
    counts = pd.to_numeric(band_tables[0]["Children waiting"], errors="coerce").dropna()
    assert len(counts)
    assert not ((counts >= 1) & (counts <= 4)).any(), counts.tolist()


def test_waiting_deep_link(demo_env):
    at = open_page("waiting", {"service": "CAMHS", "area": "E06000064", "view": "wait_median"}, deep_link=True)
    assert_clean(at)
    assert widget(at, "service").value == "CAMHS"
    assert widget(at, "area").value == "E06000064"
    assert widget(at, "view").value == "wait_median"


def test_benchmarks_selectors_change_the_view(demo_env):
    at = open_page("benchmarks")
    assert_clean(at)
    before = specs(at)
    bars = before[0]["data"][0]
    assert "Cumberland" in bars["y"] and "Lincolnshire" in bars["y"]  # a statistical neighbour
    widget(at, "area").set_value("E06000064").run()
    assert_clean(at)
    after = specs(at)
    assert after[0] != before[0]
    widget(at, "measure").set_value("pupils_ehcp_pct").run()
    assert_clean(at)
    assert specs(at)[0] != after[0]


def test_benchmarks_funnel_needs_national_data(demo_env):
    at = open_page("benchmarks", {"measure": "timeliness_20wk_ex", "period": "2024"}, deep_link=True)
    assert_clean(at)
    assert any(t.endswith("99.8% limits") or "99.8% limits" in t for t in titles(at))
    at = open_page("benchmarks", {"measure": "reviews_on_time_pct"}, deep_link=True)
    assert_clean(at)
    assert any("Funnel plot not drawn" in i.value and "Upload" in i.value for i in at.info)


def test_benchmarks_deep_link(demo_env):
    at = open_page("benchmarks", {"area": "E06000064"}, deep_link=True)
    assert_clean(at)
    assert widget(at, "area").value == "E06000064"
    assert any("Westmorland and Furness" in t for t in titles(at))


def test_needs_selectors_change_the_view(demo_env):
    at = open_page("needs")
    assert_clean(at)
    before = specs(at)
    widget(at, "area").set_value("LOC-MILLOM").run()
    assert_clean(at)
    after = specs(at)
    assert after[0] != before[0]
    widget(at, "group").set_value("ASD").run()
    assert_clean(at)
    assert specs(at)[-1] != after[-1]
    assert any("autism" in plain(m.value).lower() and "80% prediction" in plain(m.value) for m in at.markdown)


def test_needs_breakdown_says_which_bars_are_hidden(demo_env, demo_config):
    """A band whose total is suppressed has no bar; the sentence under the chart names it."""
    from send_metrics.measures import release
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    db = Database(demo_config)
    cells = release.needs_year(Engine(db), 2025)  # as the page serves them (own protection plus the release)
    db.close()
    labels = codes.AGE_BANDS
    hidden_somewhere = False
    # Councils and localities (a council's bands can be withheld too, where another output
    # withholds the same count).
    for area in ("E06000063", "E06000064", "LOC-EDEN", "LOC-MILLOM"):
        age = cells["age"][cells["age"]["area_code"] == area]
        hidden = set(age.loc[(age["need"] == "ALL") & (age["age_band"] != "ALL") & age["suppressed"], "age_band"])
        hidden_somewhere |= bool(hidden)
        at = open_page("needs", {"area": area, "period": "2025"}, deep_link=True)
        assert_clean(at)
        text = " ".join(plain(m.value) for m in at.markdown if "within each age band" in plain(m.value))
        assert text, "the age-band chart has its sentence"
        named = re.search(r"No (?:bar|row) for (.*?): (its total is|their totals are) suppressed", text)
        assert (set(named.group(1).split(", ")) if named else set()) == {labels[b] for b in hidden}, (area, text)
    assert hidden_somewhere, "the demo has a band whose total is suppressed (else this test checks nothing)"


def test_needs_deep_link(demo_env):
    at = open_page("needs", {"area": "E06000064", "period": "2024"}, deep_link=True)
    assert_clean(at)
    assert widget(at, "area").value == "E06000064"
    assert widget(at, "period").value == "2024"


@pytest.mark.parametrize("page", PAGES)
def test_pages_without_data_are_friendly(page, tmp_path, monkeypatch):
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("SEND_DATA_DIR", str(empty))
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    _clear_caches()
    at = open_page(page, deep_link=True)
    assert not at.exception
    assert len(at.error) == 0
    assert at.info, "a friendly message is expected"
    _clear_caches()


# -- send_metrics.measures.pair_comparison, localities, benchmarking: gaps and ratios -----------------------
M = measures_by_id()


def _row(value, num, den, suppressed=False, lo=np.nan, hi=np.nan, label="2025"):
    return {"value": value, "numerator": num, "denominator": den, "suppressed": suppressed,
            "lower_95": lo, "upper_95": hi, "period_label": label}


def test_compare_proportions_uses_newcombe_and_mover_ratio():
    m = M["timeliness_20wk_ex"]
    out = pair_comparison.compare_one(m, _row(40.0, 40, 100), _row(60.0, 120, 200), "North", "South")
    d, lo, hi = comparisons.proportion_difference_ci(40, 100, 120, 200)
    assert out["gap"] == pytest.approx(d * 100)
    assert (out["gap_lower"], out["gap_upper"]) == pytest.approx((lo * 100, hi * 100))
    la, ua = intervals.wilson_ci(40, 100)
    lb, ub = intervals.wilson_ci(120, 200)
    r, rlo, rhi = comparisons.mover_ratio_ci(0.4, la, ua, 0.6, lb, ub)
    assert (out["ratio"], out["ratio_lower"], out["ratio_upper"]) == pytest.approx((r, rlo, rhi))
    assert out["verdict"] == "a_lower"
    assert out["verdict_text"] == "▼ North significantly lower (worse)"  # higher is better


def test_compare_rates_uses_rate_ratio():
    m = M["ehcp_rate_0_25"]
    out = pair_comparison.compare_one(m, _row(30.0, 300, 10_000), _row(30.3, 303, 10_000))
    la, ua = intervals.rate_ci(300, 10_000, 1000)
    lb, ub = intervals.rate_ci(303, 10_000, 1000)
    r, rlo, rhi = comparisons.mover_ratio_ci(30.0, la, ua, 30.3, lb, ub)
    assert (out["ratio"], out["ratio_lower"], out["ratio_upper"]) == pytest.approx((r, rlo, rhi))
    assert out["verdict"] == "no_difference"
    assert out["verdict_text"].startswith("●")


def test_compare_suppressed_and_counts_are_not_tested():
    out = pair_comparison.compare_one(M["timeliness_20wk_ex"], _row(np.nan, np.nan, 20, suppressed=True),
                                      _row(50, 10, 20))
    assert out["verdict"] == "suppressed" and out["verdict_text"].startswith("✕")
    assert math.isnan(out["gap"])
    # Issue 17 point 1: counts of areas of different size are never compared (no gap, no ratio).
    out = pair_comparison.compare_one(M["wait_list_SLT"], _row(120, 120, np.nan), _row(100, 100, np.nan))
    assert out["verdict"] == "not_compared" and math.isnan(out["gap"]) and math.isnan(out["ratio"])
    assert out["verdict_text"].startswith("– Not compared")
    out = pair_comparison.compare_one(M["new_plans"], _row(318, 318, np.nan), _row(1389, 1389, np.nan), "Millom",
                                      "Rest")
    assert out["verdict"] == "not_compared" and math.isnan(out["gap"])


def test_comparison_sentence_counts_the_verdicts():
    table = pd.DataFrame([
        pair_comparison.compare_one(M["timeliness_20wk_ex"], _row(40.0, 40, 100), _row(60.0, 120, 200), "North",
                                    "South"),
        pair_comparison.compare_one(M["ehcp_rate_0_25"], _row(30.0, 300, 10_000), _row(30.3, 303, 10_000), "North",
                                    "South"),
        pair_comparison.compare_one(M["wait_list_SLT"], _row(120, 120, np.nan), _row(100, 100, np.nan), "North",
                                    "South"),
    ])
    text = pair_comparison.comparison_sentence(table, "North Cumbria", "South Cumbria")
    assert text.startswith("Of 2 measures with an interval, 1 differ")
    assert "worse on 1" in text and "1 further measures" in text


def test_rest_of_parent_subtracts_and_suppresses():
    m = M["timeliness_20wk_ex"]
    rest = localities.rest_of_parent(m, _row(50, 10, 20), _row(45, 100, 220))
    assert rest["numerator"] == 90 and rest["denominator"] == 200
    assert rest["value"] == pytest.approx(45.0)
    lo, hi = intervals.wilson_ci(90, 200)
    assert (rest["lower_95"], rest["upper_95"]) == pytest.approx((lo * 100, hi * 100))
    # Either side suppressed: nothing is derived.
    assert localities.rest_of_parent(m, _row(np.nan, np.nan, 20, True), _row(45, 100, 220))["suppressed"]
    # A derived small count is itself suppressed.
    small = localities.rest_of_parent(m, _row(50, 97, 200), _row(45, 100, 220))
    assert small["suppressed"] and math.isnan(small["value"]) and math.isnan(small["numerator"])
    # Medians cannot be split by subtraction.
    assert math.isnan(localities.rest_of_parent(M["wait_median_SLT"], _row(5, 50, np.nan),
                                                _row(6, 80, np.nan))["value"])


def test_rows_for_year_takes_latest_month_of_the_year():
    t = pd.DataFrame({"measure_id": ["wait_list_SLT"] * 3 + ["new_plans"] * 2,
                      "area_code": ["A"] * 5,
                      "period": ["2024-11-01", "2024-12-01", "2025-01-01", "2024", "2025"],
                      "value": [1, 2, 3, 4, 5]})
    out = pair_comparison.rows_for_year(t, "2024", M).set_index("measure_id")["value"].to_dict()
    assert out == {"wait_list_SLT": 2, "new_plans": 4}


def test_comparators_and_funnel():
    m = M["timeliness_20wk_ex"]
    loaded = pd.DataFrame([{"area_code": "A", "area_name": "Area A", "value": 40.0, "lower_95": 35.0,
                            "upper_95": 45.0, "suppressed": False}])
    published = pd.DataFrame([
        {"area_code": "B", "area_name": "B", "value": 80.0, "numerator": 80, "denominator": 100, "source": "DfE"},
        {"area_code": benchmarking.ENGLAND, "area_name": "England", "value": 50.0, "numerator": 500,
         "denominator": 1000, "source": "DfE"}])
    comp = benchmarking.comparators(loaded, published, m, "A", ["B"])
    assert list(comp["role"]) == ["selected", "neighbour", "England"]
    assert comp.set_index("area_code").loc["A", "sig_england"] == "worse"
    assert comp.set_index("area_code").loc["B", "sig_england"] == "better"
    rng = np.random.default_rng(1)
    den = rng.integers(50, 2000, 30)
    councils = pd.DataFrame({"area_code": [f"C{i}" for i in range(30)], "area_name": [f"C{i}" for i in range(30)],
                             "denominator": den, "numerator": rng.binomial(den, 0.5)})
    councils["value"] = councils["numerator"] / councils["denominator"] * 100
    limits, pos = benchmarking.funnel_frame(councils, m, 50.0)
    assert (limits["lower_998"] <= limits["lower_95"]).all() and (limits["upper_95"] <= limits["upper_998"]).all()
    assert pos["outside_998"].sum() <= 2
    wide, pos_w = benchmarking.funnel_frame(councils, m, 50.0, phi=4.0)
    assert (wide["upper_95"] >= limits["upper_95"] - 1e-9).all()


def test_spine_rows_skip_counts_and_need_comparators():
    area_rows = pd.DataFrame([
        {"measure_id": "timeliness_20wk_ex", "value": 40.0, "england_value": 46.0, "sig_england_95": "worse",
         "period_label": "2024"},
        {"measure_id": "new_plans", "value": 400, "england_value": 90000, "sig_england_95": "lower",
         "period_label": "2024"}])
    loaded = pd.DataFrame(columns=["measure_id", "area_code", "value", "area_level"])
    published = pd.DataFrame({"measure_id": ["timeliness_20wk_ex"] * 4 + ["new_plans"] * 4,
                              "area_code": ["B", "C", "D", "E"] * 2, "area_level": ["council"] * 8,
                              "value": [10, 50, 90, 60, 100, 200, 300, 400]})
    spine = benchmarking.spine_rows(area_rows, loaded, published, M, "A")
    assert list(spine["measure_id"]) == ["timeliness_20wk_ex"]
    assert spine["min"].iloc[0] == 10 and spine["max"].iloc[0] == 90 and spine["n_comparators"].iloc[0] == 4


# -- send_metrics.measures.table_protection: disclosure control of breakdowns -------------------------------
HIER = [("P", ["L1", "L2", "L3"]), ("Q", ["L1", "L2"])]


def _toy_counts(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    leaves = []
    for leaf in ("L1", "L2", "L3"):
        for status in ("yes", "no"):
            for band in ("b1", "b2", "b3"):
                leaves.append({"area_code": leaf, "status": status, "band": band,
                               "n": int(rng.choice([0, 1, 2, 3, 6, 9, 14, 30]))})
    df = pd.DataFrame(leaves)
    parents = []
    for parent, kids in HIER:
        g = df[df["area_code"].isin(kids)].groupby(["status", "band"], as_index=False)["n"].sum()
        parents.append(g.assign(area_code=parent))
    return pd.concat([df, *parents], ignore_index=True).assign(grp="g")


def _audit_frame(merged: pd.DataFrame, low: int = 1, high: int = 4, extra_sensitive=None) -> pd.DataFrame:
    """Cells for disclosure.audit_suppression: every suppressed cell is unknown, and the small
    counts (plus any cell hidden at its source) are the ones that must not be recoverable;
    complementary suppressions carry NaN so they are unknowns, not audit targets."""
    sensitive = merged["true"].between(low, high)
    if extra_sensitive is not None:
        sensitive |= extra_sensitive
    count = merged["true"].where(~merged["suppressed"] | sensitive)
    return merged.assign(count=count)


def _flat_equations(cells: pd.DataFrame) -> list:
    """Every additive relationship of the protected table, with cells named area|status|band."""
    eqs = []
    statuses, bands = ["yes", "no", "ALL"], ["b1", "b2", "b3", "ALL"]
    for parent, kids in HIER:
        for s in statuses:
            for b in bands:
                eqs.append((f"{parent}|{s}|{b}", [f"{k}|{s}|{b}" for k in kids]))
    for a in cells["area_code"].unique():
        for b in bands:
            eqs.append((f"{a}|ALL|{b}", [f"{a}|{s}|{b}" for s in ("yes", "no")]))
        for s in statuses:
            eqs.append((f"{a}|{s}|ALL", [f"{a}|{s}|{b}" for b in ("b1", "b2", "b3")]))
    return eqs


@pytest.mark.parametrize("seed", range(20))
def test_protect_table_leaves_nothing_recoverable(seed):
    counts = _toy_counts(seed)
    out = table_protection.protect_table(counts, dims=["status", "band"], value_col="n", hierarchies=HIER,
                                         group_cols=["grp"])
    truth = table_protection._margins(counts, ["grp", "area_code"], ["status", "band"], "n")
    merged = out.merge(truth.rename(columns={"n": "true"}), on=["grp", "area_code", "status", "band"])
    assert len(merged) == len(out) == 5 * 3 * 4
    # Shown values are the true ones; hidden ones are NaN; nothing in 1-4 is shown.
    shown = merged[~merged["suppressed"]]
    assert (shown["n"] == shown["true"]).all()
    assert merged.loc[merged["suppressed"], "n"].isna().all()
    assert not shown["true"].between(1, 4).any()
    # No hidden cell is a linear combination of the shown ones.
    merged["cell"] = merged["area_code"] + "|" + merged["status"] + "|" + merged["band"]
    bad = disclosure.audit_suppression(_audit_frame(merged), _flat_equations(merged),
                                       value_col="count", area_col="cell", group_cols=["grp"], check_bounds=False)
    assert bad.empty, bad[["cell", "true", "problem"]]


@pytest.mark.parametrize("seed", range(12))
def test_protect_table_respects_presuppressed_and_extra_sums(seed):
    counts = _toy_counts(seed)
    truth = table_protection._margins(counts, ["grp", "area_code"], ["status", "band"], "n")
    # The published "late" count (b2 + b3, all statuses) is protected across areas by its
    # publisher, as the measure engine does; its suppressed cells are passed in.
    late = truth[(truth["status"] == "ALL") & truth["band"].isin(["b2", "b3"])].groupby(
        ["grp", "area_code"], as_index=False)["n"].sum()
    late = disclosure.suppress(late, HIER, value_col="n", group_cols=["grp"], check_bounds=False)
    pre = pd.concat([pd.DataFrame({"area_code": ["L3"], "grp": ["g"], "status": ["ALL"], "band": ["ALL"]}),
                     late.loc[late["suppressed"], ["grp", "area_code"]].assign(status="ALL", band="LATE")])
    extra = [{"dim": "band", "categories": ["b2", "b3"], "where": {"status": "ALL"}, "name": "LATE"}]
    out = table_protection.protect_table(counts, dims=["status", "band"], value_col="n", hierarchies=HIER,
                                         group_cols=["grp"], presuppressed=pre, extra_sums=extra)
    cell = out[(out["area_code"] == "L3") & (out["status"] == "ALL") & (out["band"] == "ALL")]
    assert cell["suppressed"].all() and cell["n"].isna().all()
    assert "LATE" not in set(out["band"])
    # Published elsewhere: b2 + b3 for all statuses of every area. With it, nothing hidden here
    # can be recovered.
    merged = out.merge(truth.rename(columns={"n": "true"}), on=["grp", "area_code", "status", "band"])
    late = late.rename(columns={"n": "true"}).assign(status="ALL", band="LATE")
    cells = pd.concat([merged, late], ignore_index=True)
    cells["cell"] = cells["area_code"] + "|" + cells["status"] + "|" + cells["band"]
    eqs = _flat_equations(merged) + [(f"{a}|ALL|LATE", [f"{a}|ALL|b2", f"{a}|ALL|b3"])
                                     for a in merged["area_code"].unique()]
    source = (cells["area_code"] == "L3") & (cells["status"] == "ALL") & (cells["band"] == "ALL")
    source |= (cells["band"] == "LATE") & cells["suppressed"]
    bad = disclosure.audit_suppression(_audit_frame(cells, extra_sensitive=source), eqs, value_col="count",
                                       area_col="cell", group_cols=["grp"], check_bounds=False)
    assert bad.empty, bad[["cell", "true", "problem"]]


def test_protect_linked_shares_suppressed_totals():
    rng = np.random.default_rng(7)
    rows_a, rows_b = [], []
    for leaf in ("L1", "L2", "L3"):
        for need in ("X", "Y", "Z"):
            for age in ("a1", "a2"):
                rows_a.append({"area_code": leaf, "need": need, "age": age, "n": int(rng.choice([0, 2, 7, 12, 40]))})
    a = pd.DataFrame(rows_a)
    for (leaf, need), g in a.groupby(["area_code", "need"]):
        total = int(g["n"].sum())
        first = int(rng.integers(0, total + 1))
        rows_b += [{"area_code": leaf, "need": need, "setting": "s1", "n": first},
                   {"area_code": leaf, "need": need, "setting": "s2", "n": total - first}]
    b = pd.DataFrame(rows_b)

    def with_parents(df, other):
        p = []
        for parent, kids in HIER:
            p.append(df[df["area_code"].isin(kids)].groupby(["need", other], as_index=False)["n"].sum()
                     .assign(area_code=parent))
        return pd.concat([df, *p], ignore_index=True)
    out = table_protection.protect_linked({"age": (with_parents(a, "age"), ["need", "age"]),
                                           "setting": (with_parents(b, "setting"), ["need", "setting"])},
                                          "need", value_col="n", hierarchies=HIER)
    ma = out["age"][out["age"]["age"] == table_protection.ALL].set_index(["area_code", "need"])["suppressed"]
    mb = out["setting"][out["setting"]["setting"] == table_protection.ALL] \
        .set_index(["area_code", "need"])["suppressed"]
    assert (ma.sort_index() == mb.sort_index()).all()


def test_share_within_groups_hidden_cells():
    cells = pd.DataFrame({"by": ["x", "x", "x", "x", "y", "y", "y", "y"],
                          "cat": ["ALL", "c1", "c2", "c3", "ALL", "c1", "c2", "c3"],
                          "n": [20, 10, np.nan, np.nan, np.nan, 5, np.nan, np.nan]})
    out = table_protection.share_within(cells, by="by", category="cat", value_col="n")
    assert set(out["by"]) == {"x"}  # y's total is hidden: the whole bar is dropped
    hidden = out[out["cat"] == "Suppressed (small numbers)"]
    assert hidden["share"].iloc[0] == pytest.approx(50.0)
    assert out["share"].sum() == pytest.approx(100.0)


def test_breakdowns_on_demo_data_hide_small_counts(demo_config):
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    db = Database(demo_config)
    eng = Engine(db)
    raw = db.query_file("waiting_bands", {"service": "OT", "month": "2025-12-01"})
    raw = raw.assign(month="2025-12-01")
    out = table_protection.protect_table(raw, dims=["ehcp_status"], value_col="waiting",
                                         hierarchies=eng.hierarchies(), group_cols=["month", "service", "wait_band"])
    shown = out.loc[~out["suppressed"], "waiting"]
    assert not shown.between(1, 4).any()
    assert out["suppressed"].any()
    truth = table_protection._margins(raw, ["month", "service", "wait_band", "area_code"], ["ehcp_status"], "waiting")
    merged = out.merge(truth.rename(columns={"waiting": "true"}),
                       on=["month", "service", "wait_band", "area_code", "ehcp_status"])
    merged["cell"] = merged["area_code"] + "|" + merged["ehcp_status"]
    eqs = [(f"{p}|{s}", [f"{k}|{s}" for k in kids]) for p, kids in eng.hierarchies()
           for s in ("ehc_plan", "no_ehc_plan", "ALL")]
    eqs += [(f"{a}|ALL", [f"{a}|ehc_plan", f"{a}|no_ehc_plan"]) for a in merged["area_code"].unique()]
    bad = disclosure.audit_suppression(_audit_frame(merged), eqs, value_col="count", area_col="cell",
                                       group_cols=["wait_band"], check_bounds=False)
    assert bad.empty, bad
    db.close()


# -- chart helpers ------------------------------------------------------------------------------------
def test_fit_title_never_exceeds_ten_words():
    assert charts.fit_title("Copeland (excl. Millom area): down from 91.6% to 72.0% since 2024",
                            "Copeland (excl. Millom area): down to 72.0% by 2025") == \
        "Copeland (excl. Millom area): down to 72.0% by 2025"
    assert len(charts.fit_title("one two three four five six seven eight nine ten eleven twelve").split()) == 10


def test_locality_map_and_schematic_label_every_locality():
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"locality_code": c},
         "geometry": {"type": "Polygon",
                      "coordinates": [[[x, 54], [x + 0.1, 54], [x + 0.1, 54.1], [x, 54.1], [x, 54]]]}}
        for x, c in ((-3.0, "A"), (-2.8, "B"))]}
    df = pd.DataFrame({"area_code": ["A", "B"], "value": [1.0, np.nan], "label": ["A 1.0", "B suppressed"]})
    fig = maps.locality_map(geo, df, colour_title="%")
    fills = [t.fillcolor for t in fig.data if t.fill == "toself"]
    assert fills[1] == charts.SUPPRESSED_GREY and fills[0] != fills[1]
    assert {a.text for a in fig.layout.annotations} == {"A 1.0", "B suppressed"}
    sch = maps.locality_schematic(pd.DataFrame({"area_name": ["A", "B"],
                                                  "footprint": ["North Cumbria", "South Cumbria"],
                                                  "value": [1.0, np.nan], "value_text": ["1.0", "suppressed"]}))
    texts = " ".join(a.text for a in sch.layout.annotations)
    assert "North Cumbria" in texts and "South Cumbria" in texts and "suppressed" in texts


def test_grey_suppressed_and_tidy_bands():
    df = pd.DataFrame({"x": ["a", "a"], "c": ["k", "Suppressed (small numbers)"], "y": [60, 40]})
    fig = charts.grey_suppressed(charts.stacked_share(df, x="x", colour="c", y="y"), "Suppressed (small numbers)")
    assert fig.data[1].marker.color == charts.SUPPRESSED_GREY
    band = charts.tidy_bands(charts.trend_lines(pd.DataFrame({
        "period_label": ["2024", "2025"], "value": [1.0, 2.0], "lower_95": [0.5, 1.5], "upper_95": [1.5, 2.5],
        "area_name": ["A", "A"]})))
    assert band.data[0].mode == "lines"


@pytest.mark.parametrize("mid", ["timeliness_20wk_ex", "ehcp_rate_0_25"])
def test_equity_verdict_agrees_with_both_intervals_shown(mid):
    """Issue 17 point 6: the verdict, the gap interval and the ratio interval never disagree
    (before, rates took the verdict from the exact ratio and showed a MOVER gap: about 0.5% of
    cases disagreed)."""
    m = M[mid]
    rng = np.random.default_rng(6)
    n_a, n_b = rng.integers(5, 3000, 4000), rng.integers(5, 3000, 4000)
    p = rng.uniform(0.01, 0.6, 4000)
    x_a = rng.binomial(n_a, p)
    x_b = rng.binomial(n_b, np.clip(p * rng.uniform(0.7, 1.4, 4000), 0, 1))
    checked = 0
    for xa, na, xb, nb in zip(x_a, n_a, x_b, n_b):
        va, vb = xa / na * m.multiplier, xb / nb * m.multiplier
        out = pair_comparison.compare_one(m, _row(va, xa, na), _row(vb, xb, nb))
        if out["verdict"] not in ("a_higher", "a_lower", "no_difference") or not np.isfinite(out["ratio"]):
            continue
        gap_sig = out["gap_lower"] > 0 or out["gap_upper"] < 0
        ratio_sig = out["ratio_lower"] > 1 or out["ratio_upper"] < 1
        assert gap_sig == ratio_sig == (out["verdict"] != "no_difference"), out
        checked += 1
    assert checked > 3000


# -- issue 17: means get a Student's t interval and a funnel when the spread is loaded -------------
def test_mean_funnel_needs_the_pupils_standard_deviation(demo_env):
    """The demo (like every DfE file) gives averages of Attainment 8 without a standard deviation:
    no funnel is drawn, and the page says why rather than assuming a spread."""
    at = open_page("benchmarks", {"measure": "ks4_att8_ehc_plan"}, deep_link=True)
    assert_clean(at)
    assert any("Funnel plot not drawn" in i.value and "standard deviation" in i.value for i in at.info)


@pytest.fixture
def mean_env(tmp_path, monkeypatch):
    """Attainment 8 (EHC plan) for 30 councils with the pupils' standard deviation, and England."""
    areas = pd.read_csv(ROOT / "send_metrics" / "reference" / "areas.csv", dtype=str)
    councils = areas.loc[(areas["area_level"] == "council") & areas["valid_to"].isna(), "area_code"].head(30)
    rng = np.random.default_rng(8)
    rows = ["time_period,time_identifier,area_code,area_level,sen_status,outcome,numerator,denominator,sd"]
    for code in councils:
        n = int(rng.integers(40, 400))
        mean = 14.0 + rng.normal(0, 0.5)
        rows.append(f"202324,Academic year,{code},council,ehc_plan,ks4_attainment8,{mean * n:.1f},{n},"
                    f"{12 + rng.normal(0, 0.5):.2f}")
    rows.append("202324,Academic year,E92000001,england,ehc_plan,ks4_attainment8,1400000,100000,12.5")
    data = tmp_path / "data"
    data.mkdir()
    (data / "outcomes.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("SEND_DATA_DIR", str(data))
    monkeypatch.setenv("SEND_AUTH", "off")
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    assert load(load_config(data)).load_id
    _clear_caches()
    yield list(councils)
    _clear_caches()


def test_mean_funnel_is_drawn_with_its_method_named(mean_env):
    area = mean_env[0]
    at = open_page("benchmarks", {"measure": "ks4_att8_ehc_plan", "area": area, "period": "2024"}, deep_link=True)
    assert_clean(at)
    text = " ".join(plain(c.value) for c in at.caption) + " ".join(plain(m.value) for m in at.markdown)
    assert "pooled within-council standard deviation" in text, text[:2000]
    assert any("99.8% limits" in t for t in titles(at))
    funnel = [s for s in specs(at) if any("limit" in str(d.get("name", "")).lower() for d in s["data"])]
    assert funnel, "no funnel chart"


def test_equity_compares_means_only_with_their_spread():
    """A North vs South gap in an average: MOVER on the two Student's t intervals. Worked: A is
    PHEindicatormethods testdata_Mean.xlsx Area1 (mean 53.704345, sd 20.975575, n 8; 95% 36.168325
    to 71.240365); B mean 30, sd 10, n 50: t(0.975, 49) = 2.009575, half-width 2.841969, 27.158031
    to 32.841969. Gap 23.704345, lower 23.704345 - sqrt(17.536020^2 + 2.841969^2) = 5.939527,
    upper 23.704345 + sqrt(17.536020^2 + 2.841969^2) = 41.469163: significantly higher."""
    m = M["ks4_att8_ehc_plan"]
    a = {"value": 53.70434500000001, "numerator": 429.63476, "denominator": 8, "sd": 20.97557525770931}
    b = {"value": 30.0, "numerator": 1500.0, "denominator": 50, "sd": 10.0}
    out = pair_comparison.compare_one(m, a, b, "North", "South")
    assert out["gap"] == pytest.approx(23.704345, abs=1e-6)
    assert (out["gap_lower"], out["gap_upper"]) == (pytest.approx(5.939527, abs=1e-6), pytest.approx(41.469163, abs=1e-6))
    assert out["verdict"] == "a_higher" and out["ratio_lower"] > 1  # the ratio agrees with the gap
    assert "Student's t" in out["method"]
    # Without a standard deviation: a plain difference, not tested, never an assumed spread.
    plain = pair_comparison.compare_one(m, {**a, "sd": np.nan}, b, "North", "South")
    assert plain["verdict"] == "not_tested" and np.isnan(plain["gap_lower"])


def test_rest_of_parent_splits_a_mean_and_its_spread():
    """Area1 of PHEindicatormethods' testdata_Mean.xlsx as a parent (n 8, total 429.63476, sd
    20.975575) with its first two pupils (33.09375, 48.38596) as the child: the rest is the other
    six pupils, whose phe_mean is recomputed from the raw values here."""
    from test_stats_intervals import PHE_MEAN_AREA1
    m = M["ks4_att8_ehc_plan"]
    x = np.array(PHE_MEAN_AREA1)
    parent = {"numerator": x.sum(), "denominator": 8, "sd": x.std(ddof=1), "suppressed": False}
    child = {"numerator": x[:2].sum(), "denominator": 2, "sd": x[:2].std(ddof=1), "suppressed": False}
    rest = localities.rest_of_parent(m, child, parent, high=1)
    assert rest["value"] == pytest.approx(x[2:].mean()) and rest["sd"] == pytest.approx(x[2:].std(ddof=1))
    lo, hi = intervals.mean_ci(x[2:].mean(), x[2:].std(ddof=1), 6)
    assert (rest["lower_95"], rest["upper_95"]) == (pytest.approx(lo), pytest.approx(hi))


@pytest.mark.parametrize("x1,n1,x2,n2,lower,upper,verdict", [
    (56, 70, 48, 80, 0.0524, 0.3339, "a_higher"),   # Newcombe (1998) Stat Med 17:873, Table II, method 10
    (5, 56, 0, 29, -0.0381, 0.1926, None),          # the same table: interval spans 0
    (9, 10, 3, 10, 0.1705, 0.8090, "a_higher"),
])
def test_equity_gap_is_newcombes_published_interval_and_the_ratio_agrees(x1, n1, x2, n2, lower, upper, verdict):
    """Issue 17 point 6 against a published reference: the gap shown for two percentages is
    Newcombe's method 10 (Table II values, 4 dp), the verdict is read from it, and the MOVER-R ratio
    on the same Wilson intervals agrees. (5/56 vs 0/29 has no ratio: 0 in the denominator.)"""
    m = M["timeliness_20wk_ex"]
    out = pair_comparison.compare_one(m, _row(x1 / n1 * 100, x1, n1), _row(x2 / n2 * 100, x2, n2))
    assert (out["gap_lower"], out["gap_upper"]) == (pytest.approx(lower * 100, abs=5e-3),
                                                    pytest.approx(upper * 100, abs=5e-3))
    assert out["verdict"] == (verdict or "no_difference")
    if np.isfinite(out["ratio"]):
        assert (out["ratio_lower"] > 1) == (verdict == "a_higher")


def test_stats_has_no_slope_index_of_inequality():
    """Issue 17 point 7: the SII returned 9.0 instead of 10.05 with a missing population and had no
    interval; it was removed (no deprivation breakdown in the data contract to fit it to) rather than
    left half-finished. Nothing may offer it."""
    import importlib
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    for path in (root / "send_metrics" / "stats").glob("*.py"):
        module = importlib.import_module(f"send_metrics.stats.{path.stem}" if path.stem != "__init__" else "send_metrics.stats")
        assert not [n for n in dir(module) if "sii" in n.lower() or "slope_index" in n.lower()], path
    for path in [*root.rglob("send_metrics/**/*.py"), *root.glob("pages/*.py"), root / "README.md"]:
        text = path.read_text()
        assert "slope index" not in text.lower() or "no slope index" in text.lower(), path
