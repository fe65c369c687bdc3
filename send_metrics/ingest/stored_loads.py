"""The store on disk: each load's folder, the CURRENT pointer, load.json and its checksums.

What the loader writes and every reader (the dashboard's database, the shipped demo snapshot, the
command line) needs to find and trust a load: which load is current, its summary, whether its files
still match their checksums, the lock that lets one load run at a time, pruning old loads, and the
SELECT that reads a person-level file kept as it is. Kept apart from the loader (``store``) so
readers of a load do not import the code that builds one.
"""
from __future__ import annotations

import fcntl
import json
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from send_metrics import contract
from send_metrics.ingest.data_folder import file_sha256
from send_metrics.ingest.file_reports import FileReport
from send_metrics.ingest.readers import sql_name

LOADER_VERSION = "2"


KEEP_LOADS = 3


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


def sql_literal(text: str) -> str:
    """A SQL string literal, for the few places that cannot take parameters (views); used only for
    paths inside the store and the names of loaded files."""
    return "'" + text.replace("'", "''") + "'"


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
def locked(store_dir: Path):
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def prune_loads(loads: Path, keep: Path) -> None:
    done = sorted((p for p in loads.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                  key=lambda p: p.name)
    for old in done[:-KEEP_LOADS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for partial in loads.glob("*.partial"):
        # A partial folder older than an hour belongs to a load that was killed.
        if partial != keep and time.time() - partial.stat().st_mtime > 3600:
            shutil.rmtree(partial, ignore_errors=True)


def stored_columns(ds: contract.Dataset) -> list[str]:
    cols = [c for c, _ in contract.canonical_columns(ds)]
    return cols + (["edition"] if ds.name != "benchmarks" else []) + ["source_file", "source_row", "is_rollup"]


def kept_rows_sql(load_dir: Path, entry: dict) -> str:
    """SELECT giving a kept file's rows exactly as the store holds a copied file's rows (the
    canonical columns, edition, source file and row, is_rollup). Shared by the dashboard's views
    and the loader's carry-forward."""
    ds = contract.DATASETS[entry["dataset"]]
    period = contract.period_column(ds)
    select = []
    for col, sql_type in contract.canonical_columns(ds):
        source = "time_period" if col == period else sql_name(col) if col in entry["columns"] else "NULL"
        select.append(f"CAST({source} AS {sql_type}) AS {sql_name(col)}")
    select += ["CAST(NULL AS VARCHAR) AS edition", f"{sql_literal(entry['source_file'])} AS source_file",
               "CAST(file_row_number + 1 AS BIGINT) AS source_row", "false AS is_rollup"]
    return (f"SELECT {', '.join(select)} FROM read_parquet({sql_literal(str(load_dir / entry['file']))}, "
            f"file_row_number = true)")
