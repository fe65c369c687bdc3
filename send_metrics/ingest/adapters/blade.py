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

import datetime as dt
import gc
import hashlib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from send_metrics.ingest import sen2_blade as sb
from send_metrics.config import sql_text
from send_metrics.ingest.adapters.blade_parse import a_year_before
from send_metrics.ingest.adapters.blade_files import (
    Export,
    Quarantined,
    SOURCE,
    _geography,
    _lookup_files,
    _read_gias,
    _read_postcodes,
    _siblings,
)
from send_metrics.ingest.adapters.blade_reader import _Reader


ASSESS_COLUMNS = ["requests", "requests_refused", "decisions", "decisions_within_6_weeks", "new_plans",
                  "plans_issued_ex", "plans_issued_20wk_ex", "plans_issued_inc", "plans_issued_20wk_inc",
                  "reviews_due", "reviews_on_time", "reviews_held", "assessments", "assessments_not_issued"]


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


def _lookup_tables(db, postcodes: dict, lsoa_locality: dict) -> None:
    """The load's postcode lookup (key as sen2_blade.postcode_key spells it -> LSOA) and the LSOAs'
    localities as tables of the reader's database (its main schema: every return's cursor reads them)."""
    cur = db.cursor()
    try:
        for name, columns, d in (("postcode_lsoa", ("k", "lsoa"), postcodes),
                                 ("lsoa_locality", ("lsoa", "locality"), lsoa_locality)):
            cur.register("lookup", pa.table({columns[0]: pa.array(list(d.keys()), pa.string()),
                                             columns[1]: pa.array(list(d.values()), pa.string())}))
            cur.execute(f"CREATE TABLE {name} AS SELECT * FROM lookup")
            cur.unregister("lookup")
    finally:
        cur.close()


def _placements(con, postcodes: dict | None, members: set) -> None:
    """Each distinct postcode (as written; '' for none) of the return's children (`person_ids`) placed
    in the temporary table `placements` (sql/blade_placements.sql: its locality, or why it is not
    placed), through the lookup tables (_lookup_tables). The keys are made by Arrow when every postcode
    is ASCII (upper case and the expression are then the same as in Python), else by postcode_key.
    Without a lookup the table is empty (nobody is placed)."""
    if postcodes is None:
        con.execute("CREATE OR REPLACE TEMP TABLE placements (postcode VARCHAR, locality VARCHAR, reason VARCHAR)")
        return
    written = con.sql("SELECT DISTINCT coalesce(postcode, '') AS postcode FROM person_ids").to_arrow_table()
    written = written.column(0).combine_chunks()
    if pc.all(pc.string_is_ascii(written)).as_py() is not False:
        keys = pc.replace_substring_regex(pc.utf8_upper(written), "[^A-Z0-9]", "")
    else:
        keys = pa.array([sb.postcode_key(t) for t in written.to_pylist()], pa.string())
    con.register("written_keys", pa.table({"postcode": written, "k": keys}))
    con.execute(sql_text("blade_placements"), {"members": sorted(members)})
    con.unregister("written_keys")


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
    _placements(con, postcodes, members)
    con.execute(sql_text("blade_people"), {"council": council})
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
    year_before = a_year_before(census)
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


def _open_return(db, ex: Export, ret: int) -> tuple:
    """Read and check one return (export `ex`, number `ret` in census order) through a cursor of the
    reader's database `db` (its module tables are the cursor's own temporary tables, gone when it
    closes). Returns (result, cursor, reader, return header row); the cursor is None when the
    return is not to be counted (then closed here)."""
    con = db.cursor()
    reader = _Reader(con)
    notes = reader.notes
    result = _Return(notes, reader.problems, {"caseload": [], "assessments": [], "ceased": []})
    try:
        missing = [m for m in sb.MODULES if m not in ex.files]
        if missing:
            notes.append(f"export {ex.tag or '(unnamed)'}: modules missing ({', '.join(missing)}); their rows are empty")
        reader.read_export(ex)
        headers = con.execute("SELECT line, lea, _referencedate FROM m_sen2").fetchall()
        if len(headers) != 1:
            notes.append(f"export {ex.tag}: the sen2 module must hold one return header; this export is not loaded")
            con.close()
            return result, None, None, None
        return result, con, reader, headers[0]
    except BaseException:
        con.close()
        raise


def _count_opened(opened: tuple, ex: Export, ret: int, ctx: _Context) -> _Return:
    """Count a return read by _open_return (what is counted goes to the reader database's tables
    persons_<ret> and pathway_<ret>), then close its cursor (the return's module tables, names and
    postcodes among them, go with it)."""
    result, con, reader, header = opened
    if con is None:
        return result
    try:
        line, lea, census = header
        council = ctx.councils.get((lea or "").lstrip("0").zfill(3))
        if council is None:
            reader.bad(ex.files["sen2"], line, "lea", lea, "unknown DfE LA number")
            return result
        versions = sorted({v for v in ex.version.values() if v != "any"})
        counted = [m for m in sb.MODULES if m != "sen2"]
        result.notes.append(f"return of January {census.year} (census date {census.isoformat()}, LA {lea}, "
                            f"layout {max(versions) if versions else 'unknown'}): " + ", ".join(
                                f"{n} {m}" for n, m in zip(reader.counts(counted), counted)))
        _count_return(con, reader, ex, ret, census, council, ctx, result.out)
        result.counted = True
        return result
    finally:
        con.close()


def _read_return(db, ex: Export, ret: int, ctx: _Context) -> _Return:
    """Read, check and count one return (see _open_return and _count_opened)."""
    return _count_opened(_open_return(db, ex, ret), ex, ret, ctx)


def _read_returns(db, exports: dict[str, Export], tags: list[str], ctx: _Context, workers: int,
                  lookups=None) -> list[_Return]:
    """Every return read, checked and counted (each through a cursor of its own, see _open_return and
    _count_opened) by `workers` threads, the results in census order. The work of a return is two
    jobs, its reading and then its counting, and a worker takes the next return's reading while
    fewer than workers + 1 returns are read and not yet counted, else the oldest return's counting:
    so neither core waits at the end for the last return's two jobs done one after the other. The
    counting needs `lookups` (run first, by the first free worker: the postcode lookup)."""
    n = len(tags)
    results: list = [None] * n
    opened: dict[int, tuple] = {}  # returns read, waiting to be counted
    st = {"next": 0, "reading": 0, "counting": 0, "lookups": "todo" if lookups else "done", "error": None}
    limit = workers + 1 if workers > 1 else 1
    cond = threading.Condition()

    def take():  # (under cond) the next job, or None when there is none left
        while st["error"] is None:
            if st["lookups"] == "todo":
                st["lookups"] = "running"
                return "lookups", None
            if st["next"] < n and st["reading"] + len(opened) + st["counting"] < limit:
                st["next"] += 1
                st["reading"] += 1
                return "read", st["next"] - 1
            if opened and st["lookups"] == "done":
                st["counting"] += 1
                ret = min(opened)
                return "count", (ret, opened.pop(ret))
            if st["next"] == n and not st["reading"] and not opened and st["lookups"] == "done":
                return None
            cond.wait()
        return None

    def work():
        while True:
            with cond:
                job = take()
            if job is None:
                return
            kind, arg = job
            try:
                if kind == "lookups":
                    lookups()
                elif kind == "read":
                    got = _open_return(db, exports[tags[arg]], arg)
                else:
                    ret, got = arg
                    results[ret] = _count_opened(got, exports[tags[ret]], ret, ctx)
            except BaseException as exc:  # the other workers stop; raised below
                with cond:
                    st["error"] = st["error"] or exc
                    cond.notify_all()
                return
            with cond:
                if kind == "lookups":
                    st["lookups"] = "done"
                elif kind == "read":
                    st["reading"] -= 1
                    opened[arg] = got
                else:
                    st["counting"] -= 1
                cond.notify_all()

    threads = [threading.Thread(target=work, name=f"blade-{i}") for i in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in opened.values():  # returns read and not counted (after a failure)
        if got[1] is not None:
            got[1].close()
    if st["error"] is not None:
        raise st["error"]
    return results


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
    gias = _read_gias(gias_files) if gias_files else None
    lsoa_locality, council_members, councils = _geography()
    notes: list[str] = []
    if not postcode_files:
        notes.append("no ONS postcode lookup (ONSPD / NSPL with LSOA 2021 codes) in the data folder: children are "
                     "not placed in localities, so figures are the council's only (drop the lookup into data/ "
                     "for locality and health-footprint figures)")
    if gias is None:
        notes.append("no Get Information About Schools extract in the data folder: placements named by URN cannot "
                     "be typed, so caseload is not broken down by setting (setting 'all')")
    context = _Context(None, gias, lsoa_locality, council_members, councils, _hmac_pads(sb.pseudonym_key()))

    def read_lookup():  # (the first job of _read_returns: it overlaps the reading of the first returns)
        postcodes = _read_postcodes(postcode_files)
        _lookup_tables(db, postcodes, lsoa_locality)
        context.postcodes = postcodes
        notes.insert(0, f"postcodes placed through {', '.join(p.name for p in postcode_files)} "
                        f"({len(context.postcodes)} postcodes); postcodes are dropped after the lookup")
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
        returns = _read_returns(db, exports, tags, context, workers, read_lookup if postcode_files else None)
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
        # quotes; an empty value is an empty field); the two files side by side, each through a
        # cursor of its own, when returns are read side by side.
        workdir.mkdir(parents=True, exist_ok=True)

        def write(name: str, dataset: str, query: str) -> None:
            cur = db.cursor()
            try:
                cur.execute(f"CREATE TEMP VIEW {name}_out AS " + " UNION ALL ".join(
                    f"SELECT * FROM {name}_{ret}" for ret in counted))
                if cur.execute(f"SELECT count(*) FROM {name}_out").fetchall()[0][0]:
                    path = workdir / f"blade_{dataset}.csv.csv"
                    cur.execute(f"COPY ({sql_text(query)}) TO $path (HEADER, DELIMITER ',')",
                                {**context.pads, "path": str(path)})
                    written[dataset] = path
            finally:
                cur.close()
        if counted:
            jobs = [("persons", "ehcp_persons", "blade_persons_file"), ("pathway", "ehcp_pathway", "blade_pathway_latest")]
            if workers > 1:
                with ThreadPoolExecutor(max_workers=2) as pool:
                    for done in [pool.submit(write, *job) for job in jobs]:
                        done.result()
            else:
                for job in jobs:
                    write(*job)
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
