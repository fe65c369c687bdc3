"""The board pack: self-contained, complete, and never showing a suppressed small number."""
from __future__ import annotations

import base64
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.offline
import pytest

from conftest import ROOT, run_cli

AREA = "E06000063"  # Cumberland
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screenshots" / "board-pack.png"


@pytest.fixture(scope="module")
def pack(demo_engine) -> str:
    from send_metrics.present.report.board import board_pack_html
    return board_pack_html(demo_engine, AREA)


@pytest.fixture(scope="module")
def unprotected(demo_engine):
    """The same measure table with disclosure control switched off (counts 1 to 0: nothing is small)."""
    from send_metrics.measures.engine import Engine
    eng = Engine(demo_engine.db, suppress_min=1, suppress_max=0)
    table = eng.full_table()
    assert not table["suppressed"].astype(bool).any()
    return table


class _Cells(HTMLParser):
    """Every element carrying data-cell (measure|area|period) and its text."""

    def __init__(self):
        super().__init__()
        self.cells: dict[str, list[str]] = {}
        self._stack: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-cell" in a:
            self._stack.append((tag, a["data-cell"], []))
        elif self._stack:
            self._stack.append((tag, "", []))

    def handle_endtag(self, tag):
        if not self._stack:
            return
        t, ident, text = self._stack.pop()
        if ident:
            self.cells.setdefault(ident, []).append("".join(text).strip())
        elif self._stack:
            self._stack[-1][2].extend(text)

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2].append(data)


def cells_of(doc: str) -> dict[str, list[str]]:
    p = _Cells()
    p.feed(doc)
    return p.cells


def without_plotlyjs(doc: str) -> str:
    js = plotly.offline.get_plotlyjs()
    assert doc.count(js) == 1, "plotly.js must be inlined exactly once"
    return doc.replace(js, "")


def figure_numbers(fragment: str) -> np.ndarray:
    """Every number in the data of every plotly figure in an HTML fragment (typed arrays decoded)."""
    dec = json.JSONDecoder()
    out: list[float] = []

    def walk(obj):
        if isinstance(obj, dict):
            if "bdata" in obj and "dtype" in obj:
                out.extend(np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"])).astype(float))
                return
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)
        elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
            out.append(float(obj))

    for match in re.finditer(r"Plotly\.newPlot\(\s*", fragment):
        _, i = dec.raw_decode(fragment, match.end())  # the div id
        i = fragment.index(",", i) + 1
        while fragment[i].isspace():
            i += 1
        traces, _ = dec.raw_decode(fragment, i)
        walk(traces)
    return np.asarray(out, dtype=float)


def figures(doc: str) -> list[tuple[list[str], str]]:
    """(the measure|area series a chart draws, its HTML) for every chart."""
    return [(attr.split(), body) for attr, body in
            re.findall(r'<figure class="chart"[^>]*data-series="([^"]*)"[^>]*>(.*?)</figure>', doc, re.S)]


# -- content -------------------------------------------------------------------------------

def test_pack_is_self_contained(pack):
    assert pack.startswith("<!DOCTYPE html>")
    rest = without_plotlyjs(pack)
    assert "<script src" not in rest.lower()
    assert "<link" not in rest.lower()
    assert "<iframe" not in rest.lower()
    assert not re.search(r"<img[^>]+src=[\"']?https?:", rest, re.I)
    assert "@import" not in rest and "url(http" not in rest
    # Every src/href outside plotly.js is a local anchor.
    for attr in re.findall(r"\b(?:src|href)\s*=\s*[\"']([^\"']*)[\"']", rest):
        assert attr.startswith("#"), attr
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", rest)
    # Print to A4.
    assert "size: A4" in pack and "margin: 15mm" in pack


def test_pack_has_charts_tables_and_a_table_under_every_chart(pack):
    assert pack.count('class="plotly-graph-div"') >= 6
    assert pack.count("<table") >= 4
    figures = re.findall(r'<figure class="chart".*?</figure>', pack, re.S)
    assert len(figures) >= 6
    for f in figures:
        assert "plotly-graph-div" in f and "<table" in f, f[:200]


def test_pack_sections_and_notices(pack, demo_engine):
    assert demo_engine.db.load_info.get("demo")
    assert "Synthetic data" in pack
    for heading in ("What the board should know", "Headline measures", "statistical process control",
                    "North and South Cumbria", "Localities", "Needs and demand", "Definitions",
                    "Sources, data dates and editions", "Disclosure control"):
        assert heading in pack, heading
    assert "Cumberland" in pack
    manifest = demo_engine.db.query("SELECT source_file FROM manifest")
    for source in manifest["source_file"]:
        assert html.escape(source) in pack, source
    # Every measure with a value cell is defined.
    from send_metrics.catalogue import measures_by_id
    by_id = measures_by_id()
    shown = {c.split("|")[0] for c in cells_of(pack)}
    defs = pack[pack.index('id="definitions"'):]
    for mid in shown:
        assert mid in defs, mid
        assert by_id[mid].definition.split(" ")[0] in defs


def test_pack_leads_with_the_generated_key_messages(pack, demo_engine):
    from send_metrics.measures import summary
    messages = summary.key_messages(summary.tiles(demo_engine, AREA, None))
    assert 3 <= len(messages) <= 5
    block = pack[pack.index('id="summary"'):pack.index("</section>", pack.index('id="summary"'))]
    for m in messages:
        assert html.escape(m) in block, m
    assert 3 <= block.count("<li>") <= 5


def test_no_suppressed_number_appears(pack, demo_engine, unprotected):
    protected = demo_engine.full_table()
    ident = (protected["measure_id"].astype(str) + "|" + protected["area_code"].astype(str) + "|"
             + protected["period"].astype(str))
    suppressed = set(ident[protected["suppressed"].astype(bool)])
    cells = cells_of(pack)
    shown_suppressed = [c for c in cells if c in suppressed]
    assert shown_suppressed, "the demo pack should show some suppressed cells"
    for c in cells:
        for text in cells[c]:
            if c in suppressed:
                assert text == "suppressed", (c, text)
                assert not re.search(r"\d", text)
            else:
                assert text != "suppressed", c

    # No chart draws the unprotected value of a suppressed cell of a series it shows.
    raw_ident = (unprotected["measure_id"].astype(str) + "|" + unprotected["area_code"].astype(str) + "|"
                 + unprotected["period"].astype(str))
    raw = dict(zip(raw_ident, unprotected["value"]))
    published = dict(zip(ident[~protected["suppressed"].astype(bool)],
                         protected.loc[~protected["suppressed"].astype(bool), "value"]))
    checked = 0
    charts = figures(pack)
    assert len(charts) >= 6
    for series, body in charts:
        numbers = figure_numbers(body)
        assert len(numbers), "every chart has data"
        numbers = numbers[np.isfinite(numbers)]
        for s in series:
            hidden = [raw[c] for c in suppressed if c.startswith(s + "|") and c in raw]
            # A published cell of the series with the same value (79 of 99 in two months) is drawn
            # rightly: only a value the series publishes nowhere is evidence of a leak.
            shown = np.array([v for c, v in published.items() if c.startswith(s + "|")], dtype=float)
            for v in hidden:
                if v == v:
                    checked += 1
                    if np.isclose(shown, v, rtol=1e-12, atol=0).any():
                        continue
                    assert not np.isclose(numbers, v, rtol=1e-12, atol=0).any(), (s, v)
    assert checked > 0, "the check must see some suppressed values behind the charts"
    # Nor is any suppressed cell's unprotected value printed at full precision anywhere.
    rest = without_plotlyjs(pack)
    published_text = {repr(float(v)) for v in published.values() if v == v}
    for c in suppressed:
        v = raw.get(c)
        if v is not None and v == v and len(repr(float(v)).split(".")[-1]) >= 6:
            if repr(float(v)) in published_text:
                continue  # the same value published for another cell
            assert repr(float(v)) not in rest, c


def test_localities_are_compared_with_the_rest_of_cumbria_in_every_period(pack):
    # Since April 2023 Cumbria's total is the two councils' combined series, before it the former
    # county: the latest period must find it under its own name, not report it missing.
    text = re.sub(r"<[^>]+>", "|", without_plotlyjs(pack))
    start = text.index("Localities against the rest of Cumbria: latest period")
    section = text[start:text.index("Each point compares a locality", start)]
    assert "Cumbria suppressed" not in section and "Cumbria not loaded" not in section
    assert len(re.findall(r"Cumbria \d+\.\d%", section)) >= 3
    assert len(re.findall(r"[+-]\d+\.\d pp", section)) >= 10  # gaps, not "not compared"


def test_unknown_area_is_refused(demo_engine):
    from send_metrics.present.report.board import board_pack_html
    with pytest.raises(ValueError, match="unknown area"):
        board_pack_html(demo_engine, "NOT-AN-AREA")


# -- command line --------------------------------------------------------------------------

def test_cli_report_loads_when_needed_and_writes_the_pack(tmp_path):
    out = tmp_path / "board.html"
    r = run_cli("report", "--out", str(out), "--data-dir", str(ROOT / "data"),
                env={"SEND_STORE_DIR": str(tmp_path / "fresh_store")})
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Cumberland" in text
    assert text.count('class="plotly-graph-div"') >= 6


@pytest.mark.parametrize("extra, message", [(["--area", "NOPE"], "unknown area"),
                                            (["--period", "20x5"], "not a year")])
def test_cli_report_errors_are_clear(tmp_path, demo_store, extra, message):
    out = tmp_path / "board.html"
    r = run_cli("report", "--out", str(out), "--data-dir", str(ROOT / "data"), *extra,
                env={"SEND_STORE_DIR": str(demo_store)})
    assert r.returncode == 1
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


# -- in a browser --------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent")
def test_pack_opens_offline_and_prints_to_a4(pack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "board.html"
    path.write_text(pack, encoding="utf-8")
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            # One A4 page at 96 dpi: 210 x 297 mm = 794 x 1123 px.
            page = browser.new_page(viewport={"width": 794, "height": 1123}, device_scale_factor=1.5)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6",
                                   timeout=30000)
            assert page.locator(".js-plotly-plot").count() >= 6
            assert page.locator("table").count() >= 4
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))  # the first page as it prints
            pdf = tmp_path / "board.pdf"
            page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith("file:")] == []
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    sizes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert sizes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in sizes)
    assert len(sizes) >= 4
    assert SCREENSHOT.stat().st_size > 10_000


def test_key_messages_carry_the_tiles_caveats(demo_engine):
    """Issue 17 point 3: a key message says no more than its tile. On trial limits (fewer than 13
    points) no "real change, not noise"; annual measures are never "month-to-month noise"."""
    from send_metrics.measures import summary
    tiles = summary.tiles(demo_engine, AREA, None)
    assert tiles
    by_id = {t.measure.id: t for t in tiles}
    annual = next(t for t in tiles if not t.measure.monthly)
    monthly = next((t for t in tiles if t.measure.monthly), None)
    from dataclasses import replace
    trial = replace(annual, variation="special_cause_concern", spc_trial=True, sig_england="not_compared",
                    trend_verdict="no_significant_change", suppressed=False)
    msgs = summary.key_messages([trial])
    assert msgs and "trial limits" in msgs[0] and "real change" not in msgs[0]
    full = replace(trial, spc_trial=False)
    assert "real change, not noise" in summary.key_messages([full])[0]
    noise = replace(annual, variation="common_cause", spc_trial=False, sig_england="not_compared",
                    trend_verdict="no_significant_change")
    line = summary.key_messages([noise])[-1]
    assert "year-to-year noise" in line and "month-to-month" not in line
    if monthly is not None:
        line = summary.key_messages([replace(monthly, variation="common_cause", sig_england="not_compared",
                                             trend_verdict="no_significant_change")])[-1]
        assert "month-to-month noise" in line
    # On the demo itself every special-cause message on trial limits is caveated.
    for t in by_id.values():
        for msg in summary.key_messages([t]):
            if "real change" in msg:
                assert not t.spc_trial, msg


def test_pack_says_how_many_tests_it_shows(pack, demo_engine):
    """Issue 17 (multiple comparisons): the headline says how many tests it shows and what 1 in 20 means."""
    from send_metrics.measures import summary
    note = summary.multiple_comparisons_note(summary.tiles(demo_engine, AREA, None))
    assert "1 in 20" in note or note.startswith("No significance")
    assert html.escape(note) in pack
    # 4 tiles: 3 compared with England, 2 with neighbours (95%), 2 trends (99.8%), one suppressed
    # tile not counted: expected false alarms 0.05 x 5 + 0.002 x 2 = 0.254.
    from types import SimpleNamespace as T
    tiles = [T(suppressed=False, sig_england="worse", sig_neighbours="similar", trend_verdict="improving"),
             T(suppressed=False, sig_england="similar", sig_neighbours="not_compared", trend_verdict="not_tested"),
             T(suppressed=False, sig_england="better", sig_neighbours="worse", trend_verdict="no_significant_change"),
             T(suppressed=True, sig_england="worse", sig_neighbours="worse", trend_verdict="improving")]
    note = summary.multiple_comparisons_note(tiles)
    assert note.startswith("7 significance tests") and "5 comparisons" in note and "2 recent trends at 99.8%" in note
    assert "about 0.3 in all" in note


def test_methods_are_described_once_for_readme_definitions_and_pack(pack):
    """Issue 17: Definitions, README and board pack describe each method as it is computed: all three
    carry send_metrics.present.methods word for word (the README between its <!-- methods --> markers)."""
    import re
    from pathlib import Path
    from send_metrics.present.methods import METHODS, methods_markdown
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"<!-- methods -->\n(.*?)\n<!-- /methods -->", readme, re.S)
    assert block and block.group(1) == methods_markdown()
    for heading, text in METHODS:
        assert html.escape(text) in pack, heading
    src = (Path(__file__).resolve().parents[2] / "pages" / "definitions.py").read_text()
    assert "METHODS" in src
