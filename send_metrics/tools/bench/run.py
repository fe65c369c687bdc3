"""`python -m send_metrics bench [--quick] [--json]` and `bench --person-level`: the run in order (demo
scale, then national scale: ingest, measures, pages, browser, growth, demand, person level), its
result and BENCHMARKS.md.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from send_metrics.config import PROJECT_ROOT, load_config
from send_metrics.tools.bench.app import app_process, browser_bench, page_timings
from send_metrics.tools.bench.demand import demand_process
from send_metrics.tools.bench.ingest import (
    ingest_floor,
    loader_process,
    plain_duckdb_read,
    timed_load,
)
from send_metrics.tools.bench.markdown import (
    PL_HEADING,
    person_level_markdown,
    replace_section,
    write_markdown,
)
from send_metrics.tools.bench.measures import compare_measures
from send_metrics.tools.bench.national import council_codes, generate
from send_metrics.tools.bench.person_level import person_level_bench
from send_metrics.tools.bench.system import machine, peak_rss_mb, uptime_load
from send_metrics.tools.bench.targets import targets_met


def run_bench(args) -> int:
    quick = bool(getattr(args, "quick", False))
    runs = 10 if quick else 20
    work = Path(tempfile.mkdtemp(prefix="send-bench-"))
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    try:
        result = _run(work, quick, runs, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_markdown(result)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return 0 if all(result["targets_met"].values()) else 1


def _run(work: Path, quick: bool, runs: int, log) -> dict:
    # Demo scale first: pages on the shipped data.
    demo_store = work / "demo_store"
    _, demo_config, _ = timed_load(PROJECT_ROOT / "data", demo_store)
    _warm(demo_config)
    log("pages at demo scale ...")
    demo_pages = page_timings(PROJECT_ROOT / "data", demo_store, runs)

    data = work / "national"
    log("generating national-scale data ...")
    sizes = generate(data)
    log("loading ...")
    # Plain read and our load back to back, on the same files.
    plain = plain_duckdb_read(data)
    loader = loader_process(data, work / "store")
    ours = loader["ingest_s"]
    config = replace(load_config(data), store_dir=work / "store")
    from send_metrics.ingest.stored_loads import current_load_dir
    load_dir = current_load_dir(config.store_dir)
    floor = ingest_floor(data, load_dir)
    log("measures ...")
    measures = compare_measures(config, load_dir)
    log("pages at national scale ...")
    pages = page_timings(data, config.store_dir, runs)
    app = app_process(data, config.store_dir)
    log("pages in the browser, against the floor app ...")
    load_before = uptime_load()
    # Five rounds even with --quick (about two minutes more): with three, the floor's median change
    # is one sample of about 0.2 s, and one lucky one (0.13 s at national scale in a run at load 5)
    # moved every page's ratio by half.
    browser = browser_bench([(PROJECT_ROOT / "data", demo_store), (data, config.store_dir)], 5)
    browser["load_average"] = {"before": load_before, "after": uptime_load()}
    growth = [] if quick else growth_table(work, log)
    log("demand simulation ...")
    demand_sim = demand_process()
    log("person level ...")
    person_level = person_level_bench(work, log)
    result = {
        "machine": machine(), "date": dt.datetime.now().isoformat(timespec="seconds"), "quick": quick,
        "data_rows": sizes, "total_rows": int(sum(sizes.values())),
        "ingest_s": round(ours, 2), "plain_duckdb_s": round(plain, 2),
        "ingest_overhead_vs_duckdb": round(ours / plain, 2),
        "ingest_floor": floor, "ingest_floor_vs_duckdb": round(floor["total_s"] / plain, 2),
        "measure_table_s": loader["measure_table_s"], "derived_measures_s": loader["measures_only_s"],
        "derived_needs_s": loader["needs_s"],
        "loader_rss_mb": loader["rss_mb"], "app_rss_mb": app["rss_mb"],
        "measures_ours_s": round(measures["ours_s"], 3), "measures_pandas_s": round(measures["pandas_s"], 3),
        "measures_equal": measures["equal"], "measures_rows": measures["rows"],
        "measures_speedup_vs_pandas": round(measures["pandas_s"] / measures["ours_s"], 2),
        "demo_pages": demo_pages, "pages": pages, "cold_start_s": round(app["cold_start_s"], 2), "growth": growth,
        "browser": browser, **demand_sim,
        "person_level": person_level,
    }
    # Peak RSS of the product's own processes (the loader and a dashboard process that rendered
    # every page); the bench process also holds the pandas reference and AppTest, reported apart.
    result["peak_rss_mb"] = max(loader["rss_mb"], app["rss_mb"])
    result["bench_process_rss_mb"] = peak_rss_mb()
    result["targets_met"] = targets_met(result)
    return result


def _warm(config) -> None:
    """The derived tables, as the loader computes them after a load."""
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    db = Database(config)
    Engine(db).compute_derived()
    db.close()


def growth_table(work: Path, log) -> list[dict]:
    """How cost grows with data: ingest, measure table and engine SQL at three sizes."""
    rows = []
    for councils, persons in ((15, 500_000), (60, 2_000_000), (None, 5_000_000)):
        folder = work / f"growth_{councils}"
        sizes = generate(folder, councils=councils, persons=persons)
        plain = plain_duckdb_read(folder)
        loader = loader_process(folder, work / f"growth_store_{councils}")
        rows.append({"councils": councils or len(council_codes()), "rows": int(sum(sizes.values())),
                     "ingest_s": loader["ingest_s"], "plain_duckdb_s": round(plain, 2),
                     "measure_table_s": loader["measure_table_s"], "derived_measures_s": loader["measures_only_s"],
                     "derived_needs_s": loader["needs_s"], "loader_rss_mb": loader["rss_mb"]})
        shutil.rmtree(work / f"growth_store_{councils}", ignore_errors=True)
        log(rows[-1])
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def run_person_level(args) -> int:
    """`bench --person-level`: the person-level section alone, written into BENCHMARKS.md."""
    work = Path(tempfile.mkdtemp(prefix="send-bench-pl-"))
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    load_before = os.getloadavg()[0]
    try:
        pl = person_level_bench(work, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pl["machine"], pl["date"] = machine(), dt.datetime.now().isoformat(timespec="seconds")
    path = PROJECT_ROOT / "BENCHMARKS.md"
    lines = person_level_markdown(pl)
    lines.insert(2, f"Measured {pl['date']} by `python -m send_metrics bench --person-level` (load average "
                    f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).")
    lines.insert(3, "")
    path.write_text(replace_section(path.read_text() if path.exists() else "# Benchmarks\n", PL_HEADING, lines))
    print(json.dumps({"person_level": pl}) if args.json else json.dumps(pl, indent=1))
    return 0 if pl["total_ratio"] <= 2.0 else 1
