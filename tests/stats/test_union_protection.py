"""stats.union_protection: complementary suppression over every output's cells at once (issue 17.10).
Each result is checked with an independent rank test (numpy's matrix_rank), not the module's own."""
from __future__ import annotations

import numpy as np
import pytest

from send_metrics.stats.union_protection import protect_union, recoverable, swap_cut


def rank_recoverable(rows: np.ndarray, known: np.ndarray, target: int) -> bool:
    pub = rows[known]
    if not len(pub):
        return not rows[target].any()
    return np.linalg.matrix_rank(np.vstack([pub, rows[target]])) == np.linalg.matrix_rank(pub)


def run(rows, known, sensitive, fixed=None, soft=None, values=None):
    n = len(rows)
    rows = np.asarray(rows, dtype=float)
    fixed = np.zeros(n, bool) if fixed is None else np.asarray(fixed)
    soft = np.zeros(n, bool) if soft is None else np.asarray(soft)
    values = np.arange(n, dtype=float) + 5 if values is None else np.asarray(values, dtype=float)
    return protect_union(rows, np.asarray(known), np.asarray(sensitive), fixed, soft, np.array(["a"] * n, dtype=object),
                         values)


def test_a_difference_of_two_published_cells_is_cut():
    # basic counts a, b: published a + b and b; a withheld (small). One complement is enough.
    rows = [[1, 1], [0, 1], [1, 0]]
    res = run(rows, [True, True, False], [False, False, True])
    assert not rank_recoverable(np.array(rows, float), res.known, 2)
    assert res.known.sum() == 1 and res.complements == 1


def test_a_fixed_cell_is_never_the_complement():
    rows = [[1, 1], [0, 1], [1, 0]]
    res = run(rows, [True, True, False], [False, False, True], fixed=[True, False, False])
    assert res.known.tolist() == [True, False, False]


def test_a_cell_only_fixed_cells_recover_is_reported_not_hidden_silently():
    rows = [[1, 1], [0, 1], [1, 0]]
    res = run(rows, [True, True, False], [False, False, True], fixed=[True, True, False])
    assert res.unprotectable == [2]
    assert res.known.tolist() == [True, True, False]


def test_redundant_routes_are_all_cut():
    # A 2 x 2 table with both margins and the total: every cell has several routes to it, so no
    # single complement works; the swap pattern (a rectangle) is needed.
    x = np.eye(4)
    cells = [x[0], x[1], x[2], x[3], x[0] + x[1], x[2] + x[3], x[0] + x[2], x[1] + x[3], x.sum(axis=0)]
    rows = np.array(cells)
    known = np.ones(9, bool)
    known[0] = False
    sensitive = np.zeros(9, bool)
    sensitive[0] = True
    fixed = np.zeros(9, bool)
    fixed[4:] = True  # margins and total are published elsewhere
    res = run(rows, known, sensitive, fixed=fixed)
    assert not rank_recoverable(rows, res.known, 0)
    assert res.known[4:].all()  # the margins stay
    assert res.known[:4].sum() == 0  # the whole inner table goes: nothing smaller protects it


def test_swap_cut_avoids_fixed_rows():
    x = np.eye(3)
    published = np.array([x[0] + x[1], x[1], x[2]])
    cut = swap_cut(published, x[0], fixed=np.array([True, False, False]), soft=np.zeros(3, bool))
    # moving a child from 0 to 1 changes row 1 only (row 0 holds both)
    assert cut.tolist() == [1]


@pytest.mark.parametrize("seed", range(25))
def test_random_tables_leave_no_sensitive_cell_recoverable(seed):
    rng = np.random.default_rng(seed)
    n_basic, n_cells = rng.integers(4, 12), rng.integers(6, 30)
    rows = (rng.random((n_cells, n_basic)) < 0.35).astype(float)
    rows = rows[rows.any(axis=1)]
    rows = np.unique(rows, axis=0)
    n = len(rows)
    known = rng.random(n) < 0.7
    sensitive = ~known & (rng.random(n) < 0.8)
    fixed = known & (rng.random(n) < 0.2)
    res = run(rows, known, sensitive, fixed=fixed)
    assert (res.known <= known).all()  # only ever withholds
    assert res.known[fixed].all()  # never a fixed cell
    for t in np.flatnonzero(sensitive):
        if t in res.unprotectable:
            # only fixed cells give it away: nothing here can help
            assert rank_recoverable(rows, fixed & known, t)
        else:
            assert not rank_recoverable(rows, res.known, t), f"cell {t} recoverable"
    assert (recoverable(rows, res.known, np.flatnonzero(sensitive))
            == [rank_recoverable(rows, res.known, t) for t in np.flatnonzero(sensitive)]).all()


def test_a_four_area_swap_keeps_totals_when_two_partitions_cross():
    """Cumbria in small: localities M, C, E, B; councils {M, C} and {E, B} (publisher figures),
    footprints {C, E} and {M, B}. M is small and C already withheld. M = {M, B} - {E, B} + E, so
    M is recoverable while E and B are shown. Moving a child round M, C, E, B changes no total:
    withholding E and B (two fine cells) protects M; no footprint or council total is touched."""
    x = np.eye(4)  # M, C, E, B
    rows = np.array([x[0], x[1], x[2], x[3], x[0] + x[1], x[2] + x[3], x[1] + x[2], x[0] + x[3]])
    known = np.array([False, False, True, True, True, True, True, True])
    sensitive = np.array([True] + [False] * 7)
    soft = np.array([False] * 4 + [True, True, False, False])
    res = protect_union(rows, known, sensitive, np.zeros(8, bool), soft, np.array(list("MCEBWWNS"), dtype=object),
                        np.array([2, 30, 40, 50, 32, 90, 70, 52.0]), leaf_of=np.arange(4), combo_of=np.zeros(4, int))
    assert not rank_recoverable(rows, res.known, 0)
    assert res.known.tolist() == [False, False, False, False, True, True, True, True]


def test_a_rectangle_over_two_areas_and_two_needs_keeps_every_total():
    """Eden's PMLD count is small; Eden and Barrow publish their totals, the council (both areas)
    its PMLD and VI counts. Moving one child PMLD->VI in Eden and VI->PMLD in Barrow changes no
    total and no council figure: the fine cells go, the totals and the council's figures stay."""
    # basic counts: (Eden, PMLD), (Eden, VI), (Barrow, PMLD), (Barrow, VI)
    x = np.eye(4)
    rows = np.array([x[0], x[1], x[2], x[3], x[0] + x[1], x[2] + x[3], x[0] + x[2], x[1] + x[3]])
    known = np.array([False, True, True, True, True, True, True, True])
    sensitive = np.array([True] + [False] * 7)
    soft = np.array([False] * 6 + [True, True])
    res = protect_union(rows, known, sensitive, np.zeros(8, bool), soft, np.array(list("EEBBEBCC"), dtype=object),
                        np.array([2, 30, 40, 50, 32, 90, 42, 80.0]), leaf_of=np.array([0, 0, 1, 1]),
                        combo_of=np.array([0, 1, 0, 1]))
    assert not rank_recoverable(rows, res.known, 0)
    assert res.known[4:].all()  # area totals and the council's figures stay
    assert not res.known[:4].any()
