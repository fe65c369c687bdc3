"""Published files (DfE SEN2 releases of every generation, LAIT, statistical neighbours) are
recognised from their columns and mapped to the data contract; drift does not change the result.

Small hand-written fixtures live in tests/fixtures/published/. The real-data tests at the end run
against ../shared/data/real and are skipped when that folder is absent.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, write
from send_metrics.contract import codes
from send_metrics.ingest.adapters import adapt
from send_metrics.ingest.adapters.sen2.outputs import COMBINED_CODE
from send_metrics.ingest.adapters.sen2.rows import not_broken_down
from send_metrics.config import load_config
from send_metrics.ingest.store import load
from send_metrics.ingest.stored_loads import current_load_dir

FIX = ROOT / "tests" / "fixtures" / "published"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
RELEASE_2025 = REAL / "ees_ehcp_2025_witan-sen2" / "data"


# -- helpers ---------------------------------------------------------------------------------

def copy_fixtures(data_dir: Path, *names: str) -> Path:
    for n in names:
        shutil.copytree(FIX / n, data_dir / n)
    return data_dir


def load_dir(data_dir: Path):
    config = load_config(data_dir)
    result = load(config)
    assert result.ok and result.load_id, result.error
    return config, result


def q(config, sql: str, params: dict | None = None) -> list[tuple]:
    """Run SQL over the current load; {name} is replaced by read_parquet of <name>.parquet."""
    d = current_load_dir(config.store_dir)
    names = {p.stem: f"read_parquet('{p.as_posix()}')" for p in d.glob("*.parquet")}
    return duckdb.connect().execute(sql.format(**names), params or {}).fetchall()


def read_out(result, dataset: str) -> list[dict]:
    rows = []
    for ds, p in result.outputs:
        if ds == dataset:
            with open(p, newline="", encoding="utf-8") as fh:
                rows += list(csv.DictReader(fh))
    return rows


def adapt_folder(folder: Path, lead: str, workdir: Path):
    r = adapt(folder / lead, workdir)
    assert r is not None, f"{lead} not recognised"
    return r


# -- EES release (2025 layout) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def release_a_store(tmp_path_factory):
    base = tmp_path_factory.mktemp("release_a")
    data = copy_fixtures(base / "data", "ees_release_a")
    config = replace(load_config(data), store_dir=base / "store")
    result = load(config)
    assert result.ok, result.error
    return config, result


def test_release_loads_without_quarantine_and_explains_every_file(release_a_store):
    config, result = release_a_store
    assert q(config, "SELECT count(*) FROM {quarantine}") == [(0,)]
    assert not [r for r in result.reports if r.fatal]
    notes = "\n".join(result.notes)
    for name in ("caseload.csv", "timeliness_20_week.csv", "newplans.csv", "requests.csv", "annual_reviews.csv",
                 "sen_needs_all_plans.csv"):
        assert name in notes
    assert "appears twice" in notes  # annual_reviews.csv's duplicated header column
    assert "Ethnicity, Sex" in notes  # breakdowns the contract cannot hold are reported, not loaded


def test_assessments_merge_several_files_into_one_row_per_area_and_year(release_a_store):
    config, _ = release_a_store
    rows = q(config, "SELECT area_code, area_level, year, plans_issued_ex, plans_issued_20wk_ex, plans_issued_inc, "
                     "new_plans, requests, requests_refused, decisions, decisions_within_6_weeks, reviews_due, edition "
                     "FROM {ehcp_assessments} WHERE area_code IN ('E06000063', 'E10000006') ORDER BY 1, 3")
    # Cumbria (909) to calendar 2022 only, as a former council; Cumberland from 2023.
    assert [(r[0], r[1], r[2]) for r in rows] == [("E06000063", "council", 2023), ("E06000063", "council", 2024),
                                                   ("E10000006", "former_council", 2022)]
    cumberland_2023 = rows[0]
    assert cumberland_2023[3:7] == (391, 166, 409, 175)  # timeliness_20_week.csv and newplans.csv
    # requests.csv: 221 received, 55 refused; decisions = 110 within + 51 over 6 weeks
    assert cumberland_2023[7:11] == (221, 55, 161, 110)
    assert rows[1][11] == 803 and rows[0][11] is None  # reviews only in the 2024 annual_reviews file
    assert {r[12] for r in rows} == {"2025"}


def test_symbols_are_kept_beside_null_values(release_a_store):
    config, _ = release_a_store
    bristol = q(config, "SELECT plans_issued_20wk_ex, plans_issued_20wk_ex_symbol FROM {ehcp_assessments} "
                        "WHERE area_code = 'E06000023' AND year = 2022")
    lancs = q(config, "SELECT plans_issued_20wk_ex, plans_issued_20wk_ex_symbol, plans_issued_ex "
                      "FROM {ehcp_assessments} WHERE area_code = 'E10000017' AND year = 2024")
    assert bristol == [(None, "u")]
    assert lancs[0][:2] == (None, "low") and lancs[0][2] > 0
    setting = q(config, "SELECT value, value_symbol FROM {benchmarks} WHERE area_code = 'E06000023' "
                        "AND year = 2025 AND measure_id = 'setting_mainstream_pct'")
    assert setting == [(None, "c")]


def test_caseload_totals_match_the_published_totals(release_a_store):
    config, _ = release_a_store
    totals = dict(((a, y), n) for a, y, n in q(
        config, "SELECT area_code, year, sum(ehc_plans) FROM {ehcp_caseload} WHERE NOT is_rollup GROUP BY 1, 2"))
    published = {}
    with open(FIX / "ees_release_a" / "caseload.csv", encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["breakdown"] == "All EHC plans" and r["new_la_code"] in ("E06000063", "E06000064", ""):
                if r["geographic_level"] != "Regional":
                    published[(r["new_la_code"] or "E92000001", int(r["time_period"][:4]) + 1)] = int(r["ehcplans"])
    for k, v in published.items():
        if k[1] >= 2024:
            assert totals[k] == v, k
    # Age x setting cells: real bands, need not given by this file (UNK until the contract has 'all').
    needs = q(config, "SELECT DISTINCT primary_need FROM {ehcp_caseload}")
    assert needs == [(not_broken_down()["primary_need"] or "UNK",)]
    bands = {r[0] for r in q(config, "SELECT DISTINCT age_band FROM {ehcp_caseload}")}
    assert bands <= set(codes.AGE_BANDS) and len(bands) >= 4
    # With the contract's "not broken down" codes every January loads as caseload rows, so
    # Cumbria's last January (2023) is a caseload total, never joined to the new councils.
    cumbria = q(config, "SELECT year, sum(ehc_plans) FROM {ehcp_caseload} WHERE area_code = 'E10000006' "
                        "AND NOT is_rollup GROUP BY 1 ORDER BY 1")
    assert [y for y, _ in cumbria] == [2023]


def test_reorganisation_is_never_joined_and_the_continuity_series_is_labelled(release_a_store):
    config, _ = release_a_store
    assert q(config, "SELECT count(*) FROM {ehcp_assessments} WHERE area_code = 'E10000006' AND year >= 2023") == [(0,)]
    area = q(config, "SELECT area_level, area_name, coverage_note FROM {areas} WHERE area_code = $c",
             {"c": COMBINED_CODE})
    assert area[0][0] == "combined" and "both councils" in area[0][1] and "never joined" in area[0][2]
    both = q(config, "SELECT year, plans_issued_ex, plans_issued_20wk_ex FROM {ehcp_assessments} "
                     "WHERE area_code = $c ORDER BY 1", {"c": COMBINED_CODE})
    parts = q(config, "SELECT year, sum(plans_issued_ex), sum(plans_issued_20wk_ex) FROM {ehcp_assessments} "
                      "WHERE area_code IN ('E06000063', 'E06000064') GROUP BY 1 ORDER BY 1")
    assert both == parts and [y for y, *_ in both] == [2023, 2024]


# -- drift -----------------------------------------------------------------------------------

def _rewrite(path: Path, how: str) -> None:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    if how == "no_bom_lf":
        path.write_bytes(text.replace("\r\n", "\n").encode("utf-8"))
        return
    if how == "upper_case_header":
        header = [h.upper() for h in header]
    elif how == "camel_case_header":
        header = ["".join(p.capitalize() for p in h.split("_")) for h in header]
    elif how == "reordered_columns":
        order = list(range(len(header)))[::-1]
        header = [header[i] for i in order]
        body = [[r[i] for i in order] for r in body]
    elif how == "added_columns":
        header = header[:12] + ["new_indicator_2027"] + header[12:] + ["another_one"]
        body = [r[:12] + ["7"] + r[12:] + ["z"] for r in body]
    elif how == "duplicated_column":
        header = header + [header[-1]]
        body = [r + ["999"] for r in body]
    elif how == "windows_1252":
        pass
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header] + body)
    out = buf.getvalue()
    if how == "windows_1252":
        out = out.replace("Cumberland", "Cumberland\u2019s").encode("cp1252")
        path.write_bytes(out)
        return
    path.write_bytes(b"\xef\xbb\xbf" + out.encode("utf-8"))


DRIFTS = ["no_bom_lf", "upper_case_header", "camel_case_header", "reordered_columns", "added_columns",
          "duplicated_column", "windows_1252"]


@pytest.fixture(scope="module")
def baseline_outputs(tmp_path_factory):
    work = tmp_path_factory.mktemp("baseline")
    folder = work / "data"
    shutil.copytree(FIX / "ees_release_a", folder)
    out = {}
    for lead, ds in (("timeliness_20_week.csv", "ehcp_assessments"), ("caseload.csv", "ehcp_caseload")):
        r = adapt_folder(folder, lead, work / lead)
        out[ds] = read_out(r, ds)
    return out


def _essential(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(v for k, v in r.items() if k != "area_name") for r in rows)


@pytest.mark.parametrize("how", DRIFTS)
def test_drifted_files_give_the_same_rows(tmp_path, baseline_outputs, how):
    folder = tmp_path / "data"
    shutil.copytree(FIX / "ees_release_a", folder)
    for f in folder.glob("*.csv"):
        _rewrite(f, how)
    for lead, ds in (("timeliness_20_week.csv", "ehcp_assessments"), ("caseload.csv", "ehcp_caseload")):
        r = adapt_folder(folder, lead, tmp_path / lead)
        assert _essential(read_out(r, ds)) == _essential(baseline_outputs[ds]), (how, ds)
    if how == "duplicated_column":
        assert any("appears twice" in n for n in r.notes)


def test_quoted_names_with_commas_survive(release_a_store):
    config, _ = release_a_store
    assert q(config, "SELECT DISTINCT area_name FROM {ehcp_assessments} WHERE area_code = 'E06000023'") == [
        ("Bristol, City of",)]


def test_2026_layout_and_revised_editions_latest_wins_both_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    data = copy_fixtures(tmp_path / "data", "ees_release_a", "ees_release_b")
    config, result = load_dir(data)
    assert q(config, "SELECT count(*) FROM {quarantine}") == [(0,)]
    latest = q(config, "SELECT plans_issued_20wk_ex, edition FROM {ehcp_assessments} "
                       "WHERE area_code = 'E06000063' AND year = 2024")
    every = q(config, "SELECT edition, plans_issued_20wk_ex FROM {ehcp_assessments_all_editions} "
                      "WHERE area_code = 'E06000063' AND year = 2024 ORDER BY 1")
    assert latest == [(170, "2026")]
    assert every == [("2025", 174), ("2026", 170)]
    # special_academy + special_free_school (2026) are summed into 'special' like special_academy_free.
    special = q(config, "SELECT edition, sum(ehc_plans) FROM {ehcp_caseload_all_editions} "
                        "WHERE area_code = 'E06000064' AND year = 2025 AND setting_type = 'special' GROUP BY 1 ORDER BY 1")
    assert special[0][1] == special[1][1]
    notes = "\n".join(result.notes)
    assert "requests, requests_refused, decisions, decisions_within_6_weeks not in the files read" in notes


# -- older generations -----------------------------------------------------------------------

def test_snake_case_mi_and_camelcase_generations_map_the_same_way(tmp_path):
    snake = adapt(FIX / "sen2_mi_snake" / "sen2_mi.csv", tmp_path / "s")
    camel = adapt(FIX / "sen2_camelcase" / "SEN2_MI_2018.csv", tmp_path / "c")
    s_rows = {(r["time_period"], r["area_code"]): r for r in read_out(snake, "ehcp_assessments")}
    c_rows = {(r["time_period"], r["area_code"]): r for r in read_out(camel, "ehcp_assessments")}
    cols = ["requests", "requests_refused", "new_plans", "plans_issued_ex", "plans_issued_20wk_ex",
            "plans_issued_inc", "plans_issued_20wk_inc", "decisions"]
    # decisions are not in this generation: left empty (the publication does not give them), so
    # another file's figure can stand; the load shows 'x' when none does.
    assert [s_rows[("2019", "E92000001")][c] for c in cols] == ["82329", "18755", "53899", "49519", "29895",
                                                               "53327", "31313", ""]
    for (year, area), r in c_rows.items():
        assert [r[c] for c in cols] == [s_rows[("2019", area)][c] for c in cols]
    # Legacy symbols ':' and '~' are kept as published.
    assert (c_rows[("2017", "E06000023")]["requests"], c_rows[("2017", "E06000023")]["requests_refused"]) == (":", "~")
    # No release date in a guidance file or a folder name: an MI file takes the edition of the release
    # it belongs to (it ends with the calendar year before that release's reporting year): the release
    # date where it is known (typed with its source in sen2.rows.KNOWN_RELEASES), else the reporting year;
    # never the day it was copied (issue 20: a copied 2023 MI file outranked the 2025 release).
    from send_metrics.ingest.adapters.sen2.rows import KNOWN_RELEASES
    for result in (snake, camel):
        rows = read_out(result, "ehcp_assessments")
        reporting = max(int(r["time_period"]) for r in rows) + 1
        want = KNOWN_RELEASES[reporting][0] if reporting in KNOWN_RELEASES else str(reporting)
        assert {r["edition"] for r in rows} == {want}
        assert any(f"reporting year {reporting}" in n and "modification day is not used" in n or
                   f"so reporting year {reporting} (release date not known" in n for n in result.notes)


def test_mi_file_of_the_2023_release_gives_way_to_the_2025_release(tmp_path):
    """Issue 20: the 2023 release's MI file (calendar years to 2022), copied without its dates, takes the
    2023 release's edition (22 June 2023), which sorts before the 2025 release's ('2025', its reporting
    year from the data guidance), so the 2025 release's figures for 2019-2022 win."""
    text = (FIX / "sen2_mi_snake" / "sen2_mi.csv").read_text(encoding="utf-8-sig")
    header, *body = text.splitlines()
    first = body[0].split(",")
    year_col = header.split(",").index("time_period") if "time_period" in header else 0
    first[year_col] = "2022"
    path = write(tmp_path / "copied" / "sen2_mi.csv", "\n".join([header, ",".join(first)]) + "\n")
    res = adapt(path, tmp_path / "out")
    eds = {r["edition"] for r in read_out(res, "ehcp_assessments")}
    assert eds == {"2023-06-22"} and "2023-06-22" < "2025"


def test_old_caseload_generation_totals_become_caseload_totals(tmp_path):
    # The contract's "not broken down" codes let a total load as one caseload row.
    r = adapt(FIX / "sen2_old_caseload" / "sen2_age_caseload.csv", tmp_path)
    rows = read_out(r, "ehcp_caseload")
    keys = {(b["time_period"], b["area_code"]) for b in rows}
    assert keys >= {("2022", "E10000006"), ("2021", "E92000001")}
    assert all(b["time_identifier"] == "January" and b["primary_need"] == "ALL" and b["age_band"] == "all"
               and b["setting_type"] == "all" for b in rows)
    assert any("Total_all" in n for n in r.notes)


def test_contract_shaped_and_unknown_files_are_left_to_the_validator(tmp_path):
    p = tmp_path / "extract.csv"
    p.write_text("time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
                 "2024,January,LOC-MILLOM,locality,ASD,5to10,mainstream,12\n")
    assert adapt(p, tmp_path / "w") is None
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n")
    assert adapt(other, tmp_path / "w2") is None
    guide = tmp_path / "data-guidance.txt"
    guide.write_text("Education, health and care plans\nReporting year 2025\n\nVariable names and descriptions\n")
    r = adapt(guide, tmp_path / "w3")
    assert r is not None and r.outputs == []


def test_need_by_setting_partition_when_the_contract_has_all_codes(tmp_path, monkeypatch):
    """Once the contract has 'not broken down' codes, 2025 caseload carries need x setting."""
    monkeypatch.setattr(codes, "AGE_BANDS", {**codes.AGE_BANDS, "all": "All ages"})
    monkeypatch.setattr(codes, "PRIMARY_NEEDS", {**codes.PRIMARY_NEEDS, "ALL": "All needs"})
    monkeypatch.setattr(codes, "SETTING_TYPES", {**codes.SETTING_TYPES, "all": "All settings"})
    folder = tmp_path / "data"
    shutil.copytree(FIX / "ees_release_a", folder)
    rows = read_out(adapt(folder / "caseload.csv", tmp_path / "w"), "ehcp_caseload")
    by = {}
    for r in rows:
        by.setdefault((r["time_period"], r["area_code"]), []).append(r)
    # Every area and year is now in the dataset, each as one partition of its total.
    assert ("2023", "E10000006") in by and ("2023", "E10000017") in by
    assert {r["age_band"] for r in by[("2023", "E10000006")]} == {"all"}
    assert {r["primary_need"] for r in by[("2023", "E10000006")]} == {"ALL"}


# -- LAIT and statistical neighbours ---------------------------------------------------------

def test_lait_long_data_becomes_benchmarks_for_catalogue_measures(tmp_path):
    folder = tmp_path / "lait"
    shutil.copytree(FIX / "lait", folder)
    r = adapt(folder / "bds_long_sample.csv", tmp_path / "w")
    rows = {(b["measure_id"], b["area_code"], b["time_period"]): b for b in read_out(r, "benchmarks")}
    assert rows[("timeliness_20wk_ex", "E06000063", "2024")]["value"] == "42.6"
    assert rows[("timeliness_20wk_ex", "E10000006", "2022")]["value"] == "72.1"
    assert rows[("pupils_ehcp_pct", "E06000063", "2024")]["value"] == "5.1"  # '(Rev)' beats the plain year
    assert rows[("ks2_rwm_ehc_plan", "E10000017", "202324")]["time_identifier"] == "Academic year"
    assert ("timeliness_20wk_ex", "E10000006", "2024") not in rows  # '-' = no figure, not a zero
    assert rows[("timeliness_20wk_ex", "E92000001", "2024")]["edition"] == "2025-06-01 (LAIT)"
    notes = "\n".join(r.notes)
    assert "London (Inner)" in notes and "polarity 'Low'" in notes
    # The same data as Parquet (the published form) gives the same rows.
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{(folder / 'bds_long_sample.csv').as_posix()}', all_varchar=true)) "
                f"TO '{(folder / 'bds_long_0.parquet').as_posix()}' (FORMAT parquet)")
    # Same edition: a file's edition falls back to its modification day, and the copy is made today.
    csv_time = (folder / "bds_long_sample.csv").stat().st_mtime
    os.utime(folder / "bds_long_0.parquet", (csv_time, csv_time))
    (folder / "bds_long_sample.csv").unlink()
    rp = adapt(folder / "bds_long_0.parquet", tmp_path / "wp")
    assert sorted(map(tuple, (d.values() for d in read_out(rp, "benchmarks")))) == \
        sorted(map(tuple, (d.values() for d in read_out(r, "benchmarks"))))
    assert adapt(folder / "lait_data_dictionary.csv", tmp_path / "wd").outputs == []


def test_statistical_neighbours_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    data = copy_fixtures(tmp_path / "data", "stat_neighbours")
    config, result = load_dir(data)
    rows = q(config, "SELECT area_code, neighbour_code, neighbour_rank FROM {statistical_neighbours} ORDER BY 1, 3")
    assert ("E06000063", "E06000064", 1) in rows and ("E06000047", "E08000037", 1) in rows  # Durham, Gateshead
    assert ("E06000023", "E08000035", 1) in rows  # "Bristol, City of" (quoted name with a comma) -> Leeds
    assert any("Atlantis" in n for n in result.notes)


# -- the real published files (../shared/data/real) ------------------------------------------

real = pytest.mark.skipif(not RELEASE_2025.is_dir(),
                          reason=f"real published data not found at {REAL} (the shared folder beside the project)")


@pytest.fixture(scope="module")
def real_release(tmp_path_factory):
    if not RELEASE_2025.is_dir():
        pytest.skip(f"real published data not found at {REAL}")
    base = tmp_path_factory.mktemp("real")
    data = base / "data" / "ehcp_2025"
    shutil.copytree(RELEASE_2025, data)
    config = replace(load_config(base / "data"), store_dir=base / "store")
    result = load(config)
    assert result.ok, result.error
    return config, result


@real
def test_real_release_loads_with_no_unexplained_quarantine(real_release):
    config, result = real_release
    assert not [r.path for r in result.reports if r.fatal]
    assert q(config, "SELECT count(*) FROM {quarantine}") == [(0,)]
    councils = q(config, "SELECT count(DISTINCT area_code) FROM {ehcp_assessments} WHERE area_level = 'council' "
                         "AND year = 2024 AND plans_issued_ex IS NOT NULL")
    assert councils[0][0] >= 150


@real
def test_real_release_reproduces_published_figures(real_release):
    config, _ = real_release
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    engine = Engine(Database(config))
    t = engine.table(["timeliness_20wk_ex"], ["E92000001", "E06000063", "E06000064"], ["2024"])
    got = {a: round(v, 1) for a, v in zip(t["area_code"], t["value"])}
    assert got == {"E92000001": 46.4, "E06000063": 42.6, "E06000064": 91.6}
    c = engine.table(["ehcp_caseload"], ["E92000001", "E06000063", "E06000064"], ["2024", "2025"])
    got = {(a, str(p)[:4]): v for a, p, v in zip(c["area_code"], c["period_label"], c["value"])}
    assert got[("E92000001", "2025")] == 638745
    assert got[("E06000063", "2024")] == 2656 and got[("E06000063", "2025")] == 2893
    assert got[("E06000064", "2024")] == 2196 and got[("E06000064", "2025")] == 2377
    all_councils = engine.table(["timeliness_20wk_ex"], None, ["2024"])
    assert (all_councils["area_level"] == "council").sum() >= 150
    # England 2024's age rows do not add up to its total, so the total loads as one "all" row.
    assert got[("E92000001", "2024")] == 576474


@real
def test_real_mi_lait_and_neighbours(tmp_path):
    mi = adapt(REAL / "dfe_send_ap_inclusion_dashboard" / "ehc_plans" / "sen2_mi.csv", tmp_path / "mi")
    rows = {(r["time_period"], r["area_code"]): r for r in read_out(mi, "ehcp_assessments")}
    eng = rows[("2019", "E92000001")]
    assert round(100 * int(eng["plans_issued_20wk_ex"]) / int(eng["plans_issued_ex"]), 1) == 60.4
    assert rows[("2022", "E10000006")]["plans_issued_20wk_ex"] == "326"
    nb = adapt(REAL / "dfe_statistical_neighbours_data-to-insight" / "stat neighbours.csv", tmp_path / "nb")
    links = read_out(nb, "statistical_neighbours")
    assert len(links) == 1530 and not any("not matched" in n for n in nb.notes)
    lait = adapt(REAL / "lait" / "bds_long_0.parquet", tmp_path / "lait")
    bench = {(b["measure_id"], b["area_code"], b["time_period"]): b["value"] for b in read_out(lait, "benchmarks")}
    assert bench[("timeliness_20wk_ex", "E92000001", "2024")] == "46.4"
    assert bench[("timeliness_20wk_ex", "E06000064", "2024")] == "91.6"
    assert bench[("pupils_ehcp_pct", "E06000063", "2025")] == "5.7"


# -- NHS ---------------------------------------------------------------------------------------

def test_autism_referrals_load_for_sub_icbs_and_01k_is_never_south_cumbria(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    data = copy_fixtures(tmp_path / "data", "nhs")
    config, result = load_dir(data)
    rows = q(config, "SELECT area_code, month, referrals_received, referrals_received_symbol, seen_symbol "
                     "FROM {waiting_activity} WHERE NOT is_rollup ORDER BY 1, 2")
    assert [(r[0], str(r[1])[:7], r[2], r[3]) for r in rows] == [
        ("E38000215", "2022-07", 25, None), ("E38000215", "2022-08", None, "c"), ("E38000228", "2022-07", 70, None)]
    assert all(r[4] == "x" for r in rows)
    assert q(config, "SELECT count(*) FROM {waiting_activity} WHERE area_code LIKE 'HF-%'") == [(0,)]
    notes = "\n".join(result.notes)
    assert "NOT South Cumbria" in notes and "MHSDS" in notes
    assert q(config, "SELECT count(*) FROM {quarantine}") == [(0,)]


def test_chs_workbook_without_its_tables_is_not_claimed(tmp_path):
    """A workbook with a CHS-like title but no table header is not a CHS file (the full CHS layout is
    loaded: see tests/pages/test_real_nhs.py)."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Cover page"
    wb.active["A1"] = "Title:"
    ws = wb.create_sheet("Table 4a")
    ws["A1"] = "Number waiting 0-1 weeks (0-7 days) by service, October 2023"
    ws.append(["Provider", "RNN", "NORTH CUMBRIA INTEGRATED CARE NHS FOUNDATION TRUST", None, 12])
    p = tmp_path / "community_health_2023-12-01.xlsx"
    wb.save(p)
    assert adapt(p, tmp_path / "w") is None


# -- Special educational needs in England (school census) ------------------------------------

def test_sen_in_england_generations_give_pupil_percentages(tmp_path):
    folder = FIX / "sen_in_england"
    wide = {(b["area_code"], b["measure_id"]): b for b in
            read_out(adapt(folder / "sen_phase_type_2023.csv", tmp_path / "a"), "benchmarks")}
    assert wide[("E10000006", "pupils_ehcp_pct")]["value"] == "4.7"  # region_name before region_code
    assert wide[("E10000006", "pupils_ehcp_pct")]["time_period"] == "2023"
    assert wide[("E10000017", "pupils_sen_support_pct")]["value"] == "c"
    long = {(b["area_code"], b["measure_id"]): b for b in
            read_out(adapt(folder / "sen_provision_2026.csv", tmp_path / "b"), "benchmarks")}
    assert long[("E06000063", "pupils_ehcp_pct")]["value"] == "6"
    assert (long[("E06000063", "pupils_ehcp_pct")]["numerator"], long[("E06000063", "pupils_ehcp_pct")]["denominator"]) \
        == ("2520", "42000")
    by_need = adapt(folder / "sen_primary_need_2024.csv", tmp_path / "c")
    assert by_need is not None and by_need.outputs == [] and "primary need" in by_need.notes[-1]


# -- the SEND Tribunal appeal-rate table (issue 20) ---------------------------------------------

TRIBUNAL_LAYOUT = (
    # The layout of 'SEND Tribunals and appeal rate 2014-2024.csv' (EHC plans release, supporting files):
    # a title, two blank rows, a header of years (three columns each), a header of labels, region
    # headings without figures, council rows (name with footnote digits, DfE number), the England total.
    '\ufeff"SEND Appeal rate table 1: Special Educational Needs - Appeal rate to the SEND Tribunal based on total '
    'appealable decisions1, by local authorities in England 2022-20232,3",,,,,,,,\n'
    ",,,,,,,,\n,,,,,,,,\n"
    "Local Authority,LA code,2022,,,2023,,,\n"
    ",,Appeals registered4,Total Appealable Decisions1,SEND Tribunal Appeal Rate2,Appeals registered4,"
    '"Total Appealable Decisions1,9",SEND Tribunal Appeal Rate2,"In development: Total Appealable Decisions1,8"\n'
    "NORTH WEST,,,,,,,,\n"
    'Cumberland8,942, .. , .. , .. ,29,"2,803",1.00%,"2,039"\n'
    'Cumbria8,909,46,"4,626",1.00%, .. , .. , .. ,\n'
    'Blackpool,890, - ,"1,370",0.00%, ~ ,"1,546", ~ ,x\n'
    # as published in 2025: Nottingham's row carries 891, DfE's number for Nottinghamshire
    'Nottingham,891,38,"1,526",2.50%,48,"2,273",2.10%,"1,451"\n'
    '"England Total4,9",,"12,796","549,887",2.30%,"15,615","617,776",2.50%,"364,912"\n'
    "England total excluding suppressed,,,,,,,,\n"
    "Notes: ,,,,,,,,\n"
    ".. Not Available,,,,,,,,\n"
    "~ Suppressed ,,,,,,,,\n")


def test_tribunal_table_is_read_as_published(tmp_path):
    path = write(tmp_path / "rel" / "supporting-files" / "SEND Tribunals and appeal rate 2022-2023.csv",
                 TRIBUNAL_LAYOUT)
    res = adapt(path, tmp_path / "out")
    assert res is not None and "Tribunal" in res.source_format
    got = {(r["area_code"], r["time_period"]): (r["appeals_registered"], r["appealable_decisions"])
           for r in read_out(res, "tribunal_appeals")}
    assert got[("E06000063", "2023")] == ("29", "2803")        # thousands separator removed
    assert ("E06000063", "2022") not in got                    # '..': Cumberland did not exist
    assert got[("E10000006", "2022")] == ("46", "4626") and ("E10000006", "2023") not in got
    assert got[("E06000009", "2022")] == ("0", "1370")         # '-' is nil (published rate 0.00%)
    assert got[("E06000009", "2023")] == ("c", "1546")         # '~' suppressed
    assert got[("E92000001", "2023")] == ("15615", "617776")   # England total; footnote digits ignored
    assert got[("E06000018", "2023")] == ("48", "2273")        # the name decides, not the table's LA code
    assert ("E10000024", "2023") not in got
    notes = "\n".join(res.notes)
    assert "In development" in notes and "'-' is nil" in notes and "matched by name: Nottingham (891)" in notes
