"""The demo's load shipped already made, so a fresh clone's first start does not wait for it.

A load of ``data/demo`` reads, checks and converts every file (about half of a first start, a
quarter of that the SEN2 person-level export). What it writes depends only on:

- the files: their names (relative to the data folder) and bytes (SHA-256, as the loader hashes
  them). No demo file takes its edition from its modification time (``build`` refuses to make a
  snapshot when one does), so the modification days, which a fresh clone sets to today, do not count;
- the code: ``send_metrics.ingest.store`` and every ``send_metrics`` module it imports, followed through
  their own imports (adapters included), every SQL file, the reference files and the catalogue;
  with the contract and loader versions;
- the settings that refuse files or rows (SEND_MAX_FILE_MB, SEND_MAX_UNPACKED_MB, SEND_MAX_LINE_KB,
  SEND_MAX_COLUMNS) and SEND_DEBUG (which adds the engine's message to some quarantine reasons);
- the one file a load reads outside the data folder: the geography's LSOA-to-locality lookup
  (``SEND_GEO_DIR/cumbria_lsoa21_lookup.csv``, which places the SEN2 return's children; its hash,
  or its absence). ``prebuild`` makes the snapshot without it, as a fresh clone has no geography;
  ``tests/ingest/test_snapshot.py`` fails when the loader's code reads another setting or outside file;
- the day: a row dated after the month (or year) of the load is quarantined, so a snapshot is made
  only when no row was, and taken only in or after the month it was made (a later month
  quarantines no more).

The key of the shipped load is all of these. A load whose files are exactly the demo's and whose
key is the shipped key is made by copying the shipped Parquet files (checked against their
recorded SHA-256) into the new load's folder; any difference in any part of the key, a missing or
damaged shipped file, or ``load(force=True)`` makes it a normal load from the files. The copy is
published like any load (written to a new folder, then named in CURRENT), so a failure leaves the
previous load serving.

Two things differ from a load made on this install, and are handled:

- the manifest's ``loaded_at`` is set to now (the rest of the manifest is as the load wrote it);
- pseudonymous ids of the SEN2 person-level return are keyed per install (send_metrics.ingest.sen2_blade):
  the shipped ids were made with another key. No figure reads an id's value, only which rows share
  one (as ``send_metrics.measures.prebuilt.content_hash`` relies on), so every figure is the same; but an id
  must never be linked with one made with this install's key, so a later load does not carry
  person-level rows forward from a shipped load (``send_metrics.ingest.store._carry_forward``; load.json says
  ``"shipped_snapshot": true``).

``python -m send_metrics prebuild`` makes the snapshot (with the derived tables,
send_metrics.measures.prebuilt); ``tests/ingest/test_snapshot.py`` proves a load from it equal to a fresh load and
that a changed data file, code file or setting is not given it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from send_metrics import code_key
from send_metrics.config import PACKAGE_DIR, PREBUILT_DIR, PROJECT_ROOT

SNAPSHOT_DIR = PREBUILT_DIR / "demo_load"
KEY_FILE = "snapshot.json"
# Settings that can refuse a file or quarantine rows, so change what a load writes.
LIMIT_SETTINGS = ("SEND_MAX_FILE_MB", "SEND_MAX_UNPACKED_MB", "SEND_MAX_LINE_KB", "SEND_MAX_COLUMNS")
# Files a load reads outside the data folder, under a folder setting (adapters/blade_files.py, _geography).
OUTSIDE_INPUTS = (("geo_dir", "cumbria_lsoa21_lookup.csv"),)
# A modification time no demo file has: ``build`` sets it on its copy of the demo, and refuses
# when it shows anywhere in the load (an edition taken from a file's modification time).
PROBE_DAY = "2001-02-03"
PROBE_TIME = 981158400  # 2001-02-03T00:00:00Z

def code_files() -> list[Path]:
    """The source files that can change what a load of the demo writes (see the module docstring)."""
    return code_key.code_files([PACKAGE_DIR / "ingest" / "store.py"])


@lru_cache(maxsize=1)
def code_hash() -> str:
    return code_key.files_hash(code_files())


def key(hashes: dict[str, str]) -> dict:
    """The key of a load of files ``hashes`` (name relative to the data folder -> SHA-256)."""
    from send_metrics import contract
    from send_metrics.config import SETTINGS
    from send_metrics.ingest.stored_loads import LOADER_VERSION
    import os

    from send_metrics.config import load_config
    config = load_config()
    outside = {}
    for setting, name in OUTSIDE_INPUTS:
        path = getattr(config, setting) / name
        outside[f"{setting}/{name}"] = _sha256(path) if path.is_file() else None
    return {"format": f"{contract.CONTRACT_VERSION}/{LOADER_VERSION}",
            "files": dict(sorted(hashes.items())), "code": code_hash(),
            "limits": {n: os.environ.get(n, SETTINGS[n][0]) for n in LIMIT_SETTINGS},
            "debug": bool(os.environ.get("SEND_DEBUG")), "outside": outside}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _shipped() -> dict | None:
    try:
        meta = json.loads((SNAPSHOT_DIR / KEY_FILE).read_text())
        return meta if isinstance(meta.get("key"), dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def adopt(files: list[tuple[str, Path]], hashes: dict[str, str], work: Path):
    """Fill ``work`` (a new load's folder) with the shipped demo load when ``files`` are exactly the
    demo's and the key is the shipped key; returns the LoadResult, or None for a normal load.
    Never raises: any doubt is a normal load (``work`` is then left as it was found: empty)."""
    if not files or not all(name.replace("\\", "/").startswith("demo/") for name, _ in files):
        return None  # only the demo is shipped (and hashing the key of a real load costs nothing here)
    import datetime as dt
    meta = _shipped()
    if meta is None or dt.date.today().isoformat()[:7] < str(meta.get("made_on", "9999"))[:7]:
        return None  # a month before it was made could quarantine a row it holds as valid
    if meta["key"] != key({n: hashes[n] for n, _ in files if n in hashes}):
        return None
    try:
        return _copy(meta, work)
    except Exception:  # noqa: BLE001 - a shortcut only: the load is then made from the files
        for p in work.iterdir():
            if p.is_file():
                p.unlink()
            else:
                shutil.rmtree(p, ignore_errors=True)
        return None


def _copy(meta: dict, work: Path):
    import datetime as dt

    import duckdb

    from send_metrics.ingest.file_reports import FileReport, Problem
    from send_metrics.ingest.stored_loads import LoadResult, sql_literal
    for name, digest in meta["checksums"].items():
        src = SNAPSHOT_DIR / name
        if Path(name).name != name or not name.endswith(".parquet") or _sha256(src) != digest:
            raise ValueError(f"shipped {name} is missing or damaged")
        if name != "manifest.parquet":
            shutil.copyfile(src, work / name)
    # The manifest says when the files were loaded: now, as a load from the files would.
    con = duckdb.connect()
    try:
        now = dt.datetime.now().isoformat(sep=" ")
        con.execute(f"COPY (SELECT * REPLACE (CAST({sql_literal(now)} AS TIMESTAMP) AS loaded_at) "
                    f"FROM read_parquet({sql_literal((SNAPSHOT_DIR / 'manifest.parquet').as_posix())})) "
                    f"TO {sql_literal((work / 'manifest.parquet').as_posix())} (FORMAT parquet)")
    finally:
        con.close()
    reports = []
    for r in meta["reports"]:
        r = dict(r)
        r["problems"] = [Problem(**p) for p in r.get("problems", [])]
        reports.append(FileReport(**r))
    notes = list(meta["notes"]) + [
        "the demo was loaded from its shipped copy (send_metrics/prebuilt/demo_load): its files, the loading code "
        "and the limits are exactly those the copy was made from, so it holds what reading the files gives"]
    return LoadResult(changed=True, load_id=None, reports=reports, notes=notes,
                      kept_as_is=list(meta["kept_as_is"]), recorded=list(meta["recorded"]))


def shipped_content(db) -> str | None:
    """The content hash (send_metrics.measures.prebuilt.content_hash) of the load ``db`` reads, when that
    load was taken from the shipped demo load and still holds exactly its files: its Parquet
    files (the manifest aside, whose ``loaded_at`` is set on adoption and which no derived table
    reads) have the shipped checksums, and the files on disk still have the checksums load.json
    gives them. None otherwise (the hash is then computed from the data)."""
    from send_metrics.ingest.stored_loads import current_load_dir, verify_load
    try:
        db.refresh()
        info = db.load_info
        meta = _shipped()
        if not info.get("shipped_snapshot") or info.get("kept_as_is") or not meta or not meta.get("content"):
            return None
        load_dir = current_load_dir(db.config.store_dir)
        if load_dir is None or load_dir.name != db.load_id:
            return None
        mine = {n: d for n, d in info.get("checksums", {}).items() if n != "manifest.parquet"}
        shipped = {n: d for n, d in meta["checksums"].items() if n != "manifest.parquet"}
        if mine != shipped or verify_load(load_dir):
            return None
        return str(meta["content"])
    except Exception:  # noqa: BLE001 - a shortcut only: the content is then hashed
        return None


def record_content(content: str, checksums: dict) -> None:
    """Record the content hash of the shipped load (computed by ``python -m send_metrics prebuild``
    from the load the snapshot was made of, whose files had ``checksums``)."""
    path = SNAPSHOT_DIR / KEY_FILE
    meta = json.loads(path.read_text())
    if meta["checksums"] != checksums:
        raise ValueError("the content hash is of another load than the shipped one")
    meta["content"] = content
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=1) + "\n")
    tmp.replace(path)


def build(config, result, load_dir: Path, hashes: dict[str, str]) -> dict:
    """Keep load ``load_dir`` (a fresh load of a copy of data/demo whose files' modification times
    were set to PROBE_TIME, with its LoadResult ``result`` and file hashes) as the shipped snapshot."""
    import datetime as dt

    import duckdb

    from send_metrics.ingest.stored_loads import read_load_info, sql_literal
    info = read_load_info(load_dir)
    if not info.get("demo") or info.get("kept_as_is") or result.changed_while_read:
        raise ValueError("a snapshot is made from a plain load of the demo data only")
    quarantined = sum(r.rows_quarantined + r.rows_duplicate for r in result.reports)
    if quarantined:
        raise ValueError(f"the demo load quarantined {quarantined} rows: a snapshot is made of a clean load only "
                         "(a row dated after the day of the load would be kept out today and let in later)")
    if any(PROBE_DAY in note for note in result.notes):
        raise ValueError(f"a note of the load names the files' modification day ({PROBE_DAY}): a snapshot "
                         "would give every install the day it was made")
    con = duckdb.connect()
    try:
        for name in info["checksums"]:
            path = sql_literal((load_dir / name).as_posix())
            cols = con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet({path})) "
                               "WHERE column_type = 'VARCHAR'").fetchall()
            for (col,) in cols:
                quoted = '"' + col.replace('"', '""') + '"'
                n = con.execute(f"SELECT count(*) FROM read_parquet({path}) WHERE contains({quoted}, $d)",
                                {"d": PROBE_DAY}).fetchall()[0][0]
                if n:
                    raise ValueError(f"{name}.{col} holds the files' modification day ({PROBE_DAY}) in {n} rows "
                                     "(an edition taken from a file's modification time): not shipped")
    finally:
        con.close()
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    (SNAPSHOT_DIR / KEY_FILE).unlink(missing_ok=True)  # no key while the files are replaced
    for old in SNAPSHOT_DIR.glob("*.parquet"):
        old.unlink()
    for name in info["checksums"]:
        tmp = SNAPSHOT_DIR / f"{name}.tmp"
        shutil.copyfile(load_dir / name, tmp)
        tmp.replace(SNAPSHOT_DIR / name)
    k = key(hashes)
    reports = [asdict(r) for r in result.reports]
    (SNAPSHOT_DIR / KEY_FILE).write_text(json.dumps(
        {"key": k, "made_by": "python -m send_metrics prebuild", "made_on": dt.date.today().isoformat(),
         "checksums": info["checksums"],
         "notes": result.notes, "kept_as_is": result.kept_as_is, "recorded": result.recorded,
         "reports": reports, "code_files": [p.relative_to(PROJECT_ROOT).as_posix() for p in code_files()]},
        indent=1) + "\n")
    return k
