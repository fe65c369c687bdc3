"""Tabs and collapsed sections are drawn only when chosen (SEND_OPEN_SECTIONS=0, the product's
default; the other tests run with every section drawn, see conftest.py): a rerun sends one view,
a link restores the tab it was copied from, and SEND_OPEN_SECTIONS=1 still draws everything."""
from __future__ import annotations

import pytest

from test_disclosure_e2e import ROOT, AppEnv, page_errors, run_page


@pytest.fixture
def lazy_demo(demo_store):
    with AppEnv(ROOT / "data", demo_store, SEND_AUTH="off", SEND_OPEN_SECTIONS="0"):
        yield


def _headers(at) -> list[str]:
    return [h.value for h in at.header]


TABS = {  # page: (tab labels in order, a header only that tab draws)
    "needs": (["Need mix over time", "Against England", "By age and setting", "Demand projection"],
              ["Primary-need mix over time", "Against England", "By age band and type of setting",
               "Demand projection"]),
    "equity": (["North and South Cumbria", "The seven localities", "Waiting times by EHC plan status"],
               ["North and South Cumbria, every measure", "The seven localities",
                "Waiting times by service and EHC plan status"]),
    "benchmarks": (["Statistical neighbours", "Every measure against England", "All councils: funnel plot"],
                   [None, "Every measure against England", "All councils: funnel plot"]),
}


@pytest.mark.parametrize("page", list(TABS))
def test_only_the_chosen_tab_is_drawn_and_the_link_keeps_it(lazy_demo, page):
    labels, headers = TABS[page]
    first = run_page(ROOT / "pages" / f"{page}.py")
    assert not page_errors(first), page_errors(first)
    drawn = [h for h in headers if h and h in _headers(first)]
    assert drawn == [h for h in headers[:1] if h], (page, _headers(first))
    for label, header in list(zip(labels, headers))[1:]:
        at = run_page(ROOT / "pages" / f"{page}.py", {"tab": label})
        assert not page_errors(at), page_errors(at)
        shown = _headers(at)
        assert header in shown, (page, label, shown)
        assert not any(h in shown for h in headers if h and h != header), (page, label, shown)
        assert at.query_params.get("tab") in (label, [label])


def test_a_data_table_is_drawn_when_its_section_is_opened(lazy_demo):
    at = run_page(ROOT / "pages" / "trends.py")
    assert not page_errors(at)
    assert len(at.get("plotly_chart")) == 1 and len(at.table) == 0  # the table waits behind its heading
    assert at.selectbox(key="measure").value == "timeliness_20wk_ex"
    at.session_state["section_table_trend_timeliness_20wk_ex"] = True  # ui.section's key for the chart's table
    at.run()
    assert len(at.table) == 1


def test_open_sections_draws_every_tab_and_table(lazy_demo, monkeypatch):
    monkeypatch.setenv("SEND_OPEN_SECTIONS", "1")  # read on every run: no cache to clear
    at = run_page(ROOT / "pages" / "needs.py")
    assert not page_errors(at)
    assert set(TABS["needs"][1]) <= set(_headers(at))
    assert len(at.table) >= 3
