"""The benchmark's own parts on a small generated extract (timings are reported, never asserted)."""
from __future__ import annotations

from dataclasses import replace

import duckdb

from send_metrics.tools.bench import ingest, markdown, national, targets
from send_metrics.config import load_config
from send_metrics.ingest.store import load
from send_metrics.ingest.stored_loads import current_load_dir


def test_generated_extract_loads_and_its_ingest_floor_has_every_part(tmp_path):
    sizes = national.generate(tmp_path / "data", councils=3, persons=2000, months=3)
    assert sizes["ehcp_persons.parquet"] == 2000
    config = replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store")
    result = load(config, force=True)
    assert [e["dataset"] for e in result.kept_as_is] == ["ehcp_persons"], "a clean person extract is kept as it is"
    load_dir = current_load_dir(config.store_dir)
    people = duckdb.connect().execute(
        "SELECT sum(ehc_plans) FROM read_parquet($p) WHERE source_file LIKE '%ehcp_persons.parquet'",
        {"p": str(load_dir / "ehcp_caseload.parquet")}).fetchall()[0][0]
    assert people == 2000, "every person is counted into the caseload once"
    floor = ingest.ingest_floor(tmp_path / "data", load_dir)
    parts = ["read_csv_as_text_s", "hash_inputs_s", "person_keys_and_cells_s", "write_store_s"]
    assert sorted(floor) == sorted(parts + ["total_s"])
    assert abs(floor["total_s"] - sum(floor[p] for p in parts)) < 0.02


def _page(open_r, change_r, p95_r):
    return {"open_median_s": 1.0, "open_p95_s": 1.2, "change_median_s": 0.5, "change_p95_s": 0.7, "repeats": 3,
            "open_median_ratio": open_r, "change_median_ratio": change_r, "change_p95_ratio": p95_r,
            "open_bytes": 20480, "change_bytes": 10240, "elements": 12, "charts": 1}


def test_browser_targets_are_read_per_page_and_scale_and_the_floor_is_not_judged():
    browser = {"repeats": 3, "quiet_ms": 500, "load_average": {"before": "1.0 1.0 1.0", "after": "1.1 1.0 1.0"},
               "demo": {"floor": _page(1.0, 1.0, 1.0), "board": _page(1.2, 1.4, 2.0),
                        "about": {**_page(1.1, None, None), "change_median_s": None, "change_p95_s": None}},
               "national": {"floor": _page(1.0, 1.0, 1.0), "board": _page(1.3, 1.6, 2.0)},
               "first_start": {"first": {"useful_board_s": 4.2, "server_answering_s": 2.0},
                               "second": {"useful_board_s": 2.5, "server_answering_s": 2.0}}}
    met = targets.browser_targets_met(browser)
    assert met == {"browser_change_median": False, "browser_change_p95": True, "browser_open_median": True,
                   "first_start_useful_board": True}
    browser["national"]["board"]["change_median_ratio"] = 1.5
    assert targets.browser_targets_met(browser)["browser_change_median"]
    browser["national"]["board"]["open_median_ratio"] = 1.51
    assert not targets.browser_targets_met(browser)["browser_open_median"]
    text = "\n".join(markdown.browser_markdown(browser))
    assert "| national | board | 1.0 | 1.51 | 0.5 | 1.5 | 0.7 | 2.0 | 20 | 10 | 12 | 1 |" in text
    assert "| demo | about | 1.0 | 1.1 | - | - | - | - |" in text
    assert "first start 4.2 s" in text
    assert targets.browser_targets_met({"skipped": "no chromium"}) == {}
    assert "Not measured" in "\n".join(markdown.browser_markdown({"skipped": "no chromium"}))


def test_person_level_table_gives_cpu_beside_the_wall_time_target():
    """The person-level table keeps the wall-time target row and, when the loader reported CPU seconds,
    adds the CPU rows with their ratios (CPU is not judged against the target)."""
    pl = {"open_plans": 10, "years": 2, "people": 12, "blade_files": 18, "blade_rows": 100, "blade_mb": 0.1,
          "aggregated_rows": {"ehcp_caseload.csv": 5}, "rounds": 2, "person_ingest_s": 3.0, "person_derived_s": 1.0,
          "aggregated_ingest_s": 1.0, "aggregated_derived_s": 1.0, "ingest_ratio": 3.0, "derived_ratio": 1.0,
          "total_ratio": 2.0, "person_rss_mb": 1, "aggregated_rss_mb": 1}
    without = "\n".join(markdown.person_level_markdown(pl))
    assert "| load and derived tables s | 4.0 | 2.0 | 2.0x | <= 2.0x |" in without and "CPU" not in without
    pl.update(person_ingest_cpu_s=2.4, aggregated_ingest_cpu_s=0.8, person_total_cpu_s=3.6,
              aggregated_total_cpu_s=2.0, total_cpu_ratio=1.8)
    text = "\n".join(markdown.person_level_markdown(pl))
    assert "| ingest CPU s (least of the rounds) | 2.4 | 0.8 | 3.0x | |" in text
    assert "| load and derived tables CPU s (least of the rounds) | 3.6 | 2.0 | 1.8x | (not the target" in text
    assert text.count("<= 2.0x") == 1
