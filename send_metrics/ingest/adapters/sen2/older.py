"""The older generations: `Total_all` caseload files and `Total_new_all` new-plans files.

January caseload by age or establishment type (2010-2022; the 2023 and 2024 releases'
`num_caseload` by `ehcp_or_statement`) and calendar-year new plans (2009-2021; 2023-2024:
`num_new_plans`). Only their Total rows are used: they give the caseload total and
`ehcp_assessments.new_plans`; new plans already given by the release's MI file are not repeated.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from send_metrics.ingest.adapters.common import clean, plural, records
from send_metrics.ingest.adapters.sen2.ees import ASSESS_INDICATORS, REQUIRED_INDICATORS
from send_metrics.ingest.adapters.sen2.kinds import MI, OLD_CASELOAD_TOTALS, OLD_NEWPLANS_TOTALS, SOURCE, siblings
from send_metrics.ingest.adapters.sen2.outputs import (
    AREA_COLS,
    BENCH_COLS,
    COMBINED_CODE,
    benchmark,
    caseload_outputs,
    combined_area_outputs,
    combined_rows,
    rows_to_csv,
)
from send_metrics.ingest.adapters.sen2.rows import INTERIM_NEED, Rows, is_total, light_info, load_rows, not_broken_down


# -- old caseload generation -----------------------------------------------------------------

def _old_total_rows(rows: Rows) -> pd.DataFrame:
    """The Total rows of an older caseload / new-plans file: every filter Total, and in the 2023-2024
    long files also `ehcp_or_statement` Total (statements and EHC plans together)."""
    df = rows.df[rows.df["_total"]]
    if "ehcporstatement" in df:
        df = df[df["ehcporstatement"].map(is_total)]
    return df


OLD_TOTAL_NOTES = {
    "totalall": "Total_all (statements and EHC plans combined, the DfE headline series)",
    "totalehc": "Total_ehc (EHC plans)",
    "numcaseload": "num_caseload where ehcp_or_statement is Total (statements and EHC plans combined)",
    "totalnewall": "Total_new_all (new statements and EHC plans combined)",
    "totalnewehc": "Total_new_ehc (new EHC plans; new statements, Total_new_st, are not EHC plans)",
    "numnewplans": "num_new_plans where ehcp_or_statement is Total (statements and EHC plans combined)",
}


def adapt_old_caseload(rows: Rows, workdir: Path, source_name: str):
    """Total_all / Total_ehc files (January 2010-2022) and num_caseload files (2023-2024): totals only."""
    nb = not_broken_down()
    df = _old_total_rows(rows)
    notes = []
    total_col = next(c for c in OLD_CASELOAD_TOTALS if c in df)
    notes.append(f"{OLD_TOTAL_NOTES[total_col]} -> EHC plan caseload; only the Total rows are used (the breakdown "
                 "by age or establishment type has no contract dimension)")
    out_rows, bench = [], []
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", total_col]):
        total = clean(r[total_col])
        base = {"time_period": str(int(r["_year"])), "time_identifier": "January", "area_code": r["_area"],
                "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        if nb["age_band"] and nb["setting_type"]:
            out_rows.append({**base, "primary_need": nb["primary_need"] or INTERIM_NEED, "age_band": nb["age_band"],
                             "setting_type": nb["setting_type"], "ehc_plans": total})
        else:
            bench.append(benchmark(int(r["_year"]), "January", r["_area"], r["_level"], r["_name"], "ehcp_caseload",
                                    total, total, "", f"{SOURCE}: {source_name}", r["_edition"]))
    if bench:
        notes.append("totals loaded as published benchmarks (ehcp_caseload): the contract cannot hold a total "
                     "without need, age and setting (no 'all' code)")
    outputs = []
    if out_rows:
        outputs += caseload_outputs(workdir, rows.edition, out_rows)[0]
    if bench:
        outputs.append(("benchmarks", rows_to_csv(workdir, "benchmarks_caseload", BENCH_COLS, bench)))
    return outputs, notes


def _mi_new_plans(path: Path, edition: str) -> tuple[set[tuple[int, str]], str]:
    """(year, area) pairs whose new plans an MI file of the same folder and edition gives, and its name."""
    for kind, p in siblings(path, (MI,)):
        if light_info(p, kind)[1] != edition:
            continue
        mi = load_rows(p, MI)
        df = mi.df[mi.df["_total"]]
        if "newallehc" not in df:
            continue
        given = df[df["newallehc"] != ""]
        return {(int(y), a) for y, a in zip(given["_year"], given["_area"])}, p.name
    return set(), ""


def adapt_old_new_plans(rows: Rows, workdir: Path, source_name: str):
    """Total_new_all / Total_new_ehc files (calendar 2009-2021) and num_new_plans files (2023-2024):
    the Total rows give ehcp_assessments.new_plans; years and areas an MI file of the same release
    already gives (NewallEHC, the same figure) are left to it, so no figure is loaded twice."""
    df = _old_total_rows(rows)
    total_col = next(c for c in OLD_NEWPLANS_TOTALS if c in df)
    notes = [f"{OLD_TOTAL_NOTES[total_col]} -> ehcp_assessments new_plans (calendar year); only the Total rows are "
             "used (the breakdown by age or establishment type has no contract dimension); the other "
             "ehcp_assessments columns are not in this file and are written as 'x' (not available)"]
    mi_pairs, mi_name = _mi_new_plans(rows.table.path, rows.edition)
    out_rows, left, before = [], 0, 0
    for r in records(df, ["_area", "_year", "_level", "_name", "_edition", total_col]):
        year = int(r["_year"])
        if (year, r["_area"]) in mi_pairs:
            left += 1
            continue
        if total_col == "totalnewehc" and clean(r[total_col]) == "z":
            before += 1  # before September 2014 new plans were statements: no EHC plan figure exists
            continue
        row = {"time_period": str(year), "time_identifier": "Calendar year", "area_code": r["_area"],
               "area_level": r["_level"], "area_name": r["_name"], "edition": r["_edition"]}
        for c in ASSESS_INDICATORS:
            row[c] = "x" if c in REQUIRED_INDICATORS else ""
        row["new_plans"] = clean(r[total_col])
        out_rows.append(row)
    if left:
        notes.append(f"{plural(left, 'area-year')} left to {mi_name} in the same folder, which gives the same "
                     "figure (NewallEHC / new_all_ehc) with the other assessment columns")
    if before:
        notes.append(f"{plural(before, 'area-year')} before EHC plans existed (Total_new_ehc 'z': new statements "
                     "only, which are not EHC plans) are not loaded")
    outputs = []
    if out_rows:
        out_rows += combined_rows(out_rows, [], ASSESS_INDICATORS)
        cols = AREA_COLS + ASSESS_INDICATORS + ["edition"]
        outputs.append(("ehcp_assessments", rows_to_csv(workdir, "ehcp_assessments_new_plans", cols, out_rows)))
        if any(r["area_code"] == COMBINED_CODE for r in out_rows):
            outputs += combined_area_outputs(workdir, rows.edition, "ehcp_assessments")
    else:
        notes.insert(0, "not loaded: " + (f"every area and year with new EHC plans is loaded from {mi_name}" if left
                                       else "no area and year has a figure of new EHC plans"))
    return outputs, notes
