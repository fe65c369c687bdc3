"""Open dashboard pages in headless Chromium, wait for Streamlit to finish, save screenshots.

    python scripts/screenshot.py http://127.0.0.1:8501 board trends ... [--out docs/screenshots]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

WAIT = ("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
        "[data-testid='stApp'][data-test-script-state='notRunning']")


def wait_ready(page, timeout_ms: int = 120_000) -> None:
    for sel in WAIT:
        page.wait_for_selector(sel, timeout=timeout_ms)
    page.wait_for_function("!document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms)
    page.wait_for_timeout(800)  # let plotly finish drawing


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pages", nargs="+")
    ap.add_argument("--out", default="docs/screenshots")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    errors = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in args.pages:
            page.goto(f"{args.url.rstrip('/')}/{name}")
            wait_ready(page)
            exc = page.locator("[data-testid='stException']").count()
            errors += exc
            page.screenshot(path=str(out / f"{name.split('?')[0]}.png"), full_page=True)
            print(f"{name}: exceptions={exc}")
        browser.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
