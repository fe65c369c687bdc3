"""The SQL of the per-column checks: codes, numbers, periods and area codes, each from the contract.

Each function turns one column's rule in the data contract into a SQL expression (a canonical value,
or NULL when the cell breaks the rule) or a quick test over the column's distinct values (the fast
paths: a column whose values are all clean needs no per-row work, and any doubt falls back to the
per-row expressions, which give the same results). Identifiers come only from the contract and
every value from a file reaches SQL as a parameter or as data.
"""
from __future__ import annotations

import re

import duckdb

from send_metrics import contract
from send_metrics.contract import codes
from send_metrics.contract import Dataset
from send_metrics.ingest.readers import sql_name


SYMBOL_LIST = list(codes.SYMBOLS)


def used_params(sql: str, params: dict) -> dict:
    """DuckDB wants exactly the parameters a statement names; pass only those."""
    return {k: v for k, v in params.items() if re.search(r"\$" + re.escape(k) + r"\b", sql)}


def code_expr(col: contract.Column) -> tuple[tuple[str, str], dict]:
    """Canonical code via case-insensitive lookup: NULL when the value is not allowed.

    Two parts: the position in the allowed list (inner query), then the code at that position."""
    p = f"allowed_{col.name}"
    upper = [a.upper() for a in col.allowed]
    position = f"list_position(${p}_u, upper(trim({sql_name(col.name)})))"
    code = f"CASE WHEN {{pos}} > 0 THEN ${p}[{{pos}}] END"
    return (position, code), {p: list(col.allowed), p + "_u": upper}


def number_expr(name: str, decimal_comma: bool) -> str:
    v = f"trim({sql_name(name)})"
    if decimal_comma:
        v = f"replace(replace({v}, '.', ''), ',', '.')"
    else:
        v = f"replace({v}, ',', '')"
    # DuckDB's cast reads digit-group underscores ('1_000' as 1000); no spreadsheet or publisher
    # writes them, so a cell holding one is not a number (quarantined with its reason).
    return f"CASE WHEN contains({sql_name(name)}, '_') THEN NULL ELSE TRY_CAST({v} AS DOUBLE) END"


# Counts are stored as BIGINT: anything at or beyond this (or NaN / infinity) is not a usable number.
LARGEST_NUMBER = 9e15


def finite_number_expr(name: str, decimal_comma: bool) -> str:
    """The cell as a finite number within range, else NULL (so a cast can never fail the whole file)."""
    d = number_expr(name, decimal_comma)
    return f"CASE WHEN isfinite({d}) AND abs({d}) < {LARGEST_NUMBER:.0f} THEN {d} END"


def period_exprs(ds: Dataset) -> tuple[str, str]:
    """SQL for the canonical period, and for a reason when it is not valid (the second reads the
    first from its column, so it is computed once per row)."""
    tp = "trim(time_period)"
    ti = "lower(trim(time_identifier))"
    if ds.monthly:
        period = (f"CASE WHEN {ti} = 'month' THEN COALESCE("
                  f"TRY_STRPTIME({tp}, '%Y%m')::DATE, TRY_STRPTIME({tp}, '%Y-%m')::DATE, "
                  f"date_trunc('month', TRY_STRPTIME({tp}, '%Y-%m-%d'))::DATE) END")
        col = contract.period_column(ds)
        bad = (f"CASE WHEN {ti} <> 'month' THEN 'time_identifier must be Month for this dataset' "
               f"WHEN {col} IS NULL THEN 'time_period must be YYYYMM for a month' "
               f"WHEN {col} > date_trunc('month', $today::DATE) THEN 'period is in the future' "
               f"WHEN {col} < DATE '2000-01-01' THEN 'period is before 2000' END")
        return period, bad
    allowed = [t.lower() for t in ds.time_identifiers]
    two_year = ("CASE WHEN regexp_full_match({tp}, '\\d{{6}}') AND "
                "(CAST(substr({tp}, 1, 4) AS INTEGER) + 1) % 100 = CAST(substr({tp}, 5, 2) AS INTEGER) "
                "THEN CAST(substr({tp}, 1, 4) AS INTEGER) + 1 "
                "WHEN regexp_full_match({tp}, '\\d{{4}}/\\d{{2}}') AND "
                "(CAST(substr({tp}, 1, 4) AS INTEGER) + 1) % 100 = CAST(substr({tp}, 6, 2) AS INTEGER) "
                "THEN CAST(substr({tp}, 1, 4) AS INTEGER) + 1 END").format(tp=tp)
    one_year = f"CASE WHEN regexp_full_match({tp}, '\\d{{4}}') THEN CAST({tp} AS INTEGER) END"
    period = (f"CASE WHEN {ti} IN ('calendar year', 'january') THEN {one_year} "
              f"WHEN {ti} IN ('academic year', 'financial year') THEN {two_year} END")
    # Academic and financial years are stored by their end year, which may be next year.
    latest = f"CASE WHEN {ti} IN ('academic year', 'financial year') THEN year($today::DATE) + 1 ELSE year($today::DATE) END"
    allowed_sql = ", ".join("'" + a + "'" for a in allowed)  # contract constants, not user data
    bad = (f"CASE WHEN {ti} IS NULL OR {ti} NOT IN ({allowed_sql}) THEN "
           f"'time_identifier must be one of: {', '.join(ds.time_identifiers)}' "
           f"WHEN year IS NULL THEN 'time_period is not a valid period for its time_identifier' "
           f"WHEN year > {latest} THEN 'period is in the future' "
           f"WHEN year < 2000 THEN 'period is before 2000' END")
    return period, bad


# Fast paths: a column whose distinct values are all clean needs no per-row work. Each test reads one
# or two columns of the raw table (cheap for the low-cardinality columns it is used on); any doubt
# means the general per-row expressions are used, which give the same results.
MAX_DISTINCT_PERIODS = 5000


def _scalar(cur, sql: str, params: dict | None = None):
    try:
        return cur.execute(sql, params or {}).fetchall()[0][0]
    except duckdb.Error:
        return None


def all_allowed_exactly(cur, table: str, name: str, allowed: tuple | list, params: dict | None = None) -> bool:
    bad = _scalar(cur, f"SELECT count(*) FROM (SELECT DISTINCT {sql_name(name)} AS v FROM {table}) "
                       f"WHERE v IS NOT NULL AND NOT list_contains($allowed, v)", {**(params or {}), "allowed": list(allowed)})
    return bad == 0


def all_trimmed(cur, table: str, name: str) -> bool:
    bad = _scalar(cur, f"SELECT count(*) FROM (SELECT DISTINCT {sql_name(name)} AS v FROM {table}) "
                       f"WHERE v IS NOT NULL AND (v = '' OR v <> trim(v))")
    return bad == 0


def all_known_areas(cur, table: str, name: str, areas_table: str, with_level: bool,
                     params: dict | None = None) -> bool:
    level = ", area_level AS l" if with_level else ""
    level_check = " OR d.l IS DISTINCT FROM r.lvl" if with_level else ""
    bad = _scalar(cur, f"SELECT count(*) FROM (SELECT DISTINCT {sql_name(name)} AS v{level} FROM {table}) d "
                       f"LEFT JOIN (SELECT area_code, any_value(area_level) AS lvl FROM {areas_table} GROUP BY 1) r "
                       f"ON r.area_code = d.v WHERE d.v IS NOT NULL AND (r.area_code IS NULL{level_check})", params)
    return bad == 0


def area_code_changes(cur, table: str, columns: list[str], areas_table: str, notes: list[str]):
    """Codes ONS replaced one-to-one that the areas table does not know (column -> {code: code it
    knows}, each reported in `notes` with its count of rows), and the built-in areas with a
    lifetime (valid_from / valid_to) found in the area_code column (see send_metrics.ingest.area_codes)."""
    from send_metrics.ingest import area_codes
    candidates = area_codes.one_to_one_codes() | set(area_codes.lifetimes())
    renamed: dict[str, dict[str, str]] = {}
    lifetimes: dict = {}
    for name in columns:
        try:
            found = dict(cur.execute(f"SELECT trim({sql_name(name)}) AS v, count(*) FROM {table} WHERE trim({sql_name(name)}) "
                                     f"IN (SELECT unnest($codes)) GROUP BY 1", {"codes": sorted(candidates)}).fetchall())
        except duckdb.Error:
            continue
        if name == "area_code":
            lifetimes.update({c: area_codes.lifetimes()[c] for c in found if c in area_codes.lifetimes()})
        if not found.keys() & area_codes.one_to_one_codes():
            continue
        known = {r[0] for r in cur.execute(f"SELECT DISTINCT area_code FROM {areas_table}").fetchall()}
        for code, (to, change) in sorted(area_codes.replacements(known).items()):
            if code in found:
                renamed.setdefault(name, {})[code] = to
                notes.append(f"{name}: {area_codes.replaced_note(code, to, change, found[code])}")
    return renamed, lifetimes


def renamed_sql(value: str, renamed: dict[str, str], params: dict, name: str) -> str:
    """The area code, or the code the areas table knows for a code ONS replaced one-to-one."""
    params[f"from_{name}"], params[f"to_{name}"] = list(renamed), list(renamed.values())
    pos = f"list_position($from_{name}, {value})"
    return f"coalesce(list_extract($to_{name}, {pos}), {value})"


# A cell matching one of these is read exactly as the general number expressions read it (no
# separators, spaces or signs; at most 15 digits, so within LARGEST_NUMBER).
PLAIN_WHOLE_NUMBER = "[0-9]{1,15}"


PLAIN_DECIMAL = "[0-9]{1,15}([.][0-9]{1,15})?"


def plain_numbers(cur, table: str, col: contract.Column, decimal_comma: bool, may_be_empty: bool = False) -> bool:
    """True when every distinct value of an indicator column is a plain non-negative number, a
    symbol exactly as the contract spells it, or (when the column is optional) empty."""
    if col.kind not in ("count", "number"):
        return False  # weights have a range to check row by row
    pattern = PLAIN_WHOLE_NUMBER if col.kind == "count" or decimal_comma else PLAIN_DECIMAL
    others = _scalar(cur, f"SELECT count(*) FROM (SELECT DISTINCT {sql_name(col.name)} AS v FROM {table}) "
                          f"WHERE NOT coalesce(regexp_full_match(v, $pattern) OR list_contains($symbols, v), "
                          f"$optional)", {"pattern": pattern, "symbols": SYMBOL_LIST,
                                                      "optional": may_be_empty or not col.required})
    return others == 0


def period_lookup(cur, table: str, period: str, bad: str, pcol: str, params: dict) -> str | None:
    """A temp table of each distinct (time_period, time_identifier) with its period and problem."""
    pairs = _scalar(cur, f"SELECT count(*) FROM (SELECT DISTINCT time_period, time_identifier FROM {table})")
    if pairs is None or pairs > MAX_DISTINCT_PERIODS:
        return None
    name = f"{table}_periods"
    sql = (f"CREATE OR REPLACE TABLE {name} AS SELECT time_period AS _tp, time_identifier AS _ti, {pcol}, "
           f"{bad} AS _period_problem FROM (SELECT time_period, time_identifier, {period} AS {pcol} "
           f"FROM (SELECT DISTINCT time_period, time_identifier FROM {table}))")
    try:
        cur.execute(sql, used_params(sql, params))
    except duckdb.Error:
        return None
    return name
