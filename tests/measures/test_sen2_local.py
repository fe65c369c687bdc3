"""A council's own SEN2 person-level return (issue 22): the published measures computed locally
(ceased plans by reason, annual reviews, assessments not leading to a plan) for the council and its
localities, the reconciliation with DfE's release, and a crawl that no name, date of birth, UPN,
ULN or postcode reaches the store, a page, a download or the board pack.

The DfE figures typed below are Cumberland's in DfE "Education, health and care plans", reporting
year 2025 (released 26 June 2025): ceased_plans.csv (calendar 2023, All ceased EHC plans),
requests.csv (calendar 2023) and timeliness_20_week.csv (calendar 2024)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, run_cli
from send_metrics.ingest import sen2_blade as sb
from send_metrics.tools.sen2_blade_demo import write_export
from send_metrics.tools.sen2_blade_world import RETURNS

GEO = (ROOT / ".." / "shared" / "data" / "geo").resolve()
if not (GEO / "cumbria_lsoa21_lookup.csv").exists():
    GEO = Path("/work/shared/data/geo")
pytestmark = pytest.mark.skipif(not (GEO / "cumbria_lsoa21_lookup.csv").exists(), reason="shared geography absent")

LOCALITIES = ["LOC-ALLERDALE", "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM"]
GEO_HEAD = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
            "new_la_code,old_la_code,la_name,breakdown_topic,breakdown")
CUMBERLAND = "Local authority,E92000001,England,E12000002,North West,E06000063,942,Cumberland"
# Typed from the release (see the module docstring).
PUBLISHED = {
    "ceased_plans.csv": (GEO_HEAD + ",max_age,needs_met,he,employ,transfer,no_engage,moved_outside_eng,deceased,"
                         "not_rec,other,total_ceased",
                         f"2023,Calendar year,{CUMBERLAND},All ceased EHC plans,All ceased EHC plans,"
                         "0,5,10,38,40,163,3,1,0,0,260"),
    "requests.csv": (GEO_HEAD + ",requests_received_in_year,requests_rya,requests_decided_to_assess,"
                     "requests_decided_not_to_assess,requests_decision_not_made,requests_withdrawn,request_assess_pc,"
                     "request_not_assess_pc,request_outstanding_pc,request_withdrawn_pc,request_outcome_six_weeks,"
                     "request_outcome_over_6_weeks,request_outcome_six_weeks_pc,request_outcome_over_6_weeks_pc,"
                     "mediation_related_request,tribunal_related_request,tribunal_after_mediation_request",
                     f"2023,Calendar year,{CUMBERLAND},All requests for EHC needs assessments,All requests for EHC "
                     "needs assessments,551,0,400,129,22,0,72.6,23.4,4,0,535,7,98.7,1.3,17,4,1"),
    "timeliness_20_week.csv": (GEO_HEAD + ",plans_issued_den,plans_issued_den_ex,plans_issued_within_20_weeks,"
                               "plans_issued_20_weeks_ex,pc_plans_issued_within_20_weeks,PC_plans_issued_20_weeks_ex",
                               f"2024,Calendar year,{CUMBERLAND},All EHC plans issued,All EHC plans issued,"
                               "378,373,159,159,42.1,42.6"),
}


def _sentinel_names(folder: Path) -> dict[str, set[str]]:
    """Give every child a surname and forename no page could show by chance (the same child the same
    names in every return); return every identifying value of the person modules."""
    secrets_: dict[str, set[str]] = {"name": set(), "upn": set(), "uln": set(), "postcode": set(), "birth": set()}
    for path in sorted(folder.glob("Blade-Export_*_person.csv")):
        with open(path, newline="") as fh:
            rd = csv.DictReader(fh)
            header, rows = rd.fieldnames, list(rd)
        for r in rows:
            tag = r["upn"][-6:]
            r["surname"], r["forename"] = f"Qzsurname{tag}", f"Qzforename{tag}"
            secrets_["name"] |= {r["surname"], r["forename"]}
            secrets_["upn"].add(r["upn"])
            if r["uniquelearnernumber"]:
                secrets_["uln"].add(r["uniquelearnernumber"])
            secrets_["postcode"] |= {r["postcode"], r["postcode"].replace(" ", "")}
            birth = sb.parse_blade_date(r["personbirthdate"])
            secrets_["birth"] |= {r["personbirthdate"][:11], birth.isoformat(), birth.strftime("%d/%m/%Y")}
        with open(path, "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=header)
            wr.writeheader()
            wr.writerows(rows)
    return secrets_


@pytest.fixture(scope="module")
def local_store(tmp_path_factory):
    """The synthetic export (sentinel names) and a few typed DfE figures, loaded into a private store."""
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    root = tmp_path_factory.mktemp("sen2_local")
    saved = {k: os.environ.get(k) for k in ("SEND_PSEUDONYM_KEY_FILE", "SEND_GEO_DIR")}
    os.environ["SEND_PSEUDONYM_KEY_FILE"] = str(root / "pseudonym.key")
    os.environ["SEND_GEO_DIR"] = str(GEO)
    export = root / "data" / "sen2"
    write_export(export)
    secrets_ = _sentinel_names(export)
    dfe = root / "data" / "dfe"
    dfe.mkdir()
    for name, (head, row) in PUBLISHED.items():
        (dfe / name).write_text(head + "\n" + row + "\n")
    config = replace(load_config(root / "data"), store_dir=root / "store", geo_dir=GEO)
    result = load(config)
    assert result.load_id, result.notes
    yield config, export, secrets_
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _measures(config, areas: list[str], measures: list[str]) -> dict[tuple, dict]:
    env = {"SEND_DATA_DIR": str(config.data_dir), "SEND_STORE_DIR": str(config.store_dir), "SEND_GEO_DIR": str(GEO)}
    args = ["measures", "--format", "json"] + sum((["--area", a] for a in areas), []) + \
        sum((["--measure", m] for m in measures), [])
    r = run_cli(*args, env=env)
    assert r.returncode == 0, r.stderr
    return {(x["measure_id"], x["area_code"], int(x["period"])): x for x in json.loads(r.stdout)}


# -- the local measures, counted by hand from the export's CSV files ------------------------------
def _read(export: Path, tag: str, module: str) -> list[dict]:
    with open(export / f"Blade-Export_{tag}_{module}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _hand_count(export: Path, census: dt.date, exported: dt.date) -> Counter:
    """DfE's definitions (docs/sen2-person-level.md section 4), counted from the files directly."""
    tag = exported.strftime("%d-%m-%Y")
    d = sb.parse_blade_date
    year = census.year - 1
    year_before = census.replace(year=census.year - 1)
    assess = {a["assessmenttableid"]: a for a in _read(export, tag, "assessment")}
    active = {a["requeststableid"]: a for a in _read(export, tag, "activeplans")}
    c = Counter()
    for n in _read(export, tag, "namedplan"):
        start, cease = d(n["startdate"]), d(n["ceasedate"])
        if cease and cease.year == year:
            c["ceased"] += 1
            c["ceased:" + sb.CEASE_REASON_CODES[n["ceasereason"]]] += 1
        if start.year == year:
            c["assessments"] += 1
        if start <= census and not (cease and cease <= census) and start <= year_before:
            ap = active[assess[n["assessmenttableid"]]["requeststableid"]]
            meeting = d(ap.get("reviewmeeting") or ap.get("lastreview"))
            c["reviews_due"] += 1
            c["reviews_held"] += bool(meeting and meeting.year == year)
            c["reviews_on_time"] += bool(meeting and year_before < meeting <= census)
    for a in assess.values():
        when = d(a["assessmentoutcomedate"])
        if a["assessmentoutcome"] in ("N", "A") and when and when.year == year:
            c["assessments"] += 1
            c["assessments_not_issued"] += a["assessmentoutcome"] == "N"
    return c


def test_ceased_reviews_and_assessments_match_a_hand_count(local_store):
    config, export, _ = local_store
    got = _measures(config, ["E06000063", *LOCALITIES],
                    ["ceased_plans", "ceased_no_engagement_pct", "reviews_held_pct", "reviews_on_time_pct",
                     "assessments_not_issued_pct"])
    # 2023 ceased plans: the council's figure is DfE's (loaded beside the export) and the export's
    # localities sum to it, reason by reason (the synthetic export is calibrated to it).
    assert got[("ceased_plans", "E06000063", 2023)]["value"] == 260
    assert got[("ceased_no_engagement_pct", "E06000063", 2023)]["numerator"] == 163
    for census_year, census, exported, _v in RETURNS:
        hand = _hand_count(export, census, exported)
        y = census_year - 1
        if y == 2025:  # no DfE figure loaded for 2025: the council's figure is built from the export
            t = got[("reviews_held_pct", "E06000063", y)]
            assert (t["numerator"], t["denominator"]) == (hand["reviews_held"], hand["reviews_due"])
            t = got[("reviews_on_time_pct", "E06000063", y)]
            assert (t["numerator"], t["denominator"]) == (hand["reviews_on_time"], hand["reviews_due"])
            t = got[("assessments_not_issued_pct", "E06000063", y)]
            assert (t["numerator"], t["denominator"]) == (hand["assessments_not_issued"], hand["assessments"])
        if y != 2023:  # DfE's 260 stands for 2023 (above)
            assert got[("ceased_plans", "E06000063", y)]["value"] == hand["ceased"]
        # The localities sum to the hand count (numerators wherever none of them is suppressed).
        for measure, num, den in (("reviews_held_pct", "reviews_held", "reviews_due"),
                                  ("reviews_on_time_pct", "reviews_on_time", "reviews_due"),
                                  ("assessments_not_issued_pct", "assessments_not_issued", "assessments")):
            parts = [got[(measure, loc, y)] for loc in LOCALITIES]
            assert sum(p["denominator"] for p in parts) == hand[den], (measure, y)
            if not any(p["suppressed"] for p in parts):
                assert sum(p["numerator"] for p in parts) == hand[num], (measure, y)


def test_small_local_counts_are_suppressed(local_store):
    config, _export, _ = local_store
    got = _measures(config, LOCALITIES, ["ceased_plans", "assessments_not_issued_pct"])
    small = [x for x in got.values() if x["numerator"] is not None and 1 <= x["numerator"] <= 4]
    assert not small
    assert any(x["suppressed"] for x in got.values())


# -- reconciliation ---------------------------------------------------------------------------------
def test_local_figures_beside_dfe_with_the_difference_explained(local_store):
    from send_metrics.db import Database
    from send_metrics.measures.reconcile import local_vs_published
    config, export, _ = local_store
    db = Database(config)
    try:
        t = local_vs_published(db)
    finally:
        db.close()
    assert set(t["area_code"]) == {"E06000063"}
    row = {(r.figure, r.period): r for r in t.itertuples(index=False)}
    # Calibrated figures agree exactly.
    r = row[("ceased_plans", 2023)]
    assert (r.local, r.published, r.difference, r.explanation) == (260, 260, 0, "Same figure.")
    assert row[("ceased_plans:no_engagement", 2023)].local == 163 == row[("ceased_plans:no_engagement", 2023)].published
    for fig, value in (("plans_issued_20wk_ex", 159), ("plans_issued_ex", 373), ("plans_issued_inc", 378)):
        assert (row[(fig, 2024)].local, row[(fig, 2024)].published) == (value, value)
    # Requests and refusals are calibrated to DfE's requests.csv too.
    r = row[("requests", 2023)]
    assert (r.local, r.published, r.status) == (551, 551, "same")
    assert (row[("requests_refused", 2023)].local, row[("requests_refused", 2023)].published) == (129, 129)
    # Decisions are counted by two definitions: locally the requests of the year with a decision to assess or
    # not (400 + 129 = 529, counted by hand below); DfE's decisions within plus over 6 weeks (535 + 7 = 542).
    # The difference is given, with the definitions behind it.
    hand = sum(1 for r in _read(export, "15-03-2024", "requests")
               if sb.parse_blade_date(r["receiveddate"]).year == 2023 and r["requestoutcome"] in ("B", "C")
               and sb.parse_blade_date(r["requestoutcomedate"]) <= RETURNS[0][1])
    r = row[("decisions", 2023)]
    assert r.published == 542 and r.local == hand == 529 and r.difference == 529 - 542
    assert "decision whether to assess" in r.explanation and "within plus over" in r.explanation
    # Counts of 1-4 are blank on both sides (deceased: 1 in 2023), never compared.
    r = row[("ceased_plans:deceased", 2023)]
    assert r.local is None or r.local != r.local
    assert r.published is None or r.published != r.published
    assert "not shown" in r.explanation
    # A figure DfE does not publish says so.
    assert "does not publish" in row[("reviews_on_time", 2025)].explanation
    # Nothing loaded from DfE for 2025: "not in the DfE release loaded", never "suppressed".
    assert row[("ceased_plans", 2025)].explanation.startswith("Not in the DfE release loaded")
    assert [row[k].status for k in (("ceased_plans", 2023), ("decisions", 2023), ("ceased_plans:deceased", 2023),
                                    ("reviews_on_time", 2025), ("ceased_plans", 2025))] == \
        ["same", "differ", "suppressed", "not published", "not loaded"]


def test_reconcile_command_prints_the_comparison(local_store):
    config, _export, _ = local_store
    env = {"SEND_DATA_DIR": str(config.data_dir), "SEND_STORE_DIR": str(config.store_dir), "SEND_GEO_DIR": str(GEO)}
    r = run_cli("reconcile", "--local", env=env)
    assert r.returncode == 0, r.stderr
    assert "Cumberland 2023 EHC plans ceased: local 260, DfE 260. Same figure." in r.stdout
    r = run_cli("reconcile", "--local", "--format", "csv", "--all", env=env)
    assert r.returncode == 0 and r.stdout.startswith("dataset,figure,figure_title,area_code")


# -- the crawl: nothing personal anywhere -------------------------------------------------------------
def _needles(secrets_: dict[str, set[str]]) -> dict[str, str]:
    """value -> kind. ISO dates that are also dates of the reference data or census dates are left
    out (a page may show them for other reasons); every other date of birth is searched."""
    from send_metrics.ingest.store import REFERENCE_DIR
    ref = (REFERENCE_DIR / "areas.csv").read_text() + " ".join(c.isoformat() for _y, c, _e, _v in RETURNS)
    out = {}
    for kind, values in secrets_.items():
        for v in values:
            if v and not (kind == "birth" and v in ref):
                out[v] = kind
    return out


# Every shape a searched value can take (the synthetic export's: sentinel names, Z + 12 digits UPNs,
# 10-digit ULNs, postcodes with or without their space, dates in three forms). The text's candidates
# of each shape are looked up in the set of values: linear in the text, whatever the number of values.
SHAPES = [re.compile(p) for p in (r"Qz(?:sur|fore)name\d{6}", r"Z\d{12}", r"[A-Z]{1,2}\d{1,2}[A-Z]? ?\d[A-Z]{2}",
                                   r"\d{4}-[A-Za-z]{3}-\d{2}", r"\d{4}-\d{2}-\d{2}", r"\d{2}/\d{2}/\d{4}")]


def _candidates(text: str) -> set[str]:
    found = set()
    for shape in SHAPES:
        found.update(shape.findall(text))
    for run in re.findall(r"\d{10,}", text):  # a ULN anywhere inside a longer run of digits
        found.update(run[i:i + 10] for i in range(len(run) - 9))
    return found


def _hits(text: str, needles: dict[str, str]) -> list[str]:
    return sorted(f"{needles[v]}:{v}" for v in _candidates(text) & needles.keys())[:5]


def test_the_search_finds_each_kind_of_value():
    needles = {"Qzsurname000123": "name", "Z942000000123": "upn", "9900000123": "uln", "CA12 3AB": "postcode",
               "CA123AB": "postcode", "2010-Mar-05": "birth", "2010-03-05": "birth", "05/03/2010": "birth"}
    for v, kind in needles.items():
        assert _hits(f"x {v} y", needles) == [f"{kind}:{v}"], v
        assert _hits(f"x{v}y", needles) or kind in ("postcode",), v
    assert _hits("12345990000012367", needles) == ["uln:9900000123"]
    assert not _hits("CA12 3AC Z942000000124 2010-03-06", needles)


def test_nothing_personal_in_any_store_table(local_store):
    config, _export, secrets_ = local_store
    needles = _needles(secrets_)
    files = sorted(config.store_dir.rglob("*.parquet"))
    assert any("ehcp_pathway" in f.name for f in files) and any("ehcp_ceased" in f.name for f in files)
    con = duckdb.connect()
    for f in files:
        rows = con.execute(f"SELECT * FROM read_parquet('{f}')").fetchall()
        text = "\n".join(str(v) for row in rows for v in row)
        assert not _hits(text, needles), (f.name, _hits(text, needles))
        cols = {c.lower() for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}')").df()["column_name"]}
        assert not cols & set(sb.PERSONAL_COLUMNS), f.name
    for f in config.store_dir.rglob("*.json"):
        assert not _hits(f.read_text(), needles), f.name


@pytest.fixture(scope="module")
def captured_downloads():
    """Every file a page offers for download (st.download_button), as AppTest stores it."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    seen: list[tuple[str, bytes]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        data = path_or_data if isinstance(path_or_data, bytes) else (
            path_or_data.encode() if isinstance(path_or_data, str) and kind.name != "MEDIA" else b"")
        seen.append((filename or "", data))
        return original(self, path_or_data, mimetype, kind, filename)
    MemoryMediaFileStorage.load_and_get_id = load_and_get_id
    yield seen
    MemoryMediaFileStorage.load_and_get_id = original


def _page_params():
    from test_disclosure_e2e import page_params
    return page_params()


@pytest.mark.parametrize("page", _page_params())
def test_nothing_personal_on_any_page_or_download(page, local_store, captured_downloads):
    from test_disclosure_e2e import AppEnv, Snapshot, crawl, page_errors, run_page, walk
    config, _export, secrets_ = local_store
    needles = _needles(secrets_)
    captured_downloads.clear()
    areas = ["E06000063", *LOCALITIES]
    with AppEnv(config.data_dir, config.store_dir, SEND_AUTH="off", SEND_GEO_DIR=str(GEO)):
        snaps = crawl(page, areas, area_options=areas, max_runs=10, per_widget=3)
        at = run_page(page)
        # The data explorer's analyst views: the person-level datasets themselves, and data quality.
        texts = []
        if "explorer" in str(page):
            for el in walk(at._tree):
                if getattr(el, "type", "") == "radio" and el.key == "view":
                    at.radio(key="view").set_value("quality").run()
                    texts.append(Snapshot(at, {}).all_text())
            assert not page_errors(at), page_errors(at)
    for s in snaps:
        assert not s.exceptions, s.exceptions
        assert not _hits(s.all_text(), needles), (page, s.context, _hits(s.all_text(), needles))
    for text in texts:
        assert not _hits(text, needles), _hits(text, needles)
    for name, data in captured_downloads:
        text = data.decode("utf-8", "replace")
        assert not _hits(text, needles), (name, _hits(text, needles))
    if "pathway" in str(page):
        assert any(n.startswith("pathway_") for n, _ in captured_downloads)
        assert any(n == "sen2_local_vs_dfe.csv" for n, _ in captured_downloads)


def test_nothing_personal_in_the_board_pack(local_store):
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    from send_metrics.present.report.board import board_pack_html
    config, _export, secrets_ = local_store
    needles = _needles(secrets_)
    db = Database(config)
    try:
        engine = Engine(db)
        for area in ("E06000063", "LOC-MILLOM"):
            html = board_pack_html(engine, area)
            assert "Cumberland" in html or "Millom" in html
            # The pack embeds plotly.js, whose own source holds calendar dates: search everything else.
            html = re.sub(r"<script[^>]*>(.*?)</script>",
                          lambda m: m.group(0) if "Plotly.newPlot" in m.group(1) else "", html, flags=re.S)
            assert not _hits(html, needles), (area, _hits(html, needles))
            assert not re.search(r"Qz(sur|fore)name", html)
    finally:
        db.close()


# -- the Pathway page in a real browser: axe at 1280 and 390 px, screenshots ----------------------------
@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_pathway_page_in_the_browser(local_store, width):
    """Curves, tables beside them, downloads and the comparison with DfE, with no exception and no
    serious or critical axe violation; docs/screenshots/pathway.png and pathway-390.png."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is absent")
    sync_api = pytest.importorskip("playwright.sync_api")
    axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
    from test_browser import AXE_OPTIONS, NAV, SHOTS, exceptions, full_screenshot, open_page, start_server, stop_server
    config, _export, secrets_ = local_store
    before = {k: os.environ.get(k) for k in ("SEND_AUTH", "SEND_GEO_DIR")}
    os.environ.update(SEND_AUTH="off", SEND_GEO_DIR=str(GEO))
    try:
        proc, base, _log = start_server(config.store_dir, config.data_dir)
    finally:
        for k, v in before.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-dev-shm-usage"])
            try:
                context = browser.new_context(viewport={"width": width, "height": 900 if width > 400 else 844})
                pg = context.new_page()
                seconds = open_page(pg, f"{base}/pathway")
                assert not exceptions(pg), exceptions(pg)
                text = pg.inner_text("[data-testid='stMain']")
                for heading in ("Decision whether to assess", "Open cases on the latest census date",
                                "Your return beside DfE's published figures"):
                    assert heading.lower() in text.lower(), heading
                assert pg.locator("[data-testid='stPlotlyChart']").count() >= 4
                assert pg.locator("[data-testid='stDataFrame']").count() >= 5
                assert pg.locator("[data-testid='stDownloadButton']").count() >= 8
                assert not _hits(text, _needles(secrets_))
                results = axe_sync.Axe().run(pg, context={"exclude": [[NAV]]}, options=AXE_OPTIONS)
                bad = [v for v in results.response.get("violations", []) if v.get("impact") in ("serious", "critical")]
                SHOTS.mkdir(parents=True, exist_ok=True)
                if width > 400:  # the About page reads the axe summary of every page
                    summary_path = SHOTS / "axe-summary.json"
                    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"pages": {}}
                    summary.setdefault("pages", {})["pathway"] = {
                        "seconds_to_render": round(seconds, 2), "exceptions": 0, "navigation": True, "page_not_found_modal": False,
                        "serious_critical": sum(len(v["nodes"]) for v in bad),
                        "other": sum(len(v["nodes"]) for v in results.response.get("violations", []) if v not in bad),
                        "rules": sorted({f"{v['id']} ({v.get('impact')})"
                                         for v in results.response.get("violations", [])}),
                        "data": "the synthetic SEN2 export with typed DfE figures (tests/measures/test_sen2_local.py)"}
                    summary_path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
                full_screenshot(pg, SHOTS / ("pathway.png" if width > 400 else "pathway-390.png"))
                assert not bad, "; ".join(f"{v['id']} ({v['impact']}): {v['help']} {v['nodes'][0]['target']}"
                                          for v in bad)
            finally:
                browser.close()
    finally:
        stop_server(proc)
