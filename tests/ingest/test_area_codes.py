"""Successor area codes (issue 16, item 6) and the lifetimes of abolished areas (item 7).

* `send_metrics/reference/area_code_changes.csv`: one-to-one ONS code changes are resolved to the
  code the areas table knows and reported with their row counts; mergers and splits never are.
* `valid_from` / `valid_to` in `reference/areas.csv`: Cumbria and its six districts have figures
  only for periods ending by 31 March 2023; the labelled "Cumbria (both councils)" series only for
  periods ending later. Rows outside an area's lifetime are quarantined, and roll-ups from
  localities are never built for them.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import replace

import duckdb
import pytest

from conftest import ROOT, write
from send_metrics.ingest import area_codes
from send_metrics.config import load_config
from send_metrics.ingest.store import load
from send_metrics.ingest.stored_loads import current_load_dir

REFERENCE = ROOT / "send_metrics" / "reference"
EES_HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
              "new_la_code,old_la_code,la_name,breakdown_topic,breakdown,ehcplans,mainstream_total,"
              "mainstream_total_pc,special_la_maintained,special_academy_free,special_independent,"
              "special_non_maintained,special_total,ap_pru_total,AP_PRU_total_pc,fe_total,ed_elsewhere,"
              "nm_early_years,placement_unknown")
CUMBRIA_AREAS = ["E10000006", "E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031"]
COMBINED = "CMB-CUMBRIA-2COUNCILS"


def ees_row(time_period: str, code: str, la: str, name: str, total: int, region=("E12000001", "North East")) -> str:
    """A local-authority total row of a DfE EES caseload.csv (the 2025 release's layout)."""
    ms, sp, ind, ap, fe = total // 2, total // 5, total // 10, 10, total // 10
    other = total - ms - sp - ind - ap - fe
    return (f"{time_period},Academic year,Local authority,E92000001,England,{region[0]},{region[1]},{code},{la},"
            f"{name},All EHC plans,All EHC plans,{total},{ms},x,{sp},0,{ind},0,{sp + ind},{ap},x,{fe},{other},0,0")


def q(config, sql: str, params: dict | None = None) -> list[tuple]:
    d = current_load_dir(config.store_dir)
    names = {p.stem: f"read_parquet('{p.as_posix()}')" for p in d.glob("*.parquet")}
    return duckdb.connect().execute(sql.format(**names), params or {}).fetchall()


def load_folder(data_dir):
    config = replace(load_config(data_dir), duckdb_threads=1)
    result = load(config)
    assert result.ok and result.load_id, result.error
    return config, result


def report_text(result) -> str:
    return "\n".join(line for r in result.reports for line in r.lines(limit=500))


# -- the lookup itself ------------------------------------------------------------------------

def test_lookup_is_cited_and_only_one_to_one_changes_are_mapped():
    with open(REFERENCE / "area_code_changes.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with open(REFERENCE / "areas.csv", newline="", encoding="utf-8") as fh:
        known = {r["area_code"] for r in csv.DictReader(fh)}
    assert len(rows) >= 10
    old_codes = [r["old_code"] for r in rows]
    new_codes = [r["new_code"] for r in rows]
    for r in rows:
        assert re.fullmatch(r"E\d{8}", r["old_code"]) and re.fullmatch(r"E\d{8}", r["new_code"]), r
        assert dt.date.fromisoformat(r["effective"]) >= dt.date(2009, 1, 1), r
        assert r["mapping"] in ("one_to_one", "not_mapped"), r
        assert "Code History Database" in r["source"] and r["note"], r  # every row is cited and explained
        assert r["old_code"] in known or r["new_code"] in known, r
        if old_codes.count(r["old_code"]) > 1 or new_codes.count(r["new_code"]) > 1:
            assert r["mapping"] == "not_mapped", r  # a split or a merger is never mapped
    by_old = {r["old_code"]: r for r in rows}
    assert by_old["E08000020"]["new_code"] == "E08000037" and by_old["E08000020"]["mapping"] == "one_to_one"
    assert by_old["E06000048"]["new_code"] == "E06000057"
    assert by_old["E10000009"]["mapping"] == "not_mapped"  # Dorset unitary is the county less Christchurch
    # Buckinghamshire: both codes are known (DfE uses both), so neither is ever replaced.
    assert not {"E10000002", "E06000060"} & set(area_codes.replacements(frozenset(known)))
    assert area_codes.replacements(frozenset(known)) == {
        "E08000020": ("E08000037", area_codes.replacements(frozenset(known))["E08000020"][1]),
        "E06000048": ("E06000057", area_codes.replacements(frozenset(known))["E06000048"][1]),
        "E06000065": ("E10000023", area_codes.replacements(frozenset(known))["E06000065"][1]),
        "E06000066": ("E10000027", area_codes.replacements(frozenset(known))["E06000066"][1]),
    }


# -- published files (EES layout) -------------------------------------------------------------

@pytest.fixture(scope="module")
def replaced_codes_store(tmp_path_factory):
    base = tmp_path_factory.mktemp("area_codes")
    rows = [ees_row("201112", "E08000020", "390", "Gateshead", 1001),       # January 2012, old code
            ees_row("201819", "E08000037", "390", "Gateshead", 1231),       # January 2019, new code
            ees_row("201112", "E06000048", "929", "Northumberland", 1502),
            ees_row("202324", "E06000065", "815", "North Yorkshire", 4004, ("E12000003", "Yorkshire and The Humber")),
            ees_row("202324", "E06000066", "933", "Somerset", 3003, ("E12000009", "South West")),
            ees_row("202021", "E10000021", "928", "Northamptonshire", 2002, ("E12000004", "East Midlands")),
            ees_row("202122", "E10000021", "928", "Northamptonshire", 2101, ("E12000004", "East Midlands")),
            ees_row("202223", "E10000006", "909", "Cumbria", 4489, ("E12000002", "North West")),
            ees_row("202324", "E10000006", "909", "Cumbria", 4700, ("E12000002", "North West"))]
    write(base / "data" / "ehcp_2012_2024" / "caseload.csv", "\ufeff" + EES_HEADER + "\n" + "\n".join(rows) + "\n")
    import os
    old = os.environ.get("SEND_STORE_DIR")
    os.environ["SEND_STORE_DIR"] = str(base / "store")
    try:
        return load_folder(base / "data")
    finally:
        if old is None:
            os.environ.pop("SEND_STORE_DIR", None)
        else:
            os.environ["SEND_STORE_DIR"] = old


def _totals(config) -> dict:
    caseload = q(config, "SELECT area_code, year, sum(ehc_plans) FROM {ehcp_caseload} WHERE NOT is_rollup GROUP BY 1, 2")
    bench = q(config, "SELECT area_code, year, value FROM {benchmarks} WHERE measure_id = 'ehcp_caseload'")
    return {(a, y): int(v) for a, y, v in caseload + bench}


@pytest.mark.parametrize("old, new, year, total, label", [
    ("E08000020", "E08000037", 2012, 1001, "E08000020 -> E08000037, Gateshead, 2013 boundary change"),
    ("E06000048", "E06000057", 2012, 1502, "E06000048 -> E06000057, Northumberland, 2013 boundary change"),
    ("E06000065", "E10000023", 2024, 4004, "E06000065 -> E10000023, North Yorkshire, 2023 unitary (same area)"),
    ("E06000066", "E10000027", 2024, 3003, "E06000066 -> E10000027, Somerset, 2023 unitary (same area)"),
])
def test_each_one_to_one_change_is_applied_and_reported(replaced_codes_store, old, new, year, total, label):
    config, result = replaced_codes_store
    totals = _totals(config)
    assert totals[(new, year)] == total  # the published figure, under the code the areas table knows
    assert not [k for k in totals if k[0] == old]
    assert re.search(re.escape(label) + r": [1-9]\d* rows?", report_text(result)), report_text(result)
    assert q(config, "SELECT count(*) FROM {quarantine} WHERE value = $c", {"c": old}) == [(0,)]
    # Gateshead keeps one series across the change: 2012 (old code) and 2019 (new code).
    if old == "E08000020":
        assert totals[("E08000037", 2019)] == 1231


def test_a_split_is_never_mapped_and_is_reported(replaced_codes_store):
    config, result = replaced_codes_store
    totals = _totals(config)
    # Northamptonshire: January 2021 is before the split (1 April 2021) and stays; January 2022 is not
    # given to either successor, it is quarantined with the reason.
    assert totals[("E10000021", 2021)] == 2002
    assert not [k for k in totals if k[0] in ("E06000061", "E06000062") or k == ("E10000021", 2022)]
    reasons = [r[0] for r in q(config, "SELECT DISTINCT reason FROM {quarantine} WHERE value = 'E10000021'")]
    assert reasons and all("abolished on 2021-04-01" in r and "North Northamptonshire E06000061" in r
                           and "West Northamptonshire E06000062" in r and "not mapped" in r for r in reasons)
    # Cumbria: January 2023 is its last caseload; January 2024 is quarantined, never Cumbria.
    assert totals[("E10000006", 2023)] == 4489 and ("E10000006", 2024) not in totals
    reasons = [r[0] for r in q(config, "SELECT DISTINCT reason FROM {quarantine} WHERE value = 'E10000006'")]
    assert reasons and all("abolished on 2023-04-01" in r and "Cumberland E06000063" in r for r in reasons)
    assert "Cumbria (county area) was abolished" in report_text(result)


# -- contract-shaped files --------------------------------------------------------------------

ASSESSMENTS = ("time_period,time_identifier,area_code,area_level,requests,requests_refused,decisions,"
               "decisions_within_6_weeks,new_plans,plans_issued_ex,plans_issued_20wk_ex,plans_issued_inc,"
               "plans_issued_20wk_inc,reviews_due,reviews_on_time\n")


def test_contract_files_get_the_same_mapping_and_lifetimes(data_dir):
    write(data_dir / "assessments.csv", ASSESSMENTS
          + "2012,Calendar year,E08000020,council,300,30,280,200,150,140,100,150,105,900,700\n"
            "2022,Calendar year,E10000006,former_council,783,100,700,500,521,452,326,509,342,4000,3000\n"
            "2023,Calendar year,E10000006,former_council,800,100,700,500,530,460,330,510,340,4100,3100\n"
            "2024,Calendar year,E07000026,former_district,80,10,70,50,53,46,33,51,34,410,310\n")
    config, result = load_folder(data_dir)
    rows = q(config, "SELECT area_code, year, requests FROM {ehcp_assessments} WHERE NOT is_rollup ORDER BY 1, 2")
    assert rows == [("E08000037", 2012, 300), ("E10000006", 2022, 783)]
    text = report_text(result)
    assert "E08000020 -> E08000037, Gateshead, 2013 boundary change: 1 row" in text
    bad = dict(q(config, "SELECT value, reason FROM {quarantine} WHERE column_name = 'area_code'"))
    assert set(bad) == {"E10000006", "E07000026"}
    assert "abolished on 2023-04-01" in bad["E07000026"]


# -- Cumbria continuity on the demo (localities rolled up) --------------------------------------

def test_cumbria_has_no_values_after_march_2023_and_the_later_periods_are_labelled(demo_engine):
    table = demo_engine.table(None, CUMBRIA_AREAS + [COMBINED, "E06000063"], None)
    table = table.assign(monthly=table["period"].str.len() > 4, year=table["period"].str[:4].astype(int))

    for code in CUMBRIA_AREAS:
        rows = table[table["area_code"] == code]
        assert len(rows) > 100, code
        assert rows["year"].max() == 2023, code
        assert rows[~rows["monthly"]]["year"].min() <= 2016, code  # the whole earlier series is kept
        assert rows[rows["monthly"]]["period"].max() == "2023-03-01", code  # last month March 2023
        last_year = set(rows[~rows["monthly"] & (rows["year"] == 2023)]["measure_id"])
        assert "ehcp_caseload" in last_year, code  # January 2023 is Cumbria's last census
        assert not [m for m in last_year if m.startswith("timeliness")], code  # calendar 2023 is not

    combined = table[table["area_code"] == COMBINED]
    assert set(combined["area_name"]) == {"Cumbria (both councils): Cumberland + Westmorland and Furness"}
    assert "never joined" in combined["coverage_note"].iloc[0]
    assert combined[~combined["monthly"]]["period"].min() == "2023"
    assert combined[combined["monthly"]]["period"].min() == "2023-04-01"
    first_year = set(combined[~combined["monthly"] & (combined["year"] == 2023)]["measure_id"])
    assert "ehcp_caseload" not in first_year  # its first census is January 2024
    # The labelled series carries on where Cumbria stops.
    cumbria = table[(table["area_code"] == "E10000006") & (table["measure_id"] == "ehcp_caseload")]
    both = table[(table["area_code"] == COMBINED) & (table["measure_id"] == "ehcp_caseload")]
    assert sorted(cumbria["period"])[-1] == "2023" and sorted(both["period"])[0] == "2024"
    # Cumberland itself (a council, built from its localities) is unchanged: it has every year.
    assert table[table["area_code"] == "E06000063"]["year"].min() <= 2016


def test_demo_store_has_no_rolled_up_rows_outside_an_area_lifetime(demo_config):
    config = demo_config
    for dataset, period, last in [("ehcp_caseload", "year", 2023), ("school_census", "year", 2023),
                                  ("ehcp_assessments", "year", 2022), ("population", "year", 2022),
                                  ("outcomes", "year", 2022)]:
        got = q(config, f"SELECT area_code, max({period}) FROM {{{dataset}}} WHERE area_code IN "
                        f"(SELECT unnest($a)) GROUP BY 1", {"a": CUMBRIA_AREAS})
        assert dict(got) == {a: last for a in CUMBRIA_AREAS}, dataset
    for dataset in ("waiting_list", "waiting_activity"):
        got = q(config, f"SELECT max(month) FROM {{{dataset}}} WHERE area_code IN (SELECT unnest($a))",
                {"a": CUMBRIA_AREAS})
        assert got == [(dt.date(2023, 3, 1),)], dataset
        first = q(config, f"SELECT min(month) FROM {{{dataset}}} WHERE area_code = $c", {"c": COMBINED})
        assert first == [(dt.date(2023, 4, 1),)], dataset
