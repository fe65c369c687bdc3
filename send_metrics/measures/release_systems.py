"""The linear systems the release protects and the attack tool attacks (issue 17.10): a count
table's basic counts (leaf area x category combination) per period, each collected cell
(``release_cells.Cell``) as a 0/1 row over them, and each count's bounds (never negative, never
below a part another column counts, never above a whole it is part of). One :class:`System` per
period and count column.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from send_metrics.measures import explore
from send_metrics.measures.release_arrays import category_text, first_combinations
from send_metrics.measures.release_cells import Cell, _norm_period, loaded_datasets


def _leaf_values(db, dataset: str, areas: list[str] | None = None) -> pd.DataFrame:
    """The table's sums per area, period and category combination (of ``areas`` only, when given)."""
    sp = explore.spec(dataset)
    dims = ", ".join(explore._q(d) for d in sp.breakdowns)
    cols = ", ".join(f"sum({explore._q(i)}) AS {explore._q(i)}" for i in sp.indicators)
    where = ("" if areas is None else " WHERE list_contains($areas, CAST(area_code AS VARCHAR))" if areas
             else " WHERE false")
    df = db.query(f'SELECT area_code, CAST({explore._q(sp.period)} AS VARCHAR) AS period'
                  f'{", " + dims if dims else ""}, {cols} FROM "{dataset}"{where} GROUP BY ALL ORDER BY ALL',
                  {"areas": list(areas)} if areas else None)
    df["period"] = df["period"].map(_norm_period)
    for d in sp.breakdowns:
        df[d] = category_text(df[d])
    return df


def _cond_mask(db, dataset: str, combos: pd.DataFrame, dims: list[str], conds: set[str]) -> dict[str, np.ndarray]:
    """For each catalogue filter, which category combinations it takes (evaluated by DuckDB)."""
    if not conds:
        return {}
    import duckdb
    out = {}
    local = duckdb.connect()
    local.register("combos", combos[dims] if dims else combos.assign(_one=1))
    conds = list(conds)
    # Every filter in one statement, one column each (each evaluated row by row, as alone).
    res = local.execute("SELECT " + ", ".join(f"({c or 'true'}) AS h{i}" for i, c in enumerate(conds))
                        + " FROM combos").fetchdf()
    for i, c in enumerate(conds):
        out[c] = res[f"h{i}"].fillna(False).to_numpy(dtype=bool)
    local.close()
    return out


@dataclass
class System:
    """One linear system of the attack: every collected cell of one table, period and count
    column, as 0/1 rows over the basic counts they sum (``vectors``), with their true values."""
    dataset: str
    period: str
    column: str
    vectors: np.ndarray
    values: np.ndarray
    cells: list
    leaf_of: np.ndarray | None = None  # each column's leaf area (an index)
    combo_of: np.ndarray | None = None  # each column's category combination (an index)
    counts: np.ndarray | None = None  # each column's true basic count
    lower: np.ndarray | None = None  # its least possible value: 0, or the part of it another column counts
    upper: np.ndarray | None = None  # its greatest: none, or the whole it is part of in another column


class _Table:
    """What the attack knows of one dataset: its basic counts (leaf area x category combination)
    for every period, and how each collected cell sums them.

    Only the leaves some cell sums are read and laid out (``leaf_list`` keeps every leaf and
    ``leaf_index`` says where each of the laid-out ones stands in it): a basic count no cell holds
    is in no system (each keeps only the columns its cells use), so leaving it out changes
    nothing but the time: at national scale the hierarchies' cells hold 7 of 170 areas."""

    def __init__(self, engine, ds: str, cells: list[Cell]):
        db = engine.db
        self.ds = ds
        self.hier = {p: list(ch) for p, ch in engine.hierarchies()}
        sp = explore.spec(ds)
        self.dims = list(sp.breakdowns)
        present = db.query(f'SELECT DISTINCT CAST(area_code AS VARCHAR) AS a FROM "{ds}"')["a"]
        leaves = sorted({lf for ch in self.hier.values() for lf in ch})
        standalone = sorted(set(present.dropna().astype(str)) - set(self.hier) - set(leaves))
        self.leaf_list = leaves + standalone
        every = set(self.leaf_list)
        self.cells = [c for c in cells if c.dataset == ds]
        held = set()
        for c in self.cells:
            these = self.hier.get(c.area, [c.area])
            if all(lf in every for lf in these):
                held.update(these)
        laid_out = [a for a in self.leaf_list if a in held]
        full = {a: i for i, a in enumerate(self.leaf_list)}
        self.leaf_index = np.array([full[a] for a in laid_out], dtype=int)
        self.li = {a: i for i, a in enumerate(laid_out)}
        dims = self.dims
        self.combos = first_combinations(db, ds) if dims else pd.DataFrame(index=[0])
        self.ci = ({tuple(r): i for i, r in enumerate(self.combos.itertuples(index=False, name=None))}
                   if dims else {(): 0})
        conds = {c.members["__cond__"] for c in self.cells if "__cond__" in c.members}
        self.cmask = _cond_mask(db, ds, self.combos, dims, conds)
        self.nc = len(self.combos)
        self.cols = list(sp.indicators)
        self.col_i = {c: k for k, c in enumerate(self.cols)}
        self.nv = len(laid_out) * self.nc
        self.leaf_data = _leaf_values(db, ds, laid_out)
        self.masks: dict = {}
        self.vectors: dict = {}

    def _placed(self):
        """Each row of ``leaf_data``: its period, its place over the basic counts and its counts
        (NaN where not a number)."""
        data = self.leaf_data
        leaf = data["area_code"].astype(str).map(self.li).to_numpy(dtype=int)
        if self.dims:
            keys = zip(*(data[d].to_numpy(dtype=object) for d in self.dims))
            combo = np.fromiter((self.ci[k] for k in keys), dtype=int, count=len(data))
        else:
            combo = np.zeros(len(data), dtype=int)
        values = np.column_stack([pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                                  for c in self.cols]) if self.cols else np.zeros((len(data), 0))
        return data["period"].astype(str).to_numpy(dtype=object), leaf * self.nc + combo, values

    def bounds(self, column: str, x_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each basic count's least and greatest possible value in ``column`` given the other
        count columns as they truly are: never below 0 nor below a part of it another column
        counts, never above a whole it is part of (``explore.part_whole_pairs``; for outcomes only
        the outcomes that count children). A bound the true counts break is not applied."""
        x = x_true[self.col_i[column]]
        lower, upper = np.zeros(self.nv), np.full(self.nv, np.inf)
        if not hasattr(self, "_bound_pairs"):  # read from the catalogue once per table
            self._bound_pairs = [(p, w) for p, w in explore.part_whole_pairs(self.ds)
                                 if p in self.col_i and w in self.col_i]
            self._bound_applies = np.ones(self.nv, dtype=bool)
            if self.ds == "outcomes" and "outcome" in self.dims:
                counted = self.combos["outcome"].astype(str).isin(explore._count_outcomes()).to_numpy()
                self._bound_applies = np.tile(counted, self.nv // self.nc)
        applies = self._bound_applies
        for part, whole in self._bound_pairs:
            if column == whole:
                p = x_true[self.col_i[part]]
                lower = np.where(applies & (p <= x), np.maximum(lower, p), lower)
            elif column == part:
                w = x_true[self.col_i[whole]]
                upper = np.where(applies & (w >= x), np.minimum(upper, w), upper)
        return lower, upper

    def periods(self):
        """(period, {column: [(vector, cell)]}, true basic counts (columns x nv)) per period."""
        cols, col_i, nv, nc, li = self.cols, self.col_i, self.nv, self.nc, self.li
        period_of, place, values = self._placed()
        rows_of: dict[str, np.ndarray] = {}
        if len(period_of):
            order = np.argsort(period_of, kind="stable")
            labels, starts = np.unique(period_of[order], return_index=True)
            rows_of = dict(zip(labels, np.split(order, starts[1:])))
        for period, pcells in _by_period(self.cells):
            x_true = np.zeros((len(cols), nv))
            unknown_value = np.zeros((len(cols), nv), dtype=bool)
            present = np.zeros(nv, dtype=bool)
            rows = rows_of.get(period, np.zeros(0, dtype=int))  # in the table's order, as read
            j = place[rows]
            present[j] = True
            for k in range(len(cols)):
                v = values[rows, k]
                bad = ~np.isfinite(v)
                unknown_value[k, j[bad]] = True
                x_true[k, j[~bad]] = v[~bad]
            vecs: dict[str, list] = {c: [] for c in cols}
            for cell in pcells:
                if cell.column not in col_i:
                    continue
                # The same area and categories recur in every period: laid out once (never changed).
                which = (cell.area, tuple(sorted(cell.members.items())))
                if which not in self.vectors:
                    self.vectors[which] = _vector(cell, self.hier, li, nc, self.combos, self.dims, self.cmask,
                                                  self.masks)
                v = self.vectors[which]
                if v is None:
                    continue
                v = v & present
                if not v.any():
                    continue
                if unknown_value[col_i[cell.column], v].any():
                    continue  # a sum over a symbol: not a number anyone publishes
                vecs[cell.column].append((v.astype(float), cell))
            yield period, vecs, x_true


def systems(engine, cells: list[Cell], ds: str):
    """Every :class:`System` of dataset ``ds`` (one per period and count column)."""
    if ds not in loaded_datasets(engine.db, (ds,)):
        return
    table = _Table(engine, ds, cells)
    for period, vecs, x_true in table.periods():
        for c, rows in vecs.items():
            if not rows:
                continue
            # One order whatever order the outputs or DuckDB gave (ties in the protection's
            # choices then always fall the same way: two processes, one release).
            rows = sorted(rows, key=lambda r: r[1].key())
            V = np.array([v for v, _ in rows])
            used = V.any(axis=0)
            columns = np.flatnonzero(used)
            lower, upper = table.bounds(c, x_true)
            counts = x_true[table.col_i[c]][used]
            yield System(ds, period, c, V[:, used], V[:, used] @ counts,
                         [cell for _, cell in rows], table.leaf_index[columns // table.nc], columns % table.nc,
                         counts, lower[used], upper[used])


def _by_period(cells: list[Cell]):
    groups: dict[str, list[Cell]] = {}
    for c in cells:
        groups.setdefault(c.period, []).append(c)
    return sorted(groups.items())


def _vector(cell: Cell, hier, li, nc, combos, dims, cmask, masks: dict | None = None) -> np.ndarray | None:
    """The cell as a 0/1 vector over (leaf area, category combination). ``masks`` caches each
    (column, allowed values) test over the combinations (the same few recur in every cell)."""
    leaves = hier.get(cell.area, [cell.area])
    if any(lf not in li for lf in leaves):
        return None
    if "__cond__" in cell.members:
        cm = cmask[cell.members["__cond__"]]
    else:
        cm = np.ones(nc, dtype=bool)
        for d, allowed in cell.members.items():
            if d not in dims:
                return None
            key = (d, allowed)
            hit = None if masks is None else masks.get(key)
            if hit is None:
                hit = combos[d].isin(list(allowed)).to_numpy(dtype=bool)
                if masks is not None:
                    masks[key] = hit
            cm = cm & hit
    v = np.zeros(len(li) * nc, dtype=bool)
    for lf in leaves:
        v[li[lf] * nc:(li[lf] + 1) * nc] = cm
    return v


