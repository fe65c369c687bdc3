"""Complementary suppression over everything several tables publish of one count table at once
(issue 17.10): no withheld sensitive cell may be a linear combination of the published ones.

Each cell is a 0/1 row over the table's basic counts (leaf area x category combination); a cell is
recoverable exactly when its row lies in the row space of the published rows. For every recoverable
sensitive cell one of two cuts is made, each proven to work by construction:

* **one complement**: a published row that the cell's representation uses and that no other
  published row can stand in for (leverage 1: removing it lowers the rank, and the direction lost
  is one the cell moves along), so withholding that row alone makes the cell unrecoverable;
* **a swap**: otherwise, a child moved from one basic count the cell holds to one it does not
  (z = e_j - e_k) changes the cell but no published row that holds both or neither; withholding
  every published row that holds exactly one of them leaves z invisible, so the cell can move
  while everything published stays put. The cheapest swap is chosen (a row costs the basic counts
  it covers, so fine cells go before totals), never one that touches a ``fixed`` row (another
  output decided it), and rows of ``soft`` cells (figures a publisher shows) only when nothing
  else works.

Cuts only ever remove published rows, so a cell protected in one round stays protected; the rounds
repeat until nothing sensitive is recoverable. Pure numpy; the row space comes from the Gram
matrix of the published rows (its eigenvectors), far quicker than an SVD of the rows themselves at
these sizes and exact enough for 0/1 rows (a non-member's residual is of order 0.1, the
threshold 1e-6).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from send_metrics.stats.nonnegative_bounds import (
    BoundsLP,
    InteriorDirections,
    moves_by_more_than_one,
)

RESIDUAL = 1e-6


@dataclass
class UnionResult:
    known: np.ndarray  # published after protection
    rounds: int = 0
    complements: int = 0  # cells protected by one complement
    swaps: int = 0  # cells protected by a swap
    whole: int = 0  # cells protected by withholding every free row of their representation
    unprotectable: list = field(default_factory=list)  # rows recoverable from fixed rows alone


def row_space(p: np.ndarray):
    """(U, s, V) with p = U diag(s) V^T over its non-zero singular values, from p p^T."""
    g = p @ p.T
    lam, u = np.linalg.eigh(g)
    keep = lam > 1e-9 * max(1.0, float(lam.max()))
    u, lam = u[:, keep], lam[keep]
    s = np.sqrt(lam)
    return u, s, (p.T @ u) / s


def recoverable(rows: np.ndarray, known: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Which of `targets` (indices) lie in the row space of the known rows."""
    targets = np.asarray(targets, dtype=int)
    if not len(targets):
        return np.zeros(0, dtype=bool)
    pub = rows[known]
    t = rows[targets]
    if not len(pub):
        return ~t.any(axis=1)
    _, _, v = row_space(pub)
    return np.linalg.norm(t - (t @ v) @ v.T, axis=1) < RESIDUAL


def _patterns(width: int, first: int, most: int = 4) -> np.ndarray:
    """Every vector of -1/0/1 over `width` places with +1 at `first` and at most `most` non-zeros
    (one pattern per column)."""
    others = [i for i in range(width) if i != first]
    out = []
    for k in range(min(most, width) ):
        for places in itertools.combinations(others, k):
            for signs in itertools.product((-1.0, 1.0), repeat=k):
                z = np.zeros(width)
                z[first] = 1.0
                z[list(places)] = signs
                out.append(z)
    return np.array(out).T if out else np.zeros((width, 0))


def swap_cut(published: np.ndarray, target: np.ndarray, fixed: np.ndarray, soft: np.ndarray,
             leaf_of: np.ndarray | None = None, combo_of: np.ndarray | None = None,
             costly: np.ndarray | None = None, room: tuple[np.ndarray, np.ndarray] | None = None
             ) -> np.ndarray | None:
    """Rows of `published` to withhold so that some change of the basic counts that moves
    `target` shows in no other published row: the cheapest such set (a row costs the basic counts
    it covers, so fine cells go before totals; `costly` rows 10 times more, `soft` rows 1,000
    times more), never a `fixed` row. Changes tried: a child moved from a basic count of the target to any other
    (z = e_j - e_k), and, given each column's leaf area and category combination, children moved
    round up to four areas in the target's category combination (z = e_a - e_b + e_c - e_d: every
    area built from an even share of them sees nothing). None when every change touches a fixed
    row."""
    holds = published > 0
    inside = np.flatnonzero(target > 0)
    outside = np.ones(published.shape[1], dtype=bool)
    outside[inside] = False
    weight = _row_weight(published, soft, costly)
    best = None  # (cost, rows seeing the change)
    # Rows that hold exactly one of j (inside) and k (any), weighed: a + b - 2ab over 0/1 rows,
    # for every pair at once.
    h = holds.astype(float)
    h_in = h[:, inside]
    total = weight @ h
    cost = total[:, None] + total[inside][None, :] - 2.0 * (h.T @ (weight[:, None] * h_in))
    f = h[fixed]
    fixed_total = f.sum(axis=0)
    ok = outside[:, None] & (fixed_total[:, None] + fixed_total[inside][None, :] - 2.0 * (f.T @ f[:, inside]) < 0.5)
    if room is not None:
        down, up = room
        ok &= np.minimum(up[inside][None, :], down[:, None]) + np.minimum(down[inside][None, :], up[:, None]) >= 2
    masked = np.where(ok, cost, np.inf)
    ks = np.argmin(masked, axis=0)  # the cheapest k for each j (the first of equals)
    cheapest = masked[ks, np.arange(len(inside))]
    if len(inside) and np.isfinite(cheapest).any():
        i = int(np.argmin(cheapest))  # the first j of equals
        best = (cheapest[i], holds[:, inside[i]] != holds[:, ks[i]])
    if leaf_of is not None and combo_of is not None:
        for c in np.unique(combo_of[inside])[:12]:
            cols = np.flatnonzero(combo_of == c)
            first = int(np.flatnonzero(np.isin(cols, inside))[0])
            z = _patterns(len(cols), first)
            moves = target[cols] @ z != 0  # the target changes
            seen = np.abs(published[:, cols] @ z) > 1e-9
            ok = moves & ~(seen & fixed[:, None]).any(axis=0)
            if room is not None:
                ok &= _widths(z, target[cols] @ z, room[0][cols], room[1][cols]) >= 2
            if ok.any():
                cost = weight @ seen
                k = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
                if best is None or cost[k] < best[0]:
                    best = (cost[k], seen[:, k])
        best = _rectangles(published, target, fixed, weight, leaf_of, combo_of, inside, best, room)
    return None if best is None else np.flatnonzero(best[1])


def _widths(z: np.ndarray, gain: np.ndarray, down: np.ndarray, up: np.ndarray) -> np.ndarray:
    """For each change (a column of -1/0/1 ``z`` over some basic counts), how far the target can
    move along it, both ways together, with no count falling by more than ``down`` or rising by
    more than ``up`` (``gain``: the target's change per step)."""
    pos, neg = z > 0, z < 0
    big = np.inf
    forward = np.min(np.where(pos, up[:, None], np.where(neg, down[:, None], big)), axis=0)
    back = np.min(np.where(pos, down[:, None], np.where(neg, up[:, None], big)), axis=0)
    return np.abs(gain) * (forward + back)


def _rectangles(published, target, fixed, weight, leaf_of, combo_of, inside, best, room=None):
    """Children swapped between two categories in two areas at once (z = e(a,c) - e(a,d) - e(b,c)
    + e(b,d)): each area's total and each category's total over both areas stay put, so a
    locality's small count can be protected with other fine cells instead of totals or a
    council's figures. Tried for a few of the target's basic counts, over every other area and
    category combination (sparse products)."""
    from scipy import sparse
    leaves, combos = np.unique(leaf_of), np.unique(combo_of)
    where = np.full((int(leaves.max()) + 1, int(combos.max()) + 1), -1)  # column of (area, combination)
    where[leaf_of, combo_of] = np.arange(len(leaf_of))
    p = sparse.csr_matrix(published)
    t = np.append(np.asarray(target, dtype=float), 0.0)  # a missing corner (-1) counts 0
    for j in inside[:4]:
        a, c = int(leaf_of[j]), int(combo_of[j])
        bs, ds = leaves[leaves != a], combos[combos != c]
        if not len(bs) or not len(ds):
            continue
        nb, nd = len(bs), len(ds)
        # every change k = (b, d), b first: its four corners and their signs
        corners = np.stack([np.full((nb, nd), j), np.broadcast_to(where[a, ds], (nb, nd)),
                            np.broadcast_to(where[bs, c][:, None], (nb, nd)), where[np.ix_(bs, ds)]],
                           axis=-1).reshape(-1, 4)
        signs = np.array([1.0, -1.0, -1.0, 1.0])
        change = t[corners] @ signs
        present = corners >= 0
        moves = change != 0
        if room is not None:
            moves &= present.all(axis=1)
        k_of, corner = np.nonzero(present)
        rows, cols, vals = corners[k_of, corner], k_of, signs[corner]
        z = sparse.csc_matrix((vals, (rows, cols)), shape=(published.shape[1], len(moves)))
        seen = abs(p @ z).toarray() > 1e-9
        ok = moves & ~(seen & fixed[:, None]).any(axis=0)
        if room is not None and ok.any():  # every corner needs room both ways
            ok &= _sparse_widths(rows, cols, vals, len(moves), room) >= 2
        if ok.any():
            cost = weight @ seen
            k = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
            if best is None or cost[k] < best[0]:
                best = (cost[k], seen[:, k])
    return best


def _sparse_widths(rows, cols, vals, m, room) -> np.ndarray:
    """:func:`_widths` for rectangles (each change's corners as (basic count, change, sign) lists;
    the target's change is 1 per step: it holds one corner)."""
    down, up = room
    forward, back = np.full(m, np.inf), np.full(m, np.inf)
    np.minimum.at(forward, cols, np.where(vals > 0, up[rows], down[rows]))
    np.minimum.at(back, cols, np.where(vals > 0, down[rows], up[rows]))
    return forward + back


def protect_union(rows: np.ndarray, known: np.ndarray, sensitive: np.ndarray, fixed: np.ndarray,
                  soft: np.ndarray, areas: np.ndarray, values: np.ndarray, max_rounds: int = 50,
                  leaf_of: np.ndarray | None = None, combo_of: np.ndarray | None = None,
                  costly: np.ndarray | None = None) -> UnionResult:
    """Withhold published rows until no sensitive withheld row is recoverable.

    rows: each distinct cell as a 0/1 row over the basic counts; known: published; sensitive:
    withheld cells that must stay unknown (small counts and the rest-of-group rule's cells);
    fixed: rows never withheld here; soft: rows withheld only when nothing else works; areas and
    values: a complement in the same area, then the smallest, is preferred; leaf_of, combo_of:
    each column's leaf area and category combination (for swaps round several areas); costly:
    rows withheld only before soft ones (a page's own summary table, kept readable before a
    finer cut of the same counts)."""
    rows = np.asarray(rows, dtype=float)
    known = np.asarray(known, dtype=bool).copy()
    costly = np.zeros(len(rows), dtype=bool) if costly is None else np.asarray(costly, dtype=bool)
    out = UnionResult(known)
    for _ in range(max_rounds):
        targets = np.flatnonzero(sensitive & ~known)
        pub = np.flatnonzero(known)
        if not len(targets):
            break
        if not len(pub):
            break  # nothing published: nothing recovers anything
        p = rows[pub]
        u, s, v = row_space(p)
        t = rows[targets]
        hit = targets[np.linalg.norm(t - (t @ v) @ v.T, axis=1) < RESIDUAL]
        hit = [h for h in hit if h not in out.unprotectable]
        if not hit:
            break
        out.rounds += 1
        leverage = (u ** 2).sum(axis=1)
        coef = (rows[hit] @ v / s) @ u.T  # the least-norm combination of published rows giving each
        withhold = np.zeros(len(pub), dtype=bool)
        for k, target in enumerate(hit):
            used = (np.abs(coef[k]) > 1e-9) & ~fixed[pub]
            alone = used & (leverage > 1 - 1e-6)
            for tier in (alone & ~soft[pub] & ~costly[pub], alone & ~soft[pub], alone):
                if tier.any():
                    cand = np.flatnonzero(tier)
                    near = areas[pub[cand]] == areas[target]
                    size = values[pub[cand]]
                    order = np.lexsort((p[cand].sum(axis=1), size <= 0, size, ~near))
                    withhold[cand[order[0]]] = True
                    out.complements += 1
                    break
            else:
                cut = swap_cut(p, rows[target], fixed[pub], soft[pub], leaf_of, combo_of, costly[pub])
                if cut is not None:
                    withhold[cut] = True
                    out.swaps += 1
                elif used.any():
                    withhold[used] = True  # fail closed
                    out.whole += 1
                else:
                    out.unprotectable.append(int(target))
        if not withhold.any():
            break
        known[pub[withhold]] = False
    else:  # still recoverable after every round: fail closed, nothing free stays published
        left = np.flatnonzero(sensitive & ~known)
        if len(left) and recoverable(rows, known, left).any():
            known &= fixed
    out.known = known
    return out


@dataclass
class WideResult:
    known: np.ndarray  # published after widening
    checked: int = 0  # sensitive withheld cells looked at
    by_lp: int = 0  # of which the linear programmes had to bound
    swaps: int = 0  # cells that needed a further cut
    pinned: list = field(default_factory=list)  # cells the programmes found confined (before any cut)
    exact: list = field(default_factory=list)  # of which confined to one value
    unprotectable: list = field(default_factory=list)  # cells no cut can widen


def widen_ranges(rows: np.ndarray, known: np.ndarray, sensitive: np.ndarray, fixed: np.ndarray,
                 soft: np.ndarray, counts: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 leaf_of: np.ndarray | None = None, combo_of: np.ndarray | None = None,
                 costly: np.ndarray | None = None, search_cuts: bool = True,
                 exact_only: np.ndarray | None = None) -> WideResult:
    """After :func:`protect_union`: withhold published rows until no sensitive withheld row is
    confined to a range 1 wide by what is published and by the basic counts' bounds (never below
    ``lower``, 0 or a part of them, nor above ``upper``, a whole they are part of), the linear
    programme an attacker would solve (``nonnegative_bounds``). Each cell is cleared by the cheapest
    proof that holds: two basic counts, one in the cell and one not, that no published row tells
    apart and that can both move by 1 each way; a direction of the published rows' null space that
    keeps every bound (``moves_by_more_than_one``); the two linear programmes; failing all three, a
    swap of :func:`swap_cut` whose every count has room to move by 1 each way, withheld from view
    (the cell can then be 1 more or 1 less with everything published unchanged). Cuts only remove
    published rows, so every range only widens and one pass is enough; the programmes are solved
    on what was published before the pass (a wider range then is wider still after it).
    With ``search_cuts`` False, nothing is withheld: every pinned cell is listed as unprotectable (which
    cells what is known already pins, e.g. the publisher's own figures alone). ``exact_only``: cells
    for which a range of any width will do, only not one value (those the publisher's own figures
    already confine to a range 1 wide: what is published must narrow them no further)."""
    rows = np.asarray(rows, dtype=float)
    known = np.asarray(known, dtype=bool).copy()
    counts = np.asarray(counts, dtype=float)
    down, up = counts - lower, upper - counts
    out = WideResult(known)
    targets = np.flatnonzero(sensitive & ~known)
    if not len(targets) or not known.any():
        return out
    start = rows[known]
    holds = start > 0
    # columns that no published row tells apart: same published pattern
    _, group = np.unique(holds.T, axis=0, return_inverse=True)
    group = group.ravel()
    null = solver = None
    for t in targets:
        out.checked += 1
        inside = rows[t] > 0
        if _twin_swap(inside, group, down, up):
            continue
        if null is None:
            null = InteriorDirections(start, counts, lower, upper)
        if moves_by_more_than_one(rows[t], null.of(rows[t]), counts, lower=lower, upper=upper):
            continue
        if solver is None:
            solver = BoundsLP(start, start @ counts, lower=lower, upper=upper)
        out.by_lp += 1
        bounds = solver.pinned(rows[t], float(rows[t] @ counts))
        if bounds is None:
            continue
        one_way = exact_only is not None and bool(exact_only[t])
        if bounds[1] - bounds[0] <= 1e-7:
            out.exact.append(int(t))
        elif one_way:
            continue  # the publisher's range, no narrower
        out.pinned.append(int(t))
        if not search_cuts:
            out.unprotectable.append(int(t))
            continue
        pub = np.flatnonzero(known)
        cut = swap_cut(rows[pub], rows[t], fixed[pub], soft[pub], leaf_of, combo_of,
                       None if costly is None else costly[pub], room=(down, up))
        if cut is None:  # no swap of two or four counts: move as few counts as the programme can
            cut = _moved_counts_cut(rows[pub], rows[t], fixed[pub], counts, lower, upper,
                                    _row_weight(rows[pub], soft[pub], None if costly is None else costly[pub]),
                                    one_way=one_way)
        if cut is None:
            out.unprotectable.append(int(t))
            continue
        known[pub[cut]] = False
        out.swaps += 1
    out.known = known
    return out


def _twin_swap(inside: np.ndarray, group: np.ndarray, down: np.ndarray, up: np.ndarray) -> bool:
    """Whether a child can move between a basic count of the cell and one outside it that hold
    the same place in every published row (at the start of the pass; rows withheld since only
    help), both with room to move by 1 each way."""
    for j in np.flatnonzero(inside):
        twins = (group == group[j]) & ~inside
        if twins.any() and (np.minimum(up[j], down[twins]) + np.minimum(down[j], up[twins]) >= 2).any():
            return True
    return False


def _row_weight(published: np.ndarray, soft: np.ndarray, costly: np.ndarray | None) -> np.ndarray:
    """What withholding each published row costs (as :func:`swap_cut` weighs them)."""
    weight = (published > 0).sum(axis=1) * np.where(soft, 1000.0, 1.0)
    return weight if costly is None else weight * np.where(costly, 10.0, 1.0)


def _moved_counts_cut(published: np.ndarray, target: np.ndarray, fixed: np.ndarray, counts: np.ndarray,
                      lower: np.ndarray, upper: np.ndarray, row_weight: np.ndarray,
                      one_way: bool = False) -> np.ndarray | None:
    """Rows of ``published`` to withhold so the target can be 1 more and 1 less (or 2 more, or 2
    less, where a bound stops it; with ``one_way``, 1 more or 1 less: a range, not one value) with every ``fixed`` row and every bound kept: two sets of counts found by linear
    programmes that move as few counts as they can (the sum of the changes, each count weighed by
    what withholding the published rows that hold it costs: councils' figures last), then every published row either set changes is withheld.
    The true counts and both sets then agree with everything left published, so the target's
    range is at least 2 wide: a proof, not a search. None when the fixed rows alone pin it."""
    from scipy import sparse
    from scipy.optimize import linprog
    n = len(counts)
    true = float(target @ counts)
    weight = 1.0 + row_weight @ (published > 0)  # a count costs the rows that would see it move
    f = sparse.csr_matrix(published[fixed])
    eye = sparse.identity(n, format="csr")
    # variables: x (n), then s >= |x - counts| (n); minimise weight @ s
    a_ub = sparse.vstack([sparse.hstack([eye, -eye]), sparse.hstack([-eye, -eye])]).tocsr()
    b_ub = np.concatenate([counts, -counts])
    a_eq = sparse.hstack([f, sparse.csr_matrix((f.shape[0], n))]).tocsr()
    b_eq = f @ counts
    bounds = list(zip(lower, np.where(np.isfinite(upper), upper, None))) + [(0, None)] * n
    found: dict[float, np.ndarray | None] = {}

    def move(step: float) -> np.ndarray | None:  # counts with the target moved by ``step`` or more
        if step not in found:
            row = sparse.csr_matrix(np.concatenate([-np.sign(step) * target, np.zeros(n)]))
            res = linprog(np.concatenate([np.zeros(n), weight]), A_ub=sparse.vstack([a_ub, row]),
                          b_ub=np.append(b_ub, -np.sign(step) * (true + step)), A_eq=a_eq, b_eq=b_eq,
                          bounds=bounds, method="highs")
            found[step] = res.x[:n] - counts if res.status == 0 else None
        return found[step]

    # 1 each way, else 2 up, else 2 down; one way: 1 up, else 1 down
    for steps in ((1.0,), (-1.0,)) if one_way else ((1.0, -1.0), (2.0,), (-2.0,)):
        moved = [move(step) for step in steps]
        if all(m is not None for m in moved):
            break
    else:
        return None
    change = np.abs(published @ np.array(moved).T) > 1e-7
    sees = change.any(axis=1)
    if (sees & fixed).any():
        return None
    return np.flatnonzero(sees)
