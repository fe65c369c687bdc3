"""The Data explorer's data-quality view of the latest load: the files and what became of their
rows (manifest), the rows the loader quarantined and why, the figures given by more than one file
or edition that differ, and the areas table.

Quarantined rows and differing figures are raw data, not sums: a count in the suppression range
is shown as 'c' wherever it appears (a value, or a field of the raw row), so this view discloses
no small number either. Values reach SQL only as parameters.
"""
from __future__ import annotations

import json

import pandas as pd

from send_metrics import contract
from send_metrics.contract import codes
from send_metrics.measures.reconcile import reconciliation

QUARANTINE_LIMIT = 5_000  # rows shown (and downloaded) at once; the count says how many there are


def manifest(db) -> pd.DataFrame:
    """One row per file of the load: whether it loaded, rows read, loaded, quarantined and superseded."""
    return db.query(
        "SELECT source_file AS file, coalesce(dataset, '') AS dataset, status, rows_read, rows_loaded, "
        "rows_quarantined, rows_superseded, coalesce(message, '') AS message, coalesce(edition, '') AS edition, "
        "loaded_at "
        "FROM manifest ORDER BY source_file")


def manifest_totals(files: pd.DataFrame) -> dict[str, int]:
    """The load in five numbers, by their headings."""
    return {"Files": len(files), "Rows loaded": int(files["rows_loaded"].sum()),
            "Rows quarantined": int(files["rows_quarantined"].sum()),
            "Rows superseded": int(files["rows_superseded"].sum()),
            "Files with problems": int((files["status"] != "loaded").sum())}


def quarantine_files(db) -> list[str]:
    return sorted({r[0] for r in db.rows("SELECT DISTINCT source_file FROM quarantine")})


def quarantine(db, file: str | None, low: int, high: int) -> tuple[pd.DataFrame, int]:
    """The first QUARANTINE_LIMIT quarantined rows (of one file, or all), small counts masked, and
    how many there are in all."""
    total = db.rows("SELECT count(*) FROM quarantine WHERE $file IS NULL OR source_file = $file",
                    {"file": file})[0][0]
    rows = db.query_file("explorer_quarantine", {"file": file, "limit": QUARANTINE_LIMIT})
    return mask_small_counts(rows, low, high), int(total)


def _is_small(text, low: int, high: int) -> bool:
    try:
        v = float(str(text).replace(",", "").strip())
    except (TypeError, ValueError):
        return False
    return low <= v <= high


def mask_small_counts(rows: pd.DataFrame, low: int, high: int) -> pd.DataFrame:
    """Quarantined rows are raw data: counts in the suppression range are shown as 'c'."""
    rows = rows.copy()
    ind_names = {c.name for ds in contract.DATASETS.values() for c in ds.indicators}

    def raw(text):
        try:
            obj = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            return text
        if not isinstance(obj, dict):
            return text
        for k, v in obj.items():
            if k in ind_names and _is_small(v, low, high):
                obj[k] = "c"
        return json.dumps(obj, ensure_ascii=False)

    if len(rows):
        small = [c in ind_names and _is_small(v, low, high) for c, v in zip(rows["column_name"], rows["value"])]
        rows.loc[small, "value"] = "c"
        rows["raw_row"] = rows["raw_row"].map(raw)
    return rows


def differing_figures(db, low: int, high: int) -> pd.DataFrame:
    """Every figure whose files or editions give different values, one row per source (which one
    the dashboard uses in ``used``); values from ``low`` to ``high`` shown as 'c'."""
    table = reconciliation(db, differ_only=True)
    if table.empty:
        return table
    small = table["value"].between(low, high)
    table = table.assign(value=table["value"].astype(object).where(~small, "c"))
    return table[["dataset", "area_code", "area_name", "period", "figure", "edition", "value", "symbol", "cells",
                  "used", "source_file"]]


def figure_count(differ: pd.DataFrame) -> int:
    """How many figures (not sources) a table of differing figures holds."""
    return differ[["dataset", "area_code", "period", "figure"]].drop_duplicates().shape[0]


# -- the areas table ---------------------------------------------------------------------------
def areas_table(db, levels: tuple[str, ...]) -> pd.DataFrame:
    """Every area at the given levels (all when none), with what it really covers. Geography is
    not about children: nothing here is suppressed."""
    return db.query(
        "SELECT area_code, area_name, area_level, dfe_la_code, rollup_complete, coverage_note FROM areas "
        "WHERE len($levels) = 0 OR list_contains($levels, area_level) ORDER BY area_level, area_name",
        {"levels": list(levels)})


def areas_by_level(table: pd.DataFrame) -> pd.DataFrame:
    """How many areas of ``table`` are at each level (named in words), fewest first."""
    counts = table.groupby("area_level", as_index=False).agg(areas=("area_code", "count"))
    counts["level"] = counts["area_level"].map(lambda v: codes.AREA_LEVELS.get(v, v))
    return counts.sort_values("areas")
