"""The SEN2 person-level return exported from COLLECT (the nine "Blade export" CSV files).

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
import gc
import hashlib
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from send_metrics.ingest import sen2_blade as sb
from send_metrics.config import sql_text
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
    (see _read_plain) whose postcodes are all ASCII is read and keyed by Arrow (for ASCII text, upper
    case and the regular expression are the same in Arrow as in Python); any other, row by row."""
    out: dict[str, str] = {}
    for p in paths:
        with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
            rd = csv.reader(fh)
            header = [key(h) for h in next(rd, [])]
            at = next(header.index(k) for k in sb.POSTCODE_KEYS if k in header)
            ls = next(header.index(k) for k in sb.LSOA21_KEYS if k in header)
            plain = _read_plain(p, len(header), [at, ls])
            if plain is not None and pc.all(pc.string_is_ascii(plain[1][0])).as_py() is not False:
                postcodes, lsoas = plain[1]
                given = pc.not_equal(lsoas, "")
                keys = pc.replace_substring_regex(pc.utf8_upper(pc.filter(postcodes, given)), "[^A-Z0-9]", "")
                out.update(zip(keys.to_pylist(), pc.utf8_trim(pc.filter(lsoas, given), _WHITESPACE).to_pylist()))
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


class _Reader:
    """Reads one export (return) through a cursor of the reader's in-memory DuckDB (`con`): each
    module's used columns, as text, in the cursor's temporary table `m_<module>` (with its parsed
    dates as `_<column>` and its ranks as whole numbers), then removes, with their reasons, the rows
    that fail a check. The rows (names, dates of birth, UPNs, ULNs and postcodes among them) never
    leave that in-memory database and this process."""

    def __init__(self, con):
        self.con = con
        self.problems: list[Quarantined] = []
        self.notes: list[str] = []

    def bad(self, module_file: Path, line: int | None, column: str, value, reason: str) -> None:
        shown = None if column in sb.PERSONAL_COLUMNS or value is None else str(value)[:80]
        self.problems.append(Quarantined(module_file.name, line, column, shown, reason))

    def count(self, module: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM m_{module}").fetchall()[0][0]

    def _drop(self, module: str, lines: list[int]) -> None:
        if lines:
            self.con.execute(f"DELETE FROM m_{module} WHERE line IN (SELECT unnest($lines::BIGINT[]))",
                             {"lines": lines})

    def read_export(self, ex: Export) -> None:
        """Read and check every module; rows that fail a check are quarantined (with their children).
        The usable children are left in `person_ids` (see _duplicate_people)."""
        for module in sb.MODULES:
            self._read_module(ex, module)
        # Links, parents before children: a row whose parent is missing or quarantined is quarantined.
        for module, parent_module in sb.PARENT_MODULE.items():
            parent_key = sb.MODULES[module][1]
            broken = self._orphans(module, parent_module)
            for line, value in broken:
                self.bad(ex.files[module], line, parent_key, value,
                         f"broken link: {parent_key} {value!r} is not a usable row of the "
                         f"{parent_module} module (missing, or quarantined)")
            self._drop(module, [line for line, _v in broken])
        self._check_order(ex)
        self._duplicate_people(ex)

    def _orphans(self, module: str, parent_module: str) -> list[tuple[int, str | None]]:
        return self.con.execute(sql_text("blade_orphans").format(
            child=module, key=sb.MODULES[module][1], parent=parent_module,
            parent_id=sb.MODULES[parent_module][0])).fetchall()

    def _cascade(self, ex: Export, modules, removed: set[str]) -> None:
        """Rows whose parent row was quarantined after the link checks go with it. `removed` names
        the modules that lost rows since the link checks (every child was matched to its parent
        then, so only a child of one of them can have lost its parent); it grows as rows go."""
        for module in modules:
            if sb.PARENT_MODULE[module] not in removed:
                continue
            parent_key = sb.MODULES[module][1]
            gone = self._orphans(module, sb.PARENT_MODULE[module])
            for line, value in gone:
                self.bad(ex.files[module], line, parent_key, value, "broken link: its parent row was quarantined")
            self._drop(module, [line for line, _v in gone])
            if gone:
                removed.add(module)

    def _read_module(self, ex: Export, module: str) -> None:
        """One module's file into `m_<module>`: blank lines skipped, rows cut short quarantined here,
        every other check made in SQL (sql/blade_module.sql) with the distinct dates, codes and ranks
        of the file worked out once each in Python."""
        tid, _parent = sb.MODULES[module]
        p = ex.files.get(module)
        header: list[str] = []
        data: dict[str, pa.Array] = {}  # used column -> its values, stripped
        problems: list[tuple[int, tuple]] = []
        lines = pa.array([], pa.int64())
        if p is not None:
            with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
                header = [key(h) for h in next(csv.reader(fh), [])]
            ex.version[module] = sb.layout_version(module, set(header))
            # Only the columns the checks and measures read are kept (the rest are never used).
            wanted = [c for c in dict.fromkeys(header) if c in USED_COLUMNS[module]]
            where = [len(header) - 1 - header[::-1].index(c) for c in wanted]  # the last of a repeated name
            got = _read_plain(p, len(header), where)
            if got is None:
                got = self._read_rows(p, header, where, problems)
            lines, columns = got
            data = {c: pc.utf8_trim(col, _WHITESPACE) for c, col in zip(wanted, columns)}
        n = len(lines)
        columns: dict[str, pa.Array] = {"line": lines}
        for col in ORDERED_COLUMNS[module]:
            columns[col] = data[col] if col in data else pa.nulls(n, pa.string())
        fails = []
        for col in DATE_COLUMNS.get(module, []):
            if col in data:
                columns["_" + col], columns["bad_" + col] = _each_distinct(data[col], _parse_date, pa.date32(),
                                                                           _parse_dates)
                fails.append(f"WHEN bad_{col} THEN 'date:{col}'")
            else:
                columns["_" + col] = pa.nulls(n, pa.date32())
        for col, allowed in MODULE_CODES.get(module, ()):
            if col in data:
                columns[col], columns["bad_" + col] = _each_distinct(
                    data[col], lambda t, allowed=allowed: (t.upper(), t.upper() not in allowed) if t else (t, False),
                    pa.string())
                fails.append(f"WHEN bad_{col} THEN 'code:{col}'")
        for col, required in RANK_COLUMNS.get(module, {}).items():
            if col in data:
                columns["rank_" + col], columns["bad_" + col] = _each_distinct(
                    data[col], lambda t, required=required: (int(t), False) if t.isdigit() else (99, required or bool(t)),
                    pa.int64())
                fails.append(f"WHEN bad_{col} THEN 'rank:{col}'")
            else:
                columns["rank_" + col] = pa.repeat(99, n).cast(pa.int64())
                if required:  # the column is missing: no row has a rank
                    fails.append(f"WHEN true THEN 'rank:{col}'")
        for col, fail in REQUIRED_DATES.get(module, {}).items():
            fails.append(f"WHEN _{col} IS NULL THEN '{fail}'")
        del data
        bad_columns = [c for c in columns if c.startswith("bad_")]
        repeated = n > 0 and not _unique(columns[tid])
        con = self.con
        con.register("src", pa.table(columns))
        con.execute(sql_text("blade_module").format(
            module=module, tid=tid, keep=f"* EXCLUDE ({', '.join(bad_columns)})" if bad_columns else "*",
            fails=" ".join(fails),
            duplicate=f"WHEN row_number() OVER (PARTITION BY {tid} ORDER BY line) > 1 THEN 'duplicate'" if repeated else "",
            first_line=f"min(line) OVER (PARTITION BY {tid})" if repeated else "NULL::BIGINT"))
        con.unregister("src")
        failed = con.execute(f"SELECT * FROM m_{module} WHERE fail IS NOT NULL ORDER BY line")
        names = [d[0] for d in failed.description]
        rows = failed.fetchall()
        for values in rows:
            row = dict(zip(names, values))
            problems.append((row["line"], self._read_problem(p, module, tid, row)))
        if rows:
            con.execute(f"DELETE FROM m_{module} WHERE fail IS NOT NULL")
        for _line, args in sorted(problems, key=lambda t: t[0]):
            self.bad(*args)

    @staticmethod
    def _read_rows(p: Path, header: list[str], where: list[int], problems: list) -> tuple[pa.Array, list[pa.Array]]:
        """A module's file read record by record with the csv module (any file: quoted values, blank
        lines, rows cut short or too long, bytes that are not UTF-8): the records' numbers and the
        used columns' values; rows cut short are quarantined (into `problems`), blank lines skipped."""
        width = len(header)
        lines, good = [], []
        with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:
            rd = csv.reader(fh)
            next(rd, None)
            for i, raw in enumerate(rd, start=2):
                if not any(raw):
                    continue  # a blank line
                if len(raw) < width:  # cut short: its missing columns would be read as absent
                    problems.append((i, (p, i, header[len(raw)], "",
                                         f"the row has {len(raw)} fields where the header has {width} (cut short)")))
                    continue
                lines.append(i)
                good.append(raw)
        columns = list(zip(*good)) if good and where else []
        return (pa.array(lines, pa.int64()),
                [pa.array(columns[j], pa.string()) if columns else pa.array([], pa.string()) for j in where])

    @staticmethod
    def _read_problem(p: Path, module: str, tid: str, row: dict) -> tuple:
        line, fail = row["line"], row["fail"]
        if fail == "empty":
            return p, line, tid, "", f"the {module} table id is empty"
        if fail == "duplicate":
            return p, line, tid, row[tid], f"duplicate {tid}: same as row {row['first_line']}"
        kind, _, col = fail.partition(":")
        if kind == "date":
            return p, line, col, row[col], "not a date (the export writes e.g. 2022-Sep-28 00:00:00)"
        if kind == "code":
            allowed = dict(MODULE_CODES[module])[col]
            return p, line, col, row[col], f"unknown {col} code (allowed: {', '.join(allowed)})"
        if kind == "rank":
            return p, line, col, row[col], f"{col} is not a whole number"
        if fail == "no birth date":
            return p, line, "personbirthdate", None, "date of birth is empty (needed for the age)"
        return p, line, "referencedate", row["referencedate"], "the census (reference) date is empty"

    def _check_order(self, ex: Export) -> None:
        """Impossible dates: a step dated before the step it follows."""
        con = self.con
        gone_requests = con.execute(sql_text("blade_order_requests")).fetchall()
        for line, why, received, decided in gone_requests:
            if why == "empty":
                self.bad(ex.files["requests"], line, "receiveddate", "", "the request's received date is empty")
            else:
                self.bad(ex.files["requests"], line, "requestoutcomedate", decided,
                         f"impossible date: the decision is before the request was received ({received})")
        self._drop("requests", [g[0] for g in gone_requests])
        gone_assessments = con.execute(sql_text("blade_order_assessments")).fetchall()
        for line, why, request, decided in gone_assessments:
            if why == "link":
                self.bad(ex.files["assessment"], line, "requeststableid", request,
                         "broken link: its request was quarantined")
            else:
                self.bad(ex.files["assessment"], line, "assessmentoutcomedate", decided,
                         "impossible date: the decision whether to issue is before the decision to assess")
        self._drop("assessment", [g[0] for g in gone_assessments])
        gone = con.execute(sql_text("blade_order_plans")).fetchall()
        for line, why, assessment, start, cease in gone:
            if why == "link":
                self.bad(ex.files["namedplan"], line, "assessmenttableid", assessment,
                         "broken link: its assessment or request was quarantined")
            elif why == "start":
                self.bad(ex.files["namedplan"], line, "startdate", start,
                         "impossible date: the plan was issued before the request was received")
            else:
                self.bad(ex.files["namedplan"], line, "ceasedate", cease,
                         "impossible date: the plan ceased before it was issued")
        self._drop("namedplan", [g[0] for g in gone])
        # (The link checks already matched every child to its parent: only a parent removed here can break one.)
        removed = {m for m, rows in (("requests", gone_requests), ("assessment", gone_assessments),
                                     ("namedplan", gone)) if rows}
        self._cascade(ex, ("plandetail", "activeplans", "placementdetail", "senneed"), removed)

    def _duplicate_people(self, ex: Export) -> None:
        """The same child twice in the person module (same UPN, ULN, or name and date of birth), and
        children with nothing to link them by, quarantined in row order (the first row of a child
        wins). The usable children are left in `person_ids` (sql/blade_person_ids.sql): the identity
        is made in SQL, or in Python for the few rows whose UPN or names are not ASCII."""
        con = self.con
        odd = con.execute("SELECT line, upn, uniquelearnernumber, surname, forename, _personbirthdate FROM m_person "
                          "WHERE strlen(concat(upn, surname, forename)) <> length(concat(upn, surname, forename))"
                          ).fetchall()
        con.register("odd_ids", pa.table({
            "line": pa.array([r[0] for r in odd], pa.int64()),
            "identity": pa.array([sb.normalise_identity(upn or "", uln or "", surname or "", forename or "", birth)
                                  for _line, upn, uln, surname, forename, birth in odd], pa.string())}))
        con.execute(sql_text("blade_person_ids"))
        con.unregister("odd_ids")
        removed = []
        for line, identity, first_line in con.execute(
                "SELECT line, identity, first_line FROM person_ids WHERE identity IS NULL OR k > 1 ORDER BY line"
                ).fetchall():
            if identity is None:
                self.bad(ex.files["person"], line, "upn", None,
                         "no UPN, ULN or name to link the child by (no pseudonymous id can be made)")
            else:
                self.bad(ex.files["person"], line, identity.split(":")[0].lower().replace("ndb", "surname"),
                         None, f"duplicate person: the same child as row {first_line}")
            removed.append(line)
        # Their requests (and what hangs off them) go with them (every child's parent was there before).
        if removed:
            con.execute("DELETE FROM person_ids WHERE identity IS NULL OR k > 1")
            self._drop("person", removed)
            self._cascade(ex, ("requests", "assessment", "namedplan", "plandetail", "activeplans",
                               "placementdetail", "senneed"), {"person"})


ASSESS_COLUMNS = ["requests", "requests_refused", "decisions", "decisions_within_6_weeks", "new_plans",
                  "plans_issued_ex", "plans_issued_20wk_ex", "plans_issued_inc", "plans_issued_20wk_inc",
                  "reviews_due", "reviews_on_time", "reviews_held", "assessments", "assessments_not_issued"]


def _year_before(d: dt.date) -> dt.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def _unique(ids: pa.Array) -> bool:
    """Whether every value of `ids` is given and none repeats. Exports number their table ids in row
    order, so when every id is a whole number above the one before, they are known distinct
    (distinct numbers are distinct texts) without counting them."""
    if ids.null_count == 0:
        try:
            numbers = pc.cast(ids, pa.int64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            numbers = None
        if numbers is not None and (numbers[1:] > numbers[:-1]).all():
            return True
    return pc.count_distinct(ids).as_py() == len(ids)


def _parse_date(text: str) -> tuple[dt.date | None, bool]:
    try:
        return sb.parse_blade_date(text), False
    except sb.BadDate:
        return None, True


def _each_distinct(values: pa.Array, fn, kind: pa.DataType, many=None) -> tuple[pa.Array, pa.Array]:
    """`fn` (text -> (value, bad)) worked out once per distinct text of `values` (or `many`, distinct
    texts -> (values, bad flags), for all of them at once), then spread back over the rows by Arrow:
    the values (of type `kind`) and the bad flags."""
    encoded = pc.dictionary_encode(values)
    if many is not None:
        got, bad = many(encoded.dictionary, fn)
        return pc.take(got, encoded.indices), pc.take(bad, encoded.indices)
    results = [fn(text) for text in encoded.dictionary.to_pylist()]
    return (pc.take(pa.array([r[0] for r in results], kind), encoded.indices),
            pc.take(pa.array([r[1] for r in results], pa.bool_()), encoded.indices))


# A date as the export writes it (`2022-Sep-28 00:00:00`), in ASCII digits: read by Arrow and numpy.
_EXPORT_DATE = r"^[0-9]{4}-(?:" + "|".join(sb.MONTHS) + r")-[0-9]{2} 00:00:00$"
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _parse_dates(texts: pa.Array, fn) -> tuple[pa.Array, pa.Array]:
    """(date32 values, bad flags) of distinct date texts: those written as the export writes dates
    are read at once (the same dates as sen2_blade.parse_blade_date: a day the month does not have,
    or year 0, is not a date); any other text (ISO or dd/mm/yyyy dates, empty, not a date) by `fn`."""
    n = len(texts)
    days = np.zeros(n, "datetime64[D]")
    bad = np.zeros(n, bool)
    done = np.zeros(n, bool)
    if n:
        canonical = pc.fill_null(pc.match_substring_regex(texts, _EXPORT_DATE), False).to_numpy(zero_copy_only=False)
        at = np.flatnonzero(canonical)
        if at.size:
            sub = pc.take(texts, pa.array(at))
            y = pc.cast(pc.utf8_slice_codeunits(sub, 0, 4), pa.int64()).to_numpy()
            m = pc.index_in(pc.utf8_slice_codeunits(sub, 5, 8), value_set=pa.array(sb.MONTHS)).to_numpy() + 1
            d = pc.cast(pc.utf8_slice_codeunits(sub, 9, 11), pa.int64()).to_numpy()
            leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
            ok = (y >= 1) & (d >= 1) & (d <= _MONTH_DAYS[m - 1] + ((m == 2) & leap))
            days[at] = ((y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1)).astype("datetime64[D]") \
                + (d - 1)
            bad[at] = ~ok
            done[at] = True
    valid = done & ~bad
    rest = np.flatnonzero(~done)
    for i, text in zip(rest.tolist(), pc.take(texts, pa.array(rest, pa.int64())).to_pylist()):
        value, bad[i] = fn(text)
        if value is not None:
            days[i], valid[i] = np.datetime64(value, "D"), True
    return pa.array(days, pa.date32(), mask=~valid), pa.array(bad, pa.bool_())


# Python's whitespace (what str.strip removes), for stripping values in Arrow (none is above U+3000,
# the ideographic space: tests/ingest/test_sen2_person_level.py checks the whole of Unicode).
_WHITESPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())
_BLANK_LINE = re.compile(rb"\n,*\r?(?:\n|\Z)")


def _plain_bytes(data: bytes) -> bool:
    """No quotes, no NUL bytes, no line ending but CR LF or LF, no blank line (nor one of commas only),
    at least one line after the header. The line endings are found once, by numpy over the bytes, and
    the blank-line expression runs only when a line feed is followed by a comma, a CR, a line feed or
    the end (counting CRs and searching every file with the expression cost about 0.8 s of the
    bench's load; tests/ingest/test_blade_reader_identical.py checks both give the same answer)."""
    if b'"' in data or b"\x00" in data:
        return False
    end = len(data) - (2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\n") else 0)  # the last line's end
    a = np.frombuffer(data, np.uint8)
    cr = np.flatnonzero(a == 13)
    if cr.size and (cr[-1] == a.size - 1 or (a[cr + 1] != 10).any()):
        return False  # a CR not followed by a line feed
    lf = np.flatnonzero(a[:end] == 10)
    if not lf.size:
        return False  # no line after the header
    after = lf + 1
    if after[-1] == end or np.isin(a[after[after < end]], (44, 13, 10)).any():
        return not _BLANK_LINE.search(data[:end])
    return True


def _read_plain(p: Path, width: int, where: list[int]) -> tuple[pa.Array, list[pa.Array]] | None:
    """A module's file read by Arrow's CSV reader when that reads it exactly as the csv module would,
    record for record: no quotes, no NUL bytes, no line ending but CR LF or LF, no blank line (nor one
    of commas only), valid UTF-8 and every row as wide as the header (Arrow refuses any other row).
    Each row is then the record of its line's number. None when the file is not that plain."""
    data = p.read_bytes()
    if not where or not _plain_bytes(data):
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                               parse_options=pacsv.ParseOptions(quote_char=False),
                               convert_options=pacsv.ConvertOptions(
                                   column_types=dict.fromkeys(names, pa.string()), include_columns=names,
                                   strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return (pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64)),  # (not from a range: 0.8 s slower)
            [table.column(j).combine_chunks() for j in where])


def _connect(gias: dict[str, str] | None):
    """The reader's own in-memory database (never the store), with its lookups and macros (in its
    main schema, so every cursor of it sees them; each return is read through a cursor of its own,
    whose temporary tables no other cursor sees)."""
    con = duckdb.connect()
    # One thread per query: its queries are over one return's few thousand rows each, where DuckDB's
    # threads cost more to start and join than they save (measured: about 0.4 s less CPU and wall for
    # the bench's 944,142-row export); returns are read side by side instead (see _adapt_blade).
    con.execute("SET threads = 1")
    first, last = min(lo for _b, lo, _h in sb.AGE_BANDS), max(hi for _b, _l, hi in sb.AGE_BANDS)
    band_of = {age: band for band, lo, hi in sb.AGE_BANDS for age in range(lo, hi + 1)}
    bands = "[NULL, " + ", ".join(f"'{band_of[a]}'" if a in band_of else "NULL" for a in range(first, last + 1)) + ", NULL]"
    con.execute(sql_text("blade_macro_age_on"))
    con.execute(sql_text("blade_macro_age_band").format(bands=bands, first=first, last=last))
    con.execute(sql_text("blade_macro_ncy"))
    con.execute(sql_text("blade_macro_pseudonym"))
    for name, table in (
            ("gias", pa.table({"urn": pa.array(list((gias or {}).keys()), pa.string()),
                               "setting": pa.array(list((gias or {}).values()), pa.string())})),
            ("sen_settings", pa.table({"code": list(sb.SEN_SETTINGS), "setting": list(sb.SEN_SETTINGS.values())})),
            ("cease_codes", pa.table({"code": list(sb.CEASE_REASON_CODES),
                                      "reason": list(sb.CEASE_REASON_CODES.values())}))):
        con.register("lookup", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM lookup")
        con.unregister("lookup")
    return con


def _hmac_pads(key: bytes) -> dict[str, bytes]:
    """The inner and outer pads of HMAC-SHA256 under `key` (RFC 2104), so the pseudonymous ids are
    made in SQL exactly as sen2_blade.pseudonymise makes them in Python (tests check both agree)."""
    k = hashlib.sha256(key).digest() if len(key) > 64 else key
    k = k.ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in k), "opad": bytes(b ^ 0x5C for b in k)}


def _placements(con, postcodes: dict | None, lsoa_locality: dict, members: set) -> tuple[pa.Array, list, list]:
    """Each distinct postcode (as written; '' for none) of the return's children (`person_ids`), its
    locality (None when not placed) and why it is not placed (None when it is): through the postcode
    lookup (postcode as sen2_blade.postcode_key spells it -> LSOA), the LSOA's locality, and the
    council's localities (`members`). The keys are made by Arrow when every postcode is ASCII (upper
    case and the expression are then the same as in Python), else by postcode_key."""
    if postcodes is None:
        return pa.array([], pa.string()), [], []
    written = con.sql("SELECT DISTINCT coalesce(postcode, '') AS postcode FROM person_ids").to_arrow_table()
    written = written.column(0).combine_chunks()
    texts = written.to_pylist()
    if pc.all(pc.string_is_ascii(written)).as_py() is not False:
        keys = pc.replace_substring_regex(pc.utf8_upper(written), "[^A-Z0-9]", "").to_pylist()
    else:
        keys = [sb.postcode_key(t) for t in texts]
    lsoas = [postcodes.get(k) for k in keys]
    localities = [lsoa_locality.get(lsoa) if lsoa else None for lsoa in lsoas]
    placed = [loc if loc in members else None for loc in localities]
    reasons = [None if loc in members else "no postcode" if not text else
               "postcode not in the lookup" if lsoa is None else "outside the council's localities"
               for text, lsoa, loc in zip(texts, lsoas, localities)]
    return written, placed, reasons


def _count_return(con, reader: _Reader, ex: Export, ret: int, census: dt.date, council: str, ctx: _Context,
                  out: dict) -> None:
    """One return's rows (checked, in `con`) counted into the outputs (`out`): persons (into the
    reader's table `persons_<ret>`) or caseload cells on the census date, the activity, ceased plans
    and reviews of the calendar year before it, and the pathway's request rows (`pathway_<ret>`).
    `ret` numbers the return in census order (the persons and pathway rows are ordered by it)."""
    notes = reader.notes
    postcodes, gias = ctx.postcodes, ctx.gias
    # People: area. Nothing personal leaves the reader's database (the identities go into the ids as
    # the files are written). Each distinct postcode as written is placed (_placements).
    members = ctx.council_members.get(council, set())
    codes, localities, reasons = _placements(con, postcodes, ctx.lsoa_locality, members)
    con.register("placements", pa.table({"postcode": codes, "locality": pa.array(localities, pa.string()),
                                         "reason": pa.array(reasons, pa.string())}))
    con.execute(sql_text("blade_people"), {"council": council})
    con.unregister("placements")
    unplaced = con.execute("SELECT reason, count(*) FROM people WHERE reason IS NOT NULL GROUP BY reason "
                           "ORDER BY min(line)").fetchall()
    if unplaced:
        notes.append(f"January {census.year}: {sum(n for _r, n in unplaced)} children not placed in a locality ("
                     + ", ".join(f"{n} {why}" for why, n in unplaced) + "); they count in the council's figures")
    placed_all = postcodes is not None and not unplaced
    # The areas a child's activity counts in: the council when children are not placed; its locality
    # when every child is; else its locality and the council (given directly).
    con.execute("CREATE OR REPLACE TEMP TABLE person_areas AS SELECT pid, area FROM people UNION ALL "
                "SELECT pid, $council FROM people WHERE $both AND area <> $council",
                {"council": council, "both": postcodes is not None and not placed_all})
    week20 = [w for (w,) in con.execute("SELECT DISTINCT week20 FROM m_assessment WHERE week20 IS NOT NULL").fetchall()]
    con.register("week20_flags", pa.table({"k": pa.array(week20, pa.string()),
                                           "exception": pa.array([bool(sb.flag(w)) for w in week20], pa.bool_())}))
    con.execute(sql_text("blade_ap_last"))
    con.execute(sql_text("blade_need_first"))
    con.execute(sql_text("blade_top_placement"), {"census": census})
    con.execute(sql_text("blade_req_info"))

    # Caseload: plans issued on or before the census date and not ceased by it. A second open plan
    # of one child, and a child aged outside 0-25 on the census date, are quarantined in row order.
    year = census.year - 1
    year_before = _year_before(census)
    con.execute("CREATE OR REPLACE TEMP TABLE open_plans AS " + sql_text("blade_open_plans"),
                {"census": census, "gias": gias is not None, "year": year, "year_before": year_before})
    for line, start_text, seen, first_line in con.execute(
            "SELECT line, startdate, seen, first_line FROM open_plans WHERE seen > 1 OR age_band IS NULL "
            "ORDER BY line").fetchall():
        if seen > 1:
            reader.bad(ex.files["namedplan"], line, "startdate", start_text,
                       f"duplicate: a second open plan for the same child (the first is row {first_line})")
        else:
            reader.bad(ex.files["person"], None, "personbirthdate", None,
                       f"age on the census date is outside 0-25 (named plan row {line})")
    good = "FROM open_plans WHERE seen = 1 AND age_band IS NOT NULL"
    setting_all = con.execute(f"SELECT count(*) FILTER (setting IS NULL) > 0 {good}").fetchall()[0][0]
    reviews = con.execute(f"SELECT locality, count(*), count(*) FILTER (review_held), "
                          f"count(*) FILTER (review_on_time) {good} AND review_due GROUP BY locality").fetchall()
    # (A table of the reader's database, not of this cursor, so the persons file is written from the
    # rows of every return once they are all read: see _adapt_blade.)
    con.execute(f"CREATE TABLE persons_{ret} (ret BIGINT, line BIGINT, time_period BIGINT, time_identifier "
                "VARCHAR, area_code VARCHAR, area_level VARCHAR, identity VARCHAR, primary_need VARCHAR, "
                "age_band VARCHAR, setting_type VARCHAR, ncy VARCHAR)")
    con.execute(sql_text("blade_persons_out").format(table=f"persons_{ret}"),
                {"ret": ret, "year": census.year, "council": council, "council_only": postcodes is None,
                 "setting_all": setting_all})
    if postcodes is not None and not placed_all:
        # Some children are not placed: their locality rows stay, and the council's caseload is given
        # directly (all children), so it is not built from incomplete localities.
        out["caseload"] += [[census.year, "January", council, "council", n, b, s, c] for n, b, s, c in con.execute(
            f"SELECT need, age_band, CASE WHEN $all THEN 'all' ELSE setting END AS s, count(*) {good} "
            f"GROUP BY ALL ORDER BY min(line)", {"all": setting_all}).fetchall()]
    # Requests, decisions, assessments, plans and ceased plans in the calendar year before the census
    # (DfE's definitions), for every area a child with a request counts in.
    activity = con.execute(sql_text("blade_activity"), {"year": year})
    names = [d[0] for d in activity.description][1:]
    by_area: dict[str, Counter] = {area: Counter(dict(zip(names, values))) for area, *values in activity.fetchall()}
    ceased: dict[str, Counter] = {}
    for area, reason, n in con.execute(sql_text("blade_ceased"), {"year": year}).fetchall():
        ceased.setdefault(area, Counter())[reason] += n
    # Pathway: one row per request, from the latest return that holds it (kept in `pathway_<ret>`;
    # the latest of each request is taken once all returns are read: sql/blade_pathway_latest.sql).
    con.execute(f"CREATE TABLE pathway_{ret} AS " + sql_text("blade_pathway"),
                {"census": census, "council": council, "ret": ret})
    con.unregister("week20_flags")
    # Annual reviews (DfE annual_reviews.csv, reported for the calendar year before the census):
    # a review is expected for a plan open on the census date that was issued at least a year
    # before it; held = its latest review meeting is in the calendar year; on time = its latest
    # review meeting is less than 12 months before the census date.
    for locality, due, held, on_time in reviews:
        area = locality if postcodes is not None and locality else council
        for a in (council,) if postcodes is None else (area,) if placed_all or area == council else (area, council):
            c = by_area.get(a)
            if c is None:
                c = by_area[a] = Counter()
            c["reviews_due"] += due
            c["reviews_held"] += held
            c["reviews_on_time"] += on_time
    for area, c in sorted(by_area.items()):
        level = "council" if area == council else "locality"
        out["assessments"].append([year, "Calendar year", area, level] + [c[k] for k in ASSESS_COLUMNS])
    all_areas = set(by_area) | ({council} if not placed_all else set())
    if placed_all:
        # A locality with no request in the year still has its (zero) row, so the council rolls up.
        for loc in sorted(members - set(by_area)):
            out["assessments"].append([year, "Calendar year", loc, "locality"] + [0] * len(ASSESS_COLUMNS))
        all_areas = set(by_area) | members
    for area in sorted(all_areas):
        level = "council" if area == council else "locality"
        c = ceased.get(area, Counter())
        out["ceased"] += [[year, "Calendar year", area, level, reason, c[reason]]
                          for reason in sb.CEASE_REASON_CODES.values()]
        out["ceased"].append([year, "Calendar year", area, level, "not_recorded", c["not_recorded"]])


@dataclass
class _Context:
    """What every return of a load is read with: the postcode lookup, the GIAS extract, the geography,
    and the key's HMAC pads."""
    postcodes: dict | None
    gias: dict | None
    lsoa_locality: dict
    council_members: dict
    councils: dict
    pads: dict


@dataclass
class _Return:
    """One return's notes, quarantined rows and counted rows (`out`); `counted` when its persons and
    pathway rows are in the reader's database (tables persons_<ret> and pathway_<ret>)."""
    notes: list
    problems: list
    out: dict
    counted: bool = False


def _reader_threads() -> int:
    from send_metrics.config import load_config
    return load_config().duckdb_threads


def _read_return(db, ex: Export, ret: int, ctx: _Context) -> _Return:
    """Read, check and count one return (export `ex`, number `ret` in census order) through a cursor
    of the reader's database `db` (its module tables are the cursor's own temporary tables, gone when
    it closes; what it counts goes to `db`'s tables persons_<ret> and pathway_<ret>)."""
    con = db.cursor()
    reader = _Reader(con)
    notes = reader.notes
    out: dict = {"caseload": [], "assessments": [], "ceased": []}
    result = _Return(notes, reader.problems, out)
    try:
        missing = [m for m in sb.MODULES if m not in ex.files]
        if missing:
            notes.append(f"export {ex.tag or '(unnamed)'}: modules missing ({', '.join(missing)}); their rows are empty")
        reader.read_export(ex)
        headers = con.execute("SELECT line, lea, _referencedate FROM m_sen2").fetchall()
        if len(headers) != 1:
            notes.append(f"export {ex.tag}: the sen2 module must hold one return header; this export is not loaded")
            return result
        line, lea, census = headers[0]
        council = ctx.councils.get((lea or "").lstrip("0").zfill(3))
        if council is None:
            reader.bad(ex.files["sen2"], line, "lea", lea, "unknown DfE LA number")
            return result
        versions = sorted({v for v in ex.version.values() if v != "any"})
        notes.append(f"return of January {census.year} (census date {census.isoformat()}, LA {lea}, "
                     f"layout {max(versions) if versions else 'unknown'}): " + ", ".join(
                         f"{reader.count(m)} {m}" for m in sb.MODULES if m != "sen2"))
        _count_return(con, reader, ex, ret, census, council, ctx, out)
        result.counted = True
        return result
    finally:
        con.close()  # the return's module tables (names and postcodes among them) go with the cursor


def adapt_blade(path: Path, workdir: Path, module: str):
    """Read the folder's Blade export (see the module's docstring). Python's cyclic garbage collector is
    paused while it runs: the reader makes hundreds of thousands of short rows (none of them in a
    reference cycle), and the collector's repeated passes over them cost about a tenth of the read."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _adapt_blade(path, workdir, module)
    finally:
        if was_enabled:
            gc.enable()


def _adapt_blade(path: Path, workdir: Path, module: str):
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
    postcode_files, gias_files = _lookup_files(path)
    postcodes = _read_postcodes(postcode_files) if postcode_files else None
    gias = _read_gias(gias_files) if gias_files else None
    lsoa_locality, council_members, councils = _geography()
    notes: list[str] = []
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
    context = _Context(postcodes, gias, lsoa_locality, council_members, councils, _hmac_pads(sb.pseudonym_key()))
    tags = sorted(exports, key=lambda t: (t[6:], t[3:5], t[:2]))
    # Each return is read, checked and counted through its own cursor of the reader's database, two
    # at a time (their work is mostly DuckDB's and Arrow's, which run outside the interpreter's lock,
    # so a second core reads one return while the first counts another); the results are taken in
    # census order, so the notes, quarantine rows and outputs are those of reading them one by one.
    workers = max(1, min(2, len(tags), _reader_threads()))
    base = ["time_period", "time_identifier", "area_code", "area_level"]
    written: dict[str, Path] = {}  # the persons and pathway files, written by the reader's database
    db = _connect(gias)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            returns = list(pool.map(lambda job: _read_return(db, exports[job[1]], job[0], context), enumerate(tags)))
        problems: list[Quarantined] = []
        out: dict = {"caseload": [], "assessments": [], "ceased": []}
        for r in returns:
            notes += r.notes
            problems += r.problems
            for k in out:
                out[k] += r.out[k]
        counted = [ret for ret, r in enumerate(returns) if r.counted]
        # The persons (in the order of the returns, then of their named plans, each child's
        # pseudonymous id made once) and the pathway's rows are written by the reader's database
        # straight to the contract's CSV layout (the values are codes and ids: nothing the writer
        # quotes; an empty value is an empty field).
        workdir.mkdir(parents=True, exist_ok=True)
        if counted:
            for name in ("persons", "pathway"):
                db.execute(f"CREATE TEMP VIEW {name}_out AS " + " UNION ALL ".join(
                    f"SELECT * FROM {name}_{ret}" for ret in counted))
        if counted and db.execute("SELECT count(*) FROM persons_out").fetchall()[0][0]:
            written["ehcp_persons"] = workdir / "blade_ehcp_persons.csv.csv"
            db.execute(f"COPY ({sql_text('blade_persons_file')}) TO $path (HEADER, DELIMITER ',')",
                       {**context.pads, "path": str(written["ehcp_persons"])})
        if counted and db.execute("SELECT count(*) FROM pathway_out").fetchall()[0][0]:
            written["ehcp_pathway"] = workdir / "blade_ehcp_pathway.csv.csv"
            db.execute(f"COPY ({sql_text('blade_pathway_latest')}) TO $path (HEADER, DELIMITER ',')",
                       {**context.pads, "path": str(written["ehcp_pathway"])})
    finally:
        db.close()  # this load's rows, names and postcodes included, go with the in-memory database
    outputs = []
    if "ehcp_persons" in written:
        outputs.append(("ehcp_persons", written["ehcp_persons"]))
    if out["caseload"]:
        outputs.append(("ehcp_caseload", write_csv(workdir, "blade_ehcp_caseload.csv",
                                                   base + ["primary_need", "age_band", "setting_type", "ehc_plans"],
                                                   out["caseload"])))
    if out["assessments"]:
        outputs.append(("ehcp_assessments", write_csv(workdir, "blade_ehcp_assessments.csv", base + ASSESS_COLUMNS,
                                                      out["assessments"])))
    if out["ceased"]:
        outputs.append(("ehcp_ceased", write_csv(workdir, "blade_ehcp_ceased.csv", base + ["cease_reason", "ceased_plans"],
                                                 out["ceased"])))
    if "ehcp_pathway" in written:
        outputs.append(("ehcp_pathway", written["ehcp_pathway"]))
    if problems:
        by_reason = Counter(p.reason.split(":")[0] for p in problems)
        notes.append(f"{len(problems)} rows quarantined (" + ", ".join(f"{n} {r}" for r, n in by_reason.items())
                     + ")")
    result = AdaptResult(fmt, outputs, notes)
    result.problems = problems
    result.files_read = [p for _m, p in siblings]
    return result
