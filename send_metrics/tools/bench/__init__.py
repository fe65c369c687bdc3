"""Benchmark: ingest, measures and pages at national scale, measured side by side in one run.

`python -m send_metrics bench [--quick] [--json]`

What is compared (each pair timed in the same process, on the same files, back to back):
- ingest: our `load` (validation, quarantine, person-level counting, roll-ups, Parquet store)
  against DuckDB's plain `read_csv` / `read_parquet` of the same files into tables
  (`ingest_overhead_vs_duckdb` = ours / plain);
- measures: numerators, denominators and values of the whole catalogue for every area and
  period through the engine's SQL against a straightforward pandas implementation of the same
  measures on the same Parquet files (`measures_speedup_vs_pandas` = pandas / ours); the two
  results are checked equal before the ratio is reported;
- pages: the server-side run time of every page for a realistic selector change, with
  Streamlit's AppTest (median and p95 over at least 10 runs), at demo and national scale, in a
  child process (`dashboard/bench_pages.py`: this package does not import Streamlit);
- browser: felt latency in headless Chromium (`dashboard/bench_browser.py`, Playwright driving
  Debian's /usr/bin/chromium): for every page at demo and national scale, navigation to settled
  and select-box change to settled, median and p95, as ratios to a minimal floor Streamlit app
  (`dashboard/bench_floor.py`) measured in the same run, with the bytes the server sends per
  open and per rerun; and the first start of a fresh clone (README command 1) to a useful Board;
- cold start: a fresh Python process from start to the first page rendered;
- peak RSS of the product's processes: the loader (ingest and derived tables) and a dashboard
  process that rendered every page (the bench process's own RSS, with the pandas reference, is
  reported beside it).

Timing is never asserted in the unit tests; the targets are checked here and reported.

One module per part of the run: `national` (the national-scale extract), `ingest` (our load against
DuckDB's plain read, and the loader process), `measures` (the engine's SQL against pandas), `app`
(pages with AppTest and in Chromium, in child processes), `demand` (the transition model's
simulation), `person_level` (a council's SEN2 return against the same data aggregated), `system`
(peak memory, load average, the machine), `targets`, `markdown` (BENCHMARKS.md) and `run` (the
`python -m send_metrics bench` command).
"""
