"""Load every extract under the data folder into a versioned Parquet store.

Layout of the store (`SEND_STORE_DIR`, default `data/.store`):

    loads/<load_id>/<dataset>.parquet               latest edition of each row, plus rolled-up areas
    loads/<load_id>/<dataset>_all_editions.parquet  every edition kept (revised figures stay queryable)
    loads/<load_id>/quarantine.parquet              rows that failed a check, with file, row, column, reason
    loads/<load_id>/manifest.parquet                one row per file: hash, rows read/loaded/quarantined
    loads/<load_id>/<dataset>.kept-<n>.parquet      a person-level Parquet that passed every check, kept as
                                                    it is (load.json "kept_as_is" says how to read it)
    loads/<load_id>/load.json                       fingerprint, checksums of the files above, summary
    CURRENT                                         the load the app reads (replaced atomically)

Invariants: a load is written to a new folder and only then named in CURRENT, so a load that
fails or is killed half-way leaves the app serving the previous complete data. A file that can no
longer be read keeps the rows it gave in the previous load (nothing already loaded is lost). Parent
areas are built by summing member localities in SQL (sum over sum, never an average of rates).

This module is the load itself: finding what changed, checking files side by side and recording
them in order, carrying rows forward, and publishing. Its parts live beside it: finding and hashing
the files (``data_folder``), the store on disk that readers of a load use (``stored_loads``), one
value per figure across files and editions (``resolve``), roll-ups and writing (``roll_up``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import duckdb

from send_metrics import contract
from send_metrics.config import REFERENCE_DIR, SQL_DIR, Config, load_config, sql_text
from send_metrics.ingest.data_folder import (
    FileChanged,
    discover,
    file_sha256,
    relative_name,
    without_demo_when_real,
)
from send_metrics.ingest.readers import RawTable, sql_name
from send_metrics.ingest.recognise import header_dataset, reference_files
from send_metrics.ingest.roll_up import roll_up_and_write, write_areas
from send_metrics.ingest.stored_loads import (
    LOADER_VERSION,
    LoadResult,
    current_load_dir,
    kept_rows_sql,
    locked,
    prune_loads,
    read_load_info,
    stored_columns,
    verify_load,
)
from send_metrics.ingest.file_reports import FileReport
from send_metrics.ingest.validate import (
    CleanParquet,
    Validated,
    clean_person_parquet,
    drop_checked_tables,
    is_adapted_output,
    quarantine_rows_sql,
    validate_file,
)

# Reference datasets load first: everything else is checked against the areas they define.
DATASET_ORDER = ["areas", "area_membership", "statistical_neighbours"]


def _connect(config: Config, tmp: Path) -> duckdb.DuckDBPyConnection:
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": config.duckdb_memory, "threads": config.duckdb_threads,
                                 "temp_directory": str(tmp)})
    con.execute("SET enable_progress_bar = false")  # no progress bars in the CLI's output
    # The loader's database is in memory and thrown away: checkpointing it (compressing tables
    # after each large write) only costs time, about a fifth of a national load.
    con.execute("SET checkpoint_threshold = '1TB'")
    return con


def load(config: Config | None = None, force: bool = False, extra_files: list[Path] | None = None) -> LoadResult:
    """Load every extract; returns without writing when nothing changed since the current load."""
    config = config or load_config()
    with locked(config.store_dir):
        return _load_locked(config, force, extra_files or [])


def _modified_day(path: Path) -> str:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc).date().isoformat()
    except OSError:
        return ""


def _fingerprint(files: list[tuple[str, Path]], skipped: list[str] | None = None,
                 seen: dict[str, tuple[int, int]] | None = None, workers: int = 1) -> tuple[str, dict[str, str]]:
    """The load's fingerprint and each file's hash. A file that cannot be hashed (changed while
    read, not a regular file, gone) is left out of both, with a sentence in ``skipped``. ``seen``
    gets each file's (size, modification time) as hashed, to tell later whether it changed while
    the load read it."""
    def hashed(p: Path):
        try:
            st = os.stat(p)
            return (st.st_size, st.st_mtime_ns), file_sha256(p)
        except OSError as exc:
            return exc, None

    # Files are hashed `workers` at a time (hashlib works outside the interpreter's lock), the
    # results taken in file order.
    if workers > 1 and len(files) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            got = list(pool.map(hashed, [p for _name, p in files]))
    else:
        got = [hashed(p) for _name, p in files]
    hashes = {}
    for (name, p), (st, digest) in zip(files, got):
        if isinstance(st, OSError):
            if skipped is None:
                raise st
            why = str(st) if isinstance(st, FileChanged) else (st.strerror or str(st))
            skipped.append(f"{name}: skipped: {why}; it will be read by the next load")
            continue
        hashes[name] = digest
        if seen is not None:
            seen[name] = st
    files = [(name, p) for name, p in files if name in hashes]
    return _fingerprint_of(hashes, {name: _modified_day(p) for name, p in files}), hashes


def _fingerprint_of(hashes: dict[str, str], days: dict[str, str]) -> str:
    h = hashlib.sha256(f"{contract.CONTRACT_VERSION}/{LOADER_VERSION}".encode())
    for name in sorted(hashes):
        # A published file with no stated release date takes its modification day as its edition.
        h.update(f"{name}\0{hashes[name]}\0{days[name]}\n".encode())
    for ref in reference_files() + [REFERENCE_DIR / "area_code_changes.csv"]:
        h.update(file_sha256(ref).encode())
    for sql in [*sorted(SQL_DIR.glob("rollup*.sql")), SQL_DIR / "zero_fill.sql"]:  # what a load builds
        h.update(file_sha256(sql).encode())
    return h.hexdigest()


def _changed_since_hashed(display: str, paths: dict[str, Path], seen: dict[str, tuple[int, int]]) -> str | None:
    """The data file behind ``display`` (an adapter's output names its source) when its size or
    modification time is no longer what it was when hashed: it changed while this load read it."""
    name = display.rsplit(" [", 1)[0] if is_adapted_output(display) else display
    if name not in seen or name not in paths:
        return None
    try:
        st = os.stat(paths[name])
    except OSError:
        return name
    return name if (st.st_size, st.st_mtime_ns) != seen[name] else None


def _load_locked(config: Config, force: bool, extra_files: list[Path]) -> LoadResult:
    started = time.time()
    data_dir = config.data_dir
    refused: list[str] = []
    found, demo_note = without_demo_when_real(discover(data_dir, refused), data_dir)
    files = [(relative_name(p, data_dir), p) for p in found]
    files += [(relative_name(p, data_dir), p) for p in extra_files]
    seen: dict[str, tuple[int, int]] = {}
    fingerprint, hashes = _fingerprint(files, refused, seen, workers=max(1, min(2, config.duckdb_threads)))
    files = [(name, p) for name, p in files if name in hashes]
    demo_note = demo_note + refused  # refusals are said on every load, "nothing changed" included
    previous = current_load_dir(config.store_dir)
    damage: list[str] = []
    if previous is not None and not force:
        try:
            info = read_load_info(previous)
            corrupted = verify_load(previous)
            if info.get("fingerprint") == fingerprint and not corrupted:
                return LoadResult(changed=False, load_id=previous.name,
                                  notes=demo_note + ["nothing changed: every file is as it was at the last load"])
            if corrupted:
                damage.append(f"the previous load was damaged (checksum mismatch or missing: "
                              f"{', '.join(corrupted)}); it was rebuilt from the extracts")
        except (OSError, ValueError):
            # An unreadable load.json means the store must be rebuilt; say so.
            damage.append(f"the previous load's load.json in {previous.name} is unreadable or corrupt; "
                          "the store was rebuilt from the extracts")

    load_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f") + "-" + fingerprint[:8]
    loads = config.store_dir / "loads"
    work = loads / (load_id + ".partial")
    work.mkdir(parents=True, exist_ok=True)
    con = None
    try:
        # The demo's load is shipped made (send_metrics.ingest.snapshot): taken when the files, the code
        # and the limits are exactly those it was made from; otherwise, or with force, read the files.
        from send_metrics.ingest import snapshot
        result = None if force or extra_files else snapshot.adopt(files, hashes, work)
        shipped = result is not None
        if result is None:
            con = _connect(config, config.store_dir / "tmp")
            result = _build(con, config, files, hashes, previous, work, seen)
        result.notes[:0] = demo_note + damage
        if result.changed_while_read:
            # Left out of the fingerprint, so the next load differs from this one and reads them.
            kept = {n: h for n, h in hashes.items() if n not in result.changed_while_read}
            fingerprint = _fingerprint_of(kept, {n: _modified_day(p) for n, p in files if n in kept})
        summary = {"fingerprint": fingerprint, "load_id": load_id, "contract_version": contract.CONTRACT_VERSION,
                   "loaded_at": dt.datetime.now().isoformat(timespec="seconds"),
                   "seconds": round(time.time() - started, 3), "data_dir": str(data_dir),
                   "notes": result.notes, "demo": _is_demo(files), "kept_as_is": result.kept_as_is}
        if shipped:  # its pseudonymous ids were made with another install's key (see _carry_forward)
            summary["shipped_snapshot"] = True
        summary["checksums"] = {p.name: file_sha256(p) for p in sorted(work.glob("*.parquet"))}
        (work / "load.json").write_text(json.dumps(summary, indent=1))
    except Exception:
        if con is not None:
            con.close()
        shutil.rmtree(work, ignore_errors=True)
        raise
    if con is not None:
        con.close()
    final = loads / load_id
    os.replace(work, final)
    pointer_tmp = config.store_dir / "CURRENT.tmp"
    pointer_tmp.write_text(load_id)
    os.replace(pointer_tmp, config.store_dir / "CURRENT")
    prune_loads(loads, keep=final)
    result.load_id = load_id
    return result


def _is_demo(files: list[tuple[str, Path]]) -> bool:
    return any(name.replace("\\", "/").startswith("demo/") for name, _ in files)


def _create_tables(con) -> None:
    for ds in contract.DATASETS.values():
        cols = [f"{sql_name(c)} {t}" for c, t in contract.canonical_columns(ds)]
        if ds.name != "benchmarks":
            cols.append("edition VARCHAR")
        cols += ["source_file VARCHAR", "source_row BIGINT", "is_rollup BOOLEAN DEFAULT false"]
        con.execute(f"CREATE TABLE {sql_name('t_' + ds.name)} ({', '.join(cols)})")
    con.execute("""CREATE TABLE quarantine (source_file VARCHAR, dataset VARCHAR, source_row BIGINT,
                   column_name VARCHAR, value VARCHAR, reason VARCHAR, raw_row VARCHAR)""")
    con.execute("""CREATE TABLE manifest (source_file VARCHAR, dataset VARCHAR, sha256 VARCHAR,
                   status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
                   rows_superseded BIGINT, message VARCHAR, edition VARCHAR, seconds DOUBLE, loaded_at TIMESTAMP)""")
    con.execute("""CREATE TABLE reconciliation (dataset VARCHAR, area_code VARCHAR, period VARCHAR, figure VARCHAR,
                   edition VARCHAR, source_file VARCHAR, value DOUBLE, symbol VARCHAR, cells BIGINT, used BOOLEAN)""")


@dataclass
class _Checked:
    """One file's check, done in its own tables (see :func:`_check`) and recorded in file order."""
    display: str
    path: Path
    clean: CleanParquet | None
    report: FileReport | None
    raw: RawTable | None
    validated: Validated | None
    seconds: float  # the check's own time (the manifest adds the time to record it)


def _may_define_areas(display: str, datasets: dict[str, str | None]) -> bool:
    """Built-in reference files, areas files, and files whose header names no dataset (checked
    alone, to be safe) may change the known areas."""
    if display.startswith("(built-in)"):
        return True
    if is_adapted_output(display):
        return display.endswith("-> areas]")
    return datasets.get(display) in ("areas", None)


def _check(con, index: int, display: str, path: Path) -> _Checked:
    """Check one file. Everything it creates is named after the file's position (raw_<n>...,
    _person_cells_<n>) and it only reads the known areas, so files are checked side by side."""
    started = time.time()
    cur = con.cursor()
    try:
        clean = (clean_person_parquet(cur, path, cells=f"_person_cells_{index}")
                 if path.suffix.lower() == ".parquet" else None)
        if clean is not None:
            return _Checked(display, path, clean, None, None, None, time.time() - started)
        report, raw, validated = validate_file(path, cur, display=display, table=f"raw_{index}",
                                               adapted=is_adapted_output(display))
        return _Checked(display, path, None, report, raw, validated, time.time() - started)
    finally:
        cur.close()


def _build(con, config: Config, files, hashes, previous: Path | None, work: Path,
           seen: dict[str, tuple[int, int]] | None = None) -> LoadResult:
    _create_tables(con)
    result = LoadResult(changed=True, load_id=None)
    reference = [(f"(built-in) {p.name}", p) for p in reference_files()]
    order = {name: i for i, name in enumerate(DATASET_ORDER)}
    datasets = {name: header_dataset(path) for name, path in files}
    user_files = sorted(files, key=lambda f: (order.get(datasets[f[0]] or "", len(order)), f[0]))
    # Areas are needed before anything is checked; an empty areas_ref lets the reference load.
    con.execute("CREATE TABLE areas_ref (area_code VARCHAR, area_level VARCHAR)")
    now = dt.datetime.now()
    adapted_dir = work / "_adapted"

    paths = dict(files)

    def record(checked: _Checked) -> None:
        _record(con, checked, result, hashes, previous, work, now, paths, seen or {})

    # Files are checked two at a time (the checks are mostly small queries that leave a core idle)
    # and recorded strictly in file order, so the result is the same as checking them one by one:
    # the first file still wins a duplicate, and a file that defines areas is checked alone, after
    # every file before it is recorded and before any file after it starts. A file checked while an
    # earlier one is still being checked waits to be recorded without holding up the next check
    # (at most two such files wait), so a small file behind a large one does not leave a core idle.
    workers = max(1, min(2, config.duckdb_threads))
    pending: list = []

    def make_room() -> None:
        while pending and pending[0].done():
            record(pending.pop(0).result())
        while sum(not f.done() for f in pending) >= workers or len(pending) >= workers + 2:
            wait([f for f in pending if not f.done()] or pending[:1], return_when=FIRST_COMPLETED)
            while pending and pending[0].done():
                record(pending.pop(0).result())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for index, (display, path) in enumerate(reference + _expand_published(user_files, adapted_dir, result, con)):
            if _may_define_areas(display, datasets):
                while pending:
                    record(pending.pop(0).result())
                record(_check(con, index, display, path))
            else:
                make_room()
                pending.append(pool.submit(_check, con, index, display, path))
        for future in pending:
            record(future.result())
    shutil.rmtree(adapted_dir, ignore_errors=True)
    _copy_kept_when_several(con, result, work)
    _count_persons_into_caseload(con, result)
    write_areas(con)
    roll_up_and_write(con, work, {e["dataset"] for e in result.kept_as_is}, result, workers)
    return result


def _record(con, checked: _Checked, result: LoadResult, hashes, previous: Path | None, work: Path,
            now: dt.datetime, paths: dict[str, Path] | None = None,
            seen: dict[str, tuple[int, int]] | None = None) -> None:
    """Add a checked file's good rows, quarantine and manifest row to the load, then drop its tables.
    A file that changed (size or modification time) since it was hashed, so while it was read, is
    skipped as a whole: its previous rows are kept and the next load reads it."""
    started = time.time()
    display, path, clean, raw, validated = checked.display, checked.path, checked.clean, checked.raw, checked.validated
    changed = _changed_since_hashed(display, paths or {}, seen or {})
    if changed and clean is not None:
        clean = None
        checked.report = FileReport(path=display, dataset=checked.clean.dataset.name)
    report = _keep_as_is(clean, path, display, work, result) if clean is not None else checked.report
    if changed:
        report.fatal = (f"skipped: {changed} changed (size or modification time) while this load read it; its "
                        "rows are not used now and the next load will read it")
        if changed not in result.changed_while_read:
            result.changed_while_read.append(changed)
    dataset = report.dataset
    status, message = "loaded", ""
    if changed:
        status, message = "skipped", report.fatal
        kept = _carry_forward(con, previous, display)
        if kept:
            message += f"; kept {kept} rows loaded from this file previously"
            report.notes.append(f"kept {kept} rows from the previous load of this file")
    elif clean is not None:
        message = "passed every check as a whole; kept as it is"
    elif report.fatal or validated is None or validated.good_sql is None:
        status, message = "rejected", report.fatal or "could not be read"
        kept = _carry_forward(con, previous, display)
        if kept:
            message += f"; kept {kept} rows loaded from this file previously"
            report.notes.append(f"kept {kept} rows from the previous load of this file")
    else:
        table = sql_name("t_" + dataset)
        cols = [c for c, _ in contract.canonical_columns(contract.DATASETS[dataset])]
        if dataset != "benchmarks":
            cols.append("edition")
        col_sql = ", ".join(sql_name(c) for c in cols)
        con.execute(f"INSERT INTO {table} ({col_sql}, source_row, source_file) "
                    f"SELECT {col_sql}, source_row, $file FROM ({validated.good_sql})",
                    {**validated.params, "file": display})
        con.execute(f"INSERT INTO quarantine SELECT $file, $ds, source_row, column_name, value, reason, "
                    f"raw_row FROM ({quarantine_rows_sql(raw)})", {"file": display, "ds": dataset})
        if report.problems:
            status = "loaded with problems"
            message = f"{len(report.problems)} problems in {report.rows_quarantined} rows"
        if dataset == "areas":
            con.execute("DELETE FROM areas_ref")
            con.execute("INSERT INTO areas_ref SELECT area_code, any_value(area_level) FROM t_areas GROUP BY 1")
    if raw is not None:
        drop_checked_tables(con, raw)
    edition = None
    if dataset and dataset != "benchmarks" and status != "rejected":
        row = con.execute(f"SELECT max(edition) FROM {sql_name('t_' + dataset)} WHERE source_file = $f",
                          {"f": display}).fetchall()
        edition = row[0][0] if row else None
    con.execute("INSERT INTO manifest VALUES ($f, $d, $h, $s, $r, $l, $q, 0, $m, $e, $t, $at)",
                {"f": display, "d": dataset, "h": hashes.get(display) or file_sha256(path), "s": status,
                 "r": report.rows_read, "l": report.rows_loaded if status != "rejected" else 0,
                 "q": report.rows_quarantined, "m": message, "e": edition,
                 "t": round(checked.seconds + time.time() - started, 4), "at": now})
    result.recorded.append(display)
    report.in_load = True
    if not display.startswith("(built-in)"):
        result.reports.append(report)


def _expand_published(files, workdir: Path, result: LoadResult, con=None) -> list[tuple[str, Path]]:
    """Published DfE / NHS files become contract-shaped files (send_metrics.ingest.recognise, shared with
    `validate` and uploads, so all three give one verdict per file). Rows an adapter could not use
    (the SEN2 person-level reader's broken links, impossible dates, ...) go to the quarantine with
    the file and row they came from, and are reported like any file's problems."""
    from send_metrics.ingest.recognise import expand_all
    expanded, out = expand_all(files, workdir)
    for e in expanded:
        result.notes += e.load_notes()
        report = e.problem_report()
        if report is None or con is None:
            continue
        con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, NULL)",
                        [[str(Path(e.display).parent / p.file) if "/" in e.display else p.file, p.dataset, p.line,
                          p.column, p.value, p.reason] for p in e.problems])
        report.in_load = True
        result.reports.append(report)
    return out


def _carry_forward(con, previous: Path | None, display: str) -> int:
    """Rows a now-unreadable file gave in the previous load are kept, so nothing is lost. Except
    person-level rows of a load taken from the shipped demo snapshot (send_metrics.ingest.snapshot): their
    pseudonymous ids were made with another install's key and must never be linked with this
    install's, so they are not carried (the file's rows come back when it can be read again)."""
    if previous is None:
        return 0
    try:
        shipped = bool(read_load_info(previous).get("shipped_snapshot"))
    except (OSError, ValueError):
        shipped = False
    kept = 0
    for ds in contract.DATASETS.values():
        if shipped and any(c.kind == "text" and "seudonym" in c.description for c in ds.columns):
            continue  # a dataset with pseudonymous ids (as send_metrics.measures.prebuilt.pseudonym_columns)
        p = previous / f"{ds.name}_all_editions.parquet"
        if not p.exists():
            p = previous / f"{ds.name}.parquet"  # a single-edition load keeps one file
        if not p.exists():
            continue
        cols = [c for c, _ in contract.canonical_columns(ds)] + (["edition"] if ds.name != "benchmarks" else [])
        col_sql = ", ".join(sql_name(c) for c in cols)
        try:
            n = con.execute(f"INSERT INTO {sql_name('t_' + ds.name)} ({col_sql}, source_file, source_row) "
                            f"SELECT {col_sql}, source_file, source_row FROM read_parquet($p) "
                            f"WHERE source_file = $f AND source_row IS NOT NULL",
                            {"p": str(p), "f": display}).fetchall()[0][0]
        except duckdb.Error:
            n = 0
        kept += n
        if n and ds.name == "areas":
            con.execute("DELETE FROM areas_ref")
            con.execute("INSERT INTO areas_ref SELECT area_code, any_value(area_level) FROM t_areas GROUP BY 1")
    try:
        entries = read_load_info(previous).get("kept_as_is", [])
    except (OSError, ValueError):
        entries = []
    for entry in entries if not shipped else []:
        if (entry.get("source_file") != display or entry.get("dataset") not in contract.DATASETS
                or not (previous / entry["file"]).exists()):
            continue
        cols = ", ".join(sql_name(c) for c in stored_columns(contract.DATASETS[entry["dataset"]]))
        try:
            kept += con.execute(f"INSERT INTO {sql_name('t_' + entry['dataset'])} ({cols}) "
                                f"{kept_rows_sql(previous, entry)}").fetchall()[0][0]
        except duckdb.Error:
            pass
    return kept


def _count_persons_into_caseload(con, result: LoadResult) -> None:
    """Person-level rows become caseload cells (count of people), one set per source file: copied
    rows are counted from the store's table; a kept file's cells were counted by its check."""
    template = sql_text("persons_to_caseload")
    columns = "year, area_code, area_level, primary_need, age_band, setting_type, edition, source_file"
    copied = sql_text("person_cells").format(columns=columns, persons="t_ehcp_persons")
    con.execute(template.format(cells=f"({copied})", order="ORDER BY source_file"))
    for entry in result.kept_as_is:
        ds = contract.DATASETS[entry["dataset"]]
        period = contract.period_column(ds)
        period_type = dict(contract.canonical_columns(ds))[period]
        cells = (f"(SELECT * EXCLUDE (time_period), CAST(time_period AS {period_type}) AS {sql_name(period)}, "
                 f"NULL AS edition, $file AS source_file FROM {result.person_cells[entry['file']]})")
        con.execute(template.format(cells=cells, order=""), {"file": entry["source_file"]})


def _keep_as_is(clean, path: Path, display: str, work: Path, result: LoadResult) -> FileReport:
    """A person-level Parquet that passed every check is copied byte for byte into the load."""
    name = f"{clean.dataset.name}.kept-{len(result.kept_as_is)}.parquet"
    shutil.copyfile(path, work / name)
    result.kept_as_is.append({"dataset": clean.dataset.name, "file": name, "source_file": display,
                              "columns": clean.columns})
    result.person_cells[name] = clean.cells
    return FileReport(path=display, dataset=clean.dataset.name, rows_read=clean.rows, rows_loaded=clean.rows,
                      notes=["every check passed on the whole columns: the file is kept as it is"])


def _copy_kept_when_several(con, result: LoadResult, work: Path) -> None:
    """Two person-level sources of one dataset must be compared row by row (a person in both is a
    duplicate): then the kept files' rows are copied into the load like any other file's."""
    for ds in {e["dataset"] for e in result.kept_as_is}:
        entries = [e for e in result.kept_as_is if e["dataset"] == ds]
        copied = con.execute(f"SELECT count(DISTINCT source_file) FROM {sql_name('t_' + ds)}").fetchall()[0][0]
        if len(entries) + copied < 2:
            continue
        for entry in entries:
            cols = ", ".join(sql_name(c) for c in stored_columns(contract.DATASETS[ds]))
            con.execute(f"INSERT INTO {sql_name('t_' + ds)} ({cols}) {kept_rows_sql(work, entry)}")
            result.kept_as_is.remove(entry)
            (work / entry["file"]).unlink()
