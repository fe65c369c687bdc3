"""One value per figure, whatever files and editions give it (the loader's reconciliation).

When several files or editions give the same figure (a dataset's quantity for one area, period and
filter; a total and its breakdown are two views of one figure), the newest edition wins, files of
one edition complement each other cell by cell, and a figure's numerator and denominator always
come from one source. Every figure given by more than one source is recorded side by side in the
load's reconciliation table, so the choice can be checked.
"""
from __future__ import annotations

from send_metrics import contract
from send_metrics.ingest.readers import sql_name
from send_metrics.ingest.stored_loads import LoadResult, stored_columns


def key_columns(ds: contract.Dataset) -> list[str]:
    return [contract.period_column(ds) if k in ("year", "month") else k for k in ds.key]


def breakdown_totals(ds: contract.Dataset) -> dict[str, str]:
    """Breakdown column -> its "all" (not broken down) code, where it has one."""
    out = dict(ds.total_codes)
    for d in ds.breakdowns:
        allowed = ds.column(d).allowed or ()
        for code in ("ALL", "all"):
            if d not in out and code in allowed:
                out[d] = code
    return {d: c for d, c in out.items() if d in ds.breakdowns}


def figure_groups(ds: contract.Dataset) -> list[list[str]]:
    """Indicator columns that make one figure together and so must come from one source: a
    numerator with its denominator (the contract's not-greater pairs, joined transitively), and
    for benchmarks and outcomes the value with its parts. Every other indicator stands alone."""
    cols = [c.name for c in ds.indicators]
    parent = {c: c for c in cols}

    def find(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    pairs = list(ds.not_greater)
    if ds.name in ("benchmarks", "outcomes"):
        pairs += [(a, b) for a, b in zip(cols, cols[1:])]
    for a, b in pairs:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for c in cols:
        groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def _held(col: str) -> str:
    """A row holds a figure's column when it gives a number or a publisher's symbol. An empty
    cell (NULL value and no symbol) means the file does not carry that column at all."""
    return f"({sql_name(col)} IS NOT NULL OR {sql_name(col + '_symbol')} IS NOT NULL)"


def resolve_figures(con, ds: contract.Dataset, file_rank: list[str], result: LoadResult) -> bool:
    """One value for every figure, whatever files and editions give it.

    A figure is a dataset's quantity (a column, or a group of columns read together) for one
    identity: area, period and the key's non-breakdown filters. A total row and the cells of a
    breakdown of the same identity are two views of one figure. For each figure the newest
    edition that holds it wins; files of that edition complement each other cell by cell (the
    file recorded first wins a shared cell, at the grain of the first); rows of other sources stay
    in the all-editions table. A row none of whose figures wins is superseded (another edition) or a
    duplicate (the same edition from an earlier file: quarantined, as before). Returns True when
    the final table was built here (several sources share an identity)."""
    table = sql_name("t_" + ds.name)
    if con.execute(f"SELECT count(DISTINCT source_file) FROM {table}").fetchall()[0][0] < 2:
        return False
    ident = contract.identity_columns(ds)
    id_sql = ", ".join(sql_name(c) for c in ident)
    shared = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY {id_sql} "
                         f"HAVING count(DISTINCT (source_file, coalesce(edition, ''))) > 1)").fetchall()[0][0]
    if not shared:
        return False
    con.execute("CREATE OR REPLACE TEMP TABLE _file_rank (source_file VARCHAR, rank INTEGER)")
    con.executemany("INSERT INTO _file_rank VALUES (?, ?)", [(f, i) for i, f in enumerate(file_rank)])
    # Every (file, edition) pair is a source; 1 = the newest edition, then the file recorded first.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _src AS SELECT source_file, edition,
                    row_number() OVER (ORDER BY edition DESC NULLS LAST, rank NULLS LAST, source_file) AS src
                    FROM (SELECT DISTINCT t.source_file, t.edition, f.rank FROM {table} t
                          LEFT JOIN _file_rank f USING (source_file))""")
    # A dataset with no indicators (person-level rows) has one figure per key: the row itself.
    groups = figure_groups(ds) or [[]]
    held = [" OR ".join(_held(c) for c in g) or "true" for g in groups]
    key_cols = key_columns(ds)
    cell_sql = ", ".join(sql_name(c) for c in key_cols)
    # A row's grain: which breakdown columns it leaves at their "all" code (a total).
    totals = breakdown_totals(ds)
    grain = (" || ".join(f"CASE WHEN {sql_name(d)} = '{totals[d]}' THEN 'T' ELSE 'B' END" if d in totals else "'B'"
                         for d in ds.breakdowns) or "''")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tagged AS SELECT t.rowid AS _rid, t.*, s.src AS _src,
                    {grain} AS _grain FROM {table} t JOIN _src s ON s.source_file = t.source_file
                    AND s.edition IS NOT DISTINCT FROM t.edition""")
    # Per group: the best source of each cell, and the best source of the whole identity with its
    # edition and the grains it gives. A row's figure stands when its source is the best for its
    # cell, it is of the identity's newest edition, and its grain is one the identity's best source
    # gives: files of one edition complement each other cell by cell (disjoint cells of the same
    # grain add up), but two editions, or a total and a breakdown, are never added.
    cell_wins = ", ".join(f"min(_src) FILTER (WHERE {h}) AS _c{i}" for i, h in enumerate(held))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cellwin AS SELECT {cell_sql}, {cell_wins} FROM _tagged "
                f"GROUP BY {cell_sql}")
    best = ", ".join(f"min(_src) FILTER (WHERE {h}) AS _b{i}" for i, h in enumerate(held))
    editions = ", ".join(f"(SELECT edition FROM _src WHERE src = _b{i}) AS _e{i}" for i in range(len(held)))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _best AS SELECT *, {editions} FROM "
                f"(SELECT {id_sql}, {best} FROM _tagged GROUP BY {id_sql})")
    grains = " UNION ALL ".join(
        f"SELECT DISTINCT {', '.join('x.' + sql_name(c) for c in ident)}, {i} AS _g, x._grain FROM _tagged x "
        f"JOIN _best b USING ({id_sql}) WHERE ({h}) AND x._src = b._b{i}" for i, h in enumerate(held))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _grains AS {grains}")
    id_on = " AND ".join(f"g.{sql_name(c)} = x.{sql_name(c)}" for c in ident)
    kept_g = [f"(({h}) AND x._src = c._c{i} AND x.edition IS NOT DISTINCT FROM b._e{i} AND EXISTS (SELECT 1 "
              f"FROM _grains g WHERE {id_on} AND g._g = {i} AND g._grain = x._grain))" for i, h in enumerate(held)]
    beaten = [f"CASE WHEN NOT ({h}) THEN NULL WHEN c._c{i} < x._src THEN c._c{i} ELSE b._b{i} END"
              for i, h in enumerate(held)]
    cell_on = " AND ".join(f"c.{sql_name(k)} = x.{sql_name(k)}" for k in key_cols)
    best_on = " AND ".join(f"b.{sql_name(c)} = x.{sql_name(c)}" for c in ident)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _rows AS SELECT x.*,
                    {', '.join(f'coalesce({k}, false) AS _k{i}' for i, k in enumerate(kept_g))},
                    least({', '.join(beaten)}) AS _beaten_by,
                    {' OR '.join(f"coalesce(({h}) AND c._c{i} < x._src, false)" for i, h in enumerate(held))} AS _same_cell
                    FROM _tagged x JOIN _cellwin c ON {cell_on} JOIN _best b ON {best_on}""")
    con.execute(f"ALTER TABLE _rows ADD COLUMN _kept BOOLEAN")
    con.execute(f"UPDATE _rows SET _kept = {' OR '.join(f'_k{i}' for i in range(len(groups)))}")
    required = {c.name for c in ds.indicators if c.required}
    select = [sql_name(k) for k in key_cols]
    for i, g in enumerate(groups):
        for c in g:
            won = f"FILTER (WHERE _k{i})"
            select.append(f"any_value({sql_name(c)}) {won} AS {sql_name(c)}")
            missing = "'x'" if c in required else "NULL"
            select.append(f"coalesce(any_value({sql_name(c + '_symbol')}) {won}, CASE WHEN any_value("
                          f"{sql_name(c)}) {won} IS NULL THEN {missing} END) AS {sql_name(c + '_symbol')}")
    indicator_names = {c.name for c in ds.indicators} | {c.name + "_symbol" for c in ds.indicators}
    stored = stored_columns(ds)
    for col in stored:
        if col in key_cols or col in indicator_names:
            continue
        select.append(f"arg_min({sql_name(col)}, _src) FILTER (WHERE _kept) AS {sql_name(col)}")
    order = ", ".join(sql_name(c) for c in stored)
    con.execute(f"CREATE TABLE {sql_name(ds.name)} AS SELECT {order} FROM (SELECT {', '.join(select)} FROM _rows "
                f"WHERE _kept GROUP BY {', '.join(sql_name(k) for k in key_cols)})")
    # Rows that give no winning figure: a duplicate (same edition, earlier file) is quarantined as
    # before; a row beaten by a newer edition is superseded and stays in the all-editions table.
    con.execute("""CREATE OR REPLACE TEMP TABLE _lost AS SELECT r._rid, r.source_file, r.source_row,
                   r.edition, b.source_file AS by_file, b.edition AS by_edition, r._same_cell,
                   b.edition IS NOT DISTINCT FROM r.edition AS duplicate
                   FROM _rows r LEFT JOIN _src b ON b.src = r._beaten_by WHERE NOT r._kept""")
    con.execute("""INSERT INTO quarantine SELECT source_file, $ds, source_row, $k, NULL,
                   CASE WHEN _same_cell THEN 'duplicate key: the same figure (same key and edition) is already '
                   || 'loaded from ' || by_file ELSE 'duplicate: the same figure, at another breakdown (a total '
                   || 'beside its breakdown, same edition), is already loaded from ' || by_file END, NULL
                   FROM _lost WHERE duplicate""", {"ds": ds.name, "k": ",".join(key_columns(ds))})
    con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT _rid FROM _lost WHERE duplicate)")
    counts = con.execute("""SELECT source_file, count(*) FILTER (WHERE duplicate),
                            count(*) FILTER (WHERE NOT duplicate), string_agg(DISTINCT by_file, '; ')
                            FILTER (WHERE NOT duplicate), max(by_edition) FILTER (WHERE NOT duplicate),
                            string_agg(DISTINCT by_file, '; ') FILTER (WHERE duplicate)
                            FROM _lost GROUP BY source_file""").fetchall()
    for source_file, dups, superseded, by_files, by_edition, dup_of in counts:
        # A file whose rows are quarantined as duplicates is not "OK": its status and message say so.
        said = (f"{dups:,} rows give figures already loaded from {(dup_of or 'an earlier file')[:200]} (same "
                "edition): quarantined as duplicates") if dups else ""
        con.execute("""UPDATE manifest SET rows_loaded = rows_loaded - $d - $s,
                       rows_quarantined = rows_quarantined + $d, rows_superseded = rows_superseded + $s,
                       status = CASE WHEN $d > 0 AND status = 'loaded' THEN 'loaded with problems' ELSE status END,
                       message = CASE WHEN $d > 0 THEN coalesce(nullif(message, '') || '; ', '') || $said
                                 ELSE message END
                       WHERE source_file = $f AND dataset = $ds""",
                    {"d": dups, "s": superseded, "f": source_file, "ds": ds.name, "said": said})
        for report in result.reports:
            if report.path == source_file and report.dataset == ds.name:
                report.rows_loaded -= dups + superseded
                report.rows_quarantined += dups
                report.rows_duplicate += dups
                report.rows_superseded += superseded
                if dups:
                    report.notes.append(said)
                if superseded:
                    report.notes.append(f"{superseded:,} rows superseded by a newer edition ({by_edition} in "
                                        f"{by_files[:200]}); they stay in {ds.name}_all_editions")
        if ds.name == "ehcp_caseload" and not any(r.path == source_file and r.dataset == ds.name
                                                  for r in result.reports) and superseded:
            result.notes.append(f"{source_file}: {superseded:,} caseload cells counted from it are superseded by "
                                f"a newer edition ({by_edition} in {by_files[:200]})")
    _record_reconciliation(con, ds, groups, ident)
    for t in ("_tagged", "_cellwin", "_best", "_grains", "_rows", "_lost"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return True


def _record_reconciliation(con, ds: contract.Dataset, groups: list[list[str]], ident: list[str]) -> None:
    """Every figure given by more than one source, each source's value side by side: the same cell
    from several files or editions, and an identity given at different grains (a total beside a
    breakdown: each source's cells are summed; a symbol in any cell leaves the sum empty)."""
    period = contract.period_column(ds)
    key_cols = key_columns(ds)

    def label(cols: list[str], suffix: str) -> str:
        extra = [c for c in cols if c not in (period, "area_code")]
        parts = " || ', ' || ".join(f"'{c}=' || {sql_name(c)}" for c in extra)
        return (f"' [' || {parts} || ']'" if extra else "''") + (f" || '{suffix}'" if suffix else "")

    for i, g in enumerate(groups):
        for c in g:
            h = _held(c)
            for cols, having, suffix in ((key_cols, "count(DISTINCT _src) > 1", ""),
                                         (ident, "count(DISTINCT _grain) > 1", " (all cells summed, per source)")):
                if cols is ident and not ds.breakdowns:
                    continue
                by = ", ".join(sql_name(x) for x in cols)
                con.execute(f"""INSERT INTO reconciliation
                    WITH multi AS (SELECT {by} FROM _rows WHERE {h} GROUP BY {by} HAVING {having})
                    SELECT $ds, area_code, CAST({sql_name(period)} AS VARCHAR), '{c}' || {label(cols, suffix)},
                           edition, source_file,
                           CASE WHEN bool_or({sql_name(c)} IS NULL) THEN NULL ELSE sum({sql_name(c)}) END,
                           max({sql_name(c + '_symbol')}), count(*), bool_or(_k{i})
                    FROM _rows JOIN multi USING ({by}) WHERE {h}
                    GROUP BY {by}, edition, source_file""", {"ds": ds.name})
