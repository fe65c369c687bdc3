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
             costly: np.ndarray | None = None) -> np.ndarray | None:
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
    weight = holds.sum(axis=1) * np.where(soft, 1000.0, 1.0)
    if costly is not None:
        weight = weight * np.where(costly, 10.0, 1.0)
    best = None  # (cost, rows seeing the change)
    for j in inside:
        sees = holds[:, [j]] != holds  # rows that hold exactly one of j and k, for every k
        cost = weight @ sees
        ok = outside & ~(sees & fixed[:, None]).any(axis=0)
        if ok.any():
            k = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
            if best is None or cost[k] < best[0]:
                best = (cost[k], sees[:, k])
    if leaf_of is not None and combo_of is not None:
        for c in np.unique(combo_of[inside])[:12]:
            cols = np.flatnonzero(combo_of == c)
            first = int(np.flatnonzero(np.isin(cols, inside))[0])
            z = _patterns(len(cols), first)
            moves = target[cols] @ z != 0  # the target changes
            seen = np.abs(published[:, cols] @ z) > 1e-9
            ok = moves & ~(seen & fixed[:, None]).any(axis=0)
            if ok.any():
                cost = weight @ seen
                k = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
                if best is None or cost[k] < best[0]:
                    best = (cost[k], seen[:, k])
        best = _rectangles(published, target, fixed, weight, leaf_of, combo_of, inside, best)
    return None if best is None else np.flatnonzero(best[1])


def _rectangles(published, target, fixed, weight, leaf_of, combo_of, inside, best):
    """Children swapped between two categories in two areas at once (z = e(a,c) - e(a,d) - e(b,c)
    + e(b,d)): each area's total and each category's total over both areas stay put, so a
    locality's small count can be protected with other fine cells instead of totals or a
    council's figures. Tried for a few of the target's basic counts, over every other area and
    category combination (sparse products)."""
    from scipy import sparse
    col = {(int(a), int(c)): i for i, (a, c) in enumerate(zip(leaf_of, combo_of))}
    leaves, combos = np.unique(leaf_of), np.unique(combo_of)
    p = sparse.csr_matrix(published)
    for j in inside[:4]:
        a, c = int(leaf_of[j]), int(combo_of[j])
        rows, cols, vals, moves = [], [], [], []
        for b in leaves:
            if b == a:
                continue
            for d in combos:
                if d == c:
                    continue
                k = len(moves)
                change = 0.0
                for (area, combo), sign in (((a, c), 1.0), ((a, d), -1.0), ((int(b), c), -1.0), ((int(b), int(d)), 1.0)):
                    i = col.get((area, int(combo)))
                    if i is not None:
                        rows.append(i)
                        cols.append(k)
                        vals.append(sign)
                        change += sign * target[i]
                moves.append(change != 0)
        if not moves:
            continue
        z = sparse.csc_matrix((vals, (rows, cols)), shape=(published.shape[1], len(moves)))
        seen = abs(p @ z).toarray() > 1e-9
        ok = np.array(moves) & ~(seen & fixed[:, None]).any(axis=0)
        if ok.any():
            cost = weight @ seen
            k = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
            if best is None or cost[k] < best[0]:
                best = (cost[k], seen[:, k])
    return best


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
