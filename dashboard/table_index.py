"""The measure table of the current load, indexed for the pages: a page's slice (some measures,
some areas, one year) is taken by row position from one shared table instead of filtering every
column of it, and the columns the selectors read most are kept as small integer codes.

Built once per load (``dashboard.ui.table_index`` caches it); no Streamlit here. Apart from the
page furniture because it is a data structure with its own invariant: ``TableIndex.table`` gives
exactly what ``Engine.table`` gives (same rows, order and columns).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


class TableIndex:
    """Row positions of the measure table by measure and by (measure, area), built once per load.

    The full table is shared and never modified; a slice is taken from it by position (in the
    table's own order), which is far cheaper than filtering every column of the whole table."""

    def __init__(self, full: pd.DataFrame):
        self.full = full
        self.by_measure = full.groupby("measure_id", sort=False).indices
        self.by_area = full.groupby("area_code", sort=False).indices
        self.by_pair = full.groupby(["measure_id", "area_code"], sort=False).indices
        # The columns pages look at most (options, periods) as small integer codes, read by
        # position (codes, not one Python string per row: the table has 100,000s of rows).
        self._codes, self._uniques = {}, {}
        for col in ("measure_id", "area_code", "period"):
            codes, uniques = pd.factorize(full[col].astype(str) if col == "period" else full[col],
                                          use_na_sentinel=False)
            self._codes[col], self._uniques[col] = codes, np.asarray(uniques, dtype=object)
        self.values = full["value"].to_numpy(dtype=float)
        self.measures_with_data = frozenset(self.column("measure_id", np.flatnonzero(~np.isnan(self.values))))
        years = np.array([str(p)[:4] for p in self._uniques["period"]], dtype=object)
        year_codes = pd.Series(years[self._codes["period"]])
        self.by_year = {str(y): pos for y, pos in year_codes.groupby(year_codes.to_numpy()).indices.items()}

    def column(self, name: str, pos: np.ndarray) -> np.ndarray:
        """Values of ``measure_id``, ``area_code`` or ``period`` (as text) at the given rows."""
        return self._uniques[name][self._codes[name][pos]]

    def positions(self, measure_ids, area_codes) -> np.ndarray | None:
        empty = np.zeros(0, dtype=np.intp)
        if measure_ids and area_codes:
            parts = [self.by_pair.get((m, a), empty) for m in dict.fromkeys(measure_ids)
                     for a in dict.fromkeys(area_codes)]
        elif measure_ids:
            parts = [self.by_measure.get(m, empty) for m in dict.fromkeys(measure_ids)]
        elif area_codes:
            parts = [self.by_area.get(a, empty) for a in dict.fromkeys(area_codes)]
        else:
            return None
        return np.sort(np.concatenate([empty, *parts]))

    def year_rows(self, year, area_codes=None) -> pd.DataFrame:
        """The rows whose period starts with ``year`` (of ``area_codes`` when given), in table order.

        ``pair_comparison.rows_for_year(table, year)`` only ever picks rows of that year (a monthly measure
        needs a month in the year), so giving it just these rows gives the same result, faster."""
        pos = self.by_year.get(str(year)[:4], np.zeros(0, dtype=np.intp))
        if area_codes:
            pos = np.intersect1d(pos, self.positions(None, area_codes))
        return self.full.take(np.sort(pos))

    def table(self, measure_ids=None, area_codes=None, periods=None) -> pd.DataFrame:
        """Exactly ``Engine.table`` (same rows, order and columns), as a new frame."""
        pos = self.positions(measure_ids, area_codes)
        out = self.full if pos is None else self.full.take(pos)
        if periods:
            wanted = {str(p) for p in periods}
            period = out["period"].astype(str)
            out = out[out["period_label"].isin(wanted) | period.isin(wanted) | period.str[:7].isin(wanted)]
        return out.reset_index(drop=True)
