"""An attacker's view of everything the dashboard publishes: can any suppressed count be worked out?

Every output built on a count table publishes cells, each a sum of basic counts (one leaf area -
a locality, or an area no other area is built from - and one combination of the table's category
columns, for one period and one count column). :func:`collect` gathers the cells of

* the measure table (every measure's numerator and denominator: the Board, Trends, Equity,
  Benchmarks and Waiting pages' figures, the board pack and ``measures --format csv``), a count
  shown when some measure shows it and withheld when measures built on it exist but none does;
* the Data explorer at every grain it offers (every choice of up to two breakdown columns, and
  its downloads, which hold the same cells);
* the Needs page's need-by-age and need-by-setting tables, and the Waiting page's wait-band tables;

and :func:`attack` puts each table's published cells into one linear system per period and asks,
for every withheld cell, (1) the exact rank test: is its vector a linear combination of published
vectors (then it is recovered exactly); (2) linear programming (scipy's HiGHS): the smallest and
largest value it can take given the published cells, counts that are never negative, and parts
never larger than their wholes (plans issued within 20 weeks <= plans issued). A cell whose range
is at most 1 wide is pinned to within 1.

The attacker is assumed to know how areas add up (localities to councils, former districts,
footprints and Cumbria), every published cell, and the categories of every table. Run it with
``python -m send_metrics.tools.disclosure_attack [--data-dir DIR] [--dataset NAME] [--json]``.

A measuring tool for issue 17.10 (ported from the 2026-12-06 branch ``disclosure17b`` onto the
split modules); not yet a test: the outputs do not yet publish from one protected version of each
table, so it still finds recoveries (see wip/README.md).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from send_metrics.catalogue import load_catalogue
from send_metrics.contract import codes
from send_metrics.measures import breakdowns, explore, waiting_times
from send_metrics.measures.engine.sums import measure_quantities
from send_metrics.measures.linear_repair import single_thread_blas
from send_metrics.tools.attack_algebra import (_BoundsLP, _moves_by_more_than_one, _null_space,
                                               _positive_null_space, robust_svd)

DATASETS = ("ehcp_caseload", "ehcp_assessments", "ehcp_ceased", "school_census", "waiting_list", "waiting_activity",
            "outcomes")


def loaded_datasets(db, datasets=DATASETS) -> tuple[str, ...]:
    """The datasets of ``datasets`` that the load holds (a store without a table has nothing to attack)."""
    present = set(db.query("SELECT table_name FROM information_schema.tables")["table_name"])
    return tuple(d for d in datasets if d in present)


@dataclass
class Cell:
    source: str
    dataset: str
    period: str
    column: str
    area: str
    members: dict  # breakdown column -> frozenset of allowed values (absent: any)
    suppressed: bool
    label: str = ""
    reason: str = ""

    def key(self) -> str:
        """The cell's name: which output, dataset, count column, area, period and categories.
        The explorer's grains are named by their columns in sorted order, whatever order a
        caller lists them in."""
        if "__cond__" in self.members:
            kind, members = self.source, self.members["__cond__"]
        else:
            dims = sorted(self.members)
            kind = ("explorer:" + "x".join(dims)) if self.source.startswith("explorer") else self.source
            members = ";".join(f"{d}={'/'.join(sorted(self.members[d]))}" for d in dims)
        return cell_key(kind, self.dataset, self.column, self.area, self.period, members)


def cell_key(kind: str, dataset: str, column: str, area: str, period: str, members: str) -> str:
    return "\x1f".join((kind, dataset, column, str(area), str(period)[:10], members))


@dataclass
class Result:
    cells: int = 0
    withheld: int = 0
    exact: list = field(default_factory=list)
    pinned: list = field(default_factory=list)
    exact_cells: list = field(default_factory=list)
    pinned_cells: list = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"published_cells": self.cells, "withheld_cells": self.withheld, "exact": len(self.exact),
                "pinned_within_1": len(self.pinned), "seconds": round(self.seconds, 1),
                "examples_exact": self.exact[:10], "examples_pinned": self.pinned[:10]}


def _norm_period(p) -> str:
    return str(p)[:10]


# -- what each output publishes ---------------------------------------------------------------
def engine_cells(engine) -> list[Cell]:
    """Numerators and denominators of the measure table, as cells of their count tables."""
    table = engine.full_table()
    quant = measure_quantities(load_catalogue())
    parts = []
    for role, i in (("numerator", 0), ("denominator", 1)):
        q = table["measure_id"].map({mid: pair[i] for mid, pair in quant.items()})
        parts.append(pd.DataFrame({"q": q, "area": table["area_code"].astype(str),
                                   "period": table["period"].map(_norm_period), "shown": table[role].notna()}))
    status = pd.concat(parts, ignore_index=True).dropna(subset=["q"])
    status = status.groupby(["q", "area", "period"], sort=False)["shown"].any().reset_index()
    out = []
    for q, area, period, shown in status.itertuples(index=False):
        dataset, column, cond = q.split("|", 2)
        if dataset not in DATASETS:
            continue
        out.append(Cell("measures", dataset, period, column, area, {"__cond__": cond}, not shown, q))
    return out


def explorer_grains(dataset: str) -> list[tuple[str, ...]]:
    sp = explore.spec(dataset)
    optional = [b for b in sp.breakdowns if b not in sp.required]
    grains = []
    for k in range(0, explore.MAX_BREAKDOWNS - len(sp.required) + 1):
        for combo in itertools.combinations(optional, k):
            grains.append(tuple(sp.required) + tuple(b for b in optional if b in combo))
    return grains


def _grain_table(engine, dataset: str, cache: dict):
    """The explorer's protected grains, each coarser grain computed once (as the page caches them)."""
    db = engine.db
    low, high = engine.suppress_min, engine.suppress_max

    def grain(b: tuple[str, ...]):
        if b not in cache:
            cache[b] = explore.protected_table(db, dataset, b, low, high, engine.hierarchies(), grain)
        return cache[b]
    return grain


def explorer_cells(engine, dataset: str) -> list[Cell]:
    sp = explore.spec(dataset)
    out = []
    grain_table = _grain_table(engine, dataset, {})
    for grain in explorer_grains(dataset):
        t = grain_table(grain)
        for ind in sp.indicators:
            flags = t[f"{ind}__suppressed"].to_numpy(dtype=bool)
            reasons = t[f"{ind}__reason"].to_numpy(dtype=object)
            vals = pd.to_numeric(t[ind], errors="coerce").to_numpy(dtype=float)
            keys = t[["area_code", sp.period, *grain]].astype(str).to_numpy()
            for k, f, v, why in zip(keys, flags, vals, reasons):
                if not np.isfinite(v):
                    continue
                members = {b: frozenset([val]) for b, val in zip(grain, k[2:])}
                out.append(Cell(f"explorer {'x'.join(grain) or 'totals'}", dataset, _norm_period(k[1]), ind, k[0],
                                members, bool(f), reason=why if isinstance(why, str) else ""))
    return out


def needs_cells(engine) -> list[Cell]:
    out = []
    for year in breakdowns.census_years(engine):
        for name, frame in breakdowns.for_year(engine, year).items():
            out += needs_frame_cells(frame, name)
    return out


def needs_frame_cells(frame: pd.DataFrame, name: str) -> list[Cell]:
    """The cells of one Needs table (one row each), as sums of caseload cells (the groups of
    sql/needs_by_age.sql and sql/needs_by_setting.sql)."""
    needs = set(codes.PRIMARY_NEEDS) | {"(missing)", "ALL"}
    column = breakdowns.BREAKDOWNS[name][1]
    main = {"ASD", "SLCN", "SEMH", "MLD", "SLD"}
    group = {"primary_need": lambda n: n if n in main else "OTHER",
             "setting_type": lambda v: "other" if v in ("early_years", "other") else v,
             "age_band": lambda v: v}
    cats = [*codes.SETTING_TYPES, *codes.AGE_BANDS, "(missing)"]
    out = []
    for r in frame.itertuples(index=False):
        members = {}
        if r.need != "ALL":
            members["primary_need"] = frozenset(n for n in needs if group["primary_need"](n) == r.need)
        cat = getattr(r, column)
        if cat != "ALL":
            members[column] = frozenset(v for v in cats if group[column](v) == cat)
        why = r.suppression_reason
        out.append(Cell(f"needs {name}", "ehcp_caseload", str(int(r.year)), "ehc_plans", str(r.area_code),
                        members, bool(r.suppressed), reason=why if isinstance(why, str) else ""))
    return out


def waiting_cells(engine) -> list[Cell]:
    """The Waiting page's wait-band tables, for every service and month (as pages/waiting.py builds them)."""
    db = engine.db
    out = []
    pairs = db.query("SELECT DISTINCT service, CAST(month AS VARCHAR) AS month FROM waiting_list ORDER BY ALL")
    below = engine.below_council_areas()
    for service, month in pairs.itertuples(index=False):
        raw = db.query_file("waiting_bands", {"service": service, "month": month})
        lists = engine.table([f"wait_list_{service}"], None, [month[:7]])
        over = engine.table(["autism_over_13wk_pct"], None, [month[:7]]) if service == "AUTISM" else lists.iloc[:0]
        frame = waiting_times.protect_bands(raw, service, month, lists.loc[lists["suppressed"].astype(bool), "area_code"],
                                            over.loc[over["suppressed"].astype(bool), "area_code"],
                                            engine.hierarchies(), engine.suppress_min, engine.suppress_max,
                                            rest_of_group_areas=below)
        out += waiting_frame_cells(frame)
    return out


def waiting_frame_cells(frame: pd.DataFrame) -> list[Cell]:
    """The cells of one Waiting table (one row each), as sums of waiting-list cells."""
    bands = list(codes.WAIT_BANDS)
    grouped = {"0to4wk": "0to13wk", "4to8wk": "0to13wk", "8to13wk": "0to13wk",
               "18to26wk": "18to52wk", "26to52wk": "18to52wk"}  # sql/waiting_bands.sql
    out = []
    for r in frame.itertuples(index=False):
        members = {"service": frozenset([str(r.service)])}
        if r.ehcp_status != "ALL":
            members["ehcp_status"] = frozenset([r.ehcp_status])
        if r.wait_band != "ALL":
            members["wait_band"] = frozenset(b for b in bands if grouped.get(b, b) == r.wait_band)
        why = r.suppression_reason
        out.append(Cell("waiting bands", "waiting_list", _norm_period(r.month), "waiting", str(r.area_code),
                        members, bool(r.suppressed), reason=why if isinstance(why, str) else ""))
    return out


def collect(engine, datasets=DATASETS, progress=None) -> list[Cell]:
    datasets = loaded_datasets(engine.db, datasets)
    cells = [c for c in engine_cells(engine) if c.dataset in datasets]
    for ds in datasets:
        t0 = time.time()
        cells += explorer_cells(engine, ds)
        if progress:
            progress(f"explorer {ds}: {time.time() - t0:.0f} s")
    if "ehcp_caseload" in datasets:
        cells += needs_cells(engine)
    if "waiting_list" in datasets:
        cells += waiting_cells(engine)
    return cells


# -- the attack ---------------------------------------------------------------------------------
def column_pairs(dataset: str) -> list[tuple[str, str, set | None]]:
    """(part, whole, outcomes or None): count columns of `dataset` that are parts of another in the
    same row (a proportion measure's numerator and denominator over the same rows)."""
    outcomes = explore._count_outcomes() if dataset == "outcomes" else None
    return [(part, whole, outcomes) for part, whole in explore.part_whole_pairs(dataset)]


def _leaf_values(db, dataset: str) -> pd.DataFrame:
    sp = explore.spec(dataset)
    dims = ", ".join(explore._q(d) for d in sp.breakdowns)
    cols = ", ".join(f"sum({explore._q(i)}) AS {explore._q(i)}" for i in sp.indicators)
    df = db.query(f'SELECT area_code, CAST({explore._q(sp.period)} AS VARCHAR) AS period'
                  f'{", " + dims if dims else ""}, {cols} FROM "{dataset}" GROUP BY ALL')
    df["period"] = df["period"].map(_norm_period)
    for d in sp.breakdowns:
        df[d] = df[d].astype(object).where(df[d].notna(), "(missing)").astype(str)
    return df


def _cond_mask(db, dataset: str, combos: pd.DataFrame, dims: list[str], conds: set[str]) -> dict[str, np.ndarray]:
    """For each catalogue filter, which category combinations it takes (evaluated by DuckDB)."""
    if not conds:
        return {}
    import duckdb
    out = {}
    local = duckdb.connect()
    local.register("combos", combos[dims] if dims else combos.assign(_one=1))
    for c in conds:
        res = local.execute(f"SELECT ({c or 'true'}) AS hit FROM combos").fetchdf()["hit"]
        out[c] = res.fillna(False).to_numpy(dtype=bool)
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


class _Table:
    """What the attack knows of one dataset: its basic counts (leaf area x category combination)
    for every period, and how each collected cell sums them."""

    def __init__(self, engine, ds: str, cells: list[Cell]):
        db = engine.db
        self.hier = {p: list(ch) for p, ch in engine.hierarchies()}
        sp = explore.spec(ds)
        self.dims = list(sp.breakdowns)
        self.data = _leaf_values(db, ds)
        leaves = sorted({lf for ch in self.hier.values() for lf in ch})
        standalone = sorted(set(self.data["area_code"]) - set(self.hier) - set(leaves))
        self.leaf_list = leaves + standalone
        self.li = {a: i for i, a in enumerate(self.leaf_list)}
        dims = self.dims
        self.combos = (self.data[dims].drop_duplicates().reset_index(drop=True) if dims
                       else pd.DataFrame(index=[0]))
        self.ci = ({tuple(r): i for i, r in enumerate(self.combos.itertuples(index=False, name=None))}
                   if dims else {(): 0})
        self.cells = [c for c in cells if c.dataset == ds]
        conds = {c.members["__cond__"] for c in self.cells if "__cond__" in c.members}
        self.cmask = _cond_mask(db, ds, self.combos, dims, conds)
        self.nc = len(self.combos)
        self.cols = list(sp.indicators)
        self.col_i = {c: k for k, c in enumerate(self.cols)}
        self.nv = len(self.leaf_list) * self.nc
        self.leaf_data = self.data[self.data["area_code"].isin(self.leaf_list)]
        self.masks: dict = {}

    def periods(self):
        """(period, {column: [(vector, cell)]}, true basic counts (columns x nv)) per period."""
        dims, cols, col_i, nv, nc, li, ci = self.dims, self.cols, self.col_i, self.nv, self.nc, self.li, self.ci
        for period, pcells in _by_period(self.cells):
            x_true = np.zeros((len(cols), nv))
            pdata = self.leaf_data[self.leaf_data["period"] == period]
            unknown_value = np.zeros((len(cols), nv), dtype=bool)
            present = np.zeros(nv, dtype=bool)
            for r in pdata.itertuples(index=False):
                rd = r._asdict()
                k = ci[tuple(rd[d] for d in dims)] if dims else 0
                j = li[rd["area_code"]] * nc + k
                present[j] = True
                for c in cols:
                    v = rd[c]
                    if v is None or not np.isfinite(float(v)):
                        unknown_value[col_i[c], j] = True
                    else:
                        x_true[col_i[c], j] = float(v)
            vecs: dict[str, list] = {c: [] for c in cols}
            for cell in pcells:
                if cell.column not in col_i:
                    continue
                v = _vector(cell, self.hier, li, nc, self.combos, dims, self.cmask, self.masks)
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
            V = np.array([v for v, _ in rows])
            used = V.any(axis=0)
            yield System(ds, period, c, V[:, used], V[:, used] @ x_true[table.col_i[c]][used],
                         [cell for _, cell in rows])


def attack(engine, cells: list[Cell], lp: bool = True, datasets=DATASETS, max_lp: int | None = None,
           rank: bool = True) -> dict:
    """Rank test and LP bounds for every withheld cell; one result per dataset. With ``rank``
    False, cells the rank test would recover are still left out of the LP (they are recovered
    exactly, which the rank test reports), but not listed."""
    with single_thread_blas():  # many small SVDs: threads only contend
        return _attack(engine, cells, lp, datasets, max_lp, rank)


def _attack(engine, cells, lp, datasets, max_lp, rank) -> dict:
    pairs_by_ds = {ds: column_pairs(ds) for ds in datasets}
    results = {}
    for ds in loaded_datasets(engine.db, datasets):
        t0 = time.time()
        res = Result()
        table = _Table(engine, ds, cells)
        cols, col_i, nv, nc, combos, dims = table.cols, table.col_i, table.nv, table.nc, table.combos, table.dims
        for period, vecs, x_true in table.periods():
            # blocks of columns linked by part <= whole
            blocks = _blocks(cols, pairs_by_ds[ds])
            for block in blocks:
                pub_rows, sup_rows = [], []
                for c in block:
                    off = block.index(c) * nv
                    for v, cell in vecs[c]:
                        full = np.zeros(len(block) * nv)
                        full[off:off + nv] = v
                        (sup_rows if cell.suppressed else pub_rows).append((full, cell))
                res.cells += len(pub_rows)
                res.withheld += len(sup_rows)
                if not sup_rows:
                    continue
                xb = np.concatenate([x_true[col_i[c]] for c in block])
                used = np.zeros(len(block) * nv, dtype=bool)
                for v, _ in pub_rows + sup_rows:
                    used |= v > 0
                idx = np.flatnonzero(used)
                P = np.array([v[idx] for v, _ in pub_rows]) if pub_rows else np.zeros((0, len(idx)))
                b = P @ xb[idx] if len(P) else np.zeros(0)
                S = np.array([v[idx] for v, _ in sup_rows])
                # exact: the row is in the row space of P
                if len(P):
                    _, s, vt = robust_svd(P)
                    q = vt[s > 1e-9 * max(1.0, float(s.max()))]
                    resid = np.linalg.norm(S - (S @ q.T) @ q, axis=1)
                    exact = resid < 1e-7
                else:
                    exact = np.zeros(len(S), dtype=bool)
                for k in (np.flatnonzero(exact) if rank else []):
                    cell = sup_rows[k][1]
                    res.exact.append(_describe(cell, float(S[k] @ xb[idx])))
                    res.exact_cells.append(cell)
                if not lp:
                    continue
                # part <= whole for every leaf of a pair in this block
                A_ub, b_ub = [], []
                pos = {j: k for k, j in enumerate(idx)}
                for part, whole, outcomes in pairs_by_ds[ds]:
                    if part in block and whole in block:
                        po, wo = block.index(part) * nv, block.index(whole) * nv
                        for j in range(nv):
                            if outcomes is not None and "outcome" in dims and \
                                    combos.iloc[j % nc]["outcome"] not in outcomes:
                                continue
                            if po + j in pos and wo + j in pos:
                                row = np.zeros(len(idx))
                                row[pos[po + j]], row[pos[wo + j]] = 1.0, -1.0
                                A_ub.append(row)
                                b_ub.append(0.0)
                A_ub = np.array(A_ub) if A_ub else None
                b_ub = np.array(b_ub) if b_ub else None
                todo = [k for k in np.flatnonzero(~exact)]
                if max_lp is not None:
                    todo = todo[:max_lp]
                x0 = xb[idx]
                if len(P):
                    full_null = _null_space(P, q)
                else:
                    full_null = np.eye(len(idx))
                positive_null = None
                solver = None
                for k in todo:
                    c = S[k]
                    if _moves_by_more_than_one(c, full_null, x0, A_ub):
                        continue  # a cheap certificate: the true counts can move it by more than 1
                    if positive_null is None:
                        positive_null = _positive_null_space(P, x0)
                    if _moves_by_more_than_one(c, positive_null, x0, A_ub):
                        continue  # the same, moving only counts that are not zero
                    if solver is None:
                        solver = _BoundsLP(P, b, A_ub)
                    true = float(c @ x0)
                    hi = solver.extreme(c, maximise=True)
                    if hi is None or hi - true > 1 + 1e-7:
                        continue  # unbounded, or it can move by more than 1 upwards alone
                    lo = solver.extreme(c, maximise=False)
                    if lo is not None and hi - lo <= 1 + 1e-7:
                        res.pinned.append(_describe(sup_rows[k][1], true, lo, hi))
                        res.pinned_cells.append(sup_rows[k][1])
        res.seconds = time.time() - t0
        results[ds] = res
    return results


def _by_period(cells: list[Cell]):
    groups: dict[str, list[Cell]] = {}
    for c in cells:
        groups.setdefault(c.period, []).append(c)
    return sorted(groups.items())


def _blocks(cols: list[str], pairs) -> list[list[str]]:
    parent = {c: c for c in cols}

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c
    for part, whole, _ in pairs:
        if part in parent and whole in parent:
            parent[root(part)] = root(whole)
    out: dict[str, list[str]] = {}
    for c in cols:
        out.setdefault(root(c), []).append(c)
    return list(out.values())


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


def _describe(cell: Cell, true: float, lo: float | None = None, hi: float | None = None) -> str:
    what = ", ".join(f"{d}={'/'.join(sorted(v))}" for d, v in cell.members.items() if d != "__cond__")
    text = f"{cell.source}: {cell.dataset} {cell.column} {cell.area} {cell.period} {what or cell.label} = {true:g}"
    if lo is not None:
        text += f" (pinned to {lo:.2f}-{hi:.2f})"
    return text


def main(argv=None) -> int:
    from dataclasses import replace
    from pathlib import Path

    from send_metrics.config import load_config
    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--store-dir")
    ap.add_argument("--dataset", action="append")
    ap.add_argument("--no-lp", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    config = load_config(args.data_dir)
    if args.store_dir:
        config = replace(config, store_dir=Path(args.store_dir))
    db = Database(config)
    engine = Engine(db)
    datasets = tuple(args.dataset or DATASETS)
    datasets = loaded_datasets(db, datasets)
    cells = collect(engine, datasets, progress=lambda m: print(m, file=sys.stderr, flush=True))
    results = attack(engine, cells, lp=not args.no_lp, datasets=datasets)
    summary = {ds: r.as_dict() for ds, r in results.items()}
    total = {"exact": sum(r.as_dict()["exact"] for r in results.values()),
             "pinned_within_1": sum(r.as_dict()["pinned_within_1"] for r in results.values())}
    if args.json:
        print(json.dumps({"total": total, "datasets": summary}, indent=1))
    else:
        for ds, d in summary.items():
            print(f"{ds}: {d['published_cells']} published, {d['withheld_cells']} withheld, "
                  f"{d['exact']} recovered exactly, {d['pinned_within_1']} pinned to within 1 ({d['seconds']} s)")
            for e in d["examples_exact"][:3] + d["examples_pinned"][:3]:
                print("   ", e)
        print(f"total: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
