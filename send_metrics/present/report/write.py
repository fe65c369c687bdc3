"""`python -m send_metrics report`: load the data if nothing is loaded yet, check the area and the
year asked for, write the board pack atomically (a temporary file, then a rename), and answer with a
clear message (never a traceback) when it cannot.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from send_metrics.measures import summary
from send_metrics.present.report.board import board_pack_html


def write_report(args) -> int:
    """`python -m send_metrics report`: write the pack; 0 on success, 1 with a clear message otherwise."""
    from send_metrics.config import load_config
    from send_metrics.db import NoData, get_database
    from send_metrics.ingest.store import load
    from send_metrics.measures.engine import get_engine

    try:
        config = load_config(getattr(args, "data_dir", None))
        db = get_database(config)
        try:
            db.refresh()
        except NoData:
            if not config.data_dir.is_dir():
                print(f"error: no data has been loaded and the data folder {config.data_dir} does not exist",
                      file=sys.stderr)
                return 1
            print(f"no data loaded yet: loading {config.data_dir} ...", file=sys.stderr)
            result = load(config)
            if not result.load_id:
                print("error: no data could be loaded: " + "; ".join(result.notes or []), file=sys.stderr)
                return 1
            db.refresh(force=True)
        engine = get_engine(db)
        area = getattr(args, "area", None) or "E06000063"
        period = getattr(args, "period", None)
        known = set(db.query("SELECT area_code FROM areas")["area_code"].astype(str))
        if area not in known:
            print(f"error: unknown area code '{area}' (see the areas list, e.g. E06000063 Cumberland)",
                  file=sys.stderr)
            return 1
        if period is not None:
            if not re.fullmatch(r"\d{4}", str(period)):
                print(f"error: period '{period}' is not a year such as 2025", file=sys.stderr)
                return 1
            years = set(engine.table(summary.HEADLINE_MEASURES, [area])["period"].astype(str).str[:4])
            if str(period) not in years:
                shown = ", ".join(sorted(years)) or "none"
                print(f"error: no headline data for {area} in {period} (years with data: {shown})", file=sys.stderr)
                return 1
        text = board_pack_html(engine, area, period)
        out = Path(args.out)
        if out.parent and not out.parent.is_dir():
            out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): board pack for {area}"
              + (f", {period}" if period else ", latest period"))
        return 0
    except OSError as exc:
        print(f"error: could not write {getattr(args, 'out', '')}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for a user; SEND_DEBUG=1 shows it
        if os.environ.get("SEND_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: the board pack could not be written: {type(exc).__name__}: {first} "
              "(set SEND_DEBUG=1 for details)", file=sys.stderr)
        return 1
