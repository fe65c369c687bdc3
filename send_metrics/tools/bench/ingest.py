"""Ingest at national scale: our `load` (validation, quarantine, person-level counting, roll-ups,
Parquet store) against DuckDB's plain read of the same files, the floor of what any loader must do
(hash, read, write Parquet), and the loader as a team runs it, in a fresh process with its peak
memory.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from send_metrics import contract
from send_metrics.config import PROJECT_ROOT, load_config, sql_text
from send_metrics.ingest.stored_loads import sql_literal


def plain_duckdb_read(folder: Path) -> float:
    """DuckDB's own speed on the same files: read every CSV / Parquet into a table."""
    con = duckdb.connect()
    t0 = time.perf_counter()
    for i, path in enumerate(sorted(folder.rglob("*"))):
        if path.suffix == ".csv":
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv($p)", {"p": str(path)})
        elif path.suffix == ".parquet":
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_parquet($p)", {"p": str(path)})
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def ingest_floor(folder: Path, load_dir: Path) -> dict:
    """The work any loader that checks these files and keeps a columnar store must do, each part
    at DuckDB's own speed with no checking logic at all: read every CSV as text (a cell must be
    seen as written to be checked), hash every input (to know what changed), prove the person
    keys unique and count people into cells (the caseload), and write the same Parquet files the
    store holds (copied into memory first, so only the writing is timed). Validation, quarantine,
    roll-ups and duplicate checks across files come on top, so ours / plain can hardly go below
    floor / plain (only the single-threaded hashing could overlap the rest)."""
    from send_metrics.ingest.adapters.header import read_parquet_columns
    from send_metrics.ingest.data_folder import file_sha256
    con = duckdb.connect()
    con.execute("SET checkpoint_threshold = '1TB'")  # as the loader: an in-memory database
    parts = {}
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    t0 = time.perf_counter()
    for i, path in enumerate(p for p in files if p.suffix == ".csv"):
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv($p, all_varchar = true)", {"p": str(path)})
    parts["read_csv_as_text_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for path in files:
        file_sha256(path)
    parts["hash_inputs_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, path in enumerate(p for p in files if p.suffix == ".parquet"):
        names = read_parquet_columns(path)
        ds = next((d for d in contract.DATASETS.values()
                   if d.person_level and sorted(names) == sorted(d.required_names)), None)
        if ds is None:
            raise ValueError(f"ingest_floor times the bench's generated files (CSVs and person-level Parquet "
                             f"extracts); {path.name} is a Parquet file of another kind")
        text = {c.name for c in ds.columns if c.kind == "text"}
        key = ", ".join("time_period" if k in ("year", "month") else k for k in ds.key)
        con.execute(f"SELECT count(*) - count(DISTINCT hash({key})) FROM read_parquet($p)", {"p": str(path)}).fetchall()
        cells = sql_text("person_cells").format(columns=", ".join(n for n in names if n not in text),
                                                persons="read_parquet($p)")  # the loader's own count
        con.execute(f"CREATE TABLE cells{i} AS {cells}", {"p": str(path)})
    parts["person_keys_and_cells_s"] = time.perf_counter() - t0
    outputs = [p for p in sorted(load_dir.glob("*.parquet")) if ".kept-" not in p.name]
    for i, path in enumerate(outputs):
        con.execute(f"CREATE TABLE o{i} AS SELECT * FROM read_parquet($p)", {"p": str(path)})
    out = Path(tempfile.mkdtemp(prefix="send-floor-"))
    t0 = time.perf_counter()
    for i, _ in enumerate(outputs):
        con.execute(f"COPY o{i} TO {sql_literal((out / f'{i}.parquet').as_posix())} (FORMAT parquet)")
    parts["write_store_s"] = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    con.close()
    return {k: round(v, 2) for k, v in parts.items()} | {"total_s": round(sum(parts.values()), 2)}


def timed_load(data_dir: Path, store: Path):
    from send_metrics.ingest.store import load
    config = replace(load_config(data_dir), store_dir=store)
    t0 = time.perf_counter()
    result = load(config, force=True)
    return time.perf_counter() - t0, config, result


_LOAD_CHILD = """
import json, sys, time
from send_metrics.tools.bench.system import peak_rss_mb
from dataclasses import replace
from pathlib import Path
from send_metrics.config import load_config
from send_metrics.db import Database
from send_metrics.measures.engine import Engine
from send_metrics.ingest.store import load
config = replace(load_config(Path(sys.argv[1])), store_dir=Path(sys.argv[2]))
t0, c0 = time.perf_counter(), time.process_time()
load(config, force=True)
ingest, ingest_cpu = time.perf_counter() - t0, time.process_time() - c0
from send_metrics.measures.breakdowns import precompute
t0, c0 = time.perf_counter(), time.process_time()
db = Database(config)
engine = Engine(db)
engine.full_table()
measures, measures_cpu = time.perf_counter() - t0, time.process_time() - c0
t1 = time.perf_counter()
precompute(engine)
db.close()
needs = time.perf_counter() - t1
print(json.dumps({"ingest_s": ingest, "measure_table_s": measures, "measures_only_s": measures,
                  "needs_s": needs, "rss_mb": peak_rss_mb(), "ingest_cpu_s": ingest_cpu,
                  "measure_table_cpu_s": measures_cpu}))
"""


def loader_process(data_dir: Path, store: Path) -> dict:
    """The loader as a team runs it (`python -m send_metrics load` does the same steps): ingest
    time, then the derived table computed once per load (the measure table), then, timed apart,
    the needs breakdowns of every census year (which pages work out year by year on first use),
    and the process's peak RSS; with the CPU seconds of the ingest and of the measure table (every
    thread of the process), which other work on a shared machine moves much less than wall time."""
    r = subprocess.run([sys.executable, "-c", _LOAD_CHILD, str(data_dir), str(store)],
                       capture_output=True, text=True, cwd=PROJECT_ROOT, env=dict(os.environ))
    if r.returncode:
        raise RuntimeError(f"load failed: {r.stderr[-800:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {k: round(v, 2) for k, v in out.items()}
