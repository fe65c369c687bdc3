"""Faults: a load killed half-way, corrupted derived files, a missing or empty data folder.

* `python -m send_metrics load` killed with SIGKILL at several points of a long load leaves CURRENT
  on the previous complete load; `Database` (already open, or opened afterwards) serves it; the
  store lock is released; the next load completes.
* A derived Parquet file of the current load that is corrupted (garbage, truncated, deleted, or one
  byte flipped so that it still reads) is detected by `verify_load` / `Database.check_integrity`,
  and `load` rebuilds it from the extracts; the precomputed measure table is recomputed when damaged.
* `load --data-dir /nonexistent` exits 1 with a friendly message; an empty folder gives no traceback;
  every page of the app with empty or missing data and store folders shows a message, not a crash.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, run_cli, write
from test_disclosure_e2e import AppEnv, page_errors, page_params, run_page, walk

CASELOAD = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
BASELINE = CASELOAD + "".join(f"2024,January,{loc},locality,{need},5to10,mainstream,{n}\n" for loc, need, n in [
    ("LOC-MILLOM", "ASD", 12), ("LOC-CARLISLE", "ASD", 30), ("LOC-EDEN", "SLCN", 7), ("LOC-ALLERDALE", "SEMH", 19)])
BASELINE_ROWS = 4


def _config(tmp_path: Path):
    from send_metrics.config import load_config
    data = tmp_path / "data"
    write(data / "caseload.csv", BASELINE)
    return replace(load_config(data), store_dir=tmp_path / "store")


def _big_waiting_list(path: Path) -> int:
    """205,800 valid waiting-list rows (25 years of months), written by DuckDB in a second or two."""
    con = duckdb.connect()
    try:
        con.execute(f"""COPY (
            SELECT strftime(make_date(2000 + (m // 12)::INT, (m % 12 + 1)::INT, 1), '%Y%m') AS time_period,
                   'Month' AS time_identifier, loc AS area_code, 'locality' AS area_level, svc AS service,
                   st AS ehcp_status, band AS wait_band, ((m * 7 + length(loc)) % 40)::INT AS waiting
            FROM range(0, 300) t(m),
                 (VALUES ('LOC-ALLERDALE'), ('LOC-CARLISLE'), ('LOC-COPELAND-N'), ('LOC-MILLOM'), ('LOC-EDEN'),
                         ('LOC-BARROW-FURNESS'), ('LOC-SOUTH-LAKELAND')) l(loc),
                 (VALUES ('SLT'), ('OT'), ('AUTISM'), ('ADHD'), ('CAMHS'), ('PAEDS'), ('PHYSIO')) s(svc),
                 (VALUES ('ehc_plan'), ('no_ehc_plan')) e(st),
                 (VALUES ('0to4wk'), ('4to8wk'), ('8to13wk'), ('13to18wk'), ('18to26wk'), ('26to52wk'),
                         ('52plus')) b(band)
        ) TO '{path.as_posix()}' (HEADER)""")
    finally:
        con.close()
    return 300 * 7 * 7 * 2 * 7


def _counts(db) -> tuple[int, int]:
    return (db.rows("SELECT count(*) FROM ehcp_caseload WHERE NOT is_rollup")[0][0],
            db.rows("SELECT count(*) FROM waiting_list WHERE NOT is_rollup")[0][0])


# -- a load killed half-way -----------------------------------------------------------------
def test_a_load_killed_half_way_leaves_the_previous_complete_load(tmp_path):
    from send_metrics.db import Database
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir, verify_load
    config = _config(tmp_path)
    first = load(config)
    assert first.load_id
    open_db = Database(config)
    assert _counts(open_db) == (BASELINE_ROWS, 0)
    big = _big_waiting_list(config.data_dir / "big_waiting_list.csv")
    env = {**os.environ, "SEND_STORE_DIR": str(config.store_dir)}
    env.pop("SEND_DEBUG", None)
    killed = []
    for delay in (0.3, 1.0, 2.5):
        proc = subprocess.Popen([sys.executable, "-m", "send_metrics", "load", "--data-dir", str(config.data_dir)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        loads = config.store_dir / "loads"
        before = set(loads.glob("*.partial"))
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not (set(loads.glob("*.partial")) - before):
            time.sleep(0.02)  # the load has started writing its new folder
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed.append(delay)
        proc.wait(timeout=60)
        if proc.returncode != -signal.SIGKILL:
            continue  # it finished first: nothing to check for this delay
        current = current_load_dir(config.store_dir)
        assert verify_load(current) == []
        if current.name != first.load_id:
            # Killed after the new load was published (while the CLI warmed the measure table): the
            # new load is complete, which is just as good; later delays cannot test anything more.
            assert _counts(open_db) == (BASELINE_ROWS, big)
            killed.pop()
            break
        assert _counts(open_db) == (BASELINE_ROWS, 0), "the open database must keep serving the previous load"
        fresh = Database(config)
        try:
            assert _counts(fresh) == (BASELINE_ROWS, 0)
        finally:
            fresh.close()
    assert killed, "every load finished before it could be killed; make the generated file bigger"
    assert list((config.store_dir / "loads").glob("*.partial")), "a killed load leaves its partial folder"
    # The lock died with the process; the next load completes and is served by the open database.
    second = load(config)
    assert second.load_id and second.load_id != first.load_id
    assert current_load_dir(config.store_dir).name == second.load_id
    assert _counts(open_db) == (BASELINE_ROWS, big)
    open_db.close()


# -- corrupted derived files ------------------------------------------------------------------
def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(b"\x00garbage\xff" * (len(data) // 10 + 1))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "deleted":
        path.unlink()
    elif how == "one_byte_flipped":  # still a readable Parquet file, with a different value in it
        con = duckdb.connect()
        try:
            con.execute(f"COPY (SELECT * REPLACE (ehc_plans + 1 AS ehc_plans) FROM read_parquet('{path.as_posix()}')) "
                        f"TO '{path.as_posix()}.tmp' (FORMAT parquet)")
        finally:
            con.close()
        os.replace(f"{path}.tmp", path)


@pytest.mark.parametrize("how", ["garbage", "truncated", "deleted", "one_byte_flipped"])
def test_a_corrupted_derived_file_is_detected_and_rebuilt(tmp_path, how):
    from send_metrics.db import Database
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir, verify_load
    config = _config(tmp_path)
    first = load(config)
    target = current_load_dir(config.store_dir) / "ehcp_caseload.parquet"
    _corrupt(target, how)
    assert verify_load(current_load_dir(config.store_dir)) == ["ehcp_caseload.parquet"]
    db = Database(config)
    assert db.check_integrity() == ["ehcp_caseload.parquet"]
    r = run_cli("load", "--data-dir", str(config.data_dir), env={"SEND_STORE_DIR": str(config.store_dir)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "nothing changed" not in r.stdout
    rebuilt = current_load_dir(config.store_dir)
    assert rebuilt.name != first.load_id and verify_load(rebuilt) == []
    assert db.check_integrity() == []
    assert db.rows("SELECT sum(ehc_plans) FROM ehcp_caseload WHERE NOT is_rollup")[0][0] == 12 + 30 + 7 + 19
    db.close()


def test_the_rebuild_says_which_derived_file_was_corrupted(tmp_path):
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    config = _config(tmp_path)
    load(config)
    _corrupt(current_load_dir(config.store_dir) / "ehcp_caseload.parquet", "garbage")
    r = run_cli("load", "--data-dir", str(config.data_dir), env={"SEND_STORE_DIR": str(config.store_dir)})
    assert r.returncode == 0
    assert "ehcp_caseload.parquet" in r.stdout and ("corrupt" in r.stdout.lower() or "checksum" in r.stdout.lower())


def test_a_corrupted_load_json_or_pointer_is_survived(tmp_path):
    from send_metrics.db import Database, NoData
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir, verify_load
    config = _config(tmp_path)
    first = load(config)
    (current_load_dir(config.store_dir) / "load.json").write_text("{ not json")
    second = load(config)
    assert second.load_id != first.load_id and verify_load(current_load_dir(config.store_dir)) == []
    # A CURRENT pointer zeroed by a crash, or naming a load that is gone: no data, a clear message.
    for pointer in (b"\x00" * 40, b"20000101T000000000000-deadbeef", b"../../../etc"):
        (config.store_dir / "CURRENT").write_bytes(pointer)
        if pointer.startswith(b".."):
            assert current_load_dir(config.store_dir) is None or \
                config.store_dir.resolve() in current_load_dir(config.store_dir).resolve().parents
            continue
        assert current_load_dir(config.store_dir) is None
        with pytest.raises(NoData):
            Database(config).refresh()
        third = load(config)
        assert third.load_id and current_load_dir(config.store_dir).name == third.load_id


def test_a_damaged_precomputed_measure_table_is_recomputed(tmp_path):
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    config = _config(tmp_path)
    load(config)
    good = Engine(Database(config)).full_table()
    cached = list(current_load_dir(config.store_dir).glob("measures-*.parquet"))
    if not cached:
        pytest.skip("the engine does not keep its table beside the load")
    for p in cached:
        p.write_bytes(b"PAR1 damaged")
    again = Engine(Database(config)).full_table()
    assert len(again) == len(good)
    assert again["value"].fillna(-1).round(9).tolist() == good["value"].fillna(-1).round(9).tolist()


# -- missing or empty data folder ----------------------------------------------------------
def test_load_from_a_missing_folder_exits_1_with_a_friendly_message(tmp_path):
    r = run_cli("load", "--data-dir", "/nonexistent", env={"SEND_STORE_DIR": str(tmp_path / "store")})
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert "/nonexistent" in r.stderr and "does not exist" in r.stderr


def test_load_validate_and_measures_on_an_empty_folder_do_not_crash(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"SEND_STORE_DIR": str(tmp_path / "store")}
    r = run_cli("load", "--data-dir", str(empty), env=env)
    assert r.returncode in (0, 1) and "Traceback" not in r.stdout + r.stderr
    assert "0 files" in r.stdout or "no " in (r.stdout + r.stderr).lower()
    r = run_cli("validate", str(empty))
    assert r.returncode == 2 and "no CSV or Parquet files" in r.stderr
    r = run_cli("measures", "--data-dir", str(empty), "--area", "E06000063", env=env)
    assert r.returncode in (0, 1) and "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize("layout", ["empty_folders", "missing_data_folder"])
@pytest.mark.parametrize("page", page_params())
def test_every_page_with_no_data_shows_a_message_not_a_crash(page, layout, tmp_path):
    data = tmp_path / "data"
    if layout == "empty_folders":
        data.mkdir()
    else:
        data = tmp_path / "does-not-exist"
    store = tmp_path / "store"
    store.mkdir()
    with AppEnv(data, store):
        at = run_page(page)
        assert not page_errors(at), page_errors(at)
        kinds = {getattr(el, "type", "") for el in walk(at._tree)}
        static = page.name in ("definitions.py", "about.py", "upload.py")  # pages that need no data
        assert static or kinds & {"info", "warning"}, f"{page.name}: no message for the user ({sorted(kinds)})"


# -- found by the load test ---------------------------------------------------------------------
def test_needs_page_draws_every_census_year_of_the_demo_data(demo_config):
    page = ROOT / "pages" / "needs.py"
    if not page.exists():
        pytest.skip("pages/needs.py does not exist yet")
    with AppEnv(demo_config.data_dir, demo_config.store_dir):
        at = run_page(page)
        assert not page_errors(at), page_errors(at)
        box = next(el for el in walk(at._tree) if getattr(el, "type", "") == "selectbox"
                   and el.label == "January census")
        failed = []
        for label in list(box.options):
            sb = at.selectbox(key=box.key)
            sb.set_value(type(sb.value)(label) if sb.value is not None else label).run()
            if page_errors(at):
                failed.append((label, page_errors(at)[0][:120]))
        assert not failed, failed
