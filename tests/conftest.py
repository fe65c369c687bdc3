"""Shared fixtures: isolated data folders and stores, and the demo data loaded once per session."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REAL = SHARED / "data" / "real"
GEO = SHARED / "data" / "geo"

sys.path.insert(0, str(ROOT))
# Tests mirror the package (tests/ingest, tests/measures, ...); a few share helpers across folders
# (the AppTest crawl in pages/test_disclosure_e2e.py, the browser helpers in pages/test_browser.py,
# published reference values in stats/test_stats_intervals.py), imported by module name.
TEST_FOLDERS = ("ingest", "measures", "stats", "present", "pages", "tools")
for _folder in TEST_FOLDERS:
    sys.path.insert(0, str(ROOT / "tests" / _folder))

# AppTest page tests and crawls see every tab and collapsed section drawn (as SEND_OPEN_SECTIONS=1
# does for printing and audits), so nothing they check hides behind a click. Browser tests start
# their servers with the product's default (drawn when opened); tests/pages/test_lazy_sections.py checks
# that default in AppTest.
os.environ["SEND_OPEN_SECTIONS"] = "1"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """An empty data folder with its own store."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    return d


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """The shipped demo data loaded into a private store (once per test session)."""
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    store = tmp_path_factory.mktemp("demo_store")
    old = os.environ.get("SEND_STORE_DIR")
    os.environ["SEND_STORE_DIR"] = str(store)
    try:
        config = load_config(ROOT / "data")
        result = load(config)
        assert result.load_id, result.notes
        # The releases (one protected version across outputs): shipped with the demo, taken once
        # here (computed if the shipped ones are not current), so every test and test server reads them.
        from dataclasses import replace

        from send_metrics.db import Database
        from send_metrics.measures import release
        from send_metrics.measures.engine import Engine
        release.precompute(Engine(Database(replace(config, store_dir=store))))
    finally:
        if old is None:
            os.environ.pop("SEND_STORE_DIR", None)
        else:
            os.environ["SEND_STORE_DIR"] = old
    return store


@pytest.fixture(scope="session")
def demo_config(demo_store):
    from dataclasses import replace

    from send_metrics.config import load_config
    return replace(load_config(ROOT / "data"), store_dir=demo_store)


@pytest.fixture(scope="session")
def demo_engine(demo_config):
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    return Engine(Database(demo_config))


def run_cli(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SEND_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "send_metrics", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=300)


def needs_real():
    return pytest.mark.skipif(not REAL.is_dir(), reason=f"real published data folder {REAL} is absent")


# The fast suite, for a developer's edit loop (python -m pytest -m "not slow and not browser and not
# real_data", under two minutes): the statistics, the presentation helpers and the analyses that run
# on hand-made tables. Everything that loads data through the store, computes the demo's derived
# tables, starts the app in AppTest or runs the command line is `slow` (CI runs it all): these whole
# modules, and any other test that asks for the demo load.
SLOW_MODULES = {
    "test_ingest", "test_corpus", "test_files_are_files", "test_hostile", "test_loads_never_mix",
    "test_serving_while_loading", "test_snapshot", "test_validate_agreement", "test_blade_reader_identical",
    "test_sen2_person_level", "test_honest_limits", "test_area_codes",
    "test_engine", "test_breakdowns", "test_demand", "test_projection", "test_prebuilt", "test_summary_table",
    "test_sen2_local", "test_figure_identity",
    "test_report", "test_untrusted_text",
    "test_pages_analysis", "test_pages_analyst", "test_browser", "test_disclosure_e2e", "test_lazy_sections",
    "test_faults", "test_cache_keys", "test_auth", "test_real_board", "test_real_nhs",
    "test_bench", "test_demo", "test_settings",
}
SLOW_FIXTURES = {"demo_store", "demo_config", "demo_engine"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.stem in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)

