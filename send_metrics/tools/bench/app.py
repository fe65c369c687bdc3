"""The dashboard measured from child processes (this package never imports Streamlit, and each figure
comes from a fresh process with nothing cached): server-side page run times with AppTest
(`dashboard/bench_pages.py`), cold start and peak memory, and felt latency in headless Chromium
against a floor app (`dashboard/bench_browser.py`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from send_metrics.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")


def _dashboard_child(args: list[str], data_dir: Path, store: Path) -> dict:
    env = {**os.environ, "SEND_DATA_DIR": str(data_dir), "SEND_STORE_DIR": str(store)}
    r = subprocess.run([sys.executable, "-m", "dashboard.bench_pages", args[0], str(data_dir), str(store), *args[1:]],
                       capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if r.returncode:
        raise RuntimeError(f"dashboard.bench_pages {args[0]} failed: {r.stderr[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def page_timings(data_dir: Path, store: Path, runs: int) -> dict:
    """Server-side run time per page for a selector change (AppTest), median and p95 in ms."""
    return _dashboard_child(["timings", str(runs)], data_dir, store)


def app_process(data_dir: Path, store: Path) -> dict:
    """A fresh dashboard process: seconds from its start to the first page rendered (cold start),
    then its peak RSS after rendering every page."""
    t0 = time.time()
    out = _dashboard_child(["cold"], data_dir, store)
    return {"cold_start_s": out["first_page_at"] - t0, "rss_mb": round(out["rss_mb"], 1)}


def browser_bench(scales: list[tuple[Path, Path]], repeats: int) -> dict:
    """Felt latency in Chromium for every page at each scale, as ratios to the floor app, and the
    first start of a fresh clone (see dashboard/bench_browser.py). Skipped, with the reason, when
    Chromium or Playwright is absent."""
    if not CHROMIUM.exists():
        return {"skipped": f"{CHROMIUM} is absent"}
    try:
        import playwright  # noqa: F401
    except ImportError:
        return {"skipped": "playwright is not installed"}
    args = [str(x) for pair in scales for x in pair]
    out = _browser_child(["pages", str(repeats), *args])
    browser = {**out.pop("scales"), **out}
    browser["first_start"] = _browser_child(["first-start"])
    return browser


def _browser_child(args: list[str]) -> dict:
    r = subprocess.run([sys.executable, "-m", "dashboard.bench_browser", *args], capture_output=True, text=True,
                       cwd=PROJECT_ROOT, env=dict(os.environ))
    if r.returncode:
        raise RuntimeError(f"dashboard.bench_browser {args[0]} failed: {r.stderr[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])
