"""Files are files (issue 18, point 4): only regular files inside the data folder are read.

A named pipe or a link to /dev/zero under data/ used to block the hashing step for ever (holding
the store lock); a link to a file outside the folder was loaded silently; a gzip that inflates to
gigabytes drove the loader to a MemoryError reported as "not recognised". Each is now refused with
a sentence in the load's notes, within seconds, and the rest of the folder loads.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, write

HEADER = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
GOOD = HEADER + "2024,January,LOC-MILLOM,locality,ASD,5to10,mainstream,12\n"


def _load(data_dir: Path, store: Path, timeout: float = 120, **env) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "send_metrics", "load", "--data-dir", str(data_dir)],
                       capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                       env={**os.environ, "SEND_STORE_DIR": str(store), **env})
    return r, time.monotonic() - started


def _rows(store: Path) -> list:
    import duckdb

    from send_metrics.ingest.stored_loads import current_load_dir
    d = current_load_dir(store)
    return duckdb.connect().execute(
        f"SELECT area_code, ehc_plans FROM read_parquet('{d / 'ehcp_caseload.parquet'}') WHERE NOT is_rollup").fetchall()


def test_pipes_devices_and_links_out_are_refused_without_hanging(tmp_path):
    data = tmp_path / "data"
    write(data / "caseload.csv", GOOD)
    os.mkfifo(data / "pipe.csv")
    os.symlink("/dev/zero", data / "zero.csv")
    os.symlink("/dev/zero", data / "zero.csv.gz")
    outside = write(tmp_path / "outside" / "secret.csv", HEADER + "2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,99\n")
    os.symlink(outside, data / "outside.csv")
    os.symlink(data / "missing.csv", data / "broken.csv")
    write(data / "sub" / "inside.csv", HEADER + "2024,January,LOC-CARLISLE,locality,ASD,5to10,mainstream,30\n")
    os.symlink(data / "sub" / "inside.csv", data / "link_inside.csv")  # a link within the folder is a file
    r, seconds = _load(data, tmp_path / "store")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert seconds < 60, seconds
    assert "pipe.csv: refused: it is a named pipe" in out, out
    assert "zero.csv: refused: it is a device" in out and "zero.csv.gz: refused: it is a device" in out, out
    assert "outside.csv: refused: it is a link to a file outside the data folder" in out, out
    assert "broken.csv: refused: it is a broken link" in out, out
    rows = _rows(tmp_path / "store")
    assert ("LOC-MILLOM", 12) in rows and ("LOC-CARLISLE", 30) in rows
    assert ("LOC-EDEN", 99) not in rows, "the file outside the data folder was read"
    # Said again on the next load, which changes nothing and still does not hang.
    r2, seconds2 = _load(data, tmp_path / "store")
    assert r2.returncode == 0 and "nothing changed" in r2.stdout and "pipe.csv: refused" in r2.stdout, r2.stdout
    assert seconds2 < 60


def test_hashing_a_pipe_never_blocks(tmp_path):
    """The check at hashing time, for a file that became a pipe after it was discovered."""
    from send_metrics.ingest.data_folder import FileChanged, file_sha256
    fifo = tmp_path / "late.csv"
    os.mkfifo(fifo)
    outcome = {}

    def run():
        try:
            file_sha256(fifo)
            outcome["result"] = "hashed"
        except FileChanged as exc:
            outcome["result"] = str(exc)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "hashing a named pipe blocked"
    assert "not a regular file" in outcome["result"]


def test_a_file_changing_while_it_is_hashed_is_skipped_and_taken_next_time(tmp_path, monkeypatch):
    from send_metrics.ingest import data_folder, store
    from send_metrics.config import load_config
    data = tmp_path / "data"
    write(data / "caseload.csv", GOOD)
    growing = write(data / "growing.csv", HEADER + "2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,7\n")
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    real_fstat = os.fstat
    calls = {"n": 0}

    def fstat_while_written(fd):
        st = real_fstat(fd)
        if os.readlink(f"/proc/self/fd/{fd}") == str(growing):
            calls["n"] += 1
            if calls["n"] == 2:  # after the read: the writer appended a row meanwhile
                with open(growing, "a") as fh:
                    fh.write("2024,January,LOC-EDEN,locality,SLCN,5to10,mainstream,8\n")
                return real_fstat(fd)
        return st
    monkeypatch.setattr(data_folder.os, "fstat", fstat_while_written)
    result = store.load(load_config(data))
    assert result.load_id
    assert any(n.startswith("growing.csv: skipped:") and "changed" in n and "next load" in n for n in result.notes), \
        result.notes
    assert ("LOC-EDEN", 7) not in _rows(tmp_path / "store")
    monkeypatch.setattr(data_folder.os, "fstat", real_fstat)
    again = store.load(load_config(data))
    assert again.changed and not any("growing.csv" in n for n in again.notes), again.notes
    assert ("LOC-EDEN", 7) in _rows(tmp_path / "store")


def _bomb(path: Path, megabytes: int) -> None:
    """A published NHS autism-statistics CSV header followed by ``megabytes`` MB of rows, gzipped."""
    line = b"2022-12-01,SUB_ICB,AUT,1\n"
    block = line * ((1 << 20) // len(line) + 1)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(b"REPORTING_PERIOD_START,PRIMARY_LEVEL,METRIC,METRIC_VALUE\n")
        for _ in range(megabytes):
            fh.write(block)


def test_a_gzip_bomb_is_refused_quickly_with_the_limit(tmp_path):
    data = tmp_path / "data"
    write(data / "caseload.csv", GOOD)
    _bomb(data / "autism.csv.gz", 100)
    assert (data / "autism.csv.gz").stat().st_size < 5 * 1024 * 1024
    r, seconds = _load(data, tmp_path / "store", SEND_MAX_UNPACKED_MB="64")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "autism.csv.gz: refused: it decompresses to more than 64 MB" in out, out
    assert "not recognised" not in out and "MemoryError" not in out
    assert seconds < 60, seconds
    assert ("LOC-MILLOM", 12) in _rows(tmp_path / "store")


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    data = tmp_path / "data"
    write(data / "caseload.csv", GOOD)
    write(data / "big.csv", HEADER + "2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,5\n" * 30000)
    r, _ = _load(data, tmp_path / "store", SEND_MAX_FILE_MB="1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "big.csv: refused: the file is 2 MB, more than the 1 MB limit (SEND_MAX_FILE_MB)" in r.stdout, r.stdout


def test_size_settings_are_read_and_documented():
    from send_metrics import config
    readme = (ROOT / "README.md").read_text()
    for name in ("SEND_MAX_FILE_MB", "SEND_MAX_UNPACKED_MB"):
        assert name in config.SETTINGS and f"`{name}`" in readme
    os.environ["SEND_MAX_UNPACKED_MB"] = "3"
    try:
        assert config.max_unpacked_bytes() == 3 * 1024 * 1024
    finally:
        del os.environ["SEND_MAX_UNPACKED_MB"]


def test_validate_refuses_pipes_and_bombs_without_hanging(tmp_path):
    data = tmp_path / "data"
    write(data / "caseload.csv", GOOD)
    os.mkfifo(data / "pipe.csv")
    _bomb(data / "autism.csv.gz", 80)
    r = subprocess.run([sys.executable, "-m", "send_metrics", "validate", str(data)], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env={**os.environ, "SEND_MAX_UNPACKED_MB": "64",
                                                    "SEND_STORE_DIR": str(tmp_path / "store")})
    assert "pipe.csv: REFUSED - it is a named pipe" in r.stdout, r.stdout + r.stderr
    assert "autism.csv.gz: REFUSED - it decompresses to more than 64 MB" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 1
    r = subprocess.run([sys.executable, "-m", "send_metrics", "validate", str(data / "pipe.csv")], capture_output=True,
                       text=True, timeout=60, cwd=ROOT, env={**os.environ, "SEND_STORE_DIR": str(tmp_path / "store")})
    assert "REFUSED" in r.stdout and r.returncode == 1, r.stdout + r.stderr


@pytest.mark.parametrize("cell", ["1_000", "1_2", "_5"])
def test_digit_group_underscores_are_not_numbers(tmp_path, monkeypatch, cell):
    """Issue 18, lesser point: DuckDB's cast read '1_000' as 1000; the contract's grammar has no '_'."""
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    data = tmp_path / "data"
    write(data / "caseload.csv", GOOD + f"2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,{cell}\n")
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    result = load(load_config(data))
    rows = _rows(tmp_path / "store")
    assert ("LOC-MILLOM", 12) in rows and not [r for r in rows if r[0] == "LOC-EDEN"], rows
    report = next(r for r in result.reports if r.path == "caseload.csv")
    assert any("not a number" in p.reason and p.value == cell for p in report.problems), report.problems


def test_a_file_mixing_utf8_and_windows_1252_is_refused_with_the_lines(tmp_path, monkeypatch):
    """Issue 18, lesser point: a partly UTF-8 file was read as Windows-1252 and garbled silently."""
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    data = tmp_path / "data"
    head = HEADER.rstrip("\n") + ",note\n"
    body = ("2024,January,LOC-MILLOM,locality,ASD,5to10,mainstream,12,Café\n".encode("utf-8")
            + "2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,9,Café\n".encode("cp1252"))
    (data).mkdir()
    (data / "mixed.csv").write_bytes(head.encode() + body)
    (data / "cp1252.csv").write_bytes((head + "2024,January,LOC-CARLISLE,locality,ASD,5to10,mainstream,30,Café\n")
                                      .encode("cp1252"))
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    result = load(load_config(data))
    reports = {r.path: r for r in result.reports}
    text = " ".join(reports["mixed.csv"].lines())
    assert "mixes text encodings: line 2 is UTF-8 but line 3 is not" in text, text
    assert reports["cp1252.csv"].ok, reports["cp1252.csv"].lines()
    rows = _rows(tmp_path / "store")
    assert ("LOC-CARLISLE", 30) in rows and not [r for r in rows if r[0] in ("LOC-MILLOM", "LOC-EDEN")], rows
