"""Issue 20: NHS England CHS waiting lists and autism waits in the publisher's own wait bands, provider
areas with their footprints, and ONS population denominators.

Fixture tests build small files in the publishers' layouts; `real_data` tests read the published files
in ../shared/data/real (never copied into the repository) and check loaded figures against the
published cells, citing file, sheet or metric, row and column."""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pandas as pd
import pytest

from send_metrics.contract import codes
from send_metrics.ingest.adapters import adapt
from send_metrics.catalogue import measures_by_id
from send_metrics.measures.engine import median_from_bands

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
NHS = REAL / "dfe_send_ap_inclusion_dashboard" / "nhs"
real_only = pytest.mark.skipif(not REAL.exists(), reason=f"real published data not present at {REAL} "
                               "(see shared/data/real/SOURCES.md)")

BAND_TITLES = {"Table 4": "Total waiting list by service, {m}",
               "Table 4a": "Number waiting 0-1 weeks (0-7 days) by service, {m}",
               "Table 4b": "Number waiting >1-2 weeks (8-14 days) by service, {m}",
               "Table 4c": "Number waiting >2-4 weeks (15-28 days) by service, {m}",
               "Table 4d": "Number waiting >4-12 weeks (29-84 days) by service, {m}",
               "Table 4e": "Number waiting >12-18 weeks (85-126 days) by service, {m}",
               "Table 4f": "Number waiting >18-52 weeks (127-364 days) by service, {m}",
               "Table 4g": "Number waiting over 52 weeks (over 365 days) by service, {m}"}
SERVICES = ["(A) Audiology", "(CYP) Community paediatric service", "(CYP) Therapy interventions: speech and language"]


def _chs_fixture(path: Path, month: str, values: dict[str, dict[str, list]], coded: bool = True) -> Path:
    """A CHS workbook in the publisher's layout: per sheet a title, a header of services, then rows
    (type, code, name, values...) - or, for the spring 2023 layout, (None, type, name, values...)."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Cover page"
    for sheet, title in BAND_TITLES.items():
        ws = wb.create_sheet(sheet)
        ws.append([title.format(m=month)])
        ws.append(["Blanks indicate no organisation submitted for the service line."])
        ws.append(["Organisation Type", "Organisation Code", "Organisation Name", *SERVICES] if coded
                  else [None, None, None, *SERVICES])
        for org, cells in values.items():
            kind, code, name = org.split("|")
            lead = [kind, code, name] if coded else [None, kind, name]
            ws.append([*lead, *cells[sheet]])
    wb.save(path)
    return path


def _bands(total, b):
    return {"Table 4": total, **{s: v for s, v in zip(list(BAND_TITLES)[1:], b)}}


def _rows(result, dataset="waiting_list") -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for d, p in result.outputs if d == dataset]
    return pd.concat(frames) if frames else pd.DataFrame()


# -- the contract: a publisher's own bands ---------------------------------------------------

def test_band_codes_encode_their_bounds():
    assert codes.wait_band_bounds("18to52wk") == (18, 52)
    assert codes.wait_band_bounds("52plus") == (52, None)
    assert codes.wait_band_bounds("unbanded") == (None, None)
    with pytest.raises(ValueError):
        codes.wait_band_bounds("18-52")
    for name, bands in codes.WAIT_BAND_SETS.items():  # every set partitions the weeks waited
        b = sorted(codes.WAIT_BANDS[c] for c in bands if c != codes.UNBANDED)
        assert b[0][0] == 0 and b[-1][1] is None, name
        assert all(x[1] == y[0] for x, y in zip(b, b[1:])), name


def test_shares_only_at_a_band_edge_of_the_source():
    by_id = measures_by_id()
    assert by_id["wait_over18_SLT"].wait_over_weeks == 18
    # the CHS 12-18 band ends at 18, the autism 13+ band straddles 18; 12-18 straddles 13
    assert "13plus" in codes.wait_bands_straddling(18) and "12to18wk" in codes.wait_bands_straddling(13)
    assert "18to52wk" in codes.wait_bands_from(18) and "12to18wk" not in codes.wait_bands_from(18)


def test_median_is_interpolated_within_the_publishers_band():
    # RNN SLT, October 2023 (Tables 4a-4g, row 135, column AV): 23, 38, 68, 175, 79, 300, 6 of 689
    counts = dict(zip(codes.WAIT_BAND_SETS["nhs_chs"], [23, 38, 68, 175, 79, 300, 6]))
    # half = 344.5; below 12 weeks 304, so the median is in 12-18: 12 + (344.5 - 304) / 79 * 6
    assert median_from_bands(counts, codes.WAIT_BANDS) == pytest.approx(12 + 40.5 / 79 * 6)


# -- CHS fixture (both layouts) -------------------------------------------------------------

@pytest.mark.parametrize("coded", [True, False])
def test_chs_fixture_loads_bands_total_and_providers(tmp_path, coded):
    values = {
        "National||England": {s: [50, 60, 70] for s in BAND_TITLES} | _bands([9, 120, 100], [[1, 10, 10], [1, 10, 10],
                                                                                           [1, 10, 10], [1, 20, 10],
                                                                                           [1, 20, 10], [1, 40, 30],
                                                                                           [1, 10, 10]]),
        "Provider|RNN|NORTH CUMBRIA INTEGRATED CARE NHS FOUNDATION TRUST":
            _bands([5, "", 30], [[1, "", 2], [1, "", 2], [1, "", 2], [1, "", 4], [1, "", 5], [0, "", 10], [0, "", 5]]),
        "Provider|RTX|UNIVERSITY HOSPITALS OF MORECAMBE BAY NHS FOUNDATION TRUST":
            _bands(["", 12, 25], [["", 1, 2], ["", 1, 2], ["", 1, 2], ["", 1, 4], ["", 1, 5], ["", 1, 5], ["", 1, 0]]),
        "Provider|RW5|LANCASHIRE & SOUTH CUMBRIA NHS FOUNDATION TRUST": _bands([1, 2, 3], [[1, 2, 3]] * 7),
    }
    if not coded:  # spring 2023: names in mixed case and no organisation codes
        values = {(f"Provider||{k.split('|')[2].title().replace('Nhs', 'NHS')}" if k.startswith("Provider") else k): v
                  for k, v in values.items()}
    p = _chs_fixture(tmp_path / "community_health_2023-12-01.xlsx", "October 2023", values, coded)
    r = adapt(p, tmp_path / "w")
    rows = _rows(r)
    assert set(rows["time_period"]) == {"202310"} and set(rows["ehcp_status"]) == {"all"}
    assert set(rows["area_code"]) == {"E92000001", "RNN", "RTX"}  # RW5 and adult services not loaded
    assert set(rows["service"]) == {"PAEDS", "SLT"}
    assert set(rows.loc[rows["area_code"] != "E92000001", "area_level"]) == {"provider"}
    rnn = rows[(rows["area_code"] == "RNN") & (rows["service"] == "SLT")].set_index("wait_band")["waiting"]
    assert rnn.to_dict() == {"0to1wk": "2", "1to2wk": "2", "2to4wk": "2", "4to12wk": "4", "12to18wk": "5",
                             "18to52wk": "10", "52plus": "5"}
    assert "PAEDS" not in set(rows.loc[rows["area_code"] == "RNN", "service"])  # blank: no submission, no figure
    # England paediatrics: bands add up to 120 of a published 120; SLT bands 90 of 100: 10 'unbanded'
    eng = rows[(rows["area_code"] == "E92000001") & (rows["service"] == "SLT")].set_index("wait_band")["waiting"]
    assert eng["unbanded"] == "10" and sum(map(int, eng)) == 100
    assert any("RTX" in n and "north Lancashire" in n for n in r.notes)


def test_overlapping_bands_of_one_source_are_quarantined(tmp_path):
    from send_metrics.config import load_config
    from send_metrics.ingest.store import load
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "waiting_list.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_period", "time_identifier", "area_code", "area_level", "service", "ehcp_status",
                    "wait_band", "waiting"])
        for band, n in (("0to4wk", 5), ("4to12wk", 6), ("4to8wk", 7), ("52plus", 8)):
            w.writerow(["202310", "Month", "RNN", "provider", "SLT", "all", band, n])
    import os
    os.environ["SEND_STORE_DIR"] = str(tmp_path / "store")
    try:
        result = load(load_config(data))
    finally:
        os.environ.pop("SEND_STORE_DIR")
    text = " ".join(str(x) for x in result.reports) if hasattr(result, "reports") else str(result.__dict__)
    assert "overlaps" in text


# -- autism fixture -------------------------------------------------------------------------

def test_autism_waits_in_the_publishers_two_bands(tmp_path):
    p = tmp_path / "AutismStats_subICB.csv.gz"
    head = ["REPORTING_PERIOD_START", "REPORTING_PERIOD_END", "STATUS", "BREAKDOWN", "PRIMARY_LEVEL",
            "PRIMARY_LEVEL_DESCRIPTION", "SECONDARY_LEVEL", "SECONDARY_LEVEL_DESCRIPTION", "METRIC",
            "METRIC_DESCRIPTION", "METRIC_VALUE"]
    rows = []
    for lvl, m, v in (("01H", "ASD16b", "125"), ("01H", "ASD16c", "55"), ("01K", "ASD16b", "495"),
                      ("01K", "ASD16c", "*"), ("01H", "ASD12a", "25")):
        rows.append(["01/07/2022", "31/07/2022", "Latest", "Sub ICB", lvl, lvl, "NONE", "NONE", m, m, v])
    with gzip.open(p, "wt", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        w.writerows(rows)
    r = adapt(p, tmp_path / "w")
    lst = _rows(r)
    got = {(a, b): v for a, b, v in zip(lst["area_code"], lst["wait_band"], lst["waiting"])}
    assert got == {("E38000215", "0to13wk"): "70", ("E38000215", "13plus"): "55",
                   ("E38000228", "0to13wk"): "c", ("E38000228", "13plus"): "c"}
    assert any("NOT South Cumbria" in n for n in r.notes)


# -- ONS population: long table and the MYE2 persons layout --------------------------------

CUMBRIA = {"E07000026": "Allerdale", "E07000027": "Barrow-in-Furness", "E07000028": "Carlisle",
           "E07000029": "Copeland", "E07000030": "Eden", "E07000031": "South Lakeland"}


def test_ons_mye2_persons_layout_sums_districts_into_the_new_councils(tmp_path):
    """The MYE2 - Persons table as ONS publishes it: title rows, then Code, Name, Geography, All ages,
    0, 1, ..., 89, 90 (the '90' column holds 90 and over)."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "MYE2 - Persons"
    ws.append(["Mid-2021 Population Estimates for Local Authorities in England and Wales"])
    ws.append(["Persons"])
    ws.append(["Contains ONS data"])
    ws.append([])
    ws.append(["Code", "Name", "Geography", "All ages", *range(0, 91)])
    ws.append(["E92000001", "ENGLAND", "Country", 99, *([1] * 91)])
    for i, (code, name) in enumerate(CUMBRIA.items(), start=1):
        ws.append([code, name, "Non-metropolitan District", 91 * i, *([i] * 91)])
    ws.append(["W06000001", "Isle of Anglesey", "Unitary Authority", 91, *([1] * 91)])
    p = tmp_path / "ukpopestimatesmid2021.xlsx"
    wb.save(p)
    r = adapt(p, tmp_path / "w")
    pop = _rows(r, "population")
    assert set(pop["time_period"]) == {"2021"}
    cum = pop[pop["area_code"] == "E06000063"].set_index("age_band")["population"].astype(int)
    # Allerdale 1 + Carlisle 3 + Copeland 4 = 8 per single year; 0to4 has 5 years, 20to25 six
    assert cum.to_dict() == {"0to4": 40, "5to10": 48, "11to15": 40, "16to19": 32, "20to25": 48}
    wf = pop[pop["area_code"] == "E06000064"]
    assert set(wf["source"]) == {"ONS mid-2021; sum of Barrow-in-Furness, Eden, South Lakeland"}
    assert "W06000001" not in set(pop["area_code"]) and "E92000001" not in set(pop.loc[pop["source"] == "ONS mid-2021",
                                                                                       "area_code"])


# -- real published files --------------------------------------------------------------------

def _published(file: str, sheet: str, cell: str):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(NHS / file, read_only=True, data_only=True)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()
        col = openpyxl.utils.column_index_from_string("".join(c for c in cell if c.isalpha()))
        row = int("".join(c for c in cell if c.isdigit()))
        rows = list(ws.iter_rows(min_row=row, max_row=row, values_only=True))
        return rows[0][col - 1]
    finally:
        wb.close()


@pytest.fixture(scope="module")
def real_nhs_engine(tmp_path_factory):
    if not REAL.exists():
        pytest.skip(f"real published data not present at {REAL}")
    from send_metrics.config import load_config
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    from send_metrics.ingest.store import load
    import os
    root = tmp_path_factory.mktemp("real_nhs")
    data = root / "data"
    data.mkdir()
    # Regular files (hard links or copies): the loader refuses symbolic links out of the data folder.
    import shutil

    def place(src, dest):
        try:
            os.link(src, dest)
        except OSError:
            shutil.copy2(src, dest)
    for f in ("community_health_2023-03-01.xlsx", "community_health_2023-12-01.xlsx", "AutismStatsDec22_subICB.csv.gz"):
        place(NHS / f, data / f)
    place(REAL / "ons_population" / "ons_mye_mid2020_ltla21_single_year_of_age.csv", data / "ons.csv")
    old = os.environ.get("SEND_STORE_DIR")
    os.environ["SEND_STORE_DIR"] = str(root / "store")
    try:
        cfg = load_config(data)
        load(cfg)
        db = Database(cfg)
        db.refresh(force=True)
        yield Engine(db)
    finally:
        if old is None:
            os.environ.pop("SEND_STORE_DIR", None)
        else:
            os.environ["SEND_STORE_DIR"] = old


def _value(engine, measure, area, month):
    t = engine.table([measure], [area])
    t = t[t["period"].astype(str).str[:7] == month]
    assert len(t) == 1, (measure, area, month)
    return t.iloc[0]


# (file, month, provider, service column, row in Tables 4-4g) for four CYP services in both files.
CITED = [
    ("community_health_2023-12-01.xlsx", "2023-10", "RNN", "SLT", "AV", 135),
    ("community_health_2023-12-01.xlsx", "2023-10", "RTX", "SLT", "AV", 178),
    ("community_health_2023-03-01.xlsx", "2023-01", "RNN", "SLT", "AV", 136),
    ("community_health_2023-03-01.xlsx", "2023-01", "RTX", "SLT", "AV", 182),
    ("community_health_2023-12-01.xlsx", "2023-10", "RNN", "PHYSIO", "AU", 135),
    ("community_health_2023-12-01.xlsx", "2023-10", "RTX", "PHYSIO", "AU", 178),
    ("community_health_2023-03-01.xlsx", "2023-01", "RNN", "PHYSIO", "AU", 136),
    ("community_health_2023-03-01.xlsx", "2023-01", "RTX", "PHYSIO", "AU", 182),
    ("community_health_2023-12-01.xlsx", "2023-10", "RTX", "PAEDS", "AL", 178),
    ("community_health_2023-03-01.xlsx", "2023-01", "RTX", "PAEDS", "AL", 182),
    ("community_health_2023-12-01.xlsx", "2023-10", "RNN", "AUDIOLOGY", "AI", 135),
    ("community_health_2023-03-01.xlsx", "2023-01", "RNN", "AUDIOLOGY", "AI", 136),
    ("community_health_2023-12-01.xlsx", "2023-10", "RNN", "OT", "AS", 135),
    ("community_health_2023-03-01.xlsx", "2023-01", "RNN", "OT", "AS", 136),
]


@pytest.mark.real_data
@real_only
@pytest.mark.parametrize("file,month,area,service,col,row", CITED)
def test_chs_figures_equal_the_published_cells(real_nhs_engine, file, month, area, service, col, row):
    cell = f"{col}{row}"
    name = _published(file, "Table 4", f"C{row}")
    assert area == {"NORTH CUMBRIA INTEGRATED CARE NHS FOUNDATION TRUST": "RNN",
                    "UNIVERSITY HOSPITALS OF MORECAMBE BAY NHS FOUNDATION TRUST": "RTX"}[str(name).upper()]
    total = _published(file, "Table 4", cell)
    bands = [_published(file, s, cell) for s in list(BAND_TITLES)[1:]]
    assert sum(bands) == total  # these lists are fully banded
    lst = _value(real_nhs_engine, f"wait_list_{service}", area, month)
    if lst["suppressed"]:  # the dashboard's own small-number rule, not a missing figure
        assert 1 <= total <= 4
        return
    assert lst["value"] == total
    over18 = _value(real_nhs_engine, f"wait_over18_{service}", area, month)
    assert (over18["numerator"], over18["denominator"]) == (bands[5] + bands[6], total) or over18["suppressed"]
    over52 = _value(real_nhs_engine, f"wait_over52_{service}", area, month)
    assert over52["numerator"] == bands[6] or over52["suppressed"]


@pytest.mark.real_data
@real_only
def test_rnn_slt_october_2023_over_18_weeks(real_nhs_engine):
    """community_health_2023-12-01.xlsx, row 135 (RNN), column AV (CYP speech and language):
    Table 4 = 689, Table 4f (>18-52) = 300, Table 4g (over 52) = 6 -> 306 / 689 = 44.4%."""
    assert _published("community_health_2023-12-01.xlsx", "Table 4", "AV135") == 689
    assert _published("community_health_2023-12-01.xlsx", "Table 4f", "AV135") == 300
    assert _published("community_health_2023-12-01.xlsx", "Table 4g", "AV135") == 6
    v = _value(real_nhs_engine, "wait_over18_SLT", "RNN", "2023-10")
    assert (v["numerator"], v["denominator"]) == (306, 689) and v["value"] == pytest.approx(30600 / 689)
    m = _value(real_nhs_engine, "wait_median_SLT", "RNN", "2023-10")
    assert m["value"] == pytest.approx(12 + 40.5 / 79 * 6)


@pytest.mark.real_data
@real_only
def test_providers_carry_their_footprints(real_nhs_engine):
    a = real_nhs_engine.db.query("SELECT area_code, area_name, area_level, coverage_note FROM areas "
                                 "WHERE area_code IN ('RNN', 'RTX')").set_index("area_code")
    assert set(a["area_level"]) == {"provider"}
    assert "North Cumbria" in a.loc["RNN", "area_name"]
    assert "South Cumbria and north Lancashire (UHMB)" in a.loc["RTX", "area_name"]
    assert "NOT South Cumbria alone" in a.loc["RTX", "coverage_note"]


def _autism_cell(metric: str, level: str, start: str) -> str:
    with gzip.open(NHS / "AutismStatsDec22_subICB.csv.gz", "rt") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            if (r["METRIC"], r["PRIMARY_LEVEL"], r["REPORTING_PERIOD_START"], r["SECONDARY_LEVEL"]) == \
                    (metric, level, start, "NONE"):
                return r["METRIC_VALUE"]
    raise AssertionError((metric, level, start))


@pytest.mark.real_data
@real_only
@pytest.mark.parametrize("level,code,start,month", [("01H", "E38000215", "01/07/2022", "2022-07"),
                                                    ("01K", "E38000228", "01/07/2022", "2022-07"),
                                                    ("01H", "E38000215", "01/09/2022", "2022-09"),
                                                    ("01K", "E38000228", "01/09/2022", "2022-09")])
def test_autism_waits_equal_the_published_cells(real_nhs_engine, level, code, start, month):
    """AutismStatsDec22_subICB.csv.gz, rows METRIC = ASD16b / ASD16c, PRIMARY_LEVEL, SECONDARY_LEVEL
    NONE, column METRIC_VALUE."""
    open_ = int(_autism_cell("ASD16b", level, start))
    over = int(_autism_cell("ASD16c", level, start))
    lst = _value(real_nhs_engine, "wait_list_AUTISM", code, month)
    assert lst["value"] == open_
    share = _value(real_nhs_engine, "autism_over_13wk_pct", code, month)
    assert (share["numerator"], share["denominator"]) == (over, open_)
    name = real_nhs_engine.db.query("SELECT coverage_note FROM areas WHERE area_code = 'E38000228'").iloc[0, 0]
    assert "Lancaster" in name


@pytest.mark.real_data
@real_only
def test_shares_not_estimated_without_a_band_edge(real_nhs_engine):
    # autism statistics split only at 13 weeks: no share over 18 or 52 weeks for 01H / 01K
    v = _value(real_nhs_engine, "wait_over18_AUTISM", "E38000215", "2022-07")
    assert pd.isna(v["value"]) and not v["suppressed"]


@pytest.mark.real_data
@real_only
def test_ons_mid2020_denominators(real_nhs_engine):
    pop = real_nhs_engine.db.query("SELECT area_code, sum(population) AS p, any_value(source) AS s FROM population "
                                   "WHERE year = 2020 GROUP BY area_code").set_index("area_code")
    assert pop.loc["E06000063", "p"] == pytest.approx(73500, abs=500)  # BRIEF.md: Cumberland 0-25 ~73,500
    assert pop.loc["E06000063", "s"] == "ONS mid-2020; sum of Allerdale, Carlisle, Copeland"
    parts = ["E07000026", "E07000028", "E07000029"]
    assert pop.loc["E06000063", "p"] == sum(pop.loc[c, "p"] for c in parts)
    assert pop.loc["E10000006", "p"] == pop.loc["E06000063", "p"] + pop.loc["E06000064", "p"]
    # Allerdale aged 0-4 from the published long table (ages 0..4, rows for E07000026)
    raw = pd.read_csv(REAL / "ons_population" / "ons_mye_mid2020_ltla21_single_year_of_age.csv", dtype=str)
    al = raw[(raw["ltla21_code"] == "E07000026") & raw["age"].isin(["0", "1", "2", "3", "4"])]["population"].astype(int)
    got = real_nhs_engine.db.query("SELECT population FROM population WHERE area_code = 'E07000026' "
                                   "AND age_band = '0to4'").iloc[0, 0]
    assert got == al.sum()


# -- the Waiting times page itself, on these real files only ------------------------------------

@pytest.fixture
def real_nhs_page_env(real_nhs_engine, monkeypatch):
    st = pytest.importorskip("streamlit")
    cfg = real_nhs_engine.db.config
    monkeypatch.setenv("SEND_STORE_DIR", str(cfg.store_dir))
    monkeypatch.setenv("SEND_DATA_DIR", str(cfg.data_dir))
    monkeypatch.setenv("SEND_AUTH", "off")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield real_nhs_engine
    st.cache_data.clear()
    st.cache_resource.clear()


def _page_frames(page: str) -> list[pd.DataFrame]:
    pytest.importorskip("streamlit.testing.v1")
    from streamlit.testing.v1 import AppTest
    from conftest import ROOT
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 0, [e.value for e in at.error]
    frames = [d.value for d in at.dataframe]
    return [f.data if hasattr(f, "data") else f for f in frames], at


MONTH_LABEL = {"2023-10": "Oct 2023", "2023-01": "Jan 2023", "2022-07": "Jul 2022", "2022-09": "Sep 2022"}


@pytest.mark.real_data
@real_only
def test_waiting_page_compares_rnn_and_rtx_as_published(real_nhs_page_env):
    """The Waiting times page (AppTest), real data only: its RNN vs RTX table holds, for at least four
    CYP services in both CHS files (January and October 2023), the published cells: Table 4 (total list)
    and Tables 4f + 4g (>18-52 and over 52 weeks) of the provider's row, in the service's column (CITED:
    file, row, column); and its 01H vs 01K autism table holds ASD16b and ASD16c / ASD16b."""
    frames, at = _page_frames("waiting")
    chs = next(f for f in frames if "Service" in f.columns and any("RNN" in c for c in f.columns))
    names = {"RNN": "RNN: North Cumbria", "RTX": "RTX: South Cumbria and north Lancashire (UHMB)"}
    checked = set()
    for file, month, area, service, col, row in CITED:
        cell = f"{col}{row}"
        total = _published(file, "Table 4", cell)
        over = _published(file, "Table 4f", cell) + _published(file, "Table 4g", cell)
        hit = chs[(chs["Service"] == codes.SERVICES[service]) & (chs["Month"] == MONTH_LABEL[month])]
        assert len(hit) == 1, (service, month)
        r = hit.iloc[0]
        shown = r[f"{names[area]} | Children waiting"]
        if shown == "suppressed (small numbers)":
            assert 1 <= total <= 4
            continue
        assert shown == f"{total:,}", (file, cell, shown, total)
        # the share is withheld when its count is small (the dashboard's own disclosure control)
        want = "suppressed (small numbers)" if 1 <= over <= 4 else f"{over / total * 100:.1f}%"
        assert r[f"{names[area]} | % waiting 18+ weeks"] == want, (file, cell, over, total)
        checked.add((service, month))
    services = {s for s, _ in checked}
    assert len(services) >= 4 and {m for _, m in checked} == {"2023-01", "2023-10"}, checked
    # RTX is never shown as South Cumbria alone; 01K is labelled with Lancaster
    text = " ".join(str(m.value) for m in [*at.markdown, *at.caption])
    assert "not South Cumbria alone" in text.replace("\\", "") and "Lancaster" in text
    autism = next(f for f in frames if any("01K" in c for c in f.columns))
    for level, start, month in (("01H", "01/07/2022", "2022-07"), ("01K", "01/07/2022", "2022-07"),
                                ("01H", "01/09/2022", "2022-09"), ("01K", "01/09/2022", "2022-09")):
        open_, over = int(_autism_cell("ASD16b", level, start)), int(_autism_cell("ASD16c", level, start))
        r = autism[autism["Month"] == MONTH_LABEL[month]].iloc[0]
        name = {"01H": "01H: North Cumbria", "01K": "01K: South Cumbria and Lancaster"}[level]
        assert r[f"{name} | children waiting (0-17)"] == f"{open_:,}"
        assert r[f"{name} | % open 13+ weeks"] == f"{over / open_ * 100:.1f}%"
