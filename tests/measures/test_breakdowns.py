"""Needs by age and by setting, computed once per load (send_metrics.measures.breakdowns), and the
disclosure repair solved one connected set of equations at a time (send_metrics.measures.linear_repair)."""
import numpy as np
import pandas as pd
import pytest

from send_metrics.measures import breakdowns, linear_repair

KEYS = ["year", "area_code", "need"]


def _sorted(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.sort_values([*KEYS, column]).reset_index(drop=True)


@pytest.fixture
def engine(demo_store, demo_config, tmp_path):
    """The demo load in a store of its own (the test deletes and damages derived files)."""
    import shutil
    from dataclasses import replace

    from send_metrics.db import Database
    from send_metrics.measures.engine import Engine
    store = tmp_path / "store"
    shutil.copytree(demo_store, store)
    db = Database(replace(demo_config, store_dir=store))
    yield Engine(db)
    db.close()


def test_stored_breakdowns_equal_the_ones_computed_on_demand(engine):
    for p in engine.derived_path("needs-age").parent.glob("needs-*.parquet"):
        p.unlink()
    breakdowns._memory.clear()
    years = breakdowns.census_years(engine)
    assert len(years) >= 5
    on_demand = {y: breakdowns.for_year(engine, y) for y in years}
    assert breakdowns.precompute(engine) == len(years)
    assert engine.derived_path("needs-age").exists() and engine.derived_path("needs-setting").exists()
    for y in years:
        stored = breakdowns.for_year(engine, y)
        assert set(stored) == set(on_demand[y]) == {"age", "setting"}
        for name, (_, column) in breakdowns.BREAKDOWNS.items():
            a, b = _sorted(on_demand[y][name], column), _sorted(stored[name], column)
            pd.testing.assert_frame_equal(a[breakdowns._columns(name)], b, check_dtype=False)
            assert b["suppressed"].any()  # the demo has small counts in every year
            shown = b.loc[~b["suppressed"], "plans"]
            assert not shown.between(engine.suppress_min, engine.suppress_max).any()
            assert b.loc[b["suppressed"], "plans"].isna().all()


def test_a_damaged_breakdown_file_is_recomputed_not_trusted(engine):
    breakdowns.precompute(engine)
    year = breakdowns.census_years(engine)[-1]
    good = breakdowns.for_year(engine, year)
    engine.derived_path("needs-age").write_bytes(b"PAR1 damaged")
    breakdowns._memory.clear()
    again = breakdowns.for_year(engine, year)
    pd.testing.assert_frame_equal(_sorted(again["age"], "age_band")[breakdowns._columns("age")],
                                  _sorted(good["age"], "age_band"), check_dtype=False)


def test_a_year_without_caseload_has_no_breakdowns(engine):
    assert breakdowns.for_year(engine, 1990) == {}


def test_repair_by_connected_sets_equals_the_whole_system():
    """Three independent 2 x 2 tables with margins (and one chained to another by a shared
    total): splitting the equations into connected sets suppresses exactly the same cells as
    solving everything at once."""
    rng = np.random.default_rng(7)
    equations, vals = [], []

    def table(cells):
        base = len(vals)
        vals.extend(cells)  # a b c d, row totals r1 r2, column totals c1 c2, grand total
        a, b, c, d, r1, r2, c1, c2, t = range(base, base + 9)
        equations.extend([(r1, [a, b], "row"), (r2, [c, d], "row"), (c1, [a, c], "col"), (c2, [b, d], "col"),
                          (t, [r1, r2], "total"), (t, [c1, c2], "total")])
        return t
    totals = []
    for _ in range(4):
        a, b, c, d = rng.integers(1, 30, 4)
        totals.append(table([a, b, c, d, a + b, c + d, a + c, b + d, a + b + c + d]))
    vals.append(vals[totals[2]] + vals[totals[3]])
    equations.append((len(vals) - 1, [totals[2], totals[3]], "parent"))
    vals = np.array(vals, dtype=float)
    known = np.ones(len(vals), dtype=bool)
    small = (vals >= 1) & (vals <= 4)
    assert small.any()

    def run(fn):
        sup, reason = small.copy(), np.where(small, "primary", None).astype(object)
        lost = fn(equations, vals, known, sup, reason, max_rounds=len(vals))
        return sup, lost
    split, lost_split = run(linear_repair.linear_repair)
    whole, lost_whole = run(linear_repair.linear_repair_connected)
    assert split.tolist() == whole.tolist()
    assert lost_split == lost_whole
    assert split.sum() > small.sum()  # complementary cells were needed
