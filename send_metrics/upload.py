"""Uploads from the dashboard: stage, validate, then add to the data or discard (no Streamlit here).

Flow: `stage_upload(bytes, name, config)` writes the bytes to `<store_dir>/pending/<uuid>.<ext>`
(a hidden folder the loader never scans); `validate_staged(path)` checks it with the loader's own
code path (published-format adapters, then `validate_file` against the known areas);
`accept(path, config)` moves it into `config.upload_dir` (data/uploads) under its sanitised name
and runs `store.load(config)`, which publishes a new load that the app picks up without
restarting; `discard(path)` deletes it.

Invariants: nothing outside `<store_dir>/pending` and `config.upload_dir` is ever written or
removed; a file name from a browser is reduced to a plain base name of `[A-Za-z0-9._-]` (no path
separators, no leading dot, no `..`), so it cannot escape either folder; uploads larger than
`config.max_upload_mb` are refused before anything is written; a file only enters the data folder
when the user accepts it, and if the load then fails the file is taken out again.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from send_metrics.config import Config, load_config
from send_metrics.ingest.file_reports import FileReport
from send_metrics.ingest.readers import SUPPORTED_SUFFIXES
from send_metrics.ingest.recognise import reference_files
from send_metrics.ingest.store import load
from send_metrics.ingest.stored_loads import LoadResult, current_load_dir
from send_metrics.ingest.validate import add_known_areas, is_adapted_output, validate_file

PENDING_DIR = "pending"
MAX_NAME = 100
PENDING_MAX_AGE_S = 24 * 3600
_STAGED = re.compile(r"^[0-9a-f]{32}(\.[a-z]+)$")


class UploadRefused(Exception):
    """The upload cannot be accepted; the message says why, for a user."""


def sanitise_name(name: str | None) -> str:
    """A safe base name: only `[A-Za-z0-9._-]`, no folders, no leading dots, at most 100 characters.

    `../../etc/passwd` -> `passwd`; `C:\\Users\\me\\My file (2).csv` -> `My_file_2_.csv`;
    `<script>.csv` -> `script_.csv`. The extension is kept (lower-cased) when it is one the
    loader reads.
    """
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = base.replace("\x00", "")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)
    stem = re.sub(r"\.{2,}", ".", stem).lstrip("._-").rstrip(".")
    stem = stem[: MAX_NAME - len(ext) - 1] or "upload"
    return f"{stem}.{ext}" if ext else stem


def suffix_of(name: str) -> str:
    """The extension of a sanitised name, with its dot ('' when there is none)."""
    return Path(sanitise_name(name)).suffix.lower()


def pending_dir(config: Config) -> Path:
    return config.store_dir / PENDING_DIR


def max_bytes(config: Config) -> int:
    return int(config.max_upload_mb) * 1024 * 1024


def check_size(size: int, config: Config) -> None:
    if size > max_bytes(config):
        raise UploadRefused(f"The file is {size / 1024 / 1024:,.1f} MB; the largest upload accepted is "
                            f"{config.max_upload_mb} MB (setting SEND_MAX_UPLOAD_MB). Split the extract "
                            f"or put it in the data folder and run `python -m send_metrics load`.")


def stage_upload(data: bytes, name: str, config: Config | None = None) -> Path:
    """Write an upload to the pending folder and return its path (`<uuid>.<ext>`)."""
    config = config or load_config()
    check_size(len(data), config)
    ext = suffix_of(name)
    if ext not in SUPPORTED_SUFFIXES:
        raise UploadRefused(f"Only CSV or Parquet extracts can be uploaded ({', '.join(SUPPORTED_SUFFIXES)}); "
                            f"this file ends in '{ext or '(no extension)'}'.")
    if not data:
        raise UploadRefused("The file is empty.")
    folder = pending_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    _clean_pending(folder)
    path = folder / f"{uuid.uuid4().hex}{ext}"
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _clean_pending(folder: Path) -> None:
    """Forget uploads nobody accepted or discarded within a day."""
    now = time.time()
    for p in folder.iterdir():
        try:
            if p.is_file() and now - p.stat().st_mtime > PENDING_MAX_AGE_S:
                p.unlink()
        except OSError:
            pass


def _check_staged(path: Path, config: Config) -> Path:
    """The path must be a file this module staged (guards accept/discard against other paths)."""
    path = Path(path)
    folder = pending_dir(config).resolve()
    resolved = path.resolve()
    if resolved.parent != folder or not _STAGED.match(resolved.name):
        raise UploadRefused("That is not a pending upload.")
    return resolved


@dataclass
class UploadCheck:
    """The validation of one upload: one report per table the loader would read from it."""
    reports: list[FileReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source_format: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.reports) and all(r.ok for r in self.reports)

    @property
    def loadable(self) -> bool:
        """At least one report has rows that would be loaded."""
        return any(r.fatal is None and r.rows_loaded > 0 for r in self.reports)


def _areas_ref(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """Known areas: the current load's (built-in geography plus any loaded areas files), else the built-in list."""
    con.execute("CREATE TABLE areas_ref (area_code VARCHAR, area_level VARCHAR)")
    load_dir = current_load_dir(config.store_dir)
    areas = load_dir / "areas.parquet" if load_dir else None
    if areas is not None and areas.exists():
        con.execute("INSERT INTO areas_ref SELECT area_code, area_level FROM read_parquet($p)", {"p": str(areas)})
    else:
        con.execute("INSERT INTO areas_ref SELECT area_code, area_level FROM read_csv($p, all_varchar=true)",
                    {"p": str(reference_files()[0])})


def validate_staged(path: Path, config: Config | None = None, display: str | None = None) -> FileReport:
    """The validation report of a staged upload (the first table it holds); see `check_staged`."""
    check = check_staged(path, config, display)
    if check.reports:
        return check.reports[0]
    return FileReport(path=display or Path(path).name, fatal="; ".join(check.notes) or "nothing to load")


def check_staged(path: Path, config: Config | None = None, display: str | None = None) -> UploadCheck:
    """Validate a staged file exactly as the loader would: adapters first, then the contract checks."""
    from send_metrics.ingest.recognise import areas_first, expand_published
    config = config or load_config()
    path = Path(path)
    display = display or path.name
    out = UploadCheck()
    tmp = config.store_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    work = pending_dir(config) / f"_adapt-{uuid.uuid4().hex}"
    con = duckdb.connect(config={"memory_limit": config.duckdb_memory, "threads": config.duckdb_threads,
                                 "temp_directory": str(tmp)})
    try:
        _areas_ref(con, config)
        # The loader's own recognition step (send_metrics.ingest.recognise), so an upload gets its verdict.
        expanded = expand_published(display, path, work)
        if expanded.refused:  # over a size limit or a decompression bomb: nothing is read
            out.notes.append(f"refused: {expanded.refused}")
        if expanded.adapter_error:  # the loader also carries on when an adapter fails
            out.notes.append(f"not recognised as a published format ({expanded.adapter_error.split(':')[0]})")
        out.source_format = expanded.source_format
        out.notes += expanded.notes
        # Areas defined by the file must exist before its other tables are checked.
        targets = areas_first(expanded.outputs)
        for name, p in targets:
            report, _raw, validated = validate_file(p, con, display=name, adapted=is_adapted_output(name))
            if validated is not None:
                add_known_areas(con, validated)
            out.reports.append(report)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    return out


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    if not target.exists():
        return target
    stem, suffix = Path(name).stem, Path(name).suffix
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1, 1000):
        candidate = folder / f"{stem}-{stamp}{'' if i == 1 else '-' + str(i)}{suffix}"
        if not candidate.exists():
            return candidate
    raise UploadRefused("Too many uploads with this name; rename the file.")


def accept(path: Path, config: Config | None = None, name: str | None = None) -> LoadResult:
    """Move a staged upload into the uploads folder under its sanitised name and load the data.

    Returns the loader's result; the moved file's path is added to its notes. If the load raises,
    the file is moved back to the pending folder (the data folder is left as it was) and the
    error is returned in `LoadResult.error`.
    """
    config = config or load_config()
    staged = _check_staged(path, config)
    if not staged.exists():
        raise UploadRefused("The upload is no longer pending (it was added or discarded already).")
    folder = config.upload_dir
    folder.mkdir(parents=True, exist_ok=True)
    clean = sanitise_name(name or staged.name)
    if Path(clean).suffix.lower() != staged.suffix:
        clean = Path(clean).stem + staged.suffix
    target = _free_name(folder, clean)
    # Belt and braces: the target must sit directly inside the uploads folder.
    if target.resolve().parent != folder.resolve():
        raise UploadRefused("The file name is not allowed.")
    shutil.move(str(staged), str(target))
    try:
        result = load(config)
    except Exception as exc:
        shutil.move(str(target), str(staged))
        return LoadResult(changed=False, load_id=None, error=f"{type(exc).__name__}: {exc}")
    result.notes.append(f"added as {target.relative_to(config.data_dir)}")
    if result.changed and result.load_id:
        # As `load` does: the derived tables of the new load are computed now, so the app's pages
        # move to it complete (they keep the previous load until then; see db.DERIVED_WAIT_S).
        from send_metrics.db import Database
        from send_metrics.measures.engine import Engine
        db = Database(config)
        try:
            Engine(db).compute_derived()
        except Exception:  # the app computes them when it moves to the load
            pass
        finally:
            db.close()
    return result


def discard(path: Path, config: Config | None = None) -> bool:
    """Delete a staged upload; True when a file was removed."""
    config = config or load_config()
    staged = _check_staged(path, config)
    try:
        staged.unlink()
        return True
    except FileNotFoundError:
        return False
