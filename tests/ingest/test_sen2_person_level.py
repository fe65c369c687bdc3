"""The SEN2 person-level return (COLLECT Blade export): synthetic export, reader, quarantine,
privacy, localities and the pathway (send_metrics/sen2_blade*.py, adapters/blade.py, pathway.py)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from send_metrics.ingest import sen2_blade as sb
from send_metrics.tools.sen2_blade_demo import write_export
from send_metrics.tools.sen2_blade_world import RETURNS

ROOT = Path(__file__).resolve().parents[2]
GEO = (ROOT / ".." / "shared" / "data" / "geo").resolve()
if not (GEO / "cumbria_lsoa21_lookup.csv").exists():
    GEO = Path("/work/shared/data/geo")
pytestmark = pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blade_export")
    write_export(out)
    return out


def _env(tmp: Path, data: Path) -> dict:
    env = dict(os.environ)
    env.update(SEND_DATA_DIR=str(data), SEND_STORE_DIR=str(tmp / "store"), SEND_GEO_DIR=str(GEO),
               SEND_PSEUDONYM_KEY_FILE=str(tmp / "pseudonym.key"))
    return env


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "send_metrics", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


def _copy(export: Path, dest: Path, lookups: bool = True) -> Path:
    dest.mkdir(parents=True)
    for p in export.iterdir():
        if lookups or p.name.startswith("Blade-Export_"):
            shutil.copy(p, dest / p.name)
    return dest


def _measures(env: dict, areas: list[str], measures: list[str]) -> list[dict]:
    args = ["measures", "--format", "json"] + sum((["--area", a] for a in areas), []) + \
        sum((["--measure", m] for m in measures), [])
    r = _run(args, env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def loaded(export, tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("blade_load")
    data = _copy(export, tmp / "data" / "sen2")
    env = _env(tmp, tmp / "data")
    r = _run(["load"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp, env


def test_file_layout_names_dates_and_versions(export):
    names = sorted(p.name for p in export.glob("Blade-Export_*.csv"))
    assert len(names) == 27
    assert "Blade-Export_14-03-2025_placementdetail.csv" in names
    for year, census, exported, version in RETURNS:
        tag = exported.strftime("%d-%m-%Y")
        for module in sb.MODULES:
            header = next(csv.reader(open(export / f"Blade-Export_{tag}_{module}.csv")))
            assert header == sb.module_columns(module, version)
            assert all(h == h.lower() or h == "NativeId" for h in header)
    person11 = next(csv.reader(open(export / "Blade-Export_15-03-2024_person.csv")))
    person12 = next(csv.reader(open(export / "Blade-Export_14-03-2025_person.csv")))
    assert "gendercurrent" in person11 and "sex" not in person11 and "sex" in person12
    req13 = next(csv.reader(open(export / "Blade-Export_13-03-2026_requests.csv")))
    assert "requestsource" in req13
    row = next(csv.DictReader(open(export / "Blade-Export_14-03-2025_sen2.csv")))
    assert row["referencedate"] == "2025-Jan-16 00:00:00"


def test_generator_is_deterministic(export, tmp_path):
    again = tmp_path / "again"
    write_export(again)
    for p in export.iterdir():
        assert (again / p.name).read_bytes() == p.read_bytes(), p.name


def test_nspl_header_as_ons_publishes_it(export):
    header = next(csv.reader(open(export / "NSPL_synthetic_Cumberland.csv")))
    assert header[:5] == ["pcd", "pcd2", "pcds", "dointr", "doterm"] and "lsoa21" in header and header[-1] == "icb"


# The council figures the synthetic export is calibrated to, typed from their sources (not read from the
# generator): DfE "Education, health and care plans" reporting year 2025 (released 26 June 2025) caseload.csv,
# sen_needs_all_plans.csv, requests.csv, timeliness_20_week.csv, and reporting year 2026 caseload 3,088 (both as
# transcribed in send_metrics/reference/published_benchmarks.csv); the Cumberland SEND and AP strategy 2024
# (35.96% autism in January 2024: 955 of 2,656). 2025 activity (requests, refusals, decisions and new plans) is
# the demo's synthetic Cumberland figure (send_metrics/tools/demo_datasets/assessments.py REQUESTS, REFUSED, DECISIONS_6WK_RATE, NEW_PLANS),
# so that the two synthetic sources never give one figure two values.
CALIBRATED_COUNTS = {  # (measure, period): value (counts)
    ("ehcp_caseload", 2024): 2656, ("ehcp_caseload", 2025): 2893, ("ehcp_caseload", 2026): 3088,
    ("new_plans", 2023): 402, ("new_plans", 2024): 412, ("new_plans", 2025): 318,
    ("requests", 2023): 551, ("requests", 2024): 718, ("requests", 2025): 772,
}
CALIBRATED_RATIOS = {  # (measure, period): (numerator, denominator)
    ("timeliness_20wk_ex", 2023): (104, 384), ("timeliness_20wk_inc", 2023): (104, 393),
    ("timeliness_20wk_ex", 2024): (159, 373), ("timeliness_20wk_inc", 2024): (159, 378),
    ("timeliness_20wk_ex", 2025): (19, 284), ("timeliness_20wk_inc", 2025): (19, 286),
    ("requests_refused_pct", 2023): (129, 551), ("requests_refused_pct", 2024): (278, 718),
    ("requests_refused_pct", 2025): (262, 772),
    ("decisions_6wk_pct", 2023): (522, 529), ("decisions_6wk_pct", 2024): (683, 690),
    ("decisions_6wk_pct", 2025): (611, 745),
    ("need_share_ASD", 2024): (955, 2656),
    **{(f"need_share_{need}", 2025): (n, 2893) for need, n in {
        "ASD": 1041, "SLCN": 623, "SEMH": 574, "MLD": 17, "SLD": 303, "PMLD": 32, "SPLD": 45, "HI": 33, "VI": 28,
        "MSI": 0, "PD": 191, "OTH": 0}.items()},
    ("setting_mainstream_pct", 2024): (1557, 2656), ("setting_special_pct", 2024): (467, 2656),
    ("setting_alternative_provision_pct", 2024): (31, 2656), ("setting_independent_pct", 2024): (83, 2656),
    ("setting_mainstream_pct", 2025): (1754, 2893), ("setting_special_pct", 2025): (517, 2893),
    ("setting_alternative_provision_pct", 2025): (43, 2893), ("setting_independent_pct", 2025): (80, 2893),
}
CUMBERLAND_LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM"]


def test_export_alone_reproduces_published_figures(loaded):
    _tmp, env = loaded
    measures = sorted({m for m, _p in CALIBRATED_COUNTS} | {m for m, _p in CALIBRATED_RATIOS})
    got = {(r["measure_id"], int(r["period"])): r for r in _measures(env, ["E06000063"], measures)}
    for key, value in CALIBRATED_COUNTS.items():
        assert got[key]["value"] == value, (key, got[key])
    for key, (num, den) in CALIBRATED_RATIOS.items():
        r = got[key]
        if num == 0:
            # No child has this need: the export has no row for it (a person-level file cannot hold a zero).
            assert r["numerator"] in (0, None) and not r["suppressed"], (key, r)
            continue
        assert (r["numerator"], r["denominator"]) == (num, den), (key, r)
        assert r["value"] == pytest.approx(100 * num / den), (key, r)
    # The figures as DfE rounds them (its release gives these percentages).
    assert round(got[("timeliness_20wk_ex", 2024)]["value"], 1) == 42.6
    assert round(got[("timeliness_20wk_ex", 2023)]["value"], 1) == 27.1
    assert round(got[("decisions_6wk_pct", 2023)]["value"], 1) == 98.7


def test_localities_sum_to_the_council(loaded):
    """Every count the export gives for Cumberland is the sum of its four localities' (unsuppressed) counts."""
    _tmp, env = loaded
    measures = ["ehcp_caseload", "new_plans", "requests", "requests_refused_pct", "decisions_6wk_pct",
                "timeliness_20wk_ex", "timeliness_20wk_inc", "need_share_ASD", "setting_mainstream_pct"]
    rows = _measures(env, ["E06000063", *CUMBERLAND_LOCALITIES], measures)
    checked = 0
    for measure in measures:
        for year in {int(r["period"]) for r in rows if r["measure_id"] == measure}:
            council = [r for r in rows if r["measure_id"] == measure and r["area_code"] == "E06000063"
                       and int(r["period"]) == year][0]
            parts = [r for r in rows if r["measure_id"] == measure and r["area_code"] in CUMBERLAND_LOCALITIES
                     and int(r["period"]) == year]
            assert len(parts) == 4, (measure, year, parts)
            if any(p["suppressed"] for p in parts):
                continue  # a locality's count of 1-4 is withheld; the council's figure still stands
            for field in ("numerator", "denominator"):
                if council[field] is not None:
                    assert sum(p[field] for p in parts) == council[field], (measure, year, field)
            checked += 1
    assert checked >= 20, checked


def _store_parquets(tmp: Path) -> list[Path]:
    return sorted((tmp / "store").rglob("*.parquet"))


def test_nothing_personal_in_the_store(loaded, export):
    tmp, _env_ = loaded
    secrets_ = set()
    for path in export.glob("Blade-Export_*_person.csv"):
        for row in csv.DictReader(open(path)):
            secrets_ |= {row["upn"], row["postcode"], row["personbirthdate"][:11],
                         f"{row['forename']} {row['surname']}"}
            if row["uniquelearnernumber"]:
                secrets_.add(row["uniquelearnernumber"])
    secrets_.discard("")
    files = _store_parquets(tmp)
    assert files
    con = duckdb.connect()
    for f in files:
        text = "\n".join(str(v) for row in con.execute(f"SELECT * FROM read_parquet('{f}')").fetchall() for v in row)
        hits = [s for s in secrets_ if s in text]
        assert not hits, (f.name, hits[:3])
        cols = {c.lower() for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}')").df()["column_name"]}
        assert not cols & {"upn", "postcode", "surname", "forename", "personbirthdate", "uniquelearnernumber"}


def test_pseudonymous_ids_are_keyed(loaded):
    tmp, _ = loaded
    key = (tmp / "pseudonym.key").read_bytes()
    assert len(key) >= 32
    pid = sb.pseudonymise("UPN:Z942000000001", key)
    assert pid != sb.pseudonymise("UPN:Z942000000001", b"another install")
    assert "Z942000000001" not in pid


def test_without_postcode_lookup_council_figures_still_work(export, tmp_path):
    data = _copy(export, tmp_path / "data" / "sen2", lookups=False)
    shutil.copy(export / "edubasealldata_synthetic.csv", data)
    env = _env(tmp_path, tmp_path / "data")
    r = _run(["load"], env)
    assert r.returncode == 0
    assert "no ONS postcode lookup" in r.stdout
    rows = _measures(env, ["E06000063", "LOC-MILLOM"], ["ehcp_caseload"])
    assert {str(x["period"]): x["value"] for x in rows if x["area_code"] == "E06000063"}["2025"] == 2893
    assert not [x for x in rows if x["area_code"] == "LOC-MILLOM" and x["value"] is not None]


def _edit(path: Path, fn) -> None:
    rows = list(csv.reader(open(path)))
    fn(rows)
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _adapt(folder: Path, tmp: Path, monkeypatch):
    from send_metrics.ingest.adapters import adapt
    monkeypatch.setenv("SEND_PSEUDONYM_KEY_FILE", str(tmp / "k"))
    monkeypatch.setenv("SEND_GEO_DIR", str(GEO))
    monkeypatch.setenv("SEND_DATA_DIR", str(folder))
    lead = sorted(folder.glob("Blade-Export_*.csv"))[0]
    return adapt(lead, tmp / "work")


@pytest.fixture
def one_return(export, tmp_path) -> Path:
    folder = tmp_path / "one"
    folder.mkdir()
    for p in export.glob("Blade-Export_14-03-2025_*.csv"):
        shutil.copy(p, folder / p.name)
    shutil.copy(export / "NSPL_synthetic_Cumberland.csv", folder)
    shutil.copy(export / "edubasealldata_synthetic.csv", folder)
    return folder


@pytest.mark.parametrize("version", ["1.1", "1.2", "1.3"])
def test_each_return_version_reads(export, tmp_path, monkeypatch, version):
    year, census, exported, _v = RETURNS[["1.1", "1.2", "1.3"].index(version)]
    folder = tmp_path / version
    folder.mkdir()
    for p in export.glob(f"Blade-Export_{exported.strftime('%d-%m-%Y')}_*.csv"):
        shutil.copy(p, folder / p.name)
    result = _adapt(folder, tmp_path, monkeypatch)
    assert {d for d, _ in result.outputs} >= {"ehcp_persons", "ehcp_assessments", "ehcp_pathway"}
    assert any(f"layout {version}" in n for n in result.notes)
    persons = [d for d, p in result.outputs if d == "ehcp_persons"]
    n = sum(1 for _ in open(dict(result.outputs)["ehcp_persons"])) - 1
    assert n == {2024: 2656, 2025: 2893, 2026: 3088}[year]
    assert not result.problems


REASONS = {
    "broken_link": ("Blade-Export_14-03-2025_assessment.csv", "requeststableid", "99999999", "broken link"),
    "impossible_date": ("Blade-Export_14-03-2025_requests.csv", "requestoutcomedate", "2001-Jan-01 00:00:00",
                        "impossible date"),
    "not_a_date": ("Blade-Export_14-03-2025_namedplan.csv", "startdate", "2024-Feb-30 00:00:00", "not a date"),
    "unknown_code": ("Blade-Export_14-03-2025_senneed.csv", "sentype", "XYZ", "unknown sentype code"),
    "duplicate_id": ("Blade-Export_14-03-2025_senneed.csv", "senneedtableid", None, "duplicate senneedtableid"),
    "duplicate_person": ("Blade-Export_14-03-2025_person.csv", "upn", None, "duplicate person"),
    "rank_not_whole": ("Blade-Export_14-03-2025_placementdetail.csv", "placementrank", "1.5",
                       "placementrank is not a whole number"),
    "row_cut_short": ("Blade-Export_14-03-2025_requests.csv", "requestoutcome", None, "cut short"),
}


@pytest.mark.parametrize("reason", list(REASONS))
def test_each_quarantine_reason(one_return, tmp_path, monkeypatch, reason):
    name, column, value, expected = REASONS[reason]

    def change(rows):
        header = rows[0]
        i = header.index(column)
        if value is not None:
            rows[5][i] = value
        elif reason == "duplicate_id":
            rows[5][i] = rows[4][i]
        elif reason == "row_cut_short":  # the row ends before the column (a truncated export)
            del rows[5][i:]
        else:  # the same child twice: same UPN on another row
            rows[5][i] = rows[4][i]
    _edit(one_return / name, change)
    result = _adapt(one_return, tmp_path, monkeypatch)
    hits = [p for p in result.problems if p.file == name and p.line == 6 and expected in p.reason]
    assert hits, [(p.file, p.line, p.reason) for p in result.problems][:5]
    assert hits[0].column == column or reason == "duplicate_person", hits[0]
    if column in sb.PERSONAL_COLUMNS:
        assert hits[0].value is None  # a UPN is never shown, even in quarantine


def test_quarantine_reaches_the_load_with_file_row_column(one_return, tmp_path):
    _edit(one_return / "Blade-Export_14-03-2025_requests.csv",
          lambda rows: rows[3].__setitem__(rows[0].index("requestoutcomedate"), "2001-Jan-01 00:00:00"))
    env = _env(tmp_path, one_return)
    r = _run(["load"], env)
    assert r.returncode == 0
    q = next((tmp_path / "store").rglob("quarantine.parquet"))
    rows = duckdb.connect().execute(f"SELECT source_file, source_row, column_name, reason FROM read_parquet('{q}') "
                                    "WHERE source_file LIKE '%requests.csv'").fetchall()
    assert ("Blade-Export_14-03-2025_requests.csv", 4, "requestoutcomedate") in [(f.split('/')[-1], r_, c) for f, r_, c, _ in rows]
    assert "impossible date" in r.stdout


def test_partial_placement_keeps_the_council_whole(one_return, tmp_path, monkeypatch):
    _edit(one_return / "Blade-Export_14-03-2025_person.csv",
          lambda rows: rows[2].__setitem__(rows[0].index("postcode"), "ZZ1 1ZZ"))
    result = _adapt(one_return, tmp_path, monkeypatch)
    assert any("not placed in a locality" in n for n in result.notes)
    caseload = dict(result.outputs)["ehcp_caseload"]
    total = sum(int(r["ehc_plans"]) for r in csv.DictReader(open(caseload)))
    assert total == 2893


def test_pathway_survival_and_disclosure(loaded):
    from send_metrics.measures import pathway
    from send_metrics.config import load_config
    from send_metrics.db import Database
    tmp, env = loaded
    cfg = load_config(env["SEND_DATA_DIR"])
    object.__setattr__(cfg, "store_dir", Path(env["SEND_STORE_DIR"])) if hasattr(cfg, "__dataclass_fields__") else None
    db = Database(cfg)
    rows = pathway.load_rows(db, "E06000063")
    assert len(rows) and not {"upn", "postcode"} & set(rows.columns)
    recent = rows[rows["year"] >= 2023]
    for step in pathway.STEPS:
        table, curve = pathway.summarise(recent, step, "locality")
        assert set(table["group"]) >= {"Allerdale", "Carlisle", "Millom area"}
        assert (curve["pct_still_waiting"].between(0, 100)).all()
        assert table["median_weeks"].notna().all()
    tiny = recent[recent["locality"] == "Millom area"].head(3)
    table, curve = pathway.summarise(tiny, "decision", "locality")
    assert table["suppressed"].all() and curve.empty and table["requests"].isna().all()
    opened = pathway.open_cases(rows)
    assert not opened["requests"].dropna().between(1, 4).any()
    # The curve agrees with a hand count when nothing is censored.
    done = recent[recent["days_to_plan"].notna() & recent["issue_decision"].eq("issue")]
    table, _ = pathway.summarise(done, "plan")
    share = 100 * (done["days_to_plan"] > 140).mean()
    assert abs(table["pct_waiting_past_20_weeks"].iloc[0] - share) < 1e-6
    db.close()


def test_kaplan_meier_reproduces_the_textbook_aml_values():
    """Reference: the 'aml' data (maintained group) of R's survival package, as in Miller (1981)
    and every survival textbook: times 9, 13, 13+, 18, 23, 28+, 31, 34, 45+, 48, 161+ weeks.
    survfit() gives S = 0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184 at 9, 13, 18, 23, 31, 34, 48
    and a median of 31."""
    import numpy as np
    import pandas as pd

    from send_metrics.measures.pathway import StepData, _fit
    times = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    event = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    km = _fit(StepData(pd.Series(np.array(times, float) * 7), pd.Series(np.array(event, bool))), "aml")
    for t, s in zip([9, 13, 18, 23, 31, 34, 48], [0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184]):
        assert round(km.at(t), 3) == s
    assert km.median == 31
    assert km.at(8.9) == 1.0


def test_cumberland_localities_without_the_geography_folder(one_return, tmp_path, monkeypatch):
    """A fresh clone without ../shared places Cumberland's children through the typed LSOA codes,
    which are exactly the geography folder's lookup for the four localities."""
    if (GEO / "cumbria_lsoa21_lookup.csv").exists():
        lookup = {r["lsoa21cd"]: r["locality_code"] for r in csv.DictReader(open(GEO / "cumbria_lsoa21_lookup.csv"))}
        typed = {c: loc for loc, codes in sb.CUMBERLAND_LSOA21.items() for c in codes}
        assert typed == {c: loc for c, loc in lookup.items() if loc in sb.CUMBERLAND_LSOA21}
    from send_metrics.ingest.adapters import adapt
    monkeypatch.setenv("SEND_PSEUDONYM_KEY_FILE", str(tmp_path / "k"))
    monkeypatch.setenv("SEND_GEO_DIR", str(tmp_path / "no-geography"))
    monkeypatch.setenv("SEND_DATA_DIR", str(one_return))
    result = adapt(sorted(one_return.glob("Blade-Export_*.csv"))[0], tmp_path / "work")
    assert "ehcp_caseload" not in dict(result.outputs)  # council-level rows only for children not placed
    persons = list(csv.DictReader(open(dict(result.outputs)["ehcp_persons"])))
    by_area: dict[str, int] = {}
    for r in persons:
        by_area[r["area_code"]] = by_area.get(r["area_code"], 0) + 1
    assert set(by_area) == set(sb.CUMBERLAND_LSOA21) and sum(by_area.values()) == 2893, by_area
    assert not any("not placed in a locality" in n for n in result.notes)
