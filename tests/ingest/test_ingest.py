"""Data platform: contract checks, quarantine, atomic loads, idempotent reloads, encodings."""
from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd
import pytest

from conftest import ROOT, run_cli, write
from send_metrics.config import load_config
from send_metrics.db import Database
from send_metrics.ingest.store import load
from send_metrics.ingest.stored_loads import current_load_dir

HEADER = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
GOOD = [
    "2024,January,LOC-MILLOM,locality,ASD,5to10,mainstream,12",
    "2024,January,LOC-CARLISLE,locality,ASD,5to10,mainstream,30",
    "2024,January,LOC-EDEN,locality,SLCN,11to15,special,7",
]


def caseload(rows: list[str]) -> str:
    return HEADER + "\n".join(rows) + "\n"


def parquet(path, sql):
    con = duckdb.connect()
    return con.execute(sql.replace("$p", f"'{path}'")).fetchall()


def loaded(config, table="ehcp_caseload", where="NOT is_rollup"):
    d = current_load_dir(config.store_dir)
    return parquet(d / f"{table}.parquet", f"SELECT area_code, ehc_plans FROM read_parquet($p) WHERE {where} ORDER BY 1")


def quarantine(config):
    d = current_load_dir(config.store_dir)
    return parquet(d / "quarantine.parquet", "SELECT source_row, column_name, reason FROM read_parquet($p) ORDER BY 1, 2")


BAD_CASES = [
    ("2024,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,-3", "ehc_plans", "negative"),
    ("2024,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,2.5", "ehc_plans", "whole number"),
    ("2024,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,abc", "ehc_plans", "not a number"),
    ("2024,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,", "ehc_plans", "empty cell"),
    ("2024,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,=1+2", "ehc_plans", "formula"),
    ("2024,January,E99999999,locality,ASD,5to10,mainstream,3", "area_code", "unknown area"),
    ("2024,January,LOC-MILLOM,council,SEMH,5to10,mainstream,3", "area_level", "does not match"),
    ("2024,January,LOC-MILLOM,locality,XYZ,5to10,mainstream,3", "primary_need", "not an allowed"),
    ("2024,January,LOC-MILLOM,locality,SEMH,5-10,mainstream,3", "age_band", "not an allowed"),
    ("2099,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,3", "time_period", "future"),
    ("1850,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,3", "time_period", "before 2000"),
    ("2024,Month,LOC-MILLOM,locality,SEMH,5to10,mainstream,3", "time_period", "time_identifier"),
    ("20x4,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,3", "time_period", "not a valid period"),
]


@pytest.mark.parametrize("row,column,reason", BAD_CASES)
def test_each_bad_row_is_quarantined_with_its_column_and_reason(data_dir, row, column, reason):
    write(data_dir / "caseload.csv", caseload(GOOD + [row]))
    config = load_config(data_dir)
    load(config)
    assert len(loaded(config)) == 3, "the good rows load"
    q = quarantine(config)
    assert [(r[0], r[1]) for r in q] == [(5, column)]
    assert reason in q[0][2]


def test_duplicate_key_and_numerator_above_denominator(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD + [GOOD[0].replace(",12", ",13")]))
    write(data_dir / "assess.csv",
          "time_period,time_identifier,area_code,area_level,requests,requests_refused,decisions,"
          "decisions_within_6_weeks,new_plans,plans_issued_ex,plans_issued_20wk_ex,plans_issued_inc,plans_issued_20wk_inc\n"
          "2024,Calendar year,LOC-EDEN,locality,10,2,9,8,7,7,8,7,5\n"
          "2024,Calendar year,LOC-MILLOM,locality,10,2,9,8,7,7,6,7,5\n")
    config = load_config(data_dir)
    load(config)
    q = quarantine(config)
    reasons = " | ".join(r[2] for r in q)
    assert "duplicate key" in reasons and "same as row 2" in reasons
    assert "plans_issued_20wk_ex (8) is greater than plans_issued_ex (7)" in reasons


def test_the_same_figure_in_two_files_loads_once(data_dir):
    write(data_dir / "a_caseload.csv", caseload(GOOD))
    write(data_dir / "b_caseload.csv", caseload([
        GOOD[0].replace(",12", ",99"),  # same key as a_caseload.csv row 2: the first file wins
        "2024,January,LOC-MILLOM,locality,SEMH,5to10,mainstream,4",  # same area, another key: loads
        "2024,January,LOC-ALLERDALE,locality,ASD,5to10,mainstream,6",  # an area only this file has
    ]))
    config = load_config(data_dir)
    load(config)
    assert sorted(loaded(config)) == [("LOC-ALLERDALE", 6), ("LOC-CARLISLE", 30), ("LOC-EDEN", 7),
                              ("LOC-MILLOM", 4), ("LOC-MILLOM", 12)]
    d = current_load_dir(config.store_dir)
    q = parquet(d / "quarantine.parquet", "SELECT source_file, source_row, reason FROM read_parquet($p)")
    assert q == [("b_caseload.csv", 2, "duplicate key: the same figure (same key and edition) is already "
                                        "loaded from a_caseload.csv")]


def test_areas_defined_in_a_parquet_file_are_known_to_every_other_file(data_dir):
    # Files are checked two at a time; a file that defines areas is checked first and alone,
    # whatever its name or format, so no file is checked against an incomplete list of areas.
    duckdb.connect().execute(
        f"COPY (SELECT 'LOC-NEW' AS area_code, 'New locality' AS area_name, 'locality' AS area_level) "
        f"TO '{data_dir / 'z_areas.parquet'}' (FORMAT parquet)")
    write(data_dir / "a_caseload.csv", caseload(GOOD + ["2024,January,LOC-NEW,locality,ASD,5to10,mainstream,9"]))
    write(data_dir / "b_caseload.csv", caseload(["2023,January,LOC-NEW,locality,ASD,5to10,mainstream,8"]))
    config = load_config(data_dir)
    load(config)
    assert quarantine(config) == []
    assert ("LOC-NEW", 9) in loaded(config) and ("LOC-NEW", 8) in loaded(config)


def test_parents_are_summed_only_when_every_member_locality_has_rows(data_dir):
    # January 2023: the former districts still existed (they are never built for later periods).
    rows = GOOD + ["2024,January,LOC-CARLISLE,locality,SLCN,11to15,special,5"]
    write(data_dir / "caseload.csv", caseload([r.replace("2024,", "2023,", 1) for r in rows]))
    config = load_config(data_dir)
    result = load(config)
    parents = dict(parquet(current_load_dir(config.store_dir) / "ehcp_caseload.parquet",
                           "SELECT area_code, sum(ehc_plans) FROM read_parquet($p) "
                           "WHERE is_rollup AND source_file = 'rollup' GROUP BY 1"))
    # Carlisle and Eden districts each have one member locality, which has rows: built as sums.
    assert parents == {"E07000028": 35, "E07000030": 7}
    notes = " | ".join(result.notes)
    # Copeland has Millom but not the rest of Copeland; Cumberland has two of its four localities.
    assert "ehcp_caseload: E07000029 not built for 2023 (1/2 localities)" in notes
    assert "ehcp_caseload: E06000063 not built for 2023 (2/4 localities)" in notes
    assert "E07000028 not built" not in notes


def test_categories_no_child_falls_in_are_written_as_zeros_for_the_hierarchies(data_dir):
    """A missing row says a count is 0, and a missing row cannot be withheld: with the council's
    figure published unsuppressed by DfE, Millom's small count would be Cumberland's less the
    other localities' missing rows. So every combination some area of the hierarchies has is
    written for each of them (in the periods they have rows for), as a built row of 0."""
    rows = GOOD + ["2024,January,E06000009,council,MLD,16to19,other,3"]  # Blackpool: in no hierarchy
    write(data_dir / "caseload.csv", caseload(rows))
    config = load_config(data_dir)
    load(config)
    path = current_load_dir(config.store_dir) / "ehcp_caseload.parquet"
    filled = parquet(path, "SELECT area_code, primary_need, age_band, setting_type, ehc_plans "
                           "FROM read_parquet($p) WHERE source_file = 'zero-fill' ORDER BY ALL")
    assert filled == [("LOC-CARLISLE", "SLCN", "11to15", "special", 0),
                      ("LOC-EDEN", "ASD", "5to10", "mainstream", 0),
                      ("LOC-MILLOM", "SLCN", "11to15", "special", 0)]
    # Built rows: never counted as rows read from a file, nor as an edition of a figure.
    assert parquet(path, "SELECT bool_and(is_rollup) FROM read_parquet($p) WHERE source_file = 'zero-fill'") == [(True,)]
    db = Database(config)
    assert db.rows("SELECT count(*) FROM ehcp_caseload_all_editions") == [(4,)]
    # The sums every output reads are unchanged.
    assert db.rows("SELECT area_code, sum(ehc_plans) FROM ehcp_caseload GROUP BY 1 ORDER BY 1") == [
        ("E06000009", 3), ("LOC-CARLISLE", 30), ("LOC-EDEN", 7), ("LOC-MILLOM", 12)]


def test_an_area_with_rows_of_its_own_is_not_zero_filled_nor_fills_its_localities(data_dir):
    """A council's own file (its published figures) is as the file says: a category only it lists
    (e.g. DfE's total where its parts do not add up) is not a 0 for its localities, and the
    council gets no zeros for the localities' categories."""
    rows = GOOD + ["2024,January,E06000064,council,MLD,16to19,other,3"]  # Westmorland and Furness's own row
    write(data_dir / "caseload.csv", caseload(rows))
    config = load_config(data_dir)
    load(config)
    path = current_load_dir(config.store_dir) / "ehcp_caseload.parquet"
    filled = parquet(path, "SELECT area_code, primary_need, age_band, setting_type, ehc_plans "
                           "FROM read_parquet($p) WHERE source_file = 'zero-fill' ORDER BY ALL")
    assert filled == [("LOC-CARLISLE", "SLCN", "11to15", "special", 0),
                      ("LOC-EDEN", "ASD", "5to10", "mainstream", 0),
                      ("LOC-MILLOM", "SLCN", "11to15", "special", 0)]
    assert parquet(path, "SELECT count(*) FROM read_parquet($p) WHERE area_code = 'E06000064'") == [(1,)]


def test_symbols_are_kept_and_never_zero(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD + ["2024,January,LOC-MILLOM,locality,SLCN,5to10,mainstream,c",
                                                      "2024,January,LOC-MILLOM,locality,HI,5to10,mainstream,low"]))
    config = load_config(data_dir)
    load(config)
    d = current_load_dir(config.store_dir)
    rows = parquet(d / "ehcp_caseload.parquet",
                   "SELECT primary_need, ehc_plans, ehc_plans_symbol FROM read_parquet($p) "
                   "WHERE area_code = 'LOC-MILLOM' ORDER BY 1")
    assert ("SLCN", None, "c") in rows and ("HI", None, "low") in rows
    assert quarantine(config) == []


def test_broken_file_leaves_earlier_data_queryable(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD))
    config = load_config(data_dir)
    first = load(config)
    db = Database(config)
    before = db.rows("SELECT count(*) FROM ehcp_caseload WHERE NOT is_rollup")[0][0]
    (data_dir / "broken.csv").write_bytes(b"\x00\x01\x02binary\x00junk")
    (data_dir / "empty.csv").write_bytes(b"")
    # Random bytes often hold a lone carriage return, which Python's csv module refuses outright.
    (data_dir / "noise.csv").write_bytes(b"\x8f\xa3\r\x07z\x00\xc1\n\x92\r\x1b")
    second = load(config)
    assert second.load_id != first.load_id
    fatal = {r.path: r.fatal for r in second.reports if r.fatal}
    assert "binary" in fatal["broken.csv"] and "empty" in fatal["empty.csv"] and "noise.csv" in fatal
    assert db.rows("SELECT count(*) FROM ehcp_caseload WHERE NOT is_rollup")[0][0] == before


def test_file_that_becomes_unreadable_keeps_its_previous_rows(data_dir):
    path = write(data_dir / "caseload.csv", caseload(GOOD))
    config = load_config(data_dir)
    load(config)
    path.write_bytes(b"\x00garbage")
    result = load(config)
    assert any("kept 3 rows" in n for r in result.reports for n in r.notes)
    assert len(loaded(config)) == 3


def test_load_is_atomic_when_it_fails_half_way(data_dir, monkeypatch):
    write(data_dir / "caseload.csv", caseload(GOOD))
    config = load_config(data_dir)
    first = load(config)
    write(data_dir / "more.csv", caseload(["2023,January,LOC-EDEN,locality,ASD,5to10,mainstream,4"]))
    import send_metrics.ingest.store as store

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(store, "roll_up_and_write", boom)
    with pytest.raises(RuntimeError):
        load(config)
    assert current_load_dir(config.store_dir).name == first.load_id
    assert not list((config.store_dir / "loads").glob("*.partial"))


def test_second_load_with_unchanged_files_does_nothing(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD))
    config = load_config(data_dir)
    first = load(config)
    second = load(config)
    assert first.changed and not second.changed
    assert second.load_id == first.load_id
    assert "nothing changed" in second.notes[0]


def test_corrupted_derived_file_is_rebuilt(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD))
    config = load_config(data_dir)
    first = load(config)
    d = current_load_dir(config.store_dir)
    (d / "ehcp_caseload.parquet").write_bytes(b"not parquet")
    second = load(config)
    assert second.changed and second.load_id != first.load_id
    assert len(loaded(config)) == 3


@pytest.mark.parametrize("encoding,delimiter,newline,bom", [
    ("utf-8", ",", "\n", False), ("utf-8", ",", "\r\n", True), ("cp1252", ";", "\r\n", False),
    ("utf-8", "\t", "\n", False), ("utf-8", ";", "\n", True)])
def test_encodings_and_delimiters(data_dir, encoding, delimiter, newline, bom):
    text = caseload(GOOD).replace(",", delimiter).replace("\n", newline)
    # A Windows-1252 character in an ignored free-text column proves the decoding.
    text = text.replace(f"ehc_plans{newline}", f"ehc_plans{delimiter}note{newline}", 1)
    lines = text.split(newline)
    lines = [lines[0]] + [ln + f"{delimiter}café – £5" if ln else ln for ln in lines[1:]]
    raw = newline.join(lines).encode(encoding)
    if bom:
        raw = b"\xef\xbb\xbf" + raw
    (data_dir / "caseload.csv").write_bytes(raw)
    config = load_config(data_dir)
    result = load(config)
    assert result.reports[0].fatal is None, result.reports[0].fatal
    assert len(loaded(config)) == 3
    assert quarantine(config) == []


def test_header_only_and_wrong_header_are_rejected(data_dir):
    write(data_dir / "header_only.csv", HEADER)
    write(data_dir / "wrong.csv", "foo,bar,baz\n1,2,3\n")
    result = load(load_config(data_dir))
    fatal = {r.path: r.fatal for r in result.reports}
    assert "no data rows" in fatal["header_only.csv"]
    assert "do not match any dataset" in fatal["wrong.csv"]


def test_truncated_row_is_reported_with_its_line(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD + ["2024,January,LOC-EDEN,locality,ASD"]))
    config = load_config(data_dir)
    result = load(config)
    assert len(loaded(config)) == 3
    assert any(p.line == 5 and "malformed row" in p.reason for p in result.reports[0].problems)


def test_cli_validate_exit_codes(tmp_path):
    good = write(tmp_path / "good.csv", caseload(GOOD))
    bad = write(tmp_path / "bad.csv", caseload(GOOD[:1] + ["2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,-1"]))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\xff\x00")
    ok = run_cli("validate", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    r = run_cli("validate", str(bad))
    assert r.returncode == 1
    assert "bad.csv, row 3, column 'ehc_plans': negative value" in r.stdout
    r = run_cli("validate", str(binary))
    assert r.returncode == 1 and "binary" in r.stdout and "Traceback" not in r.stdout + r.stderr
    noise = tmp_path / "noise.csv"
    noise.write_bytes(b"\x8f\xa3\r\x07z\x00\xc1\n\x92\r\x1b")
    r = run_cli("validate", str(noise))
    assert r.returncode == 1 and "noise.csv: REJECTED" in r.stdout and "Traceback" not in r.stdout + r.stderr
    r = run_cli("validate", str(tmp_path / "missing.csv"))
    assert r.returncode == 2
    r = run_cli("frobnicate")
    assert r.returncode == 2


def test_cli_validate_shipped_data_is_clean():
    r = run_cli("validate", str(ROOT / "data"))
    assert r.returncode == 0, r.stdout[-3000:]


def test_cli_load_twice_reports_nothing_changed(tmp_path):
    d = tmp_path / "data"
    write(d / "caseload.csv", caseload(GOOD))
    env = {"SEND_STORE_DIR": str(tmp_path / "store")}
    first = run_cli("load", "--data-dir", str(d), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_cli("load", "--data-dir", str(d), env=env)
    assert second.returncode == 0 and "nothing changed" in second.stdout


def test_data_contract_document_is_up_to_date():
    from send_metrics.present.docs import contract_markdown
    assert (ROOT / "docs" / "data-contract.md").read_text() == contract_markdown() + "\n"


def test_person_level_extract_is_counted_into_caseload(data_dir):
    rows = ["time_period,time_identifier,area_code,area_level,person_id,primary_need,age_band,setting_type"]
    rows += [f"2025,January,LOC-EDEN,locality,P{i},ASD,5to10,mainstream" for i in range(7)]
    rows += [f"2025,January,LOC-EDEN,locality,Q{i},SLCN,11to15,special" for i in range(3)]
    rows += ["2025,January,LOC-EDEN,locality,P1,ASD,5to10,mainstream"]  # the same person twice
    write(data_dir / "persons.csv", "\n".join(rows) + "\n")
    config = load_config(data_dir)
    load(config)
    d = current_load_dir(config.store_dir)
    cells = parquet(d / "ehcp_caseload.parquet", "SELECT primary_need, ehc_plans FROM read_parquet($p) "
                    "WHERE area_code = 'LOC-EDEN' ORDER BY 1")
    assert cells == [("ASD", 7), ("SLCN", 3)]
    assert any("duplicate key" in r[2] for r in quarantine(config))


def test_a_total_beside_its_breakdown_is_quarantined(data_dir):
    write(data_dir / "caseload.csv", caseload(GOOD + ["2024,January,LOC-EDEN,locality,ALL,all,all,20",
                                                      "2024,January,LOC-MILLOM,locality,ALL,all,all,9"]))
    config = load_config(data_dir)
    load(config)
    q = quarantine(config)
    assert len({r[0] for r in q}) == 2, "both total rows sit beside a breakdown of their area and year"
    assert all("counted twice" in r[2] for r in q)


def test_a_total_on_its_own_loads(data_dir):
    write(data_dir / "caseload.csv", caseload(["2024,January,LOC-EDEN,locality,ALL,all,all,20"]))
    config = load_config(data_dir)
    load(config)
    assert loaded(config) == [("LOC-EDEN", 20)] and quarantine(config) == []


# -- person-level Parquet kept as it is --------------------------------------------------------
PERSON_COLUMNS = "time_period, time_identifier, area_code, area_level, person_id, primary_need, age_band, setting_type"


def person_parquet(path, rows: list[tuple]) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE p ({', '.join(c + (' BIGINT' if c == 'time_period' else ' VARCHAR') for c in PERSON_COLUMNS.split(', '))})")
    con.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"COPY p TO '{path}' (FORMAT parquet)")
    con.close()


CLEAN_PERSONS = ([(2024, "January", "LOC-EDEN", "locality", f"P{i}", "ASD", "5to10", "mainstream") for i in range(6)]
                 + [(2025, "January", "LOC-MILLOM", "locality", f"Q{i}", "SLCN", "11to15", "special") for i in range(3)]
                 + [(2025, "January", "LOC-CARLISLE", "locality", "P1", "SEMH", "16to19", "post16")])


def person_views(config) -> dict:
    db = Database(config)
    try:
        return {"persons": db.query("SELECT * FROM ehcp_persons ORDER BY source_row"),
                "all_editions": db.query("SELECT * FROM ehcp_persons_all_editions ORDER BY source_row"),
                "caseload": db.query("SELECT * EXCLUDE (source_row) FROM ehcp_caseload "
                                     "ORDER BY ALL"),
                "quarantine": db.query("SELECT * FROM quarantine ORDER BY ALL")}
    finally:
        db.close()


def test_clean_person_parquet_is_kept_as_is_and_reads_like_a_copied_one(tmp_path, monkeypatch):
    from send_metrics.ingest import store
    (tmp_path / "data").mkdir()
    person_parquet(tmp_path / "data" / "persons.parquet", CLEAN_PERSONS)
    kept_config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "kept")
    result = load(kept_config)
    assert [e["file"] for e in result.kept_as_is] == ["ehcp_persons.kept-0.parquet"]
    d = current_load_dir(kept_config.store_dir)
    assert (d / "ehcp_persons.kept-0.parquet").exists() and not (d / "ehcp_persons.parquet").exists()
    kept = person_views(kept_config)
    monkeypatch.setattr(store, "clean_person_parquet", lambda *a, **k: None)  # the row-by-row path
    copied_config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "copied")
    assert load(copied_config).kept_as_is == []
    copied = person_views(copied_config)
    for name in kept:
        pd.testing.assert_frame_equal(kept[name], copied[name], check_dtype=True)
    assert len(kept["persons"]) == len(CLEAN_PERSONS) and kept["quarantine"].empty
    assert kept["persons"]["source_row"].tolist() == list(range(1, len(CLEAN_PERSONS) + 1))
    assert Database(kept_config).check_integrity() == []


@pytest.mark.parametrize("bad, column", [
    ((2025, "January", "LOC-EDEN", "locality", "R1", "XYZ", "5to10", "mainstream"), "primary_need"),
    ((2025, "January", "LOC-NOWHERE", "locality", "R1", "ASD", "5to10", "mainstream"), "area_code"),
    ((2025, "January", "LOC-EDEN", "locality", "P1", "ASD", "5to10", "mainstream"), "person_id"),  # P1 twice in 2025
    ((2025, "January", "LOC-EDEN", "locality", " R1", "ASD", "5to10", "mainstream"), None),  # untidy: loads, trimmed
])
def test_person_parquet_with_any_doubt_is_checked_row_by_row(tmp_path, bad, column):
    (tmp_path / "data").mkdir()
    person_parquet(tmp_path / "data" / "persons.parquet", CLEAN_PERSONS + [bad])
    config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store")
    result = load(config)
    assert result.kept_as_is == []
    q = quarantine(config)
    if column is None:
        assert q == [] and len(person_views(config)["persons"]) == len(CLEAN_PERSONS) + 1
    else:
        assert [r[1] for r in q] == [column] and q[0][0] == len(CLEAN_PERSONS) + 1


def test_two_person_files_are_compared_row_by_row(tmp_path, monkeypatch):
    from send_metrics.ingest import store
    (tmp_path / "data").mkdir()
    person_parquet(tmp_path / "data" / "a.parquet", CLEAN_PERSONS)
    person_parquet(tmp_path / "data" / "b.parquet", CLEAN_PERSONS[:2])  # two people already in a.parquet
    config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store")
    assert load(config).kept_as_is == []
    assert not list(current_load_dir(config.store_dir).glob("*.kept-*"))
    views = person_views(config)
    assert len(views["persons"]) == len(CLEAN_PERSONS)
    assert set(views["quarantine"]["source_file"]) == {"b.parquet"}
    assert views["quarantine"]["reason"].str.contains("duplicate key").all()
    monkeypatch.setattr(store, "clean_person_parquet", lambda *a, **k: None)
    copied_config = replace(config, store_dir=tmp_path / "copied")
    load(copied_config)
    copied = person_views(copied_config)
    for name in views:
        pd.testing.assert_frame_equal(views[name], copied[name])


def test_kept_file_that_becomes_unreadable_keeps_its_rows(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "persons.parquet"
    person_parquet(path, CLEAN_PERSONS)
    config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store")
    assert load(config).kept_as_is
    before = person_views(config)
    path.write_bytes(b"PAR1 not really parquet")
    result = load(config)
    assert any(r.fatal for r in result.reports)
    after = person_views(config)
    pd.testing.assert_frame_equal(before["persons"], after["persons"])
    pd.testing.assert_frame_equal(before["caseload"], after["caseload"])
