"""The one place SQL is executed.

One in-memory DuckDB database per process holds views over the current load's Parquet files.
Every query opens its own cursor (DuckDB connections are not safe to share between threads;
cursors are), takes values only as parameters, and materialises its result before the cursor
closes. When a new load is published (the store's CURRENT pointer changes) the views are
swapped to it on the next query; the app never needs restarting. The app's database
(``complete_only``) moves to a new load only once the loader has written its derived tables (or
after DERIVED_WAIT_S, for a loader that died), so pages never wait for, or compute beside, a load.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pandas as pd

from send_metrics import contract
from send_metrics.config import Config, load_config, sql_text
from send_metrics.ingest.stored_loads import current_load_dir, kept_rows_sql, read_load_info, sql_literal, verify_load

# Tables every load provides, besides one per dataset.
EXTRA_TABLES = ("quarantine", "manifest", "rollup_map", "areas_all_editions", "reconciliation")


# How long the app keeps serving the previous load while a newly published one has no derived
# tables yet (the loader computes them right after publishing; a loader killed meanwhile leaves
# them to the app after this, or to the next `load`).
DERIVED_WAIT_S = 900


def derived_complete(config: Config, load_dir: Path) -> bool:
    """Whether a load has the derived table the app cannot wait for: the measure table, for the
    configured disclosure settings. (The needs breakdowns are worked out per census year when a
    page first asks for one, so they are not waited for.)"""
    return (load_dir / f"measures-{config.suppress_min}-{config.suppress_max}.parquet").is_file()


class NoData(Exception):
    """There is no complete load to read; the message says what to do."""


class Database:
    def __init__(self, config: Config | None = None, complete_only: bool = False):
        self.config = config or load_config()
        self.complete_only = complete_only
        self._recheck_at = 0.0
        tmp = self.config.store_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(config={
            "memory_limit": self.config.duckdb_memory, "threads": self.config.duckdb_threads,
            "temp_directory": str(tmp)})
        self._con.execute("SET enable_progress_bar = false")
        self._lock = threading.Lock()
        self.load_id: str | None = None
        self.load_info: dict = {}
        self._pointer_mtime: float | None = None

    # -- data version -------------------------------------------------------------------
    def _pointer(self) -> Path:
        return self.config.store_dir / "CURRENT"

    def refresh(self, force: bool = False) -> bool:
        """Point the views at the current load if it changed; True when it did."""
        try:
            mtime = self._pointer().stat().st_mtime_ns
        except OSError:
            mtime = None
        if not force and mtime == self._pointer_mtime and self.load_id is not None:
            return False
        if not force and self.load_id is not None and time.monotonic() < self._recheck_at:
            return False  # waiting for a new load's derived tables: look again in a second
        with self._lock:
            load_dir = current_load_dir(self.config.store_dir)
            if load_dir is None:
                raise NoData("No data has been loaded yet. Run `python -m send_metrics load`.")
            if load_dir.name == self.load_id and not force:
                self._pointer_mtime = mtime
                return False
            if not force and self._keep_serving_current(load_dir):
                self._recheck_at = time.monotonic() + 1.0
                return False
            info = read_load_info(load_dir)
            cur = self._con.cursor()
            try:
                # A person-level file kept as it is (see store.py) is read through a view giving
                # the same columns as a copied file.
                kept: dict[str, list[str]] = {}
                for entry in info.get("kept_as_is", []):
                    if entry.get("dataset") not in contract.DATASETS:
                        continue
                    kept.setdefault(entry["dataset"], []).append(kept_rows_sql(load_dir, entry))
                for name, selects in kept.items():
                    cur.execute(f'CREATE OR REPLACE VIEW "{name}" AS {" UNION ALL ".join(selects)}')
                    cur.execute(f'CREATE OR REPLACE VIEW "{name}_all_editions" AS SELECT * FROM "{name}"')
                for name in [*contract.DATASETS, *EXTRA_TABLES,
                             *(f"{d}_all_editions" for d, ds in contract.DATASETS.items() if not ds.reference)]:
                    path = load_dir / f"{name}.parquet"
                    if not path.exists() and name.endswith("_all_editions") and name != "areas_all_editions":
                        # One edition only: every row of the dataset file is its only edition.
                        base = load_dir / f"{name.removesuffix('_all_editions')}.parquet"
                        if base.exists():
                            cur.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM '
                                        f'read_parquet({sql_literal(str(base))}) WHERE NOT is_rollup')
                        continue
                    if path.exists():
                        # Views cannot take parameters: the name comes from the contract and
                        # the path is our own store's, quoted as a SQL string literal.
                        cur.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM '
                                    f'read_parquet({sql_literal(str(path))})')
            finally:
                cur.close()
            self.load_info = info
            self.load_id = load_dir.name
            self._pointer_mtime = mtime
            return True

    def _keep_serving_current(self, new: Path) -> bool:
        """The app stays on its complete load while a newer one still lacks its derived tables."""
        if not self.complete_only or self.load_id is None:
            return False
        if not (self.config.store_dir / "loads" / self.load_id).is_dir():
            return False  # the load served is gone: move on
        if derived_complete(self.config, new):
            return False
        try:
            age = time.time() - (new / "load.json").stat().st_mtime
        except OSError:
            return True
        return age < DERIVED_WAIT_S

    def check_integrity(self) -> list[str]:
        load_dir = current_load_dir(self.config.store_dir)
        return verify_load(load_dir) if load_dir else []

    # -- queries ------------------------------------------------------------------------
    def query(self, sql: str, params: dict | list | None = None) -> pd.DataFrame:
        """Run one statement on a fresh cursor and return a DataFrame."""
        self.refresh()
        with self._con.cursor() as cur:
            return cur.execute(sql, params or {}).df()

    def query_file(self, name: str, params: dict | None = None, **identifiers: str) -> pd.DataFrame:
        """Run sql/<name>.sql; `identifiers` fill {placeholders} and must be whitelisted by the caller."""
        sql = sql_text(name)
        if identifiers:
            sql = sql.format(**identifiers)
        return self.query(sql, params)

    def rows(self, sql: str, params: dict | list | None = None) -> list[tuple]:
        self.refresh()
        with self._con.cursor() as cur:
            return cur.execute(sql, params or {}).fetchall()

    @property
    def is_demo(self) -> bool:
        self.refresh()
        return bool(self.load_info.get("demo"))

    def close(self) -> None:
        self._con.close()


_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


def get_database(config: Config | None = None) -> Database:
    """The process-wide database for a store folder."""
    config = config or load_config()
    key = str(config.store_dir)
    with _databases_lock:
        db = _databases.get(key)
        if db is None:
            db = _databases[key] = Database(config, complete_only=True)
        return db
