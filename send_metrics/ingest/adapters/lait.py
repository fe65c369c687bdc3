"""DfE Local Authority Interactive Tool (LAIT) long data, its data dictionary, and the DfE
children's services statistical neighbours list.

LAIT (`bds_long_0.parquet`: Short Desc, Data item, Years, LA and Regions, Values, LA Number,
Region) holds hundreds of indicators for every council. Only those that are catalogue measures
are loaded, as `benchmarks` rows (published values used to compare against); the rest are
reported as ignored. The data dictionary (`lait_data_dictionary.csv`, found beside the data)
gives each indicator's polarity and unit, which are checked against the catalogue.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from send_metrics.ingest.adapters.common import (
    ENGLAND,
    areas,
    file_edition,
    fmt_number,
    parse_date,
    key,
    plural,
    read_header,
    read_table,
    to_number,
    write_csv,
)

SOURCE = "DfE Local Authority Interactive Tool (LAIT)"
LAIT_KEYS = {"shortdesc", "years", "laandregions", "values", "lanumber"}
# A filtered copy of the long data may shorten two names ("LA and Regions" -> area, "Values" -> value).
LAIT_ALIASES = {"area": "laandregions", "value": "values"}
DICTIONARY_KEYS = {"measureshort", "measure", "polarity"}

# LAIT indicator -> (catalogue measure, time identifier of its Years, catalogue multiplier check)
MEASURES = {
    "SEN_EHC_Excpt_20wks": ("timeliness_20wk_ex", "Calendar year"),
    "SEN_EHC_All_20wks": ("timeliness_20wk_inc", "Calendar year"),
    "SEN_TotStat": ("pupils_ehcp_pct", "January"),
    "SEN_TotSENSuP": ("pupils_sen_support_pct", "January"),
    "EHCP_Initial_req_refused": ("requests_refused_pct", "Calendar year"),
    "SEN_INIT_REQ": ("requests", "Calendar year"),
    "SEN_CASES_JAN": ("ehcp_caseload", "January"),
    "NEW_KS2_RWM_Sen_Withsta": ("ks2_rwm_ehc_plan", "Academic year"),
    "NEW_KS2_RWM_Sen_W/Osta": ("ks2_rwm_sen_support", "Academic year"),
    "NoID_SEN_NEW_KS2_RWM": ("ks2_rwm_no_sen", "Academic year"),
    "SEN_Stat_AVG_Attain8_Score": ("ks4_att8_ehc_plan", "Academic year"),
    "SEN_WoStat_AVG_Attain8_Score": ("ks4_att8_sen_support", "Academic year"),
    "SEN_NoID_AVG_Attain8_Score": ("ks4_att8_no_sen", "Academic year"),
    "SusEdOverall_SEN_Stat_incSpec": ("ks4_destination_ehc_plan", "Academic year"),
    "SusEdOverall_SEN_NoStat_incSpec": ("ks4_destination_sen_support", "Academic year"),
    "SusEdOverall_NoSEN_incSpec": ("ks4_destination_no_sen", "Academic year"),
    "SEN_AppealableDec": ("tribunal_appeal_rate", "Calendar year"),
}
# LAIT indicators by SEN status with no catalogue measure, and why (said in the load output).
NOT_MAPPED = {
    "16-17YroldSEN_ET": "16-17 year olds with SEN (EHC plan and SEN support together) in education and training at 31 "
                        "March: the catalogue's 16-17 measures are by SEN status and count employment too",
    "KS2_SEN_Reading_Progress": "KS2 progress scores by SEN status: no catalogue measure (discontinued after 2023)",
    "SEN_Stat_AVG_Prog8_Score": "KS4 Progress 8 by SEN status: no catalogue measure",
}
POLARITY = {"high": "higher_is_better", "low": "lower_is_better"}
# Years markers: revised beats final beats plain beats provisional when one year appears twice.
YEAR_MARK_RANK = {"rev": 3, "final": 2, "": 1, "prov": 0}

BENCH_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name", "measure_id", "value",
              "numerator", "denominator", "source", "edition"]


def _dictionary(folder: Path) -> pd.DataFrame | None:
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in (".csv", ".txt"):
            keys = {key(h) for h in read_header(p)}
            if DICTIONARY_KEYS <= keys:
                return read_table(p).df
    return None


def _year(years: str, tid: str) -> tuple[str | None, str]:
    m = re.fullmatch(r"\s*(\d{4})\s*(?:\((\w+)\))?\s*", str(years))
    if not m:
        return None, ""
    mark = (m.group(2) or "").lower()
    y = int(m.group(1))
    if tid == "Academic year":
        return f"{y - 1}{y % 100:02d}", mark
    return str(y), mark


def _catalogue():
    try:
        from send_metrics.catalogue import measures_by_id
        return measures_by_id()
    except Exception:  # the catalogue is checked elsewhere; a broken one must not stop a load
        return {}


def adapt_lait_frame(df: pd.DataFrame, path: Path, workdir: Path):
    """df: the LAIT long columns (keys) filtered to the mapped indicators."""
    from send_metrics.ingest.adapters.result import AdaptResult
    a = areas()
    notes: list[str] = []
    dictionary = _dictionary(path.parent)
    catalogue = _catalogue()
    # Editions sort as text across sources, so they start with a date: "2025-06-01 (LAIT)".
    base_edition, evidence = file_edition(path)
    notes.append(f"edition {base_edition} (from {evidence}) where the dictionary gives no 'Last Update'")
    editions: dict[str, str] = {}
    if dictionary is not None:
        notes.append("data dictionary found beside the data: polarity, units and last-update dates used")
        for _, r in dictionary.iterrows():
            code = r.get("measureshort", "")
            if code in MEASURES:
                d = parse_date(r.get("lastupdate", ""))
                editions[code] = f"{d} (LAIT)" if d else base_edition
                m = catalogue.get(MEASURES[code][0])
                pol = POLARITY.get(str(r.get("polarity", "")).strip().lower())
                if m is not None and pol and m.polarity != pol:
                    notes.append(f"{code}: LAIT polarity '{r.get('polarity')}' differs from the catalogue's "
                                 f"'{m.polarity}' for {m.id}; the catalogue's is used")
                unit = r.get("yaxisname", "")
                if m is not None and unit and ("%" in unit) != (m.unit == "%"):
                    notes.append(f"{code}: LAIT unit '{unit}' vs catalogue unit '{m.unit}' for {m.id}")
    else:
        notes.append("no LAIT data dictionary beside the data: polarity and units not cross-checked")
    rows, skipped = {}, {"no value ('-')": 0, "area not in the areas table": 0, "year not understood": 0}
    unknown_areas: set[str] = set()
    for r in df.itertuples(index=False):
        code = r.shortdesc
        measure, tid = MEASURES[code]
        value = str(r.values).strip()
        if value in ("-", "", "NA", "..", "n/a"):
            skipped["no value ('-')"] += 1
            continue
        period, mark = _year(r.years, tid)
        if period is None:
            skipped["year not understood"] += 1
            continue
        la = str(r.lanumber).split(".")[0] if r.lanumber not in (None, "", "nan") else ""
        if la == "970":
            area = ENGLAND
        elif la and la in a.by_dfe:
            area = a.by_dfe[la]
        else:
            area = a.code_for_name(r.laandregions) or ""
        if not area or area not in a.level:
            skipped["area not in the areas table"] += 1
            unknown_areas.add(str(r.laandregions))
            continue
        n = to_number(value)
        shown = fmt_number(round(n, 6)) if n is not None else value.lower()
        k = (period, area, measure)
        rank = YEAR_MARK_RANK.get(mark, 1)
        if k in rows and rows[k][0] >= rank:
            continue
        rows[k] = (rank, [period, tid, area, a.level[area], a.name.get(area, r.laandregions), measure, shown, "", "",
                          f"{SOURCE}: {code}", editions.get(code, base_edition)])
    out = [v[1] for v in rows.values()]
    counts = pd.Series([r[5] for r in out]).value_counts() if out else pd.Series(dtype=int)
    notes.append("mapped to catalogue measures (as published benchmarks): " + "; ".join(
        f"{code} -> {m} ({int(counts.get(m, 0))} values)" for code, (m, _t) in MEASURES.items()))
    for why, n in skipped.items():
        if n:
            notes.append(f"{plural(n, 'value')} skipped: {why}"
                         + (f" ({', '.join(sorted(unknown_areas)[:8])})" if why.startswith("area") else ""))
    notes.append("academic-year indicators (KS2, KS4, KS4 destinations) read 'Years' 2024 as 2023/24; census "
                 "percentages read 'Years' 2025 as January 2025")
    notes.append("LAIT has no absence, suspension or exclusion figures by SEN status (only for all pupils, looked-after "
                 "children and children in need), so absence_*, persistent_absence_*, suspensions_*, exclusions_* "
                 "and eet_16_17_* stay empty on LAIT; not mapped: " + "; ".join(f"{k} ({v})" for k, v in NOT_MAPPED.items()))
    outputs = [("benchmarks", write_csv(workdir, "benchmarks_lait", BENCH_COLS, out))] if out else []
    return AdaptResult(f"{SOURCE} long data", outputs, notes)


def adapt_parquet(path: Path, workdir: Path):
    con = duckdb.connect()
    try:
        try:
            cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()]
        except duckdb.Error:
            return None
        keys = {key(c): c for c in cols}
        if not LAIT_KEYS <= set(keys):
            return None
        q = lambda k: '"' + keys[k].replace('"', '""') + '"'  # noqa: E731 - names come from the file's schema
        total = con.execute(f"SELECT count(*), count(DISTINCT {q('shortdesc')}) FROM read_parquet($p)",
                            {"p": str(path)}).fetchall()[0]
        df = con.execute(
            f"SELECT CAST({q('shortdesc')} AS VARCHAR) AS shortdesc, CAST({q('years')} AS VARCHAR) AS years, "
            f"CAST({q('laandregions')} AS VARCHAR) AS laandregions, CAST({q('values')} AS VARCHAR) AS values, "
            f"CAST({q('lanumber')} AS VARCHAR) AS lanumber FROM read_parquet($p) "
            f"WHERE {q('shortdesc')} IN (SELECT unnest($codes))",
            {"p": str(path), "codes": list(MEASURES)}).df()
    finally:
        con.close()
    result = adapt_lait_frame(df.fillna(""), path, workdir)
    result.notes.insert(0, f"{plural(int(total[0]), 'row')} of {total[1]} indicators; {plural(len(df), 'row')} "
                           f"belong to the {len(MEASURES)} indicators that are catalogue measures, the other "
                           f"indicators have no catalogue measure and are ignored")
    return result


def adapt_statistical_neighbours(path: Path, workdir: Path, header: list[str]):
    from send_metrics.ingest.adapters.result import AdaptResult
    a = areas()
    t = read_table(path)
    rows, unmatched = [], set()
    for col, name in zip(t.df.columns, t.header):
        code = a.code_for_name(name)
        if not code:
            unmatched.add(name)
            continue
        for rank, nb in enumerate(t.df[col].tolist(), start=1):
            nb = nb.strip()
            if not nb:
                continue
            nb_code = a.code_for_name(nb)
            if not nb_code:
                unmatched.add(nb)
                continue
            rows.append([code, nb_code, str(rank)])
    notes = [f"one column per council, neighbours listed most similar first: {plural(len(t.header), 'council')}, "
             f"{plural(len(rows), 'neighbour link')}; names matched to the areas table"]
    if unmatched:
        notes.append(f"names not matched (ignored): {', '.join(sorted(unmatched))}")
    out = write_csv(workdir, "statistical_neighbours", ["area_code", "neighbour_code", "neighbour_rank"], rows)
    return AdaptResult("DfE children's services statistical neighbours", [("statistical_neighbours", out)], notes)


def _looks_like_neighbours(header: list[str]) -> bool:
    if len(header) < 5:
        return False
    a = areas()
    hits = sum(1 for h in header if a.code_for_name(h) and a.level.get(a.code_for_name(h)) == "council")
    return hits >= 0.9 * len(header)


def adapt_text(path: Path, workdir: Path, header: list[str], keys: set[str]):
    from send_metrics.ingest.adapters.result import AdaptResult
    if DICTIONARY_KEYS <= keys:
        return AdaptResult("DfE LAIT data dictionary", [], [
            "used with the LAIT long data in the same folder (polarity, units, last update); not loaded itself"])
    aliased = {c for c in LAIT_ALIASES if c in keys and LAIT_ALIASES[c] not in keys}
    if LAIT_KEYS <= keys | {LAIT_ALIASES[c] for c in aliased}:
        t = read_table(path)
        df = t.df.rename(columns={c: LAIT_ALIASES[c] for c in aliased})
        df = df[df["shortdesc"].isin(list(MEASURES))][["shortdesc", "years", "laandregions", "values", "lanumber"]]
        result = adapt_lait_frame(df, path, workdir)
        if aliased:
            result.notes.insert(0, "a filtered copy of the LAIT long data (columns " + ", ".join(
                f"'{c}' read as '{'LA and Regions' if LAIT_ALIASES[c] == 'laandregions' else 'Values'}'"
                for c in sorted(aliased)) + ")")
        return result
    if _looks_like_neighbours(header):
        return adapt_statistical_neighbours(path, workdir, header)
    return None
