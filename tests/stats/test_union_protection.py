"""stats.union_protection: complementary suppression over every output's cells at once (issue 17.10).
Each result is checked with an independent rank test (numpy's matrix_rank), not the module's own."""
from __future__ import annotations

import numpy as np
import pytest

from send_metrics.stats.union_protection import protect_union, recoverable, swap_cut, widen_ranges


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


# -- widen_ranges: non-negativity (issue 17.10's linear-programming bound) -----------------------

def lp_range(rows: np.ndarray, known: np.ndarray, counts: np.ndarray, target: int,
             lower=None, upper=None) -> tuple[float, float]:
    """The target's least and greatest value over every non-negative table that agrees with the
    published rows: scipy's linprog, independent of the module's HiGHS model."""
    from scipy.optimize import linprog
    n = rows.shape[1]
    lower = np.zeros(n) if lower is None else lower
    upper = np.full(n, np.inf) if upper is None else upper
    bounds = list(zip(lower, np.where(np.isfinite(upper), upper, None)))
    pub = rows[known]
    kw = dict(A_eq=pub, b_eq=pub @ counts) if len(pub) else {}
    lo = linprog(rows[target], bounds=bounds, method="highs", **kw)
    hi = linprog(-rows[target], bounds=bounds, method="highs", **kw)
    return (-np.inf if lo.status == 3 else lo.fun), (np.inf if hi.status == 3 else -hi.fun)


def widen(rows, known, sensitive, counts, fixed=None, lower=None, upper=None, exact_only=None):
    rows = np.asarray(rows, dtype=float)
    n = len(rows)
    fixed = np.zeros(n, bool) if fixed is None else np.asarray(fixed)
    counts = np.asarray(counts, dtype=float)
    lower = np.zeros(len(counts)) if lower is None else lower
    upper = np.full(len(counts), np.inf) if upper is None else upper
    return widen_ranges(rows, np.asarray(known), np.asarray(sensitive), fixed, np.zeros(n, bool),
                        counts, lower, upper, exact_only=None if exact_only is None else np.asarray(exact_only))


def test_a_count_the_publisher_confines_to_0_or_1_is_kept_from_being_narrowed_further():
    # Localities a = 1, b = 0, c = 0; the council's published a + b + c = 1 (fixed: anyone holds
    # it) puts a in [0, 1], the publisher's statement. Our zeros for b and c would make a exactly 1.
    rows = [[1, 1, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0]]
    known, sensitive, fixed = [True, True, True, False], [False, False, False, True], [True, False, False, False]
    counts = [1, 0, 0]
    assert lp_range(np.array(rows, float), np.array(known), np.array(counts, float), 3) == (1, 1)
    # A range 2 wide cannot be had (the publisher's figure is fixed): without exact_only, no cut.
    assert widen(rows, known, sensitive, counts, fixed=fixed).unprotectable == [3]
    res = widen(rows, known, sensitive, counts, fixed=fixed, exact_only=[False, False, False, True])
    assert res.unprotectable == [] and res.exact == [3] and res.known[0]
    lo, hi = lp_range(np.array(rows, float), res.known, np.array(counts, float), 3)
    assert (lo, hi) == (0, 1)  # the publisher's range again, not one value
    # Where our outputs narrow it no further, nothing is withheld.
    res = widen(rows, [True, True, False, False], sensitive, counts, fixed=fixed, exact_only=[False, False, False, True])
    assert res.known.tolist() == [True, True, False, False] and res.pinned == []


def test_a_small_count_pinned_by_non_negativity_gets_a_wider_range():
    # basic counts a = 1, b = 0, c = 5. Published: a + b = 1, b + c = 5, c = 5 would give a away
    # exactly; without c, a + b = 1 and b + c = 5 leave a in [0, 1] only (b >= 0): pinned to within 1,
    # though the rank test says a cannot be worked out.
    rows = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1], [1, 1, 1]], dtype=float)
    counts = np.array([1.0, 0.0, 5.0])
    known = np.array([False, True, True, False, False])
    sensitive = np.array([True, False, False, False, False])
    assert not rank_recoverable(rows, known, 0)
    lo, hi = lp_range(rows, known, counts, 0)
    assert hi - lo <= 1 + 1e-9  # the attack the test guards against
    res = widen(rows, known, sensitive, counts)
    assert res.pinned == [0] and res.swaps == 1
    lo, hi = lp_range(rows, res.known, counts, 0)
    assert hi - lo > 1 + 1e-9
    assert (res.known <= known).all()


def test_a_cell_with_room_is_left_alone():
    rows = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=float)
    counts = np.array([2.0, 3.0, 5.0])
    known = np.array([False, True, True])
    res = widen(rows, known, np.array([True, False, False]), counts)
    assert res.known.tolist() == known.tolist() and res.swaps == 0


def test_an_upper_bound_from_a_whole_counts_too():
    # a part column's counts can be no more than the whole's: a = 2 under a whole of 2 cannot rise,
    # so published a + b = 5 leaves a in [1, 2] (b <= 4 under its own whole of 4): pinned. The
    # count can only fall, by 2, and only once the total is withheld.
    rows = np.array([[1, 0], [1, 1], [0, 1]], dtype=float)
    counts = np.array([2.0, 3.0])
    known = np.array([False, True, False])
    upper = np.array([2.0, 4.0])
    assert lp_range(rows, known, counts, 0, upper=upper) == (1.0, 2.0)
    res = widen(rows, known, np.array([True, False, False]), counts, upper=upper)
    assert res.pinned == [0] and res.known.tolist() == [False, False, False]
    assert lp_range(rows, res.known, counts, 0, upper=upper) == (0.0, 2.0)
    # with the total fixed (another output decided it) nothing can widen it: reported
    res = widen(rows, known, np.array([True, False, False]), counts, upper=upper, fixed=known)
    assert res.unprotectable == [0] and res.known.tolist() == known.tolist()


@pytest.mark.parametrize("seed", range(30))
def test_random_tables_leave_no_sensitive_cell_pinned(seed):
    rng = np.random.default_rng(100 + seed)
    n_basic, n_cells = rng.integers(4, 10), rng.integers(6, 24)
    rows = (rng.random((n_cells, n_basic)) < 0.4).astype(float)
    rows = np.unique(rows[rows.any(axis=1)], axis=0)
    n = len(rows)
    counts = rng.choice([0, 0, 1, 2, 3, 6, 9], size=n_basic).astype(float)
    known = rng.random(n) < 0.7
    sensitive = ~known & (rng.random(n) < 0.8)
    fixed = known & (rng.random(n) < 0.15)
    res = widen(rows, known, sensitive, counts, fixed=fixed)
    assert (res.known <= known).all() and res.known[fixed].all()
    for t in np.flatnonzero(sensitive):
        lo, hi = lp_range(rows, res.known, counts, t)
        if t in res.unprotectable:
            flo, fhi = lp_range(rows, known & fixed, counts, t)
            assert fhi - flo <= 1 + 1e-7  # only the fixed rows pin it: nothing here can help
        else:
            assert hi - lo > 1 + 1e-7, f"cell {t} pinned to [{lo}, {hi}]"
