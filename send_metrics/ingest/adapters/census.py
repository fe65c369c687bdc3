"""DfE "Special educational needs in England" (school census, January), three generations:

* to 2022/23, wide: `phase_type_grouping, type_of_establishment, hospital_school, total_pupils,
  sen_support, ehc_plan, sen_support_percent, ehc_plan_percent` (`region_name` before
  `region_code`), plus files filtered by `pupil_sen_status` / `primary_need`;
* 2023/24-2024/25: the same, with the filters renamed `sen_status` / `sen_primary_need`;
* from 2025/26, long: `phase_type_grouping, establishment_type, hospital_school, sen_provision,
  pupil_count, pupil_percent` (`sen_provision` = Total / Education, health and care plan /
  SEN support ...), with a parliamentary-constituency level as well.

The all-schools totals become published benchmarks for `pupils_ehcp_pct` and
`pupils_sen_support_pct` (numerator and denominator kept). `school_census` rows need a primary
need for every pupil with SEN, which these totals do not give; files broken down by need are
recognised and reported until the contract can hold "all needs".
"""
from __future__ import annotations

from pathlib import Path

from send_metrics.ingest.adapters.common import (
    file_edition,
    clean,
    ees_areas,
    fmt_number,
    period_year,
    plural,
    read_table,
    records,
    text_key,
    to_number,
    write_csv,
)

SOURCE = "DfE Special educational needs in England"
BENCH_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name", "measure_id", "value",
              "numerator", "denominator", "source", "edition"]
TOTAL_FILTERS = ("phasetypegrouping", "typeofestablishment", "establishmenttype", "hospitalschool")
NEED_FILTERS = ("primaryneed", "senprimaryneed", "pupilsenstatus", "senstatus")


def classify(keys: set[str]) -> str | None:
    if not {"timeperiod", "geographiclevel"} <= keys:
        return None
    if {"totalpupils", "ehcplan", "sensupport"} <= keys:
        return "wide"
    if {"senprovision", "pupilcount"} <= keys:
        return "long"
    if keys & {"primaryneed", "senprimaryneed"} and "phasetypegrouping" in keys:
        return "need"
    return None


def _is_total(v: str) -> bool:
    return text_key(v) in ("total", "all", "allschools", "totalallschools")


def _pct(num: str, den: str) -> str:
    n, d = to_number(num), to_number(den)
    if n is None or d is None:
        return clean(num) if to_number(num) is None else clean(den)
    return "z" if d == 0 else fmt_number(round(100 * n / d, 6))


def adapt_census(path: Path, workdir: Path, generation: str):
    from send_metrics.ingest.adapters.result import AdaptResult
    t = read_table(path)
    df = t.df
    fmt = f"{SOURCE} ({'long, 2025/26 on' if generation == 'long' else 'wide, to 2024/25'})"
    notes = list(t.notes)
    need_filters = [c for c in NEED_FILTERS if c in df]
    if generation == "need" or (need_filters and any(not _is_total(v) for v in df[need_filters[0]].unique())):
        fmt = f"{SOURCE} (by primary need)"
        notes.append(f"broken down by '{need_filters[0]}': the contract's school_census rows need a primary need for "
                     "every pupil, and the totals come from the all-schools file; not loaded")
        return AdaptResult(fmt, [], notes)
    code, level, why = ees_areas(t)
    df = df.assign(_area=code, _level=level, _why=why)
    keep = df["_why"] == ""
    for c in TOTAL_FILTERS:
        if c in df:
            keep &= df[c].map(_is_total)
    dropped_geo = int((df["_why"] != "").sum())
    sub = df[keep]
    edition, evidence = file_edition(path)
    notes.append(f"edition {edition}, from {evidence}")
    rows = []
    src = f"{SOURCE}: {path.name}"
    if generation == "wide":
        for r in records(sub, ["timeperiod", "_area", "_level", "laname", "totalpupils", "ehcplan", "sensupport"]):
            y = period_year(r["timeperiod"])
            if not y:
                continue
            for measure, col in (("pupils_ehcp_pct", "ehcplan"), ("pupils_sen_support_pct", "sensupport")):
                rows.append([str(y), "January", r["_area"], r["_level"], r.get("laname", ""), measure,
                             _pct(r[col], r["totalpupils"]), clean(r[col]), clean(r["totalpupils"]), src, edition])
    else:
        cells: dict[tuple, dict[str, str]] = {}
        for r in records(sub, ["timeperiod", "_area", "_level", "laname", "senprovision", "pupilcount"]):
            y = period_year(r["timeperiod"])
            if not y:
                continue
            p = text_key(r["senprovision"])
            kind = "total" if p == "total" else "ehc" if "healthandcareplan" in p else "support" if "support" in p else None
            if kind:
                cells.setdefault((y, r["_area"], r["_level"], r.get("laname", "")), {})[kind] = r["pupilcount"]
        for (y, area, lvl, name), c in cells.items():
            if "total" not in c:
                continue
            for measure, k in (("pupils_ehcp_pct", "ehc"), ("pupils_sen_support_pct", "support")):
                if k in c:
                    rows.append([str(y), "January", area, lvl, name, measure, _pct(c[k], c["total"]), clean(c[k]),
                                 clean(c["total"]), src, edition])
    notes.append(f"all-schools totals -> published benchmarks pupils_ehcp_pct and pupils_sen_support_pct "
                 f"({plural(len(rows), 'value')}); phase, establishment-type and hospital-school breakdowns are not "
                 "loaded (school_census rows need each pupil's primary need)")
    if dropped_geo:
        notes.append(f"{plural(dropped_geo, 'row')} at geographic levels the contract does not have "
                     "(e.g. parliamentary constituencies) ignored")
    outputs = [("benchmarks", write_csv(workdir, "benchmarks_census", BENCH_COLS, rows))] if rows else []
    return AdaptResult(fmt, outputs, notes)
