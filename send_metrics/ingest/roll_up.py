"""Parent areas rolled up from their localities, and the load's Parquet files written.

A parent area (a region, England) is built by summing its member localities in SQL (sum over sum,
never an average of rates; a standard deviation is pooled from sums of squares), only for the
periods it existed in and only when every member has data; otherwise a note says which were not
built. Then each dataset's final rows, its all-editions table, the quarantine, manifest and
reconciliation are written as the load's Parquet files.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from send_metrics import contract
from send_metrics.config import sql_text
from send_metrics.ingest.readers import sql_name
from send_metrics.ingest.resolve import resolve_figures
from send_metrics.ingest.stored_loads import LoadResult, sql_literal


def write_areas(con) -> None:
    """Final areas (first definition of a code wins), membership and the rollup map."""
    con.execute("""CREATE TABLE areas AS SELECT area_code, arg_min(area_name, rowid) AS area_name,
                   arg_min(area_level, rowid) AS area_level, arg_min(dfe_la_code, rowid) AS dfe_la_code,
                   coalesce(lower(arg_min(rollup_complete, rowid)) = 'true', false) AS rollup_complete,
                   arg_min(coverage_note, rowid) AS coverage_note,
                   TRY_CAST(arg_min(valid_from, rowid) AS DATE) AS valid_from,
                   TRY_CAST(arg_min(valid_to, rowid) AS DATE) AS valid_to,
                   TRY_CAST(arg_min(published_from, rowid) AS DATE) AS published_from FROM t_areas GROUP BY area_code""")
    links = con.execute("SELECT DISTINCT child_code, parent_code FROM t_area_membership WHERE weight = 1").fetchall()
    complete = {r[0] for r in con.execute("SELECT area_code FROM areas WHERE rollup_complete").fetchall()}
    parents: dict[str, set[str]] = {}
    has_child: set[str] = set()
    for child, parent in links:
        parents.setdefault(child, set()).add(parent)
        has_child.add(parent)
    leaves = [a for a in parents if a not in has_child]
    pairs = []
    for leaf in leaves:
        seen, stack = set(), list(parents.get(leaf, ()))
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            stack.extend(parents.get(p, ()))
        pairs += [(leaf, a) for a in sorted(seen) if a in complete]
    con.execute("CREATE TABLE rollup_map (leaf VARCHAR, ancestor VARCHAR)")
    if pairs:
        con.executemany("INSERT INTO rollup_map VALUES (?, ?)", pairs)


def _latest_and_rollup(con, ds: contract.Dataset, file_rank: list[str], result: LoadResult,
                       merged: set[str]) -> list[str]:
    """One value per figure (see resolve_figures), then parent areas summed from localities."""
    table = "t_" + ds.name
    if resolve_figures(con, ds, file_rank, result):
        merged.add(ds.name)
    else:  # one source per figure: keys are already unique, nothing to choose
        con.execute(f"ALTER TABLE {sql_name(table)} RENAME TO {sql_name(ds.name)}")
        con.execute(f"CREATE VIEW {sql_name(table)} AS SELECT * FROM {sql_name(ds.name)} WHERE NOT is_rollup")
        # A column no file gives (an adapted publication leaves it empty) is 'x', not available.
        for col in (c.name for c in ds.indicators if c.required):
            sym = sql_name(col + "_symbol")
            con.execute(f"UPDATE {sql_name(ds.name)} SET {sym} = 'x' WHERE {sql_name(col)} IS NULL AND {sym} IS NULL")
    if ds.person_level:
        return []
    period = contract.period_column(ds)
    filters = [c.name for c in ds.columns if c.kind == "code" and c.name not in ("area_level", "time_identifier")]
    select = ["r.ancestor AS area_code", "any_value(a.area_level) AS area_level", f"f.{period}"]
    select += [f"f.{sql_name(c)}" for c in filters]
    spreads = {sd: (total, count) for sd, total, count in ds.spreads}
    for ind in ds.indicators:
        n = sql_name(ind.name)
        if ind.name in spreads:
            # The pooled standard deviation of every observation of the members: sums of squares
            # ((n - 1) sd^2 + total^2 / n) add, a standard deviation does not.
            t, k = (sql_name(c) for c in spreads[ind.name])
            missing = f"bool_or(f.{n} IS NULL OR f.{t} IS NULL OR f.{k} IS NULL OR f.{k} <= 0)"
            pooled = (f"sqrt(greatest(0, (sum((f.{k} - 1) * f.{n} * f.{n} + f.{t} * f.{t} / f.{k}) "
                      f"- sum(f.{t}) * sum(f.{t}) / sum(f.{k})) / nullif(sum(f.{k}) - 1, 0)))")
            select.append(f"CASE WHEN {missing} THEN NULL ELSE {pooled} END AS {n}")
            select.append(f"CASE WHEN {missing} THEN 'x' END AS {sql_name(ind.name + '_symbol')}")
            continue
        select.append(f"CASE WHEN bool_or(f.{n} IS NULL) THEN NULL ELSE sum(f.{n}) END AS {n}")
        select.append(f"CASE WHEN bool_or(f.{n} IS NULL) THEN 'x' END AS {sql_name(ind.name + '_symbol')}")
    extra = [c.name for c in ds.columns if c.kind == "text" and c.name != "area_name"]
    for t in extra:
        select.append(f"any_value(f.{sql_name(t)}) AS {sql_name(t)}")
    select += ["NULL AS area_name"] if "area_name" in [c.name for c in ds.columns] else []
    ordered_cols = [c for c, _ in contract.canonical_columns(ds)]
    by_name = {}
    for s in select:
        alias = s.rsplit(" AS ", 1)[-1].strip('"') if " AS " in s else s.split(".")[-1].strip('"')
        by_name[alias] = s
    final_select = [by_name.get(c, f"NULL AS {sql_name(c)}") for c in ordered_cols]
    final_select += ["'rollup-' || coalesce(max(f.edition), '') AS edition" if ds.name != "benchmarks" else None,
                     "'rollup' AS source_file", "NULL AS source_row", "true AS is_rollup"]
    final_select = [s for s in final_select if s]
    group = ["r.ancestor", f"f.{period}"] + [f"f.{sql_name(c)}" for c in filters]
    # An area is built only for the periods it existed in (areas.valid_from / valid_to: Cumbria to March 2023).
    con.execute(sql_text("rollup_coverage").format(table=sql_name(ds.name), period=period,
                                                   period_end=contract.period_end_sql(ds, "p.period")))
    con.execute(sql_text("rollup").format(table=sql_name(ds.name), period=period,
                                          select_list=", ".join(final_select), group_list=", ".join(group)))
    missing = con.execute(sql_text("incomplete_rollups")).fetchall()
    notes = []
    if missing:
        by_area: dict[str, list[str]] = {}
        for anc, per, n, total in missing:
            by_area.setdefault(anc, []).append(f"{per} ({n}/{total} localities)")
        for anc, pers in by_area.items():
            notes.append(f"{ds.name}: {anc} not built for {', '.join(pers[:5])}"
                         f"{' ...' if len(pers) > 5 else ''}: not every member locality has data")
    outside: dict[str, list[str]] = {}
    for anc, first, last in con.execute(sql_text("rollups_outside_lifetime")).fetchall():
        outside.setdefault(first if first == last else f"{first} to {last}", []).append(anc)
    if outside:
        notes.append(f"{ds.name}: not built for periods outside the area's lifetime (areas valid_from / valid_to): "
                     + "; ".join(f"{', '.join(a)} for {p}" for p, a in outside.items()))
    if ds.published_in_full and filters:
        con.execute(sql_text("zero_fill").format(
            table=sql_name(ds.name), period=period, categories=", ".join(sql_name(c) for c in filters),
            zeros=", ".join(f"0 AS {sql_name(i.name)}" for i in ds.indicators)))
    return notes


def roll_up_and_write(con, work: Path, kept: set[str], result: LoadResult, workers: int = 2) -> None:
    """Build each dataset's final rows (latest edition, parent roll-ups) and write the load's
    Parquet files. Writing is mostly encoding and compression, so a dataset's files are written
    by a worker (two at a time, each on its own cursor) while the next dataset is built."""
    def copy(sql: str, name: str) -> None:
        cur = con.cursor()
        try:
            cur.execute(f"COPY ({sql}) TO {sql_literal((work / name).as_posix())} (FORMAT parquet)")
        finally:
            cur.close()

    merged: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        writes = []

        def write(sql: str, name: str) -> None:
            writes.append(pool.submit(copy, sql, name))

        for ds in contract.DATASETS.values():
            if not ds.reference:
                result.notes += _latest_and_rollup(con, ds, result.recorded, result, merged)
            if ds.name in kept:  # its only source is a file kept as it is; load.json says how to read it
                continue
            if ds.name == "areas":
                write("SELECT * FROM areas ORDER BY area_code", "areas.parquet")
                continue
            if ds.reference:
                write(f"SELECT * EXCLUDE (is_rollup) FROM {sql_name('t_' + ds.name)}", f"{ds.name}.parquet")
                continue
            period = contract.period_column(ds)
            # Sorted by area and period so pages' filters skip row groups; person-level rows are only
            # counted (into the caseload) or browsed, so their sort would cost more than it saves.
            order = "" if ds.person_level else f" ORDER BY area_code, {period}"
            write(f"SELECT * FROM {sql_name(ds.name)}{order}", f"{ds.name}.parquet")
            if ds.name in merged:  # otherwise the all-editions view is the same rows (see db.py)
                write(f"SELECT * FROM {sql_name('t_' + ds.name)} ORDER BY area_code, {period}",
                      f"{ds.name}_all_editions.parquet")
        write("SELECT * FROM rollup_map", "rollup_map.parquet")
        write("SELECT * FROM quarantine ORDER BY source_file, source_row", "quarantine.parquet")
        write("SELECT * FROM manifest", "manifest.parquet")
        write("SELECT * FROM reconciliation ORDER BY dataset, area_code, period, figure, edition DESC NULLS LAST",
              "reconciliation.parquet")
        # The areas reference keeps every original definition too, for the data-quality view.
        write("SELECT * EXCLUDE (is_rollup) FROM t_areas", "areas_all_editions.parquet")
        for done in writes:
            done.result()  # a failed write fails the load (which then leaves the previous one serving)
