"""One Blade export's modules read into the reader's in-memory DuckDB: columns kept, text checked
against the return's codes and dates, broken links, impossible dates, duplicates and unknown codes
set aside with file, row, column and reason (``adapters.blade`` counts what is left).
"""
from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from send_metrics.ingest import sen2_blade as sb
from send_metrics.config import sql_text
from send_metrics.ingest.adapters.header import key
from send_metrics.ingest.adapters import blade_parse
from send_metrics.ingest.adapters.blade_parse import (
    WHITESPACE,
    each_distinct,
    parse_date,
    parse_dates,
    unique,
)
from send_metrics.ingest.adapters.blade_files import (
    DATE_COLUMNS,
    Export,
    MODULE_CODES,
    ORDERED_COLUMNS,
    Quarantined,
    RANK_COLUMNS,
    REQUIRED_DATES,
    USED_COLUMNS,
)


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

    def counts(self, modules) -> list[int]:
        """The rows of each of `modules` (their tables `m_<module>`), in one query."""
        modules = list(modules)
        if not modules:
            return []
        return list(self.con.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM m_{m})" for m in modules)
                                     ).fetchall()[0])

    def _drop(self, module: str, lines: list[int]) -> None:
        if lines:
            self.con.execute(f"DELETE FROM m_{module} WHERE line IN (SELECT unnest($lines::BIGINT[]))",
                             {"lines": lines})

    def read_export(self, ex: Export) -> None:
        """Read and check every module; rows that fail a check are quarantined (with their children).
        The usable children are left in `person_ids` (see _duplicate_people)."""
        # Every module's rows are read first, then stored: a return whose table ids (and the parent ids
        # its rows link by) are all whole numbers written plainly keeps them as numbers (see _whole_ids).
        read = {module: self._read_file(ex, module) for module in sb.MODULES}
        whole = _whole_ids(read)
        for module in sb.MODULES:
            self._store_module(ex, module, read.pop(module), whole)
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

    def _read_file(self, ex: Export, module: str) -> tuple:
        """One module's file read: (row numbers, used column -> its values stripped, rows cut short
        (quarantined when the module is stored)); blank lines skipped."""
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
            got = blade_parse.read_plain(p, len(header), where, threads=False)
            if got is None:
                got = self._read_rows(p, header, where, problems)
            lines, columns = got
            data = {c: pc.utf8_trim(col, WHITESPACE) for c, col in zip(wanted, columns)}
        return lines, data, problems

    def _store_module(self, ex: Export, module: str, read: tuple, whole_ids: bool) -> None:
        """A module's rows (_read_file) into `m_<module>`, rows cut short quarantined here, every
        other check made in SQL (sql/blade_module.sql) with the distinct dates, codes and ranks of the
        file worked out once each in Python. With `whole_ids` (see _whole_ids) the table id and the
        parent id are kept as numbers (BIGINT), else as text."""
        tid, parent = sb.MODULES[module]
        p = ex.files.get(module)
        lines, data, problems = read
        n = len(lines)
        columns: dict[str, pa.Array] = {"line": lines}
        for col in ORDERED_COLUMNS[module]:
            columns[col] = data[col] if col in data else pa.nulls(n, pa.string())
        fails = []
        every_row_fails = False
        for col in DATE_COLUMNS.get(module, []):
            if col in data:
                columns["_" + col], columns["bad_" + col] = each_distinct(data[col], parse_date, pa.date32(),
                                                                           parse_dates)
                fails.append(f"WHEN bad_{col} THEN 'date:{col}'")
            else:
                columns["_" + col] = pa.nulls(n, pa.date32())
        for col, allowed in MODULE_CODES.get(module, ()):
            if col in data:
                columns[col], columns["bad_" + col] = each_distinct(
                    data[col], lambda t, allowed=allowed: (t.upper(), t.upper() not in allowed) if t else (t, False),
                    pa.string())
                fails.append(f"WHEN bad_{col} THEN 'code:{col}'")
        for col, required in RANK_COLUMNS.get(module, {}).items():
            if col in data:
                columns["rank_" + col], columns["bad_" + col] = each_distinct(
                    data[col], lambda t, required=required: (int(t), False) if t.isdigit() else (99, required or bool(t)),
                    pa.int64())
                fails.append(f"WHEN bad_{col} THEN 'rank:{col}'")
            else:
                columns["rank_" + col] = pa.repeat(99, n).cast(pa.int64())
                if required:  # the column is missing: no row has a rank
                    fails.append(f"WHEN true THEN 'rank:{col}'")
                    every_row_fails = True
        for col, fail in REQUIRED_DATES.get(module, {}).items():
            fails.append(f"WHEN _{col} IS NULL THEN '{fail}'")
        del data
        bad_columns = [c for c in columns if c.startswith("bad_")]
        repeated = n > 0 and not unique(columns[tid])
        # Whether any row can fail a check of sql/blade_module.sql (its `fail` is set exactly when one
        # of these holds), worked out on the columns: when none can, the failed rows are not fetched.
        ids = columns[tid]
        can_fail = n > 0 and (
            repeated or ids.null_count > 0 or (not whole_ids and pc.any(pc.equal(ids, "")).as_py() is True)
            or any(pc.any(columns[c]).as_py() is True for c in bad_columns)
            or every_row_fails
            or any(columns["_" + col].null_count > 0 for col in REQUIRED_DATES.get(module, {})))
        if whole_ids:
            for col in (tid, parent) if parent else (tid,):
                columns[col] = pc.cast(columns[col], pa.int64())
        con = self.con
        con.register("src", pa.table(columns))
        con.execute(sql_text("blade_module").format(
            module=module, tid=tid, keep=f"* EXCLUDE ({', '.join(bad_columns)})" if bad_columns else "*",
            empty=f"{tid} IS NULL" if whole_ids else f"coalesce({tid}, '') = ''",
            fails=" ".join(fails),
            duplicate=f"WHEN row_number() OVER (PARTITION BY {tid} ORDER BY line) > 1 THEN 'duplicate'" if repeated else "",
            first_line=f"min(line) OVER (PARTITION BY {tid})" if repeated else "NULL::BIGINT"))
        con.unregister("src")
        if can_fail:
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


def _whole_ids(read: dict[str, tuple]) -> bool:
    """Whether every table id and parent id of a return's modules (read: module -> _read_file's
    result) is a whole number written plainly (no sign but a leading minus, no leading zero, no
    space: the text is the number's own spelling), so that two ids are the same text exactly when
    they are the same number. Such a return's ids are kept as numbers (BIGINT), which the
    reader's joins and groupings compare several times faster than text; any other (an empty id, a
    padded or non-numeric one, a missing column) keeps them all as text. Values shown in the
    quarantine are the same either way (a number is shown as its text)."""
    for module, (tid, parent) in sb.MODULES.items():
        _lines, data, _problems = read[module]
        for col in (tid, parent) if parent else (tid,):
            values = data.get(col)
            if values is None:
                return False
            if not len(values):
                continue
            if values.null_count:
                return False
            try:
                numbers = pc.cast(values, pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                return False
            if not pc.all(pc.equal(pc.cast(numbers, pa.string()), values)).as_py():
                return False
    return True
