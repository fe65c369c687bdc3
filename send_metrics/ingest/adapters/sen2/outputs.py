"""Writing a SEN2 reader's rows as contract-shaped files, with the combined Cumbria continuity series.

Shared by every generation: rows become a CSV the loader validates like any extract; benchmark rows
carry their numerator and denominator; Cumberland and Westmorland and Furness are also summed into a
labelled two-council series so a trend crosses the 2023 reorganisation.
"""
from __future__ import annotations

from pathlib import Path

from send_metrics.ingest.adapters.common import combine, fmt_number, to_number, write_csv


# -- outputs ---------------------------------------------------------------------------------

AREA_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name"]


COMBINED_CODE = "CMB-CUMBRIA-2COUNCILS"


COMBINED_MEMBERS = ("E06000063", "E06000064")


COMBINED_NAME = "Cumbria (both councils): Cumberland + Westmorland and Furness"


COMBINED_NOTE = ("Labelled continuity series: the sum of Cumberland (E06000063) and Westmorland and Furness "
                 "(E06000064), only for periods both councils report (January 2024 caseload, calendar 2023 "
                 "activity, on). It is not the former Cumbria County Council (E10000006, to January 2023 / "
                 "calendar 2022): DfE published no back-cast, so the two series are never joined.")


def combined_rows(rows: list[dict], dims: list[str], indicators: list[str]) -> list[dict]:
    """The labelled 'Cumbria (both councils)' rows: cell-by-cell sums where both councils report."""
    by = {}
    for r in rows:
        if r["area_code"] in COMBINED_MEMBERS:
            by.setdefault((r["time_period"], r["edition"]), {}).setdefault(r["area_code"], {})[
                tuple(r[d] for d in dims)] = r
    out = []
    for (period, edition), per_area in sorted(by.items()):
        if set(per_area) != set(COMBINED_MEMBERS):
            continue
        a, b = (per_area[c] for c in COMBINED_MEMBERS)
        if set(a) != set(b):
            continue  # different breakdowns: cells cannot be added faithfully
        for cell, ra in a.items():
            rb = b[cell]
            r = dict(ra)
            r.update(area_code=COMBINED_CODE, area_level="combined", area_name=COMBINED_NAME)
            for ind in indicators:
                r[ind] = combine([ra[ind], rb[ind]])
            out.append(r)
    return out


def combined_area_outputs(workdir: Path, edition: str, tag: str) -> list[tuple[str, Path]]:
    areas_path = write_csv(workdir, "areas_combined", ["area_code", "area_name", "area_level", "dfe_la_code",
                                                       "rollup_complete", "coverage_note"],
                           [[COMBINED_CODE, COMBINED_NAME, "combined", "", "false", COMBINED_NOTE]])
    ed = f"{edition} combined series ({tag})"
    membership = write_csv(workdir, "area_membership_combined",
                           ["child_code", "parent_code", "weight", "relationship", "edition"],
                           [[m, COMBINED_CODE, "1", "combined", ed] for m in COMBINED_MEMBERS]
                           + [[COMBINED_CODE, "E12000002", "1", "region", ed]])
    return [("areas", areas_path), ("area_membership", membership)]


CASELOAD_DIMS = ["primary_need", "age_band", "setting_type"]


def caseload_outputs(workdir: Path, edition: str, rows: list[dict]) -> tuple[list[tuple[str, Path]], bool]:
    """The ehcp_caseload file of adapted caseload rows, with the two Cumbrian councils' labelled
    continuity series added where both report (and its own file); True when that series was added."""
    rows = rows + combined_rows(rows, CASELOAD_DIMS, ["ehc_plans"])
    cols = AREA_COLS + [*CASELOAD_DIMS, "ehc_plans", "edition"]
    outputs = [("ehcp_caseload", rows_to_csv(workdir, "ehcp_caseload", cols, rows))]
    combined = any(r["area_code"] == COMBINED_CODE for r in rows)
    if combined:
        outputs += combined_area_outputs(workdir, edition, "ehcp_caseload")
    return outputs, combined


def rows_to_csv(workdir: Path, name: str, columns: list[str], rows: list[dict]) -> Path:
    return write_csv(workdir, name, columns, [[r.get(c, "") for c in columns] for r in rows])


def benchmark(period: int, tid: str, area: str, level: str, name: str, measure: str, value: str,
               num: str, den: str, source: str, edition: str) -> dict:
    return {"time_period": str(period), "time_identifier": tid, "area_code": area, "area_level": level,
            "area_name": name, "measure_id": measure, "value": value, "numerator": num, "denominator": den,
            "source": source, "edition": edition}


BENCH_COLS = AREA_COLS + ["measure_id", "value", "numerator", "denominator", "source", "edition"]


def pct(num: str, den: str) -> str:
    n, d = to_number(num), to_number(den)
    if n is None or d is None:
        return combine([num, den])
    if d == 0:
        return "z"
    return fmt_number(round(n / d * 100, 6))
