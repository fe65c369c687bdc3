"""ONS mid-year population estimates by single year of age -> `population`.

Two layouts are recognised from their columns:

* ONS's own download, the "MYE2 - Persons" table (a sheet of the xls/xlsx, or the same table saved
  as CSV): `Code, Name, Geography (Geography1 in older editions), All ages, 0, 1, ..., 89, 90`
  (`90+` in some editions). Above the header ONS puts a title such as "Mid-2020 Population
  Estimates ..."; the mid-year comes from that title, else from a `mid-YYYY`/`midYYYY` or year in
  the file or folder name.
* A long table: `mid_year, <lad/ltla/utla>NN_code, ..._name, age (0..89, 90+), population` (the
  humaniverse/demographr reshaping of ONS mid-2020 by 2021 lower-tier council).

Ages 0-25 are summed into the contract's age bands (0to4, 5to10, 11to15, 16to19, 20to25); older
ages are not needed. Rows are loaded for every lower-tier council in England: unitaries, London
boroughs and metropolitan districts are dashboard councils already; other districts (E07) are added
as areas of level `district` (not summed into their county). The six former Cumbrian districts
(E07000026-E07000031) are also summed, cell by cell, into Cumberland (E06000063: Allerdale,
Carlisle, Copeland), Westmorland and Furness (E06000064: Barrow-in-Furness, Eden, South Lakeland)
and the former Cumbria County Council (E10000006), each row labelled in `source`
("ONS mid-2020; sum of ..."). Welsh and other non-English rows, and country / region / county rows
of the MYE2 table, are not loaded (reported).
"""
from __future__ import annotations

import re
from pathlib import Path

from send_metrics.ingest.adapters.common import areas, file_edition, plural, read_table, to_number, write_csv

BANDS = {"0to4": range(0, 5), "5to10": range(5, 11), "11to15": range(11, 16), "16to19": range(16, 20),
         "20to25": range(20, 26)}
# Allerdale E07000026, Barrow-in-Furness E07000027, Carlisle E07000028, Copeland E07000029,
# Eden E07000030, South Lakeland E07000031.
CUMBRIA_SUMS = {
    "E06000063": ("Cumberland", ("E07000026", "E07000028", "E07000029")),
    "E06000064": ("Westmorland and Furness", ("E07000027", "E07000030", "E07000031")),
    "E10000006": ("Cumbria (former county council)", ("E07000026", "E07000027", "E07000028", "E07000029",
                                                      "E07000030", "E07000031")),
}
POP_COLS = ["time_period", "time_identifier", "area_code", "area_level", "area_name", "age_band", "population",
            "source", "edition"]
AREA_COLS = ["area_code", "area_name", "area_level", "dfe_la_code", "rollup_complete", "coverage_note",
             "valid_from", "valid_to"]


def _age(k: str) -> int | None:
    m = re.fullmatch(r"(\d{1,3})", k)
    return int(m.group(1)) if m else None


def classify(keys: set[str]) -> str | None:
    if {"code", "name", "allages", "0", "1", "25"} <= keys:
        return "mye2"
    if "age" in keys and "population" in keys and ("midyear" in keys or "year" in keys) and any(
            re.fullmatch(r"(ltla|lad|utla|la)\d{0,2}code", k) for k in keys):
        return "long"
    return None


def _year_from(texts: list[str]) -> str | None:
    for t in texts:
        m = re.search(r"mid[-_ ]?(\d{4})", t, re.I) or re.search(r"(?<!\d)(20\d{2})(?!\d)", t)
        if m:
            return m.group(1)
    return None


def _write(path: Path, workdir: Path, year: str, by_area: dict[str, dict[str, float]], names: dict[str, str],
           skipped: dict[str, int], notes: list[str]):
    from send_metrics.ingest.adapters.result import AdaptResult
    a = areas()
    edition, evidence = file_edition(path)
    label = f"ONS mid-{year}"
    notes.insert(0, f"edition {edition}, from {evidence}; mid-year {year}")
    rows, new_areas, districts, councils = [], [], 0, 0
    for code in sorted(by_area):
        if not code.startswith("E"):
            skipped["not in England (the dashboard covers English councils)"] = skipped.get(
                "not in England (the dashboard covers English councils)", 0) + 1
            continue
        level = a.level.get(code)
        if level is None:
            if not code.startswith("E07"):
                skipped["not a lower-tier council known to the dashboard"] = skipped.get(
                    "not a lower-tier council known to the dashboard", 0) + 1
                continue
            level = "district"
            new_areas.append([code, names.get(code, code), "district", "", "false",
                              f"Lower-tier district council (population denominators only; {label}). Not summed "
                              "into its county by this load.", "", ""])
            districts += 1
        else:
            councils += 1
        for band, n in by_area[code].items():
            rows.append([year, "Calendar year", code, level, "", band, _fmt(n), label, edition])
    english = [c for c in by_area if re.fullmatch(r"E0[6789]\d{6}", c)]
    if len(english) > 250:  # every lower-tier council of England: their sum is England
        for band in BANDS:
            rows.append([year, "Calendar year", "E92000001", "england", "", band,
                         _fmt(sum(by_area[c][band] for c in english)),
                         f"{label}; sum of {len(english)} English lower-tier councils", edition])
        notes.append(f"England (E92000001) = the sum of the {len(english)} English lower-tier councils in the file")
    for target, (name, parts) in CUMBRIA_SUMS.items():
        if all(p in by_area for p in parts):
            for band in BANDS:
                total = sum(by_area[p][band] for p in parts)
                rows.append([year, "Calendar year", target, a.level.get(target, "council"), "", band, _fmt(total),
                             f"{label}; sum of {', '.join(names.get(p, p) for p in parts)}", edition])
            notes.append(f"{name} ({target}) = the sum of {', '.join(f'{names.get(p, p)} {p}' for p in parts)} "
                         f"(aged 0-25: {sum(sum(by_area[p].values()) for p in parts):,.0f}), labelled '{label}; sum "
                         "of ...'")
    notes.append(f"ages 0-25 summed into the contract's age bands (0to4, 5to10, 11to15, 16to19, 20to25); older ages "
                 f"not needed; {plural(councils, 'dashboard area')} and {plural(districts, 'other district')} "
                 f"(added as areas of level 'district') loaded; every row labelled '{label}' in `source`")
    for why, n in sorted(skipped.items()):
        notes.append(f"{plural(n, 'area')} not loaded: {why}")
    outputs = []
    if new_areas:
        outputs.append(("areas", write_csv(workdir, "areas_ons_districts", AREA_COLS, new_areas)))
    if rows:
        outputs.append(("population", write_csv(workdir, "population_ons", POP_COLS, rows)))
    return AdaptResult(f"ONS mid-year population estimates ({label})", outputs, notes)


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else repr(float(n))


def _bands(ages: dict[int, float]) -> dict[str, float] | None:
    out = {}
    for band, rng in BANDS.items():
        if any(a not in ages for a in rng):
            return None
        out[band] = sum(ages[a] for a in rng)
    return out


def adapt_long(path: Path, workdir: Path):
    from send_metrics.ingest.adapters.result import AdaptResult
    t = read_table(path)
    df = t.df
    code_col = next(k for k in df.columns if re.fullmatch(r"(ltla|lad|utla|la)\d{0,2}code", k))
    name_col = code_col[:-4] + "name"
    year_col = "midyear" if "midyear" in df.columns else "year"
    years = sorted(set(df[year_col]))
    if len(years) != 1:
        return AdaptResult("ONS mid-year population estimates (long table)", [], [
            f"{len(years)} mid-years in one file ({', '.join(years[:5])}); only one per file is loaded: not loaded"])
    ages: dict[str, dict[int, float]] = {}
    names: dict[str, str] = {}
    for code, name, age, pop in zip(df[code_col], df[name_col] if name_col in df else df[code_col], df["age"],
                                    df["population"]):
        a = _age(str(age).strip())
        n = to_number(pop)
        if a is None or a > 25 or n is None:
            continue
        ages.setdefault(code, {})[a] = n
        names[code] = name
    by_area, skipped = {}, {}
    for code, ag in ages.items():
        b = _bands(ag)
        if b is None:
            skipped["some single years of age 0-25 missing"] = skipped.get("some single years of age 0-25 missing", 0) + 1
        else:
            by_area[code] = b
    return _write(path, workdir, years[0], by_area, names, skipped, list(t.notes))


def _adapt_mye2_rows(path: Path, workdir: Path, header: list[str], body: list[list], title_texts: list[str]):
    from send_metrics.ingest.adapters.result import AdaptResult
    from send_metrics.ingest.adapters.header import key
    keys = [key(h) for h in header]
    year = _year_from(title_texts + [path.name, path.parent.name])
    if year is None:
        return AdaptResult("ONS mid-year population estimates (MYE2 persons)", [], [
            "no mid-year in the title above the table or in the file or folder name (e.g. 'Mid-2021 Population "
            "Estimates' or mid2021): not loaded"])
    ci, ni = keys.index("code"), keys.index("name")
    gi = next((i for i, k in enumerate(keys) if k in ("geography", "geography1")), None)
    age_idx = {a: i for i, k in enumerate(keys) if (a := _age(k)) is not None and a <= 25}
    by_area, names, skipped = {}, {}, {}
    for r in body:
        r = list(r) + [""] * (len(keys) - len(r))
        code = str(r[ci] or "").strip()
        if not code:
            continue
        geo = str(r[gi] or "").strip().lower() if gi is not None else ""
        if geo in ("country", "region", "county", "metropolitan county"):
            skipped[f"{geo} row (councils only)"] = skipped.get(f"{geo} row (councils only)", 0) + 1
            continue
        ages = {a: to_number(str(r[i])) for a, i in age_idx.items()}
        if any(v is None for v in ages.values()):
            skipped["a figure for an age 0-25 is not a number"] = skipped.get(
                "a figure for an age 0-25 is not a number", 0) + 1
            continue
        b = _bands(ages)
        if b is None:
            continue
        by_area[code] = b
        names[code] = str(r[ni] or "").strip()
    return _write(path, workdir, year, by_area, names, skipped,
                  [f"the MYE2 persons table (columns {', '.join(header[:4])}, 0 ... {header[-1]})"])


def adapt_text(path: Path, workdir: Path, header: list[str], keys: set[str]):
    kind = classify(keys)
    if kind == "long":
        return adapt_long(path, workdir)
    if kind == "mye2":
        t = read_table(path)
        body = t.df.values.tolist()
        return _adapt_mye2_rows(path, workdir, t.header, body, [])
    return None


def adapt_workbook(path: Path, workdir: Path):
    """The ONS download: the 'MYE2 - Persons' sheet, with its title rows above the header."""
    import openpyxl
    from send_metrics.ingest.adapters.header import key
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return None
    try:
        sheet = next((ws for ws in wb.worksheets if ws.title.strip().lower().replace(" ", "") == "mye2-persons"), None)
        if sheet is None:
            return None
        sheet.reset_dimensions()
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        wb.close()
    hdr = next((i for i, r in enumerate(rows) if {"code", "name", "allages"} <= {key(str(c)) for c in r if c is not None}),
               None)
    if hdr is None:
        return None
    titles = [" ".join(str(c) for c in r if c) for r in rows[:hdr]]
    header = ["" if c is None else str(c).strip() for c in rows[hdr]]
    return _adapt_mye2_rows(path, workdir, header, rows[hdr + 1:], titles)
