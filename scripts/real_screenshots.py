"""Screenshots of the Board, Waiting times and Equity pages on real published data only (issue 20).

Load a data folder that holds only the real files (e.g. hard links of ../shared/data/real), start the
app on it, then run this against it:

    SEND_STORE_DIR=/tmp/real/store python -m send_metrics load --data-dir /tmp/real/data
    SEND_STORE_DIR=/tmp/real/store SEND_DATA_DIR=/tmp/real/data python -m streamlit run app.py --server.port 8601 &
    python scripts/real_screenshots.py http://127.0.0.1:8601 --out docs/screenshots

Each page is captured at its full height (Streamlit scrolls inside its main container, so the
viewport is grown to the content first, as tests/pages/test_browser.py does); the script fails when a page
shows an exception.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

SHOTS = {  # file name: page path with the view in its address
    "board-real.png": "board?area=E06000063",
    "board-real-wf.png": "board?area=E06000064",
    "waiting-real.png": "waiting",
    "equity-real.png": "equity",
}


def wait_ready(page, timeout_ms: int = 180_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms,
                           state="attached")
    page.wait_for_function(
        """() => { const a = document.querySelector("[data-testid='stApp']");
                   return !!a && a.getAttribute('data-test-script-state') === 'notRunning'
                       && !document.querySelector("[data-testid='stSkeleton']")
                       && !!document.querySelector("[data-testid='stMain']"); }""", timeout=timeout_ms)
    page.wait_for_timeout(1500)  # let plotly finish drawing


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--out", default="docs/screenshots")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    errors = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in SHOTS.items():
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{args.url.rstrip('/')}/{path}", wait_until="domcontentloaded", timeout=180_000)
            wait_ready(page)
            height = page.evaluate("""() => { const m = document.querySelector("[data-testid='stMain']");
                                              return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight); }""")
            page.set_viewport_size({"width": 1280, "height": int(min(max(height, 900), 14000))})
            wait_ready(page)
            exc = page.locator("[data-testid='stException']").count()
            errors += exc
            page.screenshot(path=str(out / name), full_page=True)
            print(f"{name}: {path}: exceptions={exc}, height={height}")
        browser.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
