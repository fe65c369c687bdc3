"""Measure engine and geography: footprints are sums of localities, rates are sum over sum,
disclosure control is applied before anything leaves the engine."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli, write
from send_metrics.catalogue import load_catalogue
from send_metrics.config import load_config
from send_metrics.db import Database
from send_metrics.measures.engine import Engine, median_from_bands
from send_metrics.ingest.store import load

LOCS = {"LOC-ALLERDALE": (40, 50), "LOC-CARLISLE": (30, 100), "LOC-COPELAND-N": (20, 40),
        "LOC-MILLOM": (9, 10), "LOC-EDEN": (12, 30), "LOC-BARROW-FURNESS": (25, 50),
        "LOC-SOUTH-LAKELAND": (33, 60)}


@pytest.fixture
def small_engine(data_dir):
    """Timeliness for every locality in 2024: numerator within 20 weeks, denominator issued."""
    rows = ["time_period,time_identifier,area_code,area_level,requests,requests_refused,decisions,"
            "decisions_within_6_weeks,new_plans,plans_issued_ex,plans_issued_20wk_ex,plans_issued_inc,plans_issued_20wk_inc"]
    for code, (num, den) in LOCS.items():
        rows.append(f"2024,Calendar year,{code},locality,{den},1,{den},{num},{den},{den},{num},{den},{num}")
    write(data_dir / "assess.csv", "\n".join(rows) + "\n")
    config = load_config(data_dir)
    load(config)
    return Engine(Database(config))


def value(engine, measure, area, period="2024"):
    t = engine.table([measure], [area], [period])
    assert len(t) == 1, t
    return t.iloc[0]


def test_footprint_rates_are_sum_over_sum(small_engine):
    north = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-EDEN"]
    south = ["LOC-MILLOM", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]
    for footprint, members in (("HF-NORTH-CUMBRIA", north), ("HF-SOUTH-CUMBRIA", south)):
        num = sum(LOCS[m][0] for m in members)
        den = sum(LOCS[m][1] for m in members)
        row = value(small_engine, "timeliness_20wk_ex", footprint)
        assert row["numerator"] == num and row["denominator"] == den
        assert row["value"] == pytest.approx(100 * num / den)
        mean_of_rates = 100 * np.mean([LOCS[m][0] / LOCS[m][1] for m in members])
        assert abs(row["value"] - mean_of_rates) > 0.5, "must not be an average of rates"


def test_millom_counts_in_cumberland_and_south_cumbria_eden_in_wf_and_north(small_engine):
    cumberland = value(small_engine, "new_plans", "E06000063")["numerator"]
    assert cumberland == sum(LOCS[m][1] for m in ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM"])
    wf = value(small_engine, "new_plans", "E06000064")["numerator"]
    assert wf == sum(LOCS[m][1] for m in ["LOC-EDEN", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"])
    south = value(small_engine, "new_plans", "HF-SOUTH-CUMBRIA")["numerator"]
    assert south == LOCS["LOC-MILLOM"][1] + LOCS["LOC-BARROW-FURNESS"][1] + LOCS["LOC-SOUTH-LAKELAND"][1]
    north = value(small_engine, "new_plans", "HF-NORTH-CUMBRIA")["numerator"]
    # Calendar 2024 is after Cumbria's abolition: the sum is only the labelled 'Cumbria (both councils)'.
    assert north + south == cumberland + wf == value(small_engine, "new_plans", "CMB-CUMBRIA-2COUNCILS")["numerator"]
    assert small_engine.table(["new_plans"], ["E10000006"], ["2024"]).empty
    # 01H is exactly North Cumbria; 01K covers Lancaster too and is never built from localities.
    assert value(small_engine, "new_plans", "E38000215")["numerator"] == north
    assert small_engine.table(["new_plans"], ["E38000228"]).empty


def test_intervals_and_flags_present(small_engine):
    row = value(small_engine, "timeliness_20wk_ex", "E06000063")
    assert row["lower_998"] < row["lower_95"] < row["value"] < row["upper_95"] < row["upper_998"]
    assert row["sig_england_95"] in {"better", "worse", "similar", "not_compared"}


def test_small_numerators_are_suppressed_and_not_recoverable(data_dir):
    rows = ["time_period,time_identifier,area_code,area_level,requests,requests_refused,decisions,"
            "decisions_within_6_weeks,new_plans,plans_issued_ex,plans_issued_20wk_ex,plans_issued_inc,plans_issued_20wk_inc"]
    refused = {"LOC-ALLERDALE": 20, "LOC-CARLISLE": 31, "LOC-COPELAND-N": 12, "LOC-MILLOM": 2,
               "LOC-EDEN": 15, "LOC-BARROW-FURNESS": 18, "LOC-SOUTH-LAKELAND": 22}
    for code, r in refused.items():
        rows.append(f"2024,Calendar year,{code},locality,100,{r},90,80,50,50,40,50,40")
    write(data_dir / "assess.csv", "\n".join(rows) + "\n")
    config = load_config(data_dir)
    load(config)
    t = Engine(Database(config)).table(["requests_refused_pct"], None, ["2024"])
    millom = t[t["area_code"] == "LOC-MILLOM"].iloc[0]
    assert millom["suppressed"] and pd.isna(millom["value"]) and pd.isna(millom["numerator"])
    shown = t[~t["suppressed"]].set_index("area_code")["numerator"].to_dict()
    # Every way of subtracting published totals must fail to give Millom's 2.
    assert not ("E06000063" in shown and all(c in shown for c in ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N"]))
    assert not ("E07000029" in shown and "LOC-COPELAND-N" in shown)
    assert not ("HF-SOUTH-CUMBRIA" in shown and all(c in shown for c in ["LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]))


def test_median_from_bands_interpolates():
    edges = {"a": (0, 4), "b": (4, 8), "c": (8, None)}
    assert median_from_bands({"a": 10, "b": 10, "c": 0}, edges) == pytest.approx(4.0)
    assert median_from_bands({"a": 0, "b": 10, "c": 0}, edges) == pytest.approx(6.0)
    assert median_from_bands({"a": 1, "b": 1, "c": 10}, edges) == 8
    assert np.isnan(median_from_bands({"a": 0}, edges))


def test_catalogue_has_at_least_twenty_measures_with_metadata():
    measures = load_catalogue()
    assert len(measures) >= 20
    for m in measures:
        assert m.title and m.definition and m.source and m.polarity and m.unit


def test_demo_measures_cli_covers_20_measures_for_every_area(demo_store):
    r = run_cli("measures", "--format", "csv", env={"SEND_STORE_DIR": str(demo_store)})
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(io.StringIO(r.stdout), dtype={"period": str})
    per_area = t.groupby("area_code")["measure_id"].nunique()
    cumbria = [a for a in per_area.index if a.startswith(("LOC-", "HF-", "E0600006"))]
    assert len(cumbria) >= 11
    assert (per_area[cumbria] >= 20).all(), per_area[cumbria]
    for col in ("lower_95", "upper_95", "lower_998", "upper_998", "sig_england_95", "suppressed"):
        assert col in t.columns
    assert t["lower_95"].notna().sum() > 100


def test_demo_published_figures_via_cli(demo_store):
    r = run_cli("measures", "--area", "E06000063", "--measure", "ehcp_caseload", "--format", "json",
                env={"SEND_STORE_DIR": str(demo_store)})
    assert r.returncode == 0, r.stderr
    rows = {row["period"]: row["value"] for row in json.loads(r.stdout)}
    assert rows["2024"] == 2656 and rows["2025"] == 2893


def test_cli_rejects_unknown_measure(demo_store):
    r = run_cli("measures", "--measure", "nope", env={"SEND_STORE_DIR": str(demo_store)})
    assert r.returncode == 2 and "unknown measure" in r.stderr


def test_sql_median_wait_matches_the_reference_interpolation(demo_engine):
    from send_metrics.contract import codes
    from send_metrics.catalogue import load_catalogue
    sql = demo_engine._median_waits(list(load_catalogue()))
    bands = demo_engine.db.query("SELECT area_code, CAST(month AS VARCHAR) AS period, service, wait_band, "
                                 "sum(waiting) AS n FROM waiting_list WHERE area_code IN ('LOC-MILLOM', 'E06000063') "
                                 "GROUP BY ALL")
    checked = 0
    for (area, period, service), g in bands.groupby(["area_code", "period", "service"]):
        expected = median_from_bands(dict(zip(g["wait_band"], g["n"])), codes.WAIT_BANDS)
        got = sql[(sql["area_code"] == area) & (sql["period"] == period) & (sql["measure_id"] == f"wait_median_{service}")]
        if np.isnan(expected):  # nobody waiting: no median, and no row from SQL
            assert got.empty
            continue
        assert got["median"].iloc[0] == pytest.approx(expected)
        checked += 1
    assert checked > 100


def test_rolling_recent_trend_equals_the_reference_on_every_window():
    from send_metrics.stats import trends
    from send_metrics.measures.engine.trends import rolling_recent_trend
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(5, 14))
        v = np.cumsum(rng.normal(rng.choice([0, 2, -2]), 1.0, n)) + 50
        half = rng.uniform(0.2, 3, n)
        if trial % 7 == 0:
            v[rng.integers(0, n)] = np.nan
        got = rolling_recent_trend(v, v - half, v + half)
        want = [trends.recent_trend(v[k:k + 5], (v - half)[k:k + 5], (v + half)[k:k + 5]) for k in range(n - 4)]
        assert list(got) == want
    assert set(rolling_recent_trend(np.arange(10.0) * 5, np.arange(10.0) * 5 - 1, np.arange(10.0) * 5 + 1)) == {"increasing"}


def test_no_single_need_share_is_recoverable_from_its_total(demo_engine):
    """Within the measure table: one need share withheld beside its published total and every
    other share would be the total less the rest. Where plans of a need with no share of its own
    (need unknown) exist, the total less the shares shown is not the withheld share, and the
    attack across every output (tests/tools/test_disclosure_attack.py) is what decides."""
    t = demo_engine.full_table()
    needs = t[t["measure_id"].str.startswith("need_share_")]
    measured = sorted({m.removeprefix("need_share_") for m in needs["measure_id"].unique()})
    other = demo_engine.db.query(
        "SELECT area_code, CAST(year AS VARCHAR) AS period FROM ehcp_caseload "
        "WHERE NOT list_contains($needs, primary_need) GROUP BY ALL HAVING sum(ehc_plans) > 0", {"needs": measured})
    unmeasured = set(zip(other["area_code"].astype(str), other["period"].astype(str)))
    checked = 0
    for (area, period), g in needs.groupby(["area_code", "period"]):
        if (str(area), str(period)[:4]) in unmeasured:
            continue
        checked += 1
        hidden = g["suppressed"].astype(bool).sum()
        assert hidden != 1, f"{area} {period}: one need share hidden beside its published total"
    assert checked > 20  # 44 area-years of the demo have no plans of need unknown


# -- issue 17: counts are never compared; neighbours pooled honestly ---------------------------
def test_pool_neighbours_drops_a_suppressed_neighbour_whole():
    """Issue 17 point 2: 50/100, 3/100 suppressed (numerator withheld) and 90/100 pool to
    140/200 = 70.0%, not 140/300 = 46.7% nor the 45.0% of dropping only the numerator; and the
    number of neighbours pooled is stated."""
    from send_metrics.catalogue import measures_by_id
    from send_metrics.measures.engine.benchmarks import pool_neighbours
    by_id = measures_by_id()
    x = pd.DataFrame({"area_code": ["A"] * 3, "neighbour_code": ["N1", "N2", "N3"],
                      "measure_id": ["timeliness_20wk_ex"] * 3, "period": ["2024"] * 3,
                      "numerator": [50, np.nan, 90], "denominator": [100, 100, 100]})
    out = pool_neighbours(x, by_id, ["area_code", "measure_id", "period"])
    assert len(out) == 1
    assert out["neighbours_value"].iloc[0] == pytest.approx(70.0)
    assert out["neighbours_n"].iloc[0] == 2
    # Counts are never pooled into a neighbour "value" (no mean of counts).
    x["measure_id"] = "new_plans"
    assert pool_neighbours(x, by_id, ["area_code", "measure_id", "period"]).empty


def test_counts_are_never_compared_and_every_neighbour_value_states_its_n(demo_store):
    """Issue 17 point 1: `measures --format csv` gives `not_compared` for England, region and
    neighbours on every count measure, and no neighbour value without the number pooled."""
    from send_metrics.measures.engine.benchmarks import MIN_NEIGHBOURS
    r = run_cli("measures", "--format", "csv", env={"SEND_STORE_DIR": str(demo_store)})
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(io.StringIO(r.stdout))
    kinds = {m.id: m.kind for m in load_catalogue()}
    counts = t[t["measure_id"].map(kinds).isin(["count"])]
    assert len(counts) > 0
    for col in ("sig_england_95", "sig_region_95", "sig_neighbours_95"):
        assert set(counts[col].dropna()) <= {"not_compared"}, col
    assert counts["neighbours_value"].isna().all()
    has_nb = t["neighbours_value"].notna()
    assert (t.loc[has_nb, "neighbours_n"] >= 1).all()
    few = t["neighbours_n"].fillna(0) < MIN_NEIGHBOURS
    assert set(t.loc[few, "sig_neighbours_95"].dropna()) <= {"not_compared"}


def test_rolling_proportion_trend_equals_the_reference_and_needs_unbroken_years():
    from send_metrics.measures.engine.trends import rolling_proportion_trend
    from send_metrics.stats import trends
    rng = np.random.default_rng(17)
    for _ in range(40):
        k = int(rng.integers(5, 12))
        n = rng.integers(20, 2000, k).astype(float)
        p = np.clip(0.3 + np.cumsum(rng.normal(0, 0.03, k)), 0.02, 0.98)
        x = rng.binomial(n.astype(int), p).astype(float)
        if rng.random() < 0.3:
            x[rng.integers(0, k)] = np.nan  # a suppressed count breaks the windows it is in
        got = rolling_proportion_trend(x, n, np.arange(2010, 2010 + k))
        want = [trends.proportion_trend(x[i:i + 5], n[i:i + 5])[0] for i in range(k - 4)]
        assert list(got) == want
    # A missing year breaks the series (Fingertips: only an unbroken annual sequence).
    x, n = np.array([994, 1023, 1199, 1332, 1367.]), np.array([40299, 41527, 42811, 44064, 44701.])
    assert rolling_proportion_trend(x, n, [2014, 2015, 2016, 2017, 2018])[0] == "increasing"
    assert rolling_proportion_trend(x, n, [2013, 2015, 2016, 2017, 2018])[0] == "not_enough_data"


def test_counts_and_monthly_measures_are_not_trend_tested(demo_engine):
    t = demo_engine.full_table()
    kinds = {m.id: m for m in load_catalogue()}
    m = t["measure_id"].map(lambda i: kinds[i].kind not in ("proportion", "rate") or kinds[i].monthly)
    assert set(t.loc[m.astype(bool), "trend"]) <= {"not_tested"}


def test_wording_definitions_and_catalogue_ids():
    """Issue 17 point 11: the Definitions page names the exact interval below 10 events, and the
    suspension gap's id says suspensions."""
    import pathlib
    src = (pathlib.Path(__file__).resolve().parents[2] / "pages" / "definitions.py").read_text()
    assert "Exact Poisson interval (chi-square) below 10 events" in src
    ids = {m.id: m for m in load_catalogue()}
    assert not any(i.startswith("gap_exclusions_") for i in ids)
    assert all("Suspension" in ids[i].title for i in ids if i.startswith("gap_suspensions_"))


def test_mean_gets_a_t_interval_from_its_localities_standard_deviations(data_dir):
    """Issue 17, means with t-intervals: Cumberland's average Attainment 8 is built from its four
    localities' (pupils, points, sd) alone and equals PHEindicatormethods' phe_mean on the pupils
    (tests/testthat/testdata_Mean.xlsx, Area1: 8 values, mean 53.704345, sd 20.975575, 95%
    36.168325 to 71.240365, 99.8% 18.216705 to 89.191985). Without an sd (as every DfE file)
    there is no interval and no verdict, never an invented one."""
    from test_stats_intervals import PHE_MEAN_AREA1, PHE_MEAN_RESULTS
    locs = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM"]
    rows = ["time_period,time_identifier,area_code,area_level,sen_status,outcome,numerator,denominator,sd"]
    for i, code in enumerate(locs):
        pair = np.array(PHE_MEAN_AREA1[2 * i:2 * i + 2])
        rows.append(f"202324,Academic year,{code},locality,ehc_plan,ks4_attainment8,{float(pair.sum())!r},2,"
                    f"{float(pair.std(ddof=1))!r}")
        rows.append(f"202324,Academic year,{code},locality,sen_support,ks4_attainment8,{35 * 10},10,")
    rows.append("202324,Academic year,E92000001,england,ehc_plan,ks4_attainment8,2000000,100000,18.0")
    rows.append("202324,Academic year,E92000001,england,sen_support,ks4_attainment8,3300000,100000,")
    write(data_dir / "outcomes.csv", "\n".join(rows) + "\n")
    config = load_config(data_dir)
    load(config)
    engine = Engine(Database(config))
    _, total, n, sd, mean, lo95, hi95, lo998, hi998 = PHE_MEAN_RESULTS[0]
    row = value(engine, "ks4_att8_ehc_plan", "E06000063", "2024")
    assert (row["numerator"], row["denominator"]) == (pytest.approx(total), n)
    assert row["value"] == pytest.approx(mean, rel=1e-9)
    assert row["sd"] == pytest.approx(sd, rel=1e-9)
    assert (row["lower_95"], row["upper_95"]) == (pytest.approx(lo95, rel=1e-9), pytest.approx(hi95, rel=1e-9))
    assert (row["lower_998"], row["upper_998"]) == (pytest.approx(lo998, rel=1e-9), pytest.approx(hi998, rel=1e-9))
    # England 20.0 is below the whole 95% interval (better: higher is better) and inside the 99.8%.
    assert row["england_value"] == pytest.approx(20.0) and row["sig_england_95"] == "better"
    assert row["sig_england_998"] == "similar"
    # Localities of 2 pupils are suppressed (denominator disclosure), with their spread.
    loc = value(engine, "ks4_att8_ehc_plan", "LOC-ALLERDALE", "2024")
    assert loc["suppressed"] and np.isnan(loc["value"]) and np.isnan(loc["sd"]) and np.isnan(loc["lower_95"])
    # No sd in the extract: the average is shown, with no interval and no verdict.
    plain = value(engine, "ks4_att8_sen_support", "E06000063", "2024")
    assert plain["value"] == pytest.approx(35.0) and np.isnan(plain["sd"])
    assert np.isnan(plain["lower_95"]) and plain["sig_england_95"] == "not_compared"


def test_a_standard_deviation_is_checked(data_dir):
    """sd belongs to an average only, and cannot exceed 45 for scores from 0 to 90: such rows are
    quarantined with the column named, and the good rows load."""
    rows = ["time_period,time_identifier,area_code,area_level,sen_status,outcome,numerator,denominator,sd",
            "202324,Academic year,E06000063,council,ehc_plan,ks4_attainment8,1400,100,12.5",
            "202324,Academic year,E06000063,council,sen_support,ks4_attainment8,3300,100,46",
            "202324,Academic year,E06000063,council,ehc_plan,persistent_absence,30,100,4"]
    write(data_dir / "outcomes.csv", "\n".join(rows) + "\n")
    config = load_config(data_dir)
    load(config)
    q = Database(config).query("SELECT source_row, column_name, reason FROM quarantine ORDER BY source_row")
    assert list(q["column_name"]) == ["sd", "sd"], q
    assert "above 45" in q["reason"].iloc[0] and "only for an average" in q["reason"].iloc[1]
    engine = Engine(Database(config))
    assert value(engine, "ks4_att8_ehc_plan", "E06000063")["sd"] == pytest.approx(12.5)


def test_published_neighbour_fallback_is_a_sum_over_a_sum(data_dir):
    """Issue 17 point 11: "never an average of rates" holds for the neighbour fallback too. With no
    neighbour loaded, the published numerators and denominators are pooled: 50/100, 90/100,
    10/50, 30/60 and 40/80 give 220/390 = 56.41%, not the mean of the rates (52.0%); a neighbour
    published with a value only (80%, no counts) takes no part, and neighbours_n says 5."""
    (data_dir / "assess.csv").write_text(
        "time_period,time_identifier,area_code,area_level,requests,requests_refused,decisions,"
        "decisions_within_6_weeks,new_plans,plans_issued_ex,plans_issued_20wk_ex,plans_issued_inc,"
        "plans_issued_20wk_inc\n2024,Calendar year,E06000063,council,100,1,100,50,100,100,40,100,40\n")
    nbs = ["E06000064", "E10000019", "E06000019", "E10000017", "E06000013", "E08000036"]
    (data_dir / "neighbours.csv").write_text("area_code,neighbour_code,neighbour_rank\n" + "".join(
        f"E06000063,{c},{i + 1}\n" for i, c in enumerate(nbs)))
    parts = [(50, 100), (90, 100), (10, 50), (30, 60), (40, 80), (None, None)]
    lines = ["time_period,time_identifier,area_code,area_level,area_name,measure_id,value,numerator,denominator,"
             "source,edition"]
    for code, (x, n) in zip(nbs, parts):
        value_ = 80.0 if x is None else 100 * x / n
        lines.append(f"2024,Calendar year,{code},council,,timeliness_20wk_ex,{value_},{'' if x is None else x},"
                     f"{'' if n is None else n},test publication,2025")
    (data_dir / "benchmarks.csv").write_text("\n".join(lines) + "\n")
    config = load_config(data_dir)
    load(config)
    row = value(Engine(Database(config)), "timeliness_20wk_ex", "E06000063")
    assert row["neighbours_n"] == 5
    assert row["neighbours_value"] == pytest.approx(100 * 220 / 390)
    assert abs(row["neighbours_value"] - np.mean([50, 90, 20, 50, 50])) > 4
