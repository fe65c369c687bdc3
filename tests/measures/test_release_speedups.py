"""The release's speed-ups (issue 19 point 3: derived tables after a national load) give what the
plain computation gives: the distinct rows of a system (``np.unique``), the systems laid out over
the leaves some cell sums only (every basic count in its place, each cell the sum it names), the
category combinations in their first-appearance order, every filter of a table in one statement,
and the measure table's withheld counts applied only to the rows of the areas named."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from send_metrics.catalogue import load_catalogue
from send_metrics.measures import release, release_arrays, release_cells, release_systems
from send_metrics.measures.engine.sums import measure_quantities


@pytest.mark.parametrize("shape", [(1, 5), (7, 64), (40, 63), (300, 129), (50, 1974)])
def test_distinct_rows_are_numpys_unique_rows(shape):
    rng = np.random.default_rng(shape[1])
    m = (rng.random(shape) < 0.3).astype(float)
    m[::3] = m[0]  # repeated rows
    m[1::5] = 0.0  # empty rows
    want, want_inverse = np.unique(m.astype(np.uint8), axis=0, return_inverse=True)
    got, inverse = release_arrays.distinct_rows(m)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert np.array_equal(inverse, want_inverse.ravel())
    assert np.array_equal(got[inverse], m.astype(np.uint8))


def test_combinations_in_their_first_appearance_order(demo_engine):
    for ds in release_cells.DATASETS:
        dims = list(release_cells.explore.spec(ds).breakdowns)
        if not dims or ds not in release_cells.loaded_datasets(demo_engine.db, (ds,)):
            continue
        plain = release_systems._leaf_values(demo_engine.db, ds)[dims].drop_duplicates().reset_index(drop=True)
        pd.testing.assert_frame_equal(release_arrays.first_combinations(demo_engine.db, ds), plain)


def test_every_filter_in_one_statement_is_each_filter_alone():
    combos = pd.DataFrame({"service": ["SLT", "OT", "SLT", "CAMHS"], "wait_band": ["0to4wk", None, "52plus", "4to8wk"]})
    conds = {"service = 'SLT'", "wait_band IN ('52plus', '4to8wk')", "", "wait_band IS NULL OR service = 'OT'"}
    got = release_systems._cond_mask(None, "waiting_list", combos, ["service", "wait_band"], conds)
    con = duckdb.connect()
    con.register("combos", combos)
    for c in conds:
        want = con.execute(f"SELECT ({c or 'true'}) AS hit FROM combos").fetchdf()["hit"].fillna(False)
        assert got[c].tolist() == want.to_numpy(dtype=bool).tolist()


def _basic_counts(engine, ds: str) -> tuple[pd.DataFrame, dict]:
    """Every basic count of ``ds`` (every area, read in full) and the hierarchies."""
    return release_systems._leaf_values(engine.db, ds), {p: list(ch) for p, ch in engine.hierarchies()}


@pytest.mark.parametrize("ds", ["ehcp_caseload", "waiting_list", "outcomes"])
def test_systems_over_the_leaves_cells_sum_hold_each_cells_own_sum(demo_engine, ds):
    """Each system's columns are basic counts of the full table (area, combination) in the order
    of every leaf laid out, and each cell's row holds exactly the basic counts it names (those the
    period has), summing to its value: nothing is lost by leaving other leaves out."""
    local = release.local_areas(demo_engine)
    cells = [c for c in release_cells.measure_cells(demo_engine.full_table(), local) if c.dataset == ds]
    if ds == "waiting_list":
        cells += release_cells.waiting_band_targets(demo_engine, local)
    if ds == "outcomes":
        cells += release_cells.split_group_targets(demo_engine, local & demo_engine.below_council_areas())
    data, hier = _basic_counts(demo_engine, ds)
    table = release_systems._Table(demo_engine, ds, cells)
    dims = table.dims
    combos = table.combos
    combo_rows = [tuple(r) for r in combos.itertuples(index=False, name=None)] if dims else [()]
    # every catalogue filter's combinations, each filter alone (as before the speed-up), once
    conds = sorted({c.members["__cond__"] for c in cells if "__cond__" in c.members})
    hits = {q: release_systems._cond_mask(demo_engine.db, ds, combos, dims, {q})[q] for q in conds}
    checked = 0
    for system in release_systems.systems(demo_engine, cells, ds):
        areas = [table.leaf_list[i] for i in system.leaf_of]
        assert list(system.leaf_of) == sorted(system.leaf_of) or len(set(system.leaf_of)) > 1
        order = list(zip(system.leaf_of, system.combo_of))
        assert order == sorted(order)  # the layout's own order, leaf by leaf
        period = data[data["period"] == system.period]
        counts = (period.set_index(["area_code", *dims])[system.column] if dims else
                  period.set_index("area_code")[system.column]).to_dict()
        for row, value, cell in zip(system.vectors, system.values, system.cells):
            held = {(areas[j], *combo_rows[system.combo_of[j]]) for j in np.flatnonzero(row)}
            leaves = hier.get(cell.area, [cell.area])
            if "__cond__" in cell.members:
                allowed = [r for r, h in zip(combo_rows, hits[cell.members["__cond__"]]) if h]
            else:
                allowed = [r for r in combo_rows if all(r[dims.index(d)] in v for d, v in cell.members.items())]
            want = {(lf, *c) for lf in leaves for c in allowed
                    if ((lf, *c) if dims else lf) in counts}
            assert held == want, cell.key()
            assert value == pytest.approx(float(sum(counts[k if dims else k[0]] for k in want)), abs=1e-9)
            checked += 1
    assert checked > 20


def _plain_withhold(base: pd.DataFrame, withhold: dict) -> pd.DataFrame:
    """The measure table's withheld counts applied row by row (as before the speed-up)."""
    quant = measure_quantities(load_catalogue())
    out = base.copy()
    area = out["area_code"].astype(str)
    period = out["period"].map(lambda p: str(p)[:10])
    out["suppression_reason"] = out["suppression_reason"].astype(object)
    for role, i in (("numerator", 0), ("denominator", 1)):
        q = out["measure_id"].map({mid: pair[i] for mid, pair in quant.items()})
        why = pd.Series([withhold.get((a, b, c)) for a, b, c in zip(q, area, period)], index=out.index)
        hit = why.notna() & ~out["suppressed"].astype(bool)
        out.loc[hit, "suppressed"] = True
        out.loc[hit, "suppression_reason"] = why[hit]
        out.loc[hit, "numerator"] = np.nan
        if role == "denominator":
            out.loc[why.notna(), "denominator"] = np.nan
    return out


def test_withheld_counts_reach_the_same_rows_as_row_by_row(demo_engine):
    table = demo_engine.full_table()
    base = table[["measure_id", "area_code", "period", "numerator", "denominator", "suppressed",
                  "suppression_reason"]].copy()
    quant = measure_quantities(load_catalogue())
    rng = np.random.default_rng(5)
    local = sorted(release.local_areas(demo_engine))
    rows = base[base["area_code"].astype(str).isin(local)].sample(300, random_state=2)
    withhold = {}
    for r in rows.itertuples(index=False):
        pair = quant.get(r.measure_id)
        if pair:
            withhold[(pair[int(rng.integers(0, 2))], str(r.area_code), str(r.period)[:10])] = f"reason {len(withhold)}"
    assert len(withhold) > 100
    got = release_arrays.withhold_in_measure_rows(base, withhold)
    pd.testing.assert_frame_equal(got, _plain_withhold(base, withhold))
    assert got["suppressed"].sum() > base["suppressed"].sum()
