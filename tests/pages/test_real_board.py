"""Issue 20 acceptance: with only the real published files in ../shared/data/real loaded (no demo),
the Board for Cumberland and for Westmorland and Furness shows at least 14 headline measures with
real values from at least three publishers (DfE, DfE LAIT / SEN in England, NHS England), and key
messages; nothing that is not loaded is called suppressed.

The whole folder is placed in a private data folder (hard links, else copies: the loader refuses
symbolic links out of the data folder) and loaded once for the module. Marked `real_data`; skipped
with a reason when the folder is absent."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
pytestmark = [pytest.mark.real_data,
              pytest.mark.skipif(not REAL.is_dir(), reason=f"real published data folder {REAL} is absent "
                                 "(see shared/data/real/SOURCES.md)")]

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

TIMEOUT = 300
COUNCILS = {"E06000063": "Cumberland", "E06000064": "Westmorland and Furness"}


def _place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    """Every file of ../shared/data/real, loaded (the demo is left out: other files are present)."""
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    root = tmp_path_factory.mktemp("real_all")
    data = root / "data"
    for src in REAL.rglob("*"):
        if src.is_file():
            _place(src, data / src.relative_to(REAL))
    store = root / "store"
    old = os.environ.get("SEND_STORE_DIR")
    os.environ["SEND_STORE_DIR"] = str(store)
    try:
        report = load(load_config(data))
    finally:
        if old is None:
            os.environ.pop("SEND_STORE_DIR", None)
        else:
            os.environ["SEND_STORE_DIR"] = old
    return data, store, report


@pytest.fixture
def real_env(real_store, monkeypatch):
    import streamlit as st
    data, store, _ = real_store
    monkeypatch.setenv("SEND_STORE_DIR", str(store))
    monkeypatch.setenv("SEND_DATA_DIR", str(data))
    monkeypatch.setenv("SEND_AUTH", "off")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield real_store
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def real_engine(real_store):
    from send_metrics.config import load_config
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    data, store, _ = real_store
    old = os.environ.get("SEND_STORE_DIR")
    os.environ["SEND_STORE_DIR"] = str(store)
    try:
        db = Database(load_config(data))
        db.refresh(force=True)
        yield Engine(db)
    finally:
        if old is None:
            os.environ.pop("SEND_STORE_DIR", None)
        else:
            os.environ["SEND_STORE_DIR"] = old


def plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", str(text)).replace("\u2060", "")


def publisher(t) -> str:
    """Who published a tile's figure: NHS England (an NHS dataset, the council's own or its sub-ICB /
    provider's), DfE LAIT (a LAIT value standing for the council's own), else DfE (the EHC plans
    release and its tribunal table; ONS population is a denominator, not a publisher of the figure)."""
    if t.measure.dataset in ("waiting_list", "waiting_activity", "mental_health"):
        return "NHS England"
    if "LAIT" in t.value_source:
        return "DfE LAIT"
    return "DfE"


def test_the_real_load_is_real(real_store):
    """The demo is not in this load (real and synthetic figures never mix)."""
    from send_metrics.config import load_config
    from send_metrics.db import Database
    data, store, report = real_store
    os.environ["SEND_STORE_DIR"] = str(store)
    try:
        db = Database(load_config(data))
        db.refresh(force=True)
        assert not (db.load_info or {}).get("demo")
    finally:
        os.environ.pop("SEND_STORE_DIR", None)


@pytest.mark.parametrize("area", list(COUNCILS))
def test_board_tiles_from_three_publishers(real_engine, area):
    from send_metrics.measures import summary
    tiles = summary.tiles(real_engine, area, None)
    real = [t for t in tiles if not t.suppressed and t.value == t.value]
    assert len(real) >= 14, [t.measure.id for t in real]
    by = {}
    for t in real:
        by.setdefault(publisher(t), []).append(t.measure.id)
    assert {"DfE", "DfE LAIT", "NHS England"} <= set(by), by
    # An NHS figure on a council's Board is its sub-ICB's or provider's, and says so.
    for t in real:
        if publisher(t) == "NHS England":
            assert t.area_code != area and t.covers and "not " in t.covers, (t.measure.id, t.covers)
            assert t.covers in t.sentence
    # A LAIT value standing for the council's own names its source and has no invented interval.
    for t in real:
        if publisher(t) == "DfE LAIT":
            assert "LAIT" in t.sentence and t.lower_95 != t.lower_95
    assert summary.key_messages(tiles)
    # Nothing that is not loaded is called suppressed.
    for t in tiles:
        if not t.suppressed:
            assert "suppressed to protect small numbers." not in t.sentence or t.source_symbol == "c", t.sentence


def test_board_figures_equal_the_published_cells(real_engine):
    """A few of the Board's figures against the published cells they come from:
    * SEND Tribunals and appeal rate 2014-2024.csv, row 'Cumberland8' (LA code 942), 2024 columns:
      65 appeals registered, 3,191 total appealable decisions, rate 2.00%;
      row 'Westmorland and Furness8' (943), 2024: 25 / 2,532 (0.99%, published 1.00%) (the
      rate is recomputed from the counts, as the published one is);
    * annual_reviews.csv, 2024, Cumberland, 'All annual reviews': number_decsion_4weeks / (number_decsion_4weeks
      + number_decision_gt_4weeks) reproduces pc_decsion_4weeks;
    * LAIT bds_long_0.parquet, Short Desc NEW_KS2_RWM_Sen_Withsta, Years 2025, Cumberland: Values."""
    import csv
    import pandas as pd
    rel = REAL / "ees_ehcp_2025_witan-sen2"
    rows = list(csv.reader((rel / "supporting-files" / "SEND Tribunals and appeal rate 2014-2024.csv")
                           .read_text(encoding="utf-8-sig").splitlines()))
    years = rows[3]
    col = years.index("2024")
    for name, code in (("Cumberland8", "E06000063"), ("Westmorland and Furness8", "E06000064")):
        row = next(r for r in rows if r and r[0] == name)
        appeals, decisions = int(row[col].replace(",", "")), int(row[col + 1].replace(",", ""))
        t = real_engine.table(["tribunal_appeal_rate"], [code])
        got = t[t["period"].astype(str) == "2024"].iloc[0]
        assert (got["numerator"], got["denominator"]) == (appeals, decisions)
        assert round(got["value"], 1) == round(float(row[col + 2].rstrip("%")), 1) or \
            abs(got["value"] - float(row[col + 2].rstrip("%"))) < 0.05
    ar = pd.read_csv(rel / "data" / "annual_reviews.csv", dtype=str, encoding="utf-8-sig")
    cum = ar[(ar["time_period"] == "2024") & (ar["new_la_code"] == "E06000063")
             & (ar["breakdown"] == "All annual reviews")].iloc[0]
    n4, gt4 = int(cum["number_decsion_4weeks"]), int(cum["number_decision_gt_4weeks"])
    t = real_engine.table(["review_decisions_4wk_pct"], ["E06000063"])
    got = t[t["period"].astype(str) == "2024"].iloc[0]
    assert (got["numerator"], got["denominator"]) == (n4, n4 + gt4)
    assert round(got["value"], 1) == float(cum["pc_decsion_4weeks"])
    lait = pd.read_parquet(REAL / "lait" / "bds_long_0.parquet")
    cell = lait[(lait["Short Desc"] == "NEW_KS2_RWM_Sen_Withsta") & (lait["Years"].astype(str) == "2025")
                & (lait["LA and Regions"] == "Cumberland")]["Values"].iloc[0]
    t = real_engine.table(["ks2_rwm_ehc_plan"], ["E06000063"])
    got = t[t["period"].astype(str) == "2025"].iloc[0]
    assert got["value"] == pytest.approx(float(cell)) and "LAIT" in got["value_source"]


@pytest.mark.parametrize("area", list(COUNCILS))
def test_board_page_on_real_data(real_env, area):
    """The Board page itself (AppTest): at least 14 rows with a value, NHS rows labelled with the area
    they cover, key messages, and no 'suppressed' for a figure that is not loaded."""
    from send_metrics.measures import summary
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["area"] = area
    at.switch_page("pages/board.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 0, [e.value for e in at.error]
    frames = [d.value for d in at.dataframe]
    frames = [f.data if hasattr(f, "data") else f for f in frames]  # a Styler keeps its frame in .data
    # The page shows only the columns it styles (the numbers behind them go to the CSV), so a row
    # has a value when its Value is a number with its unit rather than words saying why not.
    table = next(f for f in frames if {"Measure", "Value"} <= set(f.columns))
    why_not = ("not loaded", "not available", "suppressed by the publisher", "not applicable")
    missing = table["Value"].map(lambda v: v == summary.SUPPRESSED or str(v).startswith(why_not))
    valued = table[~missing]
    assert len(valued) >= 14, table[["Measure", "Value"]]
    assert valued["Value"].map(lambda v: any(ch.isdigit() for ch in str(v))).all(), valued["Value"].tolist()
    nhs = valued[valued["Measure"].str.contains(r"\[NHS (?:01H|01K|RNN|RTX) ", regex=True)]
    assert len(nhs) >= 2, valued["Measure"].tolist()
    heads = [plain(s.value) for s in at.subheader]
    assert "What the board should know" in heads
    text = " ".join(plain(m.value) for m in at.markdown)
    assert COUNCILS[area] in " ".join(heads)
    assert "significantly" in text


def _ees_row(file: str, period: str, code: str, breakdown_start: str) -> dict:
    import csv
    with open(REAL / "ees_ehcp_2025_witan-sen2" / "data" / file, encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["time_period"] == period and r["new_la_code"] == code and r["breakdown"].startswith(breakdown_start):
                return r
    raise AssertionError((file, period, code))


def _measure(engine, mid: str, area: str, period: str):
    t = engine.table([mid], [area])
    t = t[t["period"].astype(str).str[:len(period)] == period]
    assert len(t) == 1, (mid, area, period)
    return t.iloc[0]


def test_release_files_equal_the_published_cells(real_engine):
    """The EHC plans release files that were recognised but not loaded before issue 20, against their
    published cells (ees_ehcp_2025_witan-sen2/data, total rows 'All ...', Cumberland E06000063):
    ceased_plans.csv 2024: total_ceased 204, needs_met 5 (2.5%; 5 is above the small-count range 1-4);
    personal_budgets.csv 202425 (January 2025): personal_budget 107;
    sen_need_newplans.csv 2024: number_asd 109 of ehc_plans 412 (asd_pc 26.5);
    assessments.csv 2024: assess_issued 412 of assess_in_year 427 (assess_issued_pc 96.5);
    requests.csv + assessments.csv 2024: mediations 52 + 7 + 4, followed by tribunal 3 + 0 + 0 (small: suppressed)."""
    cum = "E06000063"
    ceased = _ees_row("ceased_plans.csv", "2024", cum, "All")
    v = _measure(real_engine, "ceased_plans", cum, "2024")
    assert v["value"] == int(ceased["total_ceased"]) == 204
    share = _measure(real_engine, "ceased_needs_met_pct", cum, "2024")
    assert (share["numerator"], share["denominator"]) == (int(ceased["needs_met"]), 204) == (5, 204)
    assert share["value"] == pytest.approx(5 / 204 * 100) and not share["suppressed"]
    pb = _ees_row("personal_budgets.csv", "202425", cum, "All")
    assert _measure(real_engine, "personal_budgets", cum, "2025")["value"] == int(pb["personal_budget"]) == 107
    need = _ees_row("sen_need_newplans.csv", "2024", cum, "All")
    v = _measure(real_engine, "new_plan_need_share_ASD", cum, "2024")
    assert (v["numerator"], v["denominator"]) == (int(need["number_asd"]), int(need["ehc_plans"])) == (109, 412)
    assert round(v["value"], 1) == float(need["asd_pc"]) == 26.5
    ass = _ees_row("assessments.csv", "2024", cum, "All")
    v = _measure(real_engine, "assessments_plan_issued_pct", cum, "2024")
    assert (v["numerator"], v["denominator"]) == (int(ass["assess_issued"]), int(ass["assess_in_year"]))
    assert round(v["value"], 1) == float(ass["assess_issued_pc"])
    req = _ees_row("requests.csv", "2024", cum, "All")
    med = int(req["mediation_related_request"]) + int(ass["number_assess_mediation"]) + int(ass["number_other_mediation"])
    assert _measure(real_engine, "mediations", cum, "2024")["value"] == med == 63
    after = _measure(real_engine, "mediation_to_tribunal_pct", cum, "2024")
    assert after["suppressed"]  # 3 + 0 + 0 is a small count


def test_mhsds_cyp_access_equals_the_published_cells(real_engine):
    """MHSDS Time_Series_data_Apr_2016_NovPrf_2022.csv.gz, MEASURE_ID MHS95, SECONDARY_LEVEL NONE:
    BREAKDOWN 'Sub ICB of Residence', PRIMARY_LEVEL 01H, REPORTING_PERIOD_END 30/11/2022 = 3660;
    BREAKDOWN 'CCG of Residence', 01H, 31/03/2021 = 3345 (Final); 01K (with Lancaster) 31/03/2021 = 3090."""
    import gzip
    import csv
    want = {}
    with gzip.open(REAL / "dfe_send_ap_inclusion_dashboard" / "nhs" /
                   "MHSDS Time_Series_data_Apr_2016_NovPrf_2022.csv.gz", "rt") as fh:
        for r in csv.DictReader(fh):
            if r["MEASURE_ID"] == "MHS95" and r["PRIMARY_LEVEL"] in ("01H", "01K") and r["SECONDARY_LEVEL"] == "NONE":
                want[(r["PRIMARY_LEVEL"], r["REPORTING_PERIOD_END"])] = r["MEASURE_VALUE"]
    assert want[("01H", "30/11/2022")] == "3660" and want[("01H", "31/03/2021")] == "3345"
    for (level, end), value in want.items():
        code = {"01H": "E38000215", "01K": "E38000228"}[level]
        month = f"{end[6:10]}-{end[3:5]}"
        got = _measure(real_engine, "mh_cyp_access", code, month)
        assert got["value"] == int(value), (level, end)
