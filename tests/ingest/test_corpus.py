"""Bad-input corpus: every broken or awkward file in tests/corpus/ against tests/corpus/EXPECTED.json.

For each file:
* `python -m send_metrics validate <file>` exits as expected, names the file, the row and the
  column of every problem with its reason, and never prints a traceback;
* loaded beside a known-good file on top of a previous complete load, the file's good rows load,
  its bad rows are quarantined with row, column and reason, and the known-good rows are intact;
* a file that was loaded before and then became unreadable keeps its previous rows.

Rows are numbered as a spreadsheet shows them: header = row 1 (Parquet: first record = row 1).
Files too big to commit (a 2 MB line, a NUL byte after the first 64 KB) are generated into tmp.
A file whose entry in EXPECTED.json has a "bug" field states the correct behaviour and is marked
xfail(strict=True) until the bug is fixed.
"""
from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, run_cli, write

CORPUS = ROOT / "tests" / "corpus"
EXPECTED: dict = json.loads((CORPUS / "EXPECTED.json").read_text())
sys.path.insert(0, str(CORPUS))
import _generate as gen  # noqa: E402

KNOWN_GOOD = "000_known_good.csv"
KNOWN_GOOD_ROWS = [
    "2018,January,LOC-SOUTH-LAKELAND,locality,ASD,5to10,mainstream,41",
    "2018,January,LOC-SOUTH-LAKELAND,locality,SLCN,5to10,mainstream,17",
    "2018,January,LOC-BARROW-FURNESS,locality,SEMH,11to15,special,23",
    "2018,January,LOC-COPELAND-N,locality,MLD,11to15,mainstream,9",
]
KNOWN_GOOD_TEXT = gen.lines(gen.CASELOAD, *KNOWN_GOOD_ROWS)

# Generated files (too large to commit): name -> (builder, expectation).
GENERATED = {
    "huge_line.csv": (gen.huge_line_file, {
        "what": "one 2 MB cell (over DuckDB's 2,000,000-byte line limit)", "rejected": False,
        "dataset": "ehcp_caseload", "good_rows": 3, "problems": [[5, "", "malformed row"]], "exit_code": 1}),
    "late_nul.csv": (gen.late_nul_file, None),  # expectation computed from the file (row of the NUL)
}


def _late_nul_expectation(path: Path) -> dict:
    data = path.read_bytes()
    row = data[:data.index(b"\x00")].count(b"\n") + 1
    total = data.count(b"\n") - 1
    return {"what": "a NUL byte in a count after the first 64 KB", "rejected": False, "dataset": "ehcp_caseload",
            "good_rows": total - 1, "problems": [[row, "ehc_plans", "not a number"]], "exit_code": 1}


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_file() and not p.name.startswith(("_", "EXPECTED")))


def params(names):
    out = []
    for name in names:
        bug = EXPECTED.get(name, {}).get("bug")
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


# -- the corpus itself ----------------------------------------------------------------------
def test_expected_json_covers_every_corpus_file():
    files = corpus_files()
    assert len(files) >= 40
    assert set(files) == set(EXPECTED), "every corpus file needs an entry in EXPECTED.json and vice versa"
    for name, e in EXPECTED.items():
        assert {"what", "rejected", "good_rows", "problems", "exit_code"} <= set(e), name
        assert e["exit_code"] == (0 if not e["rejected"] and not e["problems"] else 1), name


def test_corpus_matches_its_generator():
    """The committed files are exactly what tests/corpus/_generate.py writes (so they can be rebuilt)."""
    for name, data in gen.files().items():
        if name.endswith(".parquet"):
            continue  # Parquet writers embed their version: compared by the tests below instead
        assert (CORPUS / name).read_bytes() == data, f"{name} differs from _generate.py; rerun it"
    assert set(gen.files()) == set(corpus_files())


@pytest.fixture(scope="session")
def generated_files(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    d = tmp_path_factory.mktemp("generated_corpus")
    out = {}
    for name, (build, expected) in GENERATED.items():
        path = build(d / name)
        out[name] = (path, expected or _late_nul_expectation(path))
    return out


def _path_and_expectation(name: str, generated) -> tuple[Path, dict]:
    if name in GENERATED:
        return generated[name]
    return CORPUS / name, EXPECTED[name]


# -- validate on the command line ----------------------------------------------------------
@pytest.fixture(scope="session")
def cli_results(generated_files) -> dict:
    """`python -m send_metrics validate <file>` for every file, two at a time (2 cores)."""
    targets = {name: str(CORPUS / name) for name in corpus_files()}
    targets.update({name: str(p) for name, (p, _) in generated_files.items()})
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_cli, "validate", path) for name, path in targets.items()}
        return {name: f.result() for name, f in futures.items()}


def _problem_lines(stdout: str, name: str) -> list[str]:
    return [ln.strip() for ln in stdout.splitlines() if ln.strip().startswith(("tests/corpus/", "/"))
            and name in ln and ", row " in ln]


@pytest.mark.parametrize("name", params(corpus_files()) + [pytest.param(n, id=n) for n in GENERATED])
def test_validate_cli_names_file_row_column_and_reason(name, cli_results, generated_files):
    path, e = _path_and_expectation(name, generated_files)
    r = cli_results[name]
    both = r.stdout + r.stderr
    assert "Traceback" not in both, both[-2000:]
    assert r.returncode == e["exit_code"], both[-2000:]
    assert name in r.stdout, "the report names the file"
    if e["rejected"]:
        line = next(ln for ln in r.stdout.splitlines() if "REJECTED" in ln)
        assert name in line and e["reason"] in line, line
        return
    assert "REJECTED" not in r.stdout, r.stdout[-2000:]
    if e.get("dataset"):
        assert f"dataset '{e['dataset']}'" in r.stdout
    assert f"{e['good_rows']} valid" in r.stdout, r.stdout[-2000:]
    for note in e.get("notes", []):
        assert note in r.stdout
    lines = _problem_lines(r.stdout, name)
    assert len(lines) == len(e["problems"]), "\n".join(lines)
    for row, column, reason in e["problems"]:
        want = f"{name}, row {row}" + (f", column '{column}'" if column else "")
        hits = [ln for ln in lines if want + ":" in ln and reason in ln]
        assert hits, f"no line with {want!r} and {reason!r} in:\n" + "\n".join(lines)


def test_validate_cli_on_the_whole_corpus_folder():
    r = run_cli("validate", str(CORPUS))
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert f"{len(corpus_files())} files checked" in r.stdout


# -- loading --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def baseline(tmp_path_factory):
    """A complete previous load holding only the known-good file."""
    root = tmp_path_factory.mktemp("corpus_baseline")
    data = root / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    config = replace(load_config(data), store_dir=root / "store")
    first = load(config)
    assert first.load_id and all(r.ok for r in first.reports)
    return config


def _read(load_dir: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(sql.replace("{d}", str(load_dir).replace("'", "''")), params or {}).fetchall()
    finally:
        con.close()


def _table_for(dataset: str) -> str:
    from send_metrics import contract
    if dataset == "areas":
        return "areas_all_editions"
    return dataset if contract.DATASETS[dataset].reference else f"{dataset}_all_editions"


def _source(load_dir: Path, dataset: str) -> str:
    """SQL source of every loaded row of a dataset (all editions; a single-edition load keeps one file)."""
    t = _table_for(dataset)
    if (load_dir / f"{t}.parquet").exists():
        return f"read_parquet('{{d}}/{t}.parquet')"
    return f"(SELECT * FROM read_parquet('{{d}}/{dataset}.parquet') WHERE NOT is_rollup)"


def _rows_from(load_dir: Path, dataset: str, source: str) -> int:
    return _read(load_dir, f"SELECT count(*) FROM {_source(load_dir, dataset)} WHERE source_file = $f",
                 {"f": source})[0][0]


def _known_good_intact(load_dir: Path) -> None:
    rows = _read(load_dir, f"SELECT area_code, primary_need, ehc_plans FROM {_source(load_dir, 'ehcp_caseload')} "
                           "WHERE source_file = $f ORDER BY 1, 2", {"f": KNOWN_GOOD})
    want = sorted((r.split(",")[2], r.split(",")[4], int(r.split(",")[7])) for r in KNOWN_GOOD_ROWS)
    assert rows == want, "the previously loaded known-good rows must survive unchanged"


def _load_with_known_good(baseline, tmp_path: Path, path: Path, name: str):
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    data = tmp_path / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    shutil.copy(path, data / name)
    store = tmp_path / "store"
    shutil.copytree(baseline.store_dir, store)
    config = replace(baseline, data_dir=data, store_dir=store)
    previous = current_load_dir(store).name
    result = load(config)
    return config, result, previous


def _check_values(load_dir: Path, dataset: str, name: str, checks: list[dict]) -> None:
    from send_metrics import contract
    known = {c for c, _ in contract.canonical_columns(contract.DATASETS[dataset])} | {"edition"}
    src = _source(load_dir, dataset)
    for chk in checks:
        cols = list(chk["match"]) + [chk["column"]]
        assert set(cols) <= known, cols
        where = " AND ".join(f'"{c}" = ${"p" + str(i)}' for i, c in enumerate(chk["match"]))
        params = {f"p{i}": v for i, v in enumerate(chk["match"].values())}
        params["f"] = name
        rows = _read(load_dir, f'SELECT "{chk["column"]}" FROM {src} WHERE source_file = $f AND {where}', params)
        assert len(rows) == 1, (chk, rows)
        got = rows[0][0]
        want = chk["equals"]
        if hasattr(got, "isoformat"):
            got = got.isoformat()[:10]
        if isinstance(want, float) or isinstance(got, float):
            assert got == pytest.approx(want), chk
        else:
            assert got == want, chk


@pytest.fixture(scope="session")
def corpus_loads(baseline, generated_files, tmp_path_factory) -> dict:
    """Each file loaded beside the known-good file on a copy of the baseline store, two loads at a time."""
    root = tmp_path_factory.mktemp("corpus_loads")
    names = corpus_files() + list(GENERATED)

    def one(name):
        path, _ = _path_and_expectation(name, generated_files)
        try:
            return _load_with_known_good(baseline, root / name, path, name)
        except Exception as exc:  # reported by the test of that file
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(one, names)))


@pytest.mark.parametrize("name", params(corpus_files()) + [pytest.param(n, id=n) for n in GENERATED])
def test_load_keeps_good_rows_quarantines_bad_and_loses_nothing(name, corpus_loads, generated_files):
    from send_metrics.db import Database
    from send_metrics.ingest.stored_loads import current_load_dir
    _, e = _path_and_expectation(name, generated_files)
    outcome = corpus_loads[name]
    if isinstance(outcome, Exception):
        raise outcome
    config, result, previous = outcome
    assert result.ok and result.load_id and result.load_id != previous
    reports = {r.path: r for r in result.reports}
    assert reports[KNOWN_GOOD].ok
    report = reports[name]
    load_dir = current_load_dir(config.store_dir)
    _known_good_intact(load_dir)
    manifest = dict(_read(load_dir, "SELECT source_file, status FROM read_parquet('{d}/manifest.parquet')"))
    if e["rejected"]:
        assert report.fatal and e["reason"] in report.fatal
        assert manifest[name] == "rejected"
        assert _read(load_dir, "SELECT count(*) FROM read_parquet('{d}/quarantine.parquet') WHERE source_file = $f",
                     {"f": name})[0][0] == 0
    else:
        assert report.fatal is None, report.fatal
        assert report.dataset == e["dataset"]
        assert _rows_from(load_dir, e["dataset"], name) == e["good_rows"]
        q = _read(load_dir, "SELECT source_row, column_name, reason FROM read_parquet('{d}/quarantine.parquet') "
                            "WHERE source_file = $f ORDER BY 1, 2", {"f": name})
        assert len(q) == len(e["problems"]), q
        for row, column, reason in e["problems"]:
            assert any(r == row and c == column and reason in why for r, c, why in q), (row, column, reason, q)
        assert manifest[name] == ("loaded with problems" if e["problems"] else "loaded")
        _check_values(load_dir, e["dataset"], name, e.get("values", []))
    # The app's database reads the new load and still has the known-good rows.
    db = Database(config)
    try:
        n = db.rows("SELECT count(*) FROM ehcp_caseload WHERE source_file = $f", {"f": KNOWN_GOOD})[0][0]
        assert n == len(KNOWN_GOOD_ROWS)
    finally:
        db.close()


def test_the_whole_corpus_at_once_loads_without_crashing(baseline, tmp_path, generated_files):
    """Every corpus file in one data folder, on top of the baseline: one report per file, nothing lost."""
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    data = tmp_path / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    for name in corpus_files():
        shutil.copy(CORPUS / name, data / name)
    for name, (path, _) in generated_files.items():
        shutil.copy(path, data / name)
    store = tmp_path / "store"
    shutil.copytree(baseline.store_dir, store)
    config = replace(baseline, data_dir=data, store_dir=store)
    result = load(config)
    assert result.ok and result.load_id
    reports = {r.path: r for r in result.reports}
    assert set(reports) == set(corpus_files()) | set(GENERATED) | {KNOWN_GOOD}
    for name in corpus_files():
        e = EXPECTED[name]
        if not e.get("bug"):
            assert bool(reports[name].fatal) == e["rejected"], (name, reports[name].fatal)
    _known_good_intact(current_load_dir(store))


def _good_version(name: str, year: int) -> bytes:
    """A valid caseload file under a corpus file's name (CSV or Parquet), with keys of its own year."""
    rows = [r.replace("2024,", f"{year},", 1) for r in gen.GOOD]
    if name.endswith(".parquet"):
        values = ", ".join("(" + ", ".join(repr(v) if not v.isdigit() else v for v in r.split(",")) + ")"
                           for r in rows)
        return gen._parquet(f"SELECT * FROM (VALUES {values}) t({gen.CASELOAD})")
    return gen.lines(gen.CASELOAD, *rows).encode()


def test_files_that_become_unreadable_keep_their_previous_rows(baseline, tmp_path):
    """Load a good version of every file the corpus rejects, then replace each with its broken bytes."""
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    rejected = [n for n in corpus_files() if EXPECTED[n]["rejected"] and not EXPECTED[n].get("bug")]
    assert len(rejected) >= 15
    data = tmp_path / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    years = {name: 2001 + i for i, name in enumerate(rejected)}
    for name in rejected:
        (data / name).write_bytes(_good_version(name, years[name]))
    store = tmp_path / "store"
    shutil.copytree(baseline.store_dir, store)
    config = replace(baseline, data_dir=data, store_dir=store)
    first = load(config)
    assert all(r.ok for r in first.reports), [r.lines() for r in first.reports if not r.ok]
    for name in rejected:
        (data / name).write_bytes((CORPUS / name).read_bytes())
    second = load(config)
    reports = {r.path: r for r in second.reports}
    load_dir = current_load_dir(store)
    for name in rejected:
        assert reports[name].fatal, name
        assert f"kept {len(gen.GOOD)} rows" in " ".join(reports[name].notes), (name, reports[name].notes)
        assert _rows_from(load_dir, "ehcp_caseload", name) == len(gen.GOOD), name
    _known_good_intact(load_dir)


@pytest.mark.parametrize("name,text,dataset", [
    pytest.param("neighbours.csv", "area_code,neighbour_code,neighbour_rank\nE06000063,E06000064,1\n"
                                   "E06000063,E10000017,2\n", "statistical_neighbours",
                 id="statistical_neighbours"),
    pytest.param("membership.csv", "child_code,parent_code,weight,relationship\nLOC-MILLOM,E12000002,0.5,region\n"
                                   "LOC-EDEN,E12000002,0.5,region\n", "area_membership",
                 id="area_membership"),
    pytest.param("more_areas.csv", "area_code,area_name,area_level\nLOC-TEST-1,Test one,locality\n"
                                   "LOC-TEST-2,Test two,locality\n", "areas", id="areas"),
])
def test_reference_files_that_become_unreadable_keep_their_previous_rows(baseline, tmp_path, name, text, dataset):
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    data = tmp_path / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    write(data / name, text)
    store = tmp_path / "store"
    shutil.copytree(baseline.store_dir, store)
    config = replace(baseline, data_dir=data, store_dir=store)
    load(config)
    assert _rows_from(current_load_dir(store), dataset, name) == 2
    (data / name).write_bytes(b"\x00 corrupted by a sync client")
    result = load(config)
    report = {r.path: r for r in result.reports}[name]
    assert report.fatal and "binary" in report.fatal
    assert _rows_from(current_load_dir(store), dataset, name) == 2, "rows from the unreadable file were lost"
    _known_good_intact(current_load_dir(store))


def test_mixed_editions_latest_is_used_and_every_edition_is_kept(baseline, tmp_path):
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    data = tmp_path / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    for n in ("36_mixed_editions_a.csv", "36_mixed_editions_b.csv"):
        shutil.copy(CORPUS / n, data / n)
    store = tmp_path / "store"
    shutil.copytree(baseline.store_dir, store)
    config = replace(baseline, data_dir=data, store_dir=store)
    result = load(config)
    assert all(r.ok for r in result.reports)
    d = current_load_dir(store)
    latest = _read(d, "SELECT area_code, ehc_plans, edition FROM read_parquet('{d}/ehcp_caseload.parquet') "
                      "WHERE NOT is_rollup AND year = 2024 ORDER BY 1")
    assert latest == [("LOC-CARLISLE", 31, "2025-06-26"), ("LOC-EDEN", 8, "2025-06-26"), ("LOC-MILLOM", 13, "2025-06-26")]
    every = _read(d, f"SELECT count(*), count(DISTINCT edition) FROM {_source(d, 'ehcp_caseload')} WHERE year = 2024")
    assert every == [(6, 2)]
    q = _read(d, "SELECT count(*) FROM read_parquet('{d}/quarantine.parquet')")
    assert q == [(0,)], "two editions of the same key are not duplicates"


def test_same_key_and_edition_in_two_files_quarantines_the_second(baseline, tmp_path):
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    data = tmp_path / "data"
    write(data / KNOWN_GOOD, KNOWN_GOOD_TEXT)
    write(data / "zz_copy_of_known_good.csv", KNOWN_GOOD_TEXT)
    store = tmp_path / "store"
    shutil.copytree(baseline.store_dir, store)
    result = load(replace(baseline, data_dir=data, store_dir=store))
    assert result.ok
    d = current_load_dir(store)
    _known_good_intact(d)
    q = _read(d, "SELECT source_file, reason FROM read_parquet('{d}/quarantine.parquet')")
    assert len(q) == len(KNOWN_GOOD_ROWS)
    assert all(f == "zz_copy_of_known_good.csv" and KNOWN_GOOD in why for f, why in q)
