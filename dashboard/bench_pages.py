"""The dashboard half of `python -m send_metrics bench`: it drives the Streamlit app, so it lives
here and runs as a child process of the bench (`send_metrics` never imports Streamlit).

    python -m dashboard.bench_pages timings DATA_DIR STORE_DIR RUNS   # per-page run times, JSON
    python -m dashboard.bench_pages cold DATA_DIR STORE_DIR           # cold start and peak RSS, JSON

Both set SEND_DATA_DIR and SEND_STORE_DIR before the app is imported: the app loads its data
folder when that differs from the store's current load, so a store without its own data folder
would be replaced by the demo data.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP = str(PROJECT_ROOT / "app.py")
PAGES = ["board", "trends", "equity", "waiting", "benchmarks", "needs", "explorer", "upload",
         "definitions", "about"]


def _fresh_app(page: str):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


def raw_options(at, selectbox) -> list:
    """A selectbox's option values, as the page passed them. AppTest lists only the labels its
    ``format_func`` shows, and ``set_value`` takes a value: a label works only where the format
    function maps it to itself (an unknown label would fail the run and restart the app inside
    the timed run)."""
    try:
        state = object.__getattribute__(vars(at.session_state)["_state"], "_state")
        serde = state._new_widget_state.widget_metadata[selectbox.id].deserializer.__self__
        return list(serde.options)
    except Exception:  # another Streamlit version: fall back to the labels
        return list(selectbox.options)


def page_timings(runs: int) -> dict:
    """Server-side run time per page for a selector change (AppTest), median and p95 in ms."""
    results = {}
    for page in PAGES:
        at = _fresh_app(page)
        times, exceptions = [], 0
        selects = [s for s in at.selectbox if len(s.options) > 1]
        for i in range(runs + 1):
            if selects:
                sb = selects[i % len(selects)]
                opts = raw_options(at, sb)
                sb.set_value(opts[(i + 1) % len(opts)])
            t0 = time.perf_counter()
            try:
                at.run()
            except Exception:  # counted (a target fails), and the run goes on with a fresh app
                exceptions += 1
                at = _fresh_app(page)
            if i:  # the first run warms the caches
                times.append((time.perf_counter() - t0) * 1000)
            exceptions += len(at.exception)
            selects = [s for s in at.selectbox if len(s.options) > 1]
        results[page] = {"median_ms": round(statistics.median(times), 1),
                         "p95_ms": round(float(np.percentile(times, 95)), 1),
                         "exceptions": exceptions}
    return results


def cold_start() -> dict:
    """Time of the first page rendered (seconds since the epoch, for the parent to subtract its
    own start time), then the peak RSS after rendering every page once."""
    from send_metrics.tools.bench.system import peak_rss_mb
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if at.exception:
        raise RuntimeError(f"the first page raised: {at.exception[0].message}")
    first = time.time()
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
    return {"first_page_at": first, "rss_mb": peak_rss_mb()}


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("timings", "cold"):
        print(__doc__, file=sys.stderr)
        return 2
    os.environ["SEND_DATA_DIR"], os.environ["SEND_STORE_DIR"] = argv[1], argv[2]
    out = page_timings(int(argv[3])) if argv[0] == "timings" else cold_start()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
