"""Settings, each read from an environment variable with a documented default.

Every setting is listed in SETTINGS so the README table and a test can check that none is
undocumented (as datasette does).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
SQL_DIR = PROJECT_ROOT / "sql"
# Reference tables shipped with the code (areas, code changes, lookups) that several stages read.
REFERENCE_DIR = PACKAGE_DIR / "reference"
# Artefacts shipped with the demo: its load (ingest.snapshot) and derived tables (measures.prebuilt).
PREBUILT_DIR = PACKAGE_DIR / "prebuilt"


@lru_cache(maxsize=64)
def sql_text(name: str) -> str:
    """A query kept in sql/<name>.sql (the loader's, the engine's and the pages' SQL all live there)."""
    return (SQL_DIR / f"{name}.sql").read_text()

SETTINGS: dict[str, tuple[str, str]] = {
    # name: (default, meaning)
    "SEND_DATA_DIR": ("data", "Folder of extracts (searched recursively) that `load` reads."),
    "SEND_STORE_DIR": ("<data dir>/.store", "Where loads are written as Parquet; the app reads the current one."),
    "SEND_GEO_DIR": ("../shared/data/geo", "Folder of ONS boundary GeoJSON for the map; a schematic is drawn when absent."),
    "SEND_SUPPRESS_MIN": ("1", "Smallest count suppressed by disclosure control."),
    "SEND_SUPPRESS_MAX": ("4", "Largest count suppressed by disclosure control (e.g. 10 for linked health data)."),
    "SEND_MAX_UPLOAD_MB": ("50", "Largest upload accepted, in megabytes."),
    "SEND_DUCKDB_MEMORY": ("1GB", "DuckDB memory_limit for the app and loader (larger work spills to the store's tmp folder)."),
    "SEND_DUCKDB_THREADS": ("2", "DuckDB threads; at 2 or more the loader also checks, and writes, two files at a "
                                 "time, and the SEN2 person-level reader reads two returns at a time."),
    "SEND_AUTH": ("auto", "'auto': sign-in required for analyst pages when OIDC is configured in secrets (a secrets file that does not parse, or a partial `[auth]`, locks them); 'off': never."),
    "SEND_MAX_FILE_MB": ("1024", "Largest file under the data folder that a load reads, in megabytes (larger files are refused with a message)."),
    "SEND_MAX_UNPACKED_MB": ("1024", "Largest size a .gz file may decompress to, in megabytes (a larger one, e.g. a decompression bomb, is refused with a message)."),
    "SEND_MAX_LINE_KB": ("1024", "Longest line of a CSV file, in kilobytes: a longer header refuses the file, a longer row is quarantined, each with a message naming the line."),
    "SEND_LOAD_NICE": ("10", "CPU priority given up by `python -m send_metrics load` (Unix nice increment, 0-19), so pages served beside a running load keep their speed; 0 to run loads at full priority."),
    "SEND_OPEN_SECTIONS": ("0", "1: every collapsible section (data tables beside charts, the Board's measure cards, details) is drawn open on every run, for printing, for readers who want everything on the page, and for audits; 0: drawn when opened, so pages answer sooner."),
    "SEND_MAX_COLUMNS": ("1000", "Most columns a file may have (published files have up to about 160); a file with more is refused with a message."),
}


def _get(name: str) -> str:
    return os.environ.get(name, SETTINGS[name][0])


def _megabytes(name: str) -> int:
    """A size setting in bytes; a value that is not a positive number falls back to the default."""
    try:
        mb = float(_get(name))
    except ValueError:
        mb = float(SETTINGS[name][0])
    return int((mb if mb > 0 else float(SETTINGS[name][0])) * 1024 * 1024)


def max_file_bytes() -> int:
    """SEND_MAX_FILE_MB in bytes (read each time: readers have no Config)."""
    return _megabytes("SEND_MAX_FILE_MB")


def max_unpacked_bytes() -> int:
    """SEND_MAX_UNPACKED_MB in bytes."""
    return _megabytes("SEND_MAX_UNPACKED_MB")


def _positive_int(name: str) -> int:
    try:
        value = int(float(_get(name)))
    except ValueError:
        value = 0
    return value if value > 0 else int(SETTINGS[name][0])


def load_nice() -> int:
    """SEND_LOAD_NICE, 0-19 (a value that is not a number falls back to the default)."""
    try:
        value = int(_get("SEND_LOAD_NICE"))
    except ValueError:
        value = int(SETTINGS["SEND_LOAD_NICE"][0])
    return min(max(value, 0), 19)


def max_line_bytes() -> int:
    """SEND_MAX_LINE_KB in bytes."""
    return _positive_int("SEND_MAX_LINE_KB") * 1024


def open_sections() -> bool:
    """SEND_OPEN_SECTIONS: draw every collapsible section open (read each time, like the limits)."""
    return _get("SEND_OPEN_SECTIONS").strip().lower() in ("1", "true", "yes", "on")


def max_columns() -> int:
    """SEND_MAX_COLUMNS."""
    return _positive_int("SEND_MAX_COLUMNS")


@dataclass(frozen=True)
class Config:
    data_dir: Path
    store_dir: Path
    geo_dir: Path
    suppress_min: int
    suppress_max: int
    max_upload_mb: int
    duckdb_memory: str
    duckdb_threads: int

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"


def load_config(data_dir: str | os.PathLike | None = None) -> Config:
    """Build the configuration; relative paths are taken from the project root."""
    def absolute(p: str | os.PathLike) -> Path:
        path = Path(p)
        return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()

    data = absolute(data_dir if data_dir is not None else _get("SEND_DATA_DIR"))
    store_env = os.environ.get("SEND_STORE_DIR")
    store = absolute(store_env) if store_env else data / ".store"
    return Config(
        data_dir=data,
        store_dir=store,
        geo_dir=absolute(_get("SEND_GEO_DIR")),
        suppress_min=int(_get("SEND_SUPPRESS_MIN")),
        suppress_max=int(_get("SEND_SUPPRESS_MAX")),
        max_upload_mb=int(_get("SEND_MAX_UPLOAD_MB")),
        duckdb_memory=_get("SEND_DUCKDB_MEMORY"),
        duckdb_threads=int(_get("SEND_DUCKDB_THREADS")),
    )
