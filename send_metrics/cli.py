"""Command line: `python -m send_metrics <command>`.

Exit codes: 0 success; 1 a file or the data is not valid; 2 usage error. Bad data never
produces a Python traceback: it produces a message naming the file, row and column.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from send_metrics.config import load_config


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with a short message, as argparse does
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m send_metrics", description="SEND needs dashboard: data and measures")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("load", help="load every extract under the data folder")
    s.add_argument("--data-dir", help="folder of extracts (default: data, or SEND_DATA_DIR)")
    s.add_argument("--force", action="store_true", help="reload even when nothing changed")

    s = sub.add_parser("validate", help="check files as load would (recognition, adaptation, the data contract) without loading them")
    s.add_argument("paths", nargs="+", help="files or folders")

    s = sub.add_parser("measures", help="print the measure table (disclosure control applied)")
    s.add_argument("--data-dir")
    s.add_argument("--area", action="append", help="area code (repeatable)")
    s.add_argument("--period", action="append", help="period, e.g. 2025 or 2025-03 (repeatable)")
    s.add_argument("--measure", action="append", help="measure id (repeatable)")
    s.add_argument("--format", choices=["csv", "json"], default="csv")

    s = sub.add_parser("demo", help="write the synthetic demo extract into data/demo")
    s.add_argument("--out", help="folder to write (default: <data dir>/demo)")

    s = sub.add_parser("report", help="write the board pack: one self-contained HTML file")
    s.add_argument("--out", required=True, help="HTML file to write, e.g. board.html")
    s.add_argument("--area", default="E06000063", help="area code (default Cumberland E06000063)")
    s.add_argument("--period", help="year, e.g. 2025 (default: the latest)")
    s.add_argument("--data-dir")

    s = sub.add_parser("bench", help="benchmark ingest, measures and pages side by side")
    s.add_argument("--quick", action="store_true", help="no growth table, 3 browser rounds (about 10 min, quiet)")
    s.add_argument("--json", action="store_true", help="print one JSON object with the results last")
    s.add_argument("--person-level", action="store_true",
                   help="only the person-level section: a large council's SEN2 return (20,000 plans, 5 years) "
                        "against the same data aggregated; rewrites that section of BENCHMARKS.md")

    s = sub.add_parser("prebuild", help="compute the demo's derived tables into send_metrics/prebuilt/demo "
                       "(shipped, so a fresh clone's first start does not wait for them)")

    s = sub.add_parser("contract", help="print the data contract as Markdown")

    s = sub.add_parser("backtest", help="rolling-origin backtest of the demand projection on what is loaded")
    s.add_argument("--data-dir")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--model", choices=("aggregate", "transition"), default="aggregate",
                   help="aggregate: log-linear trend on council totals (default); transition: the person-level "
                        "transition model (send_metrics/measures/demand.py)")

    s = sub.add_parser("reconcile", help="figures given by more than one file or edition, side by side")
    s.add_argument("--data-dir")
    s.add_argument("--all", action="store_true", help="every such figure (default: only those whose sources differ)")
    s.add_argument("--dataset", help="one dataset, e.g. ehcp_caseload")
    s.add_argument("--area", help="one area code")
    s.add_argument("--format", choices=["text", "csv", "json"], default="text")
    s.add_argument("--local", action="store_true",
                   help="a council's own figures from its SEN2 person-level return beside DfE's published figures, "
                        "with the difference and what explains it")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback for a user; SEND_DEBUG=1 shows it
        import os
        if os.environ.get("SEND_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              f"(set SEND_DEBUG=1 for details)", file=sys.stderr)
        return 1


def lower_priority() -> None:
    """A load gives way to the app: it runs at SEND_LOAD_NICE (default 10), so the pages served
    beside it keep their speed (RELIABILITY.md 7.7). The load still uses every idle core."""
    import os

    from send_metrics.config import load_nice
    try:
        if load_nice():
            os.nice(load_nice())
    except (AttributeError, OSError):  # not on Unix, or not allowed: run as it is
        pass


def cmd_load(args) -> int:
    from send_metrics.ingest.store import load
    lower_priority()
    config = load_config(args.data_dir)
    if not config.data_dir.is_dir():
        print(f"error: data folder {config.data_dir} does not exist", file=sys.stderr)
        return 1
    result = load(config, force=args.force)
    for note in result.notes:
        print(note)
    if not result.changed:
        # "Nothing changed" must not leave the derived tables missing (a load killed after it was
        # published has none): complete the load.
        from send_metrics.db import Database as _Db
        from send_metrics.measures.engine import Engine as _Engine
        _db = _Db(config)
        try:
            complete = _Engine(_db).derived_complete()
        finally:
            _db.close()
        if complete:
            return 0
        print("the current load has no derived tables (a load stopped after it was published): computing them")
        return _derive(config, 0)
    for report in result.reports:
        for line in report.lines(limit=20):
            print(line)
    rejected = [r for r in result.reports if r.fatal]
    problems = sum(len(r.problems) for r in result.reports)
    superseded = sum(r.rows_superseded for r in result.reports)
    duplicates = sum(r.rows_duplicate for r in result.reports)
    print(f"load {result.load_id}: {len(result.reports)} files, {len(rejected)} rejected, "
          f"{problems} row problems quarantined, "
          + (f"{duplicates} duplicate rows quarantined, " if duplicates else "")
          + f"{superseded} rows superseded by a newer edition")
    from send_metrics.db import Database as _Database
    from send_metrics.measures.reconcile import summary
    _db = _Database(config)
    counts = summary(_db)
    _db.close()
    if counts["figures"]:
        print(f"reconciliation: {counts['figures']:,} figures are given by more than one file or edition; the "
              f"sources of {counts['differ']:,} differ (see `python -m send_metrics reconcile`)")
    dated_by_copy = sorted({n.split(":")[0] for n in result.notes if "modification time" in n})
    if counts["differ"] and dated_by_copy:
        print(f"note: the editions of {len(dated_by_copy)} files rest only on their modification day (no release "
              "date in a data guidance file or the folder name), and a copied file takes the day it was copied: "
              "if one of them is an older release, put it in a folder named with its release date (e.g. "
              f"ehcp_2023-06-22/) so that newer figures win. Files: {', '.join(dated_by_copy[:5])}"
              + (" ..." if len(dated_by_copy) > 5 else ""))
    return _derive(config, 1 if rejected else 0)


def _derive(config, code: int) -> int:
    """Compute the derived tables now so the dashboard's first pages do not wait for them."""
    import time

    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    t0 = time.time()
    db = Database(config)
    # Disclosure control warns when a small count may be given away by figures published
    # elsewhere: an analyst needs that as a plain note, not as a Python warning with a source line.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows, years = Engine(db).compute_derived()
    db.close()
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)):
        print(f"note: {message}")
    for w in caught:
        if not issubclass(w.category, RuntimeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    needs = (f"needs by age and setting for {years} census years" if years else
             "needs by age and setting are worked out for each census year when a page first asks for it")
    print(f"derived tables: measure table of {rows} rows, ready in {time.time() - t0:.1f} s; {needs}")
    return code


def cmd_validate(args) -> int:
    """Recognise, adapt and check each file exactly as `load` would (see send_metrics.ingest.recognise),
    without loading: a file that loads passes, a published file that carries nothing the contract
    holds is "recognised, not loaded" (not an error), and a file `load` skips is said to be skipped."""
    from send_metrics.ingest.recognise import check_files
    from send_metrics.ingest.recognise import load_reads
    from send_metrics.ingest.data_folder import discover
    paths: list[Path] = []
    skipped: list[Path] = []
    refused: list[str] = []  # not regular files, links out of a folder, over the size limit
    for raw in args.paths:
        p = Path(raw)
        if p.is_dir():
            paths += discover(p, refused)
        elif p.exists() and not p.is_file():
            refused.append(f"{raw}: refused: it is not a regular file (a pipe, device or socket)")
        elif p.exists():
            (paths if load_reads(p) else skipped).append(p)
        else:
            print(f"error: {raw} does not exist", file=sys.stderr)
            return 2
    for line in refused:
        print(line.replace(": refused: ", ": REFUSED - ", 1))
    for p in skipped:
        print(f"{p}: SKIPPED - not a kind of file `load` reads (it reads .csv, .tsv, .txt, .parquet, .gz and "
              f".xlsx files and skips this one, so it is neither loaded nor an error)")
    if not paths:
        if refused:
            return 1
        if skipped:
            return 0
        print("error: no CSV or Parquet files found", file=sys.stderr)
        return 2
    failed = recognised = 0
    for verdict in check_files(paths):
        for line in verdict.lines():
            print(line)
        failed += not verdict.ok
        recognised += verdict.expanded.recognised_not_loaded
    extra = f", {recognised} recognised but not loaded" if recognised else ""
    extra += f", {len(skipped)} skipped" if skipped else ""
    extra += f", {len(refused)} refused" if refused else ""
    print(f"{len(paths)} files checked, {failed} with problems{extra}")
    return 1 if failed or refused else 0


CLI_COLUMNS = ["measure_id", "measure_title", "area_code", "area_name", "period_label", "value",
               "numerator", "denominator", "lower_95", "upper_95", "lower_998", "upper_998", "unit",
               "england_value", "sig_england_95", "region_value", "sig_region_95", "neighbours_value",
               "neighbours_n", "sig_neighbours_95", "trend_verdict", "rank", "rank_of", "suppressed",
               "suppression_reason", "denominator_source"]


def cmd_measures(args) -> int:
    from send_metrics.catalogue import measures_by_id
    from send_metrics.db import NoData, get_database
    from send_metrics.ingest.store import load
    from send_metrics.measures.engine import get_engine
    from send_metrics.present.export import safe_csv
    config = load_config(getattr(args, "data_dir", None))
    db = get_database(config)
    try:
        db.refresh()
    except NoData:
        result = load(config)
        if not result.load_id:
            print("error: no data could be loaded", file=sys.stderr)
            return 1
        db.refresh(force=True)
    known = measures_by_id()
    for mid in args.measure or []:
        if mid not in known:
            print(f"error: unknown measure '{mid}'. Known: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
    table = get_engine(db).table(args.measure, args.area, args.period)
    table = table[CLI_COLUMNS].rename(columns={"period_label": "period"})
    if args.format == "json":
        sys.stdout.write(table.to_json(orient="records", indent=1))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(safe_csv(table))
    return 0


def cmd_demo(args) -> int:
    from send_metrics.tools.demo import write_demo
    config = load_config()
    out = Path(args.out) if args.out else config.data_dir / "demo"
    written = write_demo(out)
    for path, rows in written:
        print(f"wrote {path} ({rows} rows)")
    return 0


def cmd_report(args) -> int:
    from send_metrics.present.report.write import write_report
    return write_report(args)


def cmd_bench(args) -> int:
    from send_metrics.tools.bench.run import run_bench, run_person_level
    if getattr(args, "person_level", False):
        return run_person_level(args)
    return run_bench(args)


def cmd_prebuild(args) -> int:
    """A fresh load of data/demo in a temporary store, kept as the shipped load of the demo in
    send_metrics/prebuilt/demo_load (send_metrics.ingest.snapshot), and its derived tables computed
    (default suppression range) and kept in send_metrics/prebuilt/demo with their key."""
    import os
    import shutil
    import tempfile
    import time
    from dataclasses import replace

    from send_metrics.measures import prebuilt
    from send_metrics.ingest import snapshot
    from send_metrics.config import PROJECT_ROOT
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    from send_metrics.ingest.data_folder import discover, file_sha256
    from send_metrics.ingest.store import load
    from send_metrics.ingest.stored_loads import current_load_dir, read_load_info
    with tempfile.TemporaryDirectory(prefix="send-prebuild-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(PROJECT_ROOT / "data" / "demo", data / "demo")
        # An unusual modification day on every file: snapshot.build refuses a load that shows it.
        for p in (data / "demo").rglob("*"):
            os.utime(p, (snapshot.PROBE_TIME, snapshot.PROBE_TIME))
        config = replace(load_config(data), store_dir=Path(tmp) / "store")
        refused: list[str] = []
        hashes = {p.relative_to(data).as_posix(): file_sha256(p) for p in discover(data, refused)}
        if refused:
            print("error: " + "; ".join(refused), file=sys.stderr)
            return 1
        # As a fresh clone loads it: without the geography folder (../shared is not in the clone).
        saved_geo = os.environ.get("SEND_GEO_DIR")
        os.environ["SEND_GEO_DIR"] = str(Path(tmp) / "no-geography")
        try:
            result = load(config, force=True)  # force: read from the files, never from the shipped load
            load_dir = current_load_dir(config.store_dir)
            skey = snapshot.build(config, result, load_dir, hashes)
        finally:
            if saved_geo is None:
                os.environ.pop("SEND_GEO_DIR", None)
            else:
                os.environ["SEND_GEO_DIR"] = saved_geo
        db = Database(config)
        try:
            engine = Engine(db, 1, 4)
            t0 = time.time()
            key = prebuilt.build(engine)
        finally:
            db.close()
        snapshot.record_content(key["content"], read_load_info(load_dir)["checksums"])
    print(f"shipped load of the demo written to {snapshot.SNAPSHOT_DIR} (code {skey['code'][:12]})")
    print(f"prebuilt derived tables of the demo written to {prebuilt.PREBUILT_DIR} in {time.time() - t0:.1f} s "
          f"(content {key['content'][:12]}, code {key['code'][:12]})")
    return 0


def cmd_contract(args) -> int:
    from send_metrics.present.docs import contract_markdown
    print(contract_markdown())
    return 0


def _write_table(table, fmt: str) -> bool:
    """A reconciliation table on stdout as CSV or JSON; False for text, which each command words."""
    if fmt == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif fmt == "json":
        sys.stdout.write(table.to_json(orient="records", indent=1) + "\n")
    else:
        return False
    return True


def cmd_reconcile_local(args) -> int:
    from send_metrics.db import Database, NoData
    from send_metrics.measures.reconcile import local_vs_published
    db = Database(load_config(args.data_dir))
    try:
        table = local_vs_published(db, area=args.area)
    except NoData as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    if args.dataset:
        table = table[table["dataset"] == args.dataset]
    if not args.all:
        table = table[table["published"].notna() | table["local"].isna()] if not table.empty else table
    if _write_table(table, args.format):
        return 0
    if table.empty:
        print("No SEN2 person-level return (COLLECT Blade export) is loaded beside a DfE release: nothing to compare.")
        return 0
    agree = int((table["difference"] == 0).sum())
    print(f"{len(table):,} figures of the council's own SEN2 return beside DfE's published figures ({agree:,} the same)."
          + ("" if args.all else " Add --all for the figures DfE has not published."))

    def num(v) -> str:
        return "-" if v is None or v != v else f"{v:,.0f}"
    for r in table.itertuples(index=False):
        print(f"{r.area_name} {r.period} {r.figure_title}: local {num(r.local)}, DfE {num(r.published)}"
              + (f", difference {r.difference:+,.0f}" if r.difference == r.difference and r.difference else "")
              + f". {r.explanation}")
    return 0


def cmd_reconcile(args) -> int:
    if getattr(args, "local", False):
        return cmd_reconcile_local(args)
    from send_metrics.db import Database, NoData
    from send_metrics.measures.reconcile import reconciliation, summary
    db = Database(load_config(args.data_dir))
    try:
        counts = summary(db)
        table = reconciliation(db, differ_only=not args.all, dataset=args.dataset, area=args.area)
    except NoData as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    if _write_table(table, args.format):
        return 0
    print(f"{counts['figures']:,} figures are given by more than one file or edition; the sources of "
          f"{counts['differ']:,} of them differ. The dashboard uses the newest edition that holds each figure "
          "(marked *); the others stay queryable in the *_all_editions tables.")
    if table.empty:
        return 0
    last = None
    for r in table.itertuples(index=False):
        head = (r.dataset, r.area_code, r.period, r.figure)
        if head != last:
            name = f" {r.area_name}" if isinstance(r.area_name, str) else ""
            verdict = "agree" if r.agree else f"DIFFER (by up to {r.spread:,.6g})" if r.spread == r.spread else "DIFFER"
            print(f"{r.dataset} {r.area_code}{name} {r.period} {r.figure}: {verdict}")
            last = head
        value = r.symbol if r.value != r.value else f"{r.value:,.6g}"
        grain = "total" if r.cells == 1 else f"sum of {r.cells} cells"
        print(f"  {'*' if r.used else ' '} edition {r.edition or '(none)'}: {value} ({grain}) from {r.source_file}")
    return 0


COMMANDS = {"load": cmd_load, "validate": cmd_validate, "measures": cmd_measures,
            "demo": cmd_demo, "contract": cmd_contract, "report": cmd_report, "bench": cmd_bench,
            "reconcile": cmd_reconcile, "prebuild": cmd_prebuild, "backtest": lambda args: _backtest(args)}


def _backtest(args) -> int:
    if getattr(args, "model", "aggregate") == "transition":
        from send_metrics.measures.demand_outputs import backtest_for_cli as transition_backtest
        return transition_backtest(args)
    from send_metrics.measures.projection_backtest import backtest_for_cli
    return backtest_for_cli(args)
