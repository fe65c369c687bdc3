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
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from send_metrics import contract
from send_metrics.config import REFERENCE_DIR, SQL_DIR, Config, load_config, sql_text
from send_metrics.ingest.readers import SUPPORTED_SUFFIXES, RawTable
from send_metrics.ingest.recognise import header_dataset, reference_files
from send_metrics.ingest.validate import (
    CleanParquet,
    FileReport,
    Validated,
    clean_person_parquet,
    drop_checked_tables,
    is_adapted_output,
    quarantine_rows_sql,
    validate_file,
)

LOADER_VERSION = "2"
KEEP_LOADS = 3

# Reference datasets load first: everything else is checked against the areas they define.
DATASET_ORDER = ["areas", "area_membership", "statistical_neighbours"]


@dataclass
class LoadResult:
    changed: bool
    load_id: str | None
    reports: list[FileReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    kept_as_is: list[dict] = field(default_factory=list)  # person-level files kept as they are
    person_cells: dict[str, str] = field(default_factory=dict)  # kept file -> table of its counted cells
    recorded: list[str] = field(default_factory=list)  # files in the order they were added (first wins a tie)
    changed_while_read: list[str] = field(default_factory=list)  # skipped: taken by the next load

    @property
    def ok(self) -> bool:
        return self.error is None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def discover(data_dir: Path, refused: list[str] | None = None) -> list[Path]:
    """Every CSV/Parquet under the folder, skipping hidden folders (the store lives in one).

    Files are files: only regular files inside the data folder are returned. A device, named pipe
    or socket, a link that points outside the folder (or nowhere), and a file over SEND_MAX_FILE_MB
    are left out, each with a sentence appended to ``refused`` (the load's notes)."""
    if not data_dir.is_dir():
        return []
    found = []
    root_real = os.path.realpath(data_dir)
    for root, dirs, files in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for f in sorted(files):
            if f.startswith((".", "~$")):
                continue
            p = Path(root) / f
            # .gz and .xlsx are published NHS formats that only the adapters read.
            if p.suffix.lower() in SUPPORTED_SUFFIXES + (".gz", ".xlsx"):
                why = _not_a_plain_file(p, root_real)
                if why is None:
                    found.append(p)
                elif refused is not None:
                    refused.append(f"{_relative(p, data_dir)}: refused: {why}")
    return found


def _not_a_plain_file(path: Path, root_real: str) -> str | None:
    """Why a discovered entry must not be read (None for a regular file inside the data folder)."""
    import stat
    from send_metrics.config import max_file_bytes
    try:
        st = path.stat()  # follows a link
    except (OSError, ValueError):
        return "it is a broken link or cannot be read"
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        return f"it is {kind}" + (" (through a link)" if path.is_symlink() else "") + ", not a regular file"
    if path.is_symlink() and os.path.commonpath([os.path.realpath(path), root_real]) != root_real:
        return "it is a link to a file outside the data folder; copy the file into the folder instead"
    if st.st_size > max_file_bytes():
        return (f"the file is {st.st_size / 1048576:,.0f} MB, more than the {max_file_bytes() // 1048576:,} MB limit "
                "(SEND_MAX_FILE_MB)")
    return None


class FileChanged(OSError):
    """A file's size or modification time changed while it was read, or it is not a regular file."""


DEMO_FOLDER = "demo"


def without_demo_when_real(files: list[Path], data_dir: Path) -> tuple[list[Path], list[str]]:
    """The synthetic demo (`<data dir>/demo/`) is a data set of its own: it is loaded only when the
    data folder holds nothing else, so synthetic and real figures never mix in one store."""
    demo = data_dir / DEMO_FOLDER
    in_demo = [p for p in files if demo in p.parents]
    others = [p for p in files if demo not in p.parents]
    if not in_demo or not others:
        return files, []
    shown = ", ".join(_relative(p, data_dir) for p in others[:3]) + (" ..." if len(others) > 3 else "")
    return others, [f"the synthetic demo in {_relative(demo, data_dir)}/ is not loaded: the data folder holds other "
                    f"files ({len(others)}: {shown}), and the demo is used only when it holds nothing else, so "
                    f"synthetic and real figures never mix. Remove those files to go back to the demo."]


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file. Never blocks: the file is opened non-blocking and refused
    (FileChanged) unless it is a regular file, and refused when its size or modification time
    changes while it is read (a file still being written is taken by the next load)."""
    import stat
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise FileChanged(f"{path.name} is not a regular file")
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
        after = os.fstat(fd)
    now = os.stat(path)
    if {(before.st_size, before.st_mtime_ns)} != {(after.st_size, after.st_mtime_ns), (now.st_size, now.st_mtime_ns)}:
        raise FileChanged(f"{path.name} changed (size or modification time) while it was read")
    return h.hexdigest()


def current_load_dir(store_dir: Path) -> Path | None:
    pointer = store_dir / "CURRENT"
    try:
        load_id = pointer.read_text().strip()
    except OSError:
        return None
    path = store_dir / "loads" / load_id
    return path if path.is_dir() else None


def read_load_info(load_dir: Path) -> dict:
    return json.loads((load_dir / "load.json").read_text())


def verify_load(load_dir: Path) -> list[str]:
    """Files of a load whose checksum no longer matches (a corrupted or missing derived file)."""
    info = read_load_info(load_dir)
    bad = []
    for name, digest in info.get("checksums", {}).items():
        p = load_dir / name
        if not p.exists() or file_sha256(p) != digest:
            bad.append(name)
    return bad


@contextmanager
def _lock(store_dir: Path):
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _connect(config: Config, tmp: Path) -> duckdb.DuckDBPyConnection:
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": config.duckdb_memory, "threads": config.duckdb_threads,
                                 "temp_directory": str(tmp)})
    con.execute("SET enable_progress_bar = false")  # no progress bars in the CLI's output
    # The loader's database is in memory and thrown away: checkpointing it (compressing tables
    # after each large write) only costs time, about a fifth of a national load.
    con.execute("SET checkpoint_threshold = '1TB'")
    return con


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def load(config: Config | None = None, force: bool = False, extra_files: list[Path] | None = None) -> LoadResult:
    """Load every extract; returns without writing when nothing changed since the current load."""
    config = config or load_config()
    with _lock(config.store_dir):
        return _load_locked(config, force, extra_files or [])


def _modified_day(path: Path) -> str:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc).date().isoformat()
    except OSError:
        return ""


def _fingerprint(files: list[tuple[str, Path]], skipped: list[str] | None = None,
                 seen: dict[str, tuple[int, int]] | None = None) -> tuple[str, dict[str, str]]:
    """The load's fingerprint and each file's hash. A file that cannot be hashed (changed while
    read, not a regular file, gone) is left out of both, with a sentence in ``skipped``. ``seen``
    gets each file's (size, modification time) as hashed, to tell later whether it changed while
    the load read it."""
    hashes = {}
    for name, p in files:
        try:
            st = os.stat(p)
            hashes[name] = file_sha256(p)
            if seen is not None:
                seen[name] = (st.st_size, st.st_mtime_ns)
        except OSError as exc:
            if skipped is None:
                raise
            why = str(exc) if isinstance(exc, FileChanged) else (exc.strerror or str(exc))
            skipped.append(f"{name}: skipped: {why}; it will be read by the next load")
    files = [(name, p) for name, p in files if name in hashes]
    return _fingerprint_of(hashes, {name: _modified_day(p) for name, p in files}), hashes


def _fingerprint_of(hashes: dict[str, str], days: dict[str, str]) -> str:
    h = hashlib.sha256(f"{contract.CONTRACT_VERSION}/{LOADER_VERSION}".encode())
    for name in sorted(hashes):
        # A published file with no stated release date takes its modification day as its edition.
        h.update(f"{name}\0{hashes[name]}\0{days[name]}\n".encode())
    for ref in reference_files() + [REFERENCE_DIR / "area_code_changes.csv"]:
        h.update(file_sha256(ref).encode())
    for sql in sorted(SQL_DIR.glob("rollup*.sql")):
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
    files = [(_relative(p, data_dir), p) for p in found]
    files += [(_relative(p, data_dir), p) for p in extra_files]
    seen: dict[str, tuple[int, int]] = {}
    fingerprint, hashes = _fingerprint(files, refused, seen)
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
    _prune(loads, keep=final)
    result.load_id = load_id
    return result


def _is_demo(files: list[tuple[str, Path]]) -> bool:
    return any(name.replace("\\", "/").startswith("demo/") for name, _ in files)


def _prune(loads: Path, keep: Path) -> None:
    done = sorted((p for p in loads.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                  key=lambda p: p.name)
    for old in done[:-KEEP_LOADS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for partial in loads.glob("*.partial"):
        # A partial folder older than an hour belongs to a load that was killed.
        if partial != keep and time.time() - partial.stat().st_mtime > 3600:
            shutil.rmtree(partial, ignore_errors=True)


def _create_tables(con) -> None:
    for ds in contract.DATASETS.values():
        cols = [f"{_q(c)} {t}" for c, t in contract.canonical_columns(ds)]
        if ds.name != "benchmarks":
            cols.append("edition VARCHAR")
        cols += ["source_file VARCHAR", "source_row BIGINT", "is_rollup BOOLEAN DEFAULT false"]
        con.execute(f"CREATE TABLE {_q('t_' + ds.name)} ({', '.join(cols)})")
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
    # every file before it is recorded and before any file after it starts.
    workers = max(1, min(2, config.duckdb_threads))
    pending: list = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for index, (display, path) in enumerate(reference + _expand_published(user_files, adapted_dir, result, con)):
            if _may_define_areas(display, datasets):
                while pending:
                    record(pending.pop(0).result())
                record(_check(con, index, display, path))
            else:
                if len(pending) >= workers:
                    record(pending.pop(0).result())
                pending.append(pool.submit(_check, con, index, display, path))
        for future in pending:
            record(future.result())
    shutil.rmtree(adapted_dir, ignore_errors=True)
    _copy_kept_when_several(con, result, work)
    _count_persons_into_caseload(con, result)
    _write_areas(con)
    _roll_up_and_write(con, work, {e["dataset"] for e in result.kept_as_is}, result, workers)
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
        table = _q("t_" + dataset)
        cols = [c for c, _ in contract.canonical_columns(contract.DATASETS[dataset])]
        if dataset != "benchmarks":
            cols.append("edition")
        col_sql = ", ".join(_q(c) for c in cols)
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
        row = con.execute(f"SELECT max(edition) FROM {_q('t_' + dataset)} WHERE source_file = $f",
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
        col_sql = ", ".join(_q(c) for c in cols)
        try:
            n = con.execute(f"INSERT INTO {_q('t_' + ds.name)} ({col_sql}, source_file, source_row) "
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
        cols = ", ".join(_q(c) for c in _stored_columns(contract.DATASETS[entry["dataset"]]))
        try:
            kept += con.execute(f"INSERT INTO {_q('t_' + entry['dataset'])} ({cols}) "
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
        cells = (f"(SELECT * EXCLUDE (time_period), CAST(time_period AS {period_type}) AS {_q(period)}, "
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
        copied = con.execute(f"SELECT count(DISTINCT source_file) FROM {_q('t_' + ds)}").fetchall()[0][0]
        if len(entries) + copied < 2:
            continue
        for entry in entries:
            cols = ", ".join(_q(c) for c in _stored_columns(contract.DATASETS[ds]))
            con.execute(f"INSERT INTO {_q('t_' + ds)} ({cols}) {kept_rows_sql(work, entry)}")
            result.kept_as_is.remove(entry)
            (work / entry["file"]).unlink()


def _stored_columns(ds: contract.Dataset) -> list[str]:
    cols = [c for c, _ in contract.canonical_columns(ds)]
    return cols + (["edition"] if ds.name != "benchmarks" else []) + ["source_file", "source_row", "is_rollup"]


def sql_literal(text: str) -> str:
    """A SQL string literal, for the few places that cannot take parameters (views); used only for
    paths inside the store and the names of loaded files."""
    return "'" + text.replace("'", "''") + "'"


def kept_rows_sql(load_dir: Path, entry: dict) -> str:
    """SELECT giving a kept file's rows exactly as the store holds a copied file's rows (the
    canonical columns, edition, source file and row, is_rollup). Shared by the dashboard's views
    and the loader's carry-forward."""
    ds = contract.DATASETS[entry["dataset"]]
    period = contract.period_column(ds)
    select = []
    for col, sql_type in contract.canonical_columns(ds):
        source = "time_period" if col == period else _q(col) if col in entry["columns"] else "NULL"
        select.append(f"CAST({source} AS {sql_type}) AS {_q(col)}")
    select += ["CAST(NULL AS VARCHAR) AS edition", f"{sql_literal(entry['source_file'])} AS source_file",
               "CAST(file_row_number + 1 AS BIGINT) AS source_row", "false AS is_rollup"]
    return (f"SELECT {', '.join(select)} FROM read_parquet({sql_literal(str(load_dir / entry['file']))}, "
            f"file_row_number = true)")


def _key_columns(ds: contract.Dataset) -> list[str]:
    return [contract.period_column(ds) if k in ("year", "month") else k for k in ds.key]


def breakdown_totals(ds: contract.Dataset) -> dict[str, str]:
    """Breakdown column -> its "all" (not broken down) code, where it has one."""
    out = dict(ds.total_codes)
    for d in ds.breakdowns:
        allowed = ds.column(d).allowed or ()
        for code in ("ALL", "all"):
            if d not in out and code in allowed:
                out[d] = code
    return {d: c for d, c in out.items() if d in ds.breakdowns}


def figure_groups(ds: contract.Dataset) -> list[list[str]]:
    """Indicator columns that make one figure together and so must come from one source: a
    numerator with its denominator (the contract's not-greater pairs, joined transitively), and
    for benchmarks and outcomes the value with its parts. Every other indicator stands alone."""
    cols = [c.name for c in ds.indicators]
    parent = {c: c for c in cols}

    def find(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    pairs = list(ds.not_greater)
    if ds.name in ("benchmarks", "outcomes"):
        pairs += [(a, b) for a, b in zip(cols, cols[1:])]
    for a, b in pairs:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for c in cols:
        groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def _held(col: str) -> str:
    """A row holds a figure's column when it gives a number or a publisher's symbol. An empty
    cell (NULL value and no symbol) means the file does not carry that column at all."""
    return f"({_q(col)} IS NOT NULL OR {_q(col + '_symbol')} IS NOT NULL)"


def _resolve_figures(con, ds: contract.Dataset, file_rank: list[str], result: LoadResult) -> bool:
    """One value for every figure, whatever files and editions give it.

    A figure is a dataset's quantity (a column, or a group of columns read together) for one
    identity: area, period and the key's non-breakdown filters. A total row and the cells of a
    breakdown of the same identity are two views of one figure. For each figure the newest
    edition that holds it wins; files of that edition complement each other cell by cell (the
    file recorded first wins a shared cell, at the grain of the first); rows of other sources stay
    in the all-editions table. A row none of whose figures wins is superseded (another edition) or a
    duplicate (the same edition from an earlier file: quarantined, as before). Returns True when
    the final table was built here (several sources share an identity)."""
    table = _q("t_" + ds.name)
    if con.execute(f"SELECT count(DISTINCT source_file) FROM {table}").fetchall()[0][0] < 2:
        return False
    ident = contract.identity_columns(ds)
    id_sql = ", ".join(_q(c) for c in ident)
    shared = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY {id_sql} "
                         f"HAVING count(DISTINCT (source_file, coalesce(edition, ''))) > 1)").fetchall()[0][0]
    if not shared:
        return False
    con.execute("CREATE OR REPLACE TEMP TABLE _file_rank (source_file VARCHAR, rank INTEGER)")
    con.executemany("INSERT INTO _file_rank VALUES (?, ?)", [(f, i) for i, f in enumerate(file_rank)])
    # Every (file, edition) pair is a source; 1 = the newest edition, then the file recorded first.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _src AS SELECT source_file, edition,
                    row_number() OVER (ORDER BY edition DESC NULLS LAST, rank NULLS LAST, source_file) AS src
                    FROM (SELECT DISTINCT t.source_file, t.edition, f.rank FROM {table} t
                          LEFT JOIN _file_rank f USING (source_file))""")
    # A dataset with no indicators (person-level rows) has one figure per key: the row itself.
    groups = figure_groups(ds) or [[]]
    held = [" OR ".join(_held(c) for c in g) or "true" for g in groups]
    key_cols = _key_columns(ds)
    cell_sql = ", ".join(_q(c) for c in key_cols)
    # A row's grain: which breakdown columns it leaves at their "all" code (a total).
    totals = breakdown_totals(ds)
    grain = (" || ".join(f"CASE WHEN {_q(d)} = '{totals[d]}' THEN 'T' ELSE 'B' END" if d in totals else "'B'"
                         for d in ds.breakdowns) or "''")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tagged AS SELECT t.rowid AS _rid, t.*, s.src AS _src,
                    {grain} AS _grain FROM {table} t JOIN _src s ON s.source_file = t.source_file
                    AND s.edition IS NOT DISTINCT FROM t.edition""")
    # Per group: the best source of each cell, and the best source of the whole identity with its
    # edition and the grains it gives. A row's figure stands when its source is the best for its
    # cell, it is of the identity's newest edition, and its grain is one the identity's best source
    # gives: files of one edition complement each other cell by cell (disjoint cells of the same
    # grain add up), but two editions, or a total and a breakdown, are never added.
    cell_wins = ", ".join(f"min(_src) FILTER (WHERE {h}) AS _c{i}" for i, h in enumerate(held))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cellwin AS SELECT {cell_sql}, {cell_wins} FROM _tagged "
                f"GROUP BY {cell_sql}")
    best = ", ".join(f"min(_src) FILTER (WHERE {h}) AS _b{i}" for i, h in enumerate(held))
    editions = ", ".join(f"(SELECT edition FROM _src WHERE src = _b{i}) AS _e{i}" for i in range(len(held)))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _best AS SELECT *, {editions} FROM "
                f"(SELECT {id_sql}, {best} FROM _tagged GROUP BY {id_sql})")
    grains = " UNION ALL ".join(
        f"SELECT DISTINCT {', '.join('x.' + _q(c) for c in ident)}, {i} AS _g, x._grain FROM _tagged x "
        f"JOIN _best b USING ({id_sql}) WHERE ({h}) AND x._src = b._b{i}" for i, h in enumerate(held))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _grains AS {grains}")
    id_on = " AND ".join(f"g.{_q(c)} = x.{_q(c)}" for c in ident)
    kept_g = [f"(({h}) AND x._src = c._c{i} AND x.edition IS NOT DISTINCT FROM b._e{i} AND EXISTS (SELECT 1 "
              f"FROM _grains g WHERE {id_on} AND g._g = {i} AND g._grain = x._grain))" for i, h in enumerate(held)]
    beaten = [f"CASE WHEN NOT ({h}) THEN NULL WHEN c._c{i} < x._src THEN c._c{i} ELSE b._b{i} END"
              for i, h in enumerate(held)]
    cell_on = " AND ".join(f"c.{_q(k)} = x.{_q(k)}" for k in key_cols)
    best_on = " AND ".join(f"b.{_q(c)} = x.{_q(c)}" for c in ident)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rows AS SELECT x.*,
                    {', '.join(f'coalesce({k}, false) AS _k{i}' for i, k in enumerate(kept_g))},
                    least({', '.join(beaten)}) AS _beaten_by,
                    {' OR '.join(f"coalesce(({h}) AND c._c{i} < x._src, false)" for i, h in enumerate(held))} AS _same_cell
                    FROM _tagged x JOIN _cellwin c ON {cell_on} JOIN _best b ON {best_on}""")
    con.execute(f"ALTER TABLE _rows ADD COLUMN _kept BOOLEAN")
    con.execute(f"UPDATE _rows SET _kept = {' OR '.join(f'_k{i}' for i in range(len(groups)))}")
    required = {c.name for c in ds.indicators if c.required}
    select = [_q(k) for k in key_cols]
    for i, g in enumerate(groups):
        for c in g:
            won = f"FILTER (WHERE _k{i})"
            select.append(f"any_value({_q(c)}) {won} AS {_q(c)}")
            missing = "'x'" if c in required else "NULL"
            select.append(f"coalesce(any_value({_q(c + '_symbol')}) {won}, CASE WHEN any_value({_q(c)}) {won} "
                          f"IS NULL THEN {missing} END) AS {_q(c + '_symbol')}")
    indicator_names = {c.name for c in ds.indicators} | {c.name + "_symbol" for c in ds.indicators}
    stored = _stored_columns(ds)
    for col in stored:
        if col in key_cols or col in indicator_names:
            continue
        select.append(f"arg_min({_q(col)}, _src) FILTER (WHERE _kept) AS {_q(col)}")
    order = ", ".join(_q(c) for c in stored)
    con.execute(f"CREATE TABLE {_q(ds.name)} AS SELECT {order} FROM (SELECT {', '.join(select)} FROM _rows "
                f"WHERE _kept GROUP BY {', '.join(_q(k) for k in key_cols)})")
    # Rows that give no winning figure: a duplicate (same edition, earlier file) is quarantined as
    # before; a row beaten by a newer edition is superseded and stays in the all-editions table.
    con.execute("""CREATE OR REPLACE TEMP TABLE _lost AS SELECT r._rid, r.source_file, r.source_row,
                   r.edition, b.source_file AS by_file, b.edition AS by_edition, r._same_cell,
                   b.edition IS NOT DISTINCT FROM r.edition AS duplicate
                   FROM _rows r LEFT JOIN _src b ON b.src = r._beaten_by WHERE NOT r._kept""")
    con.execute("""INSERT INTO quarantine SELECT source_file, $ds, source_row, $k, NULL,
                   CASE WHEN _same_cell THEN 'duplicate key: the same figure (same key and edition) is already '
                   || 'loaded from ' || by_file ELSE 'duplicate: the same figure, at another breakdown (a total '
                   || 'beside its breakdown, same edition), is already loaded from ' || by_file END, NULL
                   FROM _lost WHERE duplicate""", {"ds": ds.name, "k": ",".join(_key_columns(ds))})
    con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT _rid FROM _lost WHERE duplicate)")
    counts = con.execute("""SELECT source_file, count(*) FILTER (WHERE duplicate),
                            count(*) FILTER (WHERE NOT duplicate), string_agg(DISTINCT by_file, '; ')
                            FILTER (WHERE NOT duplicate), max(by_edition) FILTER (WHERE NOT duplicate),
                            string_agg(DISTINCT by_file, '; ') FILTER (WHERE duplicate)
                            FROM _lost GROUP BY source_file""").fetchall()
    for source_file, dups, superseded, by_files, by_edition, dup_of in counts:
        # A file whose rows are quarantined as duplicates is not "OK": its status and message say so.
        said = (f"{dups:,} rows give figures already loaded from {(dup_of or 'an earlier file')[:200]} (same "
                "edition): quarantined as duplicates") if dups else ""
        con.execute("""UPDATE manifest SET rows_loaded = rows_loaded - $d - $s,
                       rows_quarantined = rows_quarantined + $d, rows_superseded = rows_superseded + $s,
                       status = CASE WHEN $d > 0 AND status = 'loaded' THEN 'loaded with problems' ELSE status END,
                       message = CASE WHEN $d > 0 THEN coalesce(nullif(message, '') || '; ', '') || $said
                                 ELSE message END
                       WHERE source_file = $f AND dataset = $ds""",
                    {"d": dups, "s": superseded, "f": source_file, "ds": ds.name, "said": said})
        for report in result.reports:
            if report.path == source_file and report.dataset == ds.name:
                report.rows_loaded -= dups + superseded
                report.rows_quarantined += dups
                report.rows_duplicate += dups
                report.rows_superseded += superseded
                if dups:
                    report.notes.append(said)
                if superseded:
                    report.notes.append(f"{superseded:,} rows superseded by a newer edition ({by_edition} in "
                                        f"{by_files[:200]}); they stay in {ds.name}_all_editions")
        if ds.name == "ehcp_caseload" and not any(r.path == source_file and r.dataset == ds.name
                                                  for r in result.reports) and superseded:
            result.notes.append(f"{source_file}: {superseded:,} caseload cells counted from it are superseded by "
                                f"a newer edition ({by_edition} in {by_files[:200]})")
    _record_reconciliation(con, ds, groups, ident)
    for t in ("_tagged", "_cellwin", "_best", "_grains", "_rows", "_lost"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return True


def _record_reconciliation(con, ds: contract.Dataset, groups: list[list[str]], ident: list[str]) -> None:
    """Every figure given by more than one source, each source's value side by side: the same cell
    from several files or editions, and an identity given at different grains (a total beside a
    breakdown: each source's cells are summed; a symbol in any cell leaves the sum empty)."""
    period = contract.period_column(ds)
    key_cols = _key_columns(ds)

    def label(cols: list[str], suffix: str) -> str:
        extra = [c for c in cols if c not in (period, "area_code")]
        parts = " || ', ' || ".join(f"'{c}=' || {_q(c)}" for c in extra)
        return (f"' [' || {parts} || ']'" if extra else "''") + (f" || '{suffix}'" if suffix else "")

    for i, g in enumerate(groups):
        for c in g:
            h = _held(c)
            for cols, having, suffix in ((key_cols, "count(DISTINCT _src) > 1", ""),
                                         (ident, "count(DISTINCT _grain) > 1", " (all cells summed, per source)")):
                if cols is ident and not ds.breakdowns:
                    continue
                by = ", ".join(_q(x) for x in cols)
                con.execute(f"""INSERT INTO reconciliation
                    WITH multi AS (SELECT {by} FROM _rows WHERE {h} GROUP BY {by} HAVING {having})
                    SELECT $ds, area_code, CAST({_q(period)} AS VARCHAR), '{c}' || {label(cols, suffix)},
                           edition, source_file,
                           CASE WHEN bool_or({_q(c)} IS NULL) THEN NULL ELSE sum({_q(c)}) END,
                           max({_q(c + '_symbol')}), count(*), bool_or(_k{i})
                    FROM _rows JOIN multi USING ({by}) WHERE {h}
                    GROUP BY {by}, edition, source_file""", {"ds": ds.name})


def _write_areas(con) -> None:
    """Final areas (first definition of a code wins), membership and the rollup map."""
    con.execute("""CREATE TABLE areas AS SELECT area_code, arg_min(area_name, rowid) AS area_name,
                   arg_min(area_level, rowid) AS area_level, arg_min(dfe_la_code, rowid) AS dfe_la_code,
                   coalesce(lower(arg_min(rollup_complete, rowid)) = 'true', false) AS rollup_complete,
                   arg_min(coverage_note, rowid) AS coverage_note,
                   TRY_CAST(arg_min(valid_from, rowid) AS DATE) AS valid_from,
                   TRY_CAST(arg_min(valid_to, rowid) AS DATE) AS valid_to FROM t_areas GROUP BY area_code""")
    links = con.execute("SELECT DISTINCT child_code, parent_code FROM t_area_membership WHERE weight = 1").fetchall()
    complete = {r[0] for r in con.execute("SELECT area_code FROM areas WHERE rollup_complete").fetchall()}
    parents: dict[str, set[str]] = {}
    has_child: set[str] = set()
    for child, parent in links:
        parents.setdefault(child, set()).add(parent)
        has_child.add(parent)
    leaves = [a for a in parents if a not in has_child]
    pairs = []
    for leaf in leaves:
        seen, stack = set(), list(parents.get(leaf, ()))
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            stack.extend(parents.get(p, ()))
        pairs += [(leaf, a) for a in sorted(seen) if a in complete]
    con.execute("CREATE TABLE rollup_map (leaf VARCHAR, ancestor VARCHAR)")
    if pairs:
        con.executemany("INSERT INTO rollup_map VALUES (?, ?)", pairs)


def _latest_and_rollup(con, ds: contract.Dataset, file_rank: list[str], result: LoadResult,
                       merged: set[str]) -> list[str]:
    """One value per figure (see _resolve_figures), then parent areas summed from localities."""
    table = "t_" + ds.name
    if _resolve_figures(con, ds, file_rank, result):
        merged.add(ds.name)
    else:  # one source per figure: keys are already unique, nothing to choose
        con.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(ds.name)}")
        con.execute(f"CREATE VIEW {_q(table)} AS SELECT * FROM {_q(ds.name)} WHERE NOT is_rollup")
        # A column no file gives (an adapted publication leaves it empty) is 'x', not available.
        for col in (c.name for c in ds.indicators if c.required):
            sym = _q(col + "_symbol")
            con.execute(f"UPDATE {_q(ds.name)} SET {sym} = 'x' WHERE {_q(col)} IS NULL AND {sym} IS NULL")
    if ds.person_level:
        return []
    period = contract.period_column(ds)
    filters = [c.name for c in ds.columns if c.kind == "code" and c.name not in ("area_level", "time_identifier")]
    select = ["r.ancestor AS area_code", "any_value(a.area_level) AS area_level", f"f.{period}"]
    select += [f"f.{_q(c)}" for c in filters]
    spreads = {sd: (total, count) for sd, total, count in ds.spreads}
    for ind in ds.indicators:
        n = _q(ind.name)
        if ind.name in spreads:
            # The pooled standard deviation of every observation of the members: sums of squares
            # ((n - 1) sd^2 + total^2 / n) add, a standard deviation does not.
            t, k = (_q(c) for c in spreads[ind.name])
            missing = f"bool_or(f.{n} IS NULL OR f.{t} IS NULL OR f.{k} IS NULL OR f.{k} <= 0)"
            pooled = (f"sqrt(greatest(0, (sum((f.{k} - 1) * f.{n} * f.{n} + f.{t} * f.{t} / f.{k}) "
                      f"- sum(f.{t}) * sum(f.{t}) / sum(f.{k})) / nullif(sum(f.{k}) - 1, 0)))")
            select.append(f"CASE WHEN {missing} THEN NULL ELSE {pooled} END AS {n}")
            select.append(f"CASE WHEN {missing} THEN 'x' END AS {_q(ind.name + '_symbol')}")
            continue
        select.append(f"CASE WHEN bool_or(f.{n} IS NULL) THEN NULL ELSE sum(f.{n}) END AS {n}")
        select.append(f"CASE WHEN bool_or(f.{n} IS NULL) THEN 'x' END AS {_q(ind.name + '_symbol')}")
    extra = [c.name for c in ds.columns if c.kind == "text" and c.name != "area_name"]
    for t in extra:
        select.append(f"any_value(f.{_q(t)}) AS {_q(t)}")
    select += ["NULL AS area_name"] if "area_name" in [c.name for c in ds.columns] else []
    ordered_cols = [c for c, _ in contract.canonical_columns(ds)]
    by_name = {}
    for s in select:
        alias = s.rsplit(" AS ", 1)[-1].strip('"') if " AS " in s else s.split(".")[-1].strip('"')
        by_name[alias] = s
    final_select = [by_name.get(c, f"NULL AS {_q(c)}") for c in ordered_cols]
    final_select += ["'rollup-' || coalesce(max(f.edition), '') AS edition" if ds.name != "benchmarks" else None,
                     "'rollup' AS source_file", "NULL AS source_row", "true AS is_rollup"]
    final_select = [s for s in final_select if s]
    group = ["r.ancestor", f"f.{period}"] + [f"f.{_q(c)}" for c in filters]
    # An area is built only for the periods it existed in (areas.valid_from / valid_to: Cumbria to March 2023).
    con.execute(sql_text("rollup_coverage").format(table=_q(ds.name), period=period,
                                                   period_end=contract.period_end_sql(ds, "p.period")))
    con.execute(sql_text("rollup").format(table=_q(ds.name), period=period,
                                          select_list=", ".join(final_select), group_list=", ".join(group)))
    missing = con.execute(sql_text("incomplete_rollups")).fetchall()
    notes = []
    if missing:
        by_area: dict[str, list[str]] = {}
        for anc, per, n, total in missing:
            by_area.setdefault(anc, []).append(f"{per} ({n}/{total} localities)")
        for anc, pers in by_area.items():
            notes.append(f"{ds.name}: {anc} not built for {', '.join(pers[:5])}"
                         f"{' ...' if len(pers) > 5 else ''}: not every member locality has data")
    outside: dict[str, list[str]] = {}
    for anc, first, last in con.execute(sql_text("rollups_outside_lifetime")).fetchall():
        outside.setdefault(first if first == last else f"{first} to {last}", []).append(anc)
    if outside:
        notes.append(f"{ds.name}: not built for periods outside the area's lifetime (areas valid_from / valid_to): "
                     + "; ".join(f"{', '.join(a)} for {p}" for p, a in outside.items()))
    return notes


def _roll_up_and_write(con, work: Path, kept: set[str], result: LoadResult, workers: int = 2) -> None:
    """Build each dataset's final rows (latest edition, parent roll-ups) and write the load's
    Parquet files. Writing is mostly encoding and compression, so a dataset's files are written
    by a worker (two at a time, each on its own cursor) while the next dataset is built."""
    def copy(sql: str, name: str) -> None:
        cur = con.cursor()
        try:
            cur.execute(f"COPY ({sql}) TO {sql_literal((work / name).as_posix())} (FORMAT parquet)")
        finally:
            cur.close()

    merged: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        writes = []

        def write(sql: str, name: str) -> None:
            writes.append(pool.submit(copy, sql, name))

        for ds in contract.DATASETS.values():
            if not ds.reference:
                result.notes += _latest_and_rollup(con, ds, result.recorded, result, merged)
            if ds.name in kept:  # its only source is a file kept as it is; load.json says how to read it
                continue
            if ds.name == "areas":
                write("SELECT * FROM areas ORDER BY area_code", "areas.parquet")
                continue
            if ds.reference:
                write(f"SELECT * EXCLUDE (is_rollup) FROM {_q('t_' + ds.name)}", f"{ds.name}.parquet")
                continue
            period = contract.period_column(ds)
            # Sorted by area and period so pages' filters skip row groups; person-level rows are only
            # counted (into the caseload) or browsed, so their sort would cost more than it saves.
            order = "" if ds.person_level else f" ORDER BY area_code, {period}"
            write(f"SELECT * FROM {_q(ds.name)}{order}", f"{ds.name}.parquet")
            if ds.name in merged:  # otherwise the all-editions view is the same rows (see db.py)
                write(f"SELECT * FROM {_q('t_' + ds.name)} ORDER BY area_code, {period}",
                      f"{ds.name}_all_editions.parquet")
        write("SELECT * FROM rollup_map", "rollup_map.parquet")
        write("SELECT * FROM quarantine ORDER BY source_file, source_row", "quarantine.parquet")
        write("SELECT * FROM manifest", "manifest.parquet")
        write("SELECT * FROM reconciliation ORDER BY dataset, area_code, period, figure, edition DESC NULLS LAST",
              "reconciliation.parquet")
        # The areas reference keeps every original definition too, for the data-quality view.
        write("SELECT * EXCLUDE (is_rollup) FROM t_areas", "areas_all_editions.parquet")
        for done in writes:
            done.result()  # a failed write fails the load (which then leaves the previous one serving)
