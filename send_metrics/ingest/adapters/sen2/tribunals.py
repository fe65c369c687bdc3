"""The SEND Tribunal appeal-rate table published with the SEN2 release (a formatted spreadsheet saved as CSV).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from send_metrics.ingest.adapters.common import file_edition, fmt_number, plural, text_key, to_number
from send_metrics.ingest.adapters.sen2.outputs import (
    AREA_COLS,
    COMBINED_CODE,
    combined_area_outputs,
    combined_rows,
    rows_to_csv,
)


# -- the SEND Tribunal appeal-rate table (a formatted spreadsheet saved as CSV) -----------------

TRIBUNAL_SYMBOLS = {"..": "x", "~": "c", "x": "x", "c": "c", "z": "z"}


def _tribunal_cell(v: str) -> str:
    """A cell of the appeal-rate table: '-' is nil (its rate is published as 0.00%), '..' not available,
    '~' suppressed; thousands separators removed."""
    t = str(v).strip()
    if t in ("-", "–"):
        return "0"
    if t in TRIBUNAL_SYMBOLS:
        return TRIBUNAL_SYMBOLS[t]
    n = to_number(t.replace(",", ""))
    return fmt_number(n) if n is not None else ("x" if t == "" else "x")


def adapt_tribunals(path: Path, workdir: Path):
    import csv as _csv
    from send_metrics.ingest.adapters.common import areas as _areas
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    table = list(_csv.reader(text.splitlines()))
    edition, evidence = file_edition(path)
    notes = [f"edition {edition}, from {evidence}"]
    head = next((i for i, r in enumerate(table) if r and text_key(r[0]) == "localauthority"), None)
    if head is None or head + 1 >= len(table):
        return [], notes + ["no 'Local Authority' header row found: not loaded"]
    years_row, labels = table[head], table[head + 1]
    blocks = []  # (year, appeals column, decisions column)
    for j, cell in enumerate(years_row):
        if re.fullmatch(r"\s*(19|20)\d\d\s*", cell or "") and j + 1 < len(labels):
            if "appeal" in (labels[j] or "").lower() and "appealable" in (labels[j + 1] or "").lower():
                blocks.append((int(cell), j, j + 1))
    ref = _areas()
    from send_metrics.ingest.adapters.common import REFERENCE_AREAS
    ends = {c: v for c, v in pd.read_csv(REFERENCE_AREAS, dtype=str, keep_default_na=False)[["area_code", "valid_to"]]
            .itertuples(index=False) if v}
    out, unknown, gone, mismatched = [], [], [], []
    for i, r in enumerate(table[head + 2:], start=head + 3):
        if not r or not r[0].strip() or r[0].lower().startswith(("notes", "sources", "1.", "..", "~")):
            continue
        name = re.sub(r"[\d,]+$", "", r[0].strip()).strip()
        dfe = (r[1] if len(r) > 1 else "").strip()
        if text_key(name).startswith("englandtotal") and "excluding" not in name.lower():
            code, level = "E92000001", "england"
        elif dfe:
            # The name decides: this table's LA codes are not always DfE's (the 2025 table gives
            # Northamptonshire 892, Nottingham 891 and Nottinghamshire 928, which are DfE's Nottingham,
            # Nottinghamshire and Northamptonshire); the number is used only for a name not matched.
            by_name, by_number = ref.code_for_name(name), ref.by_dfe.get(dfe)
            code = by_name or by_number
            if by_name and by_number and by_name != by_number:
                mismatched.append(f"{name} ({dfe})")
            level = ref.level_of(code, "council") if code else ""
        else:
            continue  # region headings (no figures), "England total excluding suppressed", footnotes
        if not code:
            unknown.append(f"{name} ({dfe})")
            continue
        for year, a, d in blocks:
            if max(a, d) >= len(r):
                continue
            appeals, decisions = _tribunal_cell(r[a]), _tribunal_cell(r[d])
            if appeals == "x" and decisions == "x":
                continue  # '..': the council did not exist that year (Cumbria from 2023; Cumberland before)
            if code in ends and f"{year}-12-31" > ends[code]:
                # An abolished council's calendar year that ends after it (Northamptonshire 2021: appeals of
                # January-March only, no appealable decisions): not a figure for a whole year.
                gone.append(f"{name} {year}")
                continue
            out.append({"time_period": str(year), "time_identifier": "Calendar year", "area_code": code,
                        "area_level": level, "area_name": name, "appeals_registered": appeals,
                        "appealable_decisions": decisions, "edition": edition})
    notes.append(f"appeals registered and total appealable decisions for {len(blocks)} calendar years "
                 f"({blocks[0][0]}-{blocks[-1][0]}) -> tribunal_appeals (the published rate is recomputed as "
                 "appeals / appealable decisions); '-' is nil (published rate 0.00%), '..' not available, '~' "
                 "suppressed; the 'In development' appealable-decisions columns are not loaded"
                 if blocks else "no year columns found")
    if unknown:
        notes.append(f"{plural(len(unknown), 'row')} not matched to an area: {', '.join(unknown[:5])}")
    if mismatched:
        notes.append(f"{plural(len(mismatched), 'row')} whose LA code is another council's DfE number, matched by "
                     f"name: {', '.join(mismatched)}")
    if gone:
        notes.append(f"not loaded: {', '.join(gone)}: the council was abolished during the year (its figures for "
                     "the rest of the year are its successors'), so the year is not a whole-year figure for it")
    if not out:
        return [], notes
    cols = ["appeals_registered", "appealable_decisions"]
    out += combined_rows(out, [], cols)
    outputs = [("tribunal_appeals", rows_to_csv(workdir, "tribunal_appeals", AREA_COLS + cols + ["edition"], out))]
    if any(r["area_code"] == COMBINED_CODE for r in out):
        outputs += combined_area_outputs(workdir, edition, "tribunal_appeals")
    return outputs, notes
