"""The SEN2 person-level return's files as they come: which Blade module a file is, the sibling
modules of one export, the ONS postcode lookup and GIAS extract beside them, the geography they
place children in, and what the reader keeps from each module (dates, codes, ranks). Read by
``adapters.blade``; the layout of the return itself is ``ingest.sen2_blade``.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from send_metrics.ingest import sen2_blade as sb
from send_metrics.ingest.adapters.header import key, read_header
from send_metrics.ingest.adapters import blade_parse
from send_metrics.ingest.adapters.blade_parse import WHITESPACE


SOURCE = "DfE SEN2 person-level return (COLLECT Blade export)"
DATE_COLUMNS = {
    "sen2": ["referencedate"], "person": ["personbirthdate"],
    "requests": ["receiveddate", "requestoutcomedate"], "assessment": ["assessmentoutcomedate"],
    "namedplan": ["startdate", "ceasedate"], "placementdetail": ["entrydate", "leavingdate"],
    "activeplans": ["reviewmeeting", "lastreview", "reviewdraft", "phasetransferduedate", "phasetransferfinaldate"],
}
CODE_COLUMNS = {
    ("requests", "requestoutcome"): sb.REQUEST_OUTCOMES, ("assessment", "assessmentoutcome"): sb.ASSESSMENT_OUTCOMES,
    ("senneed", "sentype"): dict.fromkeys(sb.SEN_TYPES), ("namedplan", "ceasereason"): sb.CEASE_REASONS,
    ("placementdetail", "sensetting"): sb.SEN_SETTINGS, ("plandetail", "sensetting"): sb.SEN_SETTINGS,
}
MODULE_CODES: dict[str, list[tuple[str, dict]]] = {}
for (_m, _c), _allowed in CODE_COLUMNS.items():
    MODULE_CODES.setdefault(_m, []).append((_c, _allowed))
# The columns of each module that the checks and the measures read; the reader keeps only these
# (names, dates of birth, UPNs, ULNs and postcodes among them, used and then dropped with the rows).
USED_COLUMNS: dict[str, set[str]] = {
    m: {tid, *([parent] if parent else []), *DATE_COLUMNS.get(m, []), *(c for c, _a in MODULE_CODES.get(m, ()))}
    for m, (tid, parent) in sb.MODULES.items()}
for _m, _cols in {"sen2": ["lea"], "person": ["surname", "forename", "upn", "uniquelearnernumber", "postcode"],
                  "assessment": ["week20"], "placementdetail": ["placementrank", "urn", "ukprn"],
                  "senneed": ["sentyperank"]}.items():
    USED_COLUMNS[_m].update(_cols)
# Each module's used columns in a fixed order (the columns of its table in the reader's database).
ORDERED_COLUMNS = {m: sorted(cols) for m, cols in USED_COLUMNS.items()}
# Ranks read as whole numbers: column -> whether it must be given (an empty placementrank ranks last).
RANK_COLUMNS = {"senneed": {"sentyperank": True}, "placementdetail": {"placementrank": False}}
# Dates a row cannot do without: column -> the reader's name for the problem.
REQUIRED_DATES = {"person": {"personbirthdate": "no birth date"}, "sen2": {"referencedate": "no census date"}}


@dataclass
class Quarantined:
    file: str
    line: int | None
    column: str
    value: str | None
    reason: str
    dataset: str = "ehcp_persons"


@dataclass
class Export:
    tag: str
    files: dict[str, Path] = field(default_factory=dict)
    version: dict[str, str] = field(default_factory=dict)


def classify(keys: set[str]) -> str | None:
    return sb.classify_module(keys)


def _is_blade(p: Path) -> str | None:
    if not p.is_file() or p.name.startswith((".", "~$")) or not p.name.lower().endswith(".csv"):
        return None
    return classify({key(h) for h in read_header(p)})


def _lookup_files(path: Path) -> tuple[list[Path], list[Path]]:
    """Postcode lookups and GIAS extracts in the data folder (or, outside it, the file's folder)."""
    from send_metrics.config import load_config
    data_dir = load_config().data_dir.resolve()
    here = path.resolve().parent
    root = data_dir if data_dir == here or data_dir in here.parents else here
    postcode, gias = [], []
    for p in sorted(root.rglob("*.csv")):
        if any(part.startswith((".", "_")) for part in p.relative_to(root).parts[:-1]):
            continue
        keys = {key(h) for h in read_header(p)}
        if sb.is_postcode_lookup(keys):
            postcode.append(p)
        elif sb.is_gias_extract(keys):
            gias.append(p)
    return postcode, gias


def _read_postcodes(paths: list[Path]) -> dict[str, str]:
    """Postcode (as sb.postcode_key spells it) -> LSOA 2021 code, a later row winning. A plain file
    (see read_plain) whose postcodes are all ASCII is read and keyed by Arrow (for ASCII text, upper
    case and the regular expression are the same in Arrow as in Python); any other, row by row."""
    out: dict[str, str] = {}
    for p in paths:
        with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
            rd = csv.reader(fh)
            header = [key(h) for h in next(rd, [])]
            at = next(header.index(k) for k in sb.POSTCODE_KEYS if k in header)
            ls = next(header.index(k) for k in sb.LSOA21_KEYS if k in header)
            plain = blade_parse.read_plain(p, len(header), [at, ls])
            if plain is not None and pc.all(pc.string_is_ascii(plain[1][0])).as_py() is not False:
                postcodes, lsoas = plain[1]
                given = pc.not_equal(lsoas, "")
                keys = pc.replace_substring_regex(pc.utf8_upper(pc.filter(postcodes, given)), "[^A-Z0-9]", "")
                out.update(zip(keys.to_pylist(), pc.utf8_trim(pc.filter(lsoas, given), WHITESPACE).to_pylist()))
                continue
            for row in rd:
                if len(row) > max(at, ls) and row[ls]:
                    out[sb.postcode_key(row[at])] = row[ls].strip()
    return out


def _read_gias(paths: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
            rd = csv.DictReader(fh)
            for row in rd:
                r = {key(k): v for k, v in row.items() if k}
                out[str(r.get("urn", "")).strip()] = sb.GIAS_SETTING.get(
                    str(r.get("typeofestablishmentname", "")).strip().lower(), "other")
    return out


def _geography() -> tuple[dict[str, str], dict[str, set[str]], dict[str, str]]:
    """LSOA21 -> locality (the geography folder's Cumbria lookup; without it, Cumberland's localities
    from the codes typed in sen2_blade), council -> its localities, DfE LA number -> council."""
    from send_metrics.config import load_config
    from send_metrics.config import REFERENCE_DIR
    lsoa: dict[str, str] = {}
    path = load_config().geo_dir / "cumbria_lsoa21_lookup.csv"
    if path.exists():
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                lsoa[row["lsoa21cd"]] = row["locality_code"]
    else:
        lsoa = {code: locality for locality, codes in sb.CUMBERLAND_LSOA21.items() for code in codes}
    members: dict[str, set[str]] = {}
    with open(REFERENCE_DIR / "area_membership.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("relationship") == "council":
                members.setdefault(row["parent_code"], set()).add(row["child_code"])
    councils: dict[str, str] = {}
    with open(REFERENCE_DIR / "areas.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("dfe_la_code") and row.get("area_level") == "council":
                councils[row["dfe_la_code"].strip()] = row["area_code"]
    return lsoa, members, councils


_SIBLINGS: dict[Path, tuple[tuple, list[tuple[str, Path]]]] = {}


def _siblings(path: Path) -> list[tuple[str, Path]]:
    """The Blade files of `path`'s folder (module, path), by name. The loader asks once for each of
    them, so the answer is kept while the folder's files (names, sizes, modification times) stay the same."""
    folder = path.parent
    with os.scandir(folder) as it:
        seen = tuple(sorted((e.name, st.st_size, st.st_mtime_ns) for e in it for st in [e.stat()]))
    kept = _SIBLINGS.get(folder)
    if kept is not None and kept[0] == seen:
        return kept[1]
    out = []
    for p in sorted(folder.iterdir(), key=lambda q: q.name):
        m = _is_blade(p)
        if m:
            out.append((m, p))
    _SIBLINGS.clear()
    _SIBLINGS[folder] = (seen, out)
    return out
