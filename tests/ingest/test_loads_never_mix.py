"""Loads and readers never mix (issue 18, point 5).

The app computes the measure table when a load has none; if a new load is published while it
computes (the Upload page's accept path does exactly that), the table computed from the old load
used to be saved into the new one, which then showed the old figures. And a load killed after it
was published left the derived tables missing, which the next `load` ("nothing changed") did not
repair.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from conftest import run_cli, write

HEADER = "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN", "LOC-BARROW-FURNESS",
              "LOC-SOUTH-LAKELAND"]


def _caseload(scale: int) -> str:
    return HEADER + "".join(f"2024,January,{c},locality,ASD,5to10,mainstream,{(20 + 3 * i) * scale}\n"
                            for i, c in enumerate(LOCALITIES))


def _config(tmp_path):
    from send_metrics.config import load_config
    return replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store")


def _values(table: pd.DataFrame) -> dict:
    t = table[table["measure_id"] == "ehcp_count"] if "ehcp_count" in set(table["measure_id"]) else table
    return {(r.measure_id, r.area_code, str(r.period)): r.value for r in t.itertuples() if pd.notna(r.value)}


def test_a_measure_table_computed_from_one_load_is_never_saved_into_the_next(tmp_path, monkeypatch):
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    config = _config(tmp_path)
    write(config.data_dir / "caseload.csv", _caseload(1))
    load_a = load(config).load_id
    engine = Engine(Database(config))
    real_compute = Engine._compute
    published = {}

    def compute_then_publish(self):
        table = real_compute(self)
        if not published:  # the race: a new load is published while load A's table is computed
            write(config.data_dir / "caseload.csv", _caseload(2))
            published["b"] = load(config).load_id
        return table
    monkeypatch.setattr(Engine, "_compute", compute_then_publish)
    first = engine.full_table()
    load_b = published["b"]
    assert load_b != load_a and current_load_dir(config.store_dir).name == load_b
    monkeypatch.setattr(Engine, "_compute", real_compute)
    # Load B's truth, computed from scratch by a fresh engine.
    truth_b = _values(Engine(Database(config))._compute())
    truth_a_value = 20 * 1
    # What load B's folder holds (if anything) is B's own table.
    b_dir = current_load_dir(config.store_dir)
    for saved in b_dir.glob("measures-*.parquet"):
        assert _values(pd.read_parquet(saved)) == truth_b, "load A's measure table was saved into load B"
    # The engine then serves load B's figures, from its folder or computed again.
    served = _values(engine.full_table())
    assert served == truth_b
    assert any(v == 2 * truth_a_value for (m, a, p), v in served.items() if a == "LOC-ALLERDALE"), served
    # Whatever was computed from A went to A only (its folder, or nowhere).
    assert first is not None


def test_a_table_saved_for_a_load_lands_in_that_load_only(tmp_path):
    from send_metrics.db import Database
    from send_metrics.measures.engine import OUTPUT_COLUMNS, Engine
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    config = _config(tmp_path)
    write(config.data_dir / "caseload.csv", _caseload(1))
    load_a = load(config).load_id
    engine = Engine(Database(config))
    table_a = engine.full_table()
    write(config.data_dir / "caseload.csv", _caseload(3))
    load_b = load(config).load_id
    for p in current_load_dir(config.store_dir).glob("measures-*.parquet"):
        p.unlink()
    engine.save_derived("measures", table_a, load_a)  # late save of A's table, after B was published
    b_dir = config.store_dir / "loads" / load_b
    assert not list(b_dir.glob("measures-*.parquet"))
    assert list((config.store_dir / "loads" / load_a).glob("measures-*.parquet"))
    assert engine.derived_path("measures", "../" + load_a) is None
    assert engine.derived_path("measures", load_b + ".partial") is None
    assert engine.read_derived("measures", OUTPUT_COLUMNS, load_b) is None


def test_a_load_killed_after_it_was_published_is_completed_by_the_next_load(tmp_path):
    from send_metrics.ingest.stored_loads import current_load_dir
    config = _config(tmp_path)
    write(config.data_dir / "caseload.csv", _caseload(1))
    env = {"SEND_STORE_DIR": str(config.store_dir)}
    r = run_cli("load", "--data-dir", str(config.data_dir), env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    d = current_load_dir(config.store_dir)
    derived = sorted(p.name for p in d.glob("*-*-*.parquet") if p.name.startswith(("measures-", "needs-")))
    assert derived, list(d.iterdir())
    # As if the load had been killed after the swap, before the derived tables were written.
    for name in derived:
        (d / name).unlink()
    r = run_cli("load", "--data-dir", str(config.data_dir), env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "nothing changed" in r.stdout and "computing them" in r.stdout, r.stdout
    assert sorted(p.name for p in d.glob("*-*-*.parquet") if p.name.startswith(("measures-", "needs-"))) == derived
    r = run_cli("load", "--data-dir", str(config.data_dir), env=env)
    assert "nothing changed" in r.stdout and "computing them" not in r.stdout, r.stdout
