"""The analyst and reference pages (Data explorer, Upload, Definitions, About) under AppTest, plus
the upload handling behind them (send_metrics/upload.py: name sanitising, size limit, staging,
validation, accept, discard). The explorer's protected sums and downloads without a page:
tests/measures/test_explore.py.

AppTest cannot send bytes through st.file_uploader, so uploads are tested through the functions
the page calls. Pages are opened through app.py's navigation (`switch_page`), with URL parameters
set first, which is how a shared link opens them.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from send_metrics.measures import explore

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "pages"
HOSTILE = "<script>alert(1)</script>"
SQLISH = "' OR 1=1 --"
CUMBRIA = ["E06000063", "E06000064", "HF-NORTH-CUMBRIA", "HF-SOUTH-CUMBRIA", "E10000006", "LOC-ALLERDALE",
           "LOC-CARLISLE", "LOC-COPELAND-N", "LOC-MILLOM", "LOC-EDEN", "LOC-BARROW-FURNESS", "LOC-SOUTH-LAKELAND"]


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(demo_store):
    """Every AppTest in this module reads the demo data from the session's private store."""
    old = os.environ.get("SEND_STORE_DIR")
    os.environ["SEND_STORE_DIR"] = str(demo_store)
    yield demo_store
    if old is None:
        os.environ.pop("SEND_STORE_DIR", None)
    else:
        os.environ["SEND_STORE_DIR"] = old


@pytest.fixture(autouse=True)
def clear_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def run_page(name: str, params: dict | None = None, timeout: int = 300) -> AppTest:
    """Open one page through app.py's navigation, as a deep link with these URL parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.switch_page(f"pages/{name}.py")
    at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    # ui.guarded turns failures into an error box: there must be none either.
    assert not at.error, [e.value for e in at.error]


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title]
    parts += [h.value for h in at.header] + [h.value for h in at.subheader]
    parts += [i.value for i in at.info] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


def table(at: AppTest, index: int = 0) -> pd.DataFrame:
    return at.dataframe[index].value


# -- every page renders ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["explorer", "upload", "definitions", "about"])
def test_page_renders(store, name):
    at = run_page(name)
    assert_clean(at)
    assert at.title, "every page has a title"
    # The demo data is synthetic: the banner says so.
    assert any("Synthetic" in w.value for w in at.warning)


def test_explorer_quality_view_renders(store):
    at = run_page("explorer", {"view": "Data quality"})
    assert_clean(at)
    text = all_text(at)
    assert "Files in the load" in text and "Load notes" in text
    manifest = table(at)
    assert {"file", "dataset", "status", "rows_read", "rows_loaded", "rows_quarantined", "message",
            "edition"} <= set(manifest.columns)
    assert "demo/ehcp_caseload.csv" in set(manifest["file"])


def test_explorer_quality_view_lists_quarantined_rows(tmp_path, monkeypatch):
    """A load with bad rows: each quarantined row is listed with file, row, column and reason, and
    small counts in the raw rows are shown as c."""
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    data = tmp_path / "data"
    (data / "x").mkdir(parents=True)
    (data / "x" / "caseload.csv").write_text(
        "time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
        "2024,January,LOC-MILLOM,locality,ASD,5to10,mainstream,12\n"
        "2024,January,LOC-NOWHERE,locality,ASD,5to10,special,3\n"
        "2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,-2\n"
        "2024,January,LOC-EDEN,locality,<b>X</b>,5to10,special,7\n")
    monkeypatch.setenv("SEND_DATA_DIR", str(data))
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    assert load(load_config()).load_id
    at = run_page("explorer", {"view": "Data quality"})
    assert_clean(at)
    quarantined = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert {"source_file", "source_row", "column_name", "value", "reason", "raw_row"} <= set(quarantined.columns)
    assert set(quarantined["source_row"]) == {3, 4, 5}
    assert "unknown area code (not in the areas table)" in set(quarantined["reason"])
    assert "<b>X</b>" in set(quarantined["value"])  # shown as text in a table
    raw3 = json.loads(quarantined.loc[quarantined["source_row"] == 3, "raw_row"].iloc[0])
    assert raw3["ehc_plans"] == "c"
    manifest = at.dataframe[0].value
    assert manifest.loc[manifest["file"] == "x/caseload.csv", "rows_quarantined"].iloc[0] == 3


# -- explorer: selectors, deep links, disclosure --------------------------------------------------
def test_explorer_selectors_change_the_view(store):
    at = run_page("explorer")
    assert_clean(at)
    first = table(at)
    assert "ehc_plans" in first.columns
    assert set(first["area_code"]) == {"E06000063", "E06000064"}
    at.selectbox(key="dataset").set_value("ehcp_assessments").run()
    assert_clean(at)
    second = table(at)
    assert "requests" in second.columns and "ehc_plans" not in second.columns
    at.multiselect(key="areas").set_value(["LOC-MILLOM", "HF-SOUTH-CUMBRIA"]).run()
    assert_clean(at)
    assert set(table(at)["area_code"]) == {"LOC-MILLOM", "HF-SOUTH-CUMBRIA"}
    periods = sorted(table(at)["period"].unique())
    at.selectbox(key="start").set_value(periods[-1]).run()
    assert set(table(at)["period"]) == {periods[-1]}


def test_explorer_breakdown_and_filter(store):
    at = run_page("explorer")
    at.multiselect(key="by").set_value(["primary_need"]).run()
    assert_clean(at)
    df = table(at)
    assert "primary_need" in df.columns
    at.multiselect(key="f_primary_need").set_value(["ASD", "SLCN"]).run()
    assert_clean(at)
    assert set(table(at)["primary_need"]) == {"ASD", "SLCN"}


def test_explorer_deep_link_reproduces_view(store):
    # The URL holds what each selector shows (Streamlit binds the displayed label).
    params = {"dataset": "Children's community waiting lists by wait band",
              "areas": ["North Cumbria", "Millom area"], "by": "service",
              "start": "2024-01", "end": "2024-06", "f_service": ["SLT - Speech and language therapy"]}
    at = run_page("explorer", params)
    assert_clean(at)
    assert at.selectbox(key="dataset").value == "waiting_list"
    assert at.multiselect(key="by").value == ["service"]
    df = table(at)
    assert set(df["service"]) == {"SLT"}
    assert set(df["period"]) == {f"2024-0{m}" for m in range(1, 7)}
    names = {ui_name for ui_name in df["area_name"]}
    assert "Millom area" in names


def test_explorer_area_labels_are_unambiguous(store):
    """Carlisle is a locality and a former district: the URL label must pick the right one."""
    at = run_page("explorer", {"areas": ["Carlisle (locality)", "Carlisle (former district)"]})
    assert_clean(at)
    assert set(at.multiselect(key="areas").value) == {"LOC-CARLISLE", "E07000028"}
    assert set(table(at)["area_code"]) == {"LOC-CARLISLE", "E07000028"}


def test_explorer_hostile_params_are_ignored(store):
    for payload in (HOSTILE, SQLISH):
        at = run_page("explorer", {"dataset": payload, "areas": payload, "by": payload, "start": payload,
                                   "view": payload, "indicator": payload})
        assert_clean(at)
        assert at.selectbox(key="dataset").value == "ehcp_caseload"  # the default view
        assert payload not in all_text(at)


def test_explorer_no_small_values_shown(store):
    """Grouped sums from 1 to 4 never appear in the table, at any grain offered."""
    for dataset, by in [("ehcp_caseload", ["primary_need"]), ("waiting_list", ["service"]),
                        ("ehcp_assessments", [])]:
        at = run_page("explorer", {})
        at.selectbox(key="dataset").set_value(dataset).run()
        at.multiselect(key="areas").set_value(CUMBRIA).run()
        if by:
            at.multiselect(key="by").set_value(by).run()
        assert_clean(at)
        df = table(at)
        for ind in explore.spec(dataset).indicators:
            values = pd.to_numeric(df[ind], errors="coerce")
            assert not values.between(1, 4).any(), (dataset, ind)
        if by:
            assert (df["suppressed"] != "").any(), "the demo data has small numbers at this grain"


def test_explorer_filters_do_not_change_suppression(store):
    """A cell is suppressed the same way whichever other areas are chosen."""
    one = run_page("explorer", {"by": "primary need"})
    one.multiselect(key="areas").set_value(["LOC-MILLOM"]).run()
    two = run_page("explorer", {"by": "primary need"})
    two.multiselect(key="areas").set_value(["LOC-MILLOM", "E06000063", "LOC-CARLISLE"]).run()
    a = table(one).reset_index(drop=True)
    b = table(two)
    b = b[b["area_code"] == "LOC-MILLOM"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_explorer_areas_dataset(store):
    at = run_page("explorer", {"dataset": "Areas (geography)"})
    assert_clean(at)
    assert {"area_code", "area_name", "area_level"} <= set(table(at).columns)
    at.multiselect(key="levels").set_value(["locality"]).run()
    assert set(table(at)["area_level"]) == {"locality"}
    assert len(table(at)) == 7


# -- upload functions ---------------------------------------------------------------------------------
@pytest.fixture
def up_config(tmp_path, demo_store):
    """A private data folder and store (copied from the demo store) for upload tests."""
    from send_metrics.config import load_config
    data = tmp_path / "data"
    (data / "extracts").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "demo" / "ehcp_assessments.csv", data / "extracts" / "assessments.csv")
    store = tmp_path / "store"
    cfg = replace(load_config(data), store_dir=store)
    return cfg


@pytest.mark.parametrize("raw, clean", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("C:\\Users\\me\\My file (2).csv", "My_file_2_.csv"),
    ("<script>alert(1)</script>.csv", "script_.csv"),
    ("<img src=x onerror=alert(1)>.csv", "img_src_x_onerror_alert_1_.csv"),
    (".hidden.csv", "hidden.csv"),
    ("..csv", "upload.csv"),
    ("", "upload"),
    (None, "upload"),
    ("report.CSV", "report.csv"),
    ("a" * 300 + ".csv", "a" * 96 + ".csv"),
    ("x\x00.csv", "x.csv"),
    ("data; rm -rf ~.parquet", "data_rm_-rf_.parquet"),
])
def test_sanitise_name(raw, clean):
    from send_metrics.upload import sanitise_name
    out = sanitise_name(raw)
    assert out == clean
    assert all(ch.isalnum() or ch in "._-" for ch in out)
    assert "/" not in out and "\\" not in out and not out.startswith(".") and ".." not in out


def test_oversized_upload_refused(up_config):
    from send_metrics import upload as up
    cfg = replace(up_config, max_upload_mb=1)
    with pytest.raises(up.UploadRefused, match="largest upload accepted is 1 MB"):
        up.stage_upload(b"x" * (1024 * 1024 + 1), "big.csv", cfg)
    assert not up.pending_dir(cfg).exists() or not any(up.pending_dir(cfg).iterdir())
    with pytest.raises(up.UploadRefused):
        up.check_size(2 * 1024 * 1024, cfg)
    up.check_size(1024 * 1024, cfg)  # exactly the limit is fine


def test_unsupported_or_empty_upload_refused(up_config):
    from send_metrics import upload as up
    with pytest.raises(up.UploadRefused, match="CSV or Parquet"):
        up.stage_upload(b"MZ\x90\x00", "tool.exe", up_config)
    with pytest.raises(up.UploadRefused, match="empty"):
        up.stage_upload(b"", "empty.csv", up_config)


def test_stage_validate_report_and_discard(up_config):
    from send_metrics import upload as up
    bad = ("time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans\n"
           "2024,January,LOC-MILLOM,locality,ASD,5to10,mainstream,12\n"
           "2024,January,<script>alert(1)</script>,locality,ASD,5to10,special,7\n"
           "2024,January,LOC-EDEN,locality,ASD,5to10,mainstream,=1+1\n"
           "2024,January,LOC-EDEN,locality,XYZ,5to10,mainstream,-3\n")
    path = up.stage_upload(bad.encode(), "../../caseload <b>2024</b>.csv", up_config)
    assert path.parent == up.pending_dir(up_config)
    assert path.suffix == ".csv" and len(path.stem) == 32
    assert up_config.data_dir not in path.parents
    report = up.validate_staged(path, up_config, display="caseload_b_2024_b_.csv")
    assert report.dataset == "ehcp_caseload"
    assert report.rows_read == 4 and report.rows_loaded == 1 and report.rows_quarantined == 3
    lines = "\n".join(report.lines())
    assert "row 3" in lines and "area_code" in lines and "unknown area code" in lines
    assert "row 4" in lines and "formula" in lines
    assert "row 5" in lines and "primary_need" in lines
    # The page shows the report as a table of plain text (never HTML).
    spec = importlib.util.spec_from_file_location("upload_page", PAGES / "upload.py")
    page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(page)
    problems = page.report_table(up.check_staged(path, up_config, display="x.csv"))
    assert list(problems.columns) == ["file", "row", "column", "value", "reason"]
    assert "<script>alert(1)</script>" in set(problems["value"])
    assert page.md("<b>x</b> [link](http://e)").count("\\") >= 6
    assert up.discard(path, up_config)
    assert not path.exists()


def test_accept_adds_file_and_publishes_new_load(up_config):
    from send_metrics import upload as up
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir
    first = load(up_config)
    assert first.load_id
    extra = (ROOT / "data" / "demo" / "population.csv").read_bytes()
    path = up.stage_upload(extra, "../../../population 2025.csv", up_config)
    result = up.accept(path, up_config, name="../../../population 2025.csv")
    assert result.ok and result.load_id and result.load_id != first.load_id
    target = up_config.upload_dir / "population_2025.csv"
    assert target.exists() and not path.exists()
    assert current_load_dir(up_config.store_dir).name == result.load_id
    manifest = pd.read_parquet(current_load_dir(up_config.store_dir) / "manifest.parquet")
    assert "uploads/population_2025.csv" in set(manifest["source_file"])
    # The same name again gets a new name, never overwriting.
    path2 = up.stage_upload(extra, "population 2025.csv", up_config)
    up.accept(path2, up_config, name="population 2025.csv")
    assert len(list(up_config.upload_dir.glob("population_2025*.csv"))) == 2


def test_accept_and_discard_only_touch_pending_uploads(up_config, tmp_path):
    from send_metrics import upload as up
    victim = tmp_path / "victim.csv"
    victim.write_text("keep me")
    with pytest.raises(up.UploadRefused):
        up.discard(victim, up_config)
    with pytest.raises(up.UploadRefused):
        up.accept(victim, up_config)
    with pytest.raises(up.UploadRefused):
        up.discard(up.pending_dir(up_config) / ".." / "victim.csv", up_config)
    assert victim.read_text() == "keep me"


def test_upload_page_states_the_limit(store):
    at = run_page("upload")
    assert_clean(at)
    from send_metrics.config import load_config
    assert f"{load_config().max_upload_mb} MB" in all_text(at)


# -- definitions and about ------------------------------------------------------------------------
def test_definitions_group_filter_and_deep_link(store):
    at = run_page("definitions")
    assert_clean(at)
    # All groups: one collapsible section per group of measures (not one per measure), each
    # labelled with its count, the counts adding up to every measure.
    from send_metrics.catalogue import load_catalogue
    labels = [e.label for e in at.expander if e.label.endswith(("measures)", "measure)"))]
    assert len(labels) == len({m.group for m in load_catalogue()}) > 1
    assert sum(int(lab.rsplit("(", 1)[1].split()[0]) for lab in labels) == len(load_catalogue()) > 50
    at.selectbox(key="group").set_value("Timeliness").run()
    assert set(table(at)["group"]) == {"Timeliness"}
    n_timeliness = sum(m.group == "Timeliness" for m in load_catalogue())
    assert [e.label for e in at.expander if e.label.endswith(("measures)", "measure)"))] == \
        [f"Timeliness ({n_timeliness} measures)"]
    assert all_text(at).count("- **Definition:**") == n_timeliness
    assert "20 weeks" in all_text(at)
    linked = run_page("definitions", {"group": "Waiting times"})
    assert linked.selectbox(key="group").value == "Waiting times"
    assert set(table(linked)["group"]) == {"Waiting times"}


def test_definitions_fields_rendered(store):
    at = run_page("definitions", {"group": "Needs"})
    text = all_text(at)
    for field in ("Definition", "Numerator", "Denominator", "Polarity", "Interval", "Disclosure rule", "Source"):
        assert f"**{field}:**" in text
    assert "Wilson score interval" in text and "Byar" in text


def test_definitions_hostile_search(store):
    at = run_page("definitions", {"group": HOSTILE})
    assert_clean(at)
    at.text_input(key="q").set_value(HOSTILE).run()
    assert_clean(at)
    assert "**0** of" in all_text(at)
    at.text_input(key="q").set_value(SQLISH).run()
    assert_clean(at)


def test_about_page_content(store):
    at = run_page("about")
    assert_clean(at)
    text = all_text(at)
    from send_metrics.config import load_config
    cfg = load_config()
    assert f"**{cfg.suppress_min} to {cfg.suppress_max}**" in text
    assert "synthetic demonstration data" in text.lower()
    for method in ("Wilson", "Byar", "Fingertips", "Making Data Count", "Funnel", "Newcombe"):
        assert method in text
    for part in ("Accessibility statement", "WCAG", "2.2", "Feedback and reporting problems", "canvas"):
        assert part in text
    sources = table(at)
    assert "ehcp_caseload" in set(sources["dataset"])


def test_explorer_with_a_person_level_extract_loaded(tmp_path, monkeypatch):
    """Person-level rows have nothing to add up: they are counted into the caseload, which the
    explorer shows; the person-level dataset itself is not offered (it raised an IndexError)."""
    import shutil

    import duckdb

    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data / "demo")
    duckdb.connect().execute(
        "COPY (SELECT 2025::BIGINT AS time_period, 'January' AS time_identifier, "
        "['LOC-EDEN', 'LOC-MILLOM', 'LOC-CARLISLE'][1 + i % 3] AS area_code, 'locality' AS area_level, "
        "'X' || i AS person_id, 'ASD' AS primary_need, '5to10' AS age_band, 'mainstream' AS setting_type "
        f"FROM range(30) t(i)) TO '{data / 'persons.parquet'}' (FORMAT parquet)")
    monkeypatch.setenv("SEND_DATA_DIR", str(data))
    monkeypatch.setenv("SEND_STORE_DIR", str(tmp_path / "store"))
    assert load(load_config(data)).kept_as_is
    at = run_page("explorer")
    assert_clean(at)
    datasets = next(s for s in at.selectbox if s.label == "Dataset")
    assert "EHC plans, person level" not in datasets.options and "EHC plan caseload" in datasets.options
    assert "person-level extract" in all_text(at)
