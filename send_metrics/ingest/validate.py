"""Validate a raw extract against the data contract and split it into good and quarantined rows.

All checks run as SQL generated from the contract (`send_metrics.contract`). Identifiers come only from the
contract, never from the file, and every value from a file reaches SQL as a parameter or as data.
This module runs a file's checks and splits its rows; the SQL of each column's rule is in
``column_checks``, and what a check says about a file (its report, why it is not recognised) in
``file_reports``.

Invariants: a row is either loaded or quarantined, never silently dropped; every quarantined row
carries file, line, column, the offending value and a reason; a symbol is kept beside a NULL value.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from send_metrics import contract
from send_metrics.contract import codes
from send_metrics.config import sql_text
from send_metrics.contract import Dataset
from send_metrics.ingest.column_checks import (
    SYMBOL_LIST,
    all_allowed_exactly,
    all_known_areas,
    all_trimmed,
    area_code_changes,
    code_expr,
    finite_number_expr,
    number_expr,
    period_exprs,
    period_lookup,
    plain_numbers,
    renamed_sql,
    used_params,
)
from send_metrics.ingest.file_reports import (
    FileReport,
    Problem,
    detect_dataset,
    not_a_table_message,
    unrecognised_message,
)
from send_metrics.ingest.readers import RawTable, UnreadableFile, read_raw, sql_name


@dataclass
class Validated:
    report: FileReport
    good_sql: str | None  # SELECT producing canonical rows (runs against temp tables)
    params: dict


def validate_raw(con: duckdb.DuckDBPyConnection, raw: RawTable, path: str, *,
                 dataset: Dataset | None = None, areas_table: str = "areas_ref",
                 today: dt.date | None = None, adapted: bool = False) -> Validated:
    """Check a raw table; create `<raw>_errors` and return SQL selecting its good rows.

    `adapted`: the file was written by an adapter from a published file. An empty indicator cell
    then means "this publication does not give that column" (stored as no value and no symbol, so
    another file's figure can stand), where in an analyst's extract it is an error."""
    report = FileReport(path=path, rows_read=raw.rows, notes=list(raw.notes))
    if dataset is None:
        dataset, _ = detect_dataset(raw.columns)
        if dataset is None:
            report.fatal = unrecognised_message(raw.columns, raw.original_columns)
            return Validated(report, None, {})
    report.dataset = dataset.name
    known = {c.name for c in dataset.columns}
    report.ignored_columns = [c for c in raw.columns if c not in known and c not in ("edition",)]
    if raw.rows == 0 and not raw.row_problems:
        report.fatal = "the file has a header but no data rows"
        return Validated(report, None, {})

    present = set(raw.columns)
    decimal_comma = raw.delimiter == ";"
    params: dict = {"today": (today or dt.date.today()).isoformat()}
    select = [f"{raw.line_sql} AS _line"]
    joins: list[str] = []
    # Every row check becomes one element of a list built in a single scan of the typed rows.
    checks: list[str] = []
    conditions: list[str] = []

    def check(column: str, condition: str, reason_sql: str, value_sql: str | None = None) -> None:
        conditions.append(f"({condition})")
        if value_sql is None:
            value_sql = (sql_name(column + "__raw") if column in raw_copies else sql_name(column)) if column else "NULL"
        checks.append(f"CASE WHEN {condition} THEN struct_pack(col := '{column}', "
                      f"value := CAST({value_sql} AS VARCHAR), reason := CAST({reason_sql} AS VARCHAR)) END")

    outer: list[str] = []  # computed from the inner columns, once per row
    raw_copies: set[str] = set()  # columns whose original text is kept beside the cleaned value
    pre = con.cursor()  # checks on each column's distinct values, which let clean columns pass as they are
    # Area codes ONS replaced one-to-one are read as the code the areas table knows (reported).
    renamed, lifetimes = area_code_changes(pre, raw.table, [c.name for c in dataset.columns if c.kind == "area"
                                                             and c.name in present], areas_table, report.notes)
    if not dataset.reference:
        period, bad = period_exprs(dataset)
        pcol = contract.period_column(dataset)
        periods = period_lookup(pre, raw.table, period, bad, pcol, params)
        if periods:
            # Few distinct (time_period, time_identifier) pairs: each is parsed and checked once.
            joins.append(f"LEFT JOIN {periods} _pp ON _pp._tp IS NOT DISTINCT FROM {raw.table}.time_period "
                         f"AND _pp._ti IS NOT DISTINCT FROM {raw.table}.time_identifier")
            select.append(f"_pp.{pcol} AS {pcol}")
            select.append("_pp._period_problem AS _period_problem")
        else:
            select.append(f"{period} AS {pcol}")
            outer.append(f"{bad} AS _period_problem")
        select.append(f"{raw.table}.time_identifier AS time_identifier")
        select.append(f"{raw.table}.time_period AS time_period")
        check("time_period", "_period_problem IS NOT NULL", "_period_problem", value_sql="time_period")

    for col in dataset.columns:
        if col.kind == "period" or col.name == "time_identifier":
            continue
        name = col.name
        if name not in present:
            select.append(f"NULL AS {sql_name(name)}")
            if col.is_indicator:
                select.append(f"NULL AS {sql_name(name + '_symbol')}")
            select.append(f"NULL AS {sql_name(name + '__raw')}")
            raw_copies.add(name)
            continue
        shown = ", ".join(col.allowed[:8]) + (", ..." if len(col.allowed) > 8 else "") if col.allowed else ""
        if name in renamed:
            select.append(f"{raw.table}.{sql_name(name)} AS {sql_name(name + '__raw')}")
            raw_copies.add(name)
            code = renamed_sql(f"NULLIF(trim({raw.table}.{sql_name(name)}), '')", renamed[name], params, name)
            select.append(f"{code} AS {sql_name(name)}")
            if col.required:
                check(name, f"{sql_name(name)} IS NULL", "'required value is empty'")
            continue
        if col.kind == "code" and all_allowed_exactly(pre, raw.table, name, col.allowed):
            # Every value is already a canonical code: no per-row lookup.
            select.append(f"{raw.table}.{sql_name(name)} AS {sql_name(name)}")
            check(name, f"{sql_name(name)} IS NULL",
                  f"'not an allowed {name.replace('_', ' ')} (allowed: {shown})'", value_sql=sql_name(name))
            continue
        if col.is_indicator and plain_numbers(pre, raw.table, col, decimal_comma, may_be_empty=adapted):
            # Plain numbers and exact symbols only: a cast, and no per-row check.
            value = f"{raw.table}.{sql_name(name)}"
            select.append(f"CASE WHEN list_contains($symbols, {value}) THEN {value} END AS {sql_name(name + '_symbol')}")
            select.append(f"TRY_CAST({value} AS {'BIGINT' if col.kind == 'count' else 'DOUBLE'}) AS {sql_name(name)}")
            params["symbols"] = SYMBOL_LIST
            continue
        if col.kind == "area" and all_trimmed(pre, raw.table, name):
            select.append(f"{raw.table}.{sql_name(name)} AS {sql_name(name)}")
            if col.required:
                check(name, f"{sql_name(name)} IS NULL", "'required value is empty'", value_sql=sql_name(name))
            continue
        select.append(f"{raw.table}.{sql_name(name)} AS {sql_name(name + '__raw')}")
        raw_copies.add(name)
        if col.kind == "code":
            expr, p = code_expr(col)
            params.update(p)
            select.append(f"{expr[0]} AS {sql_name('_pos_' + name)}")
            outer.append(f"{expr[1].format(pos=sql_name('_pos_' + name))} AS {sql_name(name)}")
            check(name, f"{sql_name(name)} IS NULL",
                  f"'not an allowed {name.replace('_', ' ')} (allowed: {shown})'")
        elif col.is_indicator:
            sym = f"lower(trim({sql_name(name)}))"
            select.append(f"CASE WHEN list_contains($symbols, {sym}) THEN {sym} END AS {sql_name(name + '_symbol')}")
            n = sql_name(name + "__num")
            if col.kind == "count":
                outer.append(f"CASE WHEN {n} = round({n}) THEN CAST({n} AS BIGINT) END AS {sql_name(name)}")
            else:
                outer.append(f"{n} AS {sql_name(name)}")
            select.append(f"{finite_number_expr(name, decimal_comma)} AS {n}")
            params["symbols"] = SYMBOL_LIST
            missing_ok = ("" if col.required and not adapted
                          else f" AND trim(coalesce({sql_name(name + '__raw')}, '')) <> ''")
            check(name, f"{sql_name(name + '_symbol')} IS NULL AND {sql_name(name + '__num')} IS NULL{missing_ok}",
                  "CASE WHEN trim(coalesce(" + sql_name(name + "__raw") + ", '')) = '' THEN "
                  "'empty cell: give a number or a symbol (c, x, z, low, u)' "
                  "WHEN left(trim(" + sql_name(name + "__raw") + "), 1) IN ('=', '+', '@') THEN "
                  "'looks like a spreadsheet formula, not a number' "
                  f"WHEN {number_expr(name + '__raw', decimal_comma)} IS NOT NULL THEN "
                  "'number too large or not finite (NaN or infinity are not allowed)' "
                  "ELSE 'not a number or a known symbol (c, x, z, low, u)' END")
            if col.kind == "count":
                check(name, f"{sql_name(name + '__num')} IS NOT NULL AND {sql_name(name + '__num')} <> round({sql_name(name + '__num')})",
                      "'a count must be a whole number'")
            if col.kind in ("count", "number"):
                check(name, f"{sql_name(name + '__num')} < 0", "'negative value'")
            if col.kind == "weight":
                check(name, f"{sql_name(name + '__num')} <= 0 OR {sql_name(name + '__num')} > 1",
                      "'weight must be greater than 0 and at most 1'")
        else:  # area and free-text columns
            select.append(f"NULLIF(trim({sql_name(name)}), '') AS {sql_name(name)}")
            if col.required:
                check(name, f"{sql_name(name)} IS NULL", "'required value is empty'")
            if col.kind == "text" and name not in ("area_name",):
                check(name, f"left({sql_name(name)}, 1) IN ('=', '+', '@') OR left({sql_name(name)}, 1) = '-' AND "
                            f"NOT regexp_full_match({sql_name(name)}, '-?[0-9.]+')",
                      "'looks like a spreadsheet formula; text must not start with = + - @'")

    edition = "NULLIF(trim(edition), '')" if "edition" in present else "NULL"
    if dataset.name != "benchmarks":
        select.append(f"{edition} AS edition")

    # Area codes must be known, and area_level must agree with the areas table.
    area_cols = [c.name for c in dataset.columns if c.kind == "area"]
    if dataset.name == "area_membership":
        area_cols = ["child_code", "parent_code"]
    if dataset.name == "statistical_neighbours":
        area_cols = ["area_code", "neighbour_code"]

    # Known areas are looked up with joins (one hash join per area column), not subqueries.
    for i, a in enumerate(area_cols):
        if a in present and a not in renamed and all_known_areas(pre, raw.table, a, areas_table,
                                             with_level=a == "area_code" and "area_level" in present
                                             and dataset.name != "areas"):
            select.append(f"true AS {sql_name('_known_' + a)}")
            select.append(f"NULL AS {sql_name('_level_' + a)}")
        elif a in present:
            code = f"NULLIF(trim({raw.table}.{sql_name(a)}), '')"
            code = renamed_sql(code, renamed[a], params, a) if a in renamed else code
            joins.append(f"LEFT JOIN (SELECT area_code AS _k{i}, area_level AS _l{i} FROM {areas_table}) _a{i} "
                         f"ON _a{i}._k{i} = {code}")
            select.append(f"_a{i}._k{i} IS NOT NULL AS {sql_name('_known_' + a)}")
            select.append(f"_a{i}._l{i} AS {sql_name('_level_' + a)}")
    pre.close()
    inner_sql = f"SELECT {', '.join(select)} FROM {raw.table} {' '.join(joins)}"
    typed_sql = f"SELECT *{''.join(', ' + o for o in outer)} FROM ({inner_sql})"
    # The typed rows are read by the checks and then by the loader's insert. When every column took
    # a fast path they are a cheap projection of the raw table, recomputed where needed (only the
    # columns each query uses); otherwise they are worked out once per query.
    with_typed = f"WITH typed AS {'NOT ' if not outer else ''}MATERIALIZED ({typed_sql}) "
    cur = con.cursor()
    try:
        if dataset.name != "areas":
            for a in area_cols:
                if a in present:
                    check(a, f"{sql_name(a)} IS NOT NULL AND NOT {sql_name('_known_' + a)}",
                          "'unknown area code (not in the areas table)'")
        if "area_level" in {c.name for c in dataset.columns} and dataset.name != "areas" and "area_code" in present:
            check("area_level", "area_level IS NOT NULL AND _known_area_code AND area_level <> _level_area_code",
                  "'does not match the areas table (' || _level_area_code || ')'")
        if lifetimes and not dataset.reference:
            # An abolished area (Cumbria, to 31 March 2023) has no figures for periods ending later.
            end = contract.period_end_sql(dataset, sql_name(contract.period_column(dataset)), "time_identifier")
            params.update(lt_codes=list(lifetimes), lt_from=[v.valid_from or None for v in lifetimes.values()],
                          lt_to=[v.valid_to or None for v in lifetimes.values()],
                          lt_why=[v.outside_reason() for v in lifetimes.values()])
            pos = "list_position($lt_codes, area_code)"
            check("area_code", f"{pos} IS NOT NULL AND ({end} < CAST(list_extract($lt_from, {pos}) AS DATE) "
                               f"OR {end} > CAST(list_extract($lt_to, {pos}) AS DATE))",
                  f"list_extract($lt_why, {pos})")
        for num, den in dataset.not_greater:
            if num in present and den in present:
                check(num, f"{sql_name(num)} > {sql_name(den)}",
                      f"'{num} (' || {sql_name(num)} || ') is greater than {den} (' || {sql_name(den)} || ')'")
        if "need_matches_status" in dataset.extra_checks:
            check("primary_need", "(sen_status = 'no_sen') <> (primary_need = 'NONE')",
                  "'pupils with no SEN must have primary_need NONE, and only they'")
        if "outcome_ratio" in dataset.extra_checks:
            check("numerator", "outcome <> 'ks4_attainment8' AND numerator > denominator",
                  "'numerator (' || numerator || ') is greater than denominator (' || denominator || ')'")
            check("numerator", "outcome = 'ks4_attainment8' AND numerator > 90 * denominator",
                  "'Attainment 8 points exceed 90 per pupil'")
            if "sd" in present:
                check("sd", "sd IS NOT NULL AND outcome <> 'ks4_attainment8'",
                      "'a standard deviation is only for an average (ks4_attainment8)'")
                check("sd", "outcome = 'ks4_attainment8' AND sd > 45",
                      "'standard deviation ' || sd || ' is above 45, the largest possible for scores from 0 to 90'")
        key_cols = [contract.period_column(dataset) if k in ("year", "month") else k for k in dataset.key]
        key_sql = ", ".join(sql_name(k) for k in key_cols)
        not_null = " AND ".join(f"{sql_name(k)} IS NOT NULL" for k in key_cols)
        any_problem = " OR ".join(f"coalesce({c}, false)" for c in conditions)
        row_checks = (f"SELECT _line, p.col, p.value, p.reason FROM (SELECT _line, "
                      f"unnest(list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)) AS p FROM typed "
                      f"WHERE {any_problem})")
        # Duplicate keys: a hash aggregate finds the (rare) repeated key hashes first, so the exact
        # window comparison only runs on those rows, not on every row of a large file.
        key_hash = f"hash({key_sql})"
        duplicates = (
            f"SELECT _line, '{key_cols[-1]}' AS col, NULL AS value, "
            f"'duplicate key (' || '{', '.join(key_cols)}' || '): same as row ' || first_line AS reason FROM ("
            f"SELECT _line, first_value(_line) OVER (PARTITION BY {key_sql} ORDER BY _line) AS first_line "
            f"FROM typed WHERE {not_null} AND {key_hash} IN (SELECT {key_hash} AS h FROM typed WHERE {not_null} "
            f"GROUP BY h HAVING count(*) > 1)) WHERE _line <> first_line")
        partitions = ""
        area_period = ", ".join(sql_name(k) for k in key_cols[:2])
        for column, total in dataset.total_codes:
            if column in present:
                partitions += (
                    f" UNION ALL SELECT _line, '{column}', '{total}', 'a total row ({total}) beside rows broken down by "
                    f"{column} for the same area and period would be counted twice' FROM (SELECT _line, {sql_name(column)} AS v, "
                    f"bool_or({sql_name(column)} <> '{total}') OVER (PARTITION BY {area_period}) AS broken_down FROM typed) "
                    f"WHERE v = '{total}' AND broken_down")
        if "wait_bands_disjoint" in dataset.extra_checks and "wait_band" in present:
            # A publisher's own bands (codes.WAIT_BAND_SETS): within one area, month, service and
            # EHCP status they must not overlap, or a child would be counted in two bands.
            params.update(wb_codes=list(codes.WAIT_BANDS), wb_lo=[lo for lo, _ in codes.WAIT_BANDS.values()],
                          wb_hi=[hi for _, hi in codes.WAIT_BANDS.values()])
            group = [k for k in key_cols if k != "wait_band"]
            on = " AND ".join(f"a.{sql_name(k)} = b.{sql_name(k)}" for k in group)
            bands = (f"SELECT _line, {', '.join(sql_name(k) for k in key_cols)}, "
                     f"list_extract($wb_lo, list_position($wb_codes, wait_band)) AS lo, "
                     f"coalesce(list_extract($wb_hi, list_position($wb_codes, wait_band)), 1e9) AS hi "
                     f"FROM typed WHERE list_position($wb_codes, wait_band) IS NOT NULL")
            partitions += (
                f" UNION ALL SELECT a._line, 'wait_band', a.wait_band, 'wait band ' || a.wait_band || ' overlaps ' || "
                f"b.wait_band || ' (row ' || b._line || ') for the same area, month, service and EHCP status: one "
                f"source''s bands must not overlap' FROM ({bands}) a JOIN ({bands}) b ON {on} AND a._line > b._line "
                f"AND a.wait_band <> b.wait_band AND a.lo < b.hi AND b.lo < a.hi")
        errors = f"{raw.table}_errors"
        cur.execute(f"DROP TABLE IF EXISTS {errors}")
        sql = (f"CREATE OR REPLACE TABLE {errors} AS {with_typed}{row_checks} UNION ALL {duplicates}{partitions} "
               f"ORDER BY _line, col")
        cur.execute(sql, used_params(sql, params))
        for line, column, reason in raw.row_problems:
            cur.execute(f"INSERT INTO {errors} VALUES (?, ?, NULL, ?)", [line, column, reason])
        problems = cur.execute(f"SELECT _line, col, value, reason FROM {errors} ORDER BY _line, col").fetchall()
        bad_rows = cur.execute(f"SELECT count(DISTINCT _line) FROM {errors}").fetchall()[0][0]
    except duckdb.Error as exc:
        report.fatal = engine_failure(exc, f"checking it as a '{dataset.name}' file")
        return Validated(report, None, {})
    finally:
        cur.close()

    report.problems = [Problem(int(r[0]) if r[0] is not None else None, r[1], r[2], r[3]) for r in problems]
    report.rows_quarantined = bad_rows
    report.rows_read = raw.rows + len(raw.row_problems)
    report.rows_loaded = report.rows_read - bad_rows
    out_cols = [c for c, _t in contract.canonical_columns(dataset)]
    if dataset.name != "benchmarks":
        out_cols.append("edition")
    # A file with no problem rows (the usual case) needs no anti-join against its errors.
    good_rows = f" WHERE _line NOT IN (SELECT _line FROM {raw.table}_errors)" if bad_rows else ""
    good_sql = f"{with_typed}SELECT {', '.join(sql_name(c) for c in out_cols)}, _line AS source_row FROM typed{good_rows}"
    return Validated(report, good_sql, used_params(good_sql, params))


def add_known_areas(con: duckdb.DuckDBPyConnection, validated: Validated, areas_table: str = "areas_ref") -> None:
    """The good rows of a checked areas file become known areas for the files checked after it."""
    if validated.report.dataset == "areas" and validated.good_sql is not None:
        con.execute(f"INSERT INTO {areas_table} SELECT area_code, area_level FROM ({validated.good_sql})",
                    validated.params)


@dataclass
class CleanParquet:
    """A person-level Parquet file that passed every check as a whole (see :func:`clean_person_parquet`)."""
    dataset: Dataset
    rows: int
    columns: list[str]
    cells: str  # table: one row per distinct combination of the non-identifier columns, with `persons`


def clean_person_parquet(con: duckdb.DuckDBPyConnection, path: Path, cells: str, areas_table: str = "areas_ref",
                         today: dt.date | None = None) -> CleanParquet | None:
    """Check a person-level Parquet file as a whole, without copying its rows.

    A case-management extract is the largest file a partnership loads (millions of rows) and is
    usually clean. When its columns are exactly the contract's and already in canonical form
    (codes as the contract spells them, tidy identifiers, January census years), every check of
    :func:`validate_raw` can be answered from two passes over the file: one counts people by every
    column except the identifier into the table `cells` (whose few rows then answer the
    code, area, period and empty-cell checks, and become the caseload), one counts repeated keys
    and untidy identifiers. The loader then keeps the file as it is instead of copying every row
    twice. Returns None as soon as anything is not so (a doubt is enough): the file then takes the
    general per-row validation, which reports each problem with its row and column, and gives the
    same rows for a clean file."""
    cur = con.cursor()
    try:
        source, params = "read_parquet($p)", {"p": str(path)}
        schema = cur.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()
        names = [r[0] for r in schema]
        types = {r[0]: r[1] for r in schema}
        dataset = next((d for d in contract.DATASETS.values()
                        if d.person_level and sorted(names) == sorted(d.required_names)), None)
        if (dataset is None or dataset.total_codes or dataset.not_greater or dataset.extra_checks
                or dataset.monthly or len(dataset.time_identifiers) != 1):
            return None
        if types.get("time_period") not in ("SMALLINT", "INTEGER", "BIGINT", "VARCHAR") or any(
                types[n] != "VARCHAR" for n in names if n != "time_period"):
            return None
        text = {c.name for c in dataset.columns if c.kind == "text"}
        ids = [n for n in names if n in text]
        if not ids or any(k not in ids for k in dataset.key if k not in ("year", "month")):
            return None  # the cells would not be few: leave such a file to the general path
        grouped = [n for n in names if n not in ids]
        cols = ", ".join(sql_name(n) for n in grouped)
        counted = sql_text("person_cells").format(columns=cols, persons=source)
        cur.execute(f"CREATE OR REPLACE TABLE {cells} AS {counted}", params)
        empty = " OR ".join(f"{sql_name(n)} IS NULL" for n in grouped)
        rows, empty_cells = cur.execute(f"SELECT sum(persons), count(*) FILTER (WHERE {empty}) "
                                        f"FROM {cells}").fetchall()[0]
        if not rows or empty_cells:
            return None
        latest = (today or dt.date.today()).year
        bad_periods = cur.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT CAST(time_period AS VARCHAR) AS tp, time_identifier AS ti "
            f"FROM {cells}) WHERE NOT list_contains($ti, ti) OR NOT regexp_full_match(tp, '\\d{{4}}') "
            f"OR TRY_CAST(tp AS INTEGER) NOT BETWEEN 2000 AND $latest",
            {"ti": list(dataset.time_identifiers), "latest": latest}).fetchall()[0][0]
        if bad_periods:
            return None
        for col in dataset.columns:
            present = col.name in names  # an optional column the file does not give (ehcp_persons.ncy)
            if col.kind == "code" and col.name != "time_identifier" and present and not all_allowed_exactly(
                    cur, cells, col.name, col.allowed):
                return None
        if not all_known_areas(cur, cells, "area_code", areas_table, with_level=True):
            return None
        key = ", ".join("time_period" if k in ("year", "month") else sql_name(k) for k in dataset.key)
        # Identifiers must be as the general path would store them: not empty, trimmed, not a formula.
        untidy = " OR ".join(f"{sql_name(n)} IS NULL OR {sql_name(n)} = '' OR ascii({sql_name(n)}) IN (61, 43, 45, 64) "
                             f"OR {sql_name(n)} <> trim({sql_name(n)})" for n in ids)
        # Repeated key hashes (a hash collision only sends the file to the row-by-row checks).
        repeated, untidy_ids = cur.execute(f"SELECT count(*) - count(DISTINCT hash({key})), "
                                           f"count(*) FILTER (WHERE {untidy}) FROM {source}", params).fetchall()[0]
        if repeated or untidy_ids:
            return None
        return CleanParquet(dataset, int(rows), names, cells)
    except duckdb.Error:
        return None
    finally:
        cur.close()


def quarantine_rows_sql(raw: RawTable) -> str:
    """Quarantined rows: one per problem, with the whole original row as JSON."""
    return (f"SELECT e._line AS source_row, e.col AS column_name, e.value, e.reason, to_json(r) AS raw_row "
            f"FROM {raw.table}_errors e LEFT JOIN (SELECT {raw.line_sql} AS _line_no, * FROM {raw.table}) r "
            f"ON r._line_no = e._line")


def drop_checked_tables(con: duckdb.DuckDBPyConnection, raw: RawTable) -> None:
    """Drop the tables a file's check created (see :func:`validate_file`), once its rows are used."""
    for suffix in ("", "_errors", "_periods"):
        con.execute(f"DROP TABLE IF EXISTS {raw.table}{suffix}")


def engine_failure(exc: Exception, doing: str) -> str:
    """A plain sentence for an unexpected failure of the query engine (a fault to report, not a data
    problem the user can fix from the message); the engine's words are shown only with SEND_DEBUG=1."""
    import os
    detail = f" (engine message: {str(exc).splitlines()[0]})" if os.environ.get("SEND_DEBUG") else \
        " (set SEND_DEBUG=1 to see the engine's message)"
    return (f"could not be checked: the query engine stopped while {doing}; the file may hold a value "
            f"of a kind the checks do not expect. Please report it with the file{detail}")


def is_adapted_output(display: str) -> bool:
    """Files written by an adapter from a published file are shown as '<file> [<format> -> <dataset>]'."""
    return display.endswith("]") and " -> " in display


def validate_file(path: Path, con: duckdb.DuckDBPyConnection, areas_table: str = "areas_ref",
                  display: str | None = None, table: str = "raw_file",
                  adapted: bool = False) -> tuple[FileReport, RawTable | None, Validated | None]:
    """Read and check one file into `table` (and `<table>_errors`, `<table>_periods`)."""
    display = display or str(path)
    why = not_a_table_message(Path(path))
    if why:
        return FileReport(path=display, fatal=why), None, None
    try:
        raw = read_raw(con, path, table)
    except UnreadableFile as exc:
        return FileReport(path=display, fatal=str(exc)), None, None
    except OSError as exc:
        return FileReport(path=display, fatal=f"cannot open the file: {exc.strerror}"), None, None
    except duckdb.Error as exc:
        return FileReport(path=display, fatal=engine_failure(exc, "reading it")), None, None
    v = validate_raw(con, raw, display, areas_table=areas_table, adapted=adapted)
    return v.report, raw, v
