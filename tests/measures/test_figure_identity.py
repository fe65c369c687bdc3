"""Figures stay right whatever files, editions, folders and load order produce them (issue 16).

A figure is identified by dataset, quantity, area, period (and the key's non-breakdown filters);
a total row and a breakdown of the same quantity are two views of it. Whatever subset of
releases is loaded, in whatever order and under whatever folder names, every figure must be the
value of the newest edition that holds it: never the sum of two editions, and never blanked by a
file that carries only some columns.

Editions here come from evidence, as a user's download would give it: each release folder holds
its data guidance ("Reporting year 2025"), a revised file sits in a dated folder, and files with
no stated date carry the modification time an unzip would give them.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT
from send_metrics.config import load_config
from send_metrics.ingest.store import load
from send_metrics.ingest.stored_loads import current_load_dir

FIX = ROOT / "tests" / "fixtures" / "published"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
RELEASE_2025 = REAL / "ees_ehcp_2025_witan-sen2"

ASSESS_COLUMNS = ["requests", "requests_refused", "decisions", "decisions_within_6_weeks", "new_plans",
                  "plans_issued_ex", "plans_issued_20wk_ex", "plans_issued_inc", "plans_issued_20wk_inc", "reviews_due"]


def _set_mtime(folder: Path, day: str) -> None:
    stamp = dt.datetime.fromisoformat(day + "T12:00:00+00:00").timestamp()
    for p in folder.rglob("*"):
        if p.is_file():
            os.utime(p, (stamp, stamp))


def _revised_timeliness(dest: Path) -> None:
    """release_a's timeliness file as a later revision would publish it: every plans-issued count
    one higher (the other columns of the release are not in this file)."""
    lines = (FIX / "ees_release_a" / "timeliness_20_week.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    cols = {i for i, h in enumerate(header) if h.lower() in ("plans_issued_den", "plans_issued_den_ex")}
    for line in lines[1:]:
        cells = next(csv.reader([line]))
        cells = [str(int(c) + 1) if i in cols and c.isdigit() else c for i, c in enumerate(cells)]
        out.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    dest.mkdir(parents=True)
    (dest / "timeliness_20_week.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


# source name -> (edition it must get, how to put it under a folder)
SOURCES = {
    "release_b": "2026",            # data guidance: Reporting year 2026
    "revised_timeliness": "2025-11-20",  # dated folder
    "release_a": "2025",            # data guidance: Reporting year 2025
    "mi_2023": "2023-06-22",        # no stated date: the file's modification time
    "old_caseload": "2022-07-01",   # no stated date: the file's modification time
}


def stage(data: Path, names: list[str], prefix: str = "") -> Path:
    for n in names:
        if n == "release_a":
            shutil.copytree(FIX / "ees_release_a", data / f"{prefix}a")
        elif n == "release_b":
            shutil.copytree(FIX / "ees_release_b", data / f"{prefix}b")
        elif n == "revised_timeliness":
            _revised_timeliness(data / f"{prefix}revised_2025-11-20")
        elif n == "mi_2023":
            shutil.copytree(FIX / "sen2_mi_snake", data / f"{prefix}mi")
            _set_mtime(data / f"{prefix}mi", "2023-06-22")
        elif n == "old_caseload":
            shutil.copytree(FIX / "sen2_old_caseload_overlap", data / f"{prefix}old")
            _set_mtime(data / f"{prefix}old", "2022-07-01")
    return data


def figures(data: Path, store: Path) -> dict[tuple, tuple]:
    """(dataset, column, area, period) -> (value, symbol) of every figure the load shows."""
    from dataclasses import replace
    config = replace(load_config(data), store_dir=store)
    result = load(config)
    assert result.ok, result.error
    d = current_load_dir(config.store_dir)
    con = duckdb.connect()
    out = {}
    for area, year, value, symbol in con.execute(
            "SELECT area_code, year, CASE WHEN bool_or(ehc_plans IS NULL) THEN NULL ELSE sum(ehc_plans) END, "
            "max(ehc_plans_symbol) FROM read_parquet($p) WHERE NOT is_rollup GROUP BY 1, 2",
            {"p": str(d / "ehcp_caseload.parquet")}).fetchall():
        out[("ehcp_caseload", "ehc_plans", area, year)] = (value, symbol)
    cols = ", ".join(f"{c}, {c}_symbol" for c in ASSESS_COLUMNS)
    for row in con.execute(f"SELECT area_code, year, {cols} FROM read_parquet($p) WHERE NOT is_rollup",
                           {"p": str(d / "ehcp_assessments.parquet")}).fetchall():
        for i, c in enumerate(ASSESS_COLUMNS):
            out[("ehcp_assessments", c, row[0], row[1])] = (row[2 + 2 * i], row[3 + 2 * i])
    return out


def held(v: tuple) -> bool:
    """A figure a source really gives: a number or a publisher's symbol other than 'x' (not
    available), which here also stands for 'not in this file'."""
    return v[0] is not None or (v[1] not in (None, "x"))


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> dict[str, dict]:
    """Each source loaded on its own: the figures it gives."""
    out = {}
    for n in SOURCES:
        base = tmp_path_factory.mktemp(n)
        out[n] = figures(stage(base / "data", [n]), base / "store")
    return out


def expected(alone: dict[str, dict], names: list[str]) -> dict[tuple, tuple]:
    """Per figure, the value of the newest edition (among `names`) that holds it."""
    best: dict[tuple, tuple[str, tuple]] = {}
    for n in names:
        for k, v in alone[n].items():
            if held(v) and (k not in best or SOURCES[n] > best[k][0]):
                best[k] = (SOURCES[n], v)
    return {k: v for k, (_, v) in best.items()}


COMBINATIONS = [
    ["release_a", "old_caseload"],                  # the doubling: a total-only older layout beside a release
    ["release_a", "revised_timeliness"],            # a file that carries some columns only
    ["release_a", "release_b"],
    ["release_a", "mi_2023", "old_caseload"],
    ["release_b", "release_a", "revised_timeliness", "mi_2023", "old_caseload"],
]


@pytest.mark.parametrize("names", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_every_figure_is_the_newest_edition_that_holds_it(tmp_path, alone, names):
    rng = random.Random(len(names))
    for attempt, order in enumerate([names, list(reversed(names))]):
        # Folder names change which file the loader reads first; the figures must not change.
        prefix = "".join(rng.choice("abcxyz") for _ in range(3)) + f"{attempt}_"
        got = figures(stage(tmp_path / f"data{attempt}", order, prefix), tmp_path / f"store{attempt}")
        want = expected(alone, names)
        wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        assert not wrong, f"{len(wrong)} figures differ from the newest edition, e.g. {list(wrong.items())[:5]}"
        # No figure appears that no source gives (e.g. a sum of two editions).
        extra = {k: v for k, v in got.items() if held(v) and k not in want}
        assert not extra, list(extra.items())[:5]


def test_the_doubling_case_gives_the_published_total_not_the_sum(tmp_path, alone):
    got = figures(stage(tmp_path / "data", ["release_a", "old_caseload"]), tmp_path / "store")
    # January 2023: release_a (edition 2025) gives England 37,944 by setting; the older file gives a
    # total of 37,900. The newer edition's figure stands, never 75,844.
    assert got[("ehcp_caseload", "ehc_plans", "E92000001", 2023)] == (37944, None)
    # January 2022 is only in the older file: its total stands.
    assert got[("ehcp_caseload", "ehc_plans", "E92000001", 2022)] == (34100, None)


def test_a_file_with_some_columns_never_blanks_the_others(tmp_path, alone):
    got = figures(stage(tmp_path / "data", ["release_a", "revised_timeliness"]), tmp_path / "store")
    for area in ("E92000001", "E06000063"):
        a = alone["release_a"][("ehcp_assessments", "requests", area, 2024)]
        assert a[0] is not None and got[("ehcp_assessments", "requests", area, 2024)] == a
        assert got[("ehcp_assessments", "new_plans", area, 2024)] == alone["release_a"][("ehcp_assessments", "new_plans", area, 2024)]
        revised = alone["revised_timeliness"][("ehcp_assessments", "plans_issued_ex", area, 2024)]
        assert got[("ehcp_assessments", "plans_issued_ex", area, 2024)] == revised
        assert revised[0] == alone["release_a"][("ehcp_assessments", "plans_issued_ex", area, 2024)][0] + 1


def test_load_report_adds_up_and_names_the_edition_evidence(tmp_path, alone):
    from dataclasses import replace
    data = stage(tmp_path / "data", ["release_a", "release_b", "old_caseload"])
    config = replace(load_config(data), store_dir=tmp_path / "store")
    result = load(config)
    man = duckdb.connect().execute(
        "SELECT source_file, rows_read, rows_loaded, rows_quarantined, rows_superseded FROM read_parquet($p)",
        {"p": str(current_load_dir(config.store_dir) / "manifest.parquet")}).fetchall()
    assert man
    for f, read, loaded, quarantined, superseded in man:
        assert read == loaded + quarantined + superseded, f
    assert sum(r[4] for r in man) > 0  # the older editions' overlapping rows are superseded, and said so
    for r in result.reports:
        assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_superseded, r.path
    notes = "\n".join(result.notes)
    assert "Reporting year 2026" in notes and "Reporting year 2025" in notes
    assert "modification time" in notes


def test_reconcile_lists_figures_given_twice(tmp_path, alone):
    import subprocess
    import sys
    data = stage(tmp_path / "data", ["release_a", "old_caseload"])
    env = {**os.environ, "SEND_DATA_DIR": str(data), "SEND_STORE_DIR": str(tmp_path / "store")}
    run = lambda *a: subprocess.run([sys.executable, "-m", "send_metrics", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=600)
    loaded = run("load")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "reconciliation:" in loaded.stdout
    out = run("reconcile", "--dataset", "ehcp_caseload", "--area", "E92000001", "--format", "csv")
    assert out.returncode == 0, out.stderr
    import csv
    import io
    rows = [r for r in csv.DictReader(io.StringIO(out.stdout)) if r["period"] == "2023"]
    by_edition = {r["edition"]: (float(r["value"]), r["used"], r["agree"]) for r in rows}
    assert by_edition == {"2025": (37944.0, "True", "False"), "2022-07-01": (37900.0, "False", "False")}
    text = run("reconcile")
    assert "DIFFER" in text.stdout and "E92000001" in text.stdout


def test_the_demo_never_mixes_with_other_files(tmp_path):
    from dataclasses import replace
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data / "demo")
    config = replace(load_config(data), store_dir=tmp_path / "store")
    only_demo = load(config)
    assert json_info(config)["demo"] is True and not any("synthetic demo" in n for n in only_demo.notes)
    shutil.copytree(FIX / "ees_release_a", data / "published")
    both = load(config)
    assert json_info(config)["demo"] is False
    assert any("synthetic demo in demo/ is not loaded" in n for n in both.notes)
    files = duckdb.connect().execute("SELECT DISTINCT source_file FROM read_parquet($p)",
                                     {"p": str(current_load_dir(config.store_dir) / "manifest.parquet")}).fetchall()
    assert not any(f[0].startswith("demo/") for f in files)
    shutil.rmtree(data / "published")
    back = load(config)
    assert json_info(config)["demo"] is True and back.changed


def json_info(config) -> dict:
    import json
    return json.loads((current_load_dir(config.store_dir) / "load.json").read_text())


# -- the real published files -------------------------------------------------------------------

real = pytest.mark.skipif(not RELEASE_2025.is_dir(), reason="../shared/data/real is absent (real published files)")


@real
@pytest.mark.real_data
def test_real_release_beside_an_older_total_only_layout_and_the_2023_mi_file(tmp_path):
    """The 2025 release (as unzipped: data/ and data-guidance/), the 2023 release's MI file (dated by
    its download) and an old-layout caseload file giving January 2019-2022 totals: every figure is
    the 2025 release's where it has one, in any order and under any folder names."""
    def stage_real(data: Path, prefix: str) -> Path:
        rel = data / f"{prefix}ehcp_2025"
        (rel / "data").mkdir(parents=True)
        for f in ("caseload.csv", "timeliness_20_week.csv", "newplans.csv", "requests.csv"):
            shutil.copy(RELEASE_2025 / "data" / f, rel / "data" / f)
        shutil.copytree(RELEASE_2025 / "data-guidance", rel / "data-guidance")
        mi = data / f"{prefix}mi"
        mi.mkdir()
        shutil.copy(REAL / "dfe_send_ap_inclusion_dashboard" / "ehc_plans" / "sen2_mi.csv", mi / "sen2_mi.csv")
        _set_mtime(mi, "2023-06-22")
        old = data / f"{prefix}old"
        old.mkdir()
        # Total_all for England in the older layout, January 2019-2022 (as the 2022 release gave them).
        (old / "sen2_caseload.csv").write_text(
            "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
            "old_la_code,new_la_code,la_name,characteristic_age,Total_all,Total_ehc,Total_st\n"
            + "".join(f"{y},January,National,E92000001,England,,,,,,Total,{v},{v},0\n"
                      for y, v in ((2019, 353995), (2020, 390109), (2021, 430697), (2022, 473255))))
        _set_mtime(old, "2022-06-23")
        return data

    got = [figures(stage_real(tmp_path / f"d{i}", p), tmp_path / f"s{i}") for i, p in enumerate(("a_", "z_"))]
    assert got[0] == got[1]
    g = got[0]
    # Published January caseload (BRIEF.md 4): never doubled.
    assert g[("ehcp_caseload", "ehc_plans", "E92000001", 2019)] == (353995, None)
    assert g[("ehcp_caseload", "ehc_plans", "E92000001", 2022)] == (473255, None)
    assert g[("ehcp_caseload", "ehc_plans", "E06000063", 2024)] == (2656, None)
    # 20-week timeliness 2024 from the 2025 release: England 39,407 / 84,866.
    assert g[("ehcp_assessments", "plans_issued_20wk_ex", "E92000001", 2024)][0] == 39407
    assert g[("ehcp_assessments", "plans_issued_ex", "E92000001", 2024)][0] == 84866
    # Calendar 2019-2022 requests: the 2025 release holds them (it is newer than the 2023 MI file).
    base = tmp_path / "alone"
    stage_real(base / "d", "")
    shutil.rmtree(base / "d" / "mi")
    shutil.rmtree(base / "d" / "old")
    release_only = figures(base / "d", base / "s")
    for k, v in release_only.items():
        if held(v):
            assert g.get(k) == v, (k, g.get(k), v)


# -- editions from evidence ---------------------------------------------------------------------

@pytest.mark.parametrize("text, iso", [
    ("2025-06-01", "2025-06-01"), ("2025-06-01T09:30:00", "2025-06-01"), ("01/06/2025", "2025-06-01"),
    ("1 June 2025", "2025-06-01"), ("June 1, 2025", "2025-06-01"), ("45809", "2025-06-01"),
    ("20250601", "2025-06-01"), ("New Data", None), ("31/02/2025", None), ("", None)])
def test_publisher_dates_in_any_common_form(text, iso):
    from send_metrics.ingest.adapters.common import parse_date
    assert parse_date(text) == iso


@pytest.mark.parametrize("last_update", ["2025-06-01", "01/06/2025", "1 June 2025", "45809"])
def test_lait_dictionary_last_update_in_any_form_gives_the_edition(tmp_path, last_update):
    from send_metrics.ingest.adapters import adapt
    folder = tmp_path / "lait"
    shutil.copytree(FIX / "lait", folder)
    d = folder / "lait_data_dictionary.csv"
    d.write_text(d.read_text(encoding="utf-8").replace(",45809,", f",{last_update},"), encoding="utf-8")
    r = adapt(folder / "bds_long_sample.csv", tmp_path / "w")
    rows = [b for ds, p in r.outputs if ds == "benchmarks"
            for b in csv.DictReader(open(p, newline="", encoding="utf-8"))]
    assert {b["edition"] for b in rows if b["measure_id"] == "timeliness_20wk_ex"} == {"2025-06-01 (LAIT)"}


def test_edition_evidence_order(tmp_path):
    """Guidance beats a dated folder, which beats the modification time; a release's files share it."""
    from send_metrics.ingest.adapters.common import file_edition
    rel = tmp_path / "ehcp_2024-01-05" / "data"
    rel.mkdir(parents=True)
    f = rel / "caseload.csv"
    f.write_text("x\n")
    _set_mtime(rel, "2023-03-03")
    assert file_edition(f)[0] == "2024-01-05" and "folder name" in file_edition(f)[1]
    g = tmp_path / "ehcp_2024-01-05" / "data-guidance"
    g.mkdir()
    (g / "data-guidance.txt").write_text("Education, health and care plans\nReporting year 2026\n\nPublished 26 June "
                                         "2026\n", encoding="utf-8")
    assert file_edition(f) == ("2026-06-26", "the release date in the data guidance (data-guidance.txt: "
                                             "'Published 26 June 2026')")
    other = tmp_path / "plain" / "sen2_mi.csv"
    other.parent.mkdir()
    other.write_text("x\n")
    _set_mtime(other.parent, "2023-06-22")
    assert file_edition(other)[0] == "2023-06-22" and "modification time" in file_edition(other)[1]
