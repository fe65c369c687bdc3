"""The benchmark's own parts on a small generated extract (timings are reported, never asserted)."""
from __future__ import annotations

from dataclasses import replace

import duckdb

from send_metrics import bench
from send_metrics.config import load_config
from send_metrics.store import current_load_dir, load


def test_generated_extract_loads_and_its_ingest_floor_has_every_part(tmp_path):
    sizes = bench.generate(tmp_path / "data", councils=3, persons=2000, months=3)
    assert sizes["ehcp_persons.parquet"] == 2000
    config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store")
    result = load(config, force=True)
    assert [e["dataset"] for e in result.kept_as_is] == ["ehcp_persons"], "a clean person extract is kept as it is"
    load_dir = current_load_dir(config.store_dir)
    people = duckdb.connect().execute(
        "SELECT sum(ehc_plans) FROM read_parquet($p) WHERE source_file LIKE '%ehcp_persons.parquet'",
        {"p": str(load_dir / "ehcp_caseload.parquet")}).fetchall()[0][0]
    assert people == 2000, "every person is counted into the caseload once"
    floor = bench.ingest_floor(tmp_path / "data", load_dir)
    parts = ["read_csv_as_text_s", "hash_inputs_s", "person_keys_and_cells_s", "write_store_s"]
    assert sorted(floor) == sorted(parts + ["total_s"])
    assert abs(floor["total_s"] - sum(floor[p] for p in parts)) < 0.02
