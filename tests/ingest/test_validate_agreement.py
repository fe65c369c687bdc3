"""One verdict per file: `validate` runs the loader's recognition and adaptation, so the two commands
agree about every file (issue 16).

* every real published file in ../shared/data/real (skipped when absent): `validate FILE` and a
  `load` of that file alone (in its own data folder and store) give the same recognition and exit
  0 together;
* the derived CRLF table gets a plain message naming what it is, never the CSV engine's words;
  a CSV the engine cannot read gets a sentence naming the row;
* each older-generation fixture of the EHC plans release loads or is "recognised, not loaded",
  and `load` exits 0;
* an unrecognised file's message lists its columns and the publications the loader knows.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import REAL, ROOT, run_cli, write

FIX = ROOT / "tests" / "fixtures" / "published"
KEY_SERIES = REAL / "derived" / "ehcp_key_series_cumbria_lancs_england.csv"
LAIT_EXTRACT = REAL / "derived" / "lait_sen_extract_cumbria_lancs_england.csv"
ENGINE_WORDS = ("state machine", "Invalid Input Error", "DuckDB", "Parser", "Binder Error", "Conversion Error")
KNOWN = ("Education, health and care plans", "Special educational needs in England", "LAIT",
         "statistical neighbours", "autism waiting", "MHSDS", "Community Health Services",
         "python -m send_metrics contract")


def real_files() -> list[Path]:
    if not REAL.is_dir():
        return []
    from send_metrics.ingest.data_folder import discover
    return discover(REAL)


def _short(p: Path) -> str:
    return str(p.relative_to(REAL)) if REAL in p.parents else p.name


def _place(src: Path, dest: Path) -> None:
    """The file at ``dest`` as a regular file with the same bytes and modification time."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _load_alone(path: Path, base: Path):
    """`python -m send_metrics load` of this file alone (a hard link or copy with its modification
    time: the folder's siblings are not there, as when the file is dropped into a data folder by
    itself; a symbolic link out of the data folder is refused by the loader, issue 18)."""
    data = base / "data"
    data.mkdir(parents=True)
    _place(path, data / path.name)
    return run_cli("load", "--data-dir", str(data), env={"SEND_STORE_DIR": str(base / "store")})


def _validate_alone(path: Path, base: Path):
    folder = base / "v"
    folder.mkdir(parents=True)
    _place(path, folder / path.name)
    return run_cli("validate", str(folder / path.name))


def _status(load_out: str, name: str) -> str:
    """What `load` did with the file: rejected, loaded, or recognised (notes only)."""
    start = rf"^(?:[^\n]*/)?{re.escape(name)}"  # the name, under its folder in the data folder
    if re.search(rf"{start}: REJECTED", load_out, re.M):
        return "rejected"
    if re.search(rf"{start}( \[.*\])?: (OK|PROBLEMS)", load_out, re.M):
        return "loaded"
    if re.search(rf"{start}: ", load_out, re.M):
        return "recognised"
    return "unknown"


def _validate_status(out: str, name: str) -> str:
    line = next((ln for ln in out.splitlines() if ln.split(": ", 1)[0].endswith(name)), "")
    if ": REJECTED" in line:
        return "rejected"
    if "RECOGNISED, NOT LOADED" in line or ("RECOGNISED - " in line and "loaded together with" in line):
        return "recognised"
    if "RECOGNISED - " in line or ": OK - " in line or ": PROBLEMS - " in line:
        return "loaded"
    return "unknown"


@pytest.fixture(scope="module")
def real_verdicts(tmp_path_factory) -> dict[str, tuple]:
    """Each real file loaded alone and validated alone, once for the module (two at a time)."""
    from concurrent.futures import ThreadPoolExecutor
    files = real_files()
    if not files:
        pytest.skip(f"real published data folder {REAL} is absent")
    root = tmp_path_factory.mktemp("agreement")

    def one(i_path):
        i, p = i_path
        return _short(p), (p, _load_alone(p, root / f"l{i}"), _validate_alone(p, root / f"v{i}"))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, enumerate(files)))


@pytest.mark.real_data
@pytest.mark.parametrize("name", [_short(p) for p in real_files()] or ["(no real data)"])
def test_validate_and_load_agree_on_every_real_file(name, real_verdicts):
    path, loaded, validated = real_verdicts[name]
    both = loaded.stdout + loaded.stderr + validated.stdout + validated.stderr
    assert "Traceback" not in both, both[-3000:]
    for word in ENGINE_WORDS:
        assert word not in validated.stdout and word not in loaded.stdout, both[-3000:]
    load_status = _status(loaded.stdout, path.name)
    validate_status = _validate_status(validated.stdout, path.name)
    assert load_status != "unknown" and validate_status != "unknown", both[-3000:]
    assert load_status == validate_status, both[-3000:]
    assert (loaded.returncode == 0) == (validated.returncode == 0), both[-3000:]
    if load_status in ("loaded", "recognised"):
        assert loaded.returncode == 0 and validated.returncode == 0, both[-3000:]
    else:  # rejected by both: the message says which columns were found, never "closest is"
        assert "closest is" not in validated.stdout
        line = next(ln for ln in validated.stdout.splitlines() if "REJECTED" in ln)
        assert line.split("REJECTED: ", 1)[1] in loaded.stdout, "the same message from both commands"


@pytest.mark.real_data
def test_every_published_sen2_and_nhs_file_loads_or_is_recognised(real_verdicts):
    """The published files the loader knows are never rejected (only non-publications may be)."""
    rejected = {name for name, (p, loaded, _v) in real_verdicts.items()
                if _status(loaded.stdout, p.name) == "rejected"}
    known = {n for n in real_verdicts if n.startswith(("ees_ehcp_2025", "lait/bds", "lait/lait_data",
                                                       "dfe_statistical", "derived/", "dfe_send_ap_inclusion_dashboard/nhs",
                                                       "dfe_send_ap_inclusion_dashboard/ehc_plans"))}
    assert not (rejected & known), sorted(rejected & known)


# -- the derived CRLF table and engine errors --------------------------------------------------

@pytest.mark.real_data
@pytest.mark.skipif(not KEY_SERIES.exists(), reason=f"{KEY_SERIES} is absent")
def test_derived_crlf_key_series_gets_a_plain_message(tmp_path):
    r = run_cli("validate", str(KEY_SERIES))
    assert r.returncode == 0, r.stdout + r.stderr
    line = r.stdout.splitlines()[0]
    assert "RECOGNISED, NOT LOADED" in line and "derived" in line and "not a publication" in line
    assert "EHCP 2025 release caseload.csv" in line  # names the publications its figures come from
    for word in ENGINE_WORDS:
        assert word not in r.stdout + r.stderr
    loaded = _load_alone(KEY_SERIES, tmp_path)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "derived table of published figures" in loaded.stdout and "REJECTED" not in loaded.stdout


@pytest.mark.real_data
@pytest.mark.skipif(not LAIT_EXTRACT.exists(), reason=f"{LAIT_EXTRACT} is absent")
def test_derived_lait_extract_is_read_as_lait_long_data(tmp_path):
    r = run_cli("validate", str(LAIT_EXTRACT))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Local Authority Interactive Tool" in r.stdout and "filtered copy" in r.stdout
    assert "-> benchmarks]: OK" in r.stdout


def test_mixed_line_endings_in_a_contract_file_are_read(tmp_path):
    """Lines ending partly in CRLF and partly in LF (a CSV edited in two editors) load; the CSV
    engine alone stops on such a file with 'CSV Parser state machine reached an invalid state'."""
    header = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans"
    rows = ["2024,January,E10000017,council,ASD,5to10,mainstream,12",
            "2024,January,E10000017,council,SLCN,5to10,mainstream,7"]
    p = tmp_path / "mixed.csv"
    p.write_bytes((header + "\r\n" + rows[0] + "\r\n" + rows[1] + "\n").encode())
    with pytest.raises(duckdb.Error):  # the failure this guards against
        duckdb.connect().execute(
            "SELECT * FROM read_csv($p, header=true, auto_detect=false, strict_mode=true, "
            "columns={'a':'VARCHAR','b':'VARCHAR','c':'VARCHAR','d':'VARCHAR','e':'VARCHAR','f':'VARCHAR',"
            "'g':'VARCHAR','h':'VARCHAR'})", {"p": str(p)}).fetchall()
    r = run_cli("validate", str(p))
    assert r.returncode == 0, r.stdout
    assert "2 rows read, 2 valid" in r.stdout and "line endings were mixed" in r.stdout


def test_an_unreadable_csv_gets_a_sentence_with_its_row(tmp_path, monkeypatch):
    """When the CSV engine cannot read a file at all, the message is a sentence naming the row."""
    from send_metrics.ingest import readers
    header = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans"
    p = write(tmp_path / "broken.csv", header + "\n2024,January,E10000017,council,ASD,5to10,mainstream,12\n"
              "2024,January,E10000017,council,ASD,5to10,special,7,extra\n")

    def engine_stops(*a, **k):
        raise duckdb.InvalidInputException("Invalid Input Error: The CSV Parser state machine reached an invalid state.")

    monkeypatch.setattr(readers, "_read_csv_table", engine_stops)
    with pytest.raises(readers.UnreadableFile) as exc:
        readers.read_raw(duckdb.connect(), p, "t")
    message = str(exc.value)
    assert "row 3" in message and "9 cells where the header has 8" in message
    for word in ENGINE_WORDS:
        assert word not in message


def test_malformed_rows_are_described_in_plain_words(tmp_path):
    header = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans"
    p = write(tmp_path / "rows.csv", header + "\n2024,January,E10000017,council,ASD,5to10,mainstream,12\n"
              "2024,January,E10000017,council,ASD,5to10,special,7,extra\n")
    r = run_cli("validate", str(p))
    assert r.returncode == 1
    assert "row 3: malformed row: 9 cells where the header has 8" in r.stdout, r.stdout
    assert "Expected Number of Columns" not in r.stdout


# -- older generations of the EHC plans release ----------------------------------------------

OLD_RELEASES = {
    "sen2_release_2022": {
        "sen2_age_caseload.csv": "loaded", "sen2_estab_caseload.csv": "recognised",
        "sen2_age_new_plans.csv": "loaded", "sen2_estab_new_plans.csv": "recognised",
        "sen2_mi.csv": "loaded", "sen2_wbp_residential_dmo.csv": "recognised"},
    "sen2_release_2023_long": {
        "sen2_age_caseload.csv": "loaded", "sen2_estab_caseload.csv": "recognised",
        "sen2_age_new_plans.csv": "loaded", "sen2_wbp.csv": "recognised",
        "sen2_residential_statements.csv": "recognised", "sen2_dmo_dco.csv": "recognised"},
}


@pytest.fixture(scope="module")
def old_release_loads(tmp_path_factory) -> dict:
    out = {}
    for release in OLD_RELEASES:
        base = tmp_path_factory.mktemp(release)
        shutil.copytree(FIX / release, base / "data" / release)
        loaded = run_cli("load", "--data-dir", str(base / "data"), env={"SEND_STORE_DIR": str(base / "store")})
        validated = run_cli("validate", str(base / "data" / release))
        out[release] = (base, loaded, validated)
    return out


@pytest.mark.parametrize("release", list(OLD_RELEASES))
def test_older_generation_release_loads_and_load_exits_0(release, old_release_loads):
    base, loaded, validated = old_release_loads[release]
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert validated.returncode == 0, validated.stdout
    assert "0 rejected, 0 row problems quarantined" in loaded.stdout, loaded.stdout
    assert "closest is" not in loaded.stdout + validated.stdout
    for name, expected in OLD_RELEASES[release].items():
        assert _status(loaded.stdout, name) == expected, (name, loaded.stdout)
        assert _validate_status(validated.stdout, name) == expected, (name, validated.stdout)


@pytest.mark.parametrize("release,name", [(r, n) for r, files in OLD_RELEASES.items() for n in files])
def test_each_older_generation_file_alone_loads_or_is_recognised(release, name, tmp_path):
    path = FIX / release / name
    loaded = _load_alone(path, tmp_path / "l")
    validated = _validate_alone(path, tmp_path / "v")
    assert loaded.returncode == 0 and validated.returncode == 0, loaded.stdout + validated.stdout
    assert _status(loaded.stdout, name) in ("loaded", "recognised"), loaded.stdout
    assert _status(loaded.stdout, name) == _validate_status(validated.stdout, name), loaded.stdout + validated.stdout


def _rows(base: Path, dataset: str, sql: str) -> list[tuple]:
    store = base / "store"
    load_dir = store / "loads" / (store / "CURRENT").read_text().strip()
    return duckdb.connect().execute(sql.replace("{t}", f"read_parquet('{load_dir / (dataset + '.parquet')}')")).fetchall()


def test_2022_release_figures(old_release_loads):
    base, _loaded, _v = old_release_loads["sen2_release_2022"]
    caseload = dict(_rows(base, "ehcp_caseload", "SELECT year, sum(ehc_plans) FROM {t} WHERE area_code = 'E92000001' "
                                                 "AND NOT is_rollup GROUP BY 1"))
    assert caseload == {2013: 233431, 2014: 237111, 2021: 430697, 2022: 473255}  # Total_all, counted once
    new_plans = {(y, a): (n, s) for y, a, n, s in _rows(
        base, "ehcp_assessments", "SELECT year, area_code, new_plans, source_file FROM {t} WHERE NOT is_rollup")}
    # 2021 from the MI file (NewallEHC); 2014 from Total_new_ehc (EHC plans only, not statements);
    # 2013 had no EHC plans (Total_new_ehc 'z'), so it is not loaded.
    assert new_plans[(2021, "E92000001")][0] == 62180 and "sen2_mi.csv" in new_plans[(2021, "E92000001")][1]
    assert new_plans[(2014, "E92000001")][0] == 1359 and "sen2_age_new_plans.csv" in new_plans[(2014, "E92000001")][1]
    assert new_plans[(2014, "E10000006")][0] == 2
    assert (2013, "E92000001") not in new_plans


def test_2023_long_release_figures(old_release_loads):
    base, _loaded, _v = old_release_loads["sen2_release_2023_long"]
    caseload = dict(_rows(base, "ehcp_caseload", "SELECT year, sum(ehc_plans) FROM {t} WHERE area_code = 'E10000006' "
                                                 "AND NOT is_rollup GROUP BY 1"))
    assert caseload == {2022: 4292, 2023: 4489}  # ehcp_or_statement Total rows only, counted once
    new_plans = dict(_rows(base, "ehcp_assessments", "SELECT year, new_plans FROM {t} WHERE area_code = 'E92000001' "
                                                     "AND NOT is_rollup"))
    assert new_plans == {2021: 62180, 2022: 66358}


# -- the message for a file nobody recognises ---------------------------------------------------

def test_unrecognised_file_lists_found_columns_and_known_publications(tmp_path):
    # (ONS geography lookups are recognised since issue 20, so an unknown file of another kind.)
    p = write(tmp_path / "lookup.csv", "WARD22CD,WARD22NM,PCON22CD,PCON22NM,ObjectId\nE05009067,Aspatria,E14000932,"
                                       "Workington,1\n")
    r = run_cli("validate", str(p))
    assert r.returncode == 1
    line = next(ln for ln in r.stdout.splitlines() if "REJECTED" in ln)
    assert "found columns: WARD22CD, WARD22NM, PCON22CD, PCON22NM, ObjectId" in line
    assert "closest is" not in line and "population" not in line
    for publication in KNOWN:
        assert publication in line, publication
    loaded = _load_alone(p, tmp_path / "l")
    assert loaded.returncode == 1 and line.split("REJECTED: ", 1)[1] in loaded.stdout


def test_a_near_contract_file_still_names_the_dataset_it_nearly_matches(tmp_path):
    p = write(tmp_path / "caseload.csv", "time_period,time_identifier,area_code,area_level,primary_need,setting_type,"
                                         "ehc_plans\n2024,January,E10000017,council,ASD,mainstream,12\n")
    r = run_cli("validate", str(p))
    assert r.returncode == 1
    assert "looks like a file for dataset 'ehcp_caseload', which also needs: age_band" in r.stdout


def test_unrecognised_workbook_names_its_sheets_and_known_publications(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Codes"
    wb.active.append(["LA Number", "LA Name", "Region"])
    wb.active.append([909, "Cumbria", "North West"])
    p = tmp_path / "codes.xlsx"
    wb.save(p)
    r = run_cli("validate", str(p))
    assert r.returncode == 1
    assert "Excel workbook" in r.stdout and "sheets: Codes" in r.stdout and "LA Number" in r.stdout
    assert "Community Health Services" in r.stdout and "unsupported file type" not in r.stdout


def test_a_file_load_skips_is_said_to_be_skipped(tmp_path):
    p = write(tmp_path / "notes.md", "# notes\n")
    r = run_cli("validate", str(p))
    assert r.returncode == 0 and "SKIPPED" in r.stdout and "notes.md" in r.stdout
