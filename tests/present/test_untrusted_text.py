"""Untrusted text is shown as text, everywhere (issue 18, points 2 and 3).

An areas file (contract dataset ``areas``) names areas with a CSS breakout, Markdown images and
links, HTML tags, script and Streamlit directives; the names reach the board pack (HTML, CSS footer,
plotly labels) and every page (Markdown, captions, metric labels, plotly titles and hover text).
No element, link, image, style or script may come from data: the pack is parsed with html.parser
and every page run with AppTest, whose Markdown bodies are checked for unescaped syntax.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, write

EVIL = "evil.example"
HOSTILE = {
    "LOC-H-CSS": "</style><img src=x onerror=alert(1)>",
    "LOC-H-CSSSTR": '"; } body { background: url(http://evil.example/css.png) } @page { x: "',
    "LOC-H-IMG": "![x](http://evil.example/x.png)",
    "LOC-H-LINK": "[Cumberland - sign in again](http://evil.example/login)",
    "LOC-H-A": '<a href="http://evil.example/a">Carlisle</a>',
    "LOC-H-SCRIPT": "<script>alert(2)</script>",
    "LOC-H-DIRECTIVE": ":red[Alert] :material/warning: **bold** $x^2$ http://evil.example/auto",
    "LOC-H-SPAN": '<span style="color:red">Eden</span> <b>x</b>',
}
HOSTILE_NOTE = "![note](http://evil.example/note.png) [note link](http://evil.example/n)"


def hostile_data(folder: Path) -> None:
    """Hostile area names (with caseload rows, so selectors offer them) beside the small-counts data."""
    from test_disclosure_e2e import write_small_counts
    write_small_counts(folder)
    rows = ["area_code,area_name,area_level,coverage_note"]
    for code, name in HOSTILE.items():
        rows.append(f'{code},"{name.replace(chr(34), chr(34) * 2)}",locality,"{HOSTILE_NOTE}"')
    write(folder / "hostile_areas.csv", "\n".join(rows) + "\n")
    rows = ["time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans"]
    for code in HOSTILE:
        for year in (2023, 2024, 2025):
            rows.append(f"{year},January,{code},locality,ASD,5to10,mainstream,{20 + year % 7}")
            rows.append(f"{year},January,{code},locality,SLCN,5to10,mainstream,{11 + year % 5}")
    write(folder / "hostile_caseload.csv", "\n".join(rows) + "\n")
    # A file whose name is Markdown and HTML, with hostile cells that are quarantined.
    write(folder / "[x](http%3A%2F%2Fevil.example) <img src=x>.csv",
          "foo,bar\n![q](http://evil.example/q.png),<script>alert(3)</script>\n")


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    root = tmp_path_factory.mktemp("untrusted")
    config = replace(load_config(root / "data"), store_dir=root / "store")
    hostile_data(config.data_dir)
    result = load(config)
    assert result.load_id, result.notes
    reports = {r.path: r for r in result.reports}
    assert reports["hostile_areas.csv"].ok and reports["hostile_caseload.csv"].ok
    return config


@pytest.fixture(scope="module")
def hostile_engine(hostile_store):
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    db = Database(hostile_store)
    yield Engine(db)
    db.close()


# -- the board pack: parsed HTML ---------------------------------------------------------------
class _Tags(HTMLParser):
    """Every start tag with its attributes, every <style> body and every text node."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _plotly_specs(text: str) -> list[dict]:
    """The figure JSON of every plotly chart in the pack (Plotly.newPlot(id, data, layout, config))."""
    out = []
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{"displayModeBar"', text, re.S):
        out.append({"data": json.loads(m.group(1)), "layout": json.loads(m.group(2))})
    return out


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@pytest.mark.parametrize("code", sorted(HOSTILE))
def test_board_pack_carries_no_markup_from_data(hostile_engine, code):
    from send_metrics.present.report.board import board_pack_html
    text = board_pack_html(hostile_engine, code)
    parser = _Tags()
    parser.feed(text)
    parser.close()
    tags = parser.tags
    # Only the pack's own elements: exactly one style and one script (plotly.js), no img, no link out.
    assert [t for t, _ in tags].count("style") == 1
    assert not [t for t, _ in tags if t in ("img", "a") and EVIL in json.dumps(_)]
    assert not [(t, a) for t, a in tags if t in ("img", "iframe", "object", "embed", "span") and "style" in a
                and "color:red" in a["style"]]
    for t, attrs in tags:
        for k, v in attrs.items():
            assert not k.startswith("on"), (t, k, v)
            assert EVIL not in (v or ""), (t, k, v)
    assert not [t for t, _ in tags if t == "img"]
    # The CSS has no rule, url() or end of string from data: the footer string holds only escapes.
    css = "".join(parser.styles)
    footer = re.search(r'@bottom-left \{ content: "((?:[^"\\]|\\.)*)";', css)
    assert footer, css[:400]
    assert "url(" not in footer.group(1) and "<" not in footer.group(1) and "}" not in footer.group(1)
    assert "url(" not in css.replace("url(#", "")  # the pack's CSS itself uses no url()
    # Plotly text: no tag but plain formatting (plotly would draw <a href> as a link, <span style> styled).
    for spec in _plotly_specs(text):
        for s in _strings(spec):
            for tag in re.findall(r"<\s*([a-zA-Z]+)", s):
                assert tag.lower() in ("br", "b", "i", "em", "sub", "sup", "extra"), s
    # The name is shown, as text.
    assert HOSTILE[code] in _visible_text(text)


def _visible_text(text: str) -> str:
    class _T(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)
    p = _T()
    p.feed(text)
    return " ".join(p.parts)


def test_css_string_escape_cannot_close_the_string_rule_or_element():
    from send_metrics.present.safe_text import for_css_string
    for name in [*HOSTILE.values(), "a\\\"b", "x\n}y", "\u2028", "é ü 中文"]:
        out = for_css_string(name)
        assert not re.search(r'["<>{};\n\r]', out.replace("\\", "")), out
        # every backslash starts a 6-digit escape (so no escape can swallow the closing quote)
        assert re.fullmatch(r"(?:[^\\]|\\[0-9A-F]{6})*", out), out


# -- every page: Markdown bodies, labels and plotly text ---------------------------------------------
# What a Markdown renderer (or plotly) would turn into an element, link, image, style or directive.
MARKUP = [re.compile(p, re.I) for p in (
    r"(?<!\\)\]\(", r"(?<!\\)<\s*img", r"(?<!\\)<\s*a\s", r"(?<!\\)<\s*script", r"(?<!\\)<\s*span",
    r"(?<!\\):red\[", r"(?<!\\):material/warning(?<!\\):", r"http:(?<!\\)//evil", r"(?<!\\)\*\*bold")]


def _markdown_texts(at) -> list[tuple[str, str]]:
    """(where, text) of everything Streamlit renders as Markdown: element bodies and labels."""
    from test_disclosure_e2e import walk
    out = []
    for el in walk(at._tree):
        t = getattr(el, "type", "")
        proto = getattr(el, "proto", None)
        if proto is None:
            continue
        if t == "plotly_chart":
            continue
        for attr in ("body", "label", "help", "caption", "placeholder"):
            v = getattr(proto, attr, None)
            if isinstance(v, str) and v:
                out.append((f"{t}.{attr}", v))
    return out


def _plotly_texts(at) -> list[str]:
    from test_disclosure_e2e import walk
    out = []
    for el in walk(at._tree):
        if getattr(el, "type", "") == "plotly_chart":
            out += list(_strings(json.loads(el.proto.spec)))
    return out


# What a renderer finds in the text once escapes are resolved (remark-gfm autolinks, Streamlit's
# shortcodes): found by the real-browser crawl, which saw an escaped URL become a live link.
RESOLVED = [re.compile(p, re.I) for p in (r"https?://evil", r"www\.evil", r":material/warning:", r"\w@evil")]


def _markup_from_data(at) -> list[str]:
    bad = [f"{where}: {text[:200]}" for where, text in _markdown_texts(at) if any(p.search(text) for p in MARKUP)
           or any(p.search(text.replace("\\", "")) for p in RESOLVED)]
    for s in _plotly_texts(at):
        for tag in re.findall(r"<\s*([a-zA-Z]+)", s):
            if tag.lower() not in ("br", "b", "i", "em", "sub", "sup", "extra"):
                bad.append(f"plotly: {s[:200]}")
    return bad


@pytest.fixture(scope="module")
def hostile_app(hostile_store):
    from test_disclosure_e2e import AppEnv
    with AppEnv(hostile_store.data_dir, hostile_store.store_dir, SEND_AUTH="off"):
        yield hostile_store


def _page_params():
    from test_disclosure_e2e import page_params
    return page_params()


@pytest.mark.parametrize("page", _page_params())
def test_no_markup_from_data_on_any_page(page, hostile_app):
    from test_disclosure_e2e import page_errors, raw_values, run_page, walk
    at = run_page(page)
    assert not page_errors(at), page_errors(at)
    bad = _markup_from_data(at)
    # Choose the hostile areas wherever a selector offers them (one at a time in single selectors).
    targets = []
    for el in walk(at._tree):
        if getattr(el, "type", "") in ("selectbox", "multiselect") and getattr(el, "key", None):
            vals = [v for v in raw_values(el, list(HOSTILE)) if v in HOSTILE]
            if vals:
                targets.append((el.key, el.type, vals))
    if any(name in str(page) for name in ("needs", "benchmarks", "explorer")):
        assert targets, "the hostile areas should be offered on this page"
    for key, kind, values in targets:
        for chosen in ([values] if kind == "multiselect" else values):
            if kind == "multiselect":
                at.multiselect(key=key).set_value(chosen).run()
            else:
                at.selectbox(key=key).set_value(chosen).run()
            assert not page_errors(at), (key, page_errors(at))
            bad += _markup_from_data(at)
    if "explorer" in str(page):  # the data-quality view lists file names and quarantined values
        at.radio(key="view").set_value("quality").run()
        assert not page_errors(at), page_errors(at)
        bad += _markup_from_data(at)
    assert not bad, sorted(set(bad))[:20]


# -- a real browser: no request to, link to or image from the hostile host -------------------------
@pytest.fixture(scope="module")
def hostile_server(hostile_store):
    import os
    from pathlib import Path as _P
    if not _P("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is absent")
    pytest.importorskip("playwright.sync_api")
    from test_browser import start_server, stop_server
    # Sign-in off, so the analyst pages are crawled too (start_server copies the environment).
    before = os.environ.get("SEND_AUTH")
    os.environ["SEND_AUTH"] = "off"
    try:
        proc, base, _log = start_server(hostile_store.store_dir, hostile_store.data_dir, open_sections=True)
    finally:
        if before is None:
            os.environ.pop("SEND_AUTH", None)
        else:
            os.environ["SEND_AUTH"] = before
    yield base
    stop_server(proc)


@pytest.mark.browser
def test_no_page_fetches_links_or_runs_anything_from_data_in_a_real_browser(hostile_server):
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright

    from test_disclosure_e2e import existing_pages
    from test_hostile import _wait_idle
    requests, dialogs, found = [], [], []
    codes = list(HOSTILE)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url) if EVIL in r.url else None)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            for url_path, _file in existing_pages():
                if re.search(r'url_path="' + url_path + r'"\s*,\s*default\s*=\s*True', (ROOT / "app.py").read_text()):
                    url_path = ""
                for code in codes[:4]:
                    page.goto(f"{hostile_server}/{url_path}?" + urlencode([("area", code), ("locality", code),
                                                                             *(("areas", c) for c in codes)]))
                    _wait_idle(page)
                    page.wait_for_timeout(300)
                    assert page.locator("[data-testid='stException']").count() == 0, url_path
                    found += page.eval_on_selector_all(
                        f"a[href*='{EVIL}'], img[src*='{EVIL}'], [style*='color:red'], script:not([src])"
                        f"[data-x], span[style*='color: red']", "els => els.map(e => e.outerHTML.slice(0, 200))")
        finally:
            browser.close()
    assert not requests, requests[:10]
    assert not dialogs, dialogs
    assert not found, found[:10]
