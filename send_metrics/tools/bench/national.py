"""National-scale data for the benchmark: every council of England (bar the two Cumbrian councils,
whose data comes from the demo's localities) with seeded synthetic persons, months and activity, in
the data contract's layout, beside a copy of the demo's localities. The same seeded generator feeds
`scripts/compare_outputs.py` and `scripts/loadtest.py`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd

from send_metrics.contract import codes
from send_metrics.config import PROJECT_ROOT
from send_metrics.ingest.stored_loads import sql_literal

NEEDS = [n for n in codes.PRIMARY_NEEDS if n not in ("NSA", "DS")]
LOCAL_COUNCILS = {"E06000063", "E06000064"}  # their data comes from the demo localities


def council_codes() -> list[str]:
    areas = pd.read_csv(PROJECT_ROOT / "send_metrics" / "reference" / "areas.csv", dtype=str)
    councils = areas.loc[areas["area_level"] == "council", "area_code"].tolist()
    return [c for c in councils if c not in LOCAL_COUNCILS]


def generate(out: Path, councils: int | None = None, persons: int = 5_000_000, months: int = 60) -> dict:
    """National-scale extract beside the demo localities; returns row counts per file."""
    out.mkdir(parents=True, exist_ok=True)
    # The demo's Cumbrian localities, as an extract of their own: a folder named demo/ is loaded only
    # when the data folder holds nothing else (store.without_demo_when_real).
    # Without the demo's SEN2 person-level return (data/demo/sen2): a second person-level source would
    # make the national persons file be copied and compared row by row instead of kept as it is, and the
    # person-level load has its own comparison (`bench --person-level`).
    shutil.copytree(PROJECT_ROOT / "data" / "demo", out / "localities", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("sen2"))
    council_list = council_codes()[:councils] if councils else council_codes()
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute("CREATE TABLE c AS SELECT unnest($c) AS area_code, generate_subscripts($c, 1) AS i", {"c": council_list})
    years = list(range(2015, 2026))
    sizes = {}

    def copy(name: str, sql: str, fmt: str = "csv") -> None:
        path = out / "national" / f"{name}.{fmt}"
        path.parent.mkdir(exist_ok=True)
        opts = "(HEADER, DELIMITER ',')" if fmt == "csv" else "(FORMAT parquet)"
        con.execute(f"COPY ({sql}) TO {sql_literal(path.as_posix())} {opts}")
        sizes[path.name] = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]

    params = {"needs": NEEDS, "phases": list(codes.PHASES)[:4], "years": years,
              "services": ["SLT", "OT", "AUTISM", "ADHD", "CAMHS", "PAEDS"], "bands": list(codes.WAIT_BAND_SETS["standard"]),
              "ages": list(codes.AGE_BANDS), "settings": list(codes.SETTING_TYPES)}
    for k, v in params.items():
        con.execute(f"CREATE TABLE p_{k} AS SELECT unnest(${k}) AS v", {k: v})
    copy("population", """SELECT y.v AS time_period, 'Calendar year' AS time_identifier, area_code,
        'council' AS area_level, a.v AS age_band, CAST(20000 + 30000 * random() AS BIGINT) AS population
        FROM c, p_years y, p_ages a""")
    copy("school_census", """SELECT y.v AS time_period, 'January' AS time_identifier, area_code, 'council' AS area_level,
        s.status AS sen_status, CASE WHEN s.status = 'no_sen' THEN 'NONE' ELSE n.v END AS primary_need,
        ph.v AS phase, CAST(CASE WHEN s.status = 'no_sen' THEN 20000 ELSE 40 END * (0.5 + random()) AS BIGINT) AS pupils
        FROM c, p_years y, p_phases ph,
             (SELECT unnest(['ehc_plan', 'sen_support', 'no_sen']) AS status) s, p_needs n
        WHERE s.status <> 'no_sen' OR n.v = 'ASD'""")
    copy("ehcp_assessments", """SELECT y.v AS time_period, 'Calendar year' AS time_identifier, area_code, 'council' AS area_level,
        400 AS requests, CAST(100 * random() AS BIGINT) AS requests_refused, 380 AS decisions,
        CAST(380 * random() AS BIGINT) AS decisions_within_6_weeks, 250 AS new_plans, 240 AS plans_issued_ex,
        CAST(240 * random() AS BIGINT) AS plans_issued_20wk_ex, 250 AS plans_issued_inc,
        CAST(240 * random() AS BIGINT) AS plans_issued_20wk_inc, 2000 AS reviews_due,
        CAST(2000 * random() AS BIGINT) AS reviews_on_time FROM c, p_years y""")
    con.execute("CREATE TABLE months AS SELECT strftime(DATE '2021-01-01' + INTERVAL (m) MONTH, '%Y%m') AS tp "
                "FROM range($n) t(m)", {"n": months})
    copy("waiting_list", """SELECT tp AS time_period, 'Month' AS time_identifier, area_code, 'council' AS area_level,
        s.v AS service, e.status AS ehcp_status, b.v AS wait_band, CAST(60 * random() AS BIGINT) AS waiting
        FROM c, months, p_services s, (SELECT unnest(['ehc_plan', 'no_ehc_plan']) AS status) e, p_bands b""")
    copy("waiting_activity", """SELECT tp AS time_period, 'Month' AS time_identifier, area_code, 'council' AS area_level,
        s.v AS service, e.status AS ehcp_status, 200 AS referrals_received, CAST(200 * random() AS BIGINT) AS referrals_accepted,
        150 AS seen, CAST(150 * random() AS BIGINT) AS seen_within_18_weeks
        FROM c, months, p_services s, (SELECT unnest(['ehc_plan', 'no_ehc_plan']) AS status) e""")
    # Person level: about one row per EHC plan in England over the years covered.
    copy("ehcp_persons", f"""SELECT y AS time_period, 'January' AS time_identifier, c.area_code, 'council' AS area_level,
        'P' || p.i AS person_id, n.v AS primary_need, a.v AS age_band, st.v AS setting_type
        FROM (SELECT i, 2018 + i % 8 AS y, CAST(floor(random() * (SELECT count(*) FROM c)) AS INTEGER) + 1 AS ci,
                     CAST(floor(random() * {len(NEEDS)}) AS INTEGER) + 1 AS ni,
                     CAST(floor(random() * 5) AS INTEGER) + 1 AS ai, CAST(floor(random() * 7) AS INTEGER) + 1 AS si
              FROM range({persons}) t(i)) p
        JOIN c ON c.i = p.ci
        JOIN (SELECT v, row_number() OVER () AS k FROM p_needs) n ON n.k = p.ni
        JOIN (SELECT v, row_number() OVER () AS k FROM p_ages) a ON a.k = p.ai
        JOIN (SELECT v, row_number() OVER () AS k FROM p_settings) st ON st.k = p.si""", fmt="parquet")
    con.close()
    return sizes
