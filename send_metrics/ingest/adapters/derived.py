"""Derived tables that are not publications: recognised so that the load says what they are.

A *derived long table* holds one published figure per row, with the publication it was taken from
(`source, measure, time_period, ..., value`), e.g. a hand-made extract of key series for a few
areas. Its figures come from files the loader reads directly, and some rows may be transcribed by
hand, so it is never loaded: loading it beside the originals would give each figure twice, under
names (`measure`) that are not the contract's. The load names the publications it cites instead.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from send_metrics.ingest.adapters.header import _decode, _open_bytes

DERIVED_KEYS = {"source", "measure", "value"}
PERIOD_KEYS = {"timeperiod", "years", "year", "period"}


def adapt_text(path: Path, workdir: Path, header: list[str], keys: set[str]):
    from send_metrics.ingest.adapters.result import AdaptResult
    if not (DERIVED_KEYS <= keys and keys & PERIOD_KEYS):
        return None
    text, _ = _decode(_open_bytes(path))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    from send_metrics.ingest.adapters.header import key
    col = next(i for i, h in enumerate(rows[0]) if key(h) == "source")
    measure = next(i for i, h in enumerate(rows[0]) if key(h) == "measure")
    sources = list(dict.fromkeys(r[col] for r in rows[1:] if len(r) > col and r[col].strip()))
    measures = {r[measure] for r in rows[1:] if len(r) > measure and r[measure].strip()}
    hand = [s for s in sources if "hand" in s.lower() and "transcri" in s.lower()]
    shown = "; ".join(sources[:8]) + (f"; ... ({len(sources) - 8} more)" if len(sources) > 8 else "")
    notes = [f"a derived long table ({len(rows) - 1:,} rows, {len(measures)} measures, one figure per row with the "
             f"publication it was taken from), not a publication and not a data-contract file, so it is not loaded: "
             f"its figures come from the publications it cites ({shown}), which the loader reads directly; loading "
             f"it as well would give each figure twice, under measure names that are not the contract's"
             + (f"; {len(hand)} of its sources are marked hand-transcribed" if hand else "")]
    return AdaptResult("derived table of published figures (source, measure, value)", [], notes)
