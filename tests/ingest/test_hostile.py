"""Hostile input: formula injection, HTML/script in names and files, SQL-like URL parameters, uploads.

* Every CSV download goes through `send_metrics.present.export.safe_csv` (checked statically for every
  `st.download_button` in pages/ and dashboard/), which neutralises cells starting = + - @ (tab,
  CR); the CLI's `measures --format csv` output too, with hostile area names loaded.
* Areas named `<script>alert(1)</script>` and `<img src=x onerror=alert(2)>`, quarantined cells
  holding script and a data file whose name is HTML are shown as text: no element that renders
  raw HTML (st.html, markdown with unsafe_allow_html) contains them, on any page.
* SQL-like text in every URL parameter of every page has no effect and raises nothing; the data
  is intact afterwards.
* Upload names cannot escape the upload folder; oversized uploads are refused with a message.
* In a real browser (marker `browser`), hostile URL parameters on every page raise no exception
  and open no dialog (no script runs).
"""
from __future__ import annotations

import ast
import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, run_cli, write
from test_disclosure_e2e import (AppEnv, existing_pages, page_errors, page_params, raw_values, run_page, walk,
                                 write_small_counts)

XSS_AREAS = {
    "LOC-XSS-SCRIPT": "<script>alert(1)</script>",
    "LOC-XSS-IMG": "<img src=x onerror=alert(2)>",
    "LOC-XSS-LINK": "[click](javascript:alert(3)) <a href=\"javascript:alert(4)\">x</a>",
}
FORMULA_AREAS = {
    "LOC-FORMULA-EQ": "=HYPERLINK(\"http://evil.example\",\"Cumberland\")",
    "LOC-FORMULA-PLUS": "+cmd|' /C calc'!A0",
    "LOC-FORMULA-MINUS": "-2+3+cmd|' /C calc'!A0",
    "LOC-FORMULA-AT": "@SUM(1+1)*cmd|' /C calc'!A0",
}
HOSTILE_FILE = "<img src=x onerror=alert(5)>.csv"
PAYLOADS = ("<script", "onerror", "javascript:", "<img")
SQL_VALUES = ["' OR 1=1 --", "E06000063; DROP TABLE areas", "2024' UNION SELECT * FROM quarantine --",
              "\"; DELETE FROM manifest; --", "<script>alert(6)</script>", "../../etc/passwd", "%00", "\u202e"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _hostile_data(folder: Path) -> None:
    write_small_counts(folder)
    rows = ["area_code,area_name,area_level,coverage_note"]
    for code, name in {**XSS_AREAS, **FORMULA_AREAS}.items():
        q = '"' + name.replace('"', '""') + '"'
        rows.append(f"{code},{q},locality,\"<b>note</b> for {code}\"")
    write(folder / "hostile_areas.csv", "\n".join(rows) + "\n")
    rows = ["time_period,time_identifier,area_code,area_level,primary_need,age_band,setting_type,ehc_plans"]
    for code in [*XSS_AREAS, *FORMULA_AREAS]:
        for year in (2023, 2024, 2025):
            rows.append(f"{year},January,{code},locality,ASD,5to10,mainstream,{20 + year % 7}")
            rows.append(f"{year},January,{code},locality,SLCN,5to10,mainstream,{11 + year % 5}")
    write(folder / "hostile_caseload.csv", "\n".join(rows) + "\n")
    # Quarantined cells holding script and formulas, and a file whose name is HTML.
    shutil.copy(ROOT / "tests" / "corpus" / "64_html_in_cells.csv", folder / "html_in_cells.csv")
    shutil.copy(ROOT / "tests" / "corpus" / "52_excel_formulas.csv", folder / "excel_formulas.csv")
    write(folder / HOSTILE_FILE, "foo,bar\n<script>alert(7)</script>,1\n")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    root = tmp_path_factory.mktemp("hostile")
    config = replace(load_config(root / "data"), store_dir=root / "store")
    _hostile_data(config.data_dir)
    result = load(config)
    assert result.load_id
    reports = {r.path: r for r in result.reports}
    assert reports["hostile_areas.csv"].ok and reports["hostile_caseload.csv"].ok
    return config


@pytest.fixture(scope="module")
def hostile_env(hostile):
    with AppEnv(hostile.data_dir, hostile.store_dir):
        yield hostile


# -- formula injection ---------------------------------------------------------------------------
def _cells(csv_text: str) -> list[str]:
    """Cells as a spreadsheet reads them: a bare CR ends a row, as CRLF and LF do."""
    text = csv_text.replace("\r\n", "\n").replace("\r", "\n")
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def assert_no_formula(csv_text: str) -> None:
    bad = [c for c in _cells(csv_text) if c.startswith(DANGEROUS) and not _is_number(c)]
    assert not bad, bad[:10]


def test_safe_csv_neutralises_every_dangerous_start():
    from send_metrics.present.export import parquet_bytes, safe_csv, safe_csv_bytes
    nasty = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "=HYPERLINK(\"http://x\",\"y\")",
             "-2+3+cmd|' /C calc'!A0", "ok", "multi\nline =x", "", None]
    df = pd.DataFrame({
        "object": pd.Series(nasty, dtype=object),
        "string": pd.Series(nasty, dtype="string"),
        "category": pd.Categorical([x or "" for x in nasty]),
        "mixed": pd.Series([1, "=2", 3.5, "@x", None, "+y", -4, "-z", "a", "b", "c"], dtype=object),
        "numbers": [-1.5, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11],
        "=evil header": range(11),
    })
    text = safe_csv(df)
    assert_no_formula(text)
    assert "'=1+1" in text and "'-2+3+cmd" in text
    assert "-1.5" in text, "numbers are written as numbers"
    assert_no_formula(safe_csv_bytes(df).decode("utf-8-sig"))
    back = pd.read_parquet(io.BytesIO(parquet_bytes(df.drop(columns="mixed"))))  # Parquet needs one type per column
    for col in back.columns:
        assert not any(isinstance(v, str) and v.startswith(DANGEROUS) and not _is_number(v) for v in back[col])


@pytest.mark.parametrize("cell", ["\r=1+1", "Carlisle\r=cmd|' /C calc'!A0", "note\r@SUM(1+1)"])
def test_a_carriage_return_inside_a_cell_cannot_start_a_formula_row(cell):
    from send_metrics.present.export import safe_csv
    text = safe_csv(pd.DataFrame({"area_name": [cell, "ok"], "value": [1, 2]}))
    assert_no_formula(text)


def _bound_from(name: str, tree, src: str, functions: dict, depth: int = 2) -> str:
    """The source that a variable's value comes from: the expressions it is assigned or unpacked
    from in the file, and the functions those call, followed `depth` names back."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for tgt in targets for t in ast.walk(tgt)):
                value = node.value if isinstance(node, ast.Assign) else node.iter
                found.append(ast.get_source_segment(src, value) or "")
                for n in ast.walk(value):
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                        found.append(functions.get(n.func.id, ""))
                    elif isinstance(n, ast.Name) and depth > 0 and n.id != name:
                        found.append(_bound_from(n.id, tree, src, functions, depth - 1))
    return " ".join(found)


def _download_calls():
    """(file, line, data source, builder source) of every st.download_button in pages/ and dashboard/."""
    out = []
    for path in sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "dashboard").glob("*.py")]):
        src = path.read_text()
        tree = ast.parse(src)
        functions = {n.name: ast.get_source_segment(src, n) for n in ast.walk(tree)
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                kw = {k.arg: k.value for k in node.keywords}
                data = kw.get("data") or (node.args[1] if len(node.args) > 1 else None)
                seg = ast.get_source_segment(src, data) if data is not None else ""
                mime = ast.get_source_segment(src, kw["mime"]) if "mime" in kw else ""
                fname = ast.get_source_segment(src, kw["file_name"]) if "file_name" in kw else ""
                called = {n.func.id for n in ast.walk(data) if isinstance(n, ast.Call)
                          and isinstance(n.func, ast.Name)} if data is not None else set()
                builders = " ".join(functions.get(c, "") for c in called)
                if isinstance(data, ast.Name):  # bytes built earlier (e.g. kept in a cached result)
                    builders += " " + _bound_from(data.id, tree, src, functions)
                out.append((path.name, node.lineno, seg, builders, mime + fname))
    return out


def test_every_csv_download_goes_through_safe_csv():
    calls = _download_calls()
    assert calls, "no download buttons found"
    csv_calls = [c for c in calls if "csv" in c[4].lower()]
    assert csv_calls
    for name, line, seg, builders, _ in csv_calls:
        assert "safe_csv" in seg or "safe_csv" in builders, f"{name}:{line}: CSV built without safe_csv: {seg}"
    # and nothing writes CSV by hand
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "dashboard").glob("*.py")]:
        assert ".to_csv(" not in path.read_text(), f"{path.name} writes CSV without send_metrics.present.export"


def test_cli_measures_csv_neutralises_hostile_area_names(hostile):
    r = run_cli("measures", "--format", "csv", "--data-dir", str(hostile.data_dir), *sum(
        (["--area", c] for c in [*FORMULA_AREAS, *XSS_AREAS, "E06000063"]), []),
        env={"SEND_STORE_DIR": str(hostile.store_dir)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stdout + r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    names = {row["area_name"] for row in rows}
    assert {"'" + n for n in FORMULA_AREAS.values()} <= names, names
    assert set(XSS_AREAS.values()) <= names
    assert_no_formula(r.stdout)


def test_cli_measures_csv_on_the_whole_table_has_no_formula(hostile):
    r = run_cli("measures", "--format", "csv", "--data-dir", str(hostile.data_dir),
                env={"SEND_STORE_DIR": str(hostile.store_dir)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(r.stdout.splitlines()) > 1000
    assert_no_formula(r.stdout)


# -- HTML and script shown as text ------------------------------------------------------------
def _unsafe_html(at) -> list[str]:
    """Elements that render raw HTML and contain a payload."""
    bad = []
    for el in walk(at._tree):
        t = getattr(el, "type", "")
        proto = getattr(el, "proto", None)
        if t == "html" or (t in ("markdown", "caption") and getattr(proto, "allow_html", False)):
            body = getattr(proto, "body", "")
            if any(p in body.lower() for p in PAYLOADS):
                bad.append(f"{t}: {body[:300]}")
    return bad


def _all_text(at) -> str:
    parts = []
    for el in walk(at._tree):
        t = getattr(el, "type", "")
        proto = getattr(el, "proto", None)
        if t in ("dataframe", "table"):
            try:
                parts.append(el.value.to_csv(index=False))
            except Exception:
                pass
        elif t in ("selectbox", "multiselect", "radio"):
            parts += list(el.options)
        elif proto is not None and hasattr(proto, "body"):
            parts.append(proto.body)
        elif t == "plotly_chart":
            parts.append(proto.spec)
    return "\n".join(parts)


def _areas_widget_keys(at, codes) -> list:
    out = []
    for el in walk(at._tree):
        if getattr(el, "type", "") in ("selectbox", "multiselect") and getattr(el, "key", None):
            vals = raw_values(el, list(codes))
            if any(v in codes for v in vals):
                out.append((el.key, el.type, [v for v in vals if v in codes]))
    return out


@pytest.mark.parametrize("page", page_params())
def test_html_and_script_in_names_are_shown_as_text(page, hostile_env):
    at = run_page(page)
    assert not page_errors(at), page_errors(at)
    assert not _unsafe_html(at)
    # Choose the hostile areas wherever a selector offers them.
    for key, kind, values in _areas_widget_keys(at, XSS_AREAS):
        if kind == "multiselect":
            at.multiselect(key=key).set_value(values).run()
        else:
            at.selectbox(key=key).set_value(values[0]).run()
        assert not page_errors(at), (key, page_errors(at))
        assert not _unsafe_html(at), _unsafe_html(at)


def test_hostile_names_appear_literally_somewhere(hostile_env):
    """The names are not dropped: some page shows them, literally or escaped, as text."""
    seen = ""
    for url, page in existing_pages():
        at = run_page(page)
        for key, kind, values in _areas_widget_keys(at, XSS_AREAS):
            if kind == "multiselect":
                at.multiselect(key=key).set_value(values).run()
        seen += _all_text(at)
        if all(n in seen or n.replace("<", "&lt;") in seen for n in XSS_AREAS.values()):
            break
    for name in XSS_AREAS.values():
        assert name in seen or name.replace("<", "&lt;").replace(">", "&gt;") in seen, name


def test_quarantined_script_and_html_file_name_are_text_in_the_data_quality_view(hostile_env):
    page = ROOT / "pages" / "explorer.py"
    if not page.exists():
        pytest.skip("pages/explorer.py does not exist yet")
    at = run_page(page, {"view": "quality"})
    if at.radio(key="view").value != "quality":
        at.radio(key="view").set_value("quality").run()
    assert not page_errors(at), page_errors(at)
    assert not _unsafe_html(at), _unsafe_html(at)
    text = _all_text(at)
    assert HOSTILE_FILE in text or HOSTILE_FILE.replace("<", "&lt;") in text


# -- SQL-like text in URL parameters ----------------------------------------------------------
def _integrity(config) -> tuple:
    from send_metrics.db import Database
    db = Database(config)
    try:
        return (db.rows("SELECT count(*) FROM areas")[0][0], db.rows("SELECT count(*) FROM manifest")[0][0],
                db.rows("SELECT count(*) FROM quarantine")[0][0], db.rows("SELECT count(*) FROM ehcp_caseload")[0][0])
    finally:
        db.close()


@pytest.mark.parametrize("page", page_params())
def test_sql_like_url_parameters_have_no_effect(page, hostile_env):
    before = _integrity(hostile_env)
    default = run_page(page)
    assert not page_errors(default)
    keys = {el.key for el in walk(default._tree) if getattr(el, "key", None)}
    keys |= {"area", "areas", "period", "measure", "dataset", "view", "service", "month", "locality", "by",
             "group", "start", "end", "indicator", "spc_area", "rebase", "q", "file"}
    keys = sorted(keys)
    for rotation in range(3):  # every parameter gets three of the payloads, every payload is used
        params = {k: SQL_VALUES[(i + 3 * rotation) % len(SQL_VALUES)] for i, k in enumerate(keys)}
        at = run_page(page, params)
        assert not page_errors(at), (params, page_errors(at))
        assert not _unsafe_html(at), _unsafe_html(at)
        # Selectors fall back to what they show without parameters.
        for el in walk(at._tree):
            if getattr(el, "type", "") in ("selectbox", "radio") and getattr(el, "key", None):
                assert el.value not in SQL_VALUES, (el.key, el.value)
    assert _integrity(hostile_env) == before


# -- uploads --------------------------------------------------------------------------------------
@pytest.fixture
def upload():
    return pytest.importorskip("send_metrics.upload", reason="send_metrics/upload.py is not written yet")


NASTY_NAMES = ["../../etc/passwd.csv", "..\\..\\windows\\win.ini.csv", "/etc/cron.d/x.csv", "C:\\x\\..\\y.csv",
               "....csv", "..", ".", "", None, ".hidden.csv", "a/../../b.csv", "%2e%2e%2fetc.csv",
               "‥／etc／passwd.csv", "name\x00.csv", "<script>alert(1)</script>.csv", "x" * 400 + ".csv",
               "con.csv", "data.CSV", "archive.tar.gz", "~$lock.csv", "-rf.csv", " spaced name .csv"]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_sanitised_upload_names_are_plain_base_names(upload, name):
    clean = upload.sanitise_name(name)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", clean), clean
    assert not clean.startswith(".") and ".." not in clean and len(clean) <= 100
    assert "/" not in clean and "\\" not in clean


def _config(tmp_path, **kw):
    from send_metrics.config import load_config
    return replace(load_config(tmp_path / "data"), store_dir=tmp_path / "store", **kw)


@pytest.mark.parametrize("name", ["../../outside.csv", "/tmp/outside.csv", "..\\..\\outside.csv",
                                  "sub/../../../outside.csv"])
def test_uploads_cannot_escape_the_upload_folder(upload, tmp_path, name):
    config = _config(tmp_path)
    config.data_dir.mkdir(parents=True)
    good = (ROOT / "tests" / "corpus" / "20_bom_utf8.csv").read_bytes()
    staged = upload.stage_upload(good, name, config)
    assert staged.resolve().parent == upload.pending_dir(config).resolve()
    result = upload.accept(staged, config, name=name)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".csv"]
    assert all(config.upload_dir.resolve() in p.resolve().parents for p in files), files
    assert not (tmp_path / "outside.csv").exists() and not Path("/tmp/outside.csv").exists()
    assert result.load_id


def test_accept_and_discard_refuse_paths_outside_pending(upload, tmp_path):
    config = _config(tmp_path)
    victim = write(tmp_path / "data" / "precious.csv", "keep me\n")
    for path in (victim, tmp_path / "store" / "pending" / ".." / ".." / "data" / "precious.csv",
                 tmp_path / "store" / "pending" / "precious.csv", Path("/etc/passwd")):
        with pytest.raises(upload.UploadRefused):
            upload.discard(path, config)
    with pytest.raises(upload.UploadRefused):
        upload.accept(victim, config)
    assert victim.read_text() == "keep me\n"


def test_oversized_uploads_are_refused_with_a_message_before_anything_is_written(upload, tmp_path):
    config = _config(tmp_path, max_upload_mb=1)
    with pytest.raises(upload.UploadRefused) as err:
        upload.stage_upload(b"x" * (1024 * 1024 + 1), "big.csv", config)
    assert "1 MB" in str(err.value) and "SEND_MAX_UPLOAD_MB" in str(err.value)
    pending = upload.pending_dir(config)
    assert not pending.exists() or not any(pending.iterdir())
    upload.stage_upload(b"a,b\n1,2\n", "small.csv", config)  # at the limit is fine


def test_uploads_of_other_types_are_refused(upload, tmp_path):
    config = _config(tmp_path)
    for name in ("evil.exe", "report.xlsx", "page.html", "noextension"):
        with pytest.raises(upload.UploadRefused):
            upload.stage_upload(b"data", name, config)


def test_streamlit_upload_limit_matches_the_setting():
    """The browser refuses what the server would refuse: server.maxUploadSize agrees with SEND_MAX_UPLOAD_MB."""
    cfg = ROOT / ".streamlit" / "config.toml"
    if not cfg.exists():
        pytest.skip(".streamlit/config.toml does not exist")
    import tomllib
    server = tomllib.loads(cfg.read_text()).get("server", {})
    if "maxUploadSize" not in server:
        pytest.skip("server.maxUploadSize is not set (Streamlit's default 200 MB applies)")
    from send_metrics.config import SETTINGS
    assert int(server["maxUploadSize"]) <= int(SETTINGS["SEND_MAX_UPLOAD_MB"][0])


# -- in a real browser ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(hostile):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is absent")
    pytest.importorskip("playwright.sync_api")
    port = _free_port()
    env = {**os.environ, "SEND_DATA_DIR": str(hostile.data_dir), "SEND_STORE_DIR": str(hostile.store_dir)}
    log = open(hostile.store_dir.parent / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
                             "true", "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    import urllib.request
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_idle(page, timeout=60_000):
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function("document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0", timeout=timeout)


@pytest.mark.browser
def test_hostile_url_parameters_in_a_real_browser_run_no_script(server):
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright
    dialogs, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            payloads = ["<script>alert(8)</script>", "' OR 1=1 --", "<img src=x onerror=alert(9)>",
                        "E06000063; DROP TABLE areas", "\"><svg onload=alert(10)>", "javascript:alert(11)"]
            keys = ("area", "period", "measure", "dataset", "view", "service", "month", "locality", "areas")
            for url_path, file in existing_pages():
                if re.search(r'url_path="' + url_path + r'"\s*,\s*default\s*=\s*True', (ROOT / "app.py").read_text()):
                    url_path = ""  # the default page is served at the root; /board says "Page not found"
                params = urlencode({k: payloads[i % len(payloads)] for i, k in enumerate(keys)})
                page.goto(f"{server}/{url_path}?{params}")
                _wait_idle(page)
                assert page.locator("[data-testid='stException']").count() == 0, url_path
                assert page.locator("text=could not be drawn").count() == 0, url_path
                # and with the hostile areas selected where the URL can select them
                page.goto(f"{server}/{url_path}?area=LOC-XSS-IMG&areas=LOC-XSS-SCRIPT&areas=LOC-XSS-IMG")
                _wait_idle(page)
                assert page.locator("[data-testid='stException']").count() == 0, url_path
                page.wait_for_timeout(300)
        finally:
            browser.close()
    assert not dialogs, dialogs
