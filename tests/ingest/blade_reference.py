"""The previous SEN2 Blade export reader (send_metrics/ingest/adapters/blade.py as it was at commit 829196e,
before its checks and counting moved into SQL), kept unchanged as the oracle of
tests/ingest/test_blade_reader_identical.py: the current reader must give the same notes, quarantine rows
and output files. Not used by the application.

The SEN2 person-level return exported from COLLECT (the nine "Blade export" CSV files).

Recognised by columns (a module's `<module>tableid` and `<module>orderseqcolumn`). The Blade files of
one folder are read together by the first of them (by name); every other one says so. Files of one
export share the date in their names (`Blade-Export_<DD-MM-YYYY>_<module>.csv`); each export is one
return, with its census (reference) date and council (`lea`) in its `sen2` module.

Rows that cannot be used go to the load's quarantine with file, row, column and reason (never a
name, date of birth, UPN, ULN or postcode as the value): duplicate table ids or persons, broken links
(a row whose parent is missing or was itself quarantined), dates that are not dates or come before
the step they follow, and codes outside the return's lists. What is written (contract-shaped CSVs):

* ehcp_persons: one row per child with a plan open on the census date: pseudonymous id, age band at
  the census date, national curriculum year by age (ncy, for the demand model), primary need
  (sentyperank 1), setting (highest-ranked placement);
* ehcp_assessments: the calendar year before the census (DfE's definitions: see docs/sen2-person-level.md);
* ehcp_pathway: one row per request, with the days from the request to each step or to the census
  date while it is open (for the Pathway page's survival curves).

With an ONS postcode lookup (ONSPD / NSPL layout, LSOA 2021) in the data folder, children are placed in
LSOAs and so in the dashboard's localities; without it the figures are the council's.
"""
from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from operator import itemgetter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from send_metrics.ingest import sen2_blade as sb
from send_metrics.ingest.adapters.header import key, read_header

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
_NOT_A_DATE = object()


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
    rows: dict[str, dict[str, dict]] = field(default_factory=dict)  # module -> table id -> row
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
    out: dict[str, str] = {}
    for p in paths:
        with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
            rd = csv.reader(fh)
            header = [key(h) for h in next(rd, [])]
            pc = next(header.index(k) for k in sb.POSTCODE_KEYS if k in header)
            ls = next(header.index(k) for k in sb.LSOA21_KEYS if k in header)
            for row in rd:
                if len(row) > max(pc, ls) and row[ls]:
                    out[sb.postcode_key(row[pc])] = row[ls].strip()
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
    from send_metrics.ingest.store import REFERENCE_DIR
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


def _siblings(path: Path) -> list[tuple[str, Path]]:
    out = []
    for p in sorted(path.parent.iterdir(), key=lambda q: q.name):
        m = _is_blade(p)
        if m:
            out.append((m, p))
    return out


class _Reader:
    def __init__(self):
        self.problems: list[Quarantined] = []
        self.notes: list[str] = []

    def bad(self, module_file: Path, line: int | None, column: str, value, reason: str) -> None:
        shown = None if column in sb.PERSONAL_COLUMNS or value is None else str(value)[:80]
        self.problems.append(Quarantined(module_file.name, line, column, shown, reason))

    def read_export(self, ex: Export) -> None:
        """Read and check every module; rows that fail a check are quarantined (with their children)."""
        for module in sb.MODULES:
            ex.rows[module] = {}
            p = ex.files.get(module)
            if p is None:
                continue
            tid, _parent = sb.MODULES[module]
            with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
                rd = csv.reader(fh)
                header = [key(h) for h in next(rd, [])]
                ex.version[module] = sb.layout_version(module, set(header))
                # Only the columns the checks and measures read are kept (the rest are never used).
                wanted = [c for c in dict.fromkeys(header) if c in USED_COLUMNS[module]]
                where = [len(header) - 1 - header[::-1].index(c) for c in wanted]  # the last of a repeated name
                pick = itemgetter(*where) if len(where) > 1 else (lambda raw, j=where[0]: (raw[j],)) if where \
                    else (lambda raw: ())
                first_line: dict[str, int] = {}
                rows = ex.rows[module]
                check = self._row_checker(p, module)
                strip = str.strip
                for i, raw in enumerate(rd, start=2):
                    if not any(raw):
                        continue  # a blank line
                    if len(raw) < len(header):  # cut short: its missing columns would be read as absent
                        self.bad(p, i, header[len(raw)], "",
                                 f"the row has {len(raw)} fields where the header has {len(header)} (cut short)")
                        continue
                    row = dict(zip(wanted, map(strip, pick(raw))))
                    row["_line"] = i
                    ident = row.get(tid, "")
                    if not ident:
                        self.bad(p, i, tid, "", f"the {module} table id is empty")
                        continue
                    if ident in first_line:
                        self.bad(p, i, tid, ident, f"duplicate {tid}: same as row {first_line[ident]}")
                        continue
                    first_line[ident] = i
                    if check(row):
                        rows[ident] = row
        # Links, parents before children: a row whose parent is missing or quarantined is quarantined.
        for module, parent_module in sb.PARENT_MODULE.items():
            parent_key = sb.MODULES[module][1]
            parents = ex.rows.get(parent_module, {})
            p = ex.files.get(module)
            rows = ex.rows[module]
            broken = [ident for ident, row in rows.items() if row.get(parent_key, "") not in parents]
            for ident in broken:
                row = rows.pop(ident)
                self.bad(p, row["_line"], parent_key, row.get(parent_key),
                         f"broken link: {parent_key} {row.get(parent_key)!r} is not a usable row of the "
                         f"{parent_module} module (missing, or quarantined)")
        self._check_order(ex)
        self._duplicate_people(ex)

    def _row_checker(self, p: Path, module: str):
        """A function checking one row of `module` (dates parsed into `_<column>`, codes upper-cased),
        quarantining it and returning False at its first problem. Dates are parsed once per distinct text."""
        dates = [(col, "_" + col) for col in DATE_COLUMNS.get(module, [])]
        codes = MODULE_CODES.get(module, ())
        parsed: dict[str, object] = {}
        bad, not_date = self.bad, _NOT_A_DATE
        senneed, person, sen2 = module == "senneed", module == "person", module == "sen2"
        placement = module == "placementdetail"

        def check(row: dict) -> bool:
            for col, parsed_col in dates:
                text = row.get(col)
                value = parsed.get(text, parsed) if text is not None else None
                if value is parsed:
                    try:
                        value = sb.parse_blade_date(text)
                    except sb.BadDate:
                        value = not_date
                    parsed[text] = value
                if value is not_date:
                    bad(p, row["_line"], col, text, "not a date (the export writes e.g. 2022-Sep-28 00:00:00)")
                    return False
                row[parsed_col] = value
            for col, allowed in codes:
                value = row.get(col)
                if value:
                    value = row[col] = value.upper()
                    if value not in allowed:
                        bad(p, row["_line"], col, value, f"unknown {col} code (allowed: {', '.join(allowed)})")
                        return False
            if senneed and not row.get("sentyperank", "").isdigit():
                bad(p, row["_line"], "sentyperank", row.get("sentyperank"), "sentyperank is not a whole number")
                return False
            if placement and row.get("placementrank") and not row["placementrank"].isdigit():
                bad(p, row["_line"], "placementrank", row["placementrank"], "placementrank is not a whole number")
                return False
            if person and row.get("_personbirthdate") is None:
                bad(p, row["_line"], "personbirthdate", None, "date of birth is empty (needed for the age)")
                return False
            if sen2 and row.get("_referencedate") is None:
                bad(p, row["_line"], "referencedate", row.get("referencedate"), "the census (reference) date is empty")
                return False
            return True
        return check

    def _check_order(self, ex: Export) -> None:
        """Impossible dates: a step dated before the step it follows."""
        req, ass, plans = ex.rows["requests"], ex.rows["assessment"], ex.rows["namedplan"]
        requests_before, plans_before, active_before = len(req), len(plans), len(ex.rows["activeplans"])
        for ident, r in list(req.items()):
            if r.get("_receiveddate") is None:
                self.bad(ex.files["requests"], r["_line"], "receiveddate", "", "the request's received date is empty")
                del req[ident]
            elif r.get("_requestoutcomedate") and r["_requestoutcomedate"] < r["_receiveddate"]:
                self.bad(ex.files["requests"], r["_line"], "requestoutcomedate", r["requestoutcomedate"],
                         f"impossible date: the decision is before the request was received ({r['receiveddate']})")
                del req[ident]
        for ident, a in list(ass.items()):
            r = req.get(a["requeststableid"])
            if r is None:
                self.bad(ex.files["assessment"], a["_line"], "requeststableid", a["requeststableid"],
                         "broken link: its request was quarantined")
                del ass[ident]
            elif a.get("_assessmentoutcomedate") and a["_assessmentoutcomedate"] < (r.get("_requestoutcomedate")
                                                                                   or r["_receiveddate"]):
                self.bad(ex.files["assessment"], a["_line"], "assessmentoutcomedate", a["assessmentoutcomedate"],
                         "impossible date: the decision whether to issue is before the decision to assess")
                del ass[ident]
        for ident, n in list(plans.items()):
            a = ass.get(n["assessmenttableid"])
            r = req.get(a["requeststableid"]) if a else None
            if r is None:
                self.bad(ex.files["namedplan"], n["_line"], "assessmenttableid", n["assessmenttableid"],
                         "broken link: its assessment or request was quarantined")
                del plans[ident]
            elif n.get("_startdate") and n["_startdate"] < r["_receiveddate"]:
                self.bad(ex.files["namedplan"], n["_line"], "startdate", n["startdate"],
                         "impossible date: the plan was issued before the request was received")
                del plans[ident]
            elif n.get("_ceasedate") and n.get("_startdate") and n["_ceasedate"] < n["_startdate"]:
                self.bad(ex.files["namedplan"], n["_line"], "ceasedate", n["ceasedate"],
                         "impossible date: the plan ceased before it was issued")
                del plans[ident]
        # (The link checks already matched every child to its parent: only a parent removed here can break one.)
        removed = {"plandetail": len(plans) < plans_before, "activeplans": len(req) < requests_before}
        for module, parent, col in (("plandetail", plans, "namedplantableid"), ("activeplans", req, "requeststableid")):
            if not removed[module]:
                continue
            for ident, row in list(ex.rows[module].items()):
                if row[col] not in parent:
                    self.bad(ex.files[module], row["_line"], col, row[col], "broken link: its parent row was quarantined")
                    del ex.rows[module][ident]
        for module, col in (("placementdetail", "activeplanstableid"), ("senneed", "activeplanstableid")):
            if len(ex.rows["activeplans"]) == active_before:
                continue
            for ident, row in list(ex.rows[module].items()):
                if row[col] not in ex.rows["activeplans"]:
                    self.bad(ex.files[module], row["_line"], col, row[col], "broken link: its parent row was quarantined")
                    del ex.rows[module][ident]

    def _duplicate_people(self, ex: Export) -> None:
        """The same child twice in the person module (same UPN, ULN, or name and date of birth)."""
        seen: dict[str, int] = {}
        people = ex.rows["person"]
        people_before = len(people)
        for ident, row in sorted(people.items(), key=lambda kv: kv[1]["_line"]):
            identity = sb.normalise_identity(row.get("upn", ""), row.get("uniquelearnernumber", ""),
                                             row.get("surname", ""), row.get("forename", ""), row["_personbirthdate"])
            if identity is None:
                self.bad(ex.files["person"], row["_line"], "upn", None,
                         "no UPN, ULN or name to link the child by (no pseudonymous id can be made)")
                del people[ident]
                continue
            if identity in seen:
                self.bad(ex.files["person"], row["_line"], identity.split(":")[0].lower().replace("ndb", "surname"),
                         None, f"duplicate person: the same child as row {seen[identity]}")
                del people[ident]
                continue
            seen[identity] = row["_line"]
            row["_identity"] = identity
        # Their requests (and what hangs off them) go with them (every child's parent was there before).
        if len(people) == people_before:
            return
        for module in ("requests", "assessment", "namedplan", "plandetail", "activeplans", "placementdetail", "senneed"):
            parent_module = sb.PARENT_MODULE[module]
            parent_key = sb.MODULES[module][1]
            for ident, row in list(ex.rows[module].items()):
                if row[parent_key] not in ex.rows[parent_module]:
                    self.bad(ex.files[module], row["_line"], parent_key, row[parent_key],
                             "broken link: its parent row was quarantined")
                    del ex.rows[module][ident]


ASSESS_COLUMNS = ["requests", "requests_refused", "decisions", "decisions_within_6_weeks", "new_plans",
                  "plans_issued_ex", "plans_issued_20wk_ex", "plans_issued_inc", "plans_issued_20wk_inc",
                  "reviews_due", "reviews_on_time", "reviews_held", "assessments", "assessments_not_issued"]


_DECISION = {"A": "withdrawn", "B": "refused", "C": "assess"}  # request outcome -> the pathway's decision
_ISSUE_DECISION = {"Y": "issue", "S": "issue", "N": "not_issued", "A": "withdrawn"}
_postcode_key = lru_cache(maxsize=1 << 17)(sb.postcode_key)  # a child's postcode recurs in every return


def _year_before(d: dt.date) -> dt.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def _setting(placements: list[dict], gias: dict[str, str] | None) -> str | None:
    """The contract setting type of the highest-ranked placement; None when it needs GIAS and there is none."""
    if not placements:
        return "other"
    top = min(placements, key=lambda r: int(r.get("placementrank") or 99))
    if top.get("urn"):
        if gias is None:
            return None
        return gias.get(top["urn"], "other")
    if top.get("ukprn"):
        return "post16"
    return sb.SEN_SETTINGS.get(top.get("sensetting", ""), "other")


def _ncy(birth: dt.date, census: dt.date) -> str:
    """National curriculum year by age (for the demand model): age on the 31 August before the
    census date, minus 4; blank outside -5..21."""
    v = sb.age_on(birth, dt.date(census.year - 1, 8, 31)) - 4 if birth <= dt.date(census.year - 1, 8, 31) else -5
    return str(v) if -5 <= v <= 21 else ""


def adapt_blade(path: Path, workdir: Path, module: str):
    from send_metrics.ingest.adapters.result import AdaptResult
    from send_metrics.ingest.adapters.common import write_csv
    fmt = f"{SOURCE}, {module} module"
    siblings = _siblings(path)
    leader = siblings[0][1] if siblings else path
    if leader != path:
        return AdaptResult(fmt, [], [f"read together with {leader.name}, which reads every Blade export file of "
                                     f"this folder (linked by table ids)"])
    exports: dict[str, Export] = {}
    for m, p in siblings:
        ex = exports.setdefault(sb.export_tag(p), Export(sb.export_tag(p)))
        if m in ex.files:
            return AdaptResult(fmt, [], [f"two {m} files for one export ({ex.files[m].name}, {p.name}): name each "
                                         f"export's files Blade-Export_<DD-MM-YYYY>_<module>.csv; not loaded"])
        ex.files[m] = p
    reader = _Reader()
    notes = reader.notes
    postcode_files, gias_files = _lookup_files(path)
    postcodes = _read_postcodes(postcode_files) if postcode_files else None
    gias = _read_gias(gias_files) if gias_files else None
    lsoa_locality, council_members, councils = _geography()
    if postcodes is None:
        notes.append("no ONS postcode lookup (ONSPD / NSPL with LSOA 2021 codes) in the data folder: children are "
                     "not placed in localities, so figures are the council's only (drop the lookup into data/ "
                     "for locality and health-footprint figures)")
    else:
        notes.append(f"postcodes placed through {', '.join(p.name for p in postcode_files)} "
                     f"({len(postcodes)} postcodes); postcodes are dropped after the lookup")
    if gias is None:
        notes.append("no Get Information About Schools extract in the data folder: placements named by URN cannot "
                     "be typed, so caseload is not broken down by setting (setting 'all')")
    key_bytes = sb.pseudonym_key()
    persons_rows, caseload_rows, assess_rows, ceased_rows = [], [], [], []
    pathway: dict[str, list] = {}
    for tag in sorted(exports, key=lambda t: (t[6:], t[3:5], t[:2])):
        ex = exports[tag]
        missing = [m for m in sb.MODULES if m not in ex.files]
        if missing:
            notes.append(f"export {tag or '(unnamed)'}: modules missing ({', '.join(missing)}); their rows are empty")
        reader.read_export(ex)
        if len(ex.rows["sen2"]) != 1:
            notes.append(f"export {tag}: the sen2 module must hold one return header; this export is not loaded")
            continue
        header = next(iter(ex.rows["sen2"].values()))
        census = header["_referencedate"]
        council = councils.get(header.get("lea", "").lstrip("0").zfill(3))
        if council is None:
            reader.bad(ex.files["sen2"], header["_line"], "lea", header.get("lea"), "unknown DfE LA number")
            continue
        versions = sorted({v for v in ex.version.values() if v != "any"})
        notes.append(f"return of January {census.year} (census date {census.isoformat()}, LA {header.get('lea')}, "
                     f"layout {max(versions) if versions else 'unknown'}): " + ", ".join(
                         f"{len(ex.rows[m])} {m}" for m in sb.MODULES if m != "sen2"))
        # People: pseudonymous id, age, locality. Nothing personal is kept past this loop.
        people: dict[str, dict] = {}
        unplaced = Counter()
        for pid, row in ex.rows["person"].items():
            locality = None
            if postcodes is not None:
                lsoa = postcodes.get(_postcode_key(row.get("postcode")))
                locality = lsoa_locality.get(lsoa) if lsoa else None
                if locality not in council_members.get(council, set()):
                    unplaced["no postcode" if not row.get("postcode") else
                             "postcode not in the lookup" if lsoa is None else "outside the council's localities"] += 1
                    locality = None
            people[pid] = {"id": sb.pseudonymise(row["_identity"], key_bytes), "birth": row["_personbirthdate"],
                           "identity": row["_identity"], "locality": locality}
        if unplaced:
            notes.append(f"January {census.year}: {sum(unplaced.values())} children not placed in a locality ("
                         + ", ".join(f"{n} {why}" for why, n in unplaced.items()) + "); they count in the council's figures")
        req, ass, plans = ex.rows["requests"], ex.rows["assessment"], ex.rows["namedplan"]
        active_by_request: dict[str, dict] = {a["requeststableid"]: a for a in ex.rows["activeplans"].values()}
        needs: dict[str, list] = {}
        for n in ex.rows["senneed"].values():
            needs.setdefault(n["activeplanstableid"], []).append(n)
        placements: dict[str, list] = {}
        for pl in ex.rows["placementdetail"].values():
            if pl.get("_leavingdate") is None or pl["_leavingdate"] > census:
                placements.setdefault(pl["activeplanstableid"], []).append(pl)
        plan_of_assessment = {n["assessmenttableid"]: n for n in plans.values()}
        ass_of_request = {a["requeststableid"]: a for a in ass.values()}

        need_of_request: dict[str, str] = {}

        def primary_need(request_id: str) -> str:
            need = need_of_request.get(request_id)
            if need is None:
                ap = active_by_request.get(request_id)
                ranked = sorted(needs.get(ap["activeplanstableid"], []), key=lambda r: int(r["sentyperank"])) if ap else []
                need = need_of_request[request_id] = ranked[0]["sentype"] if ranked and ranked[0]["sentyperank"] == "1" \
                    else "UNK"
            return need

        # Caseload: plans issued on or before the census date and not ceased by it.
        counted: dict[str, int] = {}
        reviews: list[tuple[dict, dict | None, dt.date]] = []
        year_rows = []
        setting_unknown = False
        for n in sorted(plans.values(), key=lambda r: r["_line"]):
            if n["_startdate"] is None or n["_startdate"] > census or (n["_ceasedate"] and n["_ceasedate"] <= census):
                continue
            a = ass[n["assessmenttableid"]]
            r = req[a["requeststableid"]]
            person = people[r["persontableid"]]
            if person["id"] in counted:
                reader.bad(ex.files["namedplan"], n["_line"], "startdate", n["startdate"],
                           f"duplicate: a second open plan for the same child (the first is row {counted[person['id']]})")
                continue
            counted[person["id"]] = n["_line"]
            band = sb.age_band(sb.age_on(person["birth"], census))
            if band is None:
                reader.bad(ex.files["person"], None, "personbirthdate", None,
                           f"age on the census date is outside 0-25 (named plan row {n['_line']})")
                continue
            reviews.append((person, active_by_request.get(r["requeststableid"]), n["_startdate"]))
            ap = active_by_request.get(r["requeststableid"])
            setting = _setting(placements.get(ap["activeplanstableid"], []) if ap else [], gias)
            setting_unknown |= setting is None
            year_rows.append([census.year, "January", person["locality"], person["id"],
                              primary_need(r["requeststableid"]), band, setting, _ncy(person["birth"], census)])
        for row in year_rows:
            if setting_unknown:
                row[6] = "all"
        placed_all = postcodes is not None and all(p["locality"] for p in people.values())
        for row in year_rows:
            if postcodes is None:
                persons_rows.append([row[0], row[1], council, "council", row[3], row[4], row[5], row[6], row[7]])
            elif row[2]:
                persons_rows.append([row[0], row[1], row[2], "locality", row[3], row[4], row[5], row[6], row[7]])
        if postcodes is not None and not placed_all:
            # Some children are not placed: their locality rows stay, and the council's caseload is given
            # directly (all children), so it is not built from incomplete localities.
            cells = Counter((r[4], r[5], r[6]) for r in year_rows)
            caseload_rows += [[census.year, "January", council, "council", n, b, s, c] for (n, b, s), c in cells.items()]
            # The placed children's rows stay at locality level; the council's figure comes from all of them.
        # Assessments in the calendar year before the census (DfE's definitions).
        year = census.year - 1
        by_area: dict[str, Counter] = {}
        ceased: dict[str, Counter] = {}

        # Each child's area, and the areas its activity counts in: the council when children are not
        # placed; its locality when every child is; else its locality and the council (given directly).
        for person in people.values():
            area = person["area"] = person["locality"] if postcodes is not None and person["locality"] else council
            person["areas"] = (council,) if postcodes is None else (area,) if placed_all or area == council \
                else (area, council)

        for r in req.values():
            person = people[r["persontableid"]]
            areas = person["areas"]
            rec = r["_receiveddate"]
            a = ass_of_request.get(r["requeststableid"])
            n = plan_of_assessment.get(a["assessmenttableid"]) if a else None
            exception = sb.flag(a.get("week20")) if a else None
            for area in areas:
                c = by_area.get(area)
                if c is None:
                    c = by_area[area] = Counter()
                if rec.year == year:
                    c["requests"] += 1
                    if r["_requestoutcomedate"] and r["requestoutcome"] in (sb.REQUEST_REFUSED, sb.REQUEST_ASSESS):
                        c["decisions"] += 1
                        c["decisions_within_6_weeks"] += (r["_requestoutcomedate"] - rec).days <= 42
                        c["requests_refused"] += r["requestoutcome"] == sb.REQUEST_REFUSED
                # Assessments completed in the year (DfE assess_in_year): a plan issued in the year, or a
                # decision not to issue / a withdrawal dated in the year.
                if a is not None and a["assessmentoutcome"] in ("N", "A") and a.get("_assessmentoutcomedate") \
                        and a["_assessmentoutcomedate"].year == year:
                    c["assessments"] += 1
                    c["assessments_not_issued"] += a["assessmentoutcome"] == "N"
                if n is not None and n["_ceasedate"] and n["_ceasedate"].year == year:
                    ceased.setdefault(area, Counter())[sb.CEASE_REASON_CODES.get(n.get("ceasereason", ""),
                                                                                  "not_recorded")] += 1
                if n is not None and n["_startdate"] and n["_startdate"].year == year:
                    c["assessments"] += 1
                    c["new_plans"] += 1
                    if a["assessmentoutcome"] != sb.OTHER_LA_ASSESSMENT:
                        within = (n["_startdate"] - rec).days <= 140
                        c["plans_issued_inc"] += 1
                        c["plans_issued_20wk_inc"] += within
                        if not exception:
                            c["plans_issued_ex"] += 1
                            c["plans_issued_20wk_ex"] += within
            # Pathway: one row per request, from the latest return that holds it.
            rid = sb.pseudonymise(f"{person['identity']}|{rec.isoformat()}", key_bytes, prefix="R")
            decided = r["_requestoutcomedate"]
            issued_decision = a.get("_assessmentoutcomedate") if a else None
            final = n.get("_startdate") if n else None
            age_then = sb.age_band(max(0, sb.age_on(person["birth"], rec)))
            area = person["area"]
            pathway[rid] = [rec.year, "Calendar year", area, "locality" if area != council
                            else "council", rid, primary_need(r["requeststableid"]), age_then or "all",
                            _DECISION.get(r["requestoutcome"], "open") if decided else "open",
                            (decided - rec).days if decided else "",
                            (_ISSUE_DECISION.get(a["assessmentoutcome"], "open")
                             if issued_decision else "open") if a else ("open" if not decided else "none"),
                            (issued_decision - rec).days if issued_decision else "",
                            (final - rec).days if final else "",
                            "Y" if a and exception else "N",
                            (census - rec).days, census.year]
        # Annual reviews (DfE annual_reviews.csv, reported for the calendar year before the census):
        # a review is expected for a plan open on the census date that was issued at least a year
        # before it; held = its latest review meeting is in the calendar year; on time = its latest
        # review meeting is less than 12 months before the census date.
        year_before = _year_before(census)
        for person, ap, start in reviews:
            if start > year_before:
                continue
            meeting = (ap.get("_reviewmeeting") or ap.get("_lastreview")) if ap else None
            for area in person["areas"]:
                c = by_area.get(area)
                if c is None:
                    c = by_area[area] = Counter()
                c["reviews_due"] += 1
                c["reviews_held"] += bool(meeting and meeting.year == year)
                c["reviews_on_time"] += bool(meeting and year_before < meeting <= census)
        for area, c in sorted(by_area.items()):
            level = "council" if area == council else "locality"
            assess_rows.append([year, "Calendar year", area, level] + [c[k] for k in ASSESS_COLUMNS])
        all_areas = set(by_area) | ({council} if not placed_all else set())
        if placed_all:
            # A locality with no request in the year still has its (zero) row, so the council rolls up.
            for loc in sorted(council_members.get(council, set()) - set(by_area)):
                assess_rows.append([year, "Calendar year", loc, "locality"] + [0] * len(ASSESS_COLUMNS))
            all_areas = set(by_area) | council_members.get(council, set())
        for area in sorted(all_areas):
            level = "council" if area == council else "locality"
            c = ceased.get(area, Counter())
            ceased_rows += [[year, "Calendar year", area, level, reason, c[reason]]
                            for reason in sb.CEASE_REASON_CODES.values()]
            ceased_rows.append([year, "Calendar year", area, level, "not_recorded", c["not_recorded"]])
        ex.rows.clear()  # this return is counted: free its rows before the next one is read
    outputs = []
    base = ["time_period", "time_identifier", "area_code", "area_level"]
    if persons_rows:
        outputs.append(("ehcp_persons", write_csv(workdir, "blade_ehcp_persons.csv",
                                                  base + ["person_id", "primary_need", "age_band", "setting_type",
                                                          "ncy"],
                                                  persons_rows)))
    if caseload_rows:
        outputs.append(("ehcp_caseload", write_csv(workdir, "blade_ehcp_caseload.csv",
                                                   base + ["primary_need", "age_band", "setting_type", "ehc_plans"],
                                                   caseload_rows)))
    if assess_rows:
        outputs.append(("ehcp_assessments", write_csv(workdir, "blade_ehcp_assessments.csv", base + ASSESS_COLUMNS,
                                                      assess_rows)))
    if ceased_rows:
        outputs.append(("ehcp_ceased", write_csv(workdir, "blade_ehcp_ceased.csv", base + ["cease_reason", "ceased_plans"],
                                                 ceased_rows)))
    if pathway:
        outputs.append(("ehcp_pathway", write_csv(workdir, "blade_ehcp_pathway.csv", base + [
            "request_id", "primary_need", "age_band", "decision", "days_to_decision", "issue_decision",
            "days_to_issue_decision", "days_to_plan", "exception", "days_observed", "observed_year"],
            list(pathway.values()))))
    if reader.problems:
        by_reason = Counter(p.reason.split(":")[0] for p in reader.problems)
        notes.append(f"{len(reader.problems)} rows quarantined (" + ", ".join(f"{n} {r}" for r, n in by_reason.items())
                     + ")")
    result = AdaptResult(fmt, outputs, notes)
    result.problems = reader.problems
    result.files_read = [p for _m, p in siblings]
    return result
