"""The Demand and cost projection page in headless Chromium on the synthetic person-level history:
no exception, no serious or critical axe violation, the scenario restored from its link, and the
screenshot docs/screenshots/demand.png."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.test_browser import (AXE_OPTIONS, CHROMIUM, NAV, SHOTS, exceptions, full_screenshot, navigation_ok,
                                open_page, selected, start_server, stop_server,
                                wait_for_app)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (install Debian's chromium)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed")
ROOT = SHOTS.parent.parent


@pytest.fixture(scope="module")
def demand_server(tmp_path_factory):
    from send_metrics import demand_demo
    tmp = tmp_path_factory.mktemp("demand_browser")
    demand_demo.write(tmp / "data" / "demo")
    env = {**os.environ, "SEND_DATA_DIR": str(tmp / "data"), "SEND_STORE_DIR": str(tmp / "store")}
    r = subprocess.run([sys.executable, "-m", "send_metrics", "load"], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    proc, base, _log = start_server(tmp / "store", tmp / "data")
    yield base
    stop_server(proc)


def test_demand_page_in_the_browser(demand_server):
    link = "/demand?area=E06000063&sc_from=mainstream&sc_to=independent&sc_move=-10&sc_join=-3&sc_year=2028"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            pg = b.new_context(viewport={"width": 1280, "height": 900}).new_page()
            open_page(pg, demand_server + "/")
            # The first view runs the simulations and the backtest (cached for the load after that).
            pg.goto(demand_server + link, wait_until="domcontentloaded", timeout=900_000)
            wait_for_app(pg, timeout=900_000)
            assert navigation_ok(pg)
            assert not exceptions(pg), exceptions(pg)
            assert selected(pg, "Change in those moves (%)") == "-10%"
            assert selected(pg, "From January") == "2028"
            assert pg.get_by_text("ILLUSTRATIVE demo table", exact=False).count() > 0
            results = axe_sync.Axe().run(pg, context={"exclude": [[NAV]]}, options=AXE_OPTIONS)
            bad = [v for v in results.response.get("violations", []) if v.get("impact") in ("serious", "critical")]
            SHOTS.mkdir(parents=True, exist_ok=True)
            full_screenshot(pg, SHOTS / "demand.png")
            assert not bad, "; ".join(f"{v['id']} ({v['impact']}): {v['help']} e.g. {v['nodes'][0]['target']}"
                                      for v in bad)
        finally:
            b.close()
