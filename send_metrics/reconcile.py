"""Reconciliation: every figure given by more than one file or edition, side by side.

The loader keeps one value per figure (the newest edition that holds it; see store.py
`_resolve_figures`) and records every other source's value of the same figure in the load's
`reconciliation` table. This module reads it for the `reconcile` command and the data-quality
view: which figures were published more than once, whether the sources agree, and which value
the dashboard uses.
"""
from __future__ import annotations

import pandas as pd

from .db import Database


def reconciliation(db: Database, differ_only: bool = False, dataset: str | None = None,
                   area: str | None = None) -> pd.DataFrame:
    """One row per figure and source (see sql/reconciliation.sql); empty when every figure has one source."""
    if "reconciliation" not in set(db.query("SELECT view_name FROM duckdb_views()")["view_name"]):
        return pd.DataFrame()
    return db.query_file("reconciliation", {"differ_only": differ_only, "dataset": dataset, "area": area})


def summary(db: Database) -> dict:
    """Counts of figures given by several sources, and of those whose sources disagree."""
    table = reconciliation(db)
    if table.empty:
        return {"figures": 0, "differ": 0}
    figures = table.drop_duplicates(["dataset", "area_code", "period", "figure"])
    return {"figures": int(len(figures)), "differ": int((~figures["agree"]).sum())}
